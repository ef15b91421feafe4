"""How `modelplane compare` judges an A/B test of an endpoint: margins, sample minimums, business metrics.

The defaults are documented in docs/ab-testing.md; every one can be set per endpoint under `experiment`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from modelplane.settings.base import FieldProblems, SettingsModel

# CloudWatch's limits (botocore's `cloudwatch` model: Namespace, MetricName, Dimension shapes).
CLOUDWATCH_NAME_MAX = 255
CLOUDWATCH_DIMENSION_VALUE_MAX = 1024
CLOUDWATCH_MAX_DIMENSIONS = 30
# compare adds this dimension itself, with the variant's name.
VARIANT_DIMENSION = "VariantName"

CloudWatchName = Annotated[str, Field(min_length=1, max_length=CLOUDWATCH_NAME_MAX)]


class MetricKind(StrEnum):
    PROPORTION = "proportion"
    """Successes over trials (a conversion rate): compared with a two-proportion or Fisher's exact test."""
    CONTINUOUS = "continuous"
    """A value averaged per period (basket size): compared with a Mann-Whitney U test on the per-period series."""


class Better(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


class BusinessMetric(SettingsModel):
    """An outcome the team publishes to CloudWatch per variant (dimension `VariantName`)."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
    """Short name shown in compare's report (snake_case)."""
    namespace: Annotated[str, Field(min_length=1, max_length=CLOUDWATCH_NAME_MAX, pattern=r"^[^:].*$")]
    """The custom CloudWatch namespace it is published in (not `AWS/...`)."""
    metric: CloudWatchName
    """Metric name: the successes (proportion) or the value (continuous)."""
    trials_metric: CloudWatchName | None = None
    """Proportion only: the metric counting trials; without it each datapoint of `metric` is one trial
    (0 or 1), so trials are its SampleCount."""
    dimensions: dict[
        CloudWatchName, Annotated[str, Field(min_length=1, max_length=CLOUDWATCH_DIMENSION_VALUE_MAX)]
    ] = {}
    """Further dimensions the metric is published with (e.g. `EndpointName`), besides `VariantName`."""
    kind: MetricKind
    """A proportion of successes over trials, or a continuous value."""
    better: Better = Better.HIGHER
    """Which direction is an improvement."""
    margin: float = Field(gt=0)
    """How much worse the candidate may be: percentage points for a proportion, percent of the baseline's
    median for a continuous value."""

    @field_validator("namespace")
    @classmethod
    def _custom_namespace(cls, namespace: str) -> str:
        if namespace.startswith("AWS/"):
            raise ValueError("AWS/ namespaces are reserved for AWS services; publish business metrics in your own")
        return namespace

    @model_validator(mode="after")
    def _consistent(self) -> BusinessMetric:
        problems: list[tuple[str, str]] = []
        if self.trials_metric is not None and self.kind is not MetricKind.PROPORTION:
            problems.append(("trials_metric", "only a proportion has trials"))
        if VARIANT_DIMENSION in self.dimensions:
            problems.append((f"dimensions.{VARIANT_DIMENSION}", "compare sets it to each variant's name"))
        if len(self.dimensions) + 1 > CLOUDWATCH_MAX_DIMENSIONS:
            problems.append(("dimensions", f"CloudWatch takes at most {CLOUDWATCH_MAX_DIMENSIONS} dimensions"))
        if self.kind is MetricKind.PROPORTION and self.margin >= 100:
            problems.append(("margin", "a proportion's margin is in percentage points, below 100"))
        if problems:
            raise FieldProblems(problems)
        return self


class Experiment(SettingsModel):
    """How `modelplane compare` decides between the baseline and the candidate variant."""

    alpha: float = Field(default=0.05, gt=0, le=0.2)
    """Significance level of each family of tests, after the Holm correction across metrics."""
    min_invocations: int = Field(default=1000, ge=1)
    """Invocations each variant needs in the window; with fewer the verdict is inconclusive."""
    min_periods: int = Field(default=10, ge=3)
    """Periods with traffic each variant needs (the rank tests compare per-period series)."""
    period_seconds: int = Field(default=60, ge=60, le=86400, multiple_of=60)
    """Length of a period: the CloudWatch period and the Prometheus step."""
    error_rate_margin: float = Field(default=0.2, gt=0, lt=100)
    """Percentage points the candidate's 5XX and model error rates may exceed the baseline's."""
    latency_margin: float = Field(default=10.0, gt=0)
    """Percent the candidate's model latency may exceed the baseline's."""
    business_metrics: list[BusinessMetric] = Field(default=[], max_length=20)
    """Outcomes published per variant, compared like the operational metrics."""

    @model_validator(mode="after")
    def _unique_names(self) -> Experiment:
        seen: set[str] = set()
        problems = []
        for index, metric in enumerate(self.business_metrics):
            if metric.name in seen:
                problems.append((f"business_metrics[{index}].name", f"duplicate business metric name {metric.name!r}"))
            seen.add(metric.name)
        if problems:
            raise FieldProblems(problems)
        return self
