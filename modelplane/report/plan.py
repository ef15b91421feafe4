"""What every plan report format (`plan_text`, `plan_json`, `plan_sarif`, `plan_markdown`) shares: headings,
grouping and the sentences that describe a `Plan` (`modelplane.offline.plan_result`)."""

from __future__ import annotations

from collections.abc import Iterable

from modelplane.offline.changes import Change, ChangeSet
from modelplane.offline.plan_result import Plan
from modelplane.offline.policy_client import ADVISORY, MANDATORY, Violation

CHANGE_HEADINGS = {
    "create": "Created",
    "delete": "Deleted",
    "rename": "Renamed through an alias",
    "replace": "Replaced",
    "update": "Updated in place",
}


def name_of(urn: str) -> str:
    """The logical name at the end of a URN."""
    return urn.rsplit("::", 1)[-1]


def grouped(violations: Iterable[Violation]) -> dict[str, dict[str, list[Violation]]]:
    """level -> policy -> violations, mandatory first, policies by name."""
    levels: dict[str, dict[str, list[Violation]]] = {}
    for violation in sorted(violations, key=lambda v: (_level_rank(v.level), v.policy, v.urn)):
        levels.setdefault(violation.level, {}).setdefault(violation.policy, []).append(violation)
    return levels


def _level_rank(level: str) -> int:
    return {MANDATORY: 0, ADVISORY: 1}.get(level, 2)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary_line(plan: Plan) -> str:
    verdict = "passed" if plan.passed else "FAILED"
    waived = f", {len(plan.waived)} waived" if plan.waived else ""
    findings = f", {plural(len(plan.findings), 'plan finding')}" if plan.findings else ""
    return (
        f"{plan.stack}: {plural(len(plan.simulation.resources), 'resource')}, "
        f"{len(plan.mandatory)} mandatory and {len(plan.advisory)} advisory violations{waived}{findings}: {verdict}"
    )


def change_note(change: Change) -> str:
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


def against_line(changes: ChangeSet) -> str:
    line = f"Changes against {changes.ref} ({changes.commit[:12]})"
    if changes.stack_file_missing:
        line += ": the stack file does not exist there"
    return line


def lock_warning(changes: ChangeSet) -> list[str]:
    if not changes.lock_differs:
        return []
    return [f"warning: {changes.ref}'s uv.lock differs from this checkout's; it was simulated with this environment"]
