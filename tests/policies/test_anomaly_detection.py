"""Rules of `policies/modelplane_guard/anomaly_detection.py` (anomaly-detection alarms of production endpoints):
compliant and non-compliant inputs, with the exact messages each rule reports."""

from __future__ import annotations

from typing import Any

import pytest

from policies.modelplane_guard import anomaly_detection
from tests.policies.harness import (
    ALARM,
    ENDPOINT,
    NOT_APPLICABLE,
    TOPIC_ARN,
    Case,
    Res,
    case_id,
    endpoint,
    math_alarm,
    patched,
    run,
    uncovered,
)


def anomaly_alarm(metric: str, endpoint_name: str = "fraud-prod") -> dict[str, Any]:
    """A band alarm as the monitoring component makes it: the observed metric and the band over it."""
    dimensions = {"EndpointName": endpoint_name, "VariantName": "champion"}
    return {
        "name": f"{endpoint_name}-champion-{metric}-anomaly",
        "alarmActions": [TOPIC_ARN],
        "comparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold",
        "thresholdMetricId": "band",
        "metricQueries": [
            {
                "id": "observed",
                "returnData": True,
                "metric": {"namespace": "AWS/SageMaker", "metricName": metric, "dimensions": dimensions},
            },
            {"id": "band", "expression": "ANOMALY_DETECTION_BAND(observed, 2)", "returnData": True},
        ],
    }


CASES: list[Case] = [
    Case(
        "sagemaker-anomaly-alarms",
        "traffic-and-latency-banded",
        [
            Res(ENDPOINT, "endpoint", endpoint()),
            Res(ALARM, "traffic", anomaly_alarm("Invocations")),
            Res(ALARM, "latency", anomaly_alarm("ModelLatency")),
        ],
        [],
    ),
    Case(
        "sagemaker-anomaly-alarms",
        "static-alarms-only",
        [Res(ENDPOINT, "endpoint", endpoint()), Res(ALARM, "alarm", math_alarm())],
        [
            "endpoint: endpoint 'fraud-prod' has no anomaly-detection alarm on Invocations or ModelLatency: a change in its usual traffic or latency goes unnoticed until a static threshold breaks."
        ],
    ),
    Case(
        "sagemaker-anomaly-alarms",
        "band-not-the-threshold",
        [
            Res(ENDPOINT, "endpoint", endpoint()),
            Res(ALARM, "traffic", anomaly_alarm("Invocations")),
            Res(ALARM, "latency", patched(anomaly_alarm("ModelLatency"), "thresholdMetricId", "observed")),
        ],
        [
            "endpoint: endpoint 'fraud-prod' has no anomaly-detection alarm on ModelLatency: a change in its usual traffic or latency goes unnoticed until a static threshold breaks."
        ],
    ),
    Case(
        "sagemaker-anomaly-alarms",
        "bands-of-another-endpoint",
        [
            Res(ENDPOINT, "endpoint", endpoint()),
            Res(ALARM, "traffic", anomaly_alarm("Invocations", endpoint_name="churn-prod")),
            Res(ALARM, "latency", anomaly_alarm("ModelLatency")),
        ],
        [
            "endpoint: endpoint 'fraud-prod' has no anomaly-detection alarm on Invocations: a change in its usual traffic or latency goes unnoticed until a static threshold breaks."
        ],
    ),
    Case(
        "sagemaker-anomaly-alarms",
        "not-production",
        [Res(ENDPOINT, "endpoint", endpoint())],
        NOT_APPLICABLE,
        config={"production": False},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(anomaly_detection.POLICIES, CASES) == []
