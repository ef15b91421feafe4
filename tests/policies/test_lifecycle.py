"""Rules of `policies/modelplane_guard/lifecycle.py` (protection of stateful resources): compliant and non-
compliant inputs, with the exact messages each rule reports."""

from __future__ import annotations

import pytest

from policies.modelplane_guard import lifecycle
from tests.policies.harness import (
    ARTIFACTS,
    NOT_APPLICABLE,
    PRODUCTION_OFF,
    Case,
    case_id,
    one,
    run,
    uncovered,
)

CASES: list[Case] = [
    one("stateful-resources-protected", "protected", "aws:s3/bucket:Bucket", {"bucket": ARTIFACTS}, [], protect=True),
    one(
        "stateful-resources-protected", "stateless-type", "aws:s3/bucketPolicy:BucketPolicy", {"bucket": ARTIFACTS}, []
    ),
    one(
        "stateful-resources-protected",
        "unprotected-force-destroy",
        "aws:s3/bucket:Bucket",
        {"bucket": ARTIFACTS, "forceDestroy": True},
        [
            "is not protected: `pulumi destroy` or a refactoring would delete it; set protect=True.",
            "forceDestroy is true: deleting it would also delete everything it holds.",
        ],
    ),
    one(
        "stateful-resources-protected",
        "secret-without-recovery",
        "aws:secretsmanager/secret:Secret",
        {"recoveryWindowInDays": 0},
        ["recoveryWindowInDays is 0: a deleted secret could not be restored."],
        protect=True,
    ),
    one("stateful-resources-protected", "not-production", "aws:kms/key:Key", {}, NOT_APPLICABLE, config=PRODUCTION_OFF),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(lifecycle.POLICIES, CASES) == []
