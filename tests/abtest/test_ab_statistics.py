"""The statistics behind `modelplane compare`, checked against scipy and textbook values on known data,
and the verdict rules on synthetic series."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from scipy import stats

from modelplane.abtest import statistics as tests
from modelplane.abtest.decision import Decision, MetricResult, Verdict, assess
from modelplane.abtest.observations import BusinessSeries, Observations, Series, VariantSeries
from modelplane.settings import Better, BusinessMetric, Experiment, MetricKind

START = datetime(2025, 5, 1, 10, 0, tzinfo=UTC)


def p_value_of(result: Any) -> float:
    """scipy's result objects carry `pvalue`; its annotations call some of them bare tuples."""
    return float(result.pvalue)


# --- the tests, against scipy ---------------------------------------------------------------------


def test_the_two_proportion_z_test_is_scipys_chi_square_one_sided() -> None:
    baseline, candidate = (20, 20_000), (800, 20_000)

    result = tests.proportion_worse(baseline[0], baseline[1], candidate[0], candidate[1])

    table = [[candidate[0], candidate[1] - candidate[0]], [baseline[0], baseline[1] - baseline[0]]]
    two_sided = p_value_of(stats.chi2_contingency(table, correction=False))
    assert result.test == "two-proportion z-test"
    # z^2 is the uncorrected chi-square statistic; the one-sided p-value is half the two-sided one.
    assert result.p_value == pytest.approx(two_sided / 2, rel=1e-9, abs=1e-300)


def test_a_better_candidate_is_not_worse() -> None:
    two_sided = p_value_of(stats.chi2_contingency([[80, 19_920], [120, 19_880]], correction=False))
    result = tests.proportion_worse(120, 20_000, 80, 20_000)
    assert result.p_value == pytest.approx(1 - two_sided / 2)


def test_small_counts_use_fishers_exact_test() -> None:
    result = tests.proportion_worse(0, 40, 3, 40)

    assert result.test == "Fisher's exact test"
    assert result.p_value == pytest.approx(p_value_of(stats.fisher_exact([[3, 37], [0, 40]], alternative="greater")))


def test_non_inferiority_matches_the_agresti_caffo_interval() -> None:
    """p < alpha exactly when the upper bound of the two-sided (1 - 2 alpha) Agresti-Caffo interval of
    the difference lies below the margin (Agresti & Caffo 2000: add one success and one failure)."""
    baseline, candidate, alpha = (20, 20_000), (30, 20_000), 0.05
    p_b, p_c = (baseline[0] + 1) / (baseline[1] + 2), (candidate[0] + 1) / (candidate[1] + 2)
    se = math.sqrt(p_b * (1 - p_b) / (baseline[1] + 2) + p_c * (1 - p_c) / (candidate[1] + 2))
    upper = p_c - p_b + float(stats.norm.ppf(1 - alpha)) * se

    at_the_bound = tests.proportion_non_inferiority(*baseline, *candidate, margin=upper)
    assert at_the_bound.p_value == pytest.approx(alpha)
    assert tests.proportion_non_inferiority(*baseline, *candidate, margin=upper * 1.01).p_value < alpha
    assert tests.proportion_non_inferiority(*baseline, *candidate, margin=upper * 0.99).p_value > alpha


def test_non_inferiority_without_any_error_needs_a_sample_not_certainty() -> None:
    # The plain Wald test would divide by zero here and claim certainty at any sample size.
    assert tests.proportion_non_inferiority(0, 20_000, 0, 20_000, 0.002).p_value < 1e-6
    assert tests.proportion_non_inferiority(0, 40, 0, 40, 0.002).p_value > 0.4


def test_series_tests_are_scipys_mann_whitney_u_on_the_shifted_baseline() -> None:
    baseline = [50.0, 52.0, 48.0, 51.0, 49.0, 53.0, 47.0, 50.5, 49.5, 51.5]
    candidate = [value * 1.02 for value in baseline]
    tolerance = 0.1 * 50.25  # 10 % of the baseline's median

    non_inferiority = tests.series_non_inferiority(baseline, candidate, 0.1, lower_is_better=True)
    worse = tests.series_worse(baseline, candidate, lower_is_better=True)

    shifted = [value + tolerance for value in baseline]
    assert non_inferiority.p_value == stats.mannwhitneyu(candidate, shifted, alternative="less").pvalue
    assert worse.p_value == stats.mannwhitneyu(candidate, baseline, alternative="greater").pvalue
    higher = tests.series_non_inferiority(baseline, candidate, 0.1, lower_is_better=False)
    lowered = [value - tolerance for value in baseline]
    assert higher.p_value == stats.mannwhitneyu(candidate, lowered, alternative="greater").pvalue


def test_holm_adjusts_like_the_textbook_step_down() -> None:
    # Sorted 0.005, 0.01, 0.03, 0.04 -> 4x, 3x, 2x, 1x, kept monotone: 0.02, 0.03, 0.06, 0.06.
    assert tests.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert tests.holm([0.5, None, 0.9]) == [pytest.approx(1.0), None, pytest.approx(1.0)]
    assert tests.holm([]) == []


def test_sample_ratio_check_is_scipys_chi_square_goodness_of_fit() -> None:
    p = tests.sample_ratio_mismatch(8_100, 1_900, 0.2)
    assert p == pytest.approx(stats.chisquare([8_100, 1_900], [8_000, 2_000]).pvalue)
    assert tests.sample_ratio_mismatch(20_000, 20_000, 0.2) < 1e-100


def test_trials_needed_follow_the_normal_approximation() -> None:
    # (z_0.95 + z_0.8)^2 * 2 * 0.001 * 0.999 / 0.002^2 = 3088.1...
    assert tests.trials_for_non_inferiority(0.001, 0.002, 0.05) == 3089
    assert tests.trials_for_non_inferiority(0.0, 0.002, 0.05) is None


# --- the verdict ------------------------------------------------------------------------------------


def periods(count: int, value: float | list[float]) -> Series:
    values = value if isinstance(value, list) else [value] * count
    return {START + timedelta(minutes=index): values[index] for index in range(count)}


def variant(
    invocations_per_period: float,
    error_rate: float,
    latency_ms: float | list[float],
    *,
    count: int = 20,
    p99_ms: float | None = None,
    business: dict[str, BusinessSeries] | None = None,
) -> VariantSeries:
    return VariantSeries(
        invocations=periods(count, invocations_per_period),
        server_errors=periods(count, invocations_per_period * error_rate),
        model_errors=periods(count, 0.0),
        latency_ms=periods(count, latency_ms),
        latency_p99_ms=None if p99_ms is None else periods(count, p99_ms),
        business=business or {},
    )


def observed(baseline: VariantSeries, candidate: VariantSeries) -> Observations:
    return Observations("synthetic", baseline, candidate)


def jitter(center: float, count: int = 20) -> list[float]:
    """Deterministic spread around a centre, ±3 %."""
    return [center * (1 + 0.03 * math.sin(index * 1.7)) for index in range(count)]


def decisions(results: list[MetricResult]) -> dict[str, Decision]:
    return {result.metric.name: result.decision for result in results}


def test_a_clearly_worse_candidate_is_rolled_back_naming_the_metric() -> None:
    assessment = assess(observed(variant(1000, 0.001, jitter(50)), variant(1000, 0.04, jitter(50))), Experiment(), 0.5)

    assert assessment.verdict is Verdict.ROLLBACK
    assert assessment.reasons == ["5XX error rate: the candidate is worse by 3.90 points (margin 0.20 points)"]
    assert decisions(assessment.metrics) == {
        "traffic": Decision.INFO,
        "server_error_rate": Decision.FAIL,
        "model_error_rate": Decision.PASS,
        "latency_mean": Decision.PASS,
    }


def test_an_equally_good_candidate_is_promoted() -> None:
    assessment = assess(observed(variant(1000, 0.001, jitter(50)), variant(1000, 0.001, jitter(50))), Experiment(), 0.5)

    assert assessment.verdict is Verdict.PROMOTE
    assert assessment.baseline_sample.invocations == assessment.candidate_sample.invocations == 20_000
    for result in assessment.metrics[1:]:
        assert result.non_inferiority is not None and result.non_inferiority_adjusted is not None
        assert result.non_inferiority_adjusted >= result.non_inferiority.p_value, "Holm never lowers a p-value"


def test_a_small_sample_is_inconclusive_even_when_the_candidate_looks_worse() -> None:
    assessment = assess(observed(variant(2, 0.0, jitter(50)), variant(2, 0.05, jitter(80))), Experiment(), 0.5)

    assert assessment.verdict is Verdict.INCONCLUSIVE
    assert assessment.reasons == [
        "too little data: the baseline has 40 invocations in 20 periods; the minimum is 1000 in 10",
        "too little data: the candidate has 40 invocations in 20 periods; the minimum is 1000 in 10",
    ]


def test_a_slower_candidate_beyond_the_latency_margin_is_rolled_back() -> None:
    assessment = assess(observed(variant(1000, 0.001, jitter(50)), variant(1000, 0.001, jitter(60))), Experiment(), 0.5)

    assert assessment.verdict is Verdict.ROLLBACK
    latency = next(m for m in assessment.metrics if m.metric.name == "latency_mean")
    assert latency.decision is Decision.FAIL
    assert latency.effect == pytest.approx(20.0, abs=0.5)


def test_slower_within_the_margin_passes_and_an_undecided_metric_keeps_it_inconclusive() -> None:
    within = assess(observed(variant(1000, 0.001, jitter(50)), variant(1000, 0.001, jitter(51))), Experiment(), 0.5)
    assert within.verdict is Verdict.PROMOTE

    # 0.30 % against 0.10 %: worse beyond the 0.2-point margin in the estimate, not yet significantly.
    undecided = assess(
        observed(variant(100, 0.001, jitter(50)), variant(100, 0.003, jitter(50))),
        Experiment(min_invocations=1000),
        0.5,
    )
    error_rate = next(m for m in undecided.metrics if m.metric.name == "server_error_rate")
    assert error_rate.decision is Decision.INCONCLUSIVE
    assert undecided.verdict is Verdict.INCONCLUSIVE
    assert error_rate.trials_needed is not None and error_rate.trials_needed > 2000


def test_too_few_periods_leave_latency_undecided() -> None:
    assessment = assess(
        observed(variant(1000, 0.001, 50, count=5), variant(1000, 0.001, 50, count=5)),
        Experiment(min_invocations=1000, min_periods=10),
        0.5,
    )
    latency = next(m for m in assessment.metrics if m.metric.name == "latency_mean")
    assert (latency.decision, latency.detail) == (
        Decision.INCONCLUSIVE,
        "5 periods with data; the test needs 10 per variant",
    )
    assert assessment.verdict is Verdict.INCONCLUSIVE


def test_p99_is_compared_only_when_the_source_gives_it() -> None:
    without = assess(observed(variant(1000, 0.001, jitter(50)), variant(1000, 0.001, jitter(50))), Experiment(), 0.5)
    with_p99 = assess(
        observed(variant(1000, 0.001, jitter(50), p99_ms=200), variant(1000, 0.001, jitter(50), p99_ms=400)),
        Experiment(),
        0.5,
    )
    assert "latency_p99" not in decisions(without.metrics)
    assert decisions(with_p99.metrics)["latency_p99"] is Decision.FAIL
    assert with_p99.verdict is Verdict.ROLLBACK


def test_a_sample_ratio_mismatch_warns_without_deciding() -> None:
    assessment = assess(observed(variant(1000, 0.001, jitter(50)), variant(1000, 0.001, jitter(50))), Experiment(), 0.2)
    traffic = assessment.metrics[0]
    assert traffic.decision is Decision.WARNING
    assert traffic.detail.startswith("the candidate got 50.0% of the invocations, not the 20.0% the weights give")
    assert assessment.verdict is Verdict.PROMOTE


def conversions(rate: float, trials_per_period: float = 500) -> BusinessSeries:
    return BusinessSeries(periods(20, trials_per_period * rate), periods(20, trials_per_period))


def test_business_metrics_decide_in_their_own_direction() -> None:
    conversion = BusinessMetric(
        name="conversion", namespace="Shop", metric="Conversions", kind=MetricKind.PROPORTION, margin=1
    )
    basket = BusinessMetric(
        name="basket_value",
        namespace="Shop",
        metric="Basket",
        kind=MetricKind.CONTINUOUS,
        better=Better.HIGHER,
        margin=5,
    )
    experiment = Experiment(business_metrics=[conversion, basket])
    baseline = variant(
        1000,
        0.001,
        jitter(50),
        business={"conversion": conversions(0.10), "basket_value": BusinessSeries(periods(20, jitter(40)))},
    )
    worse_conversion = variant(
        1000,
        0.001,
        jitter(50),
        business={"conversion": conversions(0.08), "basket_value": BusinessSeries(periods(20, jitter(40)))},
    )
    cheaper_baskets = variant(
        1000,
        0.001,
        jitter(50),
        business={"conversion": conversions(0.10), "basket_value": BusinessSeries(periods(20, jitter(30)))},
    )

    fewer = assess(observed(baseline, worse_conversion), experiment, 0.5)
    smaller = assess(observed(baseline, cheaper_baskets), experiment, 0.5)
    same = assess(observed(baseline, baseline), experiment, 0.5)

    assert decisions(fewer.metrics)["business.conversion"] is Decision.FAIL
    assert fewer.reasons == ["conversion: the candidate is worse by 2.00 points (margin 1.00 points)"]
    assert decisions(smaller.metrics)["business.basket_value"] is Decision.FAIL
    assert same.verdict is Verdict.PROMOTE


def test_a_business_metric_without_data_keeps_the_verdict_inconclusive() -> None:
    experiment = Experiment(
        business_metrics=[
            BusinessMetric(name="conversion", namespace="Shop", metric="C", kind=MetricKind.PROPORTION, margin=1)
        ]
    )
    assessment = assess(observed(variant(1000, 0.001, jitter(50)), variant(1000, 0.001, jitter(50))), experiment, 0.5)
    assert assessment.verdict is Verdict.INCONCLUSIVE
    assert assessment.reasons == ["conversion: no trials for the baseline in the window"]
