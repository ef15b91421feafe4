"""Rules of `policies/modelplane_guard/account_logs.py` (audit logs one account-level resource per region
turns on: Bedrock's model invocation log, IoT Core's logging options): stacks that use the service with
and without it, in the same region or another, and through an identity policy only; the exact messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policies.modelplane_guard import account_logs
from tests.policies.harness import ACCOUNT, KEY_ARN, TAGS, UNKNOWN, Case, Res, allow, case_id, document, run, uncovered

ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/support-agent"
INVOCATION_LOGGING = "aws:bedrockmodel/invocationLoggingConfiguration:InvocationLoggingConfiguration"
NO_INVOCATION_LOG = (
    "but the stack has no model invocation logging configuration (aws.bedrockmodel.InvocationLoggingConfiguration)"
)
UNRECORDED = "the prompts, responses and callers of its model invocations are not recorded."


def agent(name: str = "support-agent", **changes: Any) -> Res:
    """A Bedrock agent as its provider's example declares it."""
    return Res(
        "aws:bedrock/agentAgent:AgentAgent",
        name,
        {
            "agentName": name,
            "agentResourceRoleArn": ROLE_ARN,
            "foundationModel": "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "instruction": "Answer questions about orders from the order history only.",
            "customerEncryptionKeyArn": KEY_ARN,
            "tags": TAGS,
            **changes,
        },
    )


def guardrail(**changes: Any) -> Res:
    return Res(
        "aws:bedrock/guardrail:Guardrail",
        "support-guardrail",
        {
            "name": "support",
            "blockedInputMessaging": "Sorry, I cannot help with that.",
            "blockedOutputsMessaging": "Sorry, I cannot answer that.",
            "contentPolicyConfig": {
                "filtersConfigs": [{"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"}]
            },
            **changes,
        },
    )


def invocation_logging(**changes: Any) -> Res:
    return Res(
        INVOCATION_LOGGING,
        "model-invocation-log",
        {
            "loggingConfig": {
                "cloudwatchConfig": {"logGroupName": "/bedrock/invocations", "roleArn": ROLE_ARN},
                "textDataDeliveryEnabled": True,
                "embeddingDataDeliveryEnabled": True,
            },
            **changes,
        },
    )


def role_policy(*actions: str, name: str = "scorer-invokes-models", effect: str = "Allow") -> Res:
    statement = {**allow(list(actions), "arn:aws:bedrock:eu-west-1::foundation-model/*"), "Effect": effect}
    return Res("aws:iam/rolePolicy:RolePolicy", name, {"role": "scorer", "policy": document(statement)})


def iot_rule(**changes: Any) -> Res:
    return Res(
        "aws:iot/topicRule:TopicRule",
        "scores-to-lake",
        {
            "name": "scores_to_lake",
            "enabled": True,
            "sql": "SELECT * FROM 'scores'",
            "sqlVersion": "2016-03-23",
            **changes,
        },
    )


def iot_logging(**changes: Any) -> Res:
    return Res(
        "aws:iot/loggingOptions:LoggingOptions",
        "iot-logging",
        {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/iot-logging", "defaultLogLevel": "INFO", **changes},
    )


BEDROCK = "bedrock-model-invocation-logging"

CASES: list[Case] = [
    Case(BEDROCK, "agent-and-guardrail-logged", [agent(), guardrail(), invocation_logging()], []),
    Case(BEDROCK, "no-bedrock-no-log-needed", [role_policy("s3:GetObject")], []),
    Case(
        BEDROCK,
        "agent-and-guardrail-unlogged",
        [agent(), guardrail()],
        [
            f"support-agent: 'support-agent' uses Amazon Bedrock, {NO_INVOCATION_LOG} in its region: {UNRECORDED}",
            f"support-guardrail: 'support-guardrail' uses Amazon Bedrock, {NO_INVOCATION_LOG} in its region: {UNRECORDED}",
        ],
    ),
    Case(
        BEDROCK,
        "provisioned-model-in-another-region",
        [
            Res(
                "aws:bedrock/provisionedModelThroughput:ProvisionedModelThroughput",
                "scorer-throughput",
                {
                    "provisionedModelName": "scorer",
                    "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2:100k",
                    "modelUnits": 1,
                    "region": "us-east-1",
                },
            ),
            invocation_logging(region="eu-west-1"),
        ],
        [f"scorer-throughput: 'scorer-throughput' uses Amazon Bedrock, {NO_INVOCATION_LOG} in us-east-1: {UNRECORDED}"],
    ),
    Case(
        BEDROCK,
        "region-from-the-provider",
        [
            Res(agent().type, "support-agent", agent().props, provider_props={"region": "eu-central-1"}),
            invocation_logging(region="eu-central-1"),
        ],
        [],
    ),
    Case(
        BEDROCK,
        "provider-in-another-region",
        [
            Res(agent().type, "support-agent", agent().props, provider_props={"region": "eu-central-1"}),
            invocation_logging(region="eu-west-1"),
        ],
        [f"support-agent: 'support-agent' uses Amazon Bedrock, {NO_INVOCATION_LOG} in eu-central-1: {UNRECORDED}"],
    ),
    Case(
        BEDROCK,
        "a-role-allowed-to-invoke-models",
        [role_policy("bedrock:InvokeModel*", "bedrock:ListFoundationModels")],
        [
            f"scorer-invokes-models: 'scorer-invokes-models' allows bedrock:InvokeModel, bedrock:InvokeModelWithResponseStream, {NO_INVOCATION_LOG} in its region: {UNRECORDED}"
        ],
    ),
    Case(
        BEDROCK,
        "an-inline-policy-allowing-converse",
        [
            Res(
                "aws:iam/role:Role",
                "scorer",
                {
                    "assumeRolePolicy": document(
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ),
                    "inlinePolicies": [
                        {"name": "chat", "policy": json.dumps({"Statement": [allow("BEDROCK:Converse")]})}
                    ],
                },
            )
        ],
        [f"scorer: 'scorer' allows bedrock:Converse, {NO_INVOCATION_LOG} in its region: {UNRECORDED}"],
    ),
    # An administrator's `*` is judged by the IAM rules; a deny grants nothing; a document not known yet
    # (preview) is judged when the stack is deployed.
    Case(
        BEDROCK,
        "grants-that-do-not-name-bedrock",
        [
            role_policy("*"),
            role_policy("bedrock:InvokeModel", name="deny-models", effect="Deny"),
            Res("aws:iam/policy:Policy", "later", {"policy": UNKNOWN}),
        ],
        [],
    ),
    Case("iot-logging", "topic-rule-logged", [iot_rule(), iot_logging()], []),
    Case(
        "iot-logging",
        "topic-rule-unlogged",
        [iot_rule()],
        [
            "scores-to-lake: 'scores-to-lake' uses AWS IoT Core, but the stack has no logging options (aws.iot.LoggingOptions) in its region: authentication failures, unexpected connects and the messages' routing are not recorded."
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(account_logs.POLICIES, CASES) == []
