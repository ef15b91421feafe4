"""JSON policy documents (IAM, key, bucket, repository and topic policies) in every form they arrive.

A document is a JSON string or an object; `Statement` is one statement or a list; `Action`,
`Resource` and principals are one value or a list; `Principal` is `"*"` or a map of principal
kind to one value or a list. Condition values may be strings or booleans.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .common import Report, as_list, as_mapping, is_false

# Condition keys that limit a `*` principal to known accounts, organisations or network paths.
RESTRICTING_CONDITION_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceOwner",
        "kms:CallerAccount",
    )
)


class UnreadableDocument(ValueError):
    """The property holds something that is not a JSON policy document."""


@dataclass(frozen=True)
class Statement:
    index: int
    sid: str
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    principals: Mapping[str, tuple[str, ...]]
    """Principal kind (`AWS`, `Service`, `Federated`, `CanonicalUser`, or `*`) to its values."""
    not_principals: Mapping[str, tuple[str, ...]]
    """The same for `NotPrincipal`: an Allow with it grants everyone else."""
    conditions: Mapping[str, Mapping[str, tuple[Any, ...]]]
    """Operator to condition key to values."""

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"

    @property
    def label(self) -> str:
        return f"statement {self.sid!r}" if self.sid else f"statement {self.index}"

    def condition_keys(self) -> set[str]:
        return {key.lower() for keys in self.conditions.values() for key in keys}

    @property
    def names_principals(self) -> bool:
        """A resource-based (or trust) policy statement names who it applies to; an identity policy's does not."""
        return bool(self.principals) or bool(self.not_principals)

    @property
    def has_wildcard_principal(self) -> bool:
        return "*" in self.principals.get("*", ()) or "*" in self.principals.get("AWS", ())

    @property
    def wildcard_principal_unrestricted(self) -> bool:
        """Everyone may use what the statement grants: `*` (or all but a `NotPrincipal`), with no
        condition limiting callers to accounts, organisations or networks."""
        everyone = self.has_wildcard_principal or bool(self.not_principals)
        return everyone and not (self.condition_keys() & RESTRICTING_CONDITION_KEYS)


def parse_document(value: Any) -> Mapping[str, Any]:
    """The document as a mapping, from a JSON string or an object."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise UnreadableDocument(f"is not valid JSON ({error.msg})") from None
    if not isinstance(value, Mapping):
        raise UnreadableDocument("is not a JSON object")
    return value


def statements(value: Any) -> list[Statement]:
    document = parse_document(value)
    return [_statement(index, raw) for index, raw in enumerate(as_list(document.get("Statement")))]


def document_statements(value: Any) -> list[Statement] | None:
    """The statements of a value that is a JSON policy document (an object with `Statement`), else None.

    For inputs that may or may not hold a policy document (a `policy` property of any resource
    type): anything else is left alone rather than reported as unreadable."""
    if isinstance(value, str) and not value.lstrip().startswith("{"):
        return None
    try:
        document = parse_document(value)
    except UnreadableDocument:
        return None
    if "Statement" not in document:
        return None
    return [_statement(index, raw) for index, raw in enumerate(as_list(document.get("Statement")))]


def checked_statements(path: str, value: Any, report: Report) -> list[Statement]:
    """The statements of the document at `path`, or none after reporting that it cannot be checked."""
    try:
        return statements(value)
    except UnreadableDocument as error:
        report(f"{path} {error}; it cannot be checked.")
        return []


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in as_list(value))


def _principals(principal: Any) -> Mapping[str, tuple[str, ...]]:
    if principal == "*":
        return {"*": ("*",)}
    return {kind: _strings(value) for kind, value in as_mapping(principal).items()}


def _statement(index: int, raw: Any) -> Statement:
    statement = as_mapping(raw)
    conditions = {
        operator: {key: tuple(as_list(values)) for key, values in as_mapping(keys).items()}
        for operator, keys in as_mapping(statement.get("Condition")).items()
    }
    return Statement(
        index=index,
        sid=str(statement.get("Sid") or ""),
        effect=str(statement.get("Effect") or ""),
        actions=_strings(statement.get("Action")),
        not_actions=_strings(statement.get("NotAction")),
        resources=_strings(statement.get("Resource")),
        not_resources=_strings(statement.get("NotResource")),
        principals=_principals(statement.get("Principal")),
        not_principals=_principals(statement.get("NotPrincipal")),
        conditions=conditions,
    )


def denies_insecure_transport(statement: Statement) -> bool:
    """A `Deny` of every principal's S3 calls when `aws:SecureTransport` is false (IAM reads actions
    case-insensitively, so `S3:*` is the same deny)."""
    if statement.effect != "Deny" or not statement.has_wildcard_principal:
        return False
    if not any(action.lower() in {"*", "s3:*"} for action in statement.actions):
        return False
    bool_conditions = {key.lower(): values for key, values in statement.conditions.get("Bool", {}).items()}
    return any(is_false(value) for value in bool_conditions.get("aws:securetransport", ()))
