"""The repository and its shipped stack files, as the tests read them and derive variations from them."""

from __future__ import annotations

import copy
import functools
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from modelplane.config.loader import load_stack_file, read_stack_file, stack_name_of
from modelplane.offline.graph import Simulation
from modelplane.settings import Settings

REPOSITORY = Path(__file__).resolve().parent.parent
STACKS_DIR = REPOSITORY / "stacks"
PACK_DIR = REPOSITORY / "policies"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
STACK_NAMES = sorted(stack_name_of(path) for path in STACKS_DIR.glob("Pulumi.*.yaml"))

# What `pulumi` and modelplane read of a project, besides its stack files.
PROJECT_FILES = ("Pulumi.yaml", "__main__.py")

SimulateStack = Callable[..., Simulation]
"""The `simulate_stack` fixture: `simulate_stack("prod")` or `simulate_stack(path)`, cached per session."""


def stack_file(stack: str) -> Path:
    return STACKS_DIR / f"Pulumi.{stack}.yaml"


def settings_of(stack: str | Path) -> Settings:
    """The settings of a shipped stack by name (read once per process: the tests ask for them hundreds of
    times, reading one takes 10 ms, and the settings are frozen), or of any stack file (read each time)."""
    return load_stack_file(stack) if isinstance(stack, Path) else _shipped_settings(stack)


@functools.cache
def _shipped_settings(stack: str) -> Settings:
    return load_stack_file(stack_file(stack))


def stack_config(stack: str) -> dict[str, Any]:
    """A shipped stack's `config:` block, a copy of its own, so a test may change it (the file is read once per
    process: ruamel takes 10 ms on prod's)."""
    return copy.deepcopy(_shipped_config(stack))


@functools.cache
def _shipped_config(stack: str) -> dict[str, Any]:
    return read_stack_file(stack_file(stack))


def write_stack(directory: Path, config: Mapping[str, Any], stack: str) -> Path:
    """`config` as the stack file `Pulumi.<stack>.yaml` in `directory`, whose name gives the stack name."""
    path = directory / f"Pulumi.{stack}.yaml"
    with path.open("w", encoding="utf-8") as handle:
        YAML().dump({"config": dict(config)}, handle)
    return path


def copy_project(destination: Path, *, with_stacks: bool = True) -> Path:
    """A copy of the repository's Pulumi project at `destination`: the project file, the program, the
    policy pack and (unless told otherwise) the stack files, for commands that edit or look for files."""
    destination.mkdir(parents=True)
    for name in PROJECT_FILES:
        shutil.copy(REPOSITORY / name, destination / name)
    shutil.copytree(PACK_DIR, destination / "policies", ignore=shutil.ignore_patterns("__pycache__", "venv"))
    stacks = destination / "stacks"
    stacks.mkdir()
    if with_stacks:
        for path in STACKS_DIR.glob("Pulumi.*.yaml"):
            shutil.copy(path, stacks / path.name)
    return destination
