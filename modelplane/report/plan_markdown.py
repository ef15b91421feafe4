"""`modelplane plan --markdown`: a pull-request comment with the verdict, the violations and the components."""

from __future__ import annotations

from collections import Counter

from modelplane.offline.changes import ChangeSet
from modelplane.offline.plan_result import Plan
from modelplane.report.markdown import cell
from modelplane.report.plan import CHANGE_HEADINGS, against_line, change_note, grouped, lock_warning, name_of, plural


def _mermaid_label(*parts: str) -> str:
    return "<br/>".join(part.replace('"', "#quot;") for part in parts)


def render_markdown(plan: Plan) -> str:
    """A pull-request comment: summary, resources by type, violations, and a Mermaid graph of components."""
    simulation = plan.simulation
    failures = [plural(len(plan.mandatory), "mandatory violation")] * bool(plan.mandatory)
    failures += [plural(len(plan.findings), "plan finding")] * bool(plan.findings)
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
        for by_policy in grouped(plan.unwaived).values():
            for found in by_policy.values():
                for violation in found:
                    resource = f"`{name_of(violation.urn)}` ({violation.type})" if violation.urn else "whole stack"
                    lines.append(
                        f"| {violation.level} | `{violation.policy}` | {violation.severity} | {cell(resource)} "
                        f"| {cell(plan.redact(violation.message))} |"
                    )
        lines += ["", "How to fix:", ""]
        violated = {violation.policy for violation in plan.unwaived}
        lines += [
            f"- `{policy.name}`: {cell(plan.redact(policy.remediation or policy.description))}"
            for policy in plan.policy.policies
            if policy.name in violated
        ]
    else:
        lines.append("None.")
    lines += _markdown_waived(plan)
    lines += _findings_markdown(plan) + _changes_markdown(plan.changes) + _first_deploy_markdown(plan)
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
            f"| `{violation.policy}` | {cell(resource)} | {cell(waiver.owner)} | {waiver.expires} "
            f"| {cell(plan.redact(waiver.reason))} | {cell(plan.redact(violation.message))} |"
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
        f'  n0["{_mermaid_label(f"{plan.simulation.project}-{plan.stack}", plural(len(tree.resources), "resource"))}"]',
    ]
    for component in tree.components():
        label = _mermaid_label(component.name, component.type, plural(tree.count_below(component.urn), "resource"))
        lines.append(f'  {ids[component.urn]}["{label}"]')
    for component in tree.components():
        parent = component.parent if component.parent in ids else tree.root_urn
        lines.append(f"  {ids[parent]} --> {ids[component.urn]}")
    if failing:
        lines.append("  classDef violated stroke:#d73a49,stroke-width:3px")
        lines.append(f"  class {','.join(sorted(ids[urn] for urn in failing))} violated")
    lines.append("```")
    return lines


def _findings_markdown(plan: Plan) -> list[str]:
    if not plan.findings:
        return []
    lines = ["", "#### Plan findings (mandatory)", "", "| check | resource | field | message |", "|---|---|---|---|"]
    for finding in plan.findings:
        subject = f"`{name_of(finding.urn)}` ({finding.type})" if finding.urn else f"`{finding.type}`"
        lines.append(
            f"| `{finding.check}` | {cell(subject)} | {cell(finding.field)} | {cell(plan.redact(finding.message))} |"
        )
    return lines


def _changes_markdown(changes: ChangeSet | None) -> list[str]:
    if changes is None:
        return []
    lines = ["", f"#### {against_line(changes)}", "", *(f"> {line}" for line in lock_warning(changes))]
    if not changes.changes:
        return [*lines, "No resource is created, deleted, renamed, replaced or updated."]
    lines += ["| change | resource | type | note |", "|---|---|---|---|"]
    for kind, heading in CHANGE_HEADINGS.items():
        for change in changes.of(kind):
            lines.append(
                f"| {heading.split()[0].lower()} | `{cell(name_of(change.urn))}` | `{change.type}` "
                f"| {cell(change_note(change))} |"
            )
    return lines


def _first_deploy_markdown(plan: Plan) -> list[str]:
    """The first deploy's order, when the change creates the registry (or it was asked for)."""
    phases = plan.first_deploy
    if phases is None or not plan.first_deploy_due:
        return []
    lines = ["", "#### First deploy: the registry first", ""]
    for step in phases.steps():
        first, *rest = step.split("\n")
        lines.append(first)
        if rest:
            lines += ["", "```sh", *rest, "```", ""]
    return lines
