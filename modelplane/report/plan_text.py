"""`modelplane plan`'s terminal report: the component tree, violations by level and policy, findings, changes."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from itertools import groupby

from modelplane.offline.changes import ChangeSet
from modelplane.offline.plan_result import Plan
from modelplane.offline.policy_client import MANDATORY, Violation
from modelplane.report.plan import (
    CHANGE_HEADINGS,
    against_line,
    change_note,
    grouped,
    lock_warning,
    name_of,
    plural,
    summary_line,
)

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
    for level, by_policy in grouped(plan.unwaived).items():
        color_of_level = "red" if level == MANDATORY else "yellow"
        count = sum(len(found) for found in by_policy.values())
        lines += ["", style(f"{level.capitalize()} violations ({count})", "bold", color_of_level)]
        for policy_name, found in by_policy.items():
            lines += _policy_lines(plan, policy_name, found, style=style, width=width)
    lines += _waived_lines(plan, style=style, width=width)
    lines += _findings_lines(plan, style=style, width=width) + _changes_lines(plan.changes, style=style, width=width)
    lines += _first_deploy_lines(plan, style=style, width=width)
    lines += ["", style(summary_line(plan), "bold", "green" if plan.passed else "red")]
    return plan.redact("\n".join(lines)) + "\n"


def _tree_lines(plan: Plan, width: int) -> list[str]:
    tree = plan.tree
    root_label = f"{plan.simulation.project}-{plan.stack}"
    lines = [_fit(root_label, plural(tree.count_below(tree.root_urn), "resource"), width)]

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
    lines = [f"  {style(policy_name, 'bold')}{severity}: {plural(len(found), 'resource')}"]
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
        lines.append(f"  {style(policy_name, 'bold')}{severity}: {plural(len(found), 'resource')}")
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
    lines = ["", style(against_line(changes), "bold"), *lock_warning(changes)]
    if not changes.changes:
        return [*lines, "  no resource is created, deleted, renamed, replaced or updated"]
    for kind, heading in CHANGE_HEADINGS.items():
        found = changes.of(kind)
        if not found:
            continue
        lines.append(f"  {heading} ({len(found)})")
        for change in found:
            lines.append(_fit(f"    {name_of(change.urn)}  {change.type}", "", width).rstrip())
            if note := change_note(change):
                lines += textwrap.wrap(note, width, initial_indent="      ", subsequent_indent="      ")
    return lines


def _first_deploy_lines(plan: Plan, *, style: _Style, width: int) -> list[str]:
    """The order a first deploy needs, in full when due; else one line saying where to find it."""
    phases = plan.first_deploy
    if phases is None:
        return []
    if not plan.first_deploy_due:
        hint = (
            f"First deploy of {plan.stack}? Its endpoints need an image and a model version in the registry it "
            f"creates: `modelplane plan --stack {plan.stack} --first-deploy` gives the order."
        )
        return ["", *textwrap.wrap(hint, width)]
    lines = ["", style("First deploy: the registry first, the endpoints once it holds an image and a version", "bold")]
    for step in phases.steps():
        first, *rest = step.split("\n")
        lines += textwrap.wrap(first, width, initial_indent="  ", subsequent_indent="     ")
        lines += [f"     {line}" for line in rest]
    return lines
