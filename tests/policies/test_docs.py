"""docs/policies.md is generated from the pack's own metadata and must match it."""

from __future__ import annotations

from modelplane.policy_docs import DOC_PATH, render
from policies.modelplane_guard import POLICIES


def test_policy_docs_are_current() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render(), "run `make generate` and commit docs/policies.md"


def test_every_policy_is_documented() -> None:
    page = DOC_PATH.read_text(encoding="utf-8")
    assert all(f"### `{policy.name}`" in page for policy in POLICIES)
