"""Values the settings and the policy pack must agree on, tied together here.

The pack runs in its own virtualenv with only `policies/` on its path, so it cannot import the
settings; and the settings, which ship in the wheel, cannot import the pack. Each keeps its copy
and this test fails the moment they differ.
"""

from __future__ import annotations

import json
import typing

import pytest

from modelplane.settings import MAX_PROD_ROTATION_DAYS, Tags
from policies.modelplane_guard import secretsmanager, tagging
from tests.stacks import REPOSITORY, STACK_NAMES, settings_of

POLICY_CONFIGS = REPOSITORY / "policies" / "config"


def test_both_accept_the_same_data_classifications_in_the_same_order() -> None:
    accepted = typing.get_args(Tags.model_fields["data_classification"].annotation)
    assert list(accepted) == tagging.ALLOWED_VALUES["data-classification"]


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_prod_rotation_limit_is_the_packs_limit(environment: str) -> None:
    """The settings refuse slower prod rotation than the pack's `maxRotationDays` (its default unless configured)."""
    schema = secretsmanager.rotation_interval.config_schema
    assert schema is not None
    default = schema.properties["maxRotationDays"]["default"]
    config = json.loads((POLICY_CONFIGS / f"{environment}.json").read_text(encoding="utf-8"))
    rule = config.get(secretsmanager.rotation_interval.name)
    configured = rule.get("maxRotationDays", default) if isinstance(rule, dict) else default
    assert configured == MAX_PROD_ROTATION_DAYS


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_tag_the_pack_requires_is_one_the_settings_set(stack: str) -> None:
    assert set(tagging.REQUIRED_TAGS) <= set(settings_of(stack).base_tags("modelplane", stack))
