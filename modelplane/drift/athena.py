"""`modelplane drift --engine athena`: the drift query on Athena, over the Glue table the stack declares.

The table (`modelplane_components.capture_queries`) projects its partitions from the capture keys, so
the query names the variants and hours it reads and Athena lists nothing else. It runs in the stack's
workgroup, whose settings Athena enforces: the results' place and encryption, and a limit on the bytes a
query may scan, past which Athena cancels it. The client starts the query, polls until it ends and reads
the one result row through GetQueryResults.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from modelplane_components.naming import CAPTURE_HOUR_FORMAT

from modelplane.aws import AWS_ERRORS, error_text
from modelplane.drift.baseline import Baseline
from modelplane.drift.query import WindowAggregates, aggregates_from, trino_sql
from modelplane.errors import BadInput
from modelplane.timewindow import Window

POLL_SECONDS = 2.0
# Athena's own limit for a DML query is 30 minutes by default; give up a little later.
TIMEOUT_SECONDS = 35 * 60
FINISHED = {"SUCCEEDED", "FAILED", "CANCELLED"}


class AthenaError(BadInput):
    """The query could not run or failed (exit 2); the message says why."""


@dataclass(frozen=True)
class CaptureTable:
    """Where the stack's outputs say an endpoint's capture can be queried."""

    database: str
    table: str
    workgroup: str


@dataclass(frozen=True)
class AthenaRun:
    aggregates: WindowAggregates
    query_execution_id: str
    scanned_bytes: int


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def source(table: CaptureTable, variants: Sequence[str], window: Window) -> str:
    """The capture lines of `variants` in the hours the window overlaps, from the projected partitions."""
    hours = window.hours()
    first, last = (f"{hour:{CAPTURE_HOUR_FORMAT}}" for hour in (hours[0], hours[-1]))
    return f"""SELECT
  "$path" AS file,
  eventmetadata.eventid AS event_id,
  eventmetadata.inferencetime AS inference_time,
  capturedata.endpointinput IS NOT NULL AS has_input,
  capturedata.endpointinput.observedcontenttype AS content_type,
  capturedata.endpointinput.encoding AS encoding,
  capturedata.endpointinput.data AS data
FROM {_identifier(table.database)}.{_identifier(table.table)}
WHERE variant IN ({", ".join(map(_literal, variants))})
  AND hour BETWEEN {_literal(first)} AND {_literal(last)}"""  # noqa: S608 - names and values are quoted


def query_text(table: CaptureTable, variants: Sequence[str], window: Window, baseline: Baseline) -> str:
    return trino_sql(baseline, window, source(table, variants, window))


def judge(
    athena: Any,
    table: CaptureTable,
    *,
    variants: Sequence[str],
    window: Window,
    baseline: Baseline,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> AthenaRun:
    """Run the drift query in the table's workgroup and read its answer."""
    try:
        started = athena.start_query_execution(
            QueryString=query_text(table, variants, window, baseline),
            QueryExecutionContext={"Database": table.database},
            WorkGroup=table.workgroup,
        )
        execution_id = started["QueryExecutionId"]
        execution = _wait(athena, execution_id, sleep, clock)
        rows = _result_rows(athena, execution_id)
    except AWS_ERRORS as error:
        raise AthenaError(f"Athena ({table.workgroup}): {error_text(error)}") from None
    if len(rows) != 1:
        raise AthenaError(f"Athena query {execution_id} answered {len(rows)} rows, not the one aggregate row")
    scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0))
    return AthenaRun(aggregates_from(tuple(rows[0]), baseline), execution_id, scanned)


def _wait(athena: Any, execution_id: str, sleep: Callable[[float], None], clock: Callable[[], float]) -> dict[str, Any]:
    deadline = clock() + TIMEOUT_SECONDS
    while True:
        execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
        status = execution["Status"]
        state = status["State"]
        if state == "SUCCEEDED":
            return execution
        if state in FINISHED:
            raise AthenaError(_failure(execution_id, execution, status))
        if clock() > deadline:
            athena.stop_query_execution(QueryExecutionId=execution_id)
            raise AthenaError(
                f"Athena query {execution_id} still {state} after {TIMEOUT_SECONDS // 60} minutes; stopped it"
            )
        sleep(POLL_SECONDS)


def _failure(execution_id: str, execution: dict[str, Any], status: dict[str, Any]) -> str:
    error = status.get("AthenaError", {})
    reason = " ".join(str(error.get("ErrorMessage") or status.get("StateChangeReason") or "no reason given").split())
    scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0))
    if status["State"] == "CANCELLED" and ("limit" in reason.lower() or "scanned" in reason.lower()):
        return (
            f"Athena cancelled query {execution_id} after scanning {scanned / 1e9:.2f} GB: the workgroup's per-query "
            f"scan limit stops it ({reason}). Judge a shorter window, or raise monitoring.drift_query_scan_limit_gb"
        )
    return f"Athena query {execution_id} {status['State'].lower()}: {reason}"


def _result_rows(athena: Any, execution_id: str) -> list[list[str | None]]:
    """Every row but the header, each cell's text (None for a null)."""
    rows: list[list[str | None]] = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id):
        rows += [[datum.get("VarCharValue") for datum in row["Data"]] for row in page["ResultSet"]["Rows"]]
    return rows[1:]
