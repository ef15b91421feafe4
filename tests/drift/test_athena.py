"""`modelplane drift --engine athena`, the client side, against botocore's Athena model (Stubber checks every
request and answer against it): start in the stack's workgroup, poll, page the results, failures, the
scan limit, and the command line.

moto's Athena does not run SQL, and nothing here runs Athena's engine: that Athena (Trino) executes the
text as DuckDB executes its transpilation is shown only as far as sqlglot parses it in Trino's dialect and
the transpiled form gives the embedded engine's answer (test_query.py). The answer stubbed below is what
that transpiled text answers on DuckDB, as Athena would render it (every cell as text).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from modelplane.aws import Aws
from modelplane.cli import main
from modelplane.commands import outcome_of
from modelplane.drift import athena
from modelplane.drift.athena import AthenaError, CaptureTable, query_text
from modelplane.drift.baseline import Baseline, baseline_from_frame
from modelplane.drift.query import aggregates_from
from modelplane.errors import EXIT_FAILED, EXIT_USAGE
from modelplane.timewindow import Window
from tests.drift.harness import athena_answer, capture_line, comparable, hourly_capture, requests_of, transactions

# A recent window: the command refuses one older than the table's projected hours (a year back).
END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
WINDOW = Window(END - timedelta(hours=6), END)
TABLE = CaptureTable(database="modelplane_prod", table="fraud_prod_capture", workgroup="modelplane-prod-drift")
EXECUTION_ID = "0f3e5a0e-1b2c-4d5e-8f90-a1b2c3d4e5f6"


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    return baseline_from_frame(transactions(5000, seed=1).drop(columns=["label"]), source="train.csv")


@pytest.fixture(scope="module")
def answer_row(baseline: Baseline, tmp_path_factory: pytest.TempPathFactory) -> list[str | None]:
    """Athena's one result row for a drifted window, each cell as text (its VarCharValue)."""
    frame = transactions(900, seed=3, drifted=True)
    step = timedelta(hours=5) / len(frame)
    lines = [
        capture_line(row, END - timedelta(hours=5) + index * step, ("csv", "json", "base64")[index % 3])
        for index, row in enumerate(requests_of(frame))
    ]
    by_hour = hourly_capture(tmp_path_factory.mktemp("capture"), lines)
    files = {"champion": [path for paths in by_hour.values() for path in paths]}
    row = athena_answer(TABLE, files, query_text(TABLE, ["champion"], WINDOW, baseline))
    return [None if cell is None else str(cell) for cell in row]


@functools.cache
def botocore_session() -> botocore.session.Session:
    """One botocore session for the module: a fresh one loads Athena's model again (0.06 CPU-s a client, 0.002 from
    a session that has). Each test still gets a client, and a Stubber, of its own."""
    return botocore.session.get_session()


def athena_client() -> Any:
    return botocore_session().create_client(
        "athena", region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def client() -> Iterator[tuple[Any, Stubber]]:
    client = athena_client()
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def started(stubber: Stubber, baseline: Baseline, table: CaptureTable = TABLE) -> None:
    stubber.add_response(
        "start_query_execution",
        {"QueryExecutionId": EXECUTION_ID},
        {
            "QueryString": query_text(table, ["champion"], WINDOW, baseline),
            "QueryExecutionContext": {"Database": table.database},
            "WorkGroup": table.workgroup,
        },
    )


def execution(state: str, *, scanned: int = 0, **status: Any) -> dict[str, Any]:
    return {
        "QueryExecution": {
            "QueryExecutionId": EXECUTION_ID,
            "WorkGroup": TABLE.workgroup,
            "Status": {"State": state, **status},
            "Statistics": {"DataScannedInBytes": scanned},
        }
    }


def polled(stubber: Stubber, *states: dict[str, Any]) -> None:
    for state in states:
        stubber.add_response("get_query_execution", state, {"QueryExecutionId": EXECUTION_ID})


def results(stubber: Stubber, row: list[str | None]) -> None:
    """The header on the first page, the row on the second, as GetQueryResults pages."""
    header = [{"VarCharValue": f"column_{index}"} for index in range(len(row))]
    data = [{} if cell is None else {"VarCharValue": cell} for cell in row]
    stubber.add_response(
        "get_query_results",
        {"ResultSet": {"Rows": [{"Data": header}]}, "NextToken": "page-2"},
        {"QueryExecutionId": EXECUTION_ID},
    )
    stubber.add_response(
        "get_query_results",
        {"ResultSet": {"Rows": [{"Data": data}]}},
        {"QueryExecutionId": EXECUTION_ID, "NextToken": "page-2"},
    )


def judge(client: Any, baseline: Baseline, **clock: Any) -> athena.AthenaRun:
    return athena.judge(
        client, TABLE, variants=["champion"], window=WINDOW, baseline=baseline, now=END, sleep=lambda _: None, **clock
    )


def test_a_query_is_started_in_the_workgroup_polled_until_done_and_its_pages_read(
    client: tuple[Any, Stubber], baseline: Baseline, answer_row: list[str | None]
) -> None:
    athena_client_, stubber = client
    started(stubber, baseline)
    polled(stubber, execution("QUEUED"), execution("RUNNING"), execution("SUCCEEDED", scanned=123_456_789))
    results(stubber, answer_row)

    run = judge(athena_client_, baseline)

    assert (run.query_execution_id, run.scanned_bytes) == (EXECUTION_ID, 123_456_789)
    assert comparable(run.aggregates) == comparable(aggregates_from(tuple(answer_row), baseline))
    assert (run.aggregates.requests, run.aggregates.rows) == (900, 900)
    assert run.aggregates.features["country"].buckets["BR"] > 0


def test_a_failed_query_says_what_athena_said(client: tuple[Any, Stubber], baseline: Baseline) -> None:
    athena_client_, stubber = client
    started(stubber, baseline)
    failure = {
        "StateChangeReason": "TABLE_NOT_FOUND",
        "AthenaError": {
            "ErrorCategory": 2,
            "ErrorType": 1301,
            "Retryable": False,
            "ErrorMessage": "line 3: Table 'modelplane_prod.fraud_prod_capture' does not exist",
        },
    }
    polled(stubber, execution("RUNNING"), execution("FAILED", **failure))

    with pytest.raises(
        AthenaError,
        match=f"query {EXECUTION_ID} failed: line 3: Table 'modelplane_prod.fraud_prod_capture' does not exist",
    ):
        judge(athena_client_, baseline)


def test_a_query_over_the_scan_limit_is_cancelled_and_the_message_names_the_limit(
    client: tuple[Any, Stubber], baseline: Baseline
) -> None:
    athena_client_, stubber = client
    started(stubber, baseline)
    polled(
        stubber,
        execution(
            "CANCELLED", scanned=10_737_418_240, StateChangeReason="Query cancelled: bytes scanned limit was exceeded"
        ),
    )

    with pytest.raises(AthenaError) as raised:
        judge(athena_client_, baseline)
    assert "after scanning 10.74 GB" in str(raised.value)
    assert "raise monitoring.drift_query_scan_limit_gb" in str(raised.value)


def test_an_aws_error_propagates_and_is_one_line_naming_the_operation(
    client: tuple[Any, Stubber], baseline: Baseline
) -> None:
    athena_client_, stubber = client
    stubber.add_client_error(
        "start_query_execution", "InvalidRequestException", "WorkGroup modelplane-prod-drift is disabled"
    )

    with pytest.raises(ClientError) as raised:
        judge(athena_client_, baseline)
    assert outcome_of("drift", raised.value) == (
        EXIT_USAGE,
        "modelplane drift: AWS: StartQueryExecution: InvalidRequestException: WorkGroup modelplane-prod-drift is "
        "disabled",
    )


def test_a_query_that_never_ends_is_stopped(client: tuple[Any, Stubber], baseline: Baseline) -> None:
    athena_client_, stubber = client
    started(stubber, baseline)
    polled(stubber, execution("RUNNING"), execution("RUNNING"))
    stubber.add_response("stop_query_execution", {}, {"QueryExecutionId": EXECUTION_ID})
    moments = iter([0.0, 10.0, athena.TIMEOUT_SECONDS + 1.0])

    with pytest.raises(AthenaError, match="still RUNNING after 35 minutes; stopped it"):
        judge(athena_client_, baseline, clock=lambda: next(moments))


# --- the command line ------------------------------------------------------------------------------


def test_drift_on_athena_reads_the_table_the_stack_outputs_name(
    *,
    baseline: Baseline,
    answer_row: list[str | None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prod_outputs: dict[str, Any],
    capsys: Any,
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(prod_outputs), encoding="utf-8")
    baseline_file = tmp_path / "baseline.json"
    baseline_file.write_text(baseline.model_dump_json(), encoding="utf-8")
    declared = prod_outputs["endpoints"]["fraud"]["capture_table"]
    table = CaptureTable(declared["database"], declared["table"], declared["workgroup"])
    client = athena_client()
    stubber = Stubber(client)
    started(stubber, baseline, table)
    polled(stubber, execution("SUCCEEDED", scanned=2_000_000))
    results(stubber, answer_row)
    stubber.activate()
    monkeypatch.setattr(Aws, "client", lambda self, service, **_: client if service == "athena" else None)
    report = tmp_path / "report.json"
    command = ["drift", "--stack", "prod", "--outputs", str(outputs), "--endpoint", "fraud", "--engine", "athena"]
    window = ["--start", WINDOW.start.isoformat(), "--end", WINDOW.end.isoformat()]

    assert main([*command, *window, "--baseline", str(baseline_file), "--json", str(report)]) == EXIT_FAILED

    printed = capsys.readouterr().out
    assert f"drift query on athena (query {EXECUTION_ID}, 2.0 MB scanned in {table.workgroup})" in printed
    document = json.loads(report.read_text(encoding="utf-8"))
    assert (document["engine"], document["requests"], document["verdict"]) == ("athena", 900, "drift")
    stubber.assert_no_pending_responses()


def test_drift_on_athena_without_a_declared_table_exits_2(
    baseline: Baseline, tmp_path: Path, prod_outputs: dict[str, Any], capsys: Any
) -> None:
    del prod_outputs["endpoints"]["fraud"]["capture_table"]
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(prod_outputs), encoding="utf-8")
    baseline_file = tmp_path / "baseline.json"
    baseline_file.write_text(baseline.model_dump_json(), encoding="utf-8")
    command = ["drift", "--stack", "prod", "--outputs", str(outputs), "--endpoint", "fraud", "--engine", "athena"]

    assert main([*command, "--baseline", str(baseline_file)]) == EXIT_USAGE
    assert "lack endpoints.fraud.capture_table (database, table, workgroup)" in capsys.readouterr().err


def test_a_window_older_than_the_projected_hours_exits_2_before_any_query(
    baseline: Baseline, tmp_path: Path, prod_outputs: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """The table projects its hours a year back: Athena would read nothing of an older window and answer "too
    little data"; drift says why instead, and asks Athena nothing (the Stubber holds no answer)."""
    declared = prod_outputs["endpoints"]["fraud"]["capture_table"]
    assert declared["projected_hours_range"] == "NOW-1YEARS,NOW"
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(prod_outputs), encoding="utf-8")
    baseline_file = tmp_path / "baseline.json"
    baseline_file.write_text(baseline.model_dump_json(), encoding="utf-8")
    client = athena_client()
    monkeypatch.setattr(Aws, "client", lambda self, service, **_: client)
    start = datetime.now(UTC) - timedelta(days=367)
    command = ["drift", "--stack", "prod", "--outputs", str(outputs), "--endpoint", "fraud", "--engine", "athena"]
    window = ["--start", start.isoformat(), "--end", (start + timedelta(hours=6)).isoformat()]

    with Stubber(client) as stubber:
        assert main([*command, *window, "--baseline", str(baseline_file)]) == EXIT_USAGE
        stubber.assert_no_pending_responses()

    error = capsys.readouterr().err
    assert "before the oldest hour the capture table modelplane_prod.fraud_prod_capture projects" in error
    assert "range NOW-1YEARS,NOW" in error and "use --engine duckdb" in error


@pytest.mark.parametrize(
    ("hours_range", "now", "oldest"),
    [
        ("NOW-1YEARS,NOW", datetime(2028, 2, 29, 13, 45, tzinfo=UTC), datetime(2027, 2, 28, 13, tzinfo=UTC)),
        ("NOW - 3 MONTHS , NOW", datetime(2026, 5, 31, 0, 5, tzinfo=UTC), datetime(2026, 2, 28, 0, tzinfo=UTC)),
        ("NOW-36HOURS,NOW", datetime(2026, 11, 2, 12, 30, tzinfo=UTC), datetime(2026, 11, 1, 0, tzinfo=UTC)),
        ("now-2weeks,now", datetime(2026, 11, 15, 1, tzinfo=UTC), datetime(2026, 11, 1, 1, tzinfo=UTC)),
        ("2026/01/01/00,NOW", datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_the_oldest_projected_hour_reads_athenas_range(hours_range: str, now: datetime, oldest: datetime) -> None:
    assert athena.oldest_projected_hour(hours_range, now) == oldest


def test_a_projected_range_it_cannot_read_is_refused() -> None:
    with pytest.raises(AthenaError, match="cannot read the capture table's projected range 'LAST YEAR,NOW'"):
        athena.oldest_projected_hour("LAST YEAR,NOW", datetime(2026, 11, 2, tzinfo=UTC))
