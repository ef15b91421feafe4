"""Every file a command reads, read the same way: one `BadInput` naming the file and what is wrong.

Outputs, verdicts, baselines, training data, policy configs and metrics may be missing, unreadable,
not UTF-8, empty, not JSON, of the wrong shape or absurdly large; each case gets the same message
whichever command meets it, and nothing is written before the input has been read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from modelplane.errors import BadInput

# Small JSON documents (outputs, verdicts, policy configs, metrics) are far below this.
DOCUMENT_MAX_BYTES = 64 * 1024 * 1024
# Training data is read whole into memory.
TABLE_MAX_BYTES = 1024 * 1024 * 1024
# How many schema problems a message lists before "and N more".
SHOWN_PROBLEMS = 3
_UNITS = ("bytes", "KiB", "MiB", "GiB")

Model = TypeVar("Model", bound=BaseModel)


def read_bytes(path: Path, *, max_bytes: int = DOCUMENT_MAX_BYTES) -> bytes:
    """The file's bytes; refused when it is missing, unreadable, a folder, empty or over `max_bytes`."""
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise BadInput(f"{path}: a folder, not a file")
        if size > max_bytes:
            raise BadInput(f"{path}: {too_large(size, max_bytes)}")
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except OSError as error:
        raise BadInput(f"{path}: cannot read: {error.strerror or error}") from None
    if not data.strip():
        raise BadInput(f"{path}: empty")
    return data


def read_text(path: Path, *, max_bytes: int = DOCUMENT_MAX_BYTES) -> str:
    """The file as UTF-8 text (a byte-order mark is dropped); refused as `read_bytes` refuses, or when not UTF-8."""
    data = read_bytes(path, max_bytes=max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadInput(f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})") from None


def read_json(path: Path, *, max_bytes: int = DOCUMENT_MAX_BYTES) -> Any:
    """The file's JSON document; refused as `read_text` refuses, or when it is not JSON."""
    return parse_json(read_text(path, max_bytes=max_bytes), str(path))


def parse_json(text: str, source: str) -> Any:
    """`text` as JSON; refused naming `source` when it is not."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BadInput(f"{source}: not JSON: line {error.lineno} column {error.colno}: {error.msg}") from None
    except RecursionError:
        raise BadInput(f"{source}: not JSON this tool can read: nested too deeply") from None


def validated(model: type[Model], document: Any, source: str, what: str) -> Model:
    """`document` as `model`; refused with the fields that are wrong, naming `source` and what it should be."""
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise BadInput(f"{source}: not {what}: {problems_text(error)}") from None


def problems_text(error: ValidationError) -> str:
    """A validation error's first problems, each `<field path>: <problem>`."""
    problems = [
        f"{'.'.join(map(str, detail['loc'])) or '(document)'}: {detail['msg'][:1].lower()}{detail['msg'][1:]}"
        for detail in error.errors(include_url=False)
    ]
    more = len(problems) - SHOWN_PROBLEMS
    return "; ".join(problems[:SHOWN_PROBLEMS]) + (f"; and {more} more" if more > 0 else "")


def too_large(size: int, max_bytes: int) -> str:
    """Why a file of `size` bytes is refused, when a file may have at most `max_bytes`."""
    shown, limit = _size(size), _size(max_bytes)
    if shown == limit:  # just over the limit, where the rounded sizes read the same
        shown, limit = f"{size} bytes", f"{max_bytes} bytes"
    return f"{shown}, more than the {limit} such a file may have"


def _size(count: int) -> str:
    value, unit = float(count), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    return f"{count} bytes" if unit == 0 else f"{value:.1f} {_UNITS[unit]}"
