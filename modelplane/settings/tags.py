"""Tags every taggable resource carries."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from modelplane.settings.base import SettingsModel, TagValue


class Tags(SettingsModel):
    """Tags merged into every taggable resource, together with environment, project, stack, managed-by."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True, populate_by_name=True)

    owner: TagValue
    """Team or person accountable for the deployment (an e-mail or team handle)."""
    cost_center: TagValue = Field(alias="cost-center")
    """Cost centre charged for the resources."""
    data_classification: Literal["public", "internal", "confidential", "restricted"] = Field(
        alias="data-classification"
    )
    """Most sensitive class of data the model sees."""
    extra: dict[Annotated[str, Field(min_length=1, max_length=128)], TagValue] = {}
    """Further tags of your own."""
