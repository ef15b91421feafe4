"""`modelplane plan`: what a stack will create and whether it passes the policy pack, offline.

The Pulumi CLI's own checks of `Pulumi.yaml` and the stack file (`prerun`), then the program under
Pulumi's mock runtime in a fresh process (`start_simulation`), with the real policy pack judging each
resource as the program registers it and then the whole graph, over its gRPC analyzer interface
(`Judging`), as `pulumi preview --policy-pack policies` would, with no cloud account and no Pulumi
CLI. Meanwhile the graph is checked for what the engine and AWS would refuse (default providers, the
AWS API's constraints); with `--against <ref>` the stack is simulated at that git ref too and the two
graphs are compared.

The simulation is the critical path, so it starts before this process imports anything heavy (the
modules below are light; the SDK, gRPC, jsonschema and botocore are imported inside the functions).
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

from modelplane import stackfiles
from modelplane.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from modelplane.loader import PROJECT, SettingsError, read_stack_file, stack_name_of
from modelplane.simulate import SimulationFailed, stand_in_secret_values, start_simulation
from modelplane.stackfiles import PROJECT_ROOT

if TYPE_CHECKING:
    from modelplane.findings import Finding
    from modelplane.reports import Plan

# Report files by their command-line option; `reports.RENDERERS` writes each.
REPORT_FORMATS = ("json", "sarif", "markdown")


def plan_stack(
    stack_file: Path,
    stack: str | None = None,
    *,
    secret_values: Mapping[str, str] | None = None,
    policy_config: Path | None = None,
    against: str | None = None,
    stand_in_secrets: bool = False,
) -> Plan:
    """Check, simulate and judge one stack file with its environment's policy config (or `policy_config`).

    `secret_values` stand in for the stack's secret config (there is no key to decrypt `secure:`
    values offline); tests pass known values to prove that no report ever shows them. With
    `stand_in_secrets`, every declared secret has a value, as in a deployed stack. `against` is a git
    ref whose version of the stack the plan is compared with.
    """
    stack = stack or stack_name_of(stack_file)
    # The CLI refuses a bad project or stack file before the program runs; here the program already
    # runs meanwhile, and stops unused if the files are refused.
    running = start_simulation(stack_file, stack, _with_stand_ins(stack_file, secret_values, stand_in_secrets))
    try:
        from modelplane import aws_calls, prerun

        config = prerun.check_stack(prerun.check_project(), PROJECT_ROOT / stack_file, stack, source=str(stack_file))
        from modelplane.analyzer import Judging, StackIdentity, start_pack
        from modelplane.changes import change_findings, diff, simulate_ref
        from modelplane.providers_check import default_provider_findings, disabled_packages
        from modelplane.reports import Plan

        identity = StackIdentity.for_config(PROJECT, stack, config)
        disabled = disabled_packages(config)
        # The pack's start-up (its own interpreter and imports), botocore's models and the base revision's
        # simulation overlap the program's run; so do the pack's judging of each resource and the check of
        # its inputs against AWS's constraints, as it registers. Left for the end: AnalyzeStack, and the
        # engine's check of default providers, which needs the provider functions the program called.
        with ThreadPoolExecutor(max_workers=2) as pool:
            pool.submit(aws_calls.load_models)
            basing = (
                pool.submit(simulate_ref, against, stack_file, stack, secret_values, stand_in_secrets=stand_in_secrets)
                if against
                else None
            )
            constraints: list[Finding] = []
            with start_pack(identity) as pack:
                judging = Judging(pack, identity, running.started().environment, policy_config)
                for resource in running.registrations():
                    judging.analyze(resource)
                    constraints += aws_calls.resource_constraint_findings(resource)
                simulation = running.result()
                report = judging.finish()
            findings = default_provider_findings(simulation, disabled) + constraints
            if basing is None:
                return Plan(simulation, report, tuple(findings))
            base, commit, lock_differs = basing.result()
    finally:
        running.stop()
    assert against is not None
    changes = diff(base, simulation, ref=against, commit=commit, lock_differs=lock_differs)
    return Plan(simulation, report, tuple(findings + change_findings(changes)), changes)


def _with_stand_ins(stack_file: Path, secret_values: Mapping[str, str] | None, stand_in: bool) -> dict[str, str]:
    """The caller's secret values, over a stand-in for each secret the stack file declares when asked for."""
    declared = stand_in_secret_values(read_stack_file(PROJECT_ROOT / stack_file, str(stack_file))) if stand_in else {}
    return {**declared, **(secret_values or {})}


@dataclass(frozen=True)
class Target:
    """One stack to plan: its file, its name, the report paths for it, and how to plan it (`plan_stack`'s options)."""

    stack_file: Path
    stack: str
    reports: Mapping[str, Path]
    policy_config: Path | None = None
    against: str | None = None
    stand_in_secrets: bool = False


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
    from modelplane.reports import RENDERERS, render_text, write_report

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
        )
    except SettingsError as error:
        return Outcome(target, EXIT_USAGE, error="\n".join(error.lines))
    except SimulationFailed as error:
        return Outcome(target, EXIT_FAILED, error=f"modelplane plan: {target.stack}: the program failed:\n{error}")
    except Exception as error:
        # Imported only now: the analyzer's module is heavy, and `plan_stack` loads it after the simulation starts.
        from modelplane.analyzer import PolicyPackError
        from modelplane.changes import AgainstError

        if not isinstance(error, PolicyPackError | AgainstError):
            raise
        return Outcome(target, EXIT_USAGE, error=f"modelplane plan: {target.stack}: {error}")
    return Outcome(target, EXIT_OK if plan.passed else EXIT_FAILED, plan)


def _report_paths(args: argparse.Namespace, stack: str | None) -> dict[str, Path]:
    """Requested report files; with `--all`, `plan.json` becomes `plan.<stack>.json`."""
    paths = {kind: getattr(args, kind) for kind in REPORT_FORMATS if getattr(args, kind) is not None}
    if stack is None:
        return paths
    return {kind: path.with_name(f"{path.stem}.{stack}{path.suffix}") for kind, path in paths.items()}
