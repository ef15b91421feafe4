"""The stack outputs the tools read after `pulumi up`: from `--outputs FILE` or the Pulumi CLI.

The outputs are the contract between the program and the tools (`modelplane/program/build.py`). They
name their stack, so a file saved from another stack is refused before anything is compared with it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelplane.config import inputs, stackfiles
from modelplane.config.loader import load_stack_file
from modelplane.errors import BadInput

if TYPE_CHECKING:
    from modelplane.settings import Settings


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


def read_outputs(path: Path | None, stack: str, settings: Settings) -> dict[str, Any]:
    """The outputs of `stack` from `--outputs FILE`, else from `pulumi stack output --json`."""
    if path is not None:
        document, source = inputs.read_json(path), str(path)
    else:
        document, source = _from_pulumi(stack), "pulumi stack output"
    if not isinstance(document, dict):
        raise BadInput(f"{source}: not the JSON object `pulumi stack output --json` writes")
    _check_stack(document, source, stack, settings)
    if not isinstance(document.get("endpoints", {}), dict):
        raise BadInput(f"{source}: output `endpoints` is {document['endpoints']!r}, not an object (is it secret?)")
    return document


def _from_pulumi(stack: str) -> Any:
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise BadInput("give --outputs FILE (`pulumi stack output --json`): no pulumi CLI on PATH")
    command = [pulumi, "stack", "output", "--json", "--stack", stack, "--show-secrets=false"]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise BadInput(f"`{' '.join(command[1:])}` failed: {completed.stderr.strip()}")
    try:
        return json.loads(completed.stdout)
    except json.JSONDecodeError as error:
        raise BadInput(f"`{' '.join(command[1:])}` printed no JSON ({error.msg})") from None


def stack_secret(stack: str, key: str, instead: str) -> str | None:
    """A stack's config value (a secret decrypted) from `pulumi config get`; None without the Pulumi CLI, or
    when the stack does not set it (the CLI's "not found"), so the caller falls back to its ambient default.
    When the CLI cannot tell, the message names the option that gives the value `instead`."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        return None
    command = [pulumi, "config", "get", key, "--stack", stack]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode == 0:
        return completed.stdout
    if "not found" in completed.stderr:
        return None
    raise BadInput(f"`{' '.join(command[1:])}` failed: {completed.stderr.strip()}; or give {instead}")


def _check_stack(outputs: dict[str, Any], source: str, stack: str, settings: Settings) -> None:
    """Refuse another stack's outputs: by the stack they name, or (outputs of older programs) their environment."""
    fix = f"save this stack's with `pulumi stack output --json --stack {stack} > FILE`"
    if "stack" in outputs:
        if outputs["stack"] != stack:
            raise BadInput(f"{source}: the outputs of stack {outputs['stack']!r}, not of stack {stack!r}; {fix}")
        return
    environment = settings.environment.value
    if outputs.get("environment") != environment:
        raise BadInput(
            f"{source}: the outputs of a stack in environment {outputs.get('environment')!r}, "
            f"not of stack {stack!r} (environment {environment!r}); {fix}"
        )


@dataclass(frozen=True)
class DeployedStack:
    """A deployed stack as `--stack/--config/--outputs` name it: its settings and its outputs."""

    path: Path
    stack: str
    settings: Settings
    outputs: dict[str, Any]


def deployed_stack(args: argparse.Namespace) -> DeployedStack:
    """The stack of `add_deployed_stack_options`' arguments, its settings checked and its outputs its own."""
    path, stack = stackfiles.resolve(args.stack, args.config)
    settings = load_stack_file(path, stack)
    return DeployedStack(path, stack, settings, read_outputs(args.outputs, stack, settings))
