"""JSON Schema of a stack file, generated from `Settings`, so editors complete and check stack configs.

Run `make generate` after changing the settings; a test fails while the committed file is stale.
"""

from __future__ import annotations

import json
from typing import Any

from modelplane.config.loader import KUBECONFIG_KEY, SECRET_VALUES_KEY, config_key
from modelplane.settings import Settings
from tools.generate import REPOSITORY

SCHEMA_PATH = REPOSITORY / "stacks" / "settings.schema.json"
_CIPHERTEXT = {
    "type": "object",
    "properties": {"secure": {"type": "string"}},
    "required": ["secure"],
    "additionalProperties": False,
}


def stack_file_schema() -> dict[str, Any]:
    settings = Settings.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    definitions = settings.pop("$defs", {})
    properties = {config_key(name): schema for name, schema in settings["properties"].items()}
    properties[SECRET_VALUES_KEY] = {
        "description": "Encrypted values of the declared secrets (pulumi config set --secret --path).",
        "type": "object",
        "additionalProperties": _CIPHERTEXT,
    }
    properties[KUBECONFIG_KEY] = {"description": "Encrypted kubeconfig (pulumi config set --secret).", **_CIPHERTEXT}
    required = [config_key(name) for name in settings.get("required", [])]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "modelplane stack file",
        "description": "stacks/Pulumi.<stack>.yaml of the modelplane project.",
        "type": "object",
        "properties": {
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
            "config": {
                "type": "object",
                "properties": properties,
                "required": required,
                "patternProperties": {"^(?!modelplane:)[^:]+:.+$": {}},
                "additionalProperties": False,
            },
        },
        "required": ["config"],
        "$defs": definitions,
    }


def render() -> str:
    return json.dumps(stack_file_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
