"""The stack outputs the tools read after `pulumi up`: from `--outputs FILE` or the Pulumi CLI.

The outputs are the contract between the program and the tools (see `modelplane/program.py`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any


class InputError(Exception):
    """The command cannot start: its input is missing or malformed (exit 2)."""


def add_outputs_option(parser: argparse.ArgumentParser) -> None:
    """`--outputs`, the same for every command that reads a deployed stack's outputs (`read_outputs`)."""
    parser.add_argument(
        "--outputs", type=Path, metavar="FILE", help="`pulumi stack output --json` saved to a file (default: run it)"
    )


def add_deployed_stack_options(parser: argparse.ArgumentParser) -> None:
    """`--stack` or `--config` for the settings (`stackfiles.resolve`), and `--outputs` for what was deployed."""
    parser.add_argument("--stack", help="stack name; settings from stacks/Pulumi.<stack>.yaml")
    parser.add_argument("--config", type=Path, metavar="FILE", help="settings file (stack name from --stack or it)")
    add_outputs_option(parser)


def read_outputs(path: Path | None, stack: str) -> dict[str, Any]:
    """The stack outputs from `--outputs FILE`, else from `pulumi stack output --json`."""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise InputError(f"{path}: cannot read: {error.strerror}") from None
        source = str(path)
    else:
        pulumi = shutil.which("pulumi")
        if pulumi is None:
            raise InputError("give --outputs FILE (`pulumi stack output --json`): no pulumi CLI on PATH")
        command = [pulumi, "stack", "output", "--json", "--stack", stack, "--show-secrets=false"]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise InputError(f"`{' '.join(command[1:])}` failed: {completed.stderr.strip()}")
        text, source = completed.stdout, "pulumi stack output"
    try:
        outputs = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{source}: not JSON ({error})") from None
    if not isinstance(outputs, dict):
        raise InputError(f"{source}: expected the JSON object of `pulumi stack output --json`")
    if not isinstance(outputs.get("endpoints", {}), dict):
        raise InputError(f"{source}: output `endpoints` is {outputs['endpoints']!r}, not an object (is it secret?)")
    return outputs
