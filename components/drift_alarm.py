"""An alarm on the input drift `modelplane drift --publish` reports for an endpoint.

The drift command runs on a schedule (CI or cron), so its metric arrives once per run. Missing data
keeps the alarm's state (`ignore`): a drifted report holds the alarm in ALARM until a later run
reports no drifted feature.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from modelplane.drift.metrics import DRIFT_NAMESPACE, DRIFTED_FEATURES, ENDPOINT_DIMENSION

RUNBOOK = "docs/alarms.md"
SIGNAL = "input-drift"
PERIOD_SECONDS = 3600


def drift_alarm_name(endpoint_name: str) -> str:
    return f"{endpoint_name}-{SIGNAL}"


def drift_alarm(
    resource_name: str,
    *,
    endpoint_name: str,
    topic_arn: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> aws.cloudwatch.MetricAlarm:
    """ALARM while the latest published drift report of `endpoint_name` names at least one drifted feature."""
    return aws.cloudwatch.MetricAlarm(
        f"{resource_name}-{SIGNAL}",
        name=drift_alarm_name(endpoint_name),
        namespace=DRIFT_NAMESPACE,
        metric_name=DRIFTED_FEATURES,
        dimensions={ENDPOINT_DIMENSION: endpoint_name},
        statistic="Maximum",
        period=PERIOD_SECONDS,
        evaluation_periods=1,
        threshold=0,
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="ignore",
        actions_enabled=True,
        alarm_actions=[topic_arn],
        ok_actions=[topic_arn],
        alarm_description=(
            f"Inputs of {endpoint_name} drifted from the training baseline (modelplane drift --publish): "
            f"run `modelplane drift` for the per-feature report. Runbook: {RUNBOOK}#{SIGNAL}"
        ),
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
