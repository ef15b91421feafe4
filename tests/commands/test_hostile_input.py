"""Every command meets hostile files and flags the same way: exit 2, one message, no traceback, nothing written.

Hypothesis draws the content of each file a command reads (outputs, verdicts, baselines, training data,
policy configs, metrics, stack files) and the values of the flags that take a duration, a time or a
number; whatever it draws, the command refuses before it writes a report or talks to AWS.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from modelplane.cli import main
from modelplane.config.inputs import DOCUMENT_MAX_BYTES, TABLE_MAX_BYTES
from modelplane.errors import EXIT_USAGE
from tests.stacks import copy_project

pytestmark = pytest.mark.long

# Nothing listens there: a command that reached AWS would fail on it (a defect this test would show).
NO_AWS = "http://127.0.0.1:9"
FILE = "input"
TOO_LARGE = "too large"
COMPARE_FRAUD = ("compare", "--stack", "staging", "--endpoint", "fraud")
PROMOTE_CHALLENGER = ("promote", "--stack", "staging", "--endpoint", "fraud", "--variant", "challenger")
REGISTER_FRAUD = ("register", "--stack", "staging", "--family", "fraud-detector", "--model-data", "model.tar.gz")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
# What a file may hold instead of what the command expects.
hostile_content = st.one_of(
    st.just(b""),
    st.just(b"  \n\t"),
    st.binary(min_size=1, max_size=64).filter(lambda data: not _is_utf8(data)),
    st.text(min_size=1, max_size=64).map(str.encode).filter(lambda data: not _is_json(data)),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.just(b"[" * 100_000),
    st.just(TOO_LARGE),
)


# Training data that cannot become a baseline: no rows, a repeated column, no column to drop.
hostile_tables = st.one_of(
    st.just(b""),
    st.just(TOO_LARGE),
    st.binary(min_size=1, max_size=64).filter(lambda data: not _is_utf8(data)),
    st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=1, max_size=4, unique=True).map(
        lambda names: (",".join(names) + "\n").encode()
    ),
    st.from_regex(r"[a-z]{1,8}", fullmatch=True).map(lambda name: f"{name},{name},label\n1,2,0\n".encode()),
    st.just(b"amount,country\n1,IE\n"),
)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the project, the working directory of every command here."""
    root = copy_project(tmp_path_factory.mktemp("hostile") / "project")
    before = Path.cwd()
    os.chdir(root)
    try:
        yield root
    finally:
        os.chdir(before)


def write(path: Path, content: bytes | str, limit: int) -> None:
    if content == TOO_LARGE:
        with path.open("wb") as handle:  # sparse: as large as it says, instantly
            handle.truncate(limit + 1)
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)


def refused(arguments: list[str], reports: list[Path]) -> str:
    """Run the command; assert exit 2, one message without a traceback, no report written; the message."""
    stderr, stdout = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
        try:
            code = main(arguments)
        except SystemExit as exit_:  # argparse refuses a flag's value
            code = exit_.code
    message = stderr.getvalue()
    assert code == EXIT_USAGE, (arguments, message, stdout.getvalue())
    assert message.strip(), "a refusal says why"
    assert "Traceback" not in message and "unexpected error" not in message, message
    assert not [report for report in reports if report.exists()], "nothing is written"
    return message


# (command line with FILE where the hostile file goes, the suffix it needs, the size limit that applies,
# what the file may hold)
FILE_ARGUMENTS: list[tuple[list[str], str, int]] = [
    (["verify", "--stack", "staging", "--outputs", FILE, "--json", "out.json"], ".json", DOCUMENT_MAX_BYTES),
    (
        [*COMPARE_FRAUD, "--outputs", FILE, "--json", "out.json"],
        ".json",
        DOCUMENT_MAX_BYTES,
    ),
    (
        ["drift", "--stack", "prod", "--endpoint", "fraud", "--baseline", FILE, "--json", "out.json"],
        ".json",
        DOCUMENT_MAX_BYTES,
    ),
    (
        [
            "drift",
            "--stack",
            "prod",
            "--endpoint",
            "fraud",
            "--baseline",
            FILE,
            "--drop",
            "label",
            "--json",
            "out.json",
        ],
        ".csv",
        TABLE_MAX_BYTES,
    ),
    (["drift", "baseline", "--from", FILE, "--drop", "label", "--out", "out.json"], ".csv", TABLE_MAX_BYTES),
    (
        [*PROMOTE_CHALLENGER, "--version", "13", "--require-verdict", FILE],
        ".json",
        DOCUMENT_MAX_BYTES,
    ),
    (
        [*REGISTER_FRAUD, "--image", f"repo@sha256:{'0' * 64}", "--outputs", FILE],
        ".json",
        DOCUMENT_MAX_BYTES,
    ),
    (["plan", "--stack", "prod", "--policy-config", FILE, "--json", "out.json"], ".json", DOCUMENT_MAX_BYTES),
]


@pytest.mark.parametrize(
    ("arguments", "suffix", "limit"),
    FILE_ARGUMENTS,
    ids=lambda value: " ".join(value[:2]) if isinstance(value, list) else None,
)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_hostile_file_is_refused_with_one_message(
    project: Path, arguments: list[str], suffix: str, limit: int, data: st.DataObject
) -> None:
    content = data.draw(hostile_tables if suffix == ".csv" else hostile_content)
    if arguments[0] == "plan":
        # Any JSON object is a policy config the CLI takes (unknown policy names are ignored).
        assume(not (isinstance(content, bytes) and _is_json(content) and isinstance(json.loads(content), dict)))
    (project / "out.json").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(dir=project) as scratch:
        hostile = Path(scratch) / f"{FILE}{suffix}"
        write(hostile, content, limit)
        line = [str(hostile) if argument == FILE else argument for argument in arguments]
        message = refused([*line, *(["--endpoint-url", NO_AWS] if _talks_to_aws(line) else [])], [project / "out.json"])
    assert hostile.name in message, message


def _talks_to_aws(arguments: list[str]) -> bool:
    return arguments[0] in {"verify", "compare", "drift", "promote", "register"} and arguments[1] != "baseline"


# Flag values to refuse: what is no duration, time or number at all, and what is one but out of range.
DURATION = re.compile(r"(\d+d)?(\d+h)?(\d+m)?(\d+s)?")
hostile_durations = st.one_of(
    st.text(max_size=12).filter(lambda text: not text.strip() or not DURATION.fullmatch(text.strip())),
    st.integers(min_value=3661, max_value=10**30).map(lambda days: f"{days}d"),
    st.integers(min_value=3661 * 24, max_value=10**12).map(lambda hours: f"1d{hours}h"),
    st.just("0s"),
)
hostile_times = st.one_of(
    st.text(max_size=25).filter(lambda text: not _is_time(text)),
    st.just("9999-12-31T23:59:59-14:00"),
    st.just("0001-01-01T00:00:00+14:00"),
)
hostile_versions = st.one_of(
    st.text(max_size=10).filter(lambda text: not text.strip().isdigit()),
    st.integers(max_value=0).map(str),
    st.just("1.5"),
)
hostile_hours = st.one_of(
    st.text(max_size=10).filter(lambda text: not _is_number(text)),
    st.floats(max_value=0).map(str),
    st.just("nan"),
    st.just("-inf"),
)


def _is_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


FLAG_COMMANDS: dict[str, Callable[[str], list[str]]] = {
    "compare --window": lambda value: [*COMPARE_FRAUD, f"--window={value}"],
    "drift --window": lambda value: ["drift", "--stack", "prod", "--endpoint", "fraud", f"--window={value}"],
    "compare --start": lambda value: [*COMPARE_FRAUD, f"--start={value}", "--end", "2026-01-01T00:00:00Z"],
    "promote --version": lambda value: [*PROMOTE_CHALLENGER, f"--version={value}"],
    "promote --verdict-max-age": lambda value: [*PROMOTE_CHALLENGER, "--version", "13", f"--verdict-max-age={value}"],
}
FLAG_VALUES = {
    "compare --window": hostile_durations,
    "drift --window": hostile_durations,
    "compare --start": hostile_times,
    "promote --version": hostile_versions,
    "promote --verdict-max-age": hostile_hours,
}


@pytest.mark.parametrize("flag", sorted(FLAG_COMMANDS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_hostile_flag_value_is_refused_with_one_message(project: Path, flag: str, data: st.DataObject) -> None:
    value = data.draw(FLAG_VALUES[flag])
    refused([*FLAG_COMMANDS[flag](value), "--endpoint-url", NO_AWS], [project / "out.json"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(hostile_content, st.text(max_size=200).map(str.encode)))
def test_a_hostile_stack_file_is_refused_with_one_message(project: Path, content: bytes | str) -> None:
    with tempfile.TemporaryDirectory(dir=project) as scratch:
        stack_file = Path(scratch) / "Pulumi.hostile.yaml"
        write(stack_file, content, DOCUMENT_MAX_BYTES)
        message = refused(["verify", "--config", str(stack_file), "--outputs", "missing.json"], [])
    assert "Pulumi.hostile.yaml" in message, message
