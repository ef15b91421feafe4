"""SQS queues (inference requests, batch jobs, events next to a model): encrypted at rest.

Who may use a queue is judged with the other resource policies (`resource-policies-not-public`),
for a `QueuePolicy` and for a queue's inline `policy` alike.
"""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy, Severity

from .common import (
    Report,
    applies_to,
    aws_managed_key_problem,
    config_schema,
    for_types,
    is_false,
    is_true,
    sources,
)

QUEUE = "aws:sqs/queue:Queue"


@for_types(QUEUE)
def _encrypted(args: ResourceValidationArgs, report: Report) -> None:
    key = args.props.get("kmsMasterKeyId")
    managed = args.props.get("sqsManagedSseEnabled")
    if key:
        if problem := aws_managed_key_problem("kmsMasterKeyId", key):
            report(problem)
        return
    allow_managed = bool(args.get_config().get("allowSqsManagedEncryption", True))
    if is_true(managed) and allow_managed:
        return
    if is_true(managed):
        report("sqsManagedSseEnabled encrypts with a key SQS owns; this environment requires kmsMasterKeyId.")
    elif is_false(managed):
        report("sqsManagedSseEnabled is false and kmsMasterKeyId is not set: messages are stored unencrypted.")
    else:
        report("neither kmsMasterKeyId nor sqsManagedSseEnabled is set: the queue's encryption is left to defaults.")


encrypted = ResourceValidationPolicy(
    name="sqs-queue-encryption",
    description="SQS queues encrypt messages at rest with a customer managed KMS key (or SQS-managed encryption where the environment allows it).",
    validate=_encrypted,
    severity=Severity.MEDIUM,
    remediation_steps="Set kms_master_key_id to a customer managed key whose policy lets the producers and consumers use it (or sqs_managed_sse_enabled True where allowed).",
    tags=["sqs", "encryption", *sources("CKV_AWS_27"), *applies_to(QUEUE)],
    url="https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-server-side-encryption.html",
    config_schema=config_schema(
        {
            "allowSqsManagedEncryption": {
                "type": "boolean",
                "default": True,
                "description": "Accept SSE-SQS (sqsManagedSseEnabled, a key SQS owns) instead of a customer managed KMS key.",
            }
        }
    ),
)

POLICIES = [encrypted]
