"""The component tests' view of the session's simulations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelplane.offline.graph import Simulation
from tests.stacks import SimulateStack


@pytest.fixture(scope="session")
def simulate_stack(simulate_stack: SimulateStack) -> SimulateStack:
    """The session's `simulate_stack`, with a shipped stack's simulation (by name, no other argument) kept here
    once found: the session's fixture reads and parses the stack file on each call to key its cache (about
    10 ms), and the component tests ask for the shipped stacks' simulations hundreds of times. The shipped
    stack files do not change during a run; any other call goes to the session's fixture as it is."""
    shipped: dict[str, Simulation] = {}

    def run(stack: str | Path, **options: Any) -> Simulation:
        if isinstance(stack, Path) or options:
            return simulate_stack(stack, **options)
        if stack not in shipped:
            shipped[stack] = simulate_stack(stack)
        return shipped[stack]

    return run
