"""`modelplane plan --sarif`: SARIF 2.1.0 for code scanning, one rule per policy and per plan check."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from modelplane.config import project
from modelplane.offline.findings import CHECKS, Check, Finding
from modelplane.offline.plan_result import Plan
from modelplane.offline.policy_client import ADVISORY, MANDATORY, PolicyInfo, Waiver
from modelplane.report.plan import name_of
from modelplane.report.plan_json import changes_json

SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_LEVELS = {MANDATORY: "error", ADVISORY: "warning", "remediate": "error", "disabled": "none"}
# GitHub code scanning ranks security alerts by this score (critical > 9, high 7-8.9, medium 4-6.9, low < 4).
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}


def _artifact_location(stack_file: str) -> dict[str, str]:
    """The stack file relative to the project root when it is inside it (as code scanning expects)."""
    root = project.current().root
    path = Path(stack_file)
    absolute = path if path.is_absolute() else root / path
    try:
        return {"uri": absolute.resolve().relative_to(root.resolve()).as_posix(), "uriBaseId": "%SRCROOT%"}
    except ValueError:
        return {"uri": absolute.resolve().as_uri()}


def _rule(policy: PolicyInfo) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "tags": list(dict.fromkeys(["security", *policy.tags])),
        "severity": policy.severity,
        "enforcementLevel": policy.enforcement_level,
        "sourceIds": list(policy.source_ids),
    }
    if policy.severity in SECURITY_SEVERITY:
        properties["security-severity"] = SECURITY_SEVERITY[policy.severity]
    rule: dict[str, Any] = {
        "id": policy.name,
        "name": policy.name,
        "shortDescription": {"text": policy.description},
        "fullDescription": {"text": _full_description(policy)},
        "help": {"text": policy.remediation or policy.description},
        "defaultConfiguration": {
            "enabled": policy.enforcement_level != "disabled",
            "level": SARIF_LEVELS.get(policy.enforcement_level, "warning"),
        },
        "properties": properties,
    }
    if policy.url:
        rule["helpUri"] = policy.url
    return rule


def _full_description(policy: PolicyInfo) -> str:
    if not policy.source_ids:
        return policy.description
    return f"{policy.description} Corresponds to: {', '.join(policy.source_ids)}."


def _suppressed(waiver: Waiver) -> dict[str, Any]:
    """A waived result: at the level it would have had, suppressed outside the code (the policy config)."""
    return {
        "level": SARIF_LEVELS.get(waiver.level, "warning"),
        "suppressions": [
            {
                "kind": "external",
                "status": "accepted",
                "justification": waiver.reason,
                "properties": {
                    "waiver": waiver.waiver,
                    "owner": waiver.owner,
                    "expires": waiver.expires,
                    "resourcePattern": waiver.resource,
                },
            }
        ],
    }


def render_sarif(plan: Plan) -> dict[str, Any]:
    """SARIF 2.1.0: one rule per policy, one result per violation at the stack file and resource URN."""
    simulation, report = plan.simulation, plan.policy
    rules = [_rule(policy) for policy in report.policies] + [_check_rule(check) for check in CHECKS]
    rule_index = {rule["id"]: index for index, rule in enumerate(rules)}
    artifact = _artifact_location(simulation.stack_file)
    results = []
    for violation in report.violations:
        urn = violation.urn or plan.stack_urn
        result: dict[str, Any] = {
            "ruleId": violation.policy,
            "level": SARIF_LEVELS.get(violation.level, "warning"),
            "message": {"text": violation.message or violation.policy},
            "locations": [
                {
                    "physicalLocation": {"artifactLocation": {**artifact, "index": 0}, "region": {"startLine": 1}},
                    "logicalLocations": [{"fullyQualifiedName": urn, "name": name_of(urn), "kind": "resource"}],
                }
            ],
            "partialFingerprints": {
                "modelplaneViolation/v1": hashlib.sha256(
                    f"{violation.policy}\0{urn}\0{violation.message}".encode()
                ).hexdigest()
            },
            "properties": {"urn": urn, "resourceType": violation.type, "enforcementLevel": violation.level},
        }
        if violation.policy in rule_index:
            result["ruleIndex"] = rule_index[violation.policy]
        if violation.waiver is not None:
            result.update(_suppressed(violation.waiver))
        results.append(result)
    results += [_finding_result(finding, plan, artifact, rule_index) for finding in plan.findings]
    document = {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": report.pack, "version": report.version, "rules": rules}},
                # One code-scanning category per stack, so each stack's upload keeps its own alerts.
                "automationDetails": {"id": f"modelplane-plan/{simulation.stack}/"},
                "artifacts": [{"location": artifact}],
                "results": results,
                "properties": {
                    "project": simulation.project,
                    "stack": simulation.stack,
                    "environment": simulation.environment,
                    **({"changes": changes_json(plan.changes)} if plan.changes is not None else {}),
                },
            }
        ],
    }
    return plan.redact(document)


def _check_rule(check: Check) -> dict[str, Any]:
    return {
        "id": check.id,
        "name": check.id,
        "shortDescription": {"text": check.description},
        "fullDescription": {"text": check.description},
        "help": {"text": check.remediation},
        "defaultConfiguration": {"enabled": True, "level": "error"},
        "properties": {"tags": ["modelplane-plan"], "enforcementLevel": MANDATORY},
    }


def _finding_result(
    finding: Finding, plan: Plan, artifact: dict[str, str], rule_index: dict[str, int]
) -> dict[str, Any]:
    urn = finding.urn or plan.stack_urn
    text = f"{finding.field}: {finding.message}" if finding.field else finding.message
    return {
        "ruleId": finding.check,
        "ruleIndex": rule_index[finding.check],
        "level": "error",
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": {**artifact, "index": 0}, "region": {"startLine": 1}},
                "logicalLocations": [{"fullyQualifiedName": urn, "name": name_of(urn), "kind": "resource"}],
            }
        ],
        "partialFingerprints": {
            "modelplaneViolation/v1": hashlib.sha256(f"{finding.check}\0{urn}\0{text}".encode()).hexdigest()
        },
        "properties": {"urn": urn, "resourceType": finding.type, "enforcementLevel": MANDATORY},
    }
