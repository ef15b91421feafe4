"""What the pytest-xdist workers of one test run share: work that costs CPU-seconds, done once per run by
the first worker that needs it, in a folder every worker of the run sees."""

from __future__ import annotations

import fcntl
from collections.abc import Callable
from pathlib import Path

import pytest


def shared_folder(tmp_path_factory: pytest.TempPathFactory, worker_id: str, name: str) -> Path:
    """`name` in the run's base folder, the parent of the workers' own (a run without workers has only its own)."""
    base = tmp_path_factory.getbasetemp()
    folder = (base if worker_id == "master" else base.parent) / name
    folder.mkdir(exist_ok=True)
    return folder


def made_once(entry: Path, make: Callable[[], str]) -> str:
    """The text stored at `entry`, written there by `make()` under a lock by the first worker asking; the others
    wait for it and read it."""
    with entry.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not entry.exists():
            entry.write_text(make(), encoding="utf-8")
        return entry.read_text(encoding="utf-8")
