"""Fixtures of the policy tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from modelplane.offline.policy_client import RunningPack, StackIdentity, start_pack
from tests.policies.platform_program import PROGRAMS, Recorded, parse, record
from tests.workers import made_once, shared_folder


@pytest.fixture(scope="session")
def recorded_programs(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Callable[[str], Recorded]:
    """`recorded_programs("platform")` or `("breadth")`: the program's `EXPECTED` and recorded resources, run
    once per test run. Recording costs several CPU-seconds, mostly the import of the SDK modules the programs
    use, so every program is recorded in one fork (of the simulations' fork server) when the first is needed;
    the pytest-xdist workers share what the first worker that needs them recorded (as `simulate_stack` shares
    simulations). Callers don't change what they get.
    """
    entry = shared_folder(tmp_path_factory, worker_id, "recorded-programs") / "programs.jsonl"
    cache: dict[str, Recorded] = {}

    def recorded(program: str) -> Recorded:
        if not cache:
            cache.update(parse(made_once(entry, lambda: record(list(PROGRAMS)))))
        return cache[program]

    return recorded


@pytest.fixture(scope="session")
def started_pack() -> Iterator[RunningPack]:
    """One pack process, started as the CLI starts it, for the policy tests that judge through one.

    Starting a pack costs a quarter of a CPU-second, mostly imports, and nothing of a run stays in it: every
    user drives it through the CLI's sequence itself (ConfigureStack with its stack, then Configure with its
    config; `Judging` does both), which sets all the state the pack's answers depend on. No rule reads the
    environment the pack was started in (the stack's name and config reach it in ConfigureStack). The tests
    of a pack's start, its own virtualenv and the SDK's servicer as a reference start their own.
    """
    with start_pack(StackIdentity(project="modelplane", stack="prod", config={})) as pack:
        yield pack
