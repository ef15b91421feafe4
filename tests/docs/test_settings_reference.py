"""docs/settings.md lists every key a stack file may set, from the settings models, with a valid example each."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from modelplane.settings import Settings
from tools.generate.settings_docs import DOC_PATH, EXAMPLES, Key, example, keys, render, stack_values
from tools.generate.settings_schema import stack_file_schema

KEYS = keys()
LEAVES = [key for key in KEYS if not key.container]
VALUES = stack_values()
DEFINITIONS = stack_file_schema()["$defs"]


def _errors(key: Key, value: Any) -> list[str]:
    schema = {**key.schema, "$defs": DEFINITIONS}
    return [error.message for error in jsonschema.Draft202012Validator(schema).iter_errors(value)]


def test_settings_reference_is_current() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render(), "run `make generate` and commit docs/settings.md"


def test_every_top_level_setting_is_a_key_of_the_reference() -> None:
    top = {key.path for key in KEYS if "." not in key.path and "[" not in key.path}
    expected = {"aws:region" if name == "region" else f"modelplane:{name}" for name in Settings.model_fields}
    assert top == expected | {"modelplane:secret_values", "modelplane:kubeconfig"}


def test_every_key_has_a_description() -> None:
    undescribed = [
        key.path for key in KEYS if not (key.schema.get("description") or key.schema.get("model_description"))
    ]
    assert undescribed == [], "give these settings fields a docstring"


def test_every_leaf_key_has_an_example() -> None:
    assert [key.path for key in LEAVES if example(key, VALUES) is None] == []


@pytest.mark.parametrize("key", [key for key in LEAVES if example(key, VALUES) is not None], ids=lambda key: key.path)
def test_each_example_is_valid_for_its_key(key: Key) -> None:
    found = example(key, VALUES)
    assert found is not None
    assert _errors(key, found[0]) == []


def test_an_invalid_example_would_be_caught() -> None:
    subnets = next(key for key in KEYS if key.path == "modelplane:network.subnet_ids")
    assert _errors(subnets, ["subnet-not-an-id"]) != []


def test_illustrations_are_only_for_keys_no_stack_file_sets() -> None:
    leaves = {key.path for key in LEAVES}
    assert sorted(path for path in EXAMPLES if path not in leaves) == [], "EXAMPLES names a key that is not a leaf"
    assert sorted(path for path in EXAMPLES if path in VALUES) == [], "a stack file sets it: drop it from EXAMPLES"


def test_examples_name_the_stack_file_they_come_from() -> None:
    page = DOC_PATH.read_text(encoding="utf-8")
    assert '- **Example** (stacks/Pulumi.prod.yaml): `["subnet-0d4e5f60718293a4b"' in page
