"""Helpers shared by the component tests."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from modelplane.settings.stack import Settings
from tests import stacks


def settings_of(stack: str | Path) -> Settings:
    """`tests.stacks.settings_of`, a shipped stack's (by name) read once per process: the component tests ask for
    them hundreds of times, and reading and validating a stack file costs about 10 ms. The settings are frozen,
    and the shipped stack files do not change during a run; a stack file given by path is read each time."""
    return _shipped_settings(stack) if isinstance(stack, str) else stacks.settings_of(stack)


@cache
def _shipped_settings(stack: str) -> Settings:
    return stacks.settings_of(stack)
