"""S3 buckets: each with SSE-KMS, a full public access block, versioning and a TLS-only policy; no public ACLs.

Since pulumi-aws 7 these settings are separate resources (`BucketServerSideEncryptionConfiguration`,
...), so the rules are stack rules matching each bucket with its settings; the deprecated inline
properties of `Bucket` count too. A settings resource for a bucket the stack does not declare (a
platform team configuring a shared bucket) is judged on its own: it must not weaken the bucket.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import (
    AWS_MANAGED_KEY,
    Report,
    applies_to,
    as_list,
    as_mapping,
    aws_config_url,
    config_schema,
    dig,
    is_true,
    of_type,
    refers_to,
    rule,
    sources,
)
from .documents import UnreadableDocument, denies_insecure_transport, statements
from .waivers import NON_WAIVABLE

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
ENCRYPTION_TYPES = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
VERSIONING_TYPES = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ACL_TYPES = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
PUBLIC_CANNED_ACLS = ("public-read", "public-read-write", "authenticated-read")
PUBLIC_GRANTEE_URIS = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)


def settings_of(resources: list[PolicyResource], bucket: PolicyResource, *types: str) -> list[PolicyResource]:
    """The bucket's setting resources of the given types (matched by `bucket` dependency or name)."""
    return [
        setting for setting in of_type(resources, *types) if refers_to(setting, "bucket", bucket, *bucket_names(bucket))
    ]


def _label(bucket: PolicyResource) -> str:
    return f"bucket {bucket.props.get('bucket') or bucket.name!r}"


def bucket_names(bucket: PolicyResource) -> tuple[str, str]:
    return (str(bucket.props.get("bucket") or ""), str(bucket.props.get("id") or ""))


def unattached(resources: list[PolicyResource], *types: str) -> list[PolicyResource]:
    """Settings resources of the given types whose bucket is not declared in the stack."""
    buckets = of_type(resources, *BUCKET_TYPES)
    return [
        setting
        for setting in of_type(resources, *types)
        if not any(refers_to(setting, "bucket", bucket, *bucket_names(bucket)) for bucket in buckets)
    ]


def _bucket_rule(
    check: Callable[[StackValidationArgs, list[PolicyResource], PolicyResource], str | None],
    settings: tuple[str, ...] = (),
    check_setting: Callable[[StackValidationArgs, PolicyResource], str | None] | None = None,
) -> Callable[[StackValidationArgs, ReportViolation], None]:
    """A stack validation reporting, per bucket, the problem `check` finds (or None), and per settings
    resource of a bucket outside the stack, the problem `check_setting` finds in it."""

    def validate(args: StackValidationArgs, report: Report) -> None:
        for bucket in of_type(args.resources, *BUCKET_TYPES):
            problem = check(args, args.resources, bucket)
            if problem:
                report(f"{_label(bucket)} {problem}", bucket.urn)
        if check_setting is None:
            return
        for setting in unattached(args.resources, *settings):
            problem = check_setting(args, setting)
            if problem:
                kind = setting.resource_type.rsplit(":", 1)[-1]
                report(f"{kind} of bucket {setting.props.get('bucket')!r} (not in this stack) {problem}", setting.urn)

    return rule(validate)


def _encryption_problem(encryption_rule: Mapping[str, Any], require_customer_key: bool) -> str | None:
    default = as_mapping(encryption_rule.get("applyServerSideEncryptionByDefault"))
    algorithm = default.get("sseAlgorithm")
    if algorithm not in KMS_ALGORITHMS:
        return f"encrypts with {algorithm or 'no algorithm'} instead of SSE-KMS."
    if require_customer_key and not default.get("kmsMasterKeyId"):
        return "uses SSE-KMS without kmsMasterKeyId, i.e. the AWS managed key aws/s3."
    key = default.get("kmsMasterKeyId")
    if require_customer_key and isinstance(key, str) and AWS_MANAGED_KEY.search(key):
        return f"uses the AWS managed key {key} (kmsMasterKeyId), whose key policy you cannot restrict; use a customer managed key."
    return None


def _rules_problem(args: StackValidationArgs, rules: list[Mapping[str, Any]]) -> str | None:
    """The problem of a set of encryption rules, when none of them is good."""
    require_customer_key = bool(args.get_config().get("requireCustomerKey", True))
    problems = [problem for item in rules if (problem := _encryption_problem(item, require_customer_key))]
    return problems[0] if problems and len(problems) == len(rules) else None


def _encryption(args: StackValidationArgs, resources: list[PolicyResource], bucket: PolicyResource) -> str | None:
    rules = [
        as_mapping(item)
        for setting in settings_of(resources, bucket, *ENCRYPTION_TYPES)
        for item in as_list(setting.props.get("rules"))
    ]
    inline = dig(bucket.props, "serverSideEncryptionConfiguration", "rule")
    rules += [as_mapping(item) for item in as_list(inline)]
    if not rules:
        return "has no default encryption configuration."
    return _rules_problem(args, rules)


def _encryption_setting(args: StackValidationArgs, setting: PolicyResource) -> str | None:
    return _rules_problem(args, [as_mapping(item) for item in as_list(setting.props.get("rules"))])


bucket_encryption = StackValidationPolicy(
    name="s3-bucket-encryption",
    description="Every S3 bucket encrypts new objects by default with SSE-KMS under a customer managed key, including buckets outside the stack that it configures.",
    validate=_bucket_rule(_encryption, ENCRYPTION_TYPES, _encryption_setting),
    severity=Severity.HIGH,
    remediation_steps="Add a BucketServerSideEncryptionConfiguration with sse_algorithm aws:kms and kms_master_key_id set to the stack key.",
    tags=[
        "s3",
        "encryption",
        *sources("CKV_AWS_19", "CKV_AWS_145", "aws-config:s3-default-encryption-kms"),
        *applies_to(*BUCKET_TYPES, *ENCRYPTION_TYPES),
    ],
    url=aws_config_url("s3-default-encryption-kms"),
    config_schema=config_schema(
        {
            "requireCustomerKey": {
                "type": "boolean",
                "default": True,
                "description": "Require kmsMasterKeyId (a customer managed key) rather than the AWS managed aws/s3 key.",
            }
        }
    ),
)


def _public_access(args: StackValidationArgs, resources: list[PolicyResource], bucket: PolicyResource) -> str | None:
    blocks = settings_of(resources, bucket, PUBLIC_ACCESS_BLOCK)
    if not blocks:
        return "has no BucketPublicAccessBlock."
    if any(all(is_true(block.props.get(flag)) for flag in PUBLIC_ACCESS_FLAGS) for block in blocks):
        return None
    off = sorted({flag for block in blocks for flag in PUBLIC_ACCESS_FLAGS if not is_true(block.props.get(flag))})
    return f"has a public access block without {', '.join(off)}."


def _public_access_setting(args: StackValidationArgs, block: PolicyResource) -> str | None:
    off = [flag for flag in PUBLIC_ACCESS_FLAGS if not is_true(block.props.get(flag))]
    return f"does not set {', '.join(off)} to true." if off else None


bucket_public_access_block = StackValidationPolicy(
    name="s3-bucket-public-access-block",
    description="Every S3 bucket has a public access block with all four settings on, and no public access block in the stack turns one off.",
    validate=_bucket_rule(_public_access, (PUBLIC_ACCESS_BLOCK,), _public_access_setting),
    severity=Severity.CRITICAL,
    remediation_steps="Add a BucketPublicAccessBlock with block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets all true.",
    tags=[
        "s3",
        "public-exposure",
        NON_WAIVABLE,
        *sources("CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV2_AWS_6"),
        *applies_to(*BUCKET_TYPES, PUBLIC_ACCESS_BLOCK),
    ],
)


def _versioning(args: StackValidationArgs, resources: list[PolicyResource], bucket: PolicyResource) -> str | None:
    statuses = [
        dig(setting.props, "versioningConfiguration", "status")
        for setting in settings_of(resources, bucket, *VERSIONING_TYPES)
    ]
    if "Enabled" in statuses or is_true(dig(bucket.props, "versioning", "enabled")):
        return None
    return "does not enable versioning: overwritten or deleted models cannot be recovered."


def _versioning_setting(args: StackValidationArgs, setting: PolicyResource) -> str | None:
    status = dig(setting.props, "versioningConfiguration", "status")
    if status == "Enabled":
        return None
    return f"sets versioning {status or 'without a status'}: overwritten or deleted objects cannot be recovered."


bucket_versioning = StackValidationPolicy(
    name="s3-bucket-versioning",
    description="Every S3 bucket keeps object versions, so overwritten or deleted model artifacts can be recovered; no versioning setting in the stack suspends them.",
    validate=_bucket_rule(_versioning, VERSIONING_TYPES, _versioning_setting),
    severity=Severity.MEDIUM,
    remediation_steps="Add a BucketVersioning with versioning_configuration.status Enabled (and a lifecycle rule expiring noncurrent versions).",
    tags=["s3", "recovery", *sources("CKV_AWS_21"), *applies_to(*BUCKET_TYPES, *VERSIONING_TYPES)],
)


def _tls_only(args: StackValidationArgs, resources: list[PolicyResource], bucket: PolicyResource) -> str | None:
    for policy in settings_of(resources, bucket, BUCKET_POLICY):
        try:
            if any(denies_insecure_transport(statement) for statement in statements(policy.props.get("policy"))):
                return None
        except UnreadableDocument as error:
            return f"has a bucket policy that {error}."
    return "does not deny requests without TLS (a Deny on aws:SecureTransport false)."


bucket_tls_only = StackValidationPolicy(
    name="s3-bucket-tls-only",
    description="Every S3 bucket policy denies requests that do not use TLS.",
    validate=_bucket_rule(_tls_only),
    severity=Severity.HIGH,
    remediation_steps="Add a BucketPolicy statement denying s3:* to '*' when aws:SecureTransport is false.",
    tags=[
        "s3",
        "encryption-in-transit",
        *sources("aws-config:s3-bucket-ssl-requests-only"),
        *applies_to(*BUCKET_TYPES, BUCKET_POLICY),
    ],
    url=aws_config_url("s3-bucket-ssl-requests-only"),
)


def _no_public_acl(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in (*BUCKET_TYPES, *ACL_TYPES):
        return
    acl = args.props.get("acl")
    if acl in PUBLIC_CANNED_ACLS:
        report(f"acl is {acl!r}: objects become readable outside the account.")
    grants = as_list(dig(args.props, "accessControlPolicy", "grants"))
    for index, grant in enumerate(grants):
        uri = dig(grant, "grantee", "uri")
        if uri in PUBLIC_GRANTEE_URIS:
            report(f"accessControlPolicy.grants[{index}] grants {dig(grant, 'permission')} to {uri}.")


no_public_acl = ResourceValidationPolicy(
    name="s3-no-public-acl",
    description="S3 buckets grant nothing to everyone or to all authenticated AWS users through ACLs.",
    validate=rule(_no_public_acl),
    severity=Severity.CRITICAL,
    remediation_steps="Remove the public ACL; enforce bucket-owner ownership (BucketOwnershipControls BucketOwnerEnforced) so ACLs are ignored.",
    tags=[
        "s3",
        "public-exposure",
        NON_WAIVABLE,
        *sources("CKV_AWS_20", "CKV_AWS_57"),
        *applies_to(*BUCKET_TYPES, *ACL_TYPES),
    ],
)

POLICIES = [bucket_encryption, bucket_public_access_block, bucket_versioning, bucket_tls_only, no_public_acl]
