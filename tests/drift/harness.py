"""What the drift tests share: synthetic transactions, capture lines in SageMaker's format, and the reference.

The reference is `modelplane drift`'s former reader, kept here as the yardstick the SQL is held to: it
reads every line with `json.loads`, turns each payload into rows with `payload_rows` (the parsing
rules), and aggregates the rows in Python, every value kept, each with the key the query ranks it by
(`row_hash`). The drift query must agree with it: exactly on counts, bins, categories and the sample
(the values of the `KS_SAMPLE_SIZE` smallest keys), and on the Kolmogorov-Smirnov test within the
sample's tolerance where the window holds more values than the sample.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import math
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelplane.drift import embedded
from modelplane.drift.athena import CaptureTable
from modelplane.drift.baseline import Baseline, NumericFeature, category_text
from modelplane.drift.capture import PayloadError, Row, payload_rows
from modelplane.drift.query import KS_SAMPLE_SIZE, NOT_A_RECORD, FeatureAggregate, WindowAggregates, duckdb_sql
from modelplane.timewindow import Window

COLUMNS = ["amount", "merchant_risk", "country", "channel"]
COUNTRIES = (["IE", "FR", "DE", "ES"], [0.4, 0.3, 0.2, 0.1])


def transactions(rows: int, seed: int, *, drifted: bool = False) -> pd.DataFrame:
    """Synthetic card transactions; drifted ones are larger, riskier and partly from a new country."""
    random = np.random.default_rng(seed)
    countries, shares = COUNTRIES
    if drifted:
        countries, shares = [*countries, "BR"], [0.25, 0.25, 0.15, 0.1, 0.25]
    return pd.DataFrame(
        {
            "amount": np.round(random.lognormal(4.0 + (0.5 if drifted else 0), 0.8, rows), 2),
            "merchant_risk": np.round(random.normal(0.3 + (0.15 if drifted else 0), 0.1, rows), 4),
            "country": random.choice(countries, rows, p=shares),
            "channel": random.choice(["web", "app"], rows, p=[0.6, 0.4]),
            "label": random.integers(0, 2, rows),
        }
    )


def requests_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows a caller would send: every column but the label."""
    return [
        {str(key): value for key, value in row.items()}
        for row in frame.drop(columns=["label"]).to_dict(orient="records")
    ]


def capture_record(
    endpoint_input: dict[str, Any] | None, when: datetime, *, event_id: str | None = None
) -> dict[str, Any]:
    """One captured request as SageMaker writes it, with any `endpointInput` (None leaves it out)."""
    capture: dict[str, Any] = {
        "endpointOutput": {
            "observedContentType": "application/json",
            "mode": "OUTPUT",
            "data": base64.b64encode(b'{"score": 0.12}').decode(),
            "encoding": "BASE64",
        }
    }
    if endpoint_input is not None:
        capture["endpointInput"] = endpoint_input
    return {
        "captureData": capture,
        "eventMetadata": {
            "eventId": event_id or str(uuid.uuid4()),
            "inferenceTime": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        },
        "eventVersion": "0",
    }


def payload(content_type: str, data: str, encoding: str) -> dict[str, str]:
    return {"observedContentType": content_type, "mode": "INPUT", "data": data, "encoding": encoding}


def capture_line(row: dict[str, Any], when: datetime, style: str) -> str:
    """One request as SageMaker captures it: CSV, JSON or base64-encoded CSV."""
    values = [row[column] for column in COLUMNS]
    if style == "json":
        endpoint_input = payload("application/json", json.dumps({c: row[c] for c in COLUMNS}), "JSON")
    else:
        text = io.StringIO()
        csv.writer(text, lineterminator="").writerow(values)
        endpoint_input = payload("text/csv", text.getvalue(), "CSV")
        if style == "base64":
            endpoint_input = payload("text/csv", base64.b64encode(text.getvalue().encode()).decode(), "BASE64")
    return json.dumps(capture_record(endpoint_input, when))


def write_capture(directory: Path, lines: Iterable[str], *, per_file: int = 250) -> list[Path]:
    """Lines into JSON Lines files of `per_file` lines each, as SageMaker rolls its capture files."""
    directory.mkdir(parents=True, exist_ok=True)
    every = list(lines)
    paths = []
    for start in range(0, len(every), per_file):
        path = directory / f"{start // per_file:05d}-{uuid.uuid4()}.jsonl"
        path.write_text("\n".join(every[start : start + per_file]) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


# --- the reference ------------------------------------------------------------------------------


def row_hash(request: str, ordinal: int) -> int:
    """The key the query ranks a row by: the first 8 bytes of the MD5 digest of `<request>#<ordinal>` (the
    request's event id, its row's ordinal from 1), big-endian and signed, as Trino's `from_big_endian_64`."""
    digest = hashlib.md5(f"{request}#{ordinal}".encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def reference_rows(
    lines: Iterable[str], window: Window, columns: list[str]
) -> tuple[list[tuple[int, Row]], WindowAggregates]:
    """The former reader: every row of the window's requests with its key, and the request counts and skip
    reasons."""
    totals = WindowAggregates()
    rows: list[tuple[int, Row]] = []
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            metadata = record["eventMetadata"]
            endpoint_input = record["captureData"]["endpointInput"]
            inferred = datetime.fromisoformat(str(metadata["inferenceTime"]))
        except (ValueError, KeyError, TypeError):
            totals.skipped[NOT_A_RECORD] += 1
            continue
        if inferred.replace(tzinfo=inferred.tzinfo or UTC) not in window:
            continue
        totals.requests += 1
        try:
            found = payload_rows(endpoint_input, columns)
        except PayloadError as error:
            totals.skipped[str(error)] += 1
            continue
        # The query's coalesce(event_id, data, ''): a request without an event id is known by its payload.
        request = next((str(v) for v in (metadata.get("eventId"), endpoint_input.get("data")) if v is not None), "")
        rows += [(row_hash(request, ordinal), row) for ordinal, row in enumerate(found, start=1)]
    return rows, totals


def reference_aggregates(lines: Iterable[str], window: Window, baseline: Baseline) -> WindowAggregates:
    """What the drift query answers, computed the former way: from every row in Python, all values kept."""
    rows, result = reference_rows(lines, window, baseline.columns)
    result.rows = len(rows)
    for name in baseline.columns:
        carried = [(key, row[name]) for key, row in rows if name in row]
        if not carried:
            continue
        feature = baseline.features[name]
        aggregate = result.features[name] = FeatureAggregate(rows=len(carried))
        if isinstance(feature, NumericFeature):
            keyed = [(key, number) for key, value in carried if (number := as_number(value)) is not None]
            bins = np.searchsorted(feature.bin_edges, [number for _, number in keyed], side="right")
            aggregate.buckets.update(str(int(index)) for index in bins)
            aggregate.sample = keyed
            aggregate.values = len(keyed)
        else:
            categories = [category_text(value) for _, value in carried if value is not None and value != ""]
            aggregate.buckets.update(categories)
            aggregate.values = len(categories)
    return result


def as_number(value: object) -> float | None:
    """The former reader's number of a value: a finite float of anything but a boolean."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # pyright: ignore[reportArgumentType]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def comparable(aggregates: WindowAggregates) -> dict[str, Any]:
    """Everything, the sample as the query draws it: the values of the `KS_SAMPLE_SIZE` smallest keys."""
    return {
        "requests": aggregates.requests,
        "rows": aggregates.rows,
        "skipped": dict(aggregates.skipped),
        "features": {
            name: {
                "rows": feature.rows,
                "values": feature.values,
                "buckets": dict(feature.buckets),
                "sample": sorted(feature.sample)[:KS_SAMPLE_SIZE],
            }
            for name, feature in aggregates.features.items()
        },
    }


# --- Athena's view of the capture ---------------------------------------------------------------


def glue_shaped_table(connection: Any, table: CaptureTable, files: dict[str, list[Path]]) -> None:
    """A DuckDB table shaped as Athena sees the Glue table: OpenX's lower-case struct fields, the
    projected partitions `variant` and `hour`, and the hidden `$path`."""
    connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{table.database}"')
    parts = []
    for variant, paths in files.items():
        for path in paths:
            hour = path.parent.name.replace("-", "/")
            parts.append(
                f"""SELECT
                  {{'endpointinput': {{'observedcontenttype': captureData.endpointInput.observedContentType,
                                      'encoding': captureData.endpointInput.encoding,
                                      'data': captureData.endpointInput.data}}}} AS capturedata,
                  {{'eventid': eventMetadata.eventId, 'inferencetime': eventMetadata.inferenceTime}} AS eventmetadata,
                  's3://bucket/{path.name}' AS "$path", '{variant}' AS variant, '{hour}' AS hour
                FROM read_json('{path}', format = 'newline_delimited', ignore_errors = true, columns = {{
                  'captureData': 'STRUCT(endpointInput STRUCT(observedContentType VARCHAR, encoding VARCHAR, data VARCHAR))',
                  'eventMetadata': 'STRUCT(eventId VARCHAR, inferenceTime VARCHAR)'}})"""  # noqa: S608
            )
    connection.execute(f'CREATE TABLE "{table.database}"."{table.table}" AS ' + " UNION ALL ".join(parts))


def hourly_capture(directory: Path, lines: list[str]) -> dict[str, list[Path]]:
    """Lines in capture files below `<yyyy-mm-dd-hh>/` by their inference time, as SageMaker lays them out."""
    by_hour: dict[str, list[str]] = {}
    for text in lines:
        when = datetime.fromisoformat(json.loads(text)["eventMetadata"]["inferenceTime"])
        by_hour.setdefault(when.strftime("%Y-%m-%d-%H"), []).append(text)
    return {hour: write_capture(directory / hour, texts) for hour, texts in by_hour.items()}


def athena_answer(table: CaptureTable, files: dict[str, list[Path]], text: str) -> tuple[Any, ...]:
    """The row the Athena text answers over a Glue-shaped table of `files` (by variant), on DuckDB."""
    with embedded.connect() as connection:
        glue_shaped_table(connection, table, files)
        row = connection.execute(duckdb_sql(text)).fetchone()
    assert row is not None
    return row
