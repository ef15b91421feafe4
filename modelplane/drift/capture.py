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
told is CSV or JSON) and parsed by its `observedContentType`: CSV rows in the baseline's column
order, a JSON object, a list of objects or rows, `{"instances": [...]}`, or JSON Lines.
`payload_rows` states these rules; the drift query (`modelplane.drift.query`) applies the same ones
in SQL, and the tests hold the two to the same answers.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from modelplane_components.naming import CAPTURE_HOUR_FORMAT, data_capture_prefix

from modelplane.errors import BadInput

Row = dict[str, Any]
CSV_TYPES = {"text/csv", "application/csv"}
JSON_TYPES = {"application/json", "text/json"}
JSON_LINES_TYPES = {"application/jsonlines", "application/x-jsonlines", "application/jsonl"}


class CaptureError(BadInput):
    """The capture files cannot be listed or read (exit 2)."""


def variant_prefix(endpoint_name: str, variant: str) -> str:
    return f"{data_capture_prefix(endpoint_name)}{endpoint_name}/{variant}/"


def hour_prefix(endpoint_name: str, variant: str, hour: datetime) -> str:
    return f"{variant_prefix(endpoint_name, variant)}{hour:{CAPTURE_HOUR_FORMAT}}/"


class PayloadError(Exception):
    """A captured payload modelplane cannot turn into feature rows; the reason is the message."""


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
    content_type = str(captured.get("observedContentType", "")).split(";")[0].strip().lower()
    if content_type in CSV_TYPES:
        return [_by_position(values, columns) for values in csv.reader(io.StringIO(text)) if values]
    try:
        if content_type in JSON_TYPES:
            return _json_rows(json.loads(text), columns)
        if content_type in JSON_LINES_TYPES:
            return [row for line in text.splitlines() if line.strip() for row in _json_rows(json.loads(line), columns)]
    except json.JSONDecodeError:
        raise PayloadError(f"{content_type} data that is not JSON") from None
    raise PayloadError(f"content type {content_type or '(none)'} is not CSV or JSON")


def _json_rows(document: Any, columns: list[str]) -> list[Row]:
    if isinstance(document, dict) and isinstance(document.get("instances"), list):
        document = document["instances"]
    if isinstance(document, dict):
        return [document]
    if isinstance(document, list) and document and all(isinstance(item, dict) for item in document):
        return list(document)
    if isinstance(document, list) and document and all(isinstance(item, list) for item in document):
        return [_by_position(item, columns) for item in document]
    if isinstance(document, list) and document:
        return [_by_position(document, columns)]
    raise PayloadError("JSON that is neither an object, a row, nor a list of them")


def _by_position(values: Sequence[Any], columns: list[str]) -> Row:
    if len(values) != len(columns):
        raise PayloadError(f"rows of {len(values)} values where the baseline has {len(columns)} columns")
    return dict(zip(columns, values, strict=True))
