"""`modelplane plan --json`: the stable JSON contract (add fields, never rename)."""

from __future__ import annotations

from typing import Any

from modelplane.offline.changes import Change, ChangeSet
from modelplane.offline.findings import Finding
from modelplane.offline.plan_result import Plan
from modelplane.offline.policy_client import MANDATORY, Violation
from modelplane.report.plan import CHANGE_HEADINGS


def render_json(plan: Plan) -> dict[str, Any]:
    """The stable JSON contract (add fields, never rename); inputs keep the provider's camelCase names."""
    simulation, report = plan.simulation, plan.policy
    document = {
        "project": simulation.project,
        "stack": simulation.stack,
        "environment": simulation.environment,
        "stack_file": simulation.stack_file,
        "resources": [
            {
                "urn": resource.urn,
                "type": resource.type,
                "name": resource.name,
                "parent": resource.parent,
                "custom": resource.custom,
                "provider": resource.provider,
                "inputs": resource.inputs,
                "dependencies": resource.dependencies,
                "protect": resource.protect,
                "retain_on_delete": resource.retain_on_delete,
                "delete_before_replace": resource.delete_before_replace,
                "ignore_changes": resource.ignore_changes,
            }
            for resource in simulation.resources
        ],
        "outputs": simulation.outputs,
        "policy": {
            "pack": report.pack,
            "version": report.version,
            "config_file": report.config_file,
            "config": report.config,
            "violations": [
                {
                    "policy": violation.policy,
                    "level": violation.level,
                    "severity": violation.severity,
                    "urn": violation.urn,
                    "type": violation.type,
                    "message": violation.message,
                    "waiver": _waiver_json(violation),
                }
                for violation in report.violations
            ],
        },
        "summary": {
            "resources": len(simulation.resources),
            "mandatory": len(plan.mandatory),
            "advisory": len(plan.advisory),
            "waived": len(plan.waived),
            "findings": len(plan.findings),
        },
        "findings": [finding_json(finding) for finding in plan.findings],
    }
    if plan.changes is not None:
        document["changes"] = changes_json(plan.changes)
    if plan.first_deploy is not None and plan.first_deploy_due:
        document["first_deploy"] = {
            "targets": list(plan.first_deploy.targets),
            "command": plan.first_deploy.up_command(),
            "steps": plan.first_deploy.steps(),
        }
    return plan.redact(document)


def _waiver_json(violation: Violation) -> dict[str, str] | None:
    waiver = violation.waiver
    if waiver is None:
        return None
    return {
        "waiver": waiver.waiver,
        "resource": waiver.resource,
        "reason": waiver.reason,
        "owner": waiver.owner,
        "expires": waiver.expires,
        "level": waiver.level,
    }


def finding_json(finding: Finding) -> dict[str, str]:
    return {
        "check": finding.check,
        "level": MANDATORY,
        "urn": finding.urn,
        "type": finding.type,
        "field": finding.field,
        "message": finding.message,
    }


def changes_json(changes: ChangeSet) -> dict[str, Any]:
    """The `changes` section of the JSON contract: one list per kind, each entry keyed by URN."""
    return {
        "against": changes.ref,
        "commit": changes.commit,
        "lock_differs": changes.lock_differs,
        "stack_file_missing": changes.stack_file_missing,
        **{kind: [_change_json(change) for change in changes.of(kind)] for kind in CHANGE_HEADINGS},
    }


def _change_json(change: Change) -> dict[str, Any]:
    entry: dict[str, Any] = {"urn": change.urn, "type": change.type}
    if change.old_urn:
        entry["old_urn"] = change.old_urn
    if change.fields:
        entry["fields"] = list(change.fields)
    if change.kind == "replace":
        entry.update(expected=change.expected, reason=change.detail)
    if change.kind in {"delete", "replace"}:
        entry.update(protected=change.protected, retained=change.retained)
    return entry
