"""Prometheus alerts of a Kubernetes model service: error rate and p99 latency per variant, and with
anomaly detection each variant's traffic and latency against the same hour a week earlier."""

from collections.abc import Mapping, Sequence
from typing import Any

from .monitoring import RUNBOOK, Signal
from .monitoring_args import AnomalyBand, Thresholds

REQUESTS_METRIC = "http_requests_total"
LATENCY_METRIC = "http_request_duration_seconds"
# Anomaly detection: the same moment a week earlier, judged over the hour around it.
BASELINE_OFFSET = "6d23h30m"
BASELINE_WINDOW = "1h"
RATE_WINDOW = "5m"


def alert_group(
    instance: str,
    namespace: str,
    services: Sequence[tuple[str, str, bool]],
    thresholds: Thresholds,
    *,
    critical: bool,
) -> dict[str, Any]:
    """Error-rate and p99-latency alerts per (variant, Service name, is shadow), over the metrics the ServiceMonitor
    scrapes, and with anomaly detection the traffic and latency z-scores against the same hour last week.

    The CloudWatch-style thresholds map onto Prometheus as: rate window = evaluation periods x
    period, `for` = datapoints to alarm x period.
    """
    window = f"{thresholds.evaluation_periods * thresholds.period_seconds}s"
    hold = f"{thresholds.datapoints_to_alarm * thresholds.period_seconds}s"
    rules = []
    for variant, service, is_shadow in services:
        selector = f'namespace="{namespace}",service="{service}"'
        labels = {
            "severity": "critical" if critical and not is_shadow else "warning",
            "endpoint": instance,
            "variant": variant,
        }
        rules += [
            {
                "alert": "ModelServerErrorRateHigh",
                "expr": (
                    f'100 * sum(rate({REQUESTS_METRIC}{{{selector},code=~"5.."}}[{window}]))'
                    f" / sum(rate({REQUESTS_METRIC}{{{selector}}}[{window}])) > {thresholds.error_rate_percent}"
                ),
                "for": hold,
                "labels": labels,
                "annotations": {
                    "summary": f"{instance}/{variant}: more than {thresholds.error_rate_percent}% of requests fail with 5XX"
                },
            },
            {
                "alert": "ModelServerLatencyP99High",
                "expr": (
                    f"1000 * histogram_quantile(0.99, sum by (le) (rate({LATENCY_METRIC}_bucket{{{selector}}}[{window}])))"
                    f" > {thresholds.latency_p99_ms}"
                ),
                "for": hold,
                "labels": labels,
                "annotations": {"summary": f"{instance}/{variant}: p99 latency above {thresholds.latency_p99_ms} ms"},
            },
        ]
        if thresholds.anomaly_detection is not None:
            # Unusual is not broken: these warn, never page.
            rules += _anomaly_rules(
                selector, thresholds.anomaly_band, {**labels, "severity": "warning"}, f"{instance}/{variant}"
            )
    return {"name": f"{instance}.modelplane", "rules": rules}


def _anomaly_rules(
    selector: str, band: AnomalyBand, labels: Mapping[str, str], summary_prefix: str
) -> list[dict[str, Any]]:
    """Alerts when a variant's request rate or mean latency is `band.width` standard deviations away from the
    same hour a week earlier: Prometheus has no trained model, so this z-score stands in for CloudWatch's band.

    The baseline is the mean and standard deviation over `BASELINE_WINDOW` centred on the same
    moment last week (a subquery at `RATE_WINDOW` resolution). A flat baseline (deviation 0) gives
    no z-score rather than an infinite one, and a week without history gives none at all.
    """
    rate = f"sum(rate({REQUESTS_METRIC}{{{selector}}}[{RATE_WINDOW}]))"
    latency = (
        f"sum(rate({LATENCY_METRIC}_sum{{{selector}}}[{RATE_WINDOW}]))"
        f" / sum(rate({LATENCY_METRIC}_count{{{selector}}}[{RATE_WINDOW}]))"
    )
    hold = f"{band.datapoints_to_alarm * band.period_seconds}s"

    def z_score(series: str) -> str:
        past = f"({series})[{BASELINE_WINDOW}:{RATE_WINDOW}] offset {BASELINE_OFFSET}"
        return f"(({series}) - avg_over_time({past})) / (stddev_over_time({past}) > 0)"

    return [
        {
            "alert": "ModelTrafficAnomaly",
            "expr": f"abs({z_score(rate)}) > {band.width:g}",
            "for": hold,
            "labels": dict(labels),
            "annotations": {
                "summary": f"{summary_prefix}: request rate more than {band.width:g} standard deviations "
                "from the same hour last week",
                "runbook": f"{RUNBOOK}#{Signal.TRAFFIC_ANOMALY}",
            },
        },
        {
            "alert": "ModelLatencyAnomaly",
            "expr": f"{z_score(latency)} > {band.width:g}",
            "for": hold,
            "labels": dict(labels),
            "annotations": {
                "summary": f"{summary_prefix}: mean latency more than {band.width:g} standard deviations "
                "above the same hour last week",
                "runbook": f"{RUNBOOK}#{Signal.LATENCY_ANOMALY}",
            },
        },
    ]
