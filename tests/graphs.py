"""Recorded resources made by hand, for tests of what reads a simulated graph (policy client, reports, URNs)."""

from __future__ import annotations

from typing import Any

from modelplane.offline.graph import RecordedResource


def recorded(type_token: str, name: str, inputs: dict[str, Any], **extra: Any) -> RecordedResource:
    """A top-level resource of the `prod` stack with these inputs (also as its outputs); `extra` overrides fields."""
    fields: dict[str, Any] = {
        "urn": f"urn:pulumi:prod::modelplane::{type_token}::{name}",
        "type": type_token,
        "name": name,
        "parent": "",
        "custom": True,
        "provider": "",
        "inputs": inputs,
        "outputs": inputs,
        "dependencies": [],
        "property_dependencies": {},
        "protect": False,
        "retain_on_delete": False,
        "delete_before_replace": False,
        "ignore_changes": [],
        "additional_secret_outputs": [],
    }
    return RecordedResource(**{**fields, **extra})
