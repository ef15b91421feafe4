"""Model families, their container repositories and the model registry."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from modelplane.settings.base import AccountId, FieldProblems, SettingsModel


class ModelFamily(SettingsModel):
    """A model family: one container repository and one SageMaker model package group."""

    description: Annotated[str, Field(min_length=1, max_length=1024)]
    """What the family predicts; shown in the model registry."""
    cross_account_principals: list[AccountId] = []
    """Other accounts allowed to read this family's model package group (e.g. a prod account)."""


class ImageRetention(SettingsModel):
    """ECR lifecycle: how many images survive."""

    keep_tagged: int = Field(default=30, ge=1, le=1000)
    """Number of most recent tagged images kept."""
    untagged_days: int = Field(default=7, ge=1, le=365)
    """Days after which untagged images expire."""


class Registry(SettingsModel):
    """Artifact bucket, container repositories and model registry."""

    families: dict[Annotated[str, Field(max_length=50)], ModelFamily] = Field(min_length=1)
    """Model families by name; each gets an ECR repository and a SageMaker model package group named `<family>-<stack>`."""
    image_retention: ImageRetention = ImageRetention()
    """ECR lifecycle policy."""
    pull_account_ids: list[AccountId] = []
    """Accounts allowed to pull images besides this one."""
    noncurrent_artifact_days: int = Field(default=90, ge=1, le=3650)
    """Days after which overwritten model artifacts are deleted from the bucket."""

    @field_validator("families")
    @classmethod
    def _family_names(cls, families: dict[str, ModelFamily]) -> dict[str, ModelFamily]:
        problems = [
            (
                name,
                "lowercase letters and digits in hyphen-separated words, at most 50 characters (ECR repository and model package group name)",
            )
            for name in families
            if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name)
        ]
        if problems:
            raise FieldProblems(problems)
        return families
