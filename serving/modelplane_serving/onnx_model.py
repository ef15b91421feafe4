"""An ONNX model served with ONNX Runtime (CPU): tabular rows in, one prediction per row out.

Two input layouts, the ones tabular converters (skl2onnx, onnxmltools) produce:

- one input of shape `[N, F]`: the features by position. Their names come from the model's metadata
  property `feature_names` (comma-separated), so that JSON objects can name them; without it they
  are `column_0` ... `column_{F-1}`.
- one input per feature, each `[N, 1]` or `[N]`, typed on its own (numbers and strings side by side):
  the input names are the feature names.

A row's values are converted to each input's element type, value by value and exactly, never by
numpy's casts (which read "False" as true, cut 1.5 to 1, wrap 300 into an int8, or turn null into the
string "None"):

- booleans: JSON true and false, 1 and 0, and the strings true, false, 1, 0 (any case);
- integers: whole numbers (1, "1", 1.0, "1e3") within the type's range;
- floating point: finite numbers within the type's range; null and "nan" are NaN, the usual missing value;
- strings: text, and numbers as they are written in the request.

Anything else, a missing or an unknown feature, is a 400 naming the row and the feature.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument

from modelplane_serving import codec
from modelplane_serving.errors import ClientError, ModelLoadError
from modelplane_serving.models import Answer

FEATURE_NAMES_PROPERTY = "feature_names"
ELEMENT_TYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int16)": np.int16,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.str_,
}


class OnnxModel:
    def __init__(self, path: Path, *, threads: int = 0) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        # Small tabular models answer in microseconds: spinning threads would only burn the CPU that
        # other requests need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph/... types for a bad file
            raise ModelLoadError(f"{path}: onnxruntime cannot load it: {error}") from error
        inputs = self._session.get_inputs()
        metadata = self._session.get_modelmeta().custom_metadata_map
        self._outputs = [output.name for output in self._session.get_outputs()]
        self._feeds = _layout(path, inputs, metadata.get(FEATURE_NAMES_PROPERTY))
        self.columns = [column for feed in self._feeds for column in feed.columns]
        self.description = f"ONNX model {path} ({len(self.columns)} features, outputs {', '.join(self._outputs)})"

    def invoke(self, body: bytes, content_type: str, accept: str) -> Answer:
        codec.response_type(accept)
        rows = codec.decode_rows(body, content_type, self.columns)
        feeds = {feed.name: feed.tensor(rows, set(self.columns)) for feed in self._feeds}
        try:
            results = self._session.run(self._outputs, feeds)
        except InvalidArgument as error:
            raise ClientError(f"the model refused the input: {error}") from None
        return Answer(*codec.encode(_per_row(self._outputs, results, len(rows)), accept))


class _Feed:
    """One model input and the features it takes, in order."""

    def __init__(self, name: str, columns: list[str], dtype: Any, rank: int) -> None:
        self.name, self.columns, self.dtype, self.rank = name, columns, dtype, rank
        self._convert = _converter(dtype)

    def tensor(self, rows: Sequence[Mapping[str, Any]], known: set[str]) -> Any:
        values = []
        for index, row in enumerate(rows):
            unknown = sorted(set(row) - known)
            if unknown:
                raise ClientError(f"row {index}: unknown feature {unknown[0]!r} (features: {', '.join(sorted(known))})")
            missing = [column for column in self.columns if column not in row]
            if missing:
                raise ClientError(f"row {index}: no value for feature {missing[0]!r}")
            converted = []
            for column in self.columns:
                try:
                    converted.append(self._convert(row[column]))
                except _Refused as refused:
                    raise ClientError(f"row {index}, feature {column!r}: {_shown(row[column])} {refused}") from None
            values.append(converted)
        array = np.asarray(values, dtype=self.dtype)
        return array if self.rank == 2 else array.reshape(len(rows))


class _Refused(ValueError):
    """Why a value does not convert to an input's element type ("is not a number")."""


_WHOLE = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(nan|inf|infinity)", re.IGNORECASE)
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def _converter(dtype: Any) -> Callable[[Any], Any]:
    """The exact conversion of one request value to `dtype`; `_Refused` says why a value has none."""
    if dtype is np.bool_:
        return _boolean
    if np.issubdtype(dtype, np.integer):
        limits = np.iinfo(dtype)
        return lambda value: _integer(value, limits)
    if np.issubdtype(dtype, np.floating):
        largest = float(np.finfo(dtype).max)
        return lambda value: _floating(value, largest, np.dtype(dtype).name)
    return _text


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
        return _BOOLEANS[value.strip().lower()]
    raise _Refused("is not true or false (true, false, 1 or 0)")


def _integer(value: Any, limits: Any) -> int:
    number = _number(value, "is not a whole number")
    if isinstance(number, float):
        if not (math.isfinite(number) and number.is_integer()):
            raise _Refused("is not a whole number")
        number = int(number)
    if not limits.min <= number <= limits.max:
        raise _Refused(f"is out of the range of {limits.dtype} ({limits.min} to {limits.max})")
    return number


def _floating(value: Any, largest: float, name: str) -> float:
    if value is None:
        return math.nan
    number = _number(value, "is not a number")
    try:
        converted = float(number)
    except OverflowError:
        converted = math.inf
    if math.isnan(converted):
        return converted
    if not abs(converted) <= largest:
        raise _Refused(f"is out of the range of {name} (finite, at most {largest:g} in magnitude)")
    return converted


def _number(value: Any, refusal: str) -> int | float:
    """An int or a float as the request wrote it: JSON numbers, or strings of decimal notation (no `_`, no hex)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _WHOLE.fullmatch(text):
            return int(text)
        if _DECIMAL.fullmatch(text):
            return float(text)
    raise _Refused(refusal)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _Refused("is not text (a string, or a number)")


def _shown(value: Any) -> str:
    """A request value as the client wrote it: strings quoted, JSON's own words for the rest."""
    return repr(value) if isinstance(value, str) else json.dumps(value)


def _layout(path: Path, inputs: Sequence[Any], feature_names: str | None) -> list[_Feed]:
    """The features each input takes; ModelLoadError for a layout that is not tabular."""
    for model_input in inputs:
        if model_input.type not in ELEMENT_TYPES:
            raise ModelLoadError(
                f"{path}: input {model_input.name} is {model_input.type}, not a tensor of numbers or strings"
            )
    if len(inputs) == 1 and len(inputs[0].shape) == 2 and not _is_single_column(inputs[0]):
        (only,) = inputs
        width = only.shape[1]
        names = [name.strip() for name in feature_names.split(",")] if feature_names else None
        if names is not None and isinstance(width, int) and len(names) != width:
            raise ModelLoadError(
                f"{path}: metadata {FEATURE_NAMES_PROPERTY} names {len(names)} features, input {only.name} takes {width}"
            )
        if names is None:
            if not isinstance(width, int):
                raise ModelLoadError(
                    f"{path}: input {only.name} takes any number of features; name them in the metadata"
                    f" property {FEATURE_NAMES_PROPERTY}"
                )
            names = [f"column_{index}" for index in range(width)]
        return [_Feed(only.name, names, ELEMENT_TYPES[only.type], 2)]
    feeds = []
    for model_input in inputs:
        if not (len(model_input.shape) == 1 or _is_single_column(model_input)):
            raise ModelLoadError(
                f"{path}: input {model_input.name} has shape {model_input.shape}; a tabular model takes one [N, F]"
                " input or one [N, 1] input per feature"
            )
        feeds.append(
            _Feed(model_input.name, [model_input.name], ELEMENT_TYPES[model_input.type], len(model_input.shape))
        )
    return feeds


def _is_single_column(model_input: Any) -> bool:
    return len(model_input.shape) == 2 and model_input.shape[1] == 1


def _per_row(names: Sequence[str], results: Sequence[Any], count: int) -> list[Any]:
    """One entry per row: the value of a single output, or an object of every output's value."""
    columns = [_rows_of(result, count) for result in results]
    if len(names) == 1:
        return columns[0]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _rows_of(result: Any, count: int) -> list[Any]:
    if isinstance(result, np.ndarray):
        if result.ndim == 0 or result.shape[0] != count:
            raise RuntimeError(f"an output of shape {list(result.shape)} for {count} rows: not one value per row")
        return result.tolist()
    # Sequences of maps (a classifier's probabilities): plain dicts with numpy scalars.
    return [
        {_plain(key): _plain(value) for key, value in item.items()} if isinstance(item, dict) else _plain(item)
        for item in result
    ]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
