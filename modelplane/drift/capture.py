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
told is CSV or JSON) and parsed by its `observedContentType` by the model server's rules
(`modelplane_serving.payloads`): CSV rows in the baseline's column order, a JSON object, a list of
objects or rows, `{"instances": [...]}`, or JSON Lines. The drift query (`modelplane.drift.query`)
applies those rules in SQL; the tests hold it to the server's parser.
"""

from __future__ import annotations

from datetime import datetime

from modelplane_components.naming import CAPTURE_HOUR_FORMAT, data_capture_prefix

from modelplane.errors import BadInput


class CaptureError(BadInput):
    """The capture files cannot be listed or read (exit 2); the message names the files, the AWS or DuckDB
    error is its cause."""


def variant_prefix(endpoint_name: str, variant: str) -> str:
    return f"{data_capture_prefix(endpoint_name)}{endpoint_name}/{variant}/"


def hour_prefix(endpoint_name: str, variant: str, hour: datetime) -> str:
    return f"{variant_prefix(endpoint_name, variant)}{hour:{CAPTURE_HOUR_FORMAT}}/"
