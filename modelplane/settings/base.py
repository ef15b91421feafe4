"""What every settings model shares: strict, frozen models and errors that carry field paths."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class FieldProblems(ValueError):
    """Problems found by a cross-field check, each at a path below the model that raised it."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))
        self.problems = problems


class SettingsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)


class Environment(StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"
    LOCAL = "local"


class Platform(StrEnum):
    SAGEMAKER = "sagemaker"
    KUBERNETES = "kubernetes"


Name = Annotated[str, Field(min_length=1, max_length=63)]
AccountId = Annotated[str, Field(pattern=r"^\d{12}$")]
TagValue = Annotated[str, Field(min_length=1, max_length=256)]
