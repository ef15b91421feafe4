"""Prometheus alerts of a Kubernetes model service: error rate and p99 latency per variant."""

from collections.abc import Sequence
from typing import Any

from .monitoring_args import Thresholds

REQUESTS_METRIC = "http_requests_total"
LATENCY_METRIC = "http_request_duration_seconds"


def alert_group(
    instance: str,
    namespace: str,
    services: Sequence[tuple[str, str, bool]],
    thresholds: Thresholds,
    *,
    critical: bool,
) -> dict[str, Any]:
    """Error-rate and p99-latency alerts per (variant, Service name, is shadow), over the metrics the ServiceMonitor scrapes.

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
    return {"name": f"{instance}.modelplane", "rules": rules}
