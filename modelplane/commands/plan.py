"""`modelplane plan`: what a stack will create and whether it passes the policy pack, offline
(`modelplane.offline.planning`), for one stack or all of them, with its reports.

Only light modules are imported here: the simulation starts before anything heavy loads.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelplane.commands import outcome_of
from modelplane.config import project, stackfiles
from modelplane.config.loader import stack_name_of
from modelplane.errors import EXIT_FAILED, EXIT_OK, BadInput
from modelplane.offline.planning import plan_stack

if TYPE_CHECKING:
    from modelplane.offline.plan_result import Plan

# Report files by their command-line option; `modelplane.report.writers.RENDERERS` writes each.
REPORT_FORMATS = ("json", "sarif", "markdown")


@dataclass(frozen=True)
class Target:
    """One stack to plan: its file, its name, the report paths for it, and how to plan it (`plan_stack`'s options)."""

    stack_file: Path
    stack: str
    reports: Mapping[str, Path]
    policy_config: Path | None = None
    against: str | None = None
    stand_in_secrets: bool = False
    first_deploy: bool = False


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
    parser.add_argument(
        "--against",
        metavar="REF",
        help="also simulate the stack at this git ref (its own code, in a temporary worktree) and report "
        "which resources the change creates, deletes, renames and replaces; deleting a resource protected "
        "there fails the plan",
    )
    parser.add_argument(
        "--stand-in-secrets",
        action="store_true",
        help="simulate every secret the stack declares as set, as `pulumi config set --secret` sets it in a "
        "deployed stack (the shipped stack files hold no secret values); with --against, at the ref too",
    )
    parser.add_argument(
        "--first-deploy",
        action="store_true",
        help="print the order of the stack's first deploy: the registry with a targeted `pulumi up` (its exact "
        "command), then an image and a registered version, then the endpoints (shown unasked when --against "
        "finds the registry created)",
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
        raise BadInput(f"no stack files (Pulumi.*.yaml) in {project.current().stacks_dir}")
    # Each plan mostly waits on two child processes (program, policy pack): threads overlap them.
    with ThreadPoolExecutor(max_workers=min(len(targets), os.cpu_count() or 1)) as pool:
        outcomes = list(pool.map(_plan_target, targets))
    from modelplane.report.plan_text import render_text
    from modelplane.report.writers import RENDERERS, write_report

    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    for outcome in outcomes:
        if outcome.plan is None:
            print(outcome.error, file=sys.stderr)
            continue
        sys.stdout.write(render_text(outcome.plan, color=color))
        for kind, path in outcome.target.reports.items():
            write_report(path, RENDERERS[kind](outcome.plan))
    if len(outcomes) > 1:
        failed = [outcome.target.stack for outcome in outcomes if outcome.exit_code != EXIT_OK]
        print(f"\n{len(outcomes)} stacks planned: " + (f"failed {', '.join(failed)}" if failed else "all passed"))
    return max(outcome.exit_code for outcome in outcomes)


def _single_target(args: argparse.Namespace) -> Target:
    stack_file, stack = stackfiles.resolve(args.stack, args.config)
    return Target(
        stackfiles.shown(stack_file),
        stack,
        _report_paths(args, None),
        args.policy_config,
        args.against,
        args.stand_in_secrets,
        args.first_deploy,
    )


def _all_targets(args: argparse.Namespace) -> list[Target]:
    return [
        Target(
            stackfiles.shown(path),
            stack_name_of(path),
            _report_paths(args, stack_name_of(path)),
            args.policy_config,
            args.against,
            args.stand_in_secrets,
            args.first_deploy,
        )
        for path in stackfiles.stack_files()
    ]


def _plan_target(target: Target) -> Outcome:
    try:
        plan = plan_stack(
            target.stack_file,
            target.stack,
            policy_config=target.policy_config,
            against=target.against,
            stand_in_secrets=target.stand_in_secrets,
            first_deploy=target.first_deploy,
        )
    except Exception as error:
        code, message = outcome_of(f"plan: {target.stack}", error)
        return Outcome(target, code, error=message)
    return Outcome(target, EXIT_OK if plan.passed else EXIT_FAILED, plan)


def _report_paths(args: argparse.Namespace, stack: str | None) -> dict[str, Path]:
    """Requested report files; with `--all`, `plan.json` becomes `plan.<stack>.json`."""
    paths = {kind: getattr(args, kind) for kind in REPORT_FORMATS if getattr(args, kind) is not None}
    if stack is None:
        return paths
    return {kind: path.with_name(f"{path.stem}.{stack}{path.suffix}") for kind, path in paths.items()}
