"""A variant: one model version serving traffic, or a shadow copy of it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from modelplane import aws_limits
from modelplane.settings.base import FieldProblems, Name, SettingsModel


class Serverless(SettingsModel):
    """Serverless inference instead of instances."""

    memory_size_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144]
    """Memory per concurrent invocation."""
    max_concurrency: int = Field(ge=1, le=200)
    """Maximum concurrent invocations."""
    provisioned_concurrency: int | None = Field(default=None, ge=1, le=200)
    """Warm capacity that avoids cold starts; must not exceed max_concurrency."""

    @model_validator(mode="after")
    def _provisioned_within_max(self) -> Serverless:
        if self.provisioned_concurrency is not None and self.provisioned_concurrency > self.max_concurrency:
            raise FieldProblems([("provisioned_concurrency", "must not exceed max_concurrency")])
        return self


class Variant(SettingsModel):
    """One model version serving traffic (or a copy of it, for the shadow)."""

    name: Name
    """Variant name; keep it stable across versions so blue/green updates apply."""
    image_tag: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    """Immutable tag of the image in the family's repository."""
    image_digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")
    """Digest of the image in the family's repository (preferred: pins exact bytes)."""
    model_artifact: str | None = Field(default=None, pattern=r"^[A-Za-z0-9!_.*'()/-]+\.tar\.gz$")
    """Key of the model.tar.gz in the stack's artifact bucket."""
    model_package_version: int | None = Field(default=None, ge=1)
    """Version in the family's model package group (the registry), instead of an artifact."""
    instance_type: str | None = None
    """SageMaker instance type (`ml.*`)."""
    instance_count: int = Field(default=1, ge=1, le=100)
    """SageMaker instances, or pod replicas on Kubernetes."""
    serverless: Serverless | None = None
    """Serverless inference instead of instances (SageMaker only)."""
    weight: float = Field(default=1.0, gt=0, le=1000)
    """Relative share of traffic (A/B testing); ignored for the shadow."""
    environment: dict[
        Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")], Annotated[str, Field(max_length=1024)]
    ] = {}
    """Container environment variables; never secret values (use `secrets`)."""

    @field_validator("name")
    @classmethod
    def _sagemaker_variant_name(cls, name: str) -> str:
        if (why := aws_limits.check_name("VariantName", name)) is not None:
            raise ValueError(why)
        return name

    @field_validator("instance_type")
    @classmethod
    def _known_instance_type(cls, instance_type: str | None) -> str | None:
        if instance_type is not None and instance_type not in aws_limits.instance_types():
            raise ValueError(
                f"unknown SageMaker instance type {instance_type!r} (botocore ProductionVariantInstanceType)"
            )
        return instance_type

    @model_validator(mode="after")
    def _one_image_one_model(self) -> Variant:
        problems = []
        if (self.image_tag is None) == (self.image_digest is None):
            problems.append(("image_tag", "set exactly one of image_tag or image_digest"))
        if self.image_tag == "latest":
            problems.append(("image_tag", "'latest' is mutable; pin an immutable tag or a digest"))
        if self.model_artifact is not None and self.model_package_version is not None:
            problems.append(("model_package_version", "set at most one of model_artifact or model_package_version"))
        if self.serverless is not None and self.instance_type is not None:
            problems.append(("serverless", "serverless and instance_type are mutually exclusive"))
        if problems:
            raise FieldProblems(problems)
        return self

    @property
    def image_reference(self) -> str:
        """`:tag` or `@sha256:...`, to append to the repository URL."""
        return f"@{self.image_digest}" if self.image_digest else f":{self.image_tag}"
