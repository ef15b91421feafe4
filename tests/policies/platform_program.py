"""Platform teams' programs next to modelplane, recorded under the mock runtime for the pack to judge.

Two programs, data written as programs with the pulumi-aws 7 and pulumi-kubernetes 4 SDKs (so their
inputs reach the pack exactly as the SDK sends them): `platform` (`platform_declarations.py`: notebooks,
queues, security groups, cluster RBAC...) and `breadth` (`breadth_program.py`: the held-out-style
program of types and custom resources no rule names). Each declaration records with `case` the policy
that must stop its resource in production, or None for a compliant one, which must draw no mandatory
diagnostic. This module is their harness: `python -m tests.policies.platform_program [program...]`
runs programs under the mock runtime and prints each recorded graph as a JSON line;
`recorded_program()` runs them so for the benchmarks, and the `recorded_programs` fixture
(tests/policies/conftest.py) for the tests that judge them through the pack's gRPC interface
(`tests/policies/test_catch_rate.py`, `test_server.py`).
"""

from __future__ import annotations

import functools
import gc
import importlib
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelplane.offline.graph import RecordedResource

ACCOUNT = "123456789012"
REGION = "eu-west-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/batch-scorer:4.1.0"
SUBNET = "subnet-0a1b2c3d4e5f60718"
SG_ID = "sg-0c3d4e5f607182930"
VPC = "vpc-0a1b2c3d"
TAGS = {
    "owner": "ml-platform@example.com",
    "cost-center": "cc-ml",
    "data-classification": "internal",
    "environment": "prod",
}

EXPECTED: dict[str, str | None] = {}
"""What the program being declared expects of each resource (`case`); emptied after each program."""


def case(name: str, expected: str | None) -> str:
    """Record what the resource named `name` must draw, and return the name."""
    assert name not in EXPECTED, name
    EXPECTED[name] = expected
    return name


# Each program: the module whose DECLARATIONS declare it.
PROGRAMS = {"platform": "tests.policies.platform_declarations", "breadth": "tests.policies.breadth_program"}
THIS_MODULE = "tests.policies.platform_program"


def main(argv: list[str] | None = None) -> int:
    """Run programs (default: platform) under the mock runtime, one after another in this process, and
    print a line {"program": ..., "expected": ..., "resources": [...]} for each."""
    # A process that lives for these runs, as a simulation does (`modelplane.offline.mocks`): the collector
    # would spend a third of it traversing the SDKs' modules and the growing graphs, to free what exit frees.
    gc.disable()
    from dataclasses import asdict

    from pulumi.runtime.mocks import MockResourceArgs, set_mocks
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from modelplane.offline.mocks import RealisticMocks, RecordingMonitor

    class ProviderNormalizing(RealisticMocks):
        """The provider returns a policy document given as an object (TypeScript, YAML) as a JSON string."""

        def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
            resource_id, outputs = super().new_resource(args)
            if isinstance(outputs.get("policy"), dict):
                outputs["policy"] = json.dumps(outputs["policy"])
            return resource_id, outputs

    # Run as `python -m`, this file is `__main__`; the declarations record into the module they import.
    expected: dict[str, str | None] = importlib.import_module(THIS_MODULE).EXPECTED
    for program in (argv if argv is not None else sys.argv[1:]) or ["platform"]:
        declarations: list[Callable[[], None]] = importlib.import_module(PROGRAMS[program]).DECLARATIONS
        # Each program gets mocks and a monitor of its own, as in a process of its own.
        monitor = RecordingMonitor(ProviderNormalizing(REGION, ACCOUNT))
        set_mocks(monitor.mocks, project="platform", stack="prod", preview=False, monitor=monitor)

        def declare(declarations: list[Callable[[], None]] = declarations) -> None:
            for declaration in declarations:
                declaration()

        _sync_await(run_pulumi_func(declare))
        resources = [asdict(record) for record in monitor.records]
        json.dump({"program": program, "expected": dict(expected), "resources": resources}, sys.stdout)
        sys.stdout.write("\n")
        expected.clear()
    return 0


Recorded = tuple[dict[str, str | None], list["RecordedResource"]]
"""A program's `EXPECTED` and its recorded resources."""


def record(programs: list[str]) -> str:
    """What `python -m tests.policies.platform_program <programs>` prints, run in a fork of the
    simulations' fork server (the mocks are process-wide; the fork has imported the SDKs already)."""
    from modelplane.offline.simulation import start_module
    from tests.stacks import REPOSITORY

    printed: list[str] = []
    running = start_module(THIS_MODULE, programs, REPOSITORY, os.environ, on_line=printed.append)
    assert running.wait() == 0, running.errors
    return "".join(printed)


def parse(printed: str) -> dict[str, Recorded]:
    """Each program's `EXPECTED` and recorded resources, from what `record` returned."""
    from modelplane.offline.graph import RecordedResource

    programs: dict[str, Recorded] = {}
    for line in printed.splitlines():
        recorded = json.loads(line)
        resources = [RecordedResource(**record) for record in recorded["resources"]]
        programs[recorded["program"]] = (recorded["expected"], resources)
    return programs


@functools.cache
def recorded_programs() -> dict[str, Recorded]:
    """Every program's `EXPECTED` and recorded resources, recorded in one process, once per process."""
    return parse(record(list(PROGRAMS)))


def recorded_program(program: str = "platform") -> Recorded:
    """`EXPECTED` and the recorded resources of a program (callers don't change what they get). The tests
    get it from the `recorded_programs` fixture instead, once per run."""
    return recorded_programs()[program]


if __name__ == "__main__":
    sys.exit(main())
