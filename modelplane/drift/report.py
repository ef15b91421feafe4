"""The drift report as text for the terminal, JSON and Markdown for CI, a PNG for people, and custom
CloudWatch metrics for the stack's drift alarm."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from modelplane.drift.baseline import Baseline, NumericFeature
from modelplane.drift.metrics import (
    CAPTURED_RECORDS,
    DRIFT_NAMESPACE,
    DRIFTED_FEATURES,
    ENDPOINT_DIMENSION,
    FEATURE_DIMENSION,
    FEATURE_DRIFTED,
    FEATURE_PSI,
)
from modelplane.drift.query import WindowAggregates
from modelplane.drift.statistics import DriftReport, FeatureDrift, Verdict
from modelplane.report.charts import new_figure, save_png
from modelplane.report.markdown import cell
from modelplane.settings import DataDrift

MAX_METRICS_PER_CALL = 1000
PLOT_COLUMNS = 3


@dataclass(frozen=True)
class Judged:
    """One run of `modelplane drift`: what was read, against what, and the verdict."""

    endpoint: str
    endpoint_name: str
    variants: list[str]
    start: datetime
    end: datetime
    baseline: Baseline
    window: WindowAggregates
    thresholds: DataDrift
    report: DriftReport
    engine: str
    """`duckdb` or `athena`: where the drift query ran."""
    details: str = ""
    """What the engine adds to the report: Athena's query id and scanned bytes."""


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _status(feature: FeatureDrift) -> str:
    if feature.psi is None:
        return "no values"
    return "DRIFT" if feature.drifted else "ok"


def _headline(judged: Judged) -> str:
    report = judged.report
    if report.verdict is Verdict.INCONCLUSIVE:
        return (
            f"INCONCLUSIVE: {report.rows} captured rows in the window, "
            f"{judged.thresholds.min_records} needed (drift.min_records)"
        )
    if report.verdict is Verdict.DRIFT:
        names = ", ".join(feature.name for feature in report.drifted)
        return f"DRIFT: {len(report.drifted)} of {len(report.features)} features drifted ({names})"
    return f"NO DRIFT: {len(report.features)} features within their baseline"


def render_text(judged: Judged) -> str:
    window = judged.window
    lines = [
        f"modelplane drift: {judged.endpoint} ({judged.endpoint_name}), variants {', '.join(judged.variants)}",
        f"window {judged.start:%Y-%m-%d %H:%M} to {judged.end:%Y-%m-%d %H:%M} UTC: {window.requests} requests, "
        f"{judged.report.rows} rows from {window.files} capture files",
        f"baseline {judged.baseline.source} ({judged.baseline.rows} rows); drift query on {judged.engine}"
        + (f" ({judged.details})" if judged.details else ""),
    ]
    lines += [f"skipped {count} requests: {reason}" for reason, count in sorted(window.skipped.items())]
    if judged.report.features:
        lines += ["", f"  {'feature':<24} {'kind':<12} {'values':>7} {'PSI':>7} {'test':<12} {'p':>9}  verdict"]
        for feature in judged.report.features:
            lines.append(
                f"  {feature.name[:24]:<24} {feature.kind:<12} {feature.count:>7} {_number(feature.psi):>7} "
                f"{feature.test or '-':<12} {_number(feature.p_value, 2):>9}  {_status(feature)}"
            )
            lines += [f"      {reason}" for reason in feature.reasons]
    lines += ["", _headline(judged)]
    return "\n".join(lines)


def render_json(judged: Judged) -> dict[str, Any]:
    """The `--json` document: stable keys, one entry per judged feature."""
    return {
        "endpoint": judged.endpoint,
        "endpoint_name": judged.endpoint_name,
        "variants": judged.variants,
        "window": {"start": judged.start.isoformat(), "end": judged.end.isoformat()},
        "baseline": {"source": judged.baseline.source, "rows": judged.baseline.rows},
        "requests": judged.window.requests,
        "rows": judged.report.rows,
        "capture_files": judged.window.files,
        "skipped": dict(judged.window.skipped),
        "engine": judged.engine,
        "thresholds": judged.thresholds.model_dump(exclude={"enabled"}),
        "alpha": judged.report.alpha,
        "verdict": judged.report.verdict.value,
        "features": [asdict(feature) for feature in judged.report.features],
    }


def render_markdown(judged: Judged) -> str:
    icon = {Verdict.DRIFT: "❌", Verdict.NO_DRIFT: "✅", Verdict.INCONCLUSIVE: "⚠️"}[judged.report.verdict]
    lines = [
        f"### {icon} Input drift of `{judged.endpoint_name}`",
        "",
        f"{_headline(judged)}. Window {judged.start:%Y-%m-%d %H:%M} to {judged.end:%Y-%m-%d %H:%M} UTC, "
        f"{judged.window.requests} requests; baseline `{judged.baseline.source}`.",
    ]
    if judged.report.features:
        lines += ["", "| feature | kind | values | PSI | test | p | verdict |", "|---|---|---:|---:|---|---:|---|"]
        for feature in judged.report.features:
            why = f" ({'; '.join(feature.reasons)})" if feature.reasons else ""
            lines.append(
                f"| `{cell(feature.name)}` | {feature.kind} | {feature.count} | {_number(feature.psi)} | "
                f"{feature.test or '-'} | {_number(feature.p_value, 2)} | {cell(_status(feature) + why)} |"
            )
    return "\n".join(lines) + "\n"


def plot(judged: Judged, path: Path) -> None:
    """Per feature, the baseline's shares next to the window's: decile bins or categories."""
    features = judged.report.features or []
    count = max(len(features), 1)
    columns = min(PLOT_COLUMNS, count)
    lines = -(-count // columns)
    figure = new_figure(lines, columns, width=5 * columns, row_height=3.2, share_x=False)
    axes = figure.axes
    for axis in axes[len(features) :]:
        axis.set_visible(False)
    for axis, feature in zip(axes, features, strict=False):
        baseline = judged.baseline.features[feature.name]
        seen = judged.window.features[feature.name]
        if isinstance(baseline, NumericFeature):
            labels = [f"bin {index + 1}" for index in range(len(baseline.bin_shares))]
            keys = [str(index) for index in range(len(labels))]
            expected = baseline.bin_shares
        else:
            labels = keys = [*baseline.shares, *feature.new_categories]
            expected = [baseline.shares.get(label, 0.0) for label in labels]
        window = np.array([seen.buckets.get(key, 0) for key in keys]) / max(seen.values, 1)
        positions = np.arange(len(labels))
        axis.bar(positions - 0.2, expected, width=0.4, label="baseline")
        axis.bar(
            positions + 0.2, window, width=0.4, label="window", color="tab:red" if feature.drifted else "tab:green"
        )
        axis.set_xticks(positions, labels, rotation=45, ha="right", fontsize=7)
        axis.set_title(f"{feature.name}: {_status(feature)} (PSI {_number(feature.psi)})", fontsize=9)
        axis.set_ylabel("share")
        axis.legend(fontsize=7)
    figure.suptitle(f"{judged.endpoint_name}: {_headline(judged)}", fontsize=10)
    save_png(figure, path)


def metric_data(judged: Judged) -> list[dict[str, Any]]:
    """The datapoints `--publish` writes: per endpoint, and per judged feature."""
    endpoint = {"Name": ENDPOINT_DIMENSION, "Value": judged.endpoint_name}
    data: list[dict[str, Any]] = [
        {"MetricName": CAPTURED_RECORDS, "Dimensions": [endpoint], "Value": judged.report.rows, "Unit": "Count"}
    ]
    if judged.report.verdict is not Verdict.INCONCLUSIVE:
        data.append(
            {
                "MetricName": DRIFTED_FEATURES,
                "Dimensions": [endpoint],
                "Value": len(judged.report.drifted),
                "Unit": "Count",
            }
        )
    for feature in judged.report.features:
        if feature.psi is None:
            continue
        dimensions = [endpoint, {"Name": FEATURE_DIMENSION, "Value": feature.name}]
        data += [
            {"MetricName": FEATURE_PSI, "Dimensions": dimensions, "Value": feature.psi, "Unit": "None"},
            {"MetricName": FEATURE_DRIFTED, "Dimensions": dimensions, "Value": int(feature.drifted), "Unit": "Count"},
        ]
    return [{**datum, "Timestamp": judged.end} for datum in data]


def publish(cloudwatch: Any, judged: Judged) -> int:
    """Put the report's datapoints into `DRIFT_NAMESPACE`; returns how many."""
    data = metric_data(judged)
    for start in range(0, len(data), MAX_METRICS_PER_CALL):
        cloudwatch.put_metric_data(Namespace=DRIFT_NAMESPACE, MetricData=data[start : start + MAX_METRICS_PER_CALL])
    return len(data)
