"""The stack's artifact bucket: model archives, endpoint data capture and asynchronous inference results.

Model archives live at the key given by a variant's `model_artifact`; SageMaker writes below the
prefixes of `naming` (`data-capture/<endpoint>/`, `async-output/<endpoint>/`).
"""

from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from ._common import Problem, Tags, check, child_options, component_options, known, type_token

FORMER_TOKEN = "modelplane:registry:ArtifactBucket"
# Parts of an interrupted multipart upload are billed until aborted.
ABORT_INCOMPLETE_UPLOAD_DAYS = 7
DEFAULT_NONCURRENT_VERSION_DAYS = 90


class ArtifactBucketArgs(TypedDict):
    """The key the bucket encrypts with and how long old versions stay."""

    kms_key_arn: pulumi.Input[str]
    """KMS key: default encryption, and the only key a put may name."""
    noncurrent_version_days: NotRequired[pulumi.Input[int]]
    """Days an overwritten or deleted object version is kept before it expires; default 90."""
    force_destroy: NotRequired[pulumi.Input[bool]]
    """Let `pulumi destroy` empty the bucket before deleting it; default false, a bucket with objects stays."""
    tags: NotRequired[pulumi.Input[Tags]]
    """Tags of the bucket."""


class ArtifactBucket(pulumi.ComponentResource):
    """A private, versioned, SSE-KMS bucket that refuses plain HTTP and puts encrypted any other way.

    `protect` in the options protects the bucket and its configuration; `retain_on_delete` keeps the bucket.
    """

    name: pulumi.Output[str]
    """Bucket name, for `s3://` URIs of model archives, captured data and asynchronous results."""
    arn: pulumi.Output[str]
    """Bucket ARN, for the execution roles' object permissions."""

    def __init__(self, name: str, args: ArtifactBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check("ArtifactBucket", name, problems(args))
        super().__init__(type_token("ArtifactBucket"), name, None, component_options(opts, FORMER_TOKEN))
        child = pulumi.ResourceOptions(parent=self)
        key_arn = args["kms_key_arn"]

        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            force_destroy=args.get("force_destroy", False),
            tags=args.get("tags"),
            opts=child_options(self, opts),
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=key_arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        # S3 rejects concurrent changes to a bucket's access settings, so the policy waits for the block.
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(bucket_policy(bucket.arn, key_arn)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block]),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.get("noncurrent_version_days", DEFAULT_NONCURRENT_VERSION_DAYS)
                    ),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(expired_object_delete_marker=True),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="abort-incomplete-multipart-uploads",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=ABORT_INCOMPLETE_UPLOAD_DAYS
                    ),
                ),
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        self.name = bucket.bucket
        self.arn = bucket.arn
        self.register_outputs({"name": self.name, "arn": self.arn})


def problems(args: ArtifactBucketArgs) -> list[Problem]:
    """S3 expires noncurrent versions after a positive number of days."""
    days = known(args.get("noncurrent_version_days"))
    if days is not None and days < 1:
        return [("noncurrent_version_days", "must be at least 1 (S3 NoncurrentVersionExpiration)")]
    return []


def bucket_policy(bucket_arn: pulumi.Input[str], key_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Deny plain HTTP, and every put that asks for other encryption than SSE-KMS with the stack key.

    Puts without encryption headers are allowed: the bucket's default encryption applies the stack
    key to them, which is what `aws s3 cp` relies on. Negated operators match absent keys, so each
    header check also requires the header (`Null: false`). A put that asks for SSE-KMS must name the stack
    key by its ARN, since without a key id S3 would use the AWS managed key `aws/s3`.
    """
    objects = pulumi.Output.concat(bucket_arn, "/*")

    def deny_puts(sid: str, condition: dict[str, Any]) -> dict[str, Any]:
        return {
            "Sid": sid,
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": condition,
        }

    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, objects],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            deny_puts(
                "DenyPutsWithOtherEncryption",
                {
                    "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                    "Null": {"s3:x-amz-server-side-encryption": "false"},
                },
            ),
            deny_puts(
                "DenyPutsWithAnotherKey",
                {
                    "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn},
                    "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
                },
            ),
            deny_puts(
                "DenyPutsWithTheAwsManagedKey",
                {
                    "Null": {
                        "s3:x-amz-server-side-encryption": "false",
                        "s3:x-amz-server-side-encryption-aws-kms-key-id": "true",
                    }
                },
            ),
            deny_puts(
                "DenyPutsWithCustomerProvidedKeys",
                {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}},
            ),
        ],
    }
