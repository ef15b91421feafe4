"""Secrets Manager secrets whose values come only from Pulumi secrets and never appear in plain text.

Consumers get a secret's ARN (SageMaker: the `<NAME>_SECRET_ARN` environment variable) and read the
value at run time; the Kubernetes backend can mount a value as a file instead. Who may read a secret
is decided by a `SecretReadPolicy` per secret, created after its readers (their roles need the ARN
first): a secret without one has no resource policy, so create one for every secret.
"""

from collections.abc import Mapping
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from ._common import Problem, Tags, at, check, child_options, component_options, known, type_token
from .aws_limits import range_problem

FORMER_TOKEN = "modelplane:secrets:ModelSecrets"
# Secrets Manager keeps a deleted secret recoverable for 7 to 30 days.
MIN_RECOVERY_WINDOW_DAYS = 7
MAX_RECOVERY_WINDOW_DAYS = 30


class SecretRotationArgs(TypedDict):
    """Automatic rotation by a rotation Lambda: set exactly one of the two schedules."""

    lambda_arn: pulumi.Input[str]
    """Rotation function; its execution role needs read access through the secret's `SecretReadPolicy`."""
    automatically_after_days: NotRequired[pulumi.Input[int]]
    """Rotate every N days (1-1000)."""
    schedule_expression: NotRequired[pulumi.Input[str]]
    """Or a `rate(...)` / `cron(...)` schedule."""


class SecretArgs(TypedDict):
    """One secret: what it is for, its value when Pulumi knows it, and its rotation."""

    description: NotRequired[pulumi.Input[str]]
    """What the secret is for."""
    value: NotRequired[pulumi.Input[str]]
    """The value, stored as the secret's first version and kept secret in Pulumi; leave out for a value set out of band."""
    rotation: NotRequired[SecretRotationArgs]
    """Automatic rotation."""


class ModelSecretsArgs(TypedDict):
    """The secrets by name and the key encrypting them."""

    secrets: Mapping[str, SecretArgs]
    """Secrets by name (the name is part of each secret's logical name)."""
    kms_key_arn: pulumi.Input[str]
    """KMS key encrypting every secret."""
    recovery_window_days: NotRequired[pulumi.Input[int]]
    """Days a deleted secret stays recoverable, 7-30; default 30."""
    tags: NotRequired[pulumi.Input[Tags]]
    """Tags of every secret."""


class ModelSecrets(pulumi.ComponentResource):
    """One KMS-encrypted secret per name, with its version and optional rotation.

    `protect` in the options protects the secrets and their rotation; versions stay replaceable so a
    new value can be set.
    """

    arns: dict[str, pulumi.Output[str]]
    """Secret ARN by name: all a consumer gets, and what each `SecretReadPolicy` is for."""

    def __init__(self, name: str, args: ModelSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check("ModelSecrets", name, problems(args))
        super().__init__(type_token("ModelSecrets"), name, None, component_options(opts, FORMER_TOKEN))
        self.arns = {}
        for secret_name, spec in args["secrets"].items():
            secret = aws.secretsmanager.Secret(
                f"{name}-{secret_name}",
                description=spec.get("description"),
                kms_key_id=args["kms_key_arn"],
                recovery_window_in_days=args.get("recovery_window_days", MAX_RECOVERY_WINDOW_DAYS),
                tags=args.get("tags"),
                opts=child_options(self, opts),
            )
            self.arns[secret_name] = secret.arn
            if "value" in spec:
                aws.secretsmanager.SecretVersion(
                    f"{name}-{secret_name}-version",
                    secret_id=secret.arn,
                    secret_string=pulumi.Output.secret(spec["value"]),
                    opts=pulumi.ResourceOptions(parent=self, protect=False),
                )
            rotation = spec.get("rotation")
            if rotation is not None:
                aws.secretsmanager.SecretRotation(
                    f"{name}-{secret_name}-rotation",
                    secret_id=secret.arn,
                    rotation_lambda_arn=rotation["lambda_arn"],
                    rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                        automatically_after_days=rotation.get("automatically_after_days"),
                        schedule_expression=rotation.get("schedule_expression"),
                    ),
                    # The configured value stays current until the first scheduled rotation; rotating at
                    # creation would race the version above (or fail on a secret still to be set out of band).
                    rotate_immediately=False,
                    opts=pulumi.ResourceOptions(parent=self),
                )
        self.register_outputs({"arns": self.arns})


def rotation_problems(rotation: SecretRotationArgs) -> list[Problem]:
    """Secrets Manager takes exactly one schedule: days (1-1000) or an expression."""
    days = rotation.get("automatically_after_days")
    if (days is None) == (rotation.get("schedule_expression") is None):
        return [("automatically_after_days", "set exactly one of automatically_after_days or schedule_expression")]
    days = known(days)
    if days is not None and (why := range_problem("AutomaticallyRotateAfterDaysType", days, service="secretsmanager")):
        return [("automatically_after_days", why)]
    return []


def problems(args: ModelSecretsArgs) -> list[Problem]:
    found: list[Problem] = []
    window = known(args.get("recovery_window_days"))
    if window is not None and not MIN_RECOVERY_WINDOW_DAYS <= window <= MAX_RECOVERY_WINDOW_DAYS:
        found.append(
            (
                "recovery_window_days",
                f"must be between {MIN_RECOVERY_WINDOW_DAYS} and {MAX_RECOVERY_WINDOW_DAYS} (Secrets Manager DeleteSecret)",
            )
        )
    for secret_name, spec in args["secrets"].items():
        rotation = spec.get("rotation")
        if rotation is not None:
            found += at(f"secrets.{secret_name}.rotation", rotation_problems(rotation))
    return found
