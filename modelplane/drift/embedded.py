"""The embedded drift engine: the drift query on DuckDB, in this process, over capture files.

DuckDB reads the JSON Lines files itself (`read_json`, streamed; a line that is no JSON object becomes a
row of nulls, which the query counts) and only the aggregates come back to Python. Files are read in
batches of at most `BATCH_BYTES` whose partial results are added up (`WindowAggregates.merge`): memory
stays bounded whatever the window holds, as DuckDB holds a batch's intermediate rows.

Capture in S3 is downloaded batch by batch into a temporary directory and deleted after its batch:
DuckDB's own S3 reader (the httpfs extension) is downloaded from DuckDB's extension repository at run
time and takes no credentials from boto3's chain (SSO, assumed roles, web identity, an emulator);
boto3 streams each object to disk, so neither Python nor DuckDB holds a file in memory, and the disk
holds at most two batches (one read while the next downloads).
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from modelplane.aws import AWS_ERRORS, error_text
from modelplane.drift.baseline import Baseline
from modelplane.drift.capture import CaptureError, hour_prefix
from modelplane.drift.query import DUCKDB_MACROS, WindowAggregates, aggregates_from, duckdb_sql, literal, trino_sql
from modelplane.timewindow import Window

T = TypeVar("T")
BATCH_BYTES = 128 * 1024 * 1024
# DuckDB's share of the process: its buffers spill or fail beyond this, the rest is Python's.
MEMORY_LIMIT = "512MB"
DOWNLOAD_THREADS = 8
# SageMaker captures payloads of up to 6 MB (25 MB for asynchronous inference), base64-encoded in the line.
MAX_LINE_BYTES = 64 * 1024 * 1024
_RECORD_COLUMNS = {
    "captureData": "STRUCT(endpointInput STRUCT(observedContentType VARCHAR, encoding VARCHAR, data VARCHAR))",
    "eventMetadata": "STRUCT(eventId VARCHAR, inferenceTime VARCHAR)",
}
# What the drift query reads from DuckDB (`_lines_view` defines `capture_lines` for each batch).
SOURCE = "SELECT file, event_id, inference_time, has_input, content_type, encoding, data FROM capture_lines"


def _lines_view(files: Sequence[Path]) -> str:
    columns = "{" + ", ".join(f"{literal(name)}: {literal(kind)}" for name, kind in _RECORD_COLUMNS.items()) + "}"
    paths = "[" + ", ".join(literal(str(path)) for path in files) + "]"
    return f"""
CREATE OR REPLACE TEMP VIEW capture_lines AS
SELECT
  filename AS file,
  eventMetadata.eventId AS event_id,
  eventMetadata.inferenceTime AS inference_time,
  captureData.endpointInput IS NOT NULL AS has_input,
  captureData.endpointInput.observedContentType AS content_type,
  captureData.endpointInput.encoding AS encoding,
  captureData.endpointInput.data AS data
FROM read_json({paths}, format = 'newline_delimited', columns = {columns}, ignore_errors = true,
  filename = true, maximum_object_size = {MAX_LINE_BYTES})
"""  # noqa: S608 - paths are quoted literals


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session in UTC (times without a zone are UTC, as in SageMaker's capture)."""
    connection = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "preserve_insertion_order": False})
    connection.execute("SET TimeZone = 'UTC'")
    # DuckDB draws a progress bar on standard output for a long query; the command's output is the report.
    connection.execute("SET enable_progress_bar = false")
    if threads is not None:
        connection.execute(f"SET threads = {int(threads)}")
    for macro in DUCKDB_MACROS:
        connection.execute(macro)
    return connection


def batches(items: Sequence[T], size_of: Callable[[T], int], limit: int) -> Iterator[list[T]]:
    """Consecutive items, at most `limit` bytes a batch (a larger item is a batch of its own)."""
    batch: list[T] = []
    size = 0
    for item in items:
        length = size_of(item)
        if batch and size + length > limit:
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += length
    if batch:
        yield batch


def judge_files(
    files: Sequence[Path], baseline: Baseline, window: Window, *, threads: int | None = None
) -> WindowAggregates:
    """The drift query over local capture files."""
    with connect(threads) as connection:
        return judge_files_in(connection, files, baseline, window)


def judge_files_in(
    connection: duckdb.DuckDBPyConnection, files: Sequence[Path], baseline: Baseline, window: Window
) -> WindowAggregates:
    """The drift query over local capture files in an open session (`connect`), which may judge other windows
    before and after: opening and closing a DuckDB database costs more than judging a small window."""
    query = _parsed(duckdb_sql(trino_sql(baseline, window, SOURCE)))
    total = WindowAggregates()
    for batch in batches(files, lambda path: path.stat().st_size, BATCH_BYTES):
        total.merge(_run(connection, query, batch, baseline))
    return total


@functools.lru_cache(maxsize=16)
def _parsed(query: str) -> duckdb.Statement:
    """The query as DuckDB parses it, kept for the texts last parsed: parsing takes about 5 ms of the 30 ms DuckDB
    spends on a small batch, and every batch of a window, and every window of one baseline a process judges (the
    tests judge hundreds), would parse the same text again. Parsing binds nothing, so a parsed statement runs on
    any session."""
    (statement,) = duckdb.extract_statements(query)
    return statement


def _run(
    connection: duckdb.DuckDBPyConnection, query: duckdb.Statement, files: Sequence[Path], baseline: Baseline
) -> WindowAggregates:
    try:
        connection.execute(_lines_view(files))
        row = connection.execute(query).fetchone()
    except duckdb.IOException as error:
        raise CaptureError(f"cannot read the capture files: {error}") from error
    assert row is not None, "an aggregate without GROUP BY answers one row"
    return aggregates_from(row, baseline)


@dataclass(frozen=True)
class CaptureObject:
    key: str
    size: int


def capture_objects(
    s3: Any, bucket: str, *, endpoint_name: str, variants: Sequence[str], window: Window
) -> list[CaptureObject]:
    """The capture files of `variants` in the hours the window overlaps."""
    found: list[CaptureObject] = []
    for variant in variants:
        for hour in window.hours():
            prefix = hour_prefix(endpoint_name, variant, hour)
            try:
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                    found += [
                        CaptureObject(entry["Key"], int(entry["Size"]))
                        for entry in page.get("Contents", [])
                        if entry["Key"].endswith(".jsonl")
                    ]
            except AWS_ERRORS as error:
                raise CaptureError(f"s3://{bucket}/{prefix}: {error_text(error)}") from error
    return found


def judge_bucket(
    s3: Any,
    bucket: str,
    *,
    endpoint_name: str,
    variants: Sequence[str],
    window: Window,
    baseline: Baseline,
    threads: int | None = None,
) -> WindowAggregates:
    """The drift query over the window's capture files in the artifact bucket, batch by batch; the next batch
    downloads while DuckDB reads the current one."""
    objects = capture_objects(s3, bucket, endpoint_name=endpoint_name, variants=variants, window=window)
    total = WindowAggregates()
    directory = Path(tempfile.mkdtemp(prefix="modelplane-drift-"))
    try:
        with connect(threads) as connection, ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
            query = _parsed(duckdb_sql(trino_sql(baseline, window, SOURCE)))

            def download(batch: list[CaptureObject] | None) -> list[Future[Path]] | None:
                if batch is None:
                    return None
                return [pool.submit(_fetch, s3, bucket, item.key, directory) for item in batch]

            remaining = batches(objects, lambda item: item.size, BATCH_BYTES)
            current = download(next(remaining, None))
            while current is not None:
                files = [future.result() for future in current]
                current = download(next(remaining, None))
                total.merge(_run(connection, query, files, baseline))
                for path in files:
                    path.unlink()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return total


def _fetch(s3: Any, bucket: str, key: str, directory: Path) -> Path:
    """One object streamed to a file (boto3's transfer manager writes it in chunks)."""
    path = directory / key.replace("/", "_")
    try:
        s3.download_file(bucket, key, str(path))
    except AWS_ERRORS as error:
        raise CaptureError(f"s3://{bucket}/{key}: {error_text(error)}") from error
    return path
