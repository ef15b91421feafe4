"""Fixtures of the drift tests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.stacks import SimulateStack


@pytest.fixture
def prod_outputs(simulate_stack: SimulateStack) -> dict[str, Any]:
    """The prod program's stack outputs (a copy a test may change): what `pulumi stack output --json` prints."""
    return copy.deepcopy(simulate_stack("prod").outputs)
