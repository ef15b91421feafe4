"""Where the command line finds a stack's settings: `Pulumi.<stack>.yaml` in the project's
`stackConfigDir` (`--stack NAME`), or any file in that format (`--config FILE`).

Free of Pulumi imports, so `verify` and `promote` read stack files without loading the SDK.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from modelplane.config import project
from modelplane.config.loader import stack_name_of
from modelplane.errors import BadInput

if TYPE_CHECKING:
    from modelplane.settings import Endpoint, Settings


def stack_file(stack: str) -> Path:
    return project.current().stack_file(stack)


def stack_files() -> list[Path]:
    """Every stack file of the project, by name."""
    return sorted(project.current().stacks_dir.glob("Pulumi.*.yaml"))


def endpoint_named(settings: Settings, path: Path, name: str) -> Endpoint:
    """The endpoint `name` of the settings read from `path`; refused, naming those there are, when missing."""
    endpoint = next((e for e in settings.endpoints if e.name == name), None)
    if endpoint is None:
        known = ", ".join(e.name for e in settings.endpoints) or "none"
        raise BadInput(f"{shown(path)}: no endpoint {name!r} (endpoints: {known})")
    return endpoint


def resolve(stack: str | None, config: Path | None) -> tuple[Path, str]:
    """The settings file and stack name from `--stack NAME` and/or `--config FILE` (one of them is required)."""
    if config is not None:
        return config, stack or stack_name_of(config)
    if stack is None:
        raise BadInput("give --stack NAME or --config FILE")
    return stack_file(stack), stack


def shown(path: Path) -> Path:
    """The path as messages name it: relative to the project when inside it."""
    return project.current().shown(path)
