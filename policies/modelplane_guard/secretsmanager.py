"""Secrets Manager: secrets under a customer managed key, rotated often enough, and always rotated in production."""

from __future__ import annotations

import re

from pulumi_policy import (
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import (
    PRODUCTION_PROPERTY,
    PRODUCTION_SCHEMA,
    Report,
    applies_to,
    as_number,
    aws_config_url,
    aws_managed_key_problem,
    config_schema,
    dig,
    for_types,
    number_text,
    of_type,
    production_gate,
    refers_to,
    rule,
    sources,
)

SECRET = "aws:secretsmanager/secret:Secret"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
RATE_IN_DAYS = re.compile(r"^rate\(\s*(\d+)\s+days?\s*\)$")


@for_types(SECRET)
def _customer_key(args: ResourceValidationArgs, report: Report) -> None:
    key = args.props.get("kmsKeyId")
    if not key:
        report("kmsKeyId is not set: the secret is encrypted with the AWS managed key aws/secretsmanager.")
    elif problem := aws_managed_key_problem("kmsKeyId", key):
        report(problem)


customer_key = ResourceValidationPolicy(
    name="secretsmanager-customer-key",
    description="Secrets Manager secrets are encrypted with a customer managed KMS key, whose policy decides who can read them.",
    validate=_customer_key,
    severity=Severity.MEDIUM,
    remediation_steps="Set kms_key_id to the stack's KMS key.",
    tags=["secrets", "encryption", *sources("CKV_AWS_149", "aws-config:secretsmanager-using-cmk"), *applies_to(SECRET)],
    url=aws_config_url("secretsmanager-using-cmk"),
)


@for_types(ROTATION)
def _rotation_interval(args: ResourceValidationArgs, report: Report) -> None:
    maximum = as_number(args.get_config().get("maxRotationDays")) or 90
    days = as_number(dig(args.props, "rotationRules", "automaticallyAfterDays"))
    schedule = dig(args.props, "rotationRules", "scheduleExpression")
    if days is None and not schedule:
        report("rotationRules sets neither automaticallyAfterDays nor scheduleExpression.")
        return
    if days is not None and days > maximum:
        report(
            f"rotationRules.automaticallyAfterDays is {number_text(days)}; rotate at least every {number_text(maximum)} days."
        )
    rate = RATE_IN_DAYS.match(str(schedule or ""))
    if rate and float(rate.group(1)) > maximum:
        report(
            f"rotationRules.scheduleExpression {schedule!r} rotates less often than every {number_text(maximum)} days."
        )


rotation_interval = ResourceValidationPolicy(
    name="secretsmanager-rotation-interval",
    description="Secret rotation runs at least every 90 days (configurable).",
    validate=_rotation_interval,
    severity=Severity.MEDIUM,
    remediation_steps="Set rotation.automatically_after_days to at most the maximum, or a schedule_expression that runs as often.",
    tags=["secrets", "rotation", *sources("CKV_AWS_304"), *applies_to(ROTATION)],
    config_schema=config_schema(
        {
            "maxRotationDays": {
                "type": "number",
                "minimum": 1,
                "maximum": 1000,
                "default": 90,
                "description": "Longest accepted time between rotations, in days.",
            }
        }
    ),
)


def _rotated_in_production(args: StackValidationArgs, report: Report) -> None:
    production_gate(args)
    rotations = of_type(args.resources, ROTATION)
    for secret in of_type(args.resources, SECRET):
        identifiers = (
            str(secret.props.get("arn") or ""),
            str(secret.props.get("id") or ""),
            str(secret.props.get("name") or ""),
        )
        if not any(refers_to(rotation, "secretId", secret, *identifiers) for rotation in rotations):
            report(f"secret {secret.props.get('name') or secret.name!r} has no SecretRotation.", secret.urn)


rotated_in_production = StackValidationPolicy(
    name="secretsmanager-rotation-in-production",
    description="Every Secrets Manager secret of a production stack rotates automatically.",
    validate=rule(_rotated_in_production),
    severity=Severity.HIGH,
    remediation_steps="Set secrets.<name>.rotation (a rotation Lambda and a schedule) for every production secret.",
    tags=[
        "secrets",
        "rotation",
        *sources("CKV2_AWS_57", "aws-config:secretsmanager-rotation-enabled-check"),
        *applies_to(SECRET, ROTATION),
    ],
    url=aws_config_url("secretsmanager-rotation-enabled-check"),
    config_schema=config_schema({PRODUCTION_PROPERTY: PRODUCTION_SCHEMA}),
)

POLICIES = [customer_key, rotation_interval, rotated_in_production]
