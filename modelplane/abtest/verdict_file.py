"""The part of `modelplane compare --json` that `modelplane promote --require-verdict` relies on.

Read with pydantic, so a hand-edited or truncated file is refused with the field that is wrong. Light on
purpose: promote imports it without scipy.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict

from modelplane.config import inputs
from modelplane.errors import BadInput


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class VariantRecord(_Record):
    variant: str
    model_package_version: int | None


class WindowRecord(_Record):
    start: AwareDatetime
    end: AwareDatetime


class VerdictFile(_Record):
    tool: str
    stack: str
    endpoint: str
    verdict: str
    candidate: VariantRecord
    window: WindowRecord

    def age_hours(self, now: datetime) -> float:
        """Hours since the compared window ended."""
        return (now - self.window.end).total_seconds() / 3600


def read_verdict(path: Path) -> VerdictFile:
    """The verdict file, or BadInput naming the file and what is wrong with it."""
    verdict = inputs.validated(VerdictFile, inputs.read_json(path), str(path), "a `modelplane compare --json` file")
    if verdict.tool != "modelplane compare":
        raise BadInput(f"{path}: written by {verdict.tool!r}, not `modelplane compare --json`")
    return verdict
