"""Rules of `policies/modelplane_guard/athena.py` (Athena workgroups): compliant and non-compliant inputs, with
the exact messages each rule reports."""

from __future__ import annotations

from typing import Any

import pytest

from policies.modelplane_guard import athena
from tests.policies.harness import KEY_ARN, TAGS, Case, case_id, one, run, uncovered

WORKGROUP = "aws:athena/workgroup:Workgroup"


def workgroup(**configuration: Any) -> dict[str, Any]:
    settings = {
        "enforceWorkgroupConfiguration": True,
        "bytesScannedCutoffPerQuery": 100 * 1024**3,
        "resultConfiguration": {
            "outputLocation": "s3://ml-platform-athena-results/",
            "encryptionConfiguration": {"encryptionOption": "SSE_KMS", "kmsKeyArn": KEY_ARN},
        },
        **configuration,
    }
    return {"name": "capture-analysis", "configuration": settings, "tags": TAGS}


CASES: list[Case] = [
    one("athena-workgroup-guardrails", "compliant", WORKGROUP, workgroup(), []),
    one(
        "athena-workgroup-guardrails",
        "left-to-defaults",
        WORKGROUP,
        {"name": "adhoc", "tags": TAGS},
        [
            "configuration.resultConfiguration.encryptionConfiguration is not set: the workgroup enforces no encryption of its query results, which get only the output bucket's default (SSE-S3 unless the bucket asks for a KMS key), never a key the workgroup names."
        ],
    ),
    one("athena-workgroup-scan-limit", "capped", WORKGROUP, workgroup(), []),
    one(
        "athena-workgroup-scan-limit",
        "uncapped",
        WORKGROUP,
        {"name": "adhoc", "tags": TAGS},
        ["configuration.bytesScannedCutoffPerQuery is not set: a single query may scan (and bill) without limit."],
    ),
    one(
        "athena-workgroup-guardrails",
        "client-settings-win",
        WORKGROUP,
        workgroup(enforceWorkgroupConfiguration=False),
        [
            "configuration.enforceWorkgroupConfiguration is false: a query's client settings override the workgroup's result location and encryption."
        ],
    ),
    one(
        "athena-workgroup-guardrails",
        "managed-results-are-encrypted-by-athena",
        WORKGROUP,
        workgroup(resultConfiguration=None, managedQueryResultsConfiguration={"enabled": True}),
        [],
    ),
    one(
        "athena-workgroup-scan-limit",
        "cutoff-too-high",
        WORKGROUP,
        workgroup(bytesScannedCutoffPerQuery=10 * 1024**4),
        ["configuration.bytesScannedCutoffPerQuery is 10,240 GiB; cap each query at 1,024 GiB or less."],
    ),
    one(
        "athena-workgroup-scan-limit",
        "cutoff-within-the-configured-cap",
        WORKGROUP,
        workgroup(bytesScannedCutoffPerQuery=10 * 1024**4),
        [],
        config={"maxBytesScannedPerQuery": 16 * 1024**4},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(athena.POLICIES, CASES) == []
