"""The `--policy-pack-config` file: per-policy enforcement levels and properties, read as the Pulumi CLI reads it.

Light on purpose (no gRPC, no SDK): `plan` refuses a bad config before it starts anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelplane.config import inputs, project
from modelplane.errors import BadInput

ENFORCEMENT_LEVELS = ("advisory", "mandatory", "remediate", "disabled")
CONFIG_FOLDER = "config"


@dataclass(frozen=True)
class PolicyConfig:
    """One entry of a policy pack config: an enforcement level and/or properties."""

    enforcement_level: str | None
    properties: Mapping[str, Any]


def policy_config_path(environment: str) -> Path:
    """The `--policy-pack-config` file of an environment.

    `local` runs against an emulator on a laptop: it is judged like `dev` (same rules, advisory
    mostly), so a local stack plans with the same findings a dev stack would get.
    """
    return project.current().pack_dir / CONFIG_FOLDER / f"{'dev' if environment == 'local' else environment}.json"


def parse_policy_pack_config(document: Any, source: str) -> dict[str, PolicyConfig]:
    """Read the CLI's `--policy-pack-config` format; same rules and errors as the CLI."""
    if not isinstance(document, dict):
        raise BadInput(f"{source}: a policy pack config is a JSON object keyed by policy name or 'all'")
    entries: dict[str, PolicyConfig] = {}
    for name, value in document.items():
        if isinstance(value, str):
            entries[name] = PolicyConfig(_checked_level(value, name, source), {})
        elif isinstance(value, dict):
            properties = {key: item for key, item in value.items() if key != "enforcementLevel"}
            level = value.get("enforcementLevel")
            if level is not None and not isinstance(level, str):
                raise BadInput(f"{source}: {name}: enforcementLevel must be a string")
            entries[name] = PolicyConfig(_checked_level(level, name, source) if level else None, properties)
        else:
            raise BadInput(f"{source}: {name}: must be an enforcement level or an object")
    return entries


def load_policy_pack_config(path: Path) -> dict[str, PolicyConfig]:
    """A `--policy-pack-config` file; refused as the CLI refuses it (an empty file is no JSON to it either)."""
    return parse_policy_pack_config(inputs.read_json(path), str(path))


def _checked_level(level: str, name: str, source: str) -> str:
    if level not in ENFORCEMENT_LEVELS:
        raise BadInput(f"{source}: {name}: {level!r} is not one of {', '.join(ENFORCEMENT_LEVELS)}")
    return level


@dataclass(frozen=True)
class PolicyConfigFile:
    """The config a stack is judged with: its path, and its entries (None: the environment has no file)."""

    path: Path
    entries: dict[str, PolicyConfig] | None


def config_for(environment: str, explicit: Path | None = None) -> PolicyConfigFile:
    """`--policy-config FILE` when given (it must exist), else the environment's file when there is one."""
    path = explicit if explicit is not None else policy_config_path(environment)
    if explicit is None and not path.exists():
        return PolicyConfigFile(path, None)
    return PolicyConfigFile(path, load_policy_pack_config(path))
