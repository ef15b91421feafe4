"""Request bodies to feature rows, and predictions to response bodies (JSON or CSV)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from modelplane_serving import payloads
from modelplane_serving.errors import ClientError, NotAcceptable, UnsupportedMediaType

JSON = "application/json"
CSV = "text/csv"


def decode_rows(body: bytes, content_type: str, columns: Sequence[str] | None) -> list[Any]:
    """The rows of a request, parsed as `modelplane drift` parses the captured request."""
    kind = payloads.media_type(content_type)
    if kind not in payloads.SUPPORTED_TYPES:
        supported = ", ".join(sorted(payloads.SUPPORTED_TYPES))
        raise UnsupportedMediaType(f"Content-Type {kind or '(none)'} is not supported; send one of {supported}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ClientError(f"the body is not UTF-8 text (byte {error.start})") from None
    try:
        found = payloads.rows(text, kind, columns)
    except payloads.PayloadError as error:
        where = f" ({error.__cause__})" if error.__cause__ is not None else ""
        raise ClientError(f"{error}{where}") from None
    if not found:
        raise ClientError("the body holds no rows")
    return found


def response_type(accept: str) -> str:
    """JSON unless the client accepts only CSV; 406 for neither."""
    wanted = [payloads.media_type(part) for part in accept.split(",") if part.strip()] or ["*/*"]
    for kind in wanted:
        if kind in {JSON, "application/*", "*/*"}:
            return JSON
        if kind in {CSV, "text/*"}:
            return CSV
    raise NotAcceptable(f"Accept {accept!r}: this model answers {JSON} or {CSV}")


def encode(predictions: Sequence[Any], accept: str) -> tuple[bytes, str]:
    """`{"predictions": [...]}` as JSON, or one CSV line per row of scalars or lists of scalars."""
    kind = response_type(accept)
    if kind == JSON:
        return json.dumps({"predictions": list(predictions)}, separators=(",", ":")).encode(), JSON
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in predictions:
        writer.writerow(_csv_cells(row))
    return buffer.getvalue().encode(), CSV


def _csv_cells(row: Any) -> list[Any]:
    if isinstance(row, Mapping):
        return [cell for value in row.values() for cell in _csv_cells(value)]
    if isinstance(row, list | tuple):
        if any(isinstance(value, Mapping | list | tuple) for value in row):
            raise NotAcceptable(f"a prediction of nested values does not fit CSV; ask for {JSON}")
        return list(row)
    return [row]
