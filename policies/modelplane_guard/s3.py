"""S3 buckets: each with SSE-KMS, a full public access block, versioning and a TLS-only policy; no public ACLs.

Since pulumi-aws 7 these settings are separate resources (`BucketServerSideEncryptionConfiguration`,
...), so the rules are stack rules matching each bucket with its settings; the deprecated inline
properties of `Bucket` count too.
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
    names = (str(bucket.props.get("bucket") or ""), str(bucket.props.get("id") or ""))
    return [setting for setting in of_type(resources, *types) if refers_to(setting, "bucket", bucket, *names)]


def _label(bucket: PolicyResource) -> str:
    return f"bucket {bucket.props.get('bucket') or bucket.name!r}"


def _bucket_rule(
    check: Callable[[StackValidationArgs, list[PolicyResource], PolicyResource], str | None],
) -> Callable[[StackValidationArgs, ReportViolation], None]:
    """A stack validation reporting, per bucket, the problem `check` finds (or None)."""

    def validate(args: StackValidationArgs, report: Report) -> None:
        for bucket in of_type(args.resources, *BUCKET_TYPES):
            problem = check(args, args.resources, bucket)
            if problem:
                report(f"{_label(bucket)} {problem}", bucket.urn)

    return rule(validate)


def _encryption_problem(encryption_rule: Mapping[str, Any], require_customer_key: bool) -> str | None:
    default = as_mapping(encryption_rule.get("applyServerSideEncryptionByDefault"))
    algorithm = default.get("sseAlgorithm")
    if algorithm not in KMS_ALGORITHMS:
        return f"encrypts with {algorithm or 'no algorithm'} instead of SSE-KMS."
    if require_customer_key and not default.get("kmsMasterKeyId"):
        return "uses SSE-KMS without kmsMasterKeyId, i.e. the AWS managed key aws/s3."
    return None


def _encryption(args: StackValidationArgs, resources: list[PolicyResource], bucket: PolicyResource) -> str | None:
    require_customer_key = bool(args.get_config().get("requireCustomerKey", True))
    rules = [
        as_mapping(item)
        for setting in settings_of(resources, bucket, *ENCRYPTION_TYPES)
        for item in as_list(setting.props.get("rules"))
    ]
    inline = dig(bucket.props, "serverSideEncryptionConfiguration", "rule")
    rules += [as_mapping(item) for item in as_list(inline)]
    if not rules:
        return "has no default encryption configuration."
    problems = [problem for item in rules if (problem := _encryption_problem(item, require_customer_key))]
    return problems[0] if len(problems) == len(rules) else None


bucket_encryption = StackValidationPolicy(
    name="s3-bucket-encryption",
    description="Every S3 bucket encrypts new objects by default with SSE-KMS under a customer managed key.",
    validate=_bucket_rule(_encryption),
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


bucket_public_access_block = StackValidationPolicy(
    name="s3-bucket-public-access-block",
    description="Every S3 bucket has a public access block with all four settings on.",
    validate=_bucket_rule(_public_access),
    severity=Severity.CRITICAL,
    remediation_steps="Add a BucketPublicAccessBlock with block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets all true.",
    tags=[
        "s3",
        "public-exposure",
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


bucket_versioning = StackValidationPolicy(
    name="s3-bucket-versioning",
    description="Every S3 bucket keeps object versions, so overwritten or deleted model artifacts can be recovered.",
    validate=_bucket_rule(_versioning),
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
    tags=["s3", "public-exposure", *sources("CKV_AWS_20", "CKV_AWS_57"), *applies_to(*BUCKET_TYPES, *ACL_TYPES)],
)

POLICIES = [bucket_encryption, bucket_public_access_block, bucket_versioning, bucket_tls_only, no_public_acl]
