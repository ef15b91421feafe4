"""Rules of `policies/modelplane_guard/secretsmanager.py` (Secrets Manager secrets and their rotation): compliant
and non-compliant inputs, with the exact messages each rule reports."""

from __future__ import annotations

import pytest

from policies.modelplane_guard import secretsmanager
from tests.policies.harness import (
    KEY_ARN,
    NOT_APPLICABLE,
    PRODUCTION_OFF,
    SECRET_ARN,
    TAGS,
    Case,
    Res,
    case_id,
    one,
    run,
    uncovered,
)

CASES: list[Case] = [
    one("secretsmanager-customer-key", "customer-key", "aws:secretsmanager/secret:Secret", {"kmsKeyId": KEY_ARN}, []),
    one(
        "secretsmanager-customer-key",
        "aws-managed-key",
        "aws:secretsmanager/secret:Secret",
        {"name": "token"},
        ["kmsKeyId is not set: the secret is encrypted with the AWS managed key aws/secretsmanager."],
    ),
    one(
        "secretsmanager-rotation-interval",
        "monthly",
        "aws:secretsmanager/secretRotation:SecretRotation",
        {"secretId": "s", "rotationRules": {"automaticallyAfterDays": 30}},
        [],
    ),
    one(
        "secretsmanager-rotation-interval",
        "weekly-cron",
        "aws:secretsmanager/secretRotation:SecretRotation",
        {"secretId": "s", "rotationRules": {"scheduleExpression": "cron(0 4 ? * MON *)"}},
        [],
    ),
    one(
        "secretsmanager-rotation-interval",
        "too-rare",
        "aws:secretsmanager/secretRotation:SecretRotation",
        {"secretId": "s", "rotationRules": {"automaticallyAfterDays": 180}},
        ["rotationRules.automaticallyAfterDays is 180; rotate at least every 90 days."],
    ),
    one(
        "secretsmanager-rotation-interval",
        "rate-too-rare",
        "aws:secretsmanager/secretRotation:SecretRotation",
        {"secretId": "s", "rotationRules": {"scheduleExpression": "rate(120 days)"}},
        ["rotationRules.scheduleExpression 'rate(120 days)' rotates less often than every 90 days."],
    ),
    one(
        "secretsmanager-rotation-interval",
        "no-schedule",
        "aws:secretsmanager/secretRotation:SecretRotation",
        {"secretId": "s", "rotationRules": {}},
        ["rotationRules sets neither automaticallyAfterDays nor scheduleExpression."],
    ),
    Case(
        "secretsmanager-rotation-in-production",
        "rotated",
        [
            Res("aws:secretsmanager/secret:Secret", "secret", {"name": "token", "arn": SECRET_ARN}),
            Res(
                "aws:secretsmanager/secretRotation:SecretRotation",
                "rotation",
                {"secretId": SECRET_ARN, "rotationRules": {"automaticallyAfterDays": 30}},
            ),
        ],
        [],
    ),
    Case(
        "secretsmanager-rotation-in-production",
        "not-rotated",
        [Res("aws:secretsmanager/secret:Secret", "secret", {"name": "token", "arn": SECRET_ARN})],
        ["secret: secret 'token' has no SecretRotation."],
    ),
    Case(
        "secretsmanager-rotation-in-production",
        "not-production",
        [Res("aws:secretsmanager/secret:Secret", "secret", {"name": "token", "arn": SECRET_ARN})],
        NOT_APPLICABLE,
        PRODUCTION_OFF,
    ),
    one(
        "secretsmanager-customer-key",
        "aws-managed-alias",
        "aws:secretsmanager/secret:Secret",
        {"kmsKeyId": "alias/aws/secretsmanager", "tags": TAGS},
        [
            "kmsKeyId is 'alias/aws/secretsmanager', an AWS managed key whose key policy you cannot restrict; use a customer managed key."
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(secretsmanager.POLICIES, CASES) == []
