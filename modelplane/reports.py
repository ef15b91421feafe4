"""What `modelplane plan` writes: terminal text, the JSON contract, SARIF 2.1.0 and a Markdown PR comment.

Every writer starts from the same `Plan` and passes its result through `Plan.redact`, so a secret
value never reaches a report: values inside Pulumi's secret envelope become "[secret]", and the
plaintext of those values is cut out of free text too (a policy message may quote what it saw).
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import groupby
from pathlib import Path
from typing import Any

from modelplane.analyzer import PolicyInfo, PolicyReport, Violation, Waiver
from modelplane.changes import Change, ChangeSet
from modelplane.findings import CHECKS, Check, Finding
from modelplane.simulate import RecordedResource, Simulation, is_secret, reveal
from modelplane.stackfiles import PROJECT_ROOT

SECRET_PLACEHOLDER = "[secret]"
# Shorter secret values are not searched for in free text: they would also match ordinary words.
MIN_SCRUBBED_SECRET_LENGTH = 6
MANDATORY, ADVISORY = "mandatory", "advisory"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_LEVELS = {MANDATORY: "error", ADVISORY: "warning", "remediate": "error", "disabled": "none"}
# GitHub code scanning ranks security alerts by this score (critical > 9, high 7-8.9, medium 4-6.9, low < 4).
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}


@dataclass(frozen=True)
class Plan:
    """One stack's recorded resource graph, the policy pack's verdict on it, what `plan` itself found
    (each finding is mandatory) and, with `--against`, what the change does to the deployed stack."""

    simulation: Simulation
    policy: PolicyReport
    findings: tuple[Finding, ...] = ()
    changes: ChangeSet | None = None

    @property
    def stack(self) -> str:
        return self.simulation.stack

    @property
    def mandatory(self) -> tuple[Violation, ...]:
        return self.policy.mandatory

    @property
    def advisory(self) -> tuple[Violation, ...]:
        """Advisory violations, without the waived ones (reported on their own)."""
        return tuple(v for v in self.policy.violations if v.level == ADVISORY and v.waiver is None)

    @property
    def waived(self) -> tuple[Violation, ...]:
        return self.policy.waived

    @property
    def waivers(self) -> list[tuple[Violation, Waiver]]:
        """Each waived violation with its waiver, by policy and resource."""
        pairs = [(violation, violation.waiver) for violation in self.policy.violations if violation.waiver]
        return sorted(pairs, key=lambda pair: (pair[0].policy, pair[0].urn))

    @property
    def unwaived(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.policy.violations if v.waiver is None)

    @property
    def passed(self) -> bool:
        return not self.mandatory and not self.findings

    @property
    def stack_urn(self) -> str:
        """The root every top-level resource hangs from (the Stack resource itself is not recorded)."""
        project, stack = self.simulation.project, self.simulation.stack
        return f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}"

    @cached_property
    def _secret_texts(self) -> tuple[str, ...]:
        """Plaintext of every secret in the graph, longest first so overlapping values are cut whole."""
        found: set[str] = set()
        for resource in self.simulation.resources:
            _collect_secret_texts(resource.inputs, found)
            _collect_secret_texts(resource.outputs, found)
        _collect_secret_texts(self.simulation.outputs, found)
        return tuple(sorted((text for text in found if len(text) >= MIN_SCRUBBED_SECRET_LENGTH), key=len, reverse=True))

    def redact(self, value: Any) -> Any:
        """`value` with secret envelopes replaced by "[secret]" and secret plaintext cut out of strings."""
        if is_secret(value):
            return SECRET_PLACEHOLDER
        if isinstance(value, dict):
            return {key: self.redact(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.redact(item) for item in value]
        if isinstance(value, str):
            for text in self._secret_texts:
                value = value.replace(text, SECRET_PLACEHOLDER)
        return value

    @cached_property
    def tree(self) -> ComponentTree:
        return ComponentTree(self.simulation.resources, self.stack_urn)


def _collect_secret_texts(value: Any, found: set[str], inside_secret: bool = False) -> None:
    if is_secret(value):
        _collect_secret_texts(reveal(value), found, inside_secret=True)
    elif isinstance(value, dict):
        for item in value.values():
            _collect_secret_texts(item, found, inside_secret)
    elif isinstance(value, list):
        for item in value:
            _collect_secret_texts(item, found, inside_secret)
    elif inside_secret and isinstance(value, str):
        found.add(value)


class ComponentTree:
    """Components nested as registered, each with the number of resources beneath it."""

    def __init__(self, resources: Iterable[RecordedResource], root_urn: str) -> None:
        self.root_urn = root_urn
        self.resources = list(resources)
        self._by_urn = {resource.urn: resource for resource in self.resources}
        self._children: dict[str, list[RecordedResource]] = defaultdict(list)
        for resource in self.resources:
            self._children[resource.parent if resource.parent in self._by_urn else root_urn].append(resource)

    def children(self, urn: str) -> list[RecordedResource]:
        return self._children.get(urn, [])

    def shown_children(self, urn: str) -> list[RecordedResource]:
        """What a tree displays below a node: components, plus resources at the stack root (providers)."""
        return [child for child in self.children(urn) if not child.custom or urn == self.root_urn]

    def count_below(self, urn: str) -> int:
        return sum(1 + self.count_below(child.urn) for child in self.children(urn))

    def components(self) -> list[RecordedResource]:
        return [resource for resource in self.resources if not resource.custom]

    def component_of(self, urn: str) -> str:
        """URN of the innermost component holding `urn` (the stack root for top-level resources)."""
        current = self._by_urn[urn].parent if urn in self._by_urn else self.root_urn
        while current in self._by_urn and self._by_urn[current].custom:
            current = self._by_urn[current].parent
        return current if current in self._by_urn else self.root_urn


def name_of(urn: str) -> str:
    """The logical name at the end of a URN."""
    return urn.rsplit("::", 1)[-1]


def _grouped(violations: Iterable[Violation]) -> dict[str, dict[str, list[Violation]]]:
    """level -> policy -> violations, mandatory first, policies by name."""
    levels: dict[str, dict[str, list[Violation]]] = {}
    for violation in sorted(violations, key=lambda v: (_level_rank(v.level), v.policy, v.urn)):
        levels.setdefault(violation.level, {}).setdefault(violation.policy, []).append(violation)
    return levels


def _level_rank(level: str) -> int:
    return {MANDATORY: 0, ADVISORY: 1}.get(level, 2)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary_line(plan: Plan) -> str:
    verdict = "passed" if plan.passed else "FAILED"
    waived = f", {len(plan.waived)} waived" if plan.waived else ""
    findings = f", {_plural(len(plan.findings), 'plan finding')}" if plan.findings else ""
    return (
        f"{plan.stack}: {_plural(len(plan.simulation.resources), 'resource')}, "
        f"{len(plan.mandatory)} mandatory and {len(plan.advisory)} advisory violations{waived}{findings}: {verdict}"
    )


# --- terminal -------------------------------------------------------------------------------------


ANSI_CODES = {"bold": "1", "red": "31", "yellow": "33", "green": "32"}


class _Style:
    """ANSI styling, or none at all when the output is not a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        codes = ";".join(ANSI_CODES[style] for style in styles)
        return f"\033[{codes}m{text}\033[0m"


def _fit(left: str, right: str, width: int) -> str:
    """`left` and `right` on one line of `width` columns, `left` shortened with an ellipsis if needed."""
    room = width - len(right) - 1
    if len(left) > room:
        left = left[: room - 1] + "…"
    return left + " " * (width - len(left) - len(right)) + right


def render_text(plan: Plan, *, color: bool = False, width: int = 80) -> str:
    """The human report: component tree with resource counts, violations by level and policy, summary."""
    style = _Style(color)
    simulation = plan.simulation
    lines = [
        style(f"Stack {plan.stack} (environment {simulation.environment}) from {simulation.stack_file}", "bold"),
        "",
    ]
    lines += _tree_lines(plan, width)
    for level, by_policy in _grouped(plan.unwaived).items():
        color_of_level = "red" if level == MANDATORY else "yellow"
        count = sum(len(found) for found in by_policy.values())
        lines += ["", style(f"{level.capitalize()} violations ({count})", "bold", color_of_level)]
        for policy_name, found in by_policy.items():
            lines += _policy_lines(plan, policy_name, found, style=style, width=width)
    lines += _waived_lines(plan, style=style, width=width)
    lines += _findings_lines(plan, style=style, width=width) + _changes_lines(plan.changes, style=style, width=width)
    lines += ["", style(summary_line(plan), "bold", "green" if plan.passed else "red")]
    return plan.redact("\n".join(lines)) + "\n"


def _tree_lines(plan: Plan, width: int) -> list[str]:
    tree = plan.tree
    root_label = f"{plan.simulation.project}-{plan.stack}"
    lines = [_fit(root_label, _plural(tree.count_below(tree.root_urn), "resource"), width)]

    def walk(urn: str, prefix: str) -> Iterator[str]:
        shown = tree.shown_children(urn)
        for position, child in enumerate(shown):
            last = position == len(shown) - 1
            count = "" if child.custom else str(tree.count_below(child.urn))
            yield _fit(f"{prefix}{'└─ ' if last else '├─ '}{child.name}  {child.type}", count, width).rstrip()
            yield from walk(child.urn, prefix + ("   " if last else "│  "))

    lines += walk(tree.root_urn, "")
    return lines


def _policy_lines(plan: Plan, policy_name: str, found: list[Violation], *, style: _Style, width: int) -> list[str]:
    """One policy's violations; free text is redacted before wrapping, which could split a secret."""
    severity = f" [{found[0].severity}]" if found[0].severity else ""
    lines = [f"  {style(policy_name, 'bold')}{severity}: {_plural(len(found), 'resource')}"]
    for violation in found:
        resource = f"{name_of(violation.urn)}  {violation.type}" if violation.urn else "(whole stack)"
        lines.append(_fit(f"    {resource}", "", width).rstrip())
        lines += textwrap.wrap(
            plan.redact(violation.message), width, initial_indent="      ", subsequent_indent="      "
        )
    info = next((policy for policy in plan.policy.policies if policy.name == policy_name), None)
    if info is not None and info.remediation:
        lines += textwrap.wrap(
            plan.redact(info.remediation),
            width,
            initial_indent="    fix: ",
            subsequent_indent="         ",
            break_on_hyphens=False,
        )
    return lines


def _waived_lines(plan: Plan, *, style: _Style, width: int) -> list[str]:
    """Waived violations by policy, each with the waiver that accepted it: why, whose, until when."""
    if not plan.waivers:
        return []
    lines = ["", style(f"Waived violations ({len(plan.waivers)})", "bold")]
    for policy_name, group in groupby(plan.waivers, key=lambda pair: pair[0].policy):
        found = list(group)
        severity = f" [{found[0][0].severity}]" if found[0][0].severity else ""
        lines.append(f"  {style(policy_name, 'bold')}{severity}: {_plural(len(found), 'resource')}")
        for violation, waiver in found:
            resource = f"{name_of(violation.urn)}  {violation.type}" if violation.urn else "(whole stack)"
            lines.append(_fit(f"    {resource}", "", width).rstrip())
            note = f"waived until {waiver.expires} by {waiver.owner} ({waiver.waiver}): {waiver.reason}"
            for text in (violation.message, note):
                lines += textwrap.wrap(
                    plan.redact(text),
                    width,
                    initial_indent="      ",
                    subsequent_indent="      ",
                    break_on_hyphens=False,
                )
    return lines


# --- JSON -----------------------------------------------------------------------------------------


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
        "findings": [_finding_json(finding) for finding in plan.findings],
    }
    if plan.changes is not None:
        document["changes"] = changes_json(plan.changes)
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


# --- SARIF ----------------------------------------------------------------------------------------


def _artifact_location(stack_file: str) -> dict[str, str]:
    """The stack file relative to the repository root when it is inside it (as code scanning expects)."""
    path = Path(stack_file)
    absolute = path if path.is_absolute() else PROJECT_ROOT / path
    try:
        return {"uri": absolute.resolve().relative_to(PROJECT_ROOT).as_posix(), "uriBaseId": "%SRCROOT%"}
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


# --- Markdown -------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def _mermaid_label(*parts: str) -> str:
    return "<br/>".join(part.replace('"', "#quot;") for part in parts)


def render_markdown(plan: Plan) -> str:
    """A pull-request comment: summary, resources by type, violations, and a Mermaid graph of components."""
    simulation = plan.simulation
    failures = [_plural(len(plan.mandatory), "mandatory violation")] * bool(plan.mandatory)
    failures += [_plural(len(plan.findings), "plan finding")] * bool(plan.findings)
    heading = (
        f"### ✅ modelplane plan `{plan.stack}`: passed"
        if plan.passed
        else f"### ❌ modelplane plan `{plan.stack}`: {' and '.join(failures)}"
    )
    lines = [
        # A stable marker lets CI find and update its earlier comment for the same stack.
        f"<!-- modelplane-plan stack={plan.stack} -->",
        heading,
        "",
        "| stack | environment | resources | mandatory | advisory | policy pack |",
        "|---|---|---:|---:|---:|---|",
        f"| `{plan.stack}` | {simulation.environment} | {len(simulation.resources)} | {len(plan.mandatory)} "
        f"| {len(plan.advisory)} | {plan.policy.pack} {plan.policy.version} |",
        "",
        "#### Violations",
        "",
    ]
    if plan.unwaived:
        lines += ["| level | policy | severity | resource | message |", "|---|---|---|---|---|"]
        for by_policy in _grouped(plan.unwaived).values():
            for found in by_policy.values():
                for violation in found:
                    resource = f"`{name_of(violation.urn)}` ({violation.type})" if violation.urn else "whole stack"
                    lines.append(
                        f"| {violation.level} | `{violation.policy}` | {violation.severity} | {_cell(resource)} "
                        f"| {_cell(plan.redact(violation.message))} |"
                    )
        lines += ["", "How to fix:", ""]
        violated = {violation.policy for violation in plan.unwaived}
        lines += [
            f"- `{policy.name}`: {_cell(plan.redact(policy.remediation or policy.description))}"
            for policy in plan.policy.policies
            if policy.name in violated
        ]
    else:
        lines.append("None.")
    lines += _markdown_waived(plan)
    lines += _findings_markdown(plan) + _changes_markdown(plan.changes)
    by_type = Counter(resource.type for resource in simulation.resources)
    lines += [
        "",
        f"<details><summary>Resources by type ({len(simulation.resources)})</summary>",
        "",
        "| type | count |",
        "|---|---:|",
        *(f"| `{token}` | {count} |" for token, count in sorted(by_type.items())),
        "",
        "</details>",
        "",
        "#### Components",
        "",
        *_mermaid(plan),
    ]
    return plan.redact("\n".join(lines)) + "\n"


def _markdown_waived(plan: Plan) -> list[str]:
    """Waived violations in their own section, with the waiver's owner, expiry and reason."""
    if not plan.waivers:
        return []
    lines = [
        "",
        f"#### Waived ({len(plan.waivers)})",
        "",
        "| policy | resource | owner | expires | reason | message |",
        "|---|---|---|---|---|---|",
    ]
    for violation, waiver in plan.waivers:
        resource = f"`{name_of(violation.urn)}` ({violation.type})" if violation.urn else "whole stack"
        lines.append(
            f"| `{violation.policy}` | {_cell(resource)} | {_cell(waiver.owner)} | {waiver.expires} "
            f"| {_cell(plan.redact(waiver.reason))} | {_cell(plan.redact(violation.message))} |"
        )
    return lines


def _mermaid(plan: Plan) -> list[str]:
    """Components as nested in the program; those holding a mandatory violation are outlined in red."""
    tree = plan.tree
    ids = {tree.root_urn: "n0"}
    ids.update({component.urn: f"n{index}" for index, component in enumerate(tree.components(), start=1)})
    failing = {tree.component_of(violation.urn) for violation in plan.mandatory if violation.urn}
    lines = [
        "```mermaid",
        "flowchart TD",
        f'  n0["{_mermaid_label(f"{plan.simulation.project}-{plan.stack}", _plural(len(tree.resources), "resource"))}"]',
    ]
    for component in tree.components():
        label = _mermaid_label(component.name, component.type, _plural(tree.count_below(component.urn), "resource"))
        lines.append(f'  {ids[component.urn]}["{label}"]')
    for component in tree.components():
        parent = component.parent if component.parent in ids else tree.root_urn
        lines.append(f"  {ids[parent]} --> {ids[component.urn]}")
    if failing:
        lines.append("  classDef violated stroke:#d73a49,stroke-width:3px")
        lines.append(f"  class {','.join(sorted(ids[urn] for urn in failing))} violated")
    lines.append("```")
    return lines


# --- plan findings and changes (every format) ----------------------------------------------------


CHANGE_HEADINGS = {
    "create": "Created",
    "delete": "Deleted",
    "rename": "Renamed through an alias",
    "replace": "Replaced",
    "update": "Updated in place",
}


def _finding_json(finding: Finding) -> dict[str, str]:
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


def _change_note(change: Change) -> str:
    """What a reviewer should know about one change, in a word or a sentence."""
    if change.kind == "replace":
        return (
            ("expected; " if change.expected else "UNEXPECTED; ")
            + change.detail
            + ("; PROTECTED" if change.protected else "")
        )
    if change.kind == "delete":
        notes = ["PROTECTED: the engine refuses this"] * change.protected
        notes += ["retained in AWS, removed from state only"] * change.retained
        return "; ".join(notes)
    if change.kind == "rename":
        return f"was {change.old_urn}"
    if change.kind == "update":
        return ", ".join(change.fields) + (f" (was {name_of(change.old_urn)})" if change.old_urn else "")
    return ""


def _against_line(changes: ChangeSet) -> str:
    line = f"Changes against {changes.ref} ({changes.commit[:12]})"
    if changes.stack_file_missing:
        line += ": the stack file does not exist there"
    return line


def _lock_warning(changes: ChangeSet) -> list[str]:
    if not changes.lock_differs:
        return []
    return [f"warning: {changes.ref}'s uv.lock differs from this checkout's; it was simulated with this environment"]


def _findings_lines(plan: Plan, *, style: _Style, width: int) -> list[str]:
    if not plan.findings:
        return []
    lines = ["", style(f"Plan findings ({len(plan.findings)}), mandatory", "bold", "red")]
    for finding in plan.findings:
        subject = f"{name_of(finding.urn)}  {finding.type}" if finding.urn else finding.type
        lines.append(_fit(f"  {finding.check}: {subject}", "", width).rstrip())
        text = f"{finding.field}: {finding.message}" if finding.field else finding.message
        lines += textwrap.wrap(plan.redact(text), width, initial_indent="    ", subsequent_indent="    ")
    return lines


def _changes_lines(changes: ChangeSet | None, *, style: _Style, width: int) -> list[str]:
    if changes is None:
        return []
    lines = ["", style(_against_line(changes), "bold"), *_lock_warning(changes)]
    if not changes.changes:
        return [*lines, "  no resource is created, deleted, renamed, replaced or updated"]
    for kind, heading in CHANGE_HEADINGS.items():
        found = changes.of(kind)
        if not found:
            continue
        lines.append(f"  {heading} ({len(found)})")
        for change in found:
            lines.append(_fit(f"    {name_of(change.urn)}  {change.type}", "", width).rstrip())
            if note := _change_note(change):
                lines += textwrap.wrap(note, width, initial_indent="      ", subsequent_indent="      ")
    return lines


def _findings_markdown(plan: Plan) -> list[str]:
    if not plan.findings:
        return []
    lines = ["", "#### Plan findings (mandatory)", "", "| check | resource | field | message |", "|---|---|---|---|"]
    for finding in plan.findings:
        subject = f"`{name_of(finding.urn)}` ({finding.type})" if finding.urn else f"`{finding.type}`"
        lines.append(
            f"| `{finding.check}` | {_cell(subject)} | {_cell(finding.field)} | {_cell(plan.redact(finding.message))} |"
        )
    return lines


def _changes_markdown(changes: ChangeSet | None) -> list[str]:
    if changes is None:
        return []
    lines = ["", f"#### {_against_line(changes)}", "", *(f"> {line}" for line in _lock_warning(changes))]
    if not changes.changes:
        return [*lines, "No resource is created, deleted, renamed, replaced or updated."]
    lines += ["| change | resource | type | note |", "|---|---|---|---|"]
    for kind, heading in CHANGE_HEADINGS.items():
        for change in changes.of(kind):
            lines.append(
                f"| {heading.split()[0].lower()} | `{_cell(name_of(change.urn))}` | `{change.type}` "
                f"| {_cell(_change_note(change))} |"
            )
    return lines


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


# The report files `plan` writes, by option name.
RENDERERS: dict[str, Callable[[Plan], str | dict[str, Any]]] = {
    "json": render_json,
    "sarif": render_sarif,
    "markdown": render_markdown,
}


def write_report(path: Path, content: str | dict[str, Any]) -> None:
    """Write one report file, creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = content if isinstance(content, str) else json.dumps(content, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")
