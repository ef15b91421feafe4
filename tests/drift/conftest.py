"""Fixtures of the drift tests."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

from modelplane.drift import embedded
from tests.stacks import SimulateStack


@pytest.fixture
def prod_outputs(simulate_stack: SimulateStack) -> dict[str, Any]:
    """The prod program's stack outputs (a copy a test may change): what `pulumi stack output --json` prints."""
    return copy.deepcopy(simulate_stack("prod").outputs)


@pytest.fixture(scope="module")
def drift_session() -> Iterator[duckdb.DuckDBPyConnection]:
    """One embedded-engine session for a module's windows (`embedded.judge_files_in`): opening and closing a
    DuckDB database (~0.04 CPU-s) costs more than judging a small window. Each window replaces the session's
    view of its files, so no window sees another's.

    One thread: a window of a few files is one task for DuckDB whatever its threads, and waking a second
    thread for it cost a tenth of its CPU (2 ms of 22, on the hundreds of small windows the tests judge). The
    windows larger than the sample are judged at the product's default (`embedded.judge_files`)."""
    with embedded.connect(threads=1) as connection:
        yield connection
