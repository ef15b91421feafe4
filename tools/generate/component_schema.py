"""The components' Pulumi package schema, inferred as `pulumi package get-schema components` infers it.

`make generate` writes it to `components/schema.json`; a test fails while that file is stale, so
every change to the public surface of the components shows up in review.
"""

from __future__ import annotations

import json
from typing import Any

from tools.generate import REPOSITORY

SCHEMA_PATH = REPOSITORY / "components" / "schema.json"


def schema() -> dict[str, Any]:
    """The schema the component provider host serves (the same provider object)."""
    from modelplane_components.provider import component_provider

    return json.loads(component_provider().schema or "{}")


def render() -> str:
    return json.dumps(schema(), indent=2) + "\n"


def load() -> dict[str, Any]:
    """The committed schema."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


if __name__ == "__main__":
    SCHEMA_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
