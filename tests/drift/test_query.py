"""The drift query on DuckDB against the reference (the former pure-Python reader), on capture files in
SageMaker's format: the same requests, rows, skip reasons, bins, categories and values; the same
statistics and verdicts; and the Trino text Athena runs, transpiled, gives the same answer on DuckDB."""

from __future__ import annotations

import codecs
import functools
import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlglot
from duckdb import DuckDBPyConnection
from scipy import stats
from sqlglot import exp

from modelplane.drift import embedded
from modelplane.drift.athena import CaptureTable, query_text
from modelplane.drift.baseline import Baseline, CategoricalFeature, NumericFeature, baseline_from_frame
from modelplane.drift.capture import hour_prefix
from modelplane.drift.query import (
    DUPLICATE_KEY,
    KS_SAMPLE_SIZE,
    WindowAggregates,
    aggregates_from,
    duckdb_sql,
    trino_sql,
)
from modelplane.drift.statistics import Verdict, compare
from modelplane.settings import DataDrift
from modelplane.timewindow import Window
from modelplane_serving import payloads
from tests.drift.harness import (
    PAYLOADS,
    REFUSED_PAYLOADS,
    athena_answer,
    capture_line,
    capture_record,
    comparable,
    file_lines,
    hourly_capture,
    payload,
    reference_aggregates,
    request_text,
    requests_of,
    row_hash,
    transactions,
    write_capture,
)

END = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
WINDOW = Window(END - timedelta(hours=6), END)
INSIDE = END - timedelta(hours=1)

Judge = Callable[[list[str], Baseline], WindowAggregates]


@pytest.fixture
def judge(tmp_path: Path, drift_session: DuckDBPyConnection) -> Judge:
    """The embedded engine over `lines` written as capture files."""

    def run(lines: list[str], baseline: Baseline) -> WindowAggregates:
        files = write_capture(tmp_path / f"capture-{len(list(tmp_path.iterdir()))}", lines)
        return embedded.judge_files_in(drift_session, files, baseline, WINDOW)

    return run


@pytest.fixture(scope="module")
def small_baseline() -> Baseline:
    """`a` numeric, `b` categorical: the columns of the payload cases."""
    random = np.random.default_rng(0)
    frame = pd.DataFrame({"a": random.normal(2, 1, 400), "b": random.choice(["x", "y", "z", "5411", "True"], 400)})
    return baseline_from_frame(frame, source="small.csv")


def line(endpoint_input: dict[str, Any] | None, when: datetime = INSIDE) -> str:
    return json.dumps(capture_record(endpoint_input, when))


JudgedCase = Callable[[str], tuple[list[str], WindowAggregates]]


@pytest.fixture(scope="module")
def judged_case(
    small_baseline: Baseline, tmp_path_factory: pytest.TempPathFactory, drift_session: DuckDBPyConnection
) -> JudgedCase:
    """A payload case's capture line and the embedded engine's answer, judged once for the module: the refused
    cases are read by two tests."""

    @functools.cache
    def judged(case: str) -> tuple[list[str], WindowAggregates]:
        lines = [line((PAYLOADS | REFUSED_PAYLOADS)[case])]
        files = write_capture(tmp_path_factory.mktemp("case"), lines)
        return lines, embedded.judge_files_in(drift_session, files, small_baseline, WINDOW)

    return judged


@pytest.mark.parametrize("case", [*PAYLOADS, *REFUSED_PAYLOADS])
def test_each_payload_is_read_as_the_reference_reads_it(
    case: str, small_baseline: Baseline, judged_case: JudgedCase
) -> None:
    lines, answer = judged_case(case)

    assert comparable(answer) == comparable(reference_aggregates(lines, WINDOW, small_baseline))


@pytest.mark.parametrize("case", REFUSED_PAYLOADS)
def test_what_drift_refuses_the_server_reads_and_drift_says_why(
    case: str, small_baseline: Baseline, judged_case: JudgedCase
) -> None:
    captured = REFUSED_PAYLOADS[case]
    assert payloads.rows(request_text(captured), captured["observedContentType"], small_baseline.columns)

    _, answer = judged_case(case)

    assert (answer.requests, answer.rows) == (1, 0)
    (reason,) = answer.skipped
    assert reason in {DUPLICATE_KEY, "application/json data that is not JSON"}


def test_records_outside_the_window_or_not_from_sagemaker_are_told_apart(
    small_baseline: Baseline, judge: Judge
) -> None:
    csv = payload("text/csv", "1,x", "CSV")
    record_without_zone = capture_record(csv, INSIDE)
    record_without_zone["eventMetadata"]["inferenceTime"] = INSIDE.strftime("%Y-%m-%dT%H:%M:%S")
    undated = capture_record(csv, INSIDE)
    undated["eventMetadata"]["inferenceTime"] = "yesterday"
    lines = [
        line(csv),
        line(csv, WINDOW.start),
        line(csv, WINDOW.end),
        line(csv, WINDOW.start - timedelta(milliseconds=1)),
        json.dumps(record_without_zone),
        json.dumps(undated),
        line(None),
        "not json",
        "[1, 2]",
        "   ",
    ]

    answer = judge(lines, small_baseline)

    assert comparable(answer) == comparable(reference_aggregates(lines, WINDOW, small_baseline))
    assert (answer.requests, answer.rows, dict(answer.skipped)) == (3, 3, {"not a SageMaker capture record": 4})


def hostile_files() -> dict[str, bytes]:
    good = line(payload("text/csv", "1,x", "CSV")).encode()
    record = capture_record(payload("text/csv", "1,x", "CSV"), INSIDE)

    def variant(**fields: Any) -> bytes:
        changed = json.loads(json.dumps(record))
        changed["captureData"]["endpointInput"].update(fields)
        return json.dumps(changed).encode()

    without_input = json.loads(json.dumps(record))
    without_input["captureData"]["endpointInput"] = [1]
    return {
        "a byte order mark": codecs.BOM_UTF8 + good + b"\n" + good + b"\n",
        "a line that is not UTF-8": good + b'\n{"x": "\xff\xfe"}\n' + good + b"\n",
        "a payload that is not UTF-8": good + b"\n" + good.replace(b"1,x", b"1,\xff") + b"\n",
        "half a surrogate pair in the record": good + b"\n" + good.replace(b"1,x", b"1,\\ud800") + b"\n",
        "data that is a number": good + b"\n" + variant(data=5) + b"\n",
        "data that is an object": good + b"\n" + variant(data={"a": 1, "b": [1, "x"]}) + b"\n",
        "data that is a list": good + b"\n" + variant(data=[1, "x"], encoding="JSON") + b"\n",
        "an encoding that is null": good + b"\n" + variant(encoding=None) + b"\n",
        "an endpointInput that is a list": good + b"\n" + json.dumps(without_input).encode() + b"\n",
        "a truncated last line": good + b"\n" + good[:40],
        "a JSON list as a line": good + b"\n[1, 2]\n",
        "no lines": b"",
    }


@pytest.mark.parametrize("case", hostile_files())
def test_hostile_capture_files_are_read_as_the_reference_reads_them(
    case: str, small_baseline: Baseline, tmp_path: Path, drift_session: DuckDBPyConnection
) -> None:
    content = hostile_files()[case]
    path = tmp_path / "capture.jsonl"
    path.write_bytes(content)

    answer = embedded.judge_files_in(drift_session, [path], small_baseline, WINDOW)

    assert comparable(answer) == comparable(reference_aggregates(file_lines(content), WINDOW, small_baseline))


def test_the_statement_parsed_for_a_text_reads_each_windows_own_files_in_any_session(
    small_baseline: Baseline, tmp_path: Path, drift_session: DuckDBPyConnection
) -> None:
    """DuckDB parses the query once per text (`embedded._parsed`); the kept statement runs on the view of the
    window at hand, never on the files it was first run on, and in a session that did not parse it."""
    windows = [
        [line(payload("text/csv", "1,x", "CSV"))],
        [line(payload("application/json", '[{"a": 7, "b": "y"}, {"a": 8}]', "JSON"))] * 2,
    ]
    text = duckdb_sql(trino_sql(small_baseline, WINDOW, embedded.SOURCE))

    with embedded.connect() as other:
        for index, (session, lines) in enumerate(
            [(drift_session, windows[0]), (drift_session, windows[1]), (other, windows[0])]
        ):
            files = write_capture(tmp_path / str(index), lines)
            answer = embedded.judge_files_in(session, files, small_baseline, WINDOW)
            assert comparable(answer) == comparable(reference_aggregates(lines, WINDOW, small_baseline)), index
        assert embedded._parsed(text) is embedded._parsed(text)


def test_every_case_at_once_in_several_batches_adds_up_to_the_reference(
    small_baseline: Baseline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [
        line(endpoint_input, INSIDE - timedelta(seconds=index))
        for index, endpoint_input in enumerate([*PAYLOADS.values(), *REFUSED_PAYLOADS.values()])
    ]
    files = write_capture(tmp_path, lines * 3, per_file=7)
    # 9 batches (each DuckDB's ~0.05 CPU-s): of several files, and a file over the limit alone.
    monkeypatch.setattr(embedded, "BATCH_BYTES", 20_000)
    partials: list[WindowAggregates] = []
    run = embedded._run
    monkeypatch.setattr(embedded, "_run", lambda *args: partials.append(run(*args)) or partials[-1])

    answer = embedded.judge_files(files, small_baseline, WINDOW)

    assert len(partials) > 3, "the files were read in several batches"
    assert comparable(answer) == comparable(reference_aggregates(lines * 3, WINDOW, small_baseline))
    assert answer.files == len(files)


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    return baseline_from_frame(transactions(5000, seed=1).drop(columns=["label"]), source="train.csv")


def window_lines(frame: pd.DataFrame, event_id: Callable[[int], str] | None = None) -> list[str]:
    """The frame's requests spread over the window's last five hours, in the three capture styles; the event id of
    the request at each index is `event_id(index)` (default: a random UUID, as SageMaker's)."""
    step = timedelta(hours=5) / len(frame)
    return [
        capture_line(
            row,
            END - timedelta(hours=5) + index * step,
            ("csv", "json", "base64")[index % 3],
            event_id=event_id(index) if event_id else None,
        )
        for index, row in enumerate(requests_of(frame))
    ]


@pytest.mark.parametrize(("drifted", "verdict"), [(False, Verdict.NO_DRIFT), (True, Verdict.DRIFT)])
def test_the_sql_path_judges_as_the_reference_does(
    baseline: Baseline, judge: Judge, drifted: bool, verdict: Verdict
) -> None:
    lines = window_lines(transactions(900, seed=3 if drifted else 2, drifted=drifted))

    answer, reference = judge(lines, baseline), reference_aggregates(lines, WINDOW, baseline)
    judged, expected = compare(baseline, answer, DataDrift()), compare(baseline, reference, DataDrift())

    assert comparable(answer) == comparable(reference)
    assert judged == expected, "fewer values than the sample: every statistic is the reference's"
    assert judged.verdict is verdict
    if drifted:
        assert [feature.name for feature in judged.drifted] == ["amount", "merchant_risk", "country"]


def test_statistics_are_scipys_on_the_window(baseline: Baseline, judge: Judge) -> None:
    frame = transactions(800, seed=9, drifted=True)
    features = {f.name: f for f in compare(baseline, judge(window_lines(frame), baseline), DataDrift()).features}
    amount = baseline.features["amount"]
    assert isinstance(amount, NumericFeature)
    assert (features["amount"].statistic, features["amount"].p_value) == pytest.approx(
        stats.ks_2samp(amount.sample, frame["amount"].to_numpy())
    )
    country = baseline.features["country"]
    assert isinstance(country, CategoricalFeature)
    counts = Counter(frame["country"])
    known = sum(counts[c] for c in country.shares)
    assert (features["country"].statistic, features["country"].p_value) == pytest.approx(
        stats.chisquare([counts[c] for c in country.shares], [country.shares[c] * known for c in country.shares])
    )
    assert features["country"].new_categories["BR"] == pytest.approx((frame["country"] == "BR").mean())


# KS statistics of the sample and of every value differ by at most the sample's distance to the window's
# distribution: below sqrt(ln(2 / 0.001) / (2 n)) with probability 0.999 (Dvoretzky-Kiefer-Wolfowitz). The
# sample is drawn without replacement from the window's values, which concentrates at least as well as the
# independent draws the bound is stated for (Serfling 1974), however few values the window holds beyond n.
KS_TOLERANCE = float(np.sqrt(np.log(2 / 0.001) / (2 * KS_SAMPLE_SIZE)))


@dataclass
class LargeWindow:
    frame: pd.DataFrame
    lines: list[str]
    files: list[Path]
    """The lines in capture files below `<hour>/` folders, as SageMaker lays them out (Athena's partitions)."""
    answer: WindowAggregates
    """The embedded engine's first answer on the files, in a session of the product's default threads."""
    baseline: Baseline

    @functools.cached_property
    def reference(self) -> WindowAggregates:
        return reference_aggregates(self.lines, WINDOW, self.baseline)


@pytest.fixture(scope="module")
def larger_than_the_sample(
    baseline: Baseline, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[bool], LargeWindow]:
    """A window of more requests than the sample, its capture files, the engine's answer and the reference, each
    made once for the tests of the sample: each costs about as much as judging a small window fifty times. Event ids
    hold UTF-8 beyond ASCII: the rows' keys are MD5 of their bytes.

    The steady window holds twice the sample: half of it is left out, so a count taken from the sample alone is off
    by 10,000, and the test of the sample's spread compares the window's halves. The drifted one holds 2,000 values
    beyond the sample (three fifths of the work): a count from the sample alone is still off, and the KS tolerance
    holds however few values lie beyond the sample (above)."""

    @functools.cache
    def window(drifted: bool) -> LargeWindow:
        size = KS_SAMPLE_SIZE + 2000 if drifted else 2 * KS_SAMPLE_SIZE
        frame = transactions(size, seed=41 if drifted else 5, drifted=drifted)
        lines = window_lines(frame, lambda index: f"réq-{index}-\U0001f642")
        by_hour = hourly_capture(tmp_path_factory.mktemp("large") / "champion", lines)
        files = [path for paths in by_hour.values() for path in paths]
        # The product's own session (its threads): these windows span many files, read in parallel.
        return LargeWindow(frame, lines, files, embedded.judge_files(files, baseline, WINDOW), baseline)

    return window


@pytest.mark.parametrize("drifted", [False, True])
def test_a_window_larger_than_the_sample_matches_the_reference_within_tolerance(
    baseline: Baseline, larger_than_the_sample: Callable[[bool], LargeWindow], drifted: bool
) -> None:
    large = larger_than_the_sample(drifted)

    answer, reference = large.answer, large.reference
    judged, expected = compare(baseline, answer, DataDrift()), compare(baseline, reference, DataDrift())

    assert judged.verdict is expected.verdict
    for feature, other in zip(judged.features, expected.features, strict=True):
        assert (feature.name, feature.count, feature.missing, feature.psi) == (
            other.name,
            other.count,
            other.missing,
            pytest.approx(other.psi, abs=1e-12),
        ), "bins and categories are counted in full"
        if feature.test == "ks":
            assert answer.features[feature.name].values == len(large.frame) > KS_SAMPLE_SIZE
            assert len(answer.features[feature.name].sample) == KS_SAMPLE_SIZE
            assert feature.statistic == pytest.approx(other.statistic, abs=KS_TOLERANCE)
            numeric = baseline.features[feature.name]
            assert isinstance(numeric, NumericFeature)
            # More values than scipy's exact method takes: its asymptotic p-value, as for the window's every value.
            asymptotic = stats.ks_2samp(numeric.sample, answer.features[feature.name].sample_values, method="asymp")
            assert (feature.statistic, feature.p_value) == pytest.approx(asymptotic)
        else:
            assert (feature.statistic, feature.p_value) == (other.statistic, other.p_value)


def test_the_sample_is_the_same_on_every_run_and_spread_over_the_window(
    baseline: Baseline, drift_session: DuckDBPyConnection, larger_than_the_sample: Callable[[bool], LargeWindow]
) -> None:
    large = larger_than_the_sample(False)
    frame = large.frame

    # The second run in another session, of one thread: the sample does not depend on how DuckDB splits the work.
    first, second = large.answer, embedded.judge_files_in(drift_session, large.files, baseline, WINDOW)

    assert first.features["amount"].sample == second.features["amount"].sample
    sampled = set(first.features["amount"].sample_values)
    early, late = set(frame["amount"][:KS_SAMPLE_SIZE]), set(frame["amount"][KS_SAMPLE_SIZE:])
    assert len(sampled & early) > 0.4 * KS_SAMPLE_SIZE and len(sampled & late) > 0.4 * KS_SAMPLE_SIZE


def test_requests_of_many_rows_are_sampled_row_by_row(judge: Judge) -> None:
    """Batch requests larger than the sample: every row gets its own key, so the sample is rows from (nearly)
    every request, not every row of a few; with rows correlated within a request, the KS statistic of the
    sample stays within the sample's tolerance of every value's."""
    random = np.random.default_rng(7)
    baseline = baseline_from_frame(pd.DataFrame({"a": random.normal(0, 1, 5000)}), source="train.csv")
    # 25,000 rows, two fifths of them sampled: a request misses the sample with odds at most 0.6^25 < 3e-6 (less
    # without replacement), so fewer than 990 requests in the sample is a bug (sampling whole requests gives about
    # 10,000 / 25 = 400), not bad luck. The KS tolerance holds for any window beyond the sample (above).
    requests, per_request = 1000, 25
    lines, request_of = [], {}
    for index in range(requests):
        values = [f"{value:.6f}" for value in random.normal(random.normal(0, 0.7), 0.7, per_request)]
        request_of.update({float(value): index for value in values})
        record = capture_record(payload("text/csv", "\n".join(values), "CSV"), INSIDE - timedelta(seconds=index))
        lines.append(json.dumps(record))

    answer, reference = judge(lines, baseline), reference_aggregates(lines, WINDOW, baseline)

    sample = answer.features["a"].sample_values
    assert len(sample) == KS_SAMPLE_SIZE
    assert len({request_of[value] for value in sample}) > 0.99 * requests, "rows of nearly every request"
    assert comparable(answer) == comparable(reference), "the reference's sample: the rows of the smallest MD5 keys"
    (judged,), (expected,) = (
        compare(baseline, answer, DataDrift()).features,
        compare(baseline, reference, DataDrift()).features,
    )
    assert judged.statistic == pytest.approx(expected.statistic, abs=KS_TOLERANCE)


# --- the Athena text --------------------------------------------------------------------------------

TABLE = CaptureTable(database="modelplane_prod", table="fraud_prod_capture", workgroup="modelplane-prod-drift")


@pytest.fixture(scope="module")
def athena_text(baseline: Baseline) -> tuple[str, exp.Expr]:
    """The text Athena runs for the champion's window, and its tree as sqlglot's Trino dialect parses it (raising on
    any error), parsed once for the module: sqlglot takes about 0.07 CPU-s on the text."""
    text = query_text(TABLE, ["champion"], WINDOW, baseline)
    return text, sqlglot.parse_one(text, read="trino", error_level=sqlglot.ErrorLevel.RAISE)


def test_the_athena_query_parses_as_trino_and_transpiled_runs_on_duckdb_to_the_same_answer(
    baseline: Baseline, athena_text: tuple[str, exp.Expr], tmp_path: Path
) -> None:
    lines = window_lines(transactions(900, seed=3, drifted=True))
    stale = window_lines(transactions(300, seed=4))
    by_hour = hourly_capture(tmp_path / "champion", lines)
    files = {
        "champion": [path for paths in by_hour.values() for path in paths]
        # An hour before the window: the partition filter leaves it out, though its records' times are inside.
        + write_capture(tmp_path / "before" / "2026-11-02-05", stale),
        # Another variant: left out too.
        "shadow": write_capture(tmp_path / "shadow" / "2026-11-02-10", stale),
    }
    text, tree = athena_text

    assert tree, "the text parses as Trino"
    on_athena_text = aggregates_from(athena_answer(TABLE, files, text), baseline)

    in_window = [path for paths in by_hour.values() for path in paths]
    embedded_answer = embedded.judge_files(in_window, baseline, WINDOW)
    assert comparable(on_athena_text) == comparable(embedded_answer)
    assert on_athena_text.requests == 900 and on_athena_text.files == len(in_window)
    assert compare(baseline, on_athena_text, DataDrift()) == compare(baseline, embedded_answer, DataDrift())


def test_both_engines_draw_the_reference_sample_above_the_sample_size(
    baseline: Baseline, athena_text: tuple[str, exp.Expr], larger_than_the_sample: Callable[[bool], LargeWindow]
) -> None:
    """The sample is the rows of the smallest keys, MD5 as hashlib computes it, on DuckDB and in the Athena text
    alike: the same values, key for key, whatever the event ids hold (UTF-8 beyond ASCII included)."""
    large = larger_than_the_sample(False)

    on_duckdb = large.answer
    on_athena_text = aggregates_from(athena_answer(TABLE, {"champion": large.files}, athena_text[0]), baseline)

    assert on_duckdb.features["amount"].values > KS_SAMPLE_SIZE
    assert all("\U0001f642" in json.loads(text)["eventMetadata"]["eventId"] for text in large.lines)
    reference = comparable(large.reference)
    assert comparable(on_duckdb) == reference
    assert comparable(on_athena_text) == reference


def trino_value(node: exp.Expr, columns: dict[str, Any]) -> Any:
    """`node` evaluated by Trino's documented functions (https://trino.io/docs/current/functions/binary.html,
    .../string.html): to_utf8 is a string's UTF-8 bytes, md5 the 16-byte digest of bytes, substr of bytes counts
    from 1, from_big_endian_64 reads 8 bytes as a big-endian two's complement bigint. Any other function fails."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "from_big_endian_64":
        (argument,) = node.expressions
        value = trino_value(argument, columns)
        assert isinstance(value, bytes) and len(value) == 8, "from_big_endian_64 fails on anything but 8 bytes"
        return int.from_bytes(value, "big", signed=True)
    if isinstance(node, exp.Substring):
        value, start, length = (
            trino_value(part, columns) for part in (node.this, node.args["start"], node.args["length"])
        )
        return value[start - 1 : start - 1 + length]
    if isinstance(node, exp.MD5Digest):
        return hashlib.md5(trino_value(node.this, columns), usedforsecurity=False).digest()
    if isinstance(node, exp.Encode):
        assert node.args["charset"].name.lower() == "utf-8"
        return trino_value(node.this, columns).encode("utf-8")
    if isinstance(node, exp.Concat):
        return "".join(trino_value(part, columns) for part in node.expressions)
    if isinstance(node, exp.Cast) and node.to.this is exp.DataType.Type.VARCHAR:
        return str(trino_value(node.this, columns))
    if isinstance(node, exp.Column):
        return columns[node.name]
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else int(node.this)
    raise AssertionError(
        f"the row key uses {node.sql(dialect='trino')}, which this test does not know Trino's meaning of"
    )


@pytest.mark.parametrize("request_id", ["0f3e5a0e-1b2c-4d5e", "réq-7-\U0001f642", "", "a#1"])
def test_the_athena_texts_row_key_is_hashlibs_md5_by_trinos_documented_functions(
    request_id: str, athena_text: tuple[str, exp.Expr]
) -> None:
    """The transpiled text runs DuckDB's `md5_int64` macro in place of the key's expression, so the Trino
    expression itself is held here to what Trino's documentation says its functions do: the key the reference
    (hashlib) computes, for every ordinal."""
    _, tree = athena_text
    (key,) = [node for node in tree.find_all(exp.Anonymous) if node.name.lower() == "from_big_endian_64"]

    for ordinal in (1, 2, 10, 12345):
        assert trino_value(key, {"request": request_id, "k": ordinal}) == row_hash(request_id, ordinal)


def test_the_athena_query_reads_only_the_partitions_of_the_window_and_variants(baseline: Baseline) -> None:
    """Partition projection lists nothing: the hours and variants the query names are all Athena reads."""
    assert hour_prefix("fraud-prod", "champion", datetime(2026, 11, 2, 7, 59, tzinfo=UTC)).endswith(
        "/fraud-prod/champion/2026/11/02/07/"
    )
    text = query_text(TABLE, ["champion", "challenger"], WINDOW, baseline)
    where = sqlglot.parse_one(text, read="trino").find(exp.Where)
    assert where is not None
    assert where.sql(dialect="trino") == (
        "WHERE variant IN ('champion', 'challenger') AND hour BETWEEN '2026/11/02/06' AND '2026/11/02/11'"
    )
