"""The stack outputs the tools read after `pulumi up`: from `--outputs FILE` or the Pulumi CLI.

The outputs are the contract between the program and the tools (see `modelplane/program.py`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any


class InputError(Exception):
    """The command cannot start: its input is missing or malformed (exit 2)."""


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
