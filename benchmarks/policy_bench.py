"""Benchmark of the policy pack on the path the Pulumi CLI drives (issue 16); a measurement, not a timed test.

`python benchmarks/policy_bench.py [--repeat N]` simulates synthetic `dev` stacks of 10 and 100
SageMaker endpoints and the platform teams' programs of `tests/policies/` (`platform_program.py`, and
`breadth_program.py` of types no rule names), and builds the budget's workload: a platform of ten
teams, each declaring the breadth program, next to the 10-endpoint stack and the platform program,
so that most resources are of types no rule names (the rules by property and by shape judge them),
and a stack of large custom resources (Argo workflows of many steps, each step a container, next to
the arguments they pass) whose pods are found by shape.
For the pack as shipped (`GuardAnalyzer`, which decodes each request once, and calls only the rules
that judge a type) and for the same rules served by the SDK's own `PolicyPack` (decoding once per
policy), it measures:
- start-up: launching `python -m pulumi.policy` until it answers GetAnalyzerInfo;
- Analyze: one call per resource, as the CLI's step generator sends them, here one at a time, each
  waiting for its answer (the slowest case; the budget of 1,000 resources/s applies to it);
- AnalyzeStack: one call with every resource.
Times are medians of N runs. Wall time depends on what else the machine runs (the two CPUs are
shared with the client here), so the pack process's own CPU time for the Analyze calls is measured
too (`/proc/<pid>/stat`): resources per CPU-second is what the pack can sustain when it has a core.
Prints a Markdown table for docs/performance.md, and exits 1 when the budget workload misses the budget.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks.plan_bench import synthetic_stack
from modelplane.offline.graph import RecordedResource
from modelplane.offline.policy_client import (
    StackIdentity,
    analyze_request,
    analyze_stack_request,
    reconcile_config,
    start_pack,
)
from modelplane.offline.policy_config import load_policy_pack_config, policy_config_path
from modelplane.offline.simulation import simulate_in_subprocess
from policies.modelplane_guard import POLICIES
from policies.modelplane_guard.common import RESOURCE_TAG_PREFIX
from tests.policies.platform_program import recorded_program

PACK_DIR = Path(__file__).resolve().parent.parent / "policies"

BUDGET = 1000
ENDPOINT_COUNTS = (10, 100)
TEAMS = 10
LARGE_WORKFLOWS = 50
SDK_SAME_RULES = "SDK PolicyPack, same rules"
STEPS = 200
# Types some rule names in its `resource:` tags; any other type is judged by property or by shape only.
NAMED_TYPES = frozenset(
    tag.removeprefix(RESOURCE_TAG_PREFIX)
    for policy in POLICIES
    for tag in policy.tags or []
    if tag.startswith(RESOURCE_TAG_PREFIX) and not tag.endswith("*")
)
SDK_ENTRY_POINT = """from modelplane_guard import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack("modelplane-guard", policies=POLICIES, enforcement_level=EnforcementLevel.ADVISORY)
"""
# The floor: the SDK's server with one policy that does nothing (one decode, one call per request).
FLOOR_ENTRY_POINT = """from pulumi_policy import PolicyPack, ResourceValidationPolicy

PolicyPack("floor", policies=[ResourceValidationPolicy("nothing", "Checks nothing.", lambda args, report: None)])
"""


@dataclass(frozen=True)
class Timing:
    startup: float
    analyze: float
    analyze_cpu: float
    """CPU seconds the pack process spent on the Analyze calls."""
    analyze_stack: float


def pack_cpu_seconds(pid: int) -> float:
    """User and system CPU time of the pack's process (Linux /proc): a fork of the fork server, or a fresh
    `python -m pulumi.policy`."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state, ppid, ... utime is field 14 and stime 15 of the whole line.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pack_copy(directory: Path, name: str, entry_point: str) -> Path:
    """A copy of the pack with another entry point (the SDK's `PolicyPack` with the same rules, the floor)."""
    copy = directory / name
    shutil.copytree(PACK_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "venv"))
    (copy / "__main__.py").write_text(entry_point, encoding="utf-8")
    return copy


def judge_once(pack_dir: Path, resources: Sequence[RecordedResource]) -> Timing:
    identity = StackIdentity("modelplane", "bench", {"modelplane:environment": "prod"})
    by_urn = {resource.urn: resource for resource in resources}
    requests = [analyze_request(resource, by_urn) for resource in resources]
    stack_request = analyze_stack_request(resources)
    started = time.perf_counter()
    with start_pack(identity, pack_dir) as pack:
        pack.handshake()
        pack.configure_stack(identity)
        info = pack.info()
        startup = time.perf_counter() - started
        pack.configure(reconcile_config(info, load_policy_pack_config(policy_config_path("prod"))))
        cpu = pack_cpu_seconds(pack.pid)
        started = time.perf_counter()
        for request in requests:
            pack.stub.Analyze(request)
        analyze = time.perf_counter() - started
        analyze_cpu = pack_cpu_seconds(pack.pid) - cpu
        started = time.perf_counter()
        pack.stub.AnalyzeStack(stack_request)
        analyze_stack = time.perf_counter() - started
    return Timing(startup, analyze, analyze_cpu, analyze_stack)


def judge(pack_dir: Path, resources: Sequence[RecordedResource], repeat: int) -> Timing:
    runs = [judge_once(pack_dir, resources) for _ in range(repeat)]
    return Timing(
        statistics.median(run.startup for run in runs),
        statistics.median(run.analyze for run in runs),
        statistics.median(run.analyze_cpu for run in runs),
        statistics.median(run.analyze_stack for run in runs),
    )


def unnamed_share(resources: Sequence[RecordedResource]) -> float:
    return sum(resource.type not in NAMED_TYPES for resource in resources) / len(resources)


def teams(resources: Sequence[RecordedResource], count: int) -> list[RecordedResource]:
    """`count` copies of a program, as `count` teams would declare it (each its own URNs)."""
    return [
        replace(resource, urn=f"{resource.urn}-team{team}", name=f"{resource.name}-team{team}")
        for team in range(count)
        for resource in resources
    ]


def large_workflows(breadth: Sequence[RecordedResource], count: int, steps: int) -> list[RecordedResource]:
    """`count` Argo workflows of `steps` steps each, grown from the breadth program's hardened one: a DAG
    of container templates, each step taking parameters, as a pipeline compiler writes them."""
    seed = next(resource for resource in breadth if resource.name == "argo-hello-world")
    spec = seed.inputs["spec"]
    (template,) = spec["templates"]
    templates = [
        {
            **template,
            "name": f"step-{step}",
            "inputs": {"parameters": [{"name": f"shard-{shard}"} for shard in range(4)]},
            "container": {**template["container"], "args": [f"step {step}"]},
        }
        for step in range(steps)
    ]
    dag = {
        "name": "pipeline",
        "dag": {
            "tasks": [
                {
                    "name": f"step-{step}",
                    "template": f"step-{step}",
                    "dependencies": [f"step-{step - 1}"] if step else [],
                    "arguments": {
                        "parameters": [{"name": f"shard-{shard}", "value": str(shard)} for shard in range(4)]
                    },
                }
                for step in range(steps)
            ]
        },
    }
    inputs = {**seed.inputs, "spec": {**spec, "entrypoint": "pipeline", "templates": [dag, *templates]}}
    return [
        replace(seed, urn=f"{seed.urn}-{number}", name=f"{seed.name}-{number}", inputs=inputs)
        for number in range(count)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    args = parser.parse_args(argv)

    platform, breadth = recorded_program()[1], recorded_program("breadth")[1]
    workloads: dict[str, list[RecordedResource]] = {"platform program": platform, "breadth program": breadth}
    with tempfile.TemporaryDirectory(prefix="policy-bench-") as directory:
        for count in ENDPOINT_COUNTS:
            stack_file = Path(directory) / f"Pulumi.bench{count}.yaml"
            stack_file.write_text(json.dumps(synthetic_stack(count)), encoding="utf-8")
            workloads[f"{count} endpoints"] = simulate_in_subprocess(stack_file).resources
        budget_workload = f"{TEAMS} teams' breadth programs + 10 endpoints + platform program"
        workloads[budget_workload] = [*teams(breadth, TEAMS), *workloads["10 endpoints"], *platform]
        large = f"Argo workflows of {STEPS} steps"
        workloads[large] = large_workflows(breadth, LARGE_WORKFLOWS, STEPS)
        packs = {
            "shipped (GuardAnalyzer)": PACK_DIR,
            SDK_SAME_RULES: pack_copy(Path(directory), "sdk", SDK_ENTRY_POINT),
            "SDK PolicyPack, one empty rule (floor)": pack_copy(Path(directory), "floor", FLOOR_ENTRY_POINT),
        }
        # The SDK's server decodes a large resource once per policy (minutes for this workload): only the
        # shipped pack and the floor judge it.
        rows = [
            (
                label,
                len(resources),
                {
                    name: judge(path, resources, args.repeat)
                    for name, path in packs.items()
                    if not (label == large and name == SDK_SAME_RULES)
                },
            )
            for label, resources in workloads.items()
        ]

    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.repeat} runs, load {os.getloadavg()[0]:.1f}"
    )
    print()
    print(
        "| resources (share of types no rule names) | pack | start-up s | Analyze s | resources/s | pack CPU s"
        " | resources/CPU-s | AnalyzeStack s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for label, count, timings in rows:
        share = unnamed_share(workloads[label])
        for name, timing in timings.items():
            print(
                f"| {label} ({count}, {share:.0%}) | {name} | {timing.startup:.2f} | {timing.analyze:.2f} "
                f"| {count / timing.analyze:,.0f} | {timing.analyze_cpu:.2f} "
                f"| {count / max(timing.analyze_cpu, 0.01):,.0f} | {timing.analyze_stack:.2f} |"
            )
    print()
    label, count, timings = next(row for row in rows if row[0] == budget_workload)
    shipped, sdk, floor = timings.values()
    rate = count / shipped.analyze
    print(
        f"- {label} ({unnamed_share(workloads[label]):.0%} of types no rule names): {rate:,.0f} resources/s through Analyze, {count / shipped.analyze_cpu:,.0f} per CPU-second of the "
        f"pack (budget >= {BUDGET:,}): {'met' if rate >= BUDGET else 'MISSED'}; the SDK's PolicyPack: "
        f"{count / sdk.analyze:,.0f} resources/s (x{sdk.analyze / shipped.analyze:.1f} the time); the server's floor: "
        f"{count / floor.analyze:,.0f} resources/s"
    )
    return 0 if rate >= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
