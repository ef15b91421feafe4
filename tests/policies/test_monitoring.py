"""Rules of `policies/modelplane_guard/monitoring.py` (CloudWatch logs and alarms, SNS topics): compliant and
non-compliant inputs, with the exact messages each rule reports."""

from __future__ import annotations

import pytest

from policies.modelplane_guard import monitoring
from tests.policies.harness import (
    ACCOUNT,
    ALARM,
    KEY_ARN,
    Case,
    alarm,
    case_id,
    one,
    patched,
    run,
    uncovered,
)

CASES: list[Case] = [
    one(
        "cloudwatch-log-retention",
        "a-year",
        "aws:cloudwatch/logGroup:LogGroup",
        {"retentionInDays": 400},
        [],
        config={"minRetentionDays": 365},
    ),
    one(
        "cloudwatch-log-retention",
        "forever",
        "aws:cloudwatch/logGroup:LogGroup",
        {},
        ["retentionInDays is not set: logs are kept forever."],
    ),
    one(
        "cloudwatch-log-retention",
        "too-short-for-production",
        "aws:cloudwatch/logGroup:LogGroup",
        {"retentionInDays": 14},
        ["retentionInDays is 14; keep logs at least 365 days."],
        config={"minRetentionDays": 365},
    ),
    one("cloudwatch-log-encryption", "customer-key", "aws:cloudwatch/logGroup:LogGroup", {"kmsKeyId": KEY_ARN}, []),
    one(
        "cloudwatch-log-encryption",
        "unencrypted",
        "aws:cloudwatch/logGroup:LogGroup",
        {"retentionInDays": 14},
        ["kmsKeyId is not set: model logs (which may echo request data) are not under the customer key."],
    ),
    one("sns-topic-encryption", "customer-key", "aws:sns/topic:Topic", {"kmsMasterKeyId": KEY_ARN}, []),
    one(
        "sns-topic-encryption",
        "unencrypted",
        "aws:sns/topic:Topic",
        {},
        ["kmsMasterKeyId is not set: messages are stored unencrypted."],
    ),
    one(
        "sns-topic-encryption",
        "aws-managed-key",
        "aws:sns/topic:Topic",
        {"kmsMasterKeyId": "alias/aws/sns"},
        ["kmsMasterKeyId is the AWS managed key alias/aws/sns, whose policy CloudWatch alarms cannot publish through."],
    ),
    one(
        "sns-https-subscriptions",
        "https",
        "aws:sns/topicSubscription:TopicSubscription",
        {"protocol": "https", "endpoint": "https://pager"},
        [],
    ),
    one(
        "sns-https-subscriptions",
        "http",
        "aws:sns/topicSubscription:TopicSubscription",
        {"protocol": "http", "endpoint": "http://pager"},
        ["protocol is http: alarm notifications would travel unencrypted."],
    ),
    one("cloudwatch-alarm-actions", "notifies", ALARM, alarm(), []),
    one(
        "cloudwatch-alarm-actions",
        "disabled",
        ALARM,
        patched(alarm(), "actionsEnabled", False),
        ["actionsEnabled is false: the alarm notifies nobody."],
    ),
    one(
        "cloudwatch-alarm-actions",
        "no-actions",
        ALARM,
        patched(alarm(), "alarmActions", []),
        ["alarmActions is empty: the alarm notifies nobody."],
    ),
    one(
        "cloudwatch-log-encryption",
        "aws-managed-alias-arn",
        "aws:cloudwatch/logGroup:LogGroup",
        {"kmsKeyId": f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/aws/logs", "retentionInDays": 30},
        [
            f"kmsKeyId is 'arn:aws:kms:eu-west-1:{ACCOUNT}:alias/aws/logs', an AWS managed key whose key policy you cannot restrict; use a customer managed key."
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(monitoring.POLICIES, CASES) == []
