"""The drift baseline: what each input feature looked like in training, in a documented JSON format.

Format (`format: modelplane-drift-baseline`, `version: 1`):

- `columns`: every feature in the order a CSV request lists them (the training CSV's header, minus
  dropped columns such as the label).
- `features.<name>`: for `kind: numeric`, `bin_edges` (the training deciles' interior edges) and
  `bin_shares` (the share of training rows in each bin, one more than the edges: below the first
  edge, between edges, above the last), for the population stability index, and `sample` (up to
  `SAMPLE_SIZE` training values drawn at random) for the Kolmogorov-Smirnov test; for
  `kind: categorical`, `shares` (category as text, a whole number below 2^63 without `.0` -> share of
  training rows). Both carry `count` (rows with a value) and `missing` (rows without).
- `source`, `rows`, `created`: where it came from, for the report.

`modelplane drift baseline --from train.csv --drop label` writes one; `modelplane drift --baseline train.csv
--drop label` builds the same in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from modelplane.config import inputs
from modelplane.errors import BadInput

FORMAT = "modelplane-drift-baseline"
VERSION = 1
SAMPLE_SIZE = 5000
DECILES = np.linspace(0, 1, 11)[1:-1]


class BaselineError(BadInput):
    """The baseline cannot be read or built (exit 2)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NumericFeature(_Model):
    kind: Literal["numeric"] = "numeric"
    count: int = Field(ge=1)
    missing: int = Field(ge=0)
    bin_edges: list[float]
    bin_shares: list[float]
    sample: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _bins(self) -> NumericFeature:
        if len(self.bin_shares) != len(self.bin_edges) + 1:
            raise ValueError("bin_shares needs one more entry than bin_edges")
        if self.bin_edges != sorted(set(self.bin_edges)):
            raise ValueError("bin_edges must increase strictly")
        if abs(sum(self.bin_shares) - 1) > 1e-6:
            raise ValueError("bin_shares must add up to 1")
        return self


class CategoricalFeature(_Model):
    kind: Literal["categorical"] = "categorical"
    count: int = Field(ge=1)
    missing: int = Field(ge=0)
    shares: dict[str, Annotated[float, Field(gt=0, le=1)]] = Field(min_length=1)

    @model_validator(mode="after")
    def _total(self) -> CategoricalFeature:
        if abs(sum(self.shares.values()) - 1) > 1e-6:
            raise ValueError("shares must add up to 1")
        return self


Feature = Annotated[NumericFeature | CategoricalFeature, Field(discriminator="kind")]


class Baseline(_Model):
    format: Literal["modelplane-drift-baseline"] = FORMAT
    version: Literal[1] = VERSION
    source: str
    created: datetime
    rows: int = Field(ge=1)
    columns: list[str] = Field(min_length=1)
    features: dict[str, Feature]

    @model_validator(mode="after")
    def _described(self) -> Baseline:
        if set(self.columns) != set(self.features):
            raise ValueError("columns and features must name the same features")
        return self


def category_text(value: object) -> str:
    """A category as the baseline writes it: a whole number without a fraction, so that 5411, 5411.0 (pandas
    reads a numeric column with gaps as floats) and the CSV text "5411" are one category. Below 2^63 only,
    where SQL's bigint writes it the same; a larger float is written as Python writes any float (`1e+20`)."""
    if isinstance(value, float | np.floating) and float(value).is_integer() and abs(value) < 2**63:
        return str(int(value))
    return str(value)


def read_training_csv(path: Path, drop: Iterable[str] = ()) -> pd.DataFrame:
    """The training data without `drop` (label, ids); refused, naming the file, when it is no usable table."""
    text = inputs.read_text(path, max_bytes=inputs.TABLE_MAX_BYTES)
    try:
        frame = pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError) as error:
        raise BaselineError(f"{path}: not a readable CSV file ({' '.join(str(error).split())})") from None
    header = next(csv.reader(io.StringIO(text)), [])
    if duplicated := sorted({name for name in header if header.count(name) > 1}):
        raise BaselineError(f"{path}: column {', '.join(map(repr, duplicated))} appears more than once in the header")
    unknown = [column for column in drop if column not in frame.columns]
    if unknown:
        raise BaselineError(f"{path}: no column {', '.join(map(repr, unknown))} to drop")
    frame = frame.drop(columns=list(drop))
    if frame.empty or not len(frame.columns):
        raise BaselineError(f"{path}: no rows or no columns to learn a baseline from")
    return frame


def baseline_from_training(path: Path, *, drop: Iterable[str] = (), categorical: Iterable[str] = ()) -> Baseline:
    """The baseline of a training CSV, without the columns requests do not carry."""
    return baseline_from_frame(read_training_csv(path, drop), source=path.name, categorical=categorical)


def baseline_from_frame(frame: pd.DataFrame, source: str, categorical: Iterable[str] = (), seed: int = 0) -> Baseline:
    """Numeric columns (pandas' numeric dtypes) are numeric features unless named in `categorical`."""
    forced = set(categorical)
    if unknown := forced - set(frame.columns):
        raise BaselineError(f"{source}: no column {', '.join(map(repr, sorted(unknown)))} to treat as categorical")
    random = np.random.default_rng(seed)
    features: dict[str, NumericFeature | CategoricalFeature] = {}
    for column in frame.columns:
        values = frame[column]
        present = values.dropna()
        if present.empty:
            raise BaselineError(f"{source}: column {column!r} has no values")
        missing = len(values) - len(present)
        if pd.api.types.is_numeric_dtype(values) and column not in forced and not pd.api.types.is_bool_dtype(values):
            numbers = present.to_numpy(dtype=float)
            edges = np.unique(np.quantile(numbers, DECILES))
            shares = np.bincount(np.searchsorted(edges, numbers, side="right"), minlength=len(edges) + 1)
            sample = numbers if len(numbers) <= SAMPLE_SIZE else random.choice(numbers, SAMPLE_SIZE, replace=False)
            features[str(column)] = NumericFeature(
                count=len(numbers),
                missing=missing,
                bin_edges=edges.tolist(),
                bin_shares=(shares / len(numbers)).tolist(),
                sample=sample.tolist(),
            )
        else:
            shares = present.map(category_text).value_counts(normalize=True)
            features[str(column)] = CategoricalFeature(
                count=len(present), missing=missing, shares={str(k): float(v) for k, v in shares.items()}
            )
    return Baseline(
        source=source,
        created=datetime.now(UTC),
        rows=len(frame),
        columns=[str(column) for column in frame.columns],
        features=features,
    )


def load_baseline(path: Path, *, drop: Iterable[str] = (), categorical: Iterable[str] = ()) -> Baseline:
    """A baseline file (`.json`), or one built from a training CSV (any other suffix) as `drift baseline` would."""
    if path.suffix.lower() != ".json":
        return baseline_from_training(path, drop=drop, categorical=categorical)
    if list(drop) or list(categorical):
        raise BaselineError(f"{path}: --drop and --categorical shape a training CSV; a baseline file is shaped already")
    return inputs.validated(Baseline, inputs.read_json(path), str(path), f"a {FORMAT} version {VERSION} file")
