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
objects or rows, `{"instances": [...]}`, or JSON Lines. Drift sees the rows the model saw; the drift
query (`modelplane.drift.query`) applies the same rules in SQL, and the tests hold the two to the same
answers.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from modelplane_components.naming import CAPTURE_HOUR_FORMAT, data_capture_prefix

from modelplane.errors import BadInput
from modelplane_serving.payloads import PayloadError, Row, rows

__all__ = ["CaptureError", "PayloadError", "Row", "hour_prefix", "payload_rows", "variant_prefix"]


class CaptureError(BadInput):
    """The capture files cannot be listed or read (exit 2)."""


def variant_prefix(endpoint_name: str, variant: str) -> str:
    return f"{data_capture_prefix(endpoint_name)}{endpoint_name}/{variant}/"


def hour_prefix(endpoint_name: str, variant: str, hour: datetime) -> str:
    return f"{variant_prefix(endpoint_name, variant)}{hour:{CAPTURE_HOUR_FORMAT}}/"


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
