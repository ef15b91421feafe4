"""Request payloads as feature rows: the one parser of the model server and of `modelplane drift`.

The server reads what a client sends to `/invocations`; drift reads the same requests from
SageMaker's data capture. Both must see the same rows, so both call `rows`. Standard library only:
`modelplane drift` imports it without the server's dependencies.

Accepted forms, by content type:

- CSV (`text/csv`): one row per record, values by position (no header), as strings, as Python's csv
  module reads RFC 4180: a quoted value (`"a, b"`, `"a ""b"" c"`) may hold commas, quotes and line breaks.
  Records end at `\n` or `\r\n`; a carriage return elsewhere outside quotes is refused.
- JSON (`application/json`): an object (one row by name), a list of objects, a list of rows,
  a single row (a list of values), or any of these under `{"instances": [...]}`.
- JSON Lines (`application/jsonlines`): one JSON document of the above per line.

JSON Lines end at `\r\n`, `\r` or `\n`, and nowhere else: a form feed, U+0085 or U+2028 inside a
JSON string is a character of it (`str.splitlines` would break the line there). Lines of only
whitespace, and empty CSV records, are skipped.

With `columns`, a row given by position becomes an object keyed by those names; without, it stays a list.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from typing import Any, overload

CSV_TYPES = frozenset({"text/csv", "application/csv"})
JSON_TYPES = frozenset({"application/json", "text/json"})
JSON_LINES_TYPES = frozenset({"application/jsonlines", "application/x-jsonlines", "application/jsonl"})
SUPPORTED_TYPES = CSV_TYPES | JSON_TYPES | JSON_LINES_TYPES

Row = dict[str, Any]

LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""Where the lines of a JSON Lines body end (the drift query splits at the same breaks)."""


class PayloadError(ValueError):
    """A payload that is not feature rows; the message says why, for the client or the drift report."""


def media_type(content_type: str) -> str:
    """`text/csv; charset=utf-8` -> `text/csv`."""
    return content_type.split(";", maxsplit=1)[0].strip().lower()


@overload
def rows(text: str, content_type: str, columns: Sequence[str]) -> list[Row]: ...
@overload
def rows(text: str, content_type: str, columns: None) -> list[Row | list[Any]]: ...
def rows(text: str, content_type: str, columns: Sequence[str] | None) -> list[Row] | list[Row | list[Any]]:
    """The feature rows of one request body of `content_type`."""
    kind = media_type(content_type)
    if kind in CSV_TYPES:
        try:
            return [_by_position(values, columns) for values in csv.reader(io.StringIO(text)) if values]
        except csv.Error as error:
            raise PayloadError(f"CSV that cannot be read: {error}") from None
    try:
        if kind in JSON_TYPES:
            return _json_rows(json.loads(text), columns)
        if kind in JSON_LINES_TYPES:
            lines = (line for line in LINE_BREAK.split(text) if line.strip())
            return [row for line in lines for row in _json_rows(json.loads(line), columns)]
    except json.JSONDecodeError as error:
        # The reason alone (drift counts requests by it); where the JSON breaks is the cause, for a client.
        raise PayloadError(f"{kind} data that is not JSON") from error
    raise PayloadError(f"content type {kind or '(none)'} is not CSV or JSON")


def _json_rows(document: Any, columns: Sequence[str] | None) -> list[Any]:
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


def _by_position(values: Sequence[Any], columns: Sequence[str] | None) -> Row | list[Any]:
    if columns is None:
        return list(values)
    if len(values) != len(columns):
        raise PayloadError(f"rows of {len(values)} values where {len(columns)} columns are expected")
    return dict(zip(columns, values, strict=True))
