"""Reading SageMaker's data capture: the JSON Lines files an endpoint writes to the artifact bucket.

Key layout: `<destination>/<endpoint-name>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`, with the
destination `s3://<bucket>/data-capture/<endpoint-name>` (`data_capture_prefix` of
`modelplane_components.naming`).
Each line is one captured request:

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "...", "encoding": "CSV" | "JSON" | "BASE64"},
                     "endpointOutput": {...}},
     "eventMetadata": {"eventId": "...", "inferenceTime": "2026-11-01T10:30:45Z"},
     "eventVersion": "0"}

The payload is decoded by its `encoding` (SageMaker base64-encodes every content type it was not
told is CSV or JSON) and parsed by its `observedContentType` with the model server's own parser
(`modelplane_serving.payloads`): CSV rows in the baseline's column order, a JSON object, a list of
objects or rows, `{"instances": [...]}`, or JSON Lines. Drift sees the rows the model saw.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from modelplane.aws_api import AWS_ERRORS, error_text
from modelplane.timewindow import Window
from modelplane_components.naming import data_capture_prefix
from modelplane_serving.payloads import PayloadError, Row, rows

__all__ = ["CaptureError", "CapturedWindow", "PayloadError", "Row", "payload_rows", "read_window"]


class CaptureError(Exception):
    """The capture files cannot be listed or read (exit 2)."""


@dataclass
class CapturedWindow:
    """The input rows of the captured requests inside the window, and what could not be read."""

    rows: list[Row] = field(default_factory=list)
    requests: int = 0
    """Captured requests in the window (a request may hold several rows)."""
    files: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    """Requests left out, by reason."""


def variant_prefix(endpoint_name: str, variant: str) -> str:
    return f"{data_capture_prefix(endpoint_name)}{endpoint_name}/{variant}/"


def hour_prefix(endpoint_name: str, variant: str, hour: datetime) -> str:
    return f"{variant_prefix(endpoint_name, variant)}{hour:%Y/%m/%d/%H}/"


def read_window(
    s3: Any,
    bucket: str,
    *,
    endpoint_name: str,
    variants: Sequence[str],
    window: Window,
    columns: list[str],
) -> CapturedWindow:
    """Every captured request of `variants` with an `inferenceTime` in the window."""
    captured = CapturedWindow()
    for variant in variants:
        for hour in window.hours():
            for key in _keys(s3, bucket, hour_prefix(endpoint_name, variant, hour)):
                captured.files += 1
                for line in _lines(s3, bucket, key):
                    _add(captured, line, window, columns)
    return captured


def _keys(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            yield from (entry["Key"] for entry in page.get("Contents", []) if entry["Key"].endswith(".jsonl"))
    except AWS_ERRORS as error:
        raise CaptureError(f"s3://{bucket}/{prefix}: {error_text(error)}") from None


def _lines(s3: Any, bucket: str, key: str) -> list[str]:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except AWS_ERRORS as error:
        raise CaptureError(f"s3://{bucket}/{key}: {error_text(error)}") from None
    return [line for line in body.decode("utf-8", errors="replace").splitlines() if line.strip()]


def _add(captured: CapturedWindow, line: str, window: Window, columns: list[str]) -> None:
    try:
        record = json.loads(line)
        metadata = record["eventMetadata"]
        endpoint_input = record["captureData"]["endpointInput"]
        inferred = datetime.fromisoformat(str(metadata["inferenceTime"]))
    except (ValueError, KeyError, TypeError):
        captured.skipped["not a SageMaker capture record"] += 1
        return
    if inferred.replace(tzinfo=inferred.tzinfo or UTC) not in window:
        return
    captured.requests += 1
    try:
        captured.rows += payload_rows(endpoint_input, columns)
    except PayloadError as error:
        captured.skipped[str(error)] += 1


def payload_rows(captured: dict[str, Any], columns: list[str]) -> list[Row]:
    """The feature rows of one captured `endpointInput`."""
    encoding = str(captured.get("encoding", "")).upper()
    data = captured.get("data")
    if not isinstance(data, str):
        raise PayloadError("no data (was only the output captured?)")
    if encoding == "BASE64":
        try:
            text = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise PayloadError("BASE64 data that is not UTF-8 text") from None
    elif encoding in {"CSV", "JSON"}:
        text = data
    else:
        raise PayloadError(f"unknown encoding {encoding or '(none)'}")
    return rows(text, str(captured.get("observedContentType", "")), columns)
