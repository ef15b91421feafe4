"""Shared test helpers: component scenarios and example programs run under the recording mocks in a
fresh process each, resources recorded by hand, and the SARIF schema reports are checked against.

Mock state is process-global, so `run_isolated("tests.components.test_x:scenario")` runs the function `scenario`
of a test module (or `run_isolated("examples/python/__main__.py")` a program file) in a process of its own
(a fork of the simulations' fork server, which has imported the SDKs already) and returns every
registration and the stack's exports.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import runpy
import sys
from collections.abc import Callable, Mapping

from ruamel.yaml import YAML

from modelplane.offline.graph import Simulation
from modelplane.offline.mocks import run_under_mocks
from modelplane.offline.simulation import start_module
from tests.stacks import REPOSITORY

REGION = "eu-west-1"
PROJECT = "scenario"


def run_isolated(target: str, *, stack: str = "dev", config: Mapping[str, str] | None = None) -> Simulation:
    printed: list[str] = []
    argv = [target, "--stack", stack, "--config", json.dumps(dict(config or {}))]
    running = start_module("tests.harness", argv, REPOSITORY, os.environ, on_line=printed.append)
    assert running.wait() == 0, running.errors
    return Simulation.from_json(json.loads("".join(printed)))


def _program(target: str) -> Callable[[], None]:
    if target.endswith(".py"):

        def run_file() -> None:
            runpy.run_path(str(REPOSITORY / target), run_name="__main__")

        return run_file
    module, function = target.split(":")
    return getattr(importlib.import_module(module), function)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.harness")
    parser.add_argument("target", help="module:function of a scenario, or a program file relative to the project")
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--config", default="{}", help="config as JSON: key -> string value")
    args = parser.parse_args(argv)
    # As in a simulation (`modelplane.offline.mocks`): a process that lives for one program run.
    gc.disable()
    project = PROJECT
    if args.target.endswith(".py"):
        project = YAML(typ="safe").load((REPOSITORY / args.target).parent / "Pulumi.yaml")["name"]
    simulation = run_under_mocks(
        _program(args.target), project=project, stack=args.stack, region=REGION, config=json.loads(args.config)
    )
    json.dump(simulation.to_json(), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
