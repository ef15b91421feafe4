"""The stack's alarm topic: where every endpoint alarm sends its ALARM and OK notifications.

One topic per stack, not per endpoint: the people to notify are the same for every endpoint, so one
topic means one confirmation e-mail per person and one pager integration, and the alarm name in each
message already names the endpoint and variant.
"""

import hashlib
import re
from collections.abc import Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from ._common import Problem, Tags, check, component_options, type_token

FORMER_TOKEN = "modelplane:monitoring:AlertTopic"
# What the account may do with the topic besides publishing (SNS's default owner rights minus Publish).
OWNER_ACTIONS = (
    "SNS:AddPermission",
    "SNS:DeleteTopic",
    "SNS:GetTopicAttributes",
    "SNS:ListSubscriptionsByTopic",
    "SNS:RemovePermission",
    "SNS:SetTopicAttributes",
    "SNS:Subscribe",
)
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"
HTTPS_PATTERN = r"https://\S+"


class AlertTopicArgs(TypedDict):
    """Who is told, and the key the messages are encrypted with."""

    kms_key_arn: pulumi.Input[str]
    """KMS key encrypting the messages at rest; its policy must let CloudWatch use it."""
    emails: NotRequired[Sequence[str]]
    """E-mail addresses subscribed (each confirms once)."""
    https_endpoints: NotRequired[Sequence[str]]
    """HTTPS webhooks subscribed (pager, chat)."""
    display_name: NotRequired[pulumi.Input[str]]
    """Sender name of e-mail notifications; default `modelplane <stack> alarms`."""
    tags: NotRequired[pulumi.Input[Tags]]
    """Tags of the topic."""


class AlertTopic(pulumi.ComponentResource):
    """An encrypted SNS topic that only this account's CloudWatch alarms may publish to."""

    arn: pulumi.Output[str]
    """Topic ARN, the `alarm_actions` and `ok_actions` target of every endpoint alarm."""

    def __init__(self, name: str, args: AlertTopicArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check("AlertTopic", name, problems(args))
        super().__init__(type_token("AlertTopic"), name, None, component_options(opts, FORMER_TOKEN))
        child = pulumi.ResourceOptions(parent=self)
        topic = aws.sns.Topic(
            f"{name}-topic",
            display_name=args.get("display_name", f"modelplane {pulumi.get_stack()} alarms"),
            kms_master_key_id=args["kms_key_arn"],
            tags=args.get("tags"),
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-policy",
            arn=topic.arn,
            policy=pulumi.Output.json_dumps(topic.arn.apply(topic_policy)),
            opts=child,
        )
        subscribers = [("email", address) for address in args.get("emails", [])] + [
            ("https", url) for url in args.get("https_endpoints", [])
        ]
        for protocol, endpoint in subscribers:
            aws.sns.TopicSubscription(
                f"{name}-{protocol}-{_digest(endpoint)}",
                topic=topic.arn,
                protocol=protocol,
                endpoint=endpoint,
                opts=child,
            )
        self.arn = topic.arn
        self.register_outputs({"arn": self.arn})


def problems(args: AlertTopicArgs) -> list[Problem]:
    """SNS delivers e-mail to addresses and webhooks only over HTTPS (plain HTTP is refused here)."""
    found: list[Problem] = []
    for field, pattern, what in (
        ("emails", EMAIL_PATTERN, "an e-mail address"),
        ("https_endpoints", HTTPS_PATTERN, "an https:// URL"),
    ):
        found += [
            (f"{field}[{index}]", f"{value!r} is not {what}")
            for index, value in enumerate(args.get(field, []))
            if not re.fullmatch(pattern, value)
        ]
    return found


def topic_policy(topic_arn: str) -> dict[str, Any]:
    """The account manages the topic; only CloudWatch alarms of this account and region publish to it."""
    partition, region, account_id = _arn_parts(topic_arn)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountManagesTopic",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                "Action": list(OWNER_ACTIONS),
                "Resource": topic_arn,
            },
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:*"},
                },
            },
        ],
    }


def _arn_parts(topic_arn: str) -> tuple[str, str, str]:
    """Partition, region and account of `arn:<partition>:sns:<region>:<account>:<name>`."""
    _, partition, _, region, account_id, _ = topic_arn.split(":", 5)
    return partition, region, account_id


def _digest(endpoint: str) -> str:
    """A stable logical-name suffix per subscriber that keeps addresses and webhook keys out of URNs."""
    return hashlib.sha256(endpoint.encode()).hexdigest()[:8]
