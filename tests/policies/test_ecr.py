"""Rules of `policies/modelplane_guard/ecr.py` (ECR repositories): compliant and non-compliant inputs, with the
exact messages each rule reports."""

from __future__ import annotations

import pytest

from policies.modelplane_guard import ecr
from tests.policies.harness import (
    KEY_ARN,
    Case,
    Res,
    case_id,
    one,
    run,
    uncovered,
)

CASES: list[Case] = [
    *[
        one(
            policy,
            "compliant",
            "aws:ecr/repository:Repository",
            {
                "name": "fraud-detector",
                "imageTagMutability": "IMMUTABLE",
                "imageScanningConfiguration": {"scanOnPush": True},
                "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY_ARN}],
            },
            [],
        )
        for policy in ("ecr-immutable-tags", "ecr-scan-on-push", "ecr-kms-encryption")
    ],
    one(
        "ecr-immutable-tags",
        "default-mutable",
        "aws:ecr/repository:Repository",
        {"name": "fraud-detector"},
        ["imageTagMutability is MUTABLE (the default): a pushed tag could later point at other bytes."],
    ),
    one(
        "ecr-scan-on-push",
        "not-scanned",
        "aws:ecr/repository:Repository",
        {"name": "fraud-detector", "imageScanningConfiguration": {"scanOnPush": False}},
        ["imageScanningConfiguration.scanOnPush is not true: pushed images are not scanned for vulnerabilities."],
    ),
    one(
        "ecr-kms-encryption",
        "aes256",
        "aws:ecr/repository:Repository",
        {"name": "fraud-detector"},
        ["encryptionConfigurations[0].encryptionType is AES256 (the default), not KMS."],
    ),
    one(
        "ecr-kms-encryption",
        "aws-managed-key",
        "aws:ecr/repository:Repository",
        {"name": "fraud-detector", "encryptionConfigurations": [{"encryptionType": "KMS"}]},
        ["encryptionConfigurations[0].kmsKey is not set: layers use the AWS managed key aws/ecr."],
    ),
    Case(
        "ecr-lifecycle-policy",
        "by-dependency-and-by-name",
        [
            Res("aws:ecr/repository:Repository", "repo", {"name": "fraud-detector"}),
            Res(
                "aws:ecr/lifecyclePolicy:LifecyclePolicy",
                "lifecycle",
                {"repository": "fraud-detector-renamed", "policy": "{}"},
                depends={"repository": ["repo"]},
            ),
            Res("aws:ecr/repository:Repository", "other", {"name": "churn"}),
            Res("aws:ecr/lifecyclePolicy:LifecyclePolicy", "other-lifecycle", {"repository": "churn", "policy": "{}"}),
        ],
        [],
    ),
    Case(
        "ecr-lifecycle-policy",
        "missing",
        [Res("aws:ecr/repository:Repository", "repo", {"name": "fraud-detector"})],
        ["repo: repository 'fraud-detector' has no lifecycle policy: images pile up without bound."],
    ),
    one(
        "ecr-kms-encryption",
        "aws-managed-alias",
        "aws:ecr/repository:Repository",
        {"encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": "alias/aws/ecr"}]},
        [
            "encryptionConfigurations[0].kmsKey is 'alias/aws/ecr', an AWS managed key whose key policy you cannot restrict; use a customer managed key."
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(ecr.POLICIES, CASES) == []
