"""`modelplane drift --engine athena`: the drift query on Athena, over the Glue table the stack declares.

The table (`modelplane_components.capture_queries`) projects its partitions from the capture keys, so
the query names the variants and hours it reads and Athena lists nothing else. It runs in the stack's
workgroup, whose settings Athena enforces: the results' place and encryption, and a limit on the bytes a
query may scan, past which Athena cancels it. The client starts the query, polls until it ends and reads
the one result row through GetQueryResults.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from modelplane_components.naming import CAPTURE_HOUR_FORMAT, DEFAULT_PROJECTED_HOURS_RANGE

from modelplane.drift.baseline import Baseline
from modelplane.drift.query import WindowAggregates, aggregates_from, literal, trino_sql
from modelplane.errors import BadInput
from modelplane.timewindow import Window, iso

POLL_SECONDS = 2.0
# Athena's own limit for a DML query is 30 minutes by default; give up a little later.
TIMEOUT_SECONDS = 35 * 60
FINISHED = {"SUCCEEDED", "FAILED", "CANCELLED"}
# A relative bound of a projected date range (Athena's partition projection): NOW, or NOW plus or minus an amount.
_RELATIVE = re.compile(
    r"\s*NOW\s*(?:(?P<sign>[+-])\s*(?P<amount>[0-9]+)\s*(?P<unit>YEAR|MONTH|WEEK|DAY|HOUR|MINUTE|SECOND)S?\s*)?",
    re.IGNORECASE,
)


class AthenaError(BadInput):
    """The query failed, was cancelled or cannot be asked (exit 2); the message says why. An error of the Athena
    API itself propagates as it is (`modelplane.commands.outcome_of` names the operation)."""


@dataclass(frozen=True)
class CaptureTable:
    """Where the stack's outputs say an endpoint's capture can be queried."""

    database: str
    table: str
    workgroup: str
    projected_hours_range: str = DEFAULT_PROJECTED_HOURS_RANGE
    """The hours the table's partitions project (Athena's syntax); stacks deployed before it was an output
    project the default."""


@dataclass(frozen=True)
class AthenaRun:
    aggregates: WindowAggregates
    query_execution_id: str
    scanned_bytes: int


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
WHERE variant IN ({", ".join(map(literal, variants))})
  AND hour BETWEEN {literal(first)} AND {literal(last)}"""  # noqa: S608 - names and values are quoted


def query_text(table: CaptureTable, variants: Sequence[str], window: Window, baseline: Baseline) -> str:
    return trino_sql(baseline, window, source(table, variants, window))


def oldest_projected_hour(hours_range: str, now: datetime) -> datetime:
    """The first hour a projected range holds at `now`: its lower bound, absolute (`yyyy/MM/dd/HH`) or relative
    (`NOW-1YEARS`), to the hour."""
    lower = hours_range.split(",", maxsplit=1)[0]
    match = _RELATIVE.fullmatch(lower)
    if match is None:
        try:
            return datetime.strptime(lower.strip(), CAPTURE_HOUR_FORMAT).replace(tzinfo=UTC)
        except ValueError as error:
            raise AthenaError(
                f"cannot read the capture table's projected range {hours_range!r} (Athena's `NOW-1YEARS,NOW` or "
                "`2026/01/01/00,NOW`)"
            ) from error
    amount = int(match["amount"] or 0) * (-1 if match["sign"] == "-" else 1)
    unit = (match["unit"] or "hour").lower()
    if unit in {"year", "month"}:
        moment = _plus_months(now, amount * (12 if unit == "year" else 1))
    else:
        moment = now + timedelta(**{f"{unit}s": amount})
    return moment.replace(minute=0, second=0, microsecond=0)


def _plus_months(moment: datetime, months: int) -> datetime:
    """`moment` `months` later, the day clamped to the month's last (as Java's plusMonths, which Athena uses)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def check_projected(table: CaptureTable, window: Window, now: datetime) -> None:
    """Refuse a window that starts before the table's projected hours: Athena would read nothing there."""
    oldest = oldest_projected_hour(table.projected_hours_range, now)
    if window.start < oldest:
        raise AthenaError(
            f"the window starts at {iso(window.start)}, before the oldest hour the capture table "
            f"{table.database}.{table.table} projects ({iso(oldest)}, range {table.projected_hours_range}): Athena "
            "would read none of that capture. Judge a later window, or use --engine duckdb, which reads the "
            "capture files themselves"
        )


def judge(
    athena: Any,
    table: CaptureTable,
    *,
    variants: Sequence[str],
    window: Window,
    baseline: Baseline,
    now: datetime,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> AthenaRun:
    """Run the drift query in the table's workgroup and read its answer; a window the table does not project
    is refused before any query runs."""
    check_projected(table, window, now)
    started = athena.start_query_execution(
        QueryString=query_text(table, variants, window, baseline),
        QueryExecutionContext={"Database": table.database},
        WorkGroup=table.workgroup,
    )
    execution_id = started["QueryExecutionId"]
    execution = _wait(athena, execution_id, sleep, clock)
    rows = _result_rows(athena, execution_id)
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
