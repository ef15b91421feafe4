"""Shared harness: the program run under the mock runtime, once per stack per test session."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from modelplane.simulate import PROJECT_ROOT, Simulation, simulate_in_subprocess

STACKS_DIR = PROJECT_ROOT / "stacks"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
STACK_NAMES = sorted(path.name.split(".")[1] for path in STACKS_DIR.glob("Pulumi.*.yaml"))

SimulateStack = Callable[..., Simulation]


def stack_file(stack: str) -> Path:
    return STACKS_DIR / f"Pulumi.{stack}.yaml"


@pytest.fixture(scope="session")
def simulate_stack() -> SimulateStack:
    """`simulate_stack("prod")` or `simulate_stack(path)`: the recorded graph, cached for the session."""
    cache: dict[tuple[str, str | None, str], Simulation] = {}

    def run(
        stack: str | Path, *, stack_name: str | None = None, secret_values: Mapping[str, str] | None = None
    ) -> Simulation:
        path = stack if isinstance(stack, Path) else stack_file(stack)
        key = (str(path), stack_name, json.dumps(dict(secret_values or {}), sort_keys=True))
        if key not in cache:
            cache[key] = simulate_in_subprocess(path, stack_name, secret_values)
        return cache[key]

    return run
