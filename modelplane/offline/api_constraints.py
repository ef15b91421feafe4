"""The AWS API's own constraints on every recorded resource's inputs, at plan time.

pulumi-aws sends a resource's inputs to an AWS call (`data/aws-calls.yaml` names it per type token);
botocore's service model of that call holds AWS's limits: string lengths, patterns and enums, number
ranges, list and map sizes. Checking the inputs against it finds, offline, what `pulumi up` would
only learn from a ValidationException. An auto-named resource is checked with the name the engine
would draw (`modelplane_components.autonaming`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelplane_components import autonaming
from ruamel.yaml import YAML

from modelplane.offline.findings import AWS_CONSTRAINT, Finding
from modelplane.offline.graph import SECRET_SIG, SECRET_SIG_KEY, RecordedResource, Simulation

if TYPE_CHECKING:
    import regex

CALLS_FILE = Path(__file__).resolve().parent / "data" / "aws-calls.yaml"
# What the engine sends for a value not known during preview.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
# Java regex writes a character beyond the BMP as its UTF-16 surrogates; Python's engines take code points.
_SURROGATE_RANGE = re.compile(r"\\uD800\\uDC00-\\uDBFF\\uDFFF", re.IGNORECASE)


@dataclass(frozen=True)
class Call:
    """One row of `aws-calls.yaml`."""

    token: str
    service: str
    operation: str
    name_input: str | None = None
    name_member: str | None = None
    autoname_max: int = autonaming.DEFAULT_MAX_LENGTH
    lowercase: bool = False
    inputs: Mapping[str, str] = field(default_factory=dict)
    ignore: frozenset[str] = frozenset()
    replace_on: tuple[str, ...] = ()
    """Input paths whose change replaces the resource; `("*",)` for every input but tags."""


@cache
def calls() -> dict[str, Call]:
    document = YAML(typ="safe").load(CALLS_FILE.read_text(encoding="utf-8"))
    table = {}
    for token, row in document.items():
        service, operation = row["call"].split(":")
        name = row.get("name") or {}
        table[token] = Call(
            token=token,
            service=service,
            operation=operation,
            name_input=name.get("input"),
            name_member=name.get("member"),
            autoname_max=name.get("autoname_max", autonaming.DEFAULT_MAX_LENGTH),
            lowercase=name.get("lowercase", False),
            inputs=row.get("inputs") or {},
            ignore=frozenset(row.get("ignore") or ()),
            replace_on=_replace_on(row.get("replace_on"), name.get("input")),
        )
    return table


def _replace_on(declared: str | list[str] | None, name_input: str | None) -> tuple[str, ...]:
    if declared is None:
        return (name_input,) if name_input else ()
    return (declared,) if isinstance(declared, str) else tuple(declared)


@cache
def _pattern(java_pattern: str) -> regex.Pattern[str]:
    import regex

    return regex.compile(_SURROGATE_RANGE.sub(r"\\U00010000-\\U0010FFFF", java_pattern))


@cache
def service_model(service: str) -> Any:
    """botocore's model of one service: parsed once, they are large."""
    return _botocore_session().get_service_model(service)


@cache
def _botocore_session() -> Any:
    """One session for every model (each new one registers botocore's handlers again); botocore loads on first use."""
    import botocore.session

    return botocore.session.get_session()


def load_models() -> None:
    """Parse botocore's model of every call in the table now (`plan` does it while the program runs)."""
    for service in {call.service for call in calls().values()}:
        service_model(service)


def constraint_findings(simulation: Simulation) -> list[Finding]:
    """Every input of every mapped AWS resource that its AWS call would refuse."""
    return [finding for resource in simulation.resources for finding in resource_constraint_findings(resource)]


def resource_constraint_findings(resource: RecordedResource) -> list[Finding]:
    """Every input of one resource that its AWS call would refuse (none when no call is mapped)."""
    call = calls().get(resource.type)
    if call is None or not resource.custom:
        return []
    return [
        Finding(AWS_CONSTRAINT.id, resource.urn, resource.type, path, message)
        for path, message in _Checker(call).check(resource)
    ]


def unmatched_inputs(simulation: Simulation) -> set[tuple[str, str]]:
    """(type token, input path) of inputs that reach no AWS member, and AWS resource types with no row."""
    table = calls()
    unmatched: set[tuple[str, str]] = set()
    for resource in simulation.resources:
        if not resource.custom or not resource.type.startswith("aws:"):
            continue
        if resource.type not in table:
            unmatched.add((resource.type, "*"))
            continue
        checker = _Checker(table[resource.type])
        list(checker.check(resource))
        unmatched |= {(resource.type, path) for path in checker.unmatched}
    return unmatched


def table_problems() -> list[str]:
    """Rows of `aws-calls.yaml` naming a call, member or pattern botocore does not have or Python cannot compile."""
    import regex

    problems = []
    for token, call in calls().items():
        model = service_model(call.service)
        operations: Any = model.operation_names
        if call.operation not in operations:
            problems.append(f"{token}: {call.service} has no operation {call.operation}")
            continue
        checker, root = _Checker(call), model.operation_model(call.operation).input_shape
        members = [call.name_member] if call.name_member else []
        members += [member for path, member in call.inputs.items() if ":" in member or "." not in path]
        for member in members:
            try:
                checker.member(root, member)
            except KeyError:
                problems.append(f"{token}: {call.operation} has no member {member}")
        shape_names: Any = model.shape_names
        for name in shape_names:
            if pattern := model.shape_for(name).metadata.get("pattern"):
                try:
                    _pattern(pattern)
                except regex.error as error:
                    problems.append(f"{call.service} {name}: pattern {pattern} does not compile: {error}")
    return problems


class _Checker:
    """Walks one resource's inputs alongside the call's input shape."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.model = service_model(call.service)
        self.where = f"{call.service} {call.operation}"
        self.unmatched: set[str] = set()

    def check(self, resource: RecordedResource) -> Iterator[tuple[str, str]]:
        call, root = self.call, self.model.operation_model(self.call.operation).input_shape
        inputs = dict(resource.inputs)
        if call.name_input and call.name_member and call.name_input not in inputs:
            yield from self._auto_name(resource.name, root)
        for key, value in inputs.items():
            if key == call.name_input and call.name_member:
                yield from self._value(value, self.member(root, call.name_member), key, key)
            else:
                yield from self._member_value(root, key, value, key, key)

    def _auto_name(self, logical_name: str, root: Any) -> Iterator[tuple[str, str]]:
        call = self.call
        assert call.name_input is not None and call.name_member is not None
        if refusal := autonaming.too_long(logical_name, call.autoname_max):
            yield call.name_input, refusal
            return
        shape = self.member(root, call.name_member)
        drawn = autonaming.example(logical_name, lowercase=call.lowercase)
        auto_name = f"auto-name '{autonaming.prefix(logical_name)}' plus {autonaming.RANDOM_CHARS} random chars"
        maximum = shape.metadata.get("max")
        if maximum is not None and len(drawn) > maximum:
            yield (
                call.name_input,
                f"{auto_name} is {len(drawn)} characters, over the maximum of {maximum} ({self.where}: {shape.name})",
            )
            return
        for _, problem in self._scalar(drawn, shape, call.name_input, secret=False):
            yield call.name_input, f"{auto_name}, e.g. {problem}"

    def member(self, structure: Any, member_path: str) -> Any:
        """The shape at `Member.Nested` below `structure`, or at `Operation:Member.Nested` in another call."""
        operation, _, member_path = member_path.rpartition(":")
        shape = self.model.operation_model(operation).input_shape if operation else structure
        for name in member_path.split("."):
            shape = shape.members[name]
        return shape

    def _member_value(self, structure: Any, key: str, value: Any, path: str, shown: str) -> Iterator[tuple[str, str]]:
        if path in self.call.ignore:
            return
        member_path = self.call.inputs.get(path) or _same_name(structure, key)
        if member_path is None:
            self.unmatched.add(path)
            return
        yield from self._value(value, self.member(structure, member_path), path, shown)

    def _value(self, value: Any, shape: Any, path: str, shown: str) -> Iterator[tuple[str, str]]:
        secret = isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG
        if secret:
            value = value["value"]
        if value is None or value == UNKNOWN or (isinstance(value, dict) and SECRET_SIG_KEY in value):
            return
        kind = shape.type_name
        if kind == "structure":
            for index, item in enumerate(value if isinstance(value, list) else [value]):
                if isinstance(item, dict):
                    at = f"{shown}[{index}]" if isinstance(value, list) else shown
                    for key, nested in item.items():
                        yield from self._member_value(shape, key, nested, f"{path}.{key}", f"{at}.{key}")
        elif kind == "list":
            items = _as_list(value, shape.member)
            yield from self._count(len(items), shape, shown, "item")
            for label, item in items:
                yield from self._value(item, shape.member, path, f"{shown}[{label}]")
        elif kind == "map" and isinstance(value, dict):
            yield from self._count(len(value), shape, shown, "entry")
            for key, item in value.items():
                yield from self._scalar(key, shape.key, f"{shown} key {key!r}", secret=False)
                yield from self._value(item, shape.value, f"{path}.*", f"{shown}.{key}")
        else:
            yield from self._scalar(value, shape, shown, secret=secret)

    def _scalar(self, value: Any, shape: Any, shown: str, *, secret: bool) -> Iterator[tuple[str, str]]:
        meta, kind = shape.metadata, shape.type_name
        at = f"({self.where}: {shape.name})"
        if kind == "string" and isinstance(value, str):
            shown_value = "[secret]" if secret else repr(value if len(value) <= 80 else value[:77] + "...")
            if "max" in meta and len(value) > meta["max"]:
                yield shown, f"{shown_value} is {len(value)} characters, over the maximum of {meta['max']} {at}"
            if "min" in meta and len(value) < meta["min"]:
                yield shown, f"{shown_value} is {len(value)} characters, under the minimum of {meta['min']} {at}"
            if "pattern" in meta and not _pattern(meta["pattern"]).search(value):
                yield shown, f"{shown_value} does not match {meta['pattern']} {at}"
            if shape.enum and value not in shape.enum:
                yield shown, f"{shown_value} is not one of the {len(shape.enum)} values AWS accepts {at}"
        elif (
            kind in {"integer", "long", "float", "double"}
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            if "min" in meta and value < meta["min"]:
                yield shown, f"{_number(value)} is below the minimum of {_number(meta['min'])} {at}"
            if "max" in meta and value > meta["max"]:
                yield shown, f"{_number(value)} is above the maximum of {_number(meta['max'])} {at}"

    def _count(self, count: int, shape: Any, shown: str, noun: str) -> Iterator[tuple[str, str]]:
        meta, at = shape.metadata, f"({self.where}: {shape.name})"
        if "max" in meta and count > meta["max"]:
            yield shown, f"{count} {noun}s, over the maximum of {meta['max']} {at}"
        if "min" in meta and count < meta["min"]:
            yield shown, f"{count} {noun}s, under the minimum of {meta['min']} {at}"


def _same_name(structure: Any, key: str) -> str | None:
    """The member spelt like the input, ignoring case (`memorySizeInMb` is `MemorySizeInMB`)."""
    wanted = key.lower()
    return next((name for name in structure.members if name.lower() == wanted), None)


def _as_list(value: Any, member: Any) -> list[tuple[str, Any]]:
    """Inputs as the list the call takes, each item with its label in messages: a Pulumi map becomes
    key/value pairs (tags, dimensions) when the list's items are two-string structures; a single
    nested block (a Terraform block of at most one item) is one item."""
    if isinstance(value, list):
        return [(str(index), item) for index, item in enumerate(value)]
    if isinstance(value, dict) and member.type_name == "structure" and _is_pair(member):
        key, val = list(member.members)
        return [(repr(k if len(k) <= 40 else k[:37] + "..."), {key: k, val: v}) for k, v in value.items()]
    return [("0", value)]


def _is_pair(structure: Any) -> bool:
    members = list(structure.members.values())
    return len(members) == 2 and all(member.type_name == "string" for member in members)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
