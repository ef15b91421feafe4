"""Audit logs a service keeps only when one resource per account and region turns them on: Amazon
Bedrock's model invocation log, AWS IoT Core's logging options.

No input of an agent, a knowledge base, a provisioned model or a topic rule says whether what it does
is recorded; one account-level resource does, for everything the service does in its region (the
`PutModelInvocationLoggingConfiguration` and `SetV2LoggingOptions` APIs). So these are stack rules, as
`network_logs.py`'s are for logs that are resources of their own: a stack that uses the service needs
the logging resource for the same region in the stack, or a waiver naming the stack that owns it. A
stack uses the service through its resources, or through an identity policy that allows calling it (a
function's role allowed `bedrock:InvokeModel` uses Bedrock without any Bedrock resource). Whether the
logging resource logs enough (a log level DISABLED, prompts left out) is judged by property
(`audit-logging`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pulumi_policy import PolicyResource, ReportViolation, Severity, StackValidationArgs, StackValidationPolicy
from pulumi_policy.proxy import UnknownValueError

from .actions import matches
from .common import Report, applies_to, rule, sources
from .documents import Statement, document_statements
from .iam import IDENTITY_POLICY_PROPERTIES, ROLE, identity_documents


@dataclass(frozen=True)
class AccountLog:
    """A service whose audit log one account-level resource per region configures."""

    service: str
    uses: re.Pattern[str]
    """The type tokens of the service's resources."""
    logging: str
    """The type token of the resource that turns the log on."""
    actions: tuple[str, ...]
    """API actions whose calls the log records: an identity policy allowing one uses the service."""
    log: str
    """What the logging resource is, as a message names it."""
    unrecorded: str
    """What goes unrecorded without it."""

    def used_by(self, resource: PolicyResource) -> str | None:
        """How a resource uses the service (None: it does not)."""
        if resource.resource_type != self.logging and self.uses.fullmatch(resource.resource_type):
            return f"uses {self.service}"
        prefix = self.actions[0].partition(":")[0]
        granted = {action for statement in _statements(resource, prefix) for action in self._granted(statement, prefix)}
        return f"allows {', '.join(sorted(granted))}" if granted else None

    def _granted(self, statement: Statement, prefix: str) -> Iterator[str]:
        """The logged actions an Allow statement grants by naming the service (`bedrock:Invoke*`), not `*`."""
        if not statement.allows or statement.not_actions:
            return
        for pattern in statement.actions:
            if pattern.strip().partition(":")[0].lower() == prefix:
                yield from (action for action in self.actions if matches(pattern, action))


BEDROCK = AccountLog(
    service="Amazon Bedrock",
    uses=re.compile(r"aws:bedrock/.*|aws:bedrockmodel/invocationJob:InvocationJob"),
    logging="aws:bedrockmodel/invocationLoggingConfiguration:InvocationLoggingConfiguration",
    actions=(
        "bedrock:InvokeModel",
        "bedrock:InvokeModelWithResponseStream",
        "bedrock:Converse",
        "bedrock:ConverseStream",
    ),
    log="model invocation logging configuration (aws.bedrockmodel.InvocationLoggingConfiguration)",
    unrecorded="the prompts, responses and callers of its model invocations are not recorded",
)
IOT = AccountLog(
    service="AWS IoT Core",
    uses=re.compile(r"aws:iot/.*"),
    logging="aws:iot/loggingOptions:LoggingOptions",
    actions=("iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"),
    log="logging options (aws.iot.LoggingOptions)",
    unrecorded="authentication failures, unexpected connects and the messages' routing are not recorded",
)


def _statements(resource: PolicyResource, prefix: str) -> Iterator[Statement]:
    """The statements of a resource's identity policies that may name a service by its action prefix (a
    JSON text that does not mention it is not parsed). A document not known yet (preview) is left out:
    the rule judges the stack again when it is deployed."""
    if resource.resource_type not in IDENTITY_POLICY_PROPERTIES and resource.resource_type != ROLE:
        return
    try:
        documents = list(identity_documents(resource))
    except UnknownValueError:
        return
    for _, document in documents:
        if isinstance(document, str) and f"{prefix}:" not in document.lower():
            continue
        try:
            yield from document_statements(document) or ()
        except UnknownValueError:
            continue


def region_of(resource: PolicyResource) -> str | None:
    """The region a resource is managed in: its own `region` input, else its provider's (None: the stack's
    default, or not known yet)."""
    for props in (resource.props, resource.provider.props if resource.provider is not None else {}):
        try:
            region = props.get("region")
        except UnknownValueError:
            return None
        if isinstance(region, str) and region:
            return region
    return None


def _validation(log: AccountLog) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report: Report) -> None:
        regions = {region_of(resource) for resource in args.resources if resource.resource_type == log.logging}
        for resource in args.resources:
            how = log.used_by(resource)
            if how is None:
                continue
            region = region_of(resource)
            # A region not stated (the stack's default) may be any of the configured ones, and a
            # configuration whose region is not stated may be in any.
            if regions and (region is None or None in regions or region in regions):
                continue
            where = f"in {region}" if region else "in its region"
            report(
                f"{resource.name!r} {how}, but the stack has no {log.log} {where}: {log.unrecorded}.",
                resource.urn,
            )

    return rule(validate)


bedrock_invocation_logging = StackValidationPolicy(
    name="bedrock-model-invocation-logging",
    description="A stack that uses Amazon Bedrock (its agents, knowledge bases, custom or provisioned models, guardrails, or a role allowed to invoke models) turns on model invocation logging in the same region.",
    validate=_validation(BEDROCK),
    severity=Severity.MEDIUM,
    remediation_steps="Add an aws.bedrockmodel.InvocationLoggingConfiguration for the region with a CloudWatch log group and/or S3 bucket (encrypted, with retention) and text and embedding data delivery left on; if another stack configures it for the account, waive the rule for this stack's resources naming that stack.",
    tags=[
        "logging",
        "bedrock",
        *sources("prowler:bedrock_model_invocation_logging_enabled"),
        *applies_to("aws:bedrock/*", "aws:bedrockmodel/*", *IDENTITY_POLICY_PROPERTIES, ROLE),
    ],
    url="https://docs.aws.amazon.com/bedrock/latest/userguide/model-invocation-logging.html",
)

iot_logging = StackValidationPolicy(
    name="iot-logging",
    description="A stack that uses AWS IoT Core (things, topic rules, IoT policies and certificates, or a role allowed to connect and publish) sets the account's IoT logging options in the same region.",
    validate=_validation(IOT),
    severity=Severity.LOW,
    remediation_steps="Add an aws.iot.LoggingOptions for the region with a role that may write to CloudWatch Logs and default_log_level INFO (or at least ERROR); if another stack sets it for the account, waive the rule for this stack's resources naming that stack.",
    tags=[
        "logging",
        "iot",
        *sources("aws-iot-device-defender:LOGGING_DISABLED_CHECK"),
        *applies_to("aws:iot/*", *IDENTITY_POLICY_PROPERTIES, ROLE),
    ],
    url="https://docs.aws.amazon.com/iot-device-defender/latest/devguide/audit-chk-logging-disabled.html",
)

POLICIES = [bedrock_invocation_logging, iot_logging]
