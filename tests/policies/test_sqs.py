"""Rules of `policies/modelplane_guard/sqs.py` (SQS queues): compliant and non-compliant inputs, with the exact
messages each rule reports."""

from __future__ import annotations

import pytest

from policies.modelplane_guard import sqs
from tests.policies.harness import (
    KEY_ARN,
    QUEUE,
    TAGS,
    Case,
    case_id,
    one,
    run,
    uncovered,
)

CASES: list[Case] = [
    one("sqs-queue-encryption", "customer-key", QUEUE, {"kmsMasterKeyId": KEY_ARN, "tags": TAGS}, []),
    one("sqs-queue-encryption", "sqs-managed", QUEUE, {"sqsManagedSseEnabled": True, "tags": TAGS}, []),
    one(
        "sqs-queue-encryption",
        "left-to-defaults",
        QUEUE,
        {"visibilityTimeoutSeconds": 300, "tags": TAGS},
        ["neither kmsMasterKeyId nor sqsManagedSseEnabled is set: the queue's encryption is left to defaults."],
    ),
    one(
        "sqs-queue-encryption",
        "encryption-off",
        QUEUE,
        {"sqsManagedSseEnabled": False, "tags": TAGS},
        ["sqsManagedSseEnabled is false and kmsMasterKeyId is not set: messages are stored unencrypted."],
    ),
    one(
        "sqs-queue-encryption",
        "aws-managed-key",
        QUEUE,
        {"kmsMasterKeyId": "alias/aws/sqs", "tags": TAGS},
        [
            "kmsMasterKeyId is 'alias/aws/sqs', an AWS managed key whose key policy you cannot restrict; use a customer managed key."
        ],
    ),
    one(
        "sqs-queue-encryption",
        "sqs-managed-not-allowed",
        QUEUE,
        {"sqsManagedSseEnabled": True, "tags": TAGS},
        ["sqsManagedSseEnabled encrypts with a key SQS owns; this environment requires kmsMasterKeyId."],
        config={"allowSqsManagedEncryption": False},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(sqs.POLICIES, CASES) == []
