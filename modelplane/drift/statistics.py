"""Each feature of a window compared with its baseline, from the drift query's aggregates.

Numeric features: the population stability index over the baseline's decile bins (an effect size:
how far the shape moved) and scipy's two-sample Kolmogorov-Smirnov test of the window's values against
the baseline's sample (whether the move is more than chance); a window of more than `KS_SAMPLE_SIZE`
values is tested through a uniform sample of that many. Categorical features: the stability index over the
categories, scipy's chi-squared goodness-of-fit test of the known categories against the baseline's
shares, and the categories the baseline never saw (new) or that no longer appear (missing).

The tests share one significance level across all judged features (Bonferroni), so judging more
features does not raise the odds of a false alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import cast

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from modelplane.drift.baseline import Baseline, CategoricalFeature, NumericFeature
from modelplane.drift.query import FeatureAggregate, WindowAggregates
from modelplane.settings import DataDrift

# Shares are floored before the logarithm of the stability index: a bin empty on one side would
# otherwise make it infinite.
PSI_FLOOR = 1e-4
# Chi-squared needs an expected count of about 5 per category; a baseline category expected less
# often than that is not reported missing when it does not appear.
MIN_EXPECTED = 5


class Verdict(StrEnum):
    DRIFT = "drift"
    NO_DRIFT = "no-drift"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    kind: str
    count: int
    """Values of the feature in the window."""
    missing: int
    """Rows without the feature (or with a value that is not a number, for a numeric feature)."""
    psi: float | None
    test: str | None
    """`ks` or `chi-squared`."""
    statistic: float | None
    p_value: float | None
    new_categories: dict[str, float] = field(default_factory=dict)
    """Categories the baseline never saw, with their share of the window's values."""
    missing_categories: list[str] = field(default_factory=list)
    drifted: bool = False
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DriftReport:
    verdict: Verdict
    rows: int
    features: list[FeatureDrift]
    alpha: float
    """Significance level of each test after the Bonferroni correction."""

    @property
    def drifted(self) -> list[FeatureDrift]:
        return [feature for feature in self.features if feature.drifted]


def population_stability_index(expected: ArrayLike, actual: ArrayLike) -> float:
    """sum of (actual - expected) * ln(actual / expected) over bins, each share floored at `PSI_FLOOR`."""
    e = np.maximum(np.asarray(expected, dtype=float), PSI_FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def compare(baseline: Baseline, window: WindowAggregates, thresholds: DataDrift) -> DriftReport:
    """Every baseline feature the window's rows carry, judged; fewer rows than `min_records` is inconclusive."""
    present = [name for name in baseline.columns if name in window.features]
    alpha = thresholds.p_value / max(len(present), 1)
    if window.rows < thresholds.min_records:
        return DriftReport(Verdict.INCONCLUSIVE, window.rows, [], alpha)
    features = []
    for name in present:
        feature, seen = baseline.features[name], window.features[name]
        if isinstance(feature, NumericFeature):
            features.append(_numeric(name, feature, seen, rows=window.rows, thresholds=thresholds, alpha=alpha))
        else:
            features.append(_categorical(name, feature, seen, rows=window.rows, thresholds=thresholds, alpha=alpha))
    verdict = Verdict.DRIFT if any(feature.drifted for feature in features) else Verdict.NO_DRIFT
    return DriftReport(verdict, window.rows, features, alpha)


def _numeric(
    name: str, feature: NumericFeature, seen: FeatureAggregate, *, rows: int, thresholds: DataDrift, alpha: float
) -> FeatureDrift:
    if not seen.values:
        return FeatureDrift(name, "numeric", 0, rows, None, None, None, None)
    bins = np.array([seen.buckets.get(str(index), 0) for index in range(len(feature.bin_shares))])
    psi = population_stability_index(feature.bin_shares, bins / seen.values)
    # scipy's "auto" method takes the exact distribution up to 10,000 values a side, the asymptotic one above. A
    # window of more values than its sample (`KS_SAMPLE_SIZE`, 10,000) is tested with the method scipy chooses for
    # that many: the exact one takes 0.1-0.2 s a feature on a sample of 10,000 that moved.
    method = "asymp" if seen.values > len(seen.sample) else "auto"
    statistic, p_value = map(
        float, cast(tuple[float, float], stats.ks_2samp(feature.sample, seen.sample_values, method=method))
    )
    reasons = []
    if psi >= thresholds.psi_threshold:
        reasons.append(f"PSI {psi:.3f} >= {thresholds.psi_threshold:g}")
    if p_value < alpha:
        reasons.append(f"KS p = {p_value:.2g} < {alpha:.2g}")
    return FeatureDrift(
        name,
        "numeric",
        seen.values,
        rows - seen.values,
        psi,
        "ks",
        statistic,
        p_value,
        {},
        [],
        bool(reasons),
        reasons,
    )


def _categorical(
    name: str, feature: CategoricalFeature, seen: FeatureAggregate, *, rows: int, thresholds: DataDrift, alpha: float
) -> FeatureDrift:
    counts, total = seen.buckets, seen.values
    if not total:
        return FeatureDrift(name, "categorical", 0, rows, None, None, None, None)
    categories = list(feature.shares)
    new = {category: count / total for category, count in counts.items() if category not in feature.shares}
    union = categories + sorted(new)
    psi = population_stability_index(
        [feature.shares.get(c, 0.0) for c in union], [counts.get(c, 0) / total for c in union]
    )
    known = sum(counts[c] for c in categories)
    reasons = []
    statistic = p_value = None
    missing: list[str] = []
    if known:
        expected = np.array([feature.shares[c] for c in categories]) * known
        chi2, chi2_p = stats.chisquare([counts[c] for c in categories], expected)
        statistic, p_value = float(chi2), float(chi2_p)
        missing = [c for c, e in zip(categories, expected, strict=True) if counts[c] == 0 and e >= MIN_EXPECTED]
        if p_value < alpha:
            reasons.append(f"chi-squared p = {p_value:.2g} < {alpha:.2g}")
    new_share = sum(new.values())
    if new_share >= thresholds.new_category_share:
        reasons.append(f"{new_share:.1%} of values in categories the baseline never saw")
    if missing:
        reasons.append(f"missing categories: {', '.join(missing)}")
    return FeatureDrift(
        name,
        "categorical",
        total,
        rows - total,
        psi,
        "chi-squared" if known else None,
        statistic,
        p_value,
        dict(sorted(new.items(), key=lambda item: -item[1])),
        missing,
        bool(reasons),
        reasons,
    )
