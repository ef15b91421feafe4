"""CloudWatch logs and alarms, SNS alarm topics: retained and encrypted logs, alarms that reach someone."""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy, Severity

from .common import (
    AWS_MANAGED_KEY,
    Report,
    applies_to,
    as_list,
    as_number,
    aws_managed_key_problem,
    config_schema,
    for_types,
    is_false,
    number_text,
    sources,
)

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


@for_types(LOG_GROUP)
def _retention(args: ResourceValidationArgs, report: Report) -> None:
    days = as_number(args.props.get("retentionInDays"))
    if not days:
        report("retentionInDays is not set: logs are kept forever.")
        return
    minimum = as_number(args.get_config().get("minRetentionDays")) or 1
    if days < minimum:
        report(f"retentionInDays is {number_text(days)}; keep logs at least {number_text(minimum)} days.")


log_retention = ResourceValidationPolicy(
    name="cloudwatch-log-retention",
    description="CloudWatch log groups expire logs after a set period, no shorter than the environment's minimum.",
    validate=_retention,
    severity=Severity.MEDIUM,
    remediation_steps="Set monitoring.log_retention_days (retention_in_days) to a value at or above the minimum.",
    tags=["logging", "retention", *sources("CKV_AWS_66", "CKV_AWS_338"), *applies_to(LOG_GROUP)],
    config_schema=config_schema(
        {
            "minRetentionDays": {
                "type": "number",
                "minimum": 1,
                "default": 1,
                "description": "Shortest accepted retention in days (365 for production).",
            }
        }
    ),
)


@for_types(LOG_GROUP)
def _log_encryption(args: ResourceValidationArgs, report: Report) -> None:
    key = args.props.get("kmsKeyId")
    if not key:
        report("kmsKeyId is not set: model logs (which may echo request data) are not under the customer key.")
    elif problem := aws_managed_key_problem("kmsKeyId", key):
        report(problem)


log_encryption = ResourceValidationPolicy(
    name="cloudwatch-log-encryption",
    description="CloudWatch log groups are encrypted with a customer managed KMS key.",
    validate=_log_encryption,
    severity=Severity.MEDIUM,
    remediation_steps="Set kms_key_id on the log group to the stack key (its key policy must allow logs.<region>.amazonaws.com).",
    tags=["logging", "encryption", *sources("CKV_AWS_158"), *applies_to(LOG_GROUP)],
)


@for_types(TOPIC)
def _topic_encryption(args: ResourceValidationArgs, report: Report) -> None:
    key = args.props.get("kmsMasterKeyId")
    if not key:
        report("kmsMasterKeyId is not set: messages are stored unencrypted.")
    elif isinstance(key, str) and AWS_MANAGED_KEY.search(key):
        report(f"kmsMasterKeyId is the AWS managed key {key}, whose policy CloudWatch alarms cannot publish through.")


topic_encryption = ResourceValidationPolicy(
    name="sns-topic-encryption",
    description="SNS topics are encrypted with a customer managed KMS key that alarm publishers may use.",
    validate=_topic_encryption,
    severity=Severity.MEDIUM,
    remediation_steps="Set kms_master_key_id to the stack key, whose policy allows cloudwatch.amazonaws.com to use it.",
    tags=["sns", "encryption", *sources("CKV_AWS_26"), *applies_to(TOPIC)],
)


@for_types(SUBSCRIPTION)
def _https_subscriptions(args: ResourceValidationArgs, report: Report) -> None:
    if args.props.get("protocol") == "http":
        report("protocol is http: alarm notifications would travel unencrypted.")


https_subscriptions = ResourceValidationPolicy(
    name="sns-https-subscriptions",
    description="SNS subscriptions deliver over HTTPS, never plain HTTP.",
    validate=_https_subscriptions,
    severity=Severity.MEDIUM,
    remediation_steps="Subscribe an https:// endpoint (monitoring.https_endpoints).",
    tags=["sns", "encryption-in-transit", *applies_to(SUBSCRIPTION)],
)


@for_types(METRIC_ALARM)
def _alarm_actions(args: ResourceValidationArgs, report: Report) -> None:
    if is_false(args.props.get("actionsEnabled")):
        report("actionsEnabled is false: the alarm notifies nobody.")
    elif not as_list(args.props.get("alarmActions")):
        report("alarmActions is empty: the alarm notifies nobody.")


alarm_actions = ResourceValidationPolicy(
    name="cloudwatch-alarm-actions",
    description="CloudWatch alarms have actions enabled and notify at least one target.",
    validate=_alarm_actions,
    severity=Severity.MEDIUM,
    remediation_steps="Send alarm_actions (and ok_actions) to the stack's alarm topic; leave actions_enabled on.",
    tags=["monitoring", *applies_to(METRIC_ALARM)],
)

POLICIES = [log_retention, log_encryption, topic_encryption, https_subscriptions, alarm_actions]
