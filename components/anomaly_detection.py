"""Anomaly detection: alarms on a variant's traffic and latency leaving their usual shape.

Static thresholds catch a variant that is broken; these catch one that is unusual: traffic or
latency outside the band CloudWatch has learned for that time of day and day of week. On SageMaker
each alarm is `ANOMALY_DETECTION_BAND` metric math with the band as the alarm's threshold
(`ThresholdMetricId`); CloudWatch creates and trains the model itself from the metric's history.
On Kubernetes, Prometheus has no trained model: the rules compare each variant with the same hour a
week earlier (a z-score).

None of these alarms rolls a deployment back: a new model version legitimately changes the shape
of its latency, and a release must not be undone for being different.

The functions take plain values (names, band, topic, tags, parent) so any component can add them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pulumi
import pulumi_aws as aws

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
RUNBOOK = "docs/alarms.md"
# Query ids of the alarm's metric math: the observed metric and the band around it.
OBSERVED_ID = "observed"
BAND_ID = "band"
# Kubernetes: the same moment a week earlier, judged over the hour around it.
BASELINE_OFFSET = "6d23h30m"
BASELINE_WINDOW = "1h"
RATE_WINDOW = "5m"


class AnomalySignal(StrEnum):
    """What an anomaly alarm watches; the value ends the alarm name and is the runbook anchor."""

    TRAFFIC = "invocations-anomaly"
    LATENCY = "model-latency-anomaly"


@dataclass(frozen=True)
class AnomalyBand:
    """How wide the expected band is and how long a variant may stay outside it."""

    width: float
    """Standard deviations between the expected value and each edge of the band."""
    period_seconds: int
    """Metric period the model is trained and judged on."""
    evaluation_periods: int
    """Periods looked at."""
    datapoints_to_alarm: int
    """Periods outside the band, out of `evaluation_periods`, that raise the alarm."""


@dataclass(frozen=True)
class _Watch:
    metric: str
    statistic: str
    comparison: str
    meaning: str
    action: str


# Traffic may be unusual either way (a caller stopped, or a retry storm); latency only upwards.
_WATCHES = {
    AnomalySignal.TRAFFIC: _Watch(
        "Invocations",
        "Sum",
        "LessThanLowerOrGreaterThanUpperThreshold",
        "invocations outside the expected band",
        "Traffic left its usual shape for this hour and weekday: did a caller stop, change its retries, or "
        "did the variant weights change?",
    ),
    AnomalySignal.LATENCY: _Watch(
        "ModelLatency",
        "Average",
        "GreaterThanUpperThreshold",
        "average model latency above the expected band",
        "The model answers slower than usual for this time: compare with the other variants and the "
        "utilisation graphs on the dashboard; after a release, decide whether the new shape is expected.",
    ),
}


def anomaly_alarm_name(endpoint_name: str, variant_name: str, signal: AnomalySignal) -> str:
    """`<endpoint-name>-<variant>-<signal>`, like every other alarm of the endpoint."""
    return f"{endpoint_name}-{variant_name}-{signal}"


def anomaly_alarms(
    resource_name: str,
    *,
    endpoint_name: str,
    variant_name: str,
    band: AnomalyBand,
    topic_arn: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    shadow: bool = False,
) -> list[aws.cloudwatch.MetricAlarm]:
    """One alarm per `AnomalySignal` on the variant's metrics, notifying `topic_arn` on ALARM and OK."""
    role = "Shadow variant (answers no caller)" if shadow else "Variant"
    return [
        aws.cloudwatch.MetricAlarm(
            f"{resource_name}-{variant_name}-{signal}",
            name=anomaly_alarm_name(endpoint_name, variant_name, signal),
            actions_enabled=True,
            alarm_actions=[topic_arn],
            ok_actions=[topic_arn],
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=parent),
            **anomaly_alarm_args(signal, endpoint_name, variant_name, band, role=role),
        )
        for signal in AnomalySignal
    ]


def anomaly_alarm_args(
    signal: AnomalySignal, endpoint_name: str, variant_name: str, band: AnomalyBand, *, role: str = "Variant"
) -> dict[str, Any]:
    """The alarm's metric math, band threshold, evaluation and description.

    Missing data does not breach: a quiet period publishes no datapoints, and silence of a prod
    variant is the static `no-invocations` alarm's job.
    """
    watch = _WATCHES[signal]
    return {
        "metric_queries": [
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=OBSERVED_ID,
                return_data=True,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=SAGEMAKER_NAMESPACE,
                    metric_name=watch.metric,
                    dimensions={"EndpointName": endpoint_name, "VariantName": variant_name},
                    period=band.period_seconds,
                    stat=watch.statistic,
                ),
            ),
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=BAND_ID,
                expression=band_expression(OBSERVED_ID, band.width),
                label=f"{watch.metric} (expected)",
                return_data=True,
            ),
        ],
        "threshold_metric_id": BAND_ID,
        "comparison_operator": watch.comparison,
        "evaluation_periods": band.evaluation_periods,
        "datapoints_to_alarm": band.datapoints_to_alarm,
        "treat_missing_data": "notBreaching",
        "alarm_description": (
            f"{role} {variant_name} of {endpoint_name}: {watch.meaning} ({band.width:g} standard deviations) in "
            f"{band.datapoints_to_alarm} of {band.evaluation_periods} periods of {band.period_seconds} s. "
            f"{watch.action} Not a rollback alarm. Runbook: {RUNBOOK}#{signal}"
        ),
    }


def band_expression(metric_id: str, width: float) -> str:
    return f"ANOMALY_DETECTION_BAND({metric_id}, {width:g})"


def anomaly_graphs(
    endpoint_name: str, variant_names: Sequence[str], band: AnomalyBand
) -> list[tuple[str, list[list[Any]]]]:
    """Dashboard graphs (title, metrics) of each variant's traffic and latency with its expected band."""

    def with_bands(signal: AnomalySignal) -> list[list[Any]]:
        watch = _WATCHES[signal]
        lines: list[list[Any]] = []
        for index, variant in enumerate(variant_names):
            metric_id = f"{signal.name.lower()}{index}"
            lines += [
                [
                    SAGEMAKER_NAMESPACE,
                    watch.metric,
                    "EndpointName",
                    endpoint_name,
                    "VariantName",
                    variant,
                    {"id": metric_id, "stat": watch.statistic, "label": variant},
                ],
                [{"expression": band_expression(metric_id, band.width), "label": f"{variant} expected"}],
            ]
        return lines

    return [
        ("Invocations and their expected band", with_bands(AnomalySignal.TRAFFIC)),
        ("Average model latency and its expected band (microseconds)", with_bands(AnomalySignal.LATENCY)),
    ]


def prometheus_anomaly_rules(
    *,
    selector: str,
    requests_metric: str,
    latency_metric: str,
    band_width: float,
    hold: str,
    labels: Mapping[str, str],
    summary_prefix: str,
) -> list[dict[str, Any]]:
    """Alerts when a variant's request rate or mean latency is `band_width` standard deviations away
    from the same hour a week earlier; the Kubernetes counterpart of the CloudWatch alarms.

    The baseline is the mean and standard deviation over `BASELINE_WINDOW` centred on the same
    moment last week (a subquery at `RATE_WINDOW` resolution). A flat baseline (deviation 0) gives
    no z-score rather than an infinite one, and a week without history gives none at all.
    """
    rate = f"sum(rate({requests_metric}{{{selector}}}[{RATE_WINDOW}]))"
    latency = (
        f"sum(rate({latency_metric}_sum{{{selector}}}[{RATE_WINDOW}]))"
        f" / sum(rate({latency_metric}_count{{{selector}}}[{RATE_WINDOW}]))"
    )

    def z_score(series: str) -> str:
        past = f"({series})[{BASELINE_WINDOW}:{RATE_WINDOW}] offset {BASELINE_OFFSET}"
        return f"(({series}) - avg_over_time({past})) / (stddev_over_time({past}) > 0)"

    return [
        {
            "alert": "ModelTrafficAnomaly",
            "expr": f"abs({z_score(rate)}) > {band_width:g}",
            "for": hold,
            "labels": dict(labels),
            "annotations": {
                "summary": f"{summary_prefix}: request rate more than {band_width:g} standard deviations "
                "from the same hour last week",
                "runbook": f"{RUNBOOK}#{AnomalySignal.TRAFFIC}",
            },
        },
        {
            "alert": "ModelLatencyAnomaly",
            "expr": f"{z_score(latency)} > {band_width:g}",
            "for": hold,
            "labels": dict(labels),
            "annotations": {
                "summary": f"{summary_prefix}: mean latency more than {band_width:g} standard deviations "
                "above the same hour last week",
                "runbook": f"{RUNBOOK}#{AnomalySignal.LATENCY}",
            },
        },
    ]
