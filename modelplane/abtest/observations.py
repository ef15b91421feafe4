"""What a metrics source reports for the two variants: per-period series, whatever the source."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from modelplane.errors import BadInput

# Period start (CloudWatch) or evaluation time (Prometheus) -> value; periods without data are absent.
Series = dict[datetime, float]


class SourceError(BadInput):
    """A metrics source failed or refused (exit 2); the message names the source and its error."""


@dataclass(frozen=True)
class BusinessSeries:
    values: Series
    """Successes per period (a proportion) or the period's average (a continuous value)."""
    trials: Series | None = None
    """Trials per period, for a proportion."""


@dataclass(frozen=True)
class VariantSeries:
    """One variant's measurements, per period."""

    invocations: Series
    server_errors: Series
    """5XX responses."""
    model_errors: Series | None
    """Requests the model failed (SageMaker `InvocationModelErrors`); None where the source has no such metric."""
    latency_ms: Series
    """Average model latency of the period, in milliseconds."""
    latency_p99_ms: Series | None
    """p99 model latency of the period; None when the source could not give percentiles."""
    business: dict[str, BusinessSeries] = field(default_factory=dict)

    @property
    def total_invocations(self) -> int:
        return round(sum(self.invocations.values()))

    @property
    def periods(self) -> int:
        """Periods in which the variant served traffic."""
        return sum(1 for count in self.invocations.values() if count > 0)


@dataclass(frozen=True)
class Observations:
    source: str
    """Where the numbers come from, for the report (`CloudWatch eu-west-1`, `Prometheus http://...`)."""
    baseline: VariantSeries
    candidate: VariantSeries
    notes: list[str] = field(default_factory=list)
    """What the source could not give, and what was decided without it."""
