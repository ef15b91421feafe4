"""Shared harness: the program run under the mock runtime, once per stack per test session, and the
stack files the tests read and derive variations from."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from modelplane.loader import load_stack_file, read_stack_file, stack_name_of
from modelplane.settings import Settings
from modelplane.simulate import Simulation, simulate_in_subprocess, stand_in_secret_values
from modelplane.stackfiles import stack_file, stack_files
from tests.servers import moto_server, reset_moto

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
STACK_NAMES = [stack_name_of(path) for path in stack_files()]

SimulateStack = Callable[..., Simulation]


def settings_of(stack: str | Path) -> Settings:
    """The settings of a shipped stack by name, or of any stack file."""
    return load_stack_file(stack if isinstance(stack, Path) else stack_file(stack))


def stack_config(stack: str) -> dict[str, Any]:
    """A shipped stack's `config:` block, freshly read, so a test may change it."""
    return read_stack_file(stack_file(stack))


def write_stack(directory: Path, config: Mapping[str, Any], stack: str) -> Path:
    """`config` as the stack file `Pulumi.<stack>.yaml` in `directory`, whose name gives the stack name."""
    path = directory / f"Pulumi.{stack}.yaml"
    with path.open("w", encoding="utf-8") as handle:
        YAML().dump({"config": dict(config)}, handle)
    return path


@pytest.fixture(scope="session")
def simulate_stack() -> SimulateStack:
    """`simulate_stack("prod")` or `simulate_stack(path)`: the recorded graph, cached for the session.

    Without `secret_values`, every declared secret gets a stand-in value, as in a deployed stack
    (`stand_in_secret_values`; the deployed states of `tests/fixtures/deployed/` hold the same).
    """
    cache: dict[tuple[str, str | None, str], Simulation] = {}

    def run(
        stack: str | Path, *, stack_name: str | None = None, secret_values: Mapping[str, str] | None = None
    ) -> Simulation:
        path = stack if isinstance(stack, Path) else stack_file(stack)
        if secret_values is None:
            secret_values = stand_in_secret_values(read_stack_file(path))
        key = (str(path), stack_name, json.dumps(dict(secret_values), sort_keys=True))
        if key not in cache:
            cache[key] = simulate_in_subprocess(path, stack_name, secret_values)
        return cache[key]

    return run


@pytest.fixture(scope="session")
def running_moto_server() -> Iterator[str]:
    """One moto server for the session (tests/servers.py)."""
    with moto_server() as url:
        yield url


@pytest.fixture
def moto_server_url(running_moto_server: str) -> str:
    """The session's moto server, its state emptied for each test."""
    reset_moto(running_moto_server)
    return running_moto_server
