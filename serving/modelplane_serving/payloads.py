"""Request payloads as feature rows: the one parser of the model server and of `modelplane drift`.

The server reads what a client sends to `/invocations`; drift reads the same requests from
SageMaker's data capture. Both must see the same rows, so both call `rows`. Standard library only:
`modelplane drift` imports it without the server's dependencies.

Accepted forms, by content type:

- CSV (`text/csv`): one row per line, values by position (no header), as strings. Each line is read
  as RFC 4180 CSV on its own: a quoted value (`"a, b"`, `"a ""b"" c"`) closes on its line and is
  followed by a comma or the line's end, so no value holds a line break (SageMaker's batch transform
  and data capture split CSV at line breaks too). A request that breaks this is refused as a whole.
- JSON (`application/json`): an object (one row by name), a list of objects, a list of rows,
  a single row (a list of values), or any of these under `{"instances": [...]}`.
- JSON Lines (`application/jsonlines`): one JSON document of the above per line.

Lines end at `\r\n`, `\r` or `\n`, and nowhere else: a form feed, U+0085 or U+2028 inside a JSON
string or a CSV value is a character of it (`str.splitlines` would break the line there). Lines that
are empty (JSON Lines: only whitespace) are skipped.

With `columns`, a row given by position becomes an object keyed by those names; without, it stays a list.
"""

from __future__ import annotations

import csv
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
"""Where the lines of a CSV or JSON Lines body end (the drift query splits at the same breaks)."""
# The reasons a CSV request is refused for, word for word what `modelplane drift` counts requests by.
CSV_QUOTE_NOT_CLOSED = "CSV with a quoted value that does not close on its line (one row per line)"
CSV_TEXT_AFTER_QUOTE = "CSV with a quoted value followed by more than a comma"
_CSV_REASONS = {"unexpected end of data": CSV_QUOTE_NOT_CLOSED, "',' expected after '\"'": CSV_TEXT_AFTER_QUOTE}


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
        return [_by_position(values, columns) for values in _csv_lines(text)]
    try:
        if kind in JSON_TYPES:
            return _json_rows(json.loads(text), columns)
        if kind in JSON_LINES_TYPES:
            documents = [json.loads(line) for line in LINE_BREAK.split(text) if line.strip()]
            return [row for document in documents for row in _json_rows(document, columns)]
    except json.JSONDecodeError as error:
        # The reason alone (drift counts requests by it); where the JSON breaks is the cause, for a client.
        raise PayloadError(f"{kind} data that is not JSON") from error
    raise PayloadError(f"content type {kind or '(none)'} is not CSV or JSON")


def _csv_lines(text: str) -> list[list[str]]:
    """The values of each non-empty line; PayloadError (the line number its cause) for a line that is not
    RFC 4180 CSV on its own."""
    reader = csv.reader(LINE_BREAK.split(text), strict=True)
    found: list[list[str]] = []
    read = 0
    try:
        for values in reader:
            if reader.line_num > read + 1:  # a quoted value went on into the next line
                raise PayloadError(CSV_QUOTE_NOT_CLOSED) from csv.Error(f"line {read + 1}")
            read = reader.line_num
            if values:
                found.append(values)
    except csv.Error as error:
        reason = _CSV_REASONS.get(str(error), f"CSV that cannot be read: {error}")
        raise PayloadError(reason) from csv.Error(f"line {read + 1}")
    return found


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
