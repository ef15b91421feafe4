"""Benchmark of `modelplane plan` against its budgets (issues 9 and 14); a measurement, not a timed test.

`python benchmarks/plan_bench.py [--repeat N]` measures in one run on this machine:
(a) the import floor: a fresh process importing only the pulumi, pulumi_aws and pulumi_kubernetes
    modules the program loads for the prod stack (found by simulating it once);
(a') the same imports with the cyclic garbage collector off and frozen before exit, as the simulation
    runs (for comparison only: the budget is against (a));
(b) `modelplane plan --stack prod`;
(c) `modelplane plan --config <synthetic stack>` with 1, 10, 50 and 100 SageMaker endpoints;
(d) `modelplane plan --stack prod --against HEAD` in a temporary git repository holding a copy of
    this checkout (so the benchmark never adds a worktree to this repository), next to (b) run there;
and the policy pass alone (`analyze`, pack start-up included) for (b) and (c).
Wall times are medians of N runs; peak RSS is `ru_maxrss` of the largest process in the command's
tree (`os.wait4` returns the child's usage including its reaped children, as `getrusage(RUSAGE_CHILDREN)`
does for a whole process). Budgets: (b) <= 1.6x (a); (d) <= 2.2x (b); growth from 10 to 100 endpoints
at most linear. The policy pack's own budget (1,000 resources/s through Analyze) is measured by
policy_bench.py. Prints a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelplane.config import stackfiles
from modelplane.offline.policy_client import analyze
from modelplane.offline.simulation import simulate_in_subprocess

REPOSITORY = Path(__file__).resolve().parent.parent

ENDPOINT_COUNTS = (1, 10, 50, 100)
SDK_PACKAGES = ("pulumi_aws", "pulumi_kubernetes")
# Prints the SDK modules the program imported while simulating a stack file.
_LIST_SDK_MODULES = """
import json, sys
from pathlib import Path
from modelplane.offline.mocks import simulate
simulate(Path(sys.argv[1]))
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {packages!r})))
"""


@dataclass(frozen=True)
class Measurement:
    wall_seconds: float
    peak_rss_mb: float


def run_once(command: Sequence[str], cwd: Path = REPOSITORY) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run of `command` from `cwd` (the project root)."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        # plan exits 1 for mandatory violations, which synthetic dev stacks may have; 2 means it failed.
        if process.returncode not in (0, 1):
            errors.seek(0)
            detail = errors.read().decode(errors="replace")
            raise SystemExit(f"{' '.join(command)} exited {process.returncode}:\n{detail}")
    return wall, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def measure(
    commands: Mapping[str, Sequence[str]], repeat: int, cwd: Mapping[str, Path] | None = None
) -> dict[str, Measurement]:
    """Median wall time and largest peak RSS per command; runs are interleaved so that load from
    other processes on the machine weighs on every command alike. `cwd` overrides the project root."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            samples[name].append(run_once(command, (cwd or {}).get(name, REPOSITORY)))
    return {
        name: Measurement(statistics.median(wall for wall, _ in runs), max(peak for _, peak in runs))
        for name, runs in samples.items()
    }


def sdk_modules(stack_file: Path) -> list[str]:
    script = _LIST_SDK_MODULES.format(packages=set(SDK_PACKAGES))
    completed = subprocess.run(
        [sys.executable, "-c", script, str(stack_file)], cwd=REPOSITORY, capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def import_floor_command(modules: Sequence[str], *, collector: bool = True) -> list[str]:
    imports = f"import importlib, pulumi\nfor m in {list(modules)!r}: importlib.import_module(m)"
    return [sys.executable, "-c", imports if collector else f"import gc\ngc.disable()\n{imports}\ngc.freeze()"]


def plan_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "modelplane", "plan", *args]


def synthetic_stack(endpoints: int) -> dict[str, Any]:
    """A dev stack serving `endpoints` instance-backed SageMaker endpoints of one model family."""
    return {
        "config": {
            "aws:region": "eu-west-1",
            "modelplane:environment": "dev",
            "modelplane:tags": {
                "owner": "bench@example.com",
                "cost-center": "bench",
                "data-classification": "internal",
            },
            "modelplane:registry": {"families": {"scorer": {"description": "Synthetic benchmark model."}}},
            "modelplane:monitoring": {"emails": ["bench@example.com"]},
            "modelplane:endpoints": [
                {
                    "name": f"m{index:03d}",
                    "family": "scorer",
                    "variants": [
                        {
                            "name": "current",
                            "image_tag": "1.0.0",
                            "model_artifact": "scorer/1.0.0/model.tar.gz",
                            "instance_type": "ml.m5.large",
                            "instance_count": 2,
                        }
                    ],
                }
                for index in range(endpoints)
            ],
        }
    }


@dataclass(frozen=True)
class PolicyPass:
    resources: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.resources / self.seconds


def policy_pass(stack_file: Path, repeat: int) -> PolicyPass:
    """The policy pack over a stack's recorded graph, alone: start-up, Configure, Analyze, AnalyzeStack."""
    simulation = simulate_in_subprocess(stack_file)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        analyze(simulation)
        times.append(time.perf_counter() - started)
    return PolicyPass(len(simulation.resources), statistics.median(times))


def repository_copy(directory: Path) -> Path:
    """A git repository whose one commit is this checkout's working tree, for `plan --against HEAD`."""
    root = directory / "project"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        if (REPOSITORY / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPOSITORY / name, root / name)
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@modelplane.invalid"]
    for git_args in (["init", "--quiet"], ["add", "--all"], [*identity, "commit", "--quiet", "-m", "base"]):
        subprocess.run(["git", *git_args], cwd=root, check=True, capture_output=True)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median wall time)")
    args = parser.parse_args(argv)
    prod = stackfiles.stack_file("prod")

    modules = sdk_modules(prod)
    with tempfile.TemporaryDirectory(prefix="plan-bench-") as directory:
        synthetic = {}
        for count in ENDPOINT_COUNTS:
            synthetic[count] = Path(directory) / f"Pulumi.bench{count}.yaml"
            synthetic[count].write_text(json.dumps(synthetic_stack(count)), encoding="utf-8")
        copy = repository_copy(Path(directory))
        commands = {
            "floor": import_floor_command(modules),
            "floor without collector": import_floor_command(modules, collector=False),
            "prod": plan_command("--stack", "prod"),
            **{str(count): plan_command("--config", str(path)) for count, path in synthetic.items()},
            "copy": plan_command("--stack", "prod"),
            "against": plan_command("--stack", "prod", "--against", "HEAD"),
        }
        measured = measure(commands, args.repeat, {"copy": copy, "against": copy})
        passes = {count: policy_pass(path, args.repeat) for count, path in synthetic.items()}
    floor, prod_plan = measured["floor"], measured["prod"]
    plans = {count: measured[str(count)] for count in ENDPOINT_COUNTS}
    prod_pass = policy_pass(prod, args.repeat)
    rows = [
        ("(a) import floor", floor, None),
        ("(a') import floor, collector off", measured["floor without collector"], None),
    ]
    rows += [("(b) plan --stack prod", prod_plan, prod_pass)]
    rows += [
        (f"(c) plan, {count} endpoint{'s' if count > 1 else ''}", plans[count], passes[count])
        for count in ENDPOINT_COUNTS
    ]
    rows += [("(b') plan --stack prod, in the copy", measured["copy"], None)]
    rows += [("(d) plan --stack prod --against HEAD, in the copy", measured["against"], None)]

    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.repeat} runs")
    print(f"Import floor: pulumi + {len(modules)} pulumi_aws/pulumi_kubernetes modules used by the prod program.\n")
    print("| step | wall s | peak RSS MB | resources | policy pass s | policy resources/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, measurement, judged in rows:
        policy_cells = (
            f"{judged.resources} | {judged.seconds:.2f} | {judged.rate:,.0f}" if judged is not None else "| |"
        )
        print(f"| {label} | {measurement.wall_seconds:.2f} | {measurement.peak_rss_mb:.0f} | {policy_cells} |")

    ratio = prod_plan.wall_seconds / floor.wall_seconds
    against_ratio = measured["against"].wall_seconds / measured["copy"].wall_seconds
    growth = plans[100].wall_seconds / plans[10].wall_seconds
    resource_growth = passes[100].resources / passes[10].resources
    marginal = (passes[100].resources - passes[10].resources) / (passes[100].seconds - passes[10].seconds)
    slope_low = (plans[50].wall_seconds - plans[10].wall_seconds) / 40
    slope_high = (plans[100].wall_seconds - plans[50].wall_seconds) / 50
    print()
    print(f"- (b)/(a) = {ratio:.2f} (budget <= 1.6): {'met' if ratio <= 1.6 else 'MISSED'}")
    print(
        f"- (b)/(a') = {prod_plan.wall_seconds / measured['floor without collector'].wall_seconds:.2f} (for comparison)"
    )
    print(f"- (d)/(b') = {against_ratio:.2f} (budget <= 2.2): {'met' if against_ratio <= 2.2 else 'MISSED'}")
    # Linear: each endpoint beyond 50 costs no more than one between 10 and 50 did (25% for noise).
    linear = slope_high <= 1.25 * slope_low
    print(
        f"- 10 -> 100 endpoints: plan time x{growth:.2f} for x{resource_growth:.1f} resources; per endpoint "
        f"{slope_low * 1000:.0f} ms (10-50) vs {slope_high * 1000:.0f} ms (50-100) "
        f"(budget: at most linear): {'met' if linear else 'MISSED'}"
    )
    print(
        f"- policy pass at 100 endpoints: {passes[100].rate:,.0f} resources/s including pack start-up, "
        f"{marginal:,.0f} resources/s marginal (its budget: benchmarks/policy_bench.py)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
