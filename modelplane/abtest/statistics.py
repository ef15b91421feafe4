"""The tests behind a verdict, each a one-sided test of the candidate against the baseline (scipy.stats).

Every metric gets two tests, read in the direction where the candidate is *worse*:
- **non-inferiority**, H0 "the candidate is worse by the margin or more": rejecting it shows the candidate
  is acceptable;
- **worse**, H0 "the candidate is no worse than the baseline": rejecting it shows a real degradation.

Rates (errors over invocations, successes over trials) use a z-test on the difference of proportions,
or Fisher's exact test when a cell of the 2x2 table expects fewer than 5 events. Per-period series
(latency, continuous business values) use the Mann-Whitney U test, as Kayenta does: no normality
assumed, and a burst in one period moves one rank, not the mean.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scipy import stats

# Below this expected count in any cell of the 2x2 table the normal approximation is poor.
MIN_EXPECTED_COUNT = 5


@dataclass(frozen=True)
class TestResult:
    test: str
    """The test that produced the p-value, in words."""
    p_value: float


def proportion_non_inferiority(
    baseline_events: int, baseline_trials: int, candidate_events: int, candidate_trials: int, margin: float
) -> TestResult:
    """H0: candidate rate - baseline rate >= margin (rates and margin as fractions; events are the bad ones).

    A Wald z-test with the Agresti-Caffo adjustment (one event and one non-event added to each
    variant), which keeps its level with few or no events, where the plain Wald test claims certainty.
    """
    adjusted_baseline = (baseline_events + 1) / (baseline_trials + 2)
    adjusted_candidate = (candidate_events + 1) / (candidate_trials + 2)
    standard_error = math.sqrt(
        adjusted_baseline * (1 - adjusted_baseline) / (baseline_trials + 2)
        + adjusted_candidate * (1 - adjusted_candidate) / (candidate_trials + 2)
    )
    z = (adjusted_candidate - adjusted_baseline - margin) / standard_error
    return TestResult("z-test on the difference of rates (Agresti-Caffo)", float(stats.norm.cdf(z)))


def proportion_worse(
    baseline_events: int, baseline_trials: int, candidate_events: int, candidate_trials: int
) -> TestResult:
    """H0: candidate rate <= baseline rate: a pooled two-proportion z-test, or Fisher's exact test
    when a cell of the table expects fewer than `MIN_EXPECTED_COUNT` events."""
    table = [
        [candidate_events, candidate_trials - candidate_events],
        [baseline_events, baseline_trials - baseline_events],
    ]
    total = baseline_trials + candidate_trials
    column_totals = [baseline_events + candidate_events, total - baseline_events - candidate_events]
    smallest_expected = min(
        row * column / total for row in (candidate_trials, baseline_trials) for column in column_totals
    )
    if smallest_expected < MIN_EXPECTED_COUNT:
        # scipy annotates this result as a bare tuple; it is a SignificanceResult.
        result: Any = stats.fisher_exact(table, alternative="greater")
        return TestResult("Fisher's exact test", float(result.pvalue))
    pooled = column_totals[0] / total
    standard_error = math.sqrt(pooled * (1 - pooled) * (1 / baseline_trials + 1 / candidate_trials))
    z = (candidate_events / candidate_trials - baseline_events / baseline_trials) / standard_error
    return TestResult("two-proportion z-test", float(stats.norm.sf(z)))


def series_non_inferiority(
    baseline: Sequence[float], candidate: Sequence[float], margin: float, *, lower_is_better: bool
) -> TestResult:
    """H0: the candidate's per-period values are worse than the baseline's shifted by the margin.

    The margin is a fraction of the baseline's median (0.1: 10 % slower is tolerated); the baseline
    series is shifted by it and a one-sided Mann-Whitney U test asks whether the candidate is better
    than that tolerated one.
    """
    tolerance = margin * abs(statistics.median(baseline))
    if lower_is_better:
        shifted, alternative = [value + tolerance for value in baseline], "less"
    else:
        shifted, alternative = [value - tolerance for value in baseline], "greater"
    result = stats.mannwhitneyu(candidate, shifted, alternative=alternative)
    return TestResult("Mann-Whitney U test, baseline shifted by the margin", float(result.pvalue))


def series_worse(baseline: Sequence[float], candidate: Sequence[float], *, lower_is_better: bool) -> TestResult:
    """H0: the candidate's per-period values are no worse than the baseline's (Mann-Whitney U)."""
    result = stats.mannwhitneyu(candidate, baseline, alternative="greater" if lower_is_better else "less")
    return TestResult("Mann-Whitney U test", float(result.pvalue))


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None): reject where adjusted p < alpha.

    Controls the chance of any false rejection across the metrics, like Bonferroni, with more power.
    """
    tested = sorted((p, index) for index, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * p))
        adjusted[index] = running
    return adjusted


def trials_for_non_inferiority(rate: float, margin: float, alpha: float, power: float = 0.8) -> int | None:
    """Trials per variant for the non-inferiority test to pass with `power` when both rates equal `rate`.

    The usual normal-approximation formula n = (z_{1-alpha} + z_{power})^2 * 2 p (1 - p) / margin^2;
    None when the rate is 0 or 1 (nothing to estimate from).
    """
    if not 0 < rate < 1:
        return None
    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)
    return math.ceil(z**2 * 2 * rate * (1 - rate) / margin**2)


def sample_ratio_mismatch(baseline_count: int, candidate_count: int, expected_candidate_share: float) -> float:
    """p-value of a chi-square goodness-of-fit test of the observed split against the expected one."""
    total = baseline_count + candidate_count
    expected = [total * (1 - expected_candidate_share), total * expected_candidate_share]
    return float(stats.chisquare([baseline_count, candidate_count], expected).pvalue)
