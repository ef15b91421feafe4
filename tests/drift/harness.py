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
import binascii
import codecs
import csv
import hashlib
import io
import json
import math
import re
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
from modelplane.drift.query import (
    DUPLICATE_KEY,
    KS_SAMPLE_SIZE,
    NOT_A_RECORD,
    FeatureAggregate,
    WindowAggregates,
    duckdb_sql,
)
from modelplane.timewindow import Window
from modelplane_serving import payloads
from modelplane_serving.payloads import PayloadError, Row

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
    "json null after an object": payload("application/json", '[{"a": 1}, null]', "JSON"),
    "json null after a row": payload("application/json", '[[1, "x"], null]', "JSON"),
    "json row with a null": payload("application/json", "[1, null]", "JSON"),
    "json rows of nulls": payload("application/json", '{"instances": [[null, "x"], [2, null]]}', "JSON"),
    "json objects and lists as values": payload(
        "application/json", '[{"a": [1], "b": [1, 2]}, {"b": {"y": 2}}]', "JSON"
    ),
    "json numbers as categories": payload(
        "application/jsonlines",
        '{"b": 1e18}\n{"b": 1e19}\n{"b": 12345678901234567890}\n{"b": -0}\n{"b": 0.1}\n{"b": 1.5e-7}\n'
        '{"b": 1e400}\n{"b": NaN}\n{"b": -Infinity}\n{"a": NaN}\n{"a": 1e400}',
        "JSON",
    ),
    "json trailing comma": payload("application/json", '{"a": 1, "b": "x",}', "JSON"),
    "json comma and bracket in a string": payload("application/json", '{"a": 1, "b": ",]"}', "JSON"),
    "json lines, the first problem first": payload(
        "application/jsonlines", '[[1, 2, 3]]\nnope\n{"a": 1, "a": 2}', "JSON"
    ),
    "json lines split where Python splits lines": payload(
        "application/jsonlines", '{"a": 1, "b": "x\u2028y"}\n{"a": 2}\x85{"a": 3}', "JSON"
    ),
    "json lines split at every line break Python knows": payload(
        "application/jsonlines", '{"a": 1}\x85{"a": 2}\u2029{"a": 3}\x0c{"a": 4}\r{"a": 5}', "JSON"
    ),
    "json lines with blank lines of other whitespace": payload(
        "application/jsonlines", '{"a": 1}\n\t\u00a0\u3000\n{"a": 2}\n', "JSON"
    ),
    "csv unterminated quote": payload("text/csv", '1,"x', "CSV"),
    "csv quoted line break": payload("text/csv", '1,"x\ny"\r\n2,"a,""b"""\n', "CSV"),
    "csv quotes inside fields": payload("text/csv", 'a"b,x\n"a"b"c",d\n 1, "x"', "CSV"),
    "csv carriage return inside a line": payload("text/csv", "1,x\r2,y", "CSV"),
    "csv the first problem first": payload("text/csv", "1,x,3\n1,x\r2,y", "CSV"),
    "csv field over the reader's limit": payload("text/csv", "1," + "x" * 131_073, "CSV"),
    "csv numbers Python reads": payload("text/csv", "1_000,x\n 1.5\t,x\n.5,x\n1.,x\n1e1_0,x\n+2,x", "CSV"),
    "csv numbers Python does not read": payload("text/csv", "1.5d,x\n0x10,x\n1__0,x\n_1,x\ninf,x\nnan,x", "CSV"),
    "csv digits of another script": payload("text/csv", "\u0661\u0662,x", "CSV"),
    "content type with spaces and tabs": payload("\tText/CSV ; charset=utf-8", "1,x", "CSV"),
}

# Payloads the server reads but drift refuses, by its documented rules (docs/monitoring.md): SQL cannot read
# them as Python does. Each is skipped with its reason.
REFUSED_PAYLOADS = {
    "json duplicate key": payload("application/json", '{"a": 1, "a": 2, "b": "x"}', "JSON"),
    "json duplicate key in a row of a list": payload("application/json", '[{"a": 1}, {"b": "x", "b": "y"}]', "JSON"),
    "json duplicate key in the instances wrapper": payload(
        "application/json", '{"instances": [[1, "x"]], "instances": [[2, "y"]]}', "JSON"
    ),
    "json unpaired surrogate": payload("application/json", '{"a": 1, "b": "\\ud800"}', "JSON"),
}


def capture_line(row: dict[str, Any], when: datetime, style: str, *, event_id: str | None = None) -> str:
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
    return json.dumps(capture_record(endpoint_input, when, event_id=event_id))


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
#
# drift's reading of captured requests, in Python: the record as DuckDB's reader takes it, the payload by
# the server's own parser (`modelplane_serving.payloads`), then drift's documented refusals and value rules
# (docs/monitoring.md, "What drift reads").


def file_lines(content: bytes) -> list[str | None]:
    """A capture file's lines as DuckDB's reader splits them: at line feeds, a byte order mark at the start of
    the file ignored; None for a line that is not UTF-8 (not a capture record)."""
    lines: list[str | None] = []
    for line in content.removeprefix(codecs.BOM_UTF8).split(b"\n"):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(None)
    return lines


def as_text(value: Any) -> str | None:
    """A record field as the reader's text column holds it: a string as it is, anything else as its JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def request_text(captured: dict[str, Any]) -> str:
    """The request body of one captured `endpointInput`, decoded by its `encoding`."""
    encoding = (as_text(captured.get("encoding")) or "").upper()
    data = as_text(captured.get("data"))
    if data is None:
        raise PayloadError("no data (was only the output captured?)")
    if encoding == "BASE64":
        try:
            return base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise PayloadError("BASE64 data that is not UTF-8 text") from None
    if encoding in {"CSV", "JSON"}:
        return data
    raise PayloadError(f"unknown encoding {encoding or '(none)'}")


def served_body(captured: dict[str, Any]) -> bytes | None:
    """The body the client sent, when the capture holds one (not for no data, an unknown encoding, bad base64)."""
    try:
        return request_text(captured).encode()
    except PayloadError:
        return None


def payload_rows(captured: dict[str, Any], columns: list[str]) -> list[Row]:
    """The feature rows of one captured `endpointInput`: the server's rows, unless drift refuses a JSON document
    the server would read (a duplicate key, an unpaired surrogate), checked document by document in order."""
    text = request_text(captured)
    content_type = as_text(captured.get("observedContentType")) or ""
    kind = payloads.media_type(content_type)
    if kind in payloads.JSON_TYPES:
        documents = [text]
    elif kind in payloads.JSON_LINES_TYPES:
        documents = [line for line in payloads.LINE_BREAK.split(text) if line.strip()]
    else:
        return payloads.rows(text, content_type, columns)
    return [row for document in documents for row in _document_rows(document, kind, columns)]


def _document_rows(document: str, kind: str, columns: list[str]) -> list[Row]:
    """`payloads.rows` of one JSON document, after drift's own refusals."""
    try:
        parsed = json.loads(document, object_pairs_hook=_Object)
    except json.JSONDecodeError:
        raise PayloadError(f"{kind} data that is not JSON") from None
    if _unpaired_surrogate(document, parsed):
        raise PayloadError(f"{kind} data that is not JSON")
    if _has_duplicate_key(parsed):
        raise PayloadError(DUPLICATE_KEY)
    return payloads.rows(document, "application/json", columns)


class _Object(dict[str, Any]):
    """A JSON object that remembers whether a key was given twice."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.duplicated = len(self) < len(pairs)


def _has_duplicate_key(document: Any) -> bool:
    """A key given twice in an object drift reads by name: the `instances` wrapper, or a row."""
    if isinstance(document, _Object) and isinstance(document.get("instances"), list):
        if document.duplicated:
            return True
        document = document["instances"]
    rows: list[Any] = [document] if isinstance(document, dict) else document if isinstance(document, list) else []
    objects = [row for row in rows if isinstance(row, _Object)]
    return bool(rows) and len(objects) == len(rows) and any(row.duplicated for row in objects)


def _unpaired_surrogate(text: str, parsed: Any) -> bool:
    """A string holding half of a UTF-16 surrogate pair (`"\ud800"`): Python reads it, DuckDB refuses it."""
    if not re.search(r"\\u[dD][89a-fA-F]", text):
        return False
    try:
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def row_hash(request: str, ordinal: int) -> int:
    """The key the query ranks a row by: the first 8 bytes of the MD5 digest of `<request>#<ordinal>` (the
    request's event id, its row's ordinal from 1), big-endian and signed, as Trino's `from_big_endian_64`."""
    digest = hashlib.md5(f"{request}#{ordinal}".encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _record(line: str) -> tuple[dict[str, Any], dict[str, Any], datetime] | None:
    """A capture record's metadata, endpoint input and inference time; None for a line that is not a record."""
    try:
        record = json.loads(line)
        metadata = record["eventMetadata"]
        endpoint_input = record["captureData"]["endpointInput"]
        inferred = datetime.fromisoformat(str(metadata["inferenceTime"]))
    except (ValueError, KeyError, TypeError):
        return None
    if endpoint_input is None or _unpaired_surrogate(line, record):
        return None
    # An `endpointInput` that is no object is an input without fields.
    return metadata, endpoint_input if isinstance(endpoint_input, dict) else {}, inferred


def reference_rows(
    lines: Iterable[str | None], window: Window, columns: list[str]
) -> tuple[list[tuple[int, Row]], WindowAggregates]:
    """Every row of the window's requests with its key, and the request counts and skip reasons; a None line is
    one that is not UTF-8 (`file_lines`)."""
    totals = WindowAggregates()
    rows: list[tuple[int, Row]] = []
    for line in lines:
        if line is not None and not line.strip():
            continue
        record = None if line is None else _record(line)
        if record is None:
            totals.skipped[NOT_A_RECORD] += 1
            continue
        metadata, endpoint_input, inferred = record
        if inferred.replace(tzinfo=inferred.tzinfo or UTC) not in window:
            continue
        totals.requests += 1
        try:
            found = payload_rows(endpoint_input, columns)
        except PayloadError as error:
            totals.skipped[str(error)] += 1
            continue
        # The query's coalesce(event_id, data, ''): a request without an event id is known by its payload.
        request = next(
            (text for key in ("eventId", "data") if (text := as_text((metadata | endpoint_input).get(key)))), ""
        )
        rows += [(row_hash(request, ordinal), row) for ordinal, row in enumerate(found, start=1)]
    return rows, totals


def reference_aggregates(lines: Iterable[str | None], window: Window, baseline: Baseline) -> WindowAggregates:
    """What the drift query answers, computed in Python from every row, all values kept."""
    rows, result = reference_rows(lines, window, baseline.columns)
    return aggregate_rows(rows, baseline, result)


def aggregate_rows(
    rows: list[tuple[int, Row]], baseline: Baseline, result: WindowAggregates | None = None
) -> WindowAggregates:
    """The aggregates of keyed rows, by drift's value rules (`as_number`, `as_category`)."""
    result = result or WindowAggregates()
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
            categories = [category for _, value in carried if (category := as_category(value)) is not None]
            aggregate.buckets.update(categories)
            aggregate.values = len(categories)
    return result


def as_number(value: object) -> float | None:
    """A value's number: a finite float of a JSON number, or of a string Python's float() reads in ASCII digits."""
    if isinstance(value, str):
        value = value.strip()
        if not value.isascii():
            return None
    elif not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def as_category(value: object) -> str | None:
    """A value's category: `category_text` of a scalar; none for null, an empty string, an object or a list."""
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return category_text(value)


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
