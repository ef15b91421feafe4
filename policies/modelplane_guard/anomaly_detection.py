"""Production SageMaker endpoints watched for unusual traffic and latency, not only for broken thresholds."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import Severity, StackValidationArgs, StackValidationPolicy

from .common import (
    PRODUCTION_PROPERTY,
    PRODUCTION_SCHEMA,
    Report,
    applies_to,
    as_list,
    as_mapping,
    config_schema,
    of_type,
    production_gate,
    rule,
)
from .sagemaker import ENDPOINT, METRIC_ALARM, watched_endpoints

# What a variant's usual shape is learned for: its traffic and its latency.
ANOMALY_METRICS = ("Invocations", "ModelLatency")
_BAND = re.compile(r"^\s*ANOMALY_DETECTION_BAND\s*\(\s*(\w+)\s*(,[^)]*)?\)\s*$")


def anomaly_watched(props: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(endpoint name, metric) pairs an alarm judges against an anomaly-detection band.

    The band is the alarm's threshold (`thresholdMetricId`) and must be computed from a metric of
    the same alarm; an expression that merely mentions the function is not enough.
    """
    queries = {str(as_mapping(query).get("id")): as_mapping(query) for query in as_list(props.get("metricQueries"))}
    band = queries.get(str(props.get("thresholdMetricId")))
    match = _BAND.match(str(band.get("expression") or "")) if band else None
    observed = as_mapping(queries.get(match.group(1), {}).get("metric")) if match else {}
    if not observed:
        return set()
    return {(endpoint, str(observed.get("metricName"))) for endpoint in watched_endpoints(props)}


def _anomaly_alarms(args: StackValidationArgs, report: Report) -> None:
    production_gate(args)
    watched = set().union(*(anomaly_watched(alarm.props) for alarm in of_type(args.resources, METRIC_ALARM)))
    for endpoint in of_type(args.resources, ENDPOINT):
        endpoint_name = str(endpoint.props.get("name"))
        if missing := [metric for metric in ANOMALY_METRICS if (endpoint_name, metric) not in watched]:
            report(
                f"endpoint {endpoint_name!r} has no anomaly-detection alarm on {' or '.join(missing)}: "
                "a change in its usual traffic or latency goes unnoticed until a static threshold breaks.",
                endpoint.urn,
            )


anomaly_alarms = StackValidationPolicy(
    name="sagemaker-anomaly-alarms",
    description="Production SageMaker endpoints have CloudWatch anomaly-detection alarms on Invocations and ModelLatency.",
    validate=rule(_anomaly_alarms),
    severity=Severity.LOW,
    remediation_steps="Leave alarms.anomaly_detection enabled (the prod default): every variant then gets ANOMALY_DETECTION_BAND alarms on Invocations and ModelLatency.",
    tags=["sagemaker", "monitoring", *applies_to(ENDPOINT, METRIC_ALARM)],
    config_schema=config_schema({PRODUCTION_PROPERTY: PRODUCTION_SCHEMA}),
)

POLICIES = [anomaly_alarms]
