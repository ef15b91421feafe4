"""Rules of `policies/modelplane_guard/kms.py` (KMS keys and key policies): compliant and non-compliant inputs,
with the exact messages each rule reports."""

from __future__ import annotations

import json

import pytest

from policies.modelplane_guard import kms
from tests.policies.harness import (
    ACCOUNT,
    ROOT,
    Case,
    allow,
    case_id,
    document,
    one,
    run,
    uncovered,
)

CASES: list[Case] = [
    one(
        "kms-key-rotation", "rotating", "aws:kms/key:Key", {"enableKeyRotation": True, "rotationPeriodInDays": 365}, []
    ),
    one(
        "kms-key-rotation",
        "asymmetric-cannot-rotate",
        "aws:kms/key:Key",
        {"customerMasterKeySpec": "RSA_2048", "keyUsage": "SIGN_VERIFY"},
        [],
    ),
    one(
        "kms-key-rotation",
        "not-rotating",
        "aws:kms/key:Key",
        {},
        ["enableKeyRotation is not true: the key material never changes."],
    ),
    one(
        "kms-key-rotation",
        "rotating-too-rarely",
        "aws:kms/key:Key",
        {"enableKeyRotation": True, "rotationPeriodInDays": 730},
        ["rotationPeriodInDays is 730; rotate at least every 365 days."],
    ),
    one(
        "kms-key-policy-restricted",
        "account-root-and-caller-account",
        "aws:kms/key:Key",
        {
            "policy": document(
                allow("kms:*", Principal={"AWS": ROOT}),
                allow(
                    "kms:Decrypt", Principal={"AWS": "*"}, Condition={"StringEquals": {"kms:CallerAccount": ACCOUNT}}
                ),
            )
        },
        [],
    ),
    one(
        "kms-key-policy-restricted",
        "everyone-and-lockout-bypass",
        "aws:kms/key:Key",
        {"bypassPolicyLockoutSafetyCheck": True, "policy": document(allow("kms:Decrypt", Principal="*", Sid="Open"))},
        [
            "bypassPolicyLockoutSafetyCheck is true: a policy that locks everyone out of the key would be accepted.",
            "policy statement 'Open' allows any principal without an account or source condition.",
        ],
    ),
    one("kms-key-enabled", "enabled", "aws:kms/key:Key", {"isEnabled": True}, []),
    one(
        "kms-key-enabled",
        "disabled",
        "aws:kms/key:Key",
        {"isEnabled": False},
        ["isEnabled is false: everything encrypted with the key becomes unreadable."],
    ),
    one(
        "kms-key-policy-restricted",
        "key-policy-resource-for-account",
        "aws:kms/keyPolicy:KeyPolicy",
        {
            "keyId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "policy": document(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ),
        },
        [],
    ),
    one(
        "kms-key-policy-restricted",
        "key-policy-resource-open",
        "aws:kms/keyPolicy:KeyPolicy",
        {
            "keyId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "policy": json.dumps(
                {"Statement": {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}}
            ),
            "bypassPolicyLockoutSafetyCheck": True,
        },
        [
            "bypassPolicyLockoutSafetyCheck is true: a policy that locks everyone out of the key would be accepted.",
            "policy statement 0 allows any principal without an account or source condition.",
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(kms.POLICIES, CASES) == []
