"""Waivers: per-resource exceptions to a policy, each with a reason, an owner and an expiry date.

Waivers live in the `policy-waivers` entry of an environment's policy config
(`policies/config/<env>.json`, the file passed with `--policy-pack-config`), so the Pulumi CLI and
`modelplane plan` hand the same list to the pack in `Configure`:

    "policy-waivers": {"waivers": [{"policy": "ec2-security-group-ingress-restricted",
        "resource": "bastion-*", "reason": "...", "owner": "platform@example.com", "expires": "2026-06-30"}]}

`resource` is a glob (`*`, `?`, `[...]`) over the resource's logical name, or over its whole URN when
it starts with `urn:`. A valid waiver turns a matching violation into an advisory one that carries the
waiver (`WAIVER_NOTE_PREFIX` and JSON on the message's last line), applied by the pack's server. The
`policy-waivers` stack policy reports every waiver that is malformed, expired, too long-lived, or
names a policy that refuses waivers (tag `non-waivable`: public exposure of data or secrets); such a
waiver waives nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy import Policy, ReportViolation, Severity, StackValidationArgs, StackValidationPolicy

from .common import Report, applies_to, as_number, config_schema, rule

WAIVER_POLICY = "policy-waivers"
# Tag of the policies that refuse waivers; a category tag, so it shows in reports and docs.
NON_WAIVABLE = "non-waivable"
# The last line of a waived violation's message: this prefix, then the waiver as JSON.
WAIVER_NOTE_PREFIX = "waived: "
FIELDS = ("policy", "resource", "reason", "owner", "expires")
DEFAULT_MAX_DAYS = 365
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Waiver:
    index: int
    policy: str
    resource: str
    reason: str
    owner: str
    expires: date

    def covers(self, policy: str, urn: str) -> bool:
        if policy != self.policy or not urn:
            return False
        subject = urn if self.resource.startswith("urn:") else urn.rsplit("::", 1)[-1]
        return fnmatchcase(subject, self.resource)

    def note(self, level: str) -> str:
        """The line appended to a waived violation: who accepted it, why, until when, at what level."""
        return WAIVER_NOTE_PREFIX + json.dumps(
            {
                "waiver": f"{WAIVER_POLICY}.waivers[{self.index}]",
                "resource": self.resource,
                "reason": self.reason,
                "owner": self.owner,
                "expires": self.expires.isoformat(),
                "level": level,
            }
        )


def waivable(policy: Policy) -> bool:
    return NON_WAIVABLE not in (policy.tags or [])


def today() -> date:
    """Waivers expire at the end of their day in UTC, wherever the pack runs."""
    return datetime.now(UTC).date()


def configured_waivers(
    config: Mapping[str, Any], policies: Sequence[Policy], on: date
) -> tuple[list[Waiver], list[str]]:
    """The valid waivers of the `policy-waivers` config, and a message for each that is not valid.

    The server applies the first and the `policy-waivers` policy reports the second, from one reading.
    """
    entries = config.get("waivers")
    max_days = as_number(config.get("maxDays")) or DEFAULT_MAX_DAYS
    by_name = {policy.name: policy for policy in policies}
    if entries is None:
        return [], []
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        return [], [f"waivers must be a list of waivers, not {type(entries).__name__}."]
    valid: list[Waiver] = []
    problems: list[str] = []
    for index, entry in enumerate(entries):
        waiver, problem = _read(index, entry, by_name, on, max_days)
        if waiver is not None:
            valid.append(waiver)
        if problem:
            problems.append(problem)
    return valid, problems


def _read(
    index: int, entry: Any, policies: Mapping[str, Policy], on: date, max_days: float
) -> tuple[Waiver | None, str]:
    label = f"waivers[{index}]"
    if not isinstance(entry, Mapping):
        return None, f"{label} is not an object with {', '.join(FIELDS)}."
    unknown = sorted(str(key) for key in entry if key not in FIELDS)
    missing = [field for field in FIELDS if not isinstance(entry.get(field), str) or not entry[field].strip()]
    if unknown or missing:
        parts = [
            f"lacks {', '.join(missing)}" if missing else "",
            f"has unknown {', '.join(unknown)}" if unknown else "",
        ]
        return None, f"{label} {' and '.join(part for part in parts if part)}; each waiver names {', '.join(FIELDS)}."
    policy_name, resource = entry["policy"].strip(), entry["resource"].strip()
    label = f"{label} ({policy_name} on {resource!r})"
    expires = _date(entry["expires"])
    if expires is None:
        return None, f"{label}: expires {entry['expires']!r} is not a date written YYYY-MM-DD."
    policy = policies.get(policy_name)
    if policy is None:
        return None, f"{label} names a policy this pack does not have."
    if not waivable(policy):
        return None, f"{label}: {policy_name} cannot be waived; fix the resource instead."
    if not resource.strip("*?"):
        return None, f"{label} matches every resource; to turn the policy off, set its enforcement level instead."
    if expires < on:
        return None, (
            f"{label} expired on {expires.isoformat()} (owner {entry['owner'].strip()}): the violation counts again;"
            " fix the resource or renew the waiver with a new expiry date."
        )
    if (expires - on).days > max_days:
        return (
            None,
            f"{label} expires {expires.isoformat()}, more than {max_days:g} days ahead; waivers must be renewed.",
        )
    waiver = Waiver(index, policy_name, resource, entry["reason"].strip(), entry["owner"].strip(), expires)
    return waiver, ""


def _date(text: str) -> date | None:
    if not ISO_DATE.match(text.strip()):
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class WaiverBook:
    """The valid waivers of one configuration, as the server applies them."""

    waivers: tuple[Waiver, ...]

    @classmethod
    def empty(cls) -> WaiverBook:
        return cls(())

    @classmethod
    def from_config(cls, properties: Mapping[str, Any], policies: Sequence[Policy], on: date) -> WaiverBook:
        valid, _ = configured_waivers(properties, policies, on)
        return cls(tuple(valid))

    def find(self, policy: str, urn: str) -> Waiver | None:
        return next((waiver for waiver in self.waivers if waiver.covers(policy, urn)), None)


def waiver_policy(policies: Sequence[Policy]) -> StackValidationPolicy:
    """The policy checking the waivers of the config against the pack's `policies`."""

    def validate(args: StackValidationArgs, report: Report) -> None:
        _, problems = configured_waivers(args.get_config(), policies, today())
        for problem in problems:
            report(problem)

    checked: Callable[[StackValidationArgs, ReportViolation], None] = rule(validate)
    return StackValidationPolicy(
        name=WAIVER_POLICY,
        description="Policy waivers name a waivable policy, a resource, a reason, an owner and an expiry date that has not passed.",
        validate=checked,
        severity=Severity.HIGH,
        remediation_steps="Complete or remove the waiver in policy-waivers.waivers of the environment's policy config; renew an expired one with a new expiry date and reason, or fix the resource.",
        tags=["governance", "waivers", NON_WAIVABLE, *applies_to("*")],
        config_schema=config_schema(
            {
                "waivers": {
                    "type": "array",
                    "default": [],
                    "description": "Per-resource exceptions, each {policy, resource (logical-name glob, or URN glob starting urn:), reason, owner, expires (YYYY-MM-DD)}; checked by the pack itself, so a malformed one is reported as a violation.",
                },
                "maxDays": {
                    "type": "number",
                    "minimum": 1,
                    "default": DEFAULT_MAX_DAYS,
                    "description": "Longest a waiver may run, in days from today.",
                },
            }
        ),
    )
