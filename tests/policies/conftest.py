"""Fixtures of the policy tests."""

from __future__ import annotations

import fcntl
from collections.abc import Callable

import pytest

from tests.policies.platform_program import Recorded, parse, record


@pytest.fixture(scope="session")
def recorded_programs(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Callable[[str], Recorded]:
    """`recorded_programs("platform")` or `("breadth")`: the program's `EXPECTED` and recorded resources, run
    once per test run. Running one costs several CPU-seconds; the pytest-xdist workers share what the first
    worker that needs it recorded (as `simulate_stack` shares simulations). Callers don't change what they get.
    """
    base = tmp_path_factory.getbasetemp()
    shared = (base if worker_id == "master" else base.parent) / "recorded-programs"
    shared.mkdir(exist_ok=True)
    cache: dict[str, Recorded] = {}

    def recorded(program: str) -> Recorded:
        if program not in cache:
            entry = shared / f"{program}.json"
            with entry.with_suffix(".lock").open("w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not entry.exists():
                    entry.write_text(record(program), encoding="utf-8")
                cache[program] = parse(entry.read_text(encoding="utf-8"))
        return cache[program]

    return recorded
