"""`modelplane compare --plot`: the per-period series of both variants, one panel per metric, each
titled with its decision, so a reviewer sees the curves behind the verdict."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

from modelplane.abtest.decision import Assessment, MetricResult
from modelplane.abtest.observations import BusinessSeries, Observations, Series, VariantSeries
from modelplane.abtest.report import Context
from modelplane.report.charts import BASELINE_STYLE, CANDIDATE_STYLE, LineStyle, new_figure, plot_series, save_png
from modelplane.settings import BusinessMetric, MetricKind

Extract = Callable[[VariantSeries], Series]


def draw(
    path: Path,
    context: Context,
    observations: Observations,
    assessment: Assessment,
    business_metrics: list[BusinessMetric],
) -> None:
    results = {result.metric.name: result for result in assessment.metrics}
    panels: list[tuple[str, str, Extract, Extract | None]] = [
        ("traffic", "invocations per period", lambda v: v.invocations, None),
        ("server_error_rate", "5XX error rate (%)", lambda v: _rate(v.server_errors, v.invocations), None),
    ]
    if "model_error_rate" in results:
        panels.append(
            ("model_error_rate", "model error rate (%)", lambda v: _rate(v.model_errors or {}, v.invocations), None)
        )
    panels.append(
        (
            "latency_mean",
            "model latency (ms): mean, p99 dotted" if "latency_p99" in results else "model latency, mean (ms)",
            lambda v: v.latency_ms,
            (lambda v: v.latency_p99_ms or {}) if "latency_p99" in results else None,
        )
    )
    for metric in business_metrics:
        panels.append(
            (
                f"business.{metric.name}",
                f"{metric.name} (%)" if metric.kind is MetricKind.PROPORTION else metric.name,
                _business_extract(metric),
                None,
            )
        )
    figure = new_figure(len(panels))
    axes = figure.axes
    baseline, candidate = context.baseline.variant, context.candidate.variant
    for axis, (name, title, extract, extra) in zip(axes, panels, strict=True):
        for variant, style, label in (
            (observations.baseline, BASELINE_STYLE, f"baseline {baseline}"),
            (observations.candidate, CANDIDATE_STYLE, f"candidate {candidate}"),
        ):
            plot_series(axis, extract(variant), style, label)
            if extra is not None:
                plot_series(axis, extra(variant), LineStyle(style.color, ":", 1.0))
        heading = textwrap.shorten(f"{title} - {_verdict_of(results.get(name))}", 130, placeholder=" ...")
        axis.set_title(heading, loc="left", fontsize=9)
        drawn = [
            value for variant in (observations.baseline, observations.candidate) for value in extract(variant).values()
        ]
        if drawn and min(drawn) >= 0:
            axis.set_ylim(bottom=0)
        axis.grid(visible=True, alpha=0.3)
        axis.tick_params(labelsize=8)
    axes[0].legend(loc="best", fontsize=8)
    figure.suptitle(
        f"{context.endpoint} in {context.stack}: {assessment.verdict.value.upper()}"
        f"  ({context.window.describe()}, {context.period_seconds} s periods)",
        fontsize=10,
    )
    save_png(figure, path)


def _rate(events: Series, trials: Series) -> Series:
    return {time: 100 * events.get(time, 0.0) / count for time, count in trials.items() if count > 0}


def _business_extract(metric: BusinessMetric) -> Extract:
    def extract(variant: VariantSeries) -> Series:
        series = variant.business.get(metric.name, BusinessSeries({}))
        if metric.kind is MetricKind.PROPORTION:
            return _rate(series.values, series.trials or {})
        return series.values

    return extract


def _verdict_of(result: MetricResult | None) -> str:
    if result is None:
        return "not compared"
    return f"{result.decision.value}: {result.detail}" if result.detail else result.decision.value
