"""`modelplane plan`: what a stack will create and whether it passes the policy pack, offline.

The program runs under Pulumi's mock runtime in a fresh process (`simulate_in_subprocess`), then
the real policy pack judges the recorded graph over its gRPC analyzer interface (`judge`), as
`pulumi preview --policy-pack policies` would, with no cloud account and no Pulumi CLI.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelplane import stackfiles
from modelplane.analyzer import PolicyPackError, StackIdentity, judge, start_pack
from modelplane.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from modelplane.loader import PROJECT, SettingsError, stack_name_of
from modelplane.reports import Plan, render_json, render_markdown, render_sarif, render_text, write_report
from modelplane.simulate import SimulationFailed, simulate_in_subprocess

REPORT_FORMATS: dict[str, Callable[[Plan], str | dict[str, Any]]] = {
    "json": render_json,
    "sarif": render_sarif,
    "markdown": render_markdown,
}


def plan_stack(
    stack_file: Path,
    stack: str | None = None,
    *,
    secret_values: Mapping[str, str] | None = None,
    policy_config: Path | None = None,
) -> Plan:
    """Simulate one stack file and judge it with the environment's policy config (or `policy_config`).

    `secret_values` stand in for the stack's `secure:` values (there is no key to decrypt them
    offline); tests pass known values to prove that no report ever shows them.
    """
    identity = StackIdentity.for_stack_file(PROJECT, stack or stack_name_of(stack_file), stack_file)
    # The pack's start-up (its own interpreter and imports) overlaps the program's simulation.
    with ThreadPoolExecutor(max_workers=1) as pool:
        simulating = pool.submit(simulate_in_subprocess, stack_file, stack, secret_values)
        with start_pack(identity) as pack:
            simulation = simulating.result()
            return Plan(simulation, judge(pack, identity, simulation, policy_config))


@dataclass(frozen=True)
class Target:
    """One stack to plan: its file, its name, and the report paths for it."""

    stack_file: Path
    stack: str
    reports: Mapping[str, Path]
    policy_config: Path | None = None


@dataclass(frozen=True)
class Outcome:
    """What planning one target gave: its exit code, and the plan or why there is none."""

    target: Target
    exit_code: int
    plan: Plan | None = None
    error: str = ""
    """Why there is no plan: the loader's lines, or what failed."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="show what a stack creates and check it against the policy pack, offline",
        description=(
            "Run the program under Pulumi's mock runtime and the policy pack over the result, with no "
            "cloud account and no Pulumi CLI. Exit codes: 0 no mandatory violation, 1 mandatory "
            "violations, 2 bad usage or invalid settings."
        ),
    )
    parser.add_argument("--stack", metavar="NAME", help="plan stacks/Pulumi.NAME.yaml (with --config: the stack name)")
    parser.add_argument("--config", metavar="FILE", type=Path, help="plan any file in the stack file format")
    parser.add_argument(
        "--all",
        action="store_true",
        help="plan every stack in stacks/; each report path gets the stack name before its suffix "
        "(plan.json -> plan.prod.json); exits with the worst code",
    )
    parser.add_argument("--json", metavar="FILE", type=Path, help="write the plan as JSON (stable contract)")
    parser.add_argument("--sarif", metavar="FILE", type=Path, help="write violations as SARIF 2.1.0")
    parser.add_argument("--markdown", metavar="FILE", type=Path, help="write a pull-request comment")
    parser.add_argument(
        "--policy-config",
        metavar="FILE",
        type=Path,
        help="policy pack config to judge with, as `pulumi preview --policy-pack-config FILE` takes it "
        "(default: policies/config/<environment>.json, with the environment's waivers)",
    )
    parser.set_defaults(handler=functools.partial(run, parser=parser))


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Plan the requested stacks, print each report, write the report files; the worst exit code wins."""
    if args.all and (args.stack is not None or args.config is not None):
        parser.error("--all plans every stack in stacks/: drop --stack and --config")
    if not args.all and args.stack is None and args.config is None:
        parser.error("one of --stack NAME, --config FILE or --all is required")
    targets = _all_targets(args) if args.all else [_single_target(args)]
    if not targets:
        print(f"modelplane plan: no stack files (Pulumi.*.yaml) in {stackfiles.STACKS_DIR}", file=sys.stderr)
        return EXIT_USAGE
    # Each plan mostly waits on two child processes (program, policy pack): threads overlap them.
    with ThreadPoolExecutor(max_workers=min(len(targets), os.cpu_count() or 1)) as pool:
        outcomes = list(pool.map(_plan_target, targets))
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    for outcome in outcomes:
        if outcome.plan is None:
            print(outcome.error, file=sys.stderr)
            continue
        sys.stdout.write(render_text(outcome.plan, color=color))
        for kind, path in outcome.target.reports.items():
            write_report(path, REPORT_FORMATS[kind](outcome.plan))
    if len(outcomes) > 1:
        failed = [outcome.target.stack for outcome in outcomes if outcome.exit_code != EXIT_OK]
        print(f"\n{len(outcomes)} stacks planned: " + (f"failed {', '.join(failed)}" if failed else "all passed"))
    return max(outcome.exit_code for outcome in outcomes)


def _single_target(args: argparse.Namespace) -> Target:
    stack_file, stack = stackfiles.resolve(args.stack, args.config)
    return Target(stackfiles.shown(stack_file), stack, _report_paths(args, None), args.policy_config)


def _all_targets(args: argparse.Namespace) -> list[Target]:
    return [
        Target(
            stackfiles.shown(path), stack_name_of(path), _report_paths(args, stack_name_of(path)), args.policy_config
        )
        for path in stackfiles.stack_files()
    ]


def _plan_target(target: Target) -> Outcome:
    try:
        plan = plan_stack(target.stack_file, target.stack, policy_config=target.policy_config)
    except SettingsError as error:
        return Outcome(target, EXIT_USAGE, error="\n".join(error.lines))
    except PolicyPackError as error:
        return Outcome(target, EXIT_USAGE, error=f"modelplane plan: {target.stack}: {error}")
    except SimulationFailed as error:
        return Outcome(target, EXIT_FAILED, error=f"modelplane plan: {target.stack}: the program failed:\n{error}")
    return Outcome(target, EXIT_OK if plan.passed else EXIT_FAILED, plan)


def _report_paths(args: argparse.Namespace, stack: str | None) -> dict[str, Path]:
    """Requested report files; with `--all`, `plan.json` becomes `plan.<stack>.json`."""
    paths = {kind: getattr(args, kind) for kind in REPORT_FORMATS if getattr(args, kind) is not None}
    if stack is None:
        return paths
    return {kind: path.with_name(f"{path.stem}.{stack}{path.suffix}") for kind, path in paths.items()}
