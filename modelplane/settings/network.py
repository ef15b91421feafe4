"""VPC placement of models."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from modelplane.settings.base import SettingsModel


class Network(SettingsModel):
    """Where models run: private subnets and security groups (required in prod)."""

    subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(min_length=1, max_length=16)
    """Private subnet ids, ideally one per availability zone."""
    security_group_ids: list[Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]] = Field(min_length=1, max_length=5)
    """Security groups attached to the model containers."""
