"""Secrets Manager secrets: description and rotation, never values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from modelplane_components.model_secrets import rotation_problems
from pydantic import Field, model_validator

from modelplane.settings.base import FieldProblems, SettingsModel

if TYPE_CHECKING:
    from modelplane_components.model_secrets import SecretRotationArgs

# Longest rotation interval allowed for prod secrets (CKV_AWS_304 asks for 90 days at most).
MAX_PROD_ROTATION_DAYS = 90


class Rotation(SettingsModel):
    """Automatic rotation by a rotation Lambda."""

    lambda_arn: str = Field(
        pattern=r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$"
    )
    """ARN of the rotation Lambda function; its resource policy must let Secrets Manager invoke it."""
    lambda_role_arn: str = Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]+$")
    """Execution role of the rotation function; the secret's resource policy lets it read the value."""
    automatically_after_days: int | None = Field(default=None, ge=1, le=1000)
    """Rotate every N days (at most 90 in prod)."""
    schedule_expression: str | None = Field(default=None, pattern=r"^(rate|cron)\(.+\)$")
    """A `rate(...)` or `cron(...)` schedule, instead of `automatically_after_days`."""

    @model_validator(mode="after")
    def _one_schedule(self) -> Rotation:
        if problems := rotation_problems(self.component_args()):
            raise FieldProblems(problems)
        return self

    def component_args(self) -> SecretRotationArgs:
        """The schedule; the rotation function's role reads the secret through its `SecretReadPolicy`."""
        args: SecretRotationArgs = {"lambda_arn": self.lambda_arn}
        if self.automatically_after_days is not None:
            args["automatically_after_days"] = self.automatically_after_days
        if self.schedule_expression is not None:
            args["schedule_expression"] = self.schedule_expression
        return args


class SecretSpec(SettingsModel):
    """A secret in Secrets Manager. Its value comes only from Pulumi secret config, never from YAML."""

    description: Annotated[str, Field(min_length=1, max_length=2048)]
    """What the secret is for."""
    rotation: Rotation | None = None
    """Automatic rotation by a Lambda function; required in prod."""
