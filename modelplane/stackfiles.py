"""Where the command line finds a stack's settings: `stacks/Pulumi.<stack>.yaml` in the project
(Pulumi.yaml's `stackConfigDir`), whatever the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from modelplane.loader import stack_name_of
from modelplane.simulate import PROJECT_ROOT

STACKS_DIR = PROJECT_ROOT / "stacks"


def stack_file(stack: str) -> Path:
    return STACKS_DIR / f"Pulumi.{stack}.yaml"


def resolve(stack: str | None, config: Path | None) -> tuple[Path, str]:
    """The settings file and stack name from `--stack NAME` and/or `--config FILE` (one of them is required)."""
    if config is not None:
        return config, stack or stack_name_of(config)
    if stack is None:
        raise ValueError("give --stack NAME or --config FILE")
    return stack_file(stack), stack


def shown(path: Path) -> Path:
    """`stacks/Pulumi.prod.yaml` rather than an absolute path, for messages and diff headers."""
    absolute = Path(os.path.abspath(path))  # noqa: PTH100 - resolve() would follow symlinks
    return absolute.relative_to(PROJECT_ROOT) if absolute.is_relative_to(PROJECT_ROOT) else absolute
