"""Rules of `policies/modelplane_guard/s3.py` (S3 buckets and their settings, in the stack or outside it): compliant and non-compliant
inputs, with the exact messages each rule reports."""

from __future__ import annotations

from typing import Any

import pytest

from policies.modelplane_guard import s3
from tests.policies.harness import (
    ARTIFACTS,
    KEY_ARN,
    ROOT,
    TAGS,
    Case,
    Res,
    case_id,
    document,
    one,
    run,
    uncovered,
)


def bucket_policy(*statements: dict[str, Any]) -> Res:
    """The artifacts bucket's policy, linked to the bucket by property dependency as in `bucket_stack`."""
    return Res(
        "aws:s3/bucketPolicy:BucketPolicy",
        "policy",
        {"bucket": ARTIFACTS, "policy": document(*statements)},
        depends={"bucket": ["bucket"]},
    )


def bucket_stack(*, omit: tuple[str, ...] = (), **replace: Res) -> list[Res]:
    """A bucket with all its settings (linked by property dependency), minus `omit`, with `replace`d ones."""
    link = {"bucket": ["bucket"]}
    tls = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{ARTIFACTS}", f"arn:aws:s3:::{ARTIFACTS}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    settings = {
        "encryption": Res(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "encryption",
            {
                "bucket": ARTIFACTS,
                "rules": [
                    {
                        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN},
                        "bucketKeyEnabled": True,
                    }
                ],
            },
            depends=link,
        ),
        "block": Res(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "block",
            {
                "bucket": ARTIFACTS,
                "blockPublicAcls": True,
                "blockPublicPolicy": True,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": True,
            },
            depends=link,
        ),
        "versioning": Res(
            "aws:s3/bucketVersioning:BucketVersioning",
            "versioning",
            {"bucket": ARTIFACTS, "versioningConfiguration": {"status": "Enabled"}},
            depends=link,
        ),
        "policy": bucket_policy(tls),
    }
    settings.update(replace)
    bucket = Res(
        "aws:s3/bucket:Bucket", "bucket", {"bucket": ARTIFACTS, "arn": f"arn:aws:s3:::{ARTIFACTS}", "tags": TAGS}
    )
    return [bucket, *(setting for role, setting in settings.items() if role not in omit)]


SHARED_BUCKET = "ml-platform-shared-datasets"


def shared_bucket_setting(type_token: str, name: str, props: dict[str, Any]) -> Res:
    return Res(type_token, name, {"bucket": SHARED_BUCKET, **props})


CASES: list[Case] = [
    Case("s3-bucket-encryption", "sse-kms-with-key", bucket_stack(), []),
    Case(
        "s3-bucket-encryption",
        "matched-by-name-and-inline",
        [
            Res(
                "aws:s3/bucketV2:BucketV2",
                "legacy",
                {
                    "bucket": "legacy",
                    "serverSideEncryptionConfiguration": {
                        "rule": {
                            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}
                        }
                    },
                },
            ),
            Res("aws:s3/bucket:Bucket", "named", {"bucket": "named"}),
            Res(
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "named-encryption",
                {
                    "bucket": "named",
                    "rules": [
                        {
                            "applyServerSideEncryptionByDefault": {
                                "sseAlgorithm": "aws:kms:dsse",
                                "kmsMasterKeyId": KEY_ARN,
                            }
                        }
                    ],
                },
            ),
        ],
        [],
    ),
    Case(
        "s3-bucket-encryption",
        "missing",
        bucket_stack(omit=("encryption",)),
        [f"bucket: bucket '{ARTIFACTS}' has no default encryption configuration."],
    ),
    Case(
        "s3-bucket-encryption",
        "sse-s3",
        bucket_stack(
            encryption=Res(
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "encryption",
                {"bucket": ARTIFACTS, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
                depends={"bucket": ["bucket"]},
            )
        ),
        [f"bucket: bucket '{ARTIFACTS}' encrypts with AES256 instead of SSE-KMS."],
    ),
    Case(
        "s3-bucket-encryption",
        "aws-managed-key",
        bucket_stack(
            encryption=Res(
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "encryption",
                {"bucket": ARTIFACTS, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
                depends={"bucket": ["bucket"]},
            )
        ),
        [f"bucket: bucket '{ARTIFACTS}' uses SSE-KMS without kmsMasterKeyId, i.e. the AWS managed key aws/s3."],
    ),
    Case("s3-bucket-public-access-block", "all-four", bucket_stack(), []),
    Case(
        "s3-bucket-public-access-block",
        "missing",
        bucket_stack(omit=("block",)),
        [f"bucket: bucket '{ARTIFACTS}' has no BucketPublicAccessBlock."],
    ),
    Case(
        "s3-bucket-public-access-block",
        "partial",
        bucket_stack(
            block=Res(
                "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                "block",
                {"bucket": ARTIFACTS, "blockPublicAcls": True, "blockPublicPolicy": False, "ignorePublicAcls": True},
                depends={"bucket": ["bucket"]},
            )
        ),
        [f"bucket: bucket '{ARTIFACTS}' has a public access block without blockPublicPolicy, restrictPublicBuckets."],
    ),
    Case("s3-bucket-versioning", "enabled", bucket_stack(), []),
    Case(
        "s3-bucket-versioning",
        "suspended",
        bucket_stack(
            versioning=Res(
                "aws:s3/bucketVersioning:BucketVersioning",
                "versioning",
                {"bucket": ARTIFACTS, "versioningConfiguration": {"status": "Suspended"}},
                depends={"bucket": ["bucket"]},
            )
        ),
        [
            f"bucket: bucket '{ARTIFACTS}' does not enable versioning: overwritten or deleted models cannot be recovered."
        ],
    ),
    Case("s3-bucket-tls-only", "denies-plain-http", bucket_stack(), []),
    Case(
        "s3-bucket-tls-only",
        "denies-plain-http-in-upper-case",
        bucket_stack(
            policy=bucket_policy(
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "S3:*",
                    "Resource": [f"arn:aws:s3:::{ARTIFACTS}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            )
        ),
        [],
    ),
    Case(
        "s3-bucket-tls-only",
        "no-policy",
        bucket_stack(omit=("policy",)),
        [f"bucket: bucket '{ARTIFACTS}' does not deny requests without TLS (a Deny on aws:SecureTransport false)."],
    ),
    Case(
        "s3-bucket-tls-only",
        "policy-without-tls-deny",
        bucket_stack(
            policy=bucket_policy(
                {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "s3:GetObject", "Resource": "*"}
            )
        ),
        [f"bucket: bucket '{ARTIFACTS}' does not deny requests without TLS (a Deny on aws:SecureTransport false)."],
    ),
    one("s3-no-public-acl", "private", "aws:s3/bucketAclV2:BucketAclV2", {"bucket": ARTIFACTS, "acl": "private"}, []),
    one(
        "s3-no-public-acl",
        "public-read",
        "aws:s3/bucketAclV2:BucketAclV2",
        {"bucket": ARTIFACTS, "acl": "public-read"},
        ["acl is 'public-read': objects become readable outside the account."],
    ),
    one(
        "s3-no-public-acl",
        "grant-to-all-users",
        "aws:s3/bucketAcl:BucketAcl",
        {
            "bucket": ARTIFACTS,
            "accessControlPolicy": {
                "grants": [
                    {
                        "grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"},
                        "permission": "READ",
                    }
                ],
                "owner": {"id": "abc"},
            },
        },
        ["accessControlPolicy.grants[0] grants READ to http://acs.amazonaws.com/groups/global/AllUsers."],
    ),
    Case(
        "s3-bucket-encryption",
        "shared-bucket-with-customer-key",
        [
            shared_bucket_setting(
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "shared-encryption",
                {
                    "rules": [
                        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}}
                    ]
                },
            )
        ],
        [],
    ),
    Case(
        "s3-bucket-encryption",
        "shared-bucket-sse-s3",
        [
            shared_bucket_setting(
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "shared-encryption",
                {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
            )
        ],
        [
            f"shared-encryption: BucketServerSideEncryptionConfiguration of bucket '{SHARED_BUCKET}' (not in this stack) encrypts with AES256 instead of SSE-KMS."
        ],
    ),
    Case(
        "s3-bucket-versioning",
        "shared-bucket-suspended",
        [
            shared_bucket_setting(
                "aws:s3/bucketVersioning:BucketVersioning",
                "shared-versioning",
                {"versioningConfiguration": {"status": "Suspended"}},
            )
        ],
        [
            f"shared-versioning: BucketVersioning of bucket '{SHARED_BUCKET}' (not in this stack) sets versioning Suspended: overwritten or deleted objects cannot be recovered."
        ],
    ),
    Case(
        "s3-bucket-public-access-block",
        "shared-bucket-policy-allowed",
        [
            shared_bucket_setting(
                "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                "shared-block",
                {
                    "blockPublicAcls": True,
                    "blockPublicPolicy": False,
                    "ignorePublicAcls": True,
                    "restrictPublicBuckets": True,
                },
            )
        ],
        [
            f"shared-block: BucketPublicAccessBlock of bucket '{SHARED_BUCKET}' (not in this stack) does not set blockPublicPolicy to true."
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(s3.POLICIES, CASES) == []
