"""What `modelplane plan` does for one stack: what it will create and whether it passes the policy pack, offline.

The Pulumi CLI's own checks of `Pulumi.yaml` and the stack file (`cli_checks`), then the program under
Pulumi's mock runtime in a fresh process (`start_simulation`), with the real policy pack judging each
resource as the program registers it and then the whole graph, over its gRPC analyzer interface
(`Judging`), as `pulumi preview --policy-pack policies` would, with no cloud account and no Pulumi
CLI. Meanwhile the graph is checked for what the engine and AWS would refuse (default providers, the
AWS API's constraints); with `against` the stack is simulated at that git ref too and the two graphs
are compared.

The simulation is the critical path, so it starts before this process imports anything heavy (the
modules imported here are light; the SDK, gRPC, jsonschema and botocore are imported inside the function).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from modelplane.config import project
from modelplane.config.loader import read_stack_file, stack_name_of
from modelplane.offline.engine_config import stand_in_secret_values
from modelplane.offline.policy_config import config_for
from modelplane.offline.simulation import start_simulation

if TYPE_CHECKING:
    from modelplane.offline.findings import Finding
    from modelplane.offline.plan_result import Plan


def plan_stack(
    stack_file: Path,
    stack: str | None = None,
    *,
    secret_values: Mapping[str, str] | None = None,
    policy_config: Path | None = None,
    against: str | None = None,
    stand_in_secrets: bool = False,
    first_deploy: bool = False,
) -> Plan:
    """Check, simulate and judge one stack file with its environment's policy config (or `policy_config`).

    `secret_values` stand in for the stack's secret config (there is no key to decrypt `secure:`
    values offline); tests pass known values to prove that no report ever shows them. With
    `stand_in_secrets`, every declared secret has a value, as in a deployed stack. `against` is a git
    ref whose version of the stack the plan is compared with. The order of a first deploy is part of the
    plan when asked for (`first_deploy`) or when the change against the ref creates the registry.
    """
    stack = stack or stack_name_of(stack_file)
    current = project.current()
    explicit_config = config_for("", policy_config) if policy_config is not None else None
    # The CLI refuses a bad project or stack file before the program runs; here the program already
    # runs meanwhile, and stops unused if the files are refused.
    running = start_simulation(stack_file, stack, _with_stand_ins(stack_file, secret_values, stand_in_secrets))
    try:
        from modelplane.offline import api_constraints, cli_checks

        config = cli_checks.check_stack(
            cli_checks.check_project(), current.root / stack_file, stack, source=str(stack_file)
        )
        from modelplane.offline.changes import change_findings, diff, simulate_ref
        from modelplane.offline.default_providers import default_provider_findings, disabled_packages
        from modelplane.offline.first_deploy import first_deploy as registry_first
        from modelplane.offline.plan_result import Plan
        from modelplane.offline.policy_client import Judging, StackIdentity, start_pack

        identity = StackIdentity.for_config(current.name, stack, config)
        disabled = disabled_packages(config)
        # The pack's start-up (its own interpreter and imports), botocore's models and the base revision's
        # simulation overlap the program's run; so do the pack's judging of each resource and the check of
        # its inputs against AWS's constraints, as it registers. Left for the end: AnalyzeStack, and the
        # engine's check of default providers, which needs the provider functions the program called.
        with ThreadPoolExecutor(max_workers=2) as pool:
            pool.submit(api_constraints.load_models)
            basing = (
                pool.submit(simulate_ref, against, stack_file, stack, secret_values, stand_in_secrets=stand_in_secrets)
                if against
                else None
            )
            constraints: list[Finding] = []
            with start_pack(identity) as pack:
                judging = Judging(pack, identity, explicit_config or config_for(running.started().environment))
                for resource in running.registrations():
                    judging.analyze(resource)
                    constraints += api_constraints.resource_constraint_findings(resource)
                simulation = running.result()
                report = judging.finish()
            findings = default_provider_findings(simulation, disabled) + constraints
            phases = registry_first(simulation)
            if basing is None:
                return Plan(simulation, report, tuple(findings), first_deploy=phases, first_deploy_due=first_deploy)
            base, commit, lock_differs = basing.result()
    finally:
        running.stop()
    assert against is not None
    changes = diff(base, simulation, ref=against, commit=commit, lock_differs=lock_differs)
    creates_registry = phases is not None and phases.targets[0] in {change.urn for change in changes.of("create")}
    return Plan(
        simulation,
        report,
        tuple(findings + change_findings(changes)),
        changes,
        first_deploy=phases,
        first_deploy_due=first_deploy or creates_registry,
    )


def _with_stand_ins(stack_file: Path, secret_values: Mapping[str, str] | None, stand_in: bool) -> dict[str, str]:
    """The caller's secret values, over a stand-in for each secret the stack file declares when asked for."""
    declared = (
        stand_in_secret_values(read_stack_file(project.current().root / stack_file, str(stack_file)))
        if stand_in
        else {}
    )
    return {**declared, **(secret_values or {})}
