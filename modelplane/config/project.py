"""Where the project is: the nearest folder at or above the working directory that holds `Pulumi.yaml`.

The Pulumi CLI finds its project the same way, and `-C/--cwd` changes where the search starts; so does
`modelplane --cwd`. The tool never looks beside its own source: installed from a wheel, it works on the
project it is run in, and outside any project it stops with a message (exit 2).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from modelplane.config.loader import read_yaml
from modelplane.errors import BadInput

PROJECT_FILE = "Pulumi.yaml"
PACK_FOLDER = "policies"


@dataclass(frozen=True)
class Project:
    """A Pulumi project folder and the places modelplane reads in it."""

    root: Path
    name: str
    """`name` of `Pulumi.yaml`: part of every URN."""
    stack_config_dir: str = ""
    """`stackConfigDir` of `Pulumi.yaml`: where `Pulumi.<stack>.yaml` files live, relative to the root."""
    main: str = ""
    """`main` of `Pulumi.yaml`: the program's folder or file, relative to the root."""

    @property
    def project_file(self) -> Path:
        return self.root / PROJECT_FILE

    @property
    def stacks_dir(self) -> Path:
        return self.root / self.stack_config_dir

    @property
    def program(self) -> Path:
        """The file the Python runtime runs: `main` when it names a file, else `__main__.py` in that folder."""
        target = self.root / self.main
        return target if target.suffix == ".py" else target / "__main__.py"

    @property
    def pack_dir(self) -> Path:
        """The policy pack `pulumi preview --policy-pack policies` runs."""
        return self.root / PACK_FOLDER

    def stack_file(self, stack: str) -> Path:
        return self.stacks_dir / f"Pulumi.{stack}.yaml"

    def shown(self, path: Path) -> Path:
        """Relative to the project when inside it: messages and diff headers name `stacks/Pulumi.prod.yaml`,
        and the simulation (which runs from the project root) opens the same file."""
        absolute = Path(os.path.abspath(path))  # noqa: PTH100 - resolve() would follow symlinks
        return absolute.relative_to(self.root) if absolute.is_relative_to(self.root) else absolute


def current() -> Project:
    """The project of the working directory (`modelplane --cwd` changes it before anything runs)."""
    return find(Path.cwd())


@cache
def find(start: Path) -> Project:
    """The project at or above `start`, as the Pulumi CLI looks for it."""
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file():
            return _read(folder)
    raise BadInput(
        f"no {PROJECT_FILE} in {start} or any folder above it: run modelplane inside a Pulumi project, "
        "or name one with --cwd DIR"
    )


def _read(root: Path) -> Project:
    """What of `Pulumi.yaml` places files and names URNs; the file's full check is `plan`'s (`cli_checks`)."""
    document = read_yaml(root / PROJECT_FILE, str(root / PROJECT_FILE))
    settings = document if isinstance(document, dict) else {}
    return Project(
        root=root,
        name=str(settings.get("name") or root.name),
        stack_config_dir=_relative(settings.get("stackConfigDir")),
        main=_relative(settings.get("main")),
    )


def _relative(value: object) -> str:
    return value if isinstance(value, str) else ""
