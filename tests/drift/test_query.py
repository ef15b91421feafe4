"""The drift query on DuckDB against the reference (the former pure-Python reader), on capture files in
SageMaker's format: the same requests, rows, skip reasons, bins, categories and values; the same
statistics and verdicts; and the Trino text Athena runs, transpiled, gives the same answer on DuckDB."""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlglot
from scipy import stats
from sqlglot import exp

from modelplane.drift import embedded
from modelplane.drift.athena import CaptureTable, query_text
from modelplane.drift.baseline import Baseline, CategoricalFeature, NumericFeature, baseline_from_frame
from modelplane.drift.capture import hour_prefix
from modelplane.drift.query import KS_SAMPLE_SIZE, WindowAggregates, aggregates_from
from modelplane.drift.statistics import Verdict, compare
from modelplane.settings import DataDrift
from modelplane.timewindow import Window
from tests.drift.harness import (
    COLUMNS,
    athena_answer,
    capture_line,
    capture_record,
    comparable,
    hourly_capture,
    payload,
    reference_aggregates,
    requests_of,
    transactions,
    write_capture,
)

END = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
WINDOW = Window(END - timedelta(hours=6), END)
INSIDE = END - timedelta(hours=1)

Judge = Callable[[list[str], Baseline], WindowAggregates]


@pytest.fixture
def judge(tmp_path: Path) -> Judge:
    """The embedded engine over `lines` written as capture files."""

    def run(lines: list[str], baseline: Baseline) -> WindowAggregates:
        files = write_capture(tmp_path / f"capture-{len(list(tmp_path.iterdir()))}", lines)
        return embedded.judge_files(files, baseline, WINDOW)

    return run


@pytest.fixture(scope="module")
def small_baseline() -> Baseline:
    """`a` numeric, `b` categorical: the columns of the payload cases."""
    random = np.random.default_rng(0)
    frame = pd.DataFrame({"a": random.normal(2, 1, 400), "b": random.choice(["x", "y", "z", "5411", "True"], 400)})
    return baseline_from_frame(frame, source="small.csv")


def line(endpoint_input: dict[str, Any] | None, when: datetime = INSIDE) -> str:
    return json.dumps(capture_record(endpoint_input, when))


PAYLOADS = {
    "csv rows": payload("text/csv", "1,x\n2,y", "CSV"),
    "csv with CRLF and a blank line": payload("text/csv", "1,x\r\n\r\n2,y\r\n", "CSV"),
    "base64 csv with charset": payload("text/csv; charset=utf-8", base64.b64encode(b"3,z").decode(), "BASE64"),
    "quoted csv": payload("application/csv", '"1.5","x,y"\n"a""b",2', "CSV"),
    "csv empty values": payload("text/csv", ",x\n4,", "CSV"),
    "json list of objects": payload("application/json", '[{"a": 1}, {"b": "w"}]', "JSON"),
    "json instances of rows": payload("application/json", '{"instances": [[1, "v"], [2, "w"]]}', "JSON"),
    "json lines": payload("application/jsonlines", '{"a": 1}\n{"a": 2}\n', "JSON"),
    "json nulls": payload("application/json", '{"a": null, "b": null}', "JSON"),
    "json booleans": payload("application/json", '{"a": true, "b": true}', "JSON"),
    "json whole-number categories": payload("text/json", '[{"a": 1.5, "b": 5411.0}, {"b": 7}, {"b": 1e3}]', "JSON"),
    "json numeric strings": payload("application/json", '{"a": " 2.5 ", "b": ""}', "JSON"),
    "json non-finite numbers": payload("application/json", '[{"a": "nan"}, {"a": "inf"}, {"a": 1e400}]', "JSON"),
    "json row of scalars": payload("application/json", '[3, "q"]', "JSON"),
    "json unicode": payload("application/json", '{"a": 0.5, "b": "\\u00e9t\\u00e9"}', "JSON"),
    "base64 json": payload("application/json", base64.b64encode(b'{"a": 8, "b": "x"}').decode(), "BASE64"),
    "csv of the wrong width": payload("text/csv", "1,2,3", "CSV"),
    "json row of the wrong width": payload("application/json", "[[1, 2, 3]]", "JSON"),
    "an image": payload("image/png", base64.b64encode(b"png").decode(), "BASE64"),
    "broken json": payload("application/json", "{", "JSON"),
    "a broken json line": payload("application/jsonlines", '{"a": 1}\nnope', "JSON"),
    "an empty json list": payload("application/json", "[]", "JSON"),
    "a json scalar": payload("application/json", "5", "JSON"),
    "empty instances": payload("application/json", '{"instances": []}', "JSON"),
    "no data": {"observedContentType": "text/csv", "mode": "INPUT", "encoding": "CSV"},
    "an unknown encoding": payload("text/csv", "1,x", "XML"),
    "no encoding": {"observedContentType": "text/csv", "mode": "INPUT", "data": "1,x"},
    "no content type": {"mode": "INPUT", "data": "1,x", "encoding": "CSV"},
    "base64 that is no base64": payload("text/csv", "!!!", "BASE64"),
    "base64 of bytes that are no UTF-8": payload("text/csv", base64.b64encode(b"\xff\xfe,x").decode(), "BASE64"),
}


@pytest.mark.parametrize("case", PAYLOADS)
def test_each_payload_is_read_as_the_reference_reads_it(case: str, small_baseline: Baseline, judge: Judge) -> None:
    lines = [line(PAYLOADS[case])]

    assert comparable(judge(lines, small_baseline)) == comparable(reference_aggregates(lines, WINDOW, small_baseline))


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


def test_every_case_at_once_in_several_batches_adds_up_to_the_reference(
    small_baseline: Baseline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [
        line(endpoint_input, INSIDE - timedelta(seconds=index))
        for index, endpoint_input in enumerate(PAYLOADS.values())
    ]
    files = write_capture(tmp_path, lines * 3, per_file=7)
    monkeypatch.setattr(embedded, "BATCH_BYTES", 4000)
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


def window_lines(frame: pd.DataFrame) -> list[str]:
    """The frame's requests spread over the window's last five hours, in the three capture styles."""
    step = timedelta(hours=5) / len(frame)
    return [
        capture_line(row, END - timedelta(hours=5) + index * step, ("csv", "json", "base64")[index % 3])
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
# distribution: below sqrt(ln(2 / 0.001) / (2 n)) with probability 0.999 (Dvoretzky-Kiefer-Wolfowitz).
KS_TOLERANCE = float(np.sqrt(np.log(2 / 0.001) / (2 * KS_SAMPLE_SIZE)))


@pytest.mark.parametrize("drifted", [False, True])
def test_a_window_larger_than_the_sample_matches_the_reference_within_tolerance(
    baseline: Baseline, judge: Judge, drifted: bool
) -> None:
    lines = window_lines(transactions(3 * KS_SAMPLE_SIZE, seed=40 + drifted, drifted=drifted))

    answer, reference = judge(lines, baseline), reference_aggregates(lines, WINDOW, baseline)
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
            assert answer.features[feature.name].values == 3 * KS_SAMPLE_SIZE
            assert len(answer.features[feature.name].sample) == KS_SAMPLE_SIZE
            assert feature.statistic == pytest.approx(other.statistic, abs=KS_TOLERANCE)
        else:
            assert (feature.statistic, feature.p_value) == (other.statistic, other.p_value)


def test_the_sample_is_the_same_on_every_run_and_spread_over_the_window(baseline: Baseline, judge: Judge) -> None:
    frame = transactions(2 * KS_SAMPLE_SIZE, seed=5)
    lines = window_lines(frame)

    first, second = judge(lines, baseline), judge(lines, baseline)

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
    requests, per_request = 1000, 100
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


def test_the_athena_query_parses_as_trino_and_transpiled_runs_on_duckdb_to_the_same_answer(
    baseline: Baseline, tmp_path: Path
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
    athena_text = query_text(TABLE, ["champion"], WINDOW, baseline)

    assert sqlglot.parse_one(athena_text, read="trino", error_level=sqlglot.ErrorLevel.RAISE)
    on_athena_text = aggregates_from(athena_answer(TABLE, files, athena_text), baseline)

    in_window = [path for paths in by_hour.values() for path in paths]
    embedded_answer = embedded.judge_files(in_window, baseline, WINDOW)
    assert comparable(on_athena_text) == comparable(embedded_answer)
    assert on_athena_text.requests == 900 and on_athena_text.files == len(in_window)
    assert compare(baseline, on_athena_text, DataDrift()) == compare(baseline, embedded_answer, DataDrift())


def test_both_engines_draw_the_reference_sample_above_the_sample_size(baseline: Baseline, tmp_path: Path) -> None:
    """The sample is the rows of the smallest keys, MD5 as hashlib computes it, on DuckDB and in the Athena text
    alike: the same values, key for key, whatever the event ids hold (UTF-8 beyond ASCII included)."""
    frame = transactions(KS_SAMPLE_SIZE + 2000, seed=8)
    step = timedelta(hours=5) / len(frame)
    lines = [
        json.dumps(
            capture_record(
                payload("text/csv", ",".join(str(row[column]) for column in COLUMNS), "CSV"),
                END - timedelta(hours=5) + index * step,
                event_id=f"réq-{index}-\U0001f642",
            )
        )
        for index, row in enumerate(requests_of(frame))
    ]
    files = [path for paths in hourly_capture(tmp_path / "champion", lines).values() for path in paths]
    athena_text = query_text(TABLE, ["champion"], WINDOW, baseline)

    on_duckdb = embedded.judge_files(files, baseline, WINDOW)
    on_athena_text = aggregates_from(athena_answer(TABLE, {"champion": files}, athena_text), baseline)

    assert on_duckdb.features["amount"].values > KS_SAMPLE_SIZE
    reference = comparable(reference_aggregates(lines, WINDOW, baseline))
    assert comparable(on_duckdb) == reference
    assert comparable(on_athena_text) == reference


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
