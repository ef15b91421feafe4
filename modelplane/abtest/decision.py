"""From two variants' series to a verdict: one result per metric, then promote, rollback or inconclusive.

Per metric (after Holm's correction of each family of tests across the metrics):
- **pass** when the non-inferiority test rejects "worse by the margin or more";
- **fail** when the worse test rejects "no worse than the baseline" *and* the observed effect is
  beyond the margin (significant and large enough to matter);
- **inconclusive** otherwise.

The verdict: **inconclusive** when a variant has fewer invocations or periods with traffic than the
experiment's minimum (never promote on a small sample); else **rollback** when any metric fails;
**promote** when every metric passes; **inconclusive** otherwise. Traffic is reported with a
sample-ratio check, which warns but does not decide.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace
from enum import StrEnum

from modelplane.abtest import statistics as tests
from modelplane.abtest.observations import BusinessSeries, Observations, Series, VariantSeries
from modelplane.settings import Better, BusinessMetric, Experiment, MetricKind

# A split this unlikely under the declared weights means the experiment itself is broken.
SAMPLE_RATIO_ALPHA = 0.001


class Decision(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    INFO = "info"
    WARNING = "warning"


class Verdict(StrEnum):
    PROMOTE = "promote"
    ROLLBACK = "rollback"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Metric:
    """What is compared, and how its numbers read."""

    name: str
    """Stable key: `traffic`, `server_error_rate`, `model_error_rate`, `latency_mean`, `latency_p99`,
    `business.<name>`."""
    label: str
    kind: str
    """`proportion`, `continuous`, or `count` for traffic."""
    better: Better
    unit: str
    """Of the values: `%`, `ms`, or empty."""
    effect_unit: str
    """`points` (a proportion's difference) or `%` (relative to the baseline)."""
    margin: float | None
    """In the effect's unit: how much worse the candidate may be."""


@dataclass(frozen=True)
class MetricResult:
    metric: Metric
    baseline: float | None
    """Rate in percent (proportion), median of the per-period values (continuous), count (traffic)."""
    candidate: float | None
    effect: float | None
    """Candidate minus baseline: points for a proportion, percent of the baseline's median for a series,
    points of share over the expected share for traffic."""
    decision: Decision
    detail: str
    """Why, in words."""
    non_inferiority: tests.TestResult | None = None
    worse: tests.TestResult | None = None
    """The worse test; for traffic, the sample-ratio test."""
    non_inferiority_adjusted: float | None = None
    worse_adjusted: float | None = None
    trials_needed: int | None = None
    """Proportions: trials per variant for the non-inferiority test to pass with 80 % power at equal rates."""

    @property
    def p_value(self) -> float | None:
        """The p-value the decision rests on: the adjusted worse test for a fail, the sample-ratio test
        for traffic, else the adjusted non-inferiority test."""
        if self.decision is Decision.FAIL:
            return self.worse_adjusted
        if self.metric.kind == "count":
            return self.worse.p_value if self.worse else None
        return self.non_inferiority_adjusted


@dataclass(frozen=True)
class VariantSample:
    invocations: int
    periods: int


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict
    reasons: list[str]
    metrics: list[MetricResult]
    baseline_sample: VariantSample
    candidate_sample: VariantSample
    notes: list[str]
    """What was left out of the decision, and why."""


@dataclass(frozen=True)
class _Tested:
    """A metric with its raw tests, before the correction across metrics."""

    result: MetricResult
    worse_by: float | None
    """The effect oriented so that positive means worse; None when there was nothing to test."""


def assess(observations: Observations, experiment: Experiment, expected_candidate_share: float) -> Assessment:
    """Every metric's result and the verdict; `expected_candidate_share` feeds the sample-ratio check."""
    baseline, candidate = observations.baseline, observations.candidate
    error_rate = _metric(
        "server_error_rate", "5XX error rate", MetricKind.PROPORTION, Better.LOWER, experiment.error_rate_margin
    )
    tested = [
        _proportion(
            error_rate,
            baseline.invocations,
            baseline.server_errors,
            candidate.invocations,
            candidate.server_errors,
            alpha=experiment.alpha,
        )
    ]
    if baseline.model_errors is not None and candidate.model_errors is not None:
        model_errors = _metric(
            "model_error_rate", "model error rate", MetricKind.PROPORTION, Better.LOWER, experiment.error_rate_margin
        )
        tested.append(
            _proportion(
                model_errors,
                baseline.invocations,
                baseline.model_errors,
                candidate.invocations,
                candidate.model_errors,
                alpha=experiment.alpha,
            )
        )
    latency = _metric(
        "latency_mean", "latency (mean)", MetricKind.CONTINUOUS, Better.LOWER, experiment.latency_margin, unit="ms"
    )
    tested.append(_series(latency, baseline.latency_ms, candidate.latency_ms, experiment.min_periods))
    notes: list[str] = []
    if baseline.latency_p99_ms is not None and candidate.latency_p99_ms is not None:
        covered = min(len(baseline.latency_p99_ms), len(candidate.latency_p99_ms))
        if covered >= experiment.min_periods:
            p99 = _metric(
                "latency_p99",
                "latency (p99)",
                MetricKind.CONTINUOUS,
                Better.LOWER,
                experiment.latency_margin,
                unit="ms",
            )
            tested.append(_series(p99, baseline.latency_p99_ms, candidate.latency_p99_ms, experiment.min_periods))
        else:
            # p99 only adds to the mean latency: too few periods of it leave it out rather than hold the verdict.
            notes.append(
                f"p99 latency: {covered} period(s) with a value, fewer than {experiment.min_periods};"
                " decided on the mean latency"
            )
    tested += [_business(metric, baseline, candidate, experiment) for metric in experiment.business_metrics]
    decided = _decide(tested, experiment.alpha)
    samples = (
        VariantSample(baseline.total_invocations, baseline.periods),
        VariantSample(candidate.total_invocations, candidate.periods),
    )
    verdict, reasons = _verdict(decided, samples, experiment)
    traffic = _traffic(baseline, candidate, expected_candidate_share)
    return Assessment(verdict, reasons, [traffic, *decided], *samples, notes)


def _metric(name: str, label: str, kind: MetricKind, better: Better, margin: float, *, unit: str = "") -> Metric:
    if kind is MetricKind.PROPORTION:
        return Metric(name, label, kind.value, better, "%", "points", margin)
    return Metric(name, label, kind.value, better, unit, "%", margin)


def _verdict(
    metrics: list[MetricResult], samples: tuple[VariantSample, VariantSample], experiment: Experiment
) -> tuple[Verdict, list[str]]:
    short = [
        f"too little data: the {role} has {sample.invocations} invocations in {sample.periods} periods;"
        f" the minimum is {experiment.min_invocations} in {experiment.min_periods}"
        for role, sample in zip(("baseline", "candidate"), samples, strict=True)
        if sample.invocations < experiment.min_invocations or sample.periods < experiment.min_periods
    ]
    if short:
        return Verdict.INCONCLUSIVE, short
    failed = [result for result in metrics if result.decision is Decision.FAIL]
    if failed:
        return Verdict.ROLLBACK, [f"{result.metric.label}: {result.detail}" for result in failed]
    undecided = [result for result in metrics if result.decision is not Decision.PASS]
    if undecided:
        return Verdict.INCONCLUSIVE, [f"{result.metric.label}: {result.detail}" for result in undecided]
    return Verdict.PROMOTE, ["every metric is within its margin of the baseline"]


def _decide(tested: list[_Tested], alpha: float) -> list[MetricResult]:
    non_inferiority = tests.holm(
        [t.result.non_inferiority.p_value if t.result.non_inferiority else None for t in tested]
    )
    worse = tests.holm([t.result.worse.p_value if t.result.worse else None for t in tested])
    decided = []
    for item, p_non_inferiority, p_worse in zip(tested, non_inferiority, worse, strict=True):
        result, margin = item.result, item.result.metric.margin or 0.0
        if p_non_inferiority is None or p_worse is None or item.worse_by is None:
            decided.append(result)
            continue
        unit = result.metric.effect_unit
        if p_worse < alpha and item.worse_by > margin:
            decision = Decision.FAIL
            detail = f"the candidate is worse by {_amount(item.worse_by, unit)} (margin {_amount(margin, unit)})"
        elif p_non_inferiority < alpha:
            decision, detail = Decision.PASS, f"within the margin of {_amount(margin, unit)}"
        else:
            decision = Decision.INCONCLUSIVE
            detail = f"cannot tell yet whether the candidate is within {_amount(margin, unit)} of the baseline"
            if result.trials_needed:
                detail += f" (about {result.trials_needed} trials per variant would tell)"
        decided.append(
            replace(
                result,
                decision=decision,
                detail=detail,
                non_inferiority_adjusted=p_non_inferiority,
                worse_adjusted=p_worse,
            )
        )
    return decided


def _proportion(
    metric: Metric,
    baseline_trials_series: Series,
    baseline_events_series: Series,
    candidate_trials_series: Series,
    candidate_events_series: Series,
    *,
    alpha: float,
) -> _Tested:
    """A rate, compared in percentage points; events are what the metric counts (errors, successes)."""
    baseline_trials, candidate_trials = _total(baseline_trials_series), _total(candidate_trials_series)
    baseline_events = min(_total(baseline_events_series), baseline_trials)
    candidate_events = min(_total(candidate_events_series), candidate_trials)
    if baseline_trials == 0 or candidate_trials == 0:
        role = "baseline" if baseline_trials == 0 else "candidate"
        detail = f"no trials for the {role} in the window"
        return _Tested(MetricResult(metric, None, None, None, Decision.INCONCLUSIVE, detail), None)
    margin = (metric.margin or 0.0) / 100
    # The tests count the bad outcomes: errors, or the trials without success when higher is better.
    if metric.better is Better.LOWER:
        bad_baseline, bad_candidate = baseline_events, candidate_events
    else:
        bad_baseline, bad_candidate = baseline_trials - baseline_events, candidate_trials - candidate_events
    baseline_rate, candidate_rate = baseline_events / baseline_trials, candidate_events / candidate_trials
    effect = (candidate_rate - baseline_rate) * 100
    result = MetricResult(
        metric,
        baseline_rate * 100,
        candidate_rate * 100,
        effect,
        Decision.INCONCLUSIVE,
        "",
        non_inferiority=tests.proportion_non_inferiority(
            bad_baseline, baseline_trials, bad_candidate, candidate_trials, margin
        ),
        worse=tests.proportion_worse(bad_baseline, baseline_trials, bad_candidate, candidate_trials),
        trials_needed=tests.trials_for_non_inferiority(bad_baseline / baseline_trials, margin, alpha),
    )
    return _Tested(result, effect if metric.better is Better.LOWER else -effect)


def _series(metric: Metric, baseline_series: Series, candidate_series: Series, min_periods: int) -> _Tested:
    """Per-period values, compared with rank tests; the effect is the relative difference of the medians."""
    baseline_values, candidate_values = list(baseline_series.values()), list(candidate_series.values())
    baseline_median = statistics.median(baseline_values) if baseline_values else None
    candidate_median = statistics.median(candidate_values) if candidate_values else None
    shortest = min(len(baseline_values), len(candidate_values))
    if baseline_median is None or candidate_median is None or shortest < min_periods:
        detail = f"{shortest} periods with data; the test needs {min_periods} per variant"
        return _Tested(
            MetricResult(metric, baseline_median, candidate_median, None, Decision.INCONCLUSIVE, detail), None
        )
    lower_is_better = metric.better is Better.LOWER
    difference = candidate_median - baseline_median
    effect = difference / abs(baseline_median) * 100 if baseline_median else None
    if effect is not None:
        worse_by = effect if lower_is_better else -effect
    else:
        # No relative effect from a zero median: any degradation counts as beyond the margin.
        worse_by = math.copysign(math.inf, difference if lower_is_better else -difference) if difference else 0.0
    result = MetricResult(
        metric,
        baseline_median,
        candidate_median,
        effect,
        Decision.INCONCLUSIVE,
        "",
        non_inferiority=tests.series_non_inferiority(
            baseline_values, candidate_values, (metric.margin or 0.0) / 100, lower_is_better=lower_is_better
        ),
        worse=tests.series_worse(baseline_values, candidate_values, lower_is_better=lower_is_better),
    )
    return _Tested(result, worse_by)


def _business(
    metric: BusinessMetric, baseline: VariantSeries, candidate: VariantSeries, experiment: Experiment
) -> _Tested:
    compared = _metric(
        f"business.{metric.name}", metric.name.replace("_", " "), metric.kind, metric.better, metric.margin
    )
    empty = BusinessSeries({}, {})
    ours, theirs = baseline.business.get(metric.name, empty), candidate.business.get(metric.name, empty)
    if metric.kind is MetricKind.PROPORTION:
        return _proportion(
            compared, ours.trials or {}, ours.values, theirs.trials or {}, theirs.values, alpha=experiment.alpha
        )
    return _series(compared, ours.values, theirs.values, experiment.min_periods)


def _traffic(baseline: VariantSeries, candidate: VariantSeries, expected_share: float) -> MetricResult:
    """Invocations of both variants, and whether their split matches the weights (sample-ratio check)."""
    metric = Metric("traffic", "traffic", "count", Better.HIGHER, "", "points", None)
    ours, theirs = baseline.total_invocations, candidate.total_invocations
    if ours + theirs == 0:
        return MetricResult(metric, 0.0, 0.0, None, Decision.INFO, "no invocations in the window")
    share = theirs / (ours + theirs)
    check = tests.TestResult(
        "chi-square test of the split (sample ratio)", tests.sample_ratio_mismatch(ours, theirs, expected_share)
    )
    expected = f"{expected_share * 100:.1f}%"
    if check.p_value < SAMPLE_RATIO_ALPHA:
        decision = Decision.WARNING
        detail = (
            f"the candidate got {share * 100:.1f}% of the invocations, not the {expected} the weights give:"
            " check the weights, and whether the candidate refuses requests, before trusting the results"
        )
    else:
        decision, detail = Decision.INFO, f"candidate share {share * 100:.1f}% (expected {expected})"
    return MetricResult(
        metric, float(ours), float(theirs), (share - expected_share) * 100, decision, detail, worse=check
    )


def _total(series: Series) -> int:
    return round(sum(series.values()))


def _amount(value: float, unit: str) -> str:
    if math.isinf(value):
        return "an unbounded amount (the baseline's median is 0)"
    return f"{value:.2f} points" if unit == "points" else f"{value:.1f}%"
