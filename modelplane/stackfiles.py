"""Where the project's files are, and where the command line finds a stack's settings:
`stacks/Pulumi.<stack>.yaml` in the project (Pulumi.yaml's `stackConfigDir`), whatever the working directory.

Free of Pulumi imports, so `verify` and `promote` read stack files without loading the SDK.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from modelplane.loader import stack_name_of

if TYPE_CHECKING:
    from modelplane.settings import Endpoint, Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = PROJECT_ROOT / "stacks"


def stack_file(stack: str) -> Path:
    return STACKS_DIR / f"Pulumi.{stack}.yaml"


def stack_files() -> list[Path]:
    """Every stack file of the project, by name."""
    return sorted(STACKS_DIR.glob("Pulumi.*.yaml"))


def endpoint_named(settings: Settings, path: Path, name: str) -> Endpoint:
    """The endpoint `name` of the settings read from `path`; a ValueError naming those there are."""
    endpoint = next((e for e in settings.endpoints if e.name == name), None)
    if endpoint is None:
        known = ", ".join(e.name for e in settings.endpoints) or "none"
        raise ValueError(f"{shown(path)}: no endpoint {name!r} (endpoints: {known})")
    return endpoint


def resolve(stack: str | None, config: Path | None) -> tuple[Path, str]:
    """The settings file and stack name from `--stack NAME` and/or `--config FILE` (one of them is required)."""
    if config is not None:
        return config, stack or stack_name_of(config)
    if stack is None:
        raise ValueError("give --stack NAME or --config FILE")
    return stack_file(stack), stack


def shown(path: Path) -> Path:
    """Relative to the project when inside it: messages and diff headers name `stacks/Pulumi.prod.yaml`,
    and the simulation (which runs from the project root) opens the same file."""
    absolute = Path(os.path.abspath(path))  # noqa: PTH100 - resolve() would follow symlinks
    return absolute.relative_to(PROJECT_ROOT) if absolute.is_relative_to(PROJECT_ROOT) else absolute
