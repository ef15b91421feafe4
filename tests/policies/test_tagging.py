"""Rules of `policies/modelplane_guard/tagging.py` (required tags): compliant and non-compliant inputs, with the
exact messages each rule reports."""

from __future__ import annotations

import pytest

from policies.modelplane_guard import tagging
from tests.policies.harness import (
    ARTIFACTS,
    MODEL,
    TAGS,
    Case,
    case_id,
    model,
    one,
    run,
    uncovered,
)

CASES: list[Case] = [
    one("required-tags", "tagged", MODEL, model(), []),
    one(
        "required-tags",
        "from-provider-default-tags",
        "aws:sns/topic:Topic",
        {},
        [],
        provider_props={"defaultTags": {"tags": TAGS}},
    ),
    one("required-tags", "not-taggable", "aws:s3/bucketPolicy:BucketPolicy", {"bucket": ARTIFACTS, "policy": "{}"}, []),
    one(
        "required-tags",
        "untagged",
        "aws:sns/topic:Topic",
        {},
        ["missing tags: owner, cost-center, data-classification, environment."],
    ),
    one(
        "required-tags",
        "unknown-classification",
        "aws:kms/key:Key",
        {"tags": {**TAGS, "data-classification": "secret"}},
        ["tag data-classification='secret' is not one of public, internal, confidential, restricted."],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(tagging.POLICIES, CASES) == []
