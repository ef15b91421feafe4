"""docs/policies.md is generated from the pack's own metadata and must match it."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from policies.modelplane_guard import POLICIES
from policies.modelplane_guard.waivers import configured_waivers, today
from tools.generate.policy_docs import DOC_PATH, render


def test_policy_docs_are_current() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render(), "run `make generate` and commit docs/policies.md"


def test_every_policy_is_documented() -> None:
    page = DOC_PATH.read_text(encoding="utf-8")
    assert all(f"### `{policy.name}`" in page for policy in POLICIES)


def _documented_waivers() -> dict[str, Any]:
    """The `policy-waivers` example of the page's Waivers section, as the config file holds it."""
    section = DOC_PATH.read_text(encoding="utf-8").split("## Waivers", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None
    return json.loads("{" + block.group(1) + "}")["policy-waivers"]


def test_the_example_waiver_holds_no_date_that_the_calendar_could_overtake() -> None:
    example = _documented_waivers()
    assert not re.search(r"\d{4}-\d{2}-\d{2}", json.dumps(example))
    _, problems = configured_waivers(example, POLICIES, today())
    assert problems == [
        "waivers[0] (ec2-security-group-ingress-restricted on 'bastion-*'): expires 'YYYY-MM-DD' is not a date written YYYY-MM-DD."
    ]


def test_the_example_waiver_with_a_date_filled_in_is_valid() -> None:
    example = _documented_waivers()
    example["waivers"][0]["expires"] = (today() + timedelta(days=90)).isoformat()
    valid, problems = configured_waivers(example, POLICIES, today())
    assert problems == []
    assert [(waiver.policy, waiver.resource) for waiver in valid] == [
        ("ec2-security-group-ingress-restricted", "bastion-*")
    ]
