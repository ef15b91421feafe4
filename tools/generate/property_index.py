"""Generates `policies/modelplane_guard/property_index.json` from the providers' own schemas.

Run `python -m tools.generate.property_index` (part of `make generate`); a test fails when the file
is stale. The pack runs without the provider SDKs (its virtualenv has only pulumi-policy), so what
it needs from them is computed here, once:

- `aws`: for every resource type `pulumi_aws` registers, each input property (walked through nested
  blocks, lists and maps, camelCase as the pack receives it) that a signal of `property_map.py`
  names, with the signal and the default the provider documents for it. The resource classes come
  from the package's own registration table, their inputs from the `*Args` input types (names from
  `@pulumi.getter`, types from the annotations, defaults and deprecation from the getters);
- `kubernetes`: where each built-in kind of `pulumi_kubernetes` keeps a pod spec (a path to
  `core.v1.PodSpecArgs`, or `PodSpecPatchArgs` for a patch; `items[]` in a list kind), and the list of
  built-in kinds, so that any other kind is known to be a custom resource, searched for pods by shape.
"""

from __future__ import annotations

import collections.abc
import enum
import hashlib
import importlib
import json
import re
import sys
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from pulumi import Output, _types

from policies.modelplane_guard.property_map import AT_REST, SIGNALS, Kind, Signal
from tools.generate import REPOSITORY

INDEX_PATH = REPOSITORY / "policies" / "modelplane_guard" / "property_index.json"
# What the index is computed from besides the providers: the mapping and this generator.
SOURCES = (REPOSITORY / "policies" / "modelplane_guard" / "property_map.py", Path(__file__))
# How the SDKs state a default in a property's description: "Defaults to `false`", "Default is `0`",
# "The default is `false` if not specified", "with a default of `HTTP`", "Default `1`".
DEFAULT_STATEMENT = re.compile(
    r"\b[Dd]efaults?(?:\s+value)?(?:\s+(?:is|to|of)|:)?\s+(?:set\s+to\s+)?(?:`([^`]+)`|\b(true|false|\d+)\b)"
)
# A sentence that makes its default depend on something else ("When `engine` is `redis`, default is
# `false`", "defaults to `true` when ..., and `false` otherwise", "For Application Load Balancers, ..."),
# but not one that only says what leaving the property out means ("If this parameter is omitted, ...").
CONDITIONAL = re.compile(
    r"(?<!even )\b(when|unless|otherwise|depending|depends)\b"
    r"|^\s*(For|If)\b(?!.*\b(not\s+(specified|set|provided|configured|given)|omitted|left\s+out)\b)",
    re.IGNORECASE,
)
SCALAR_TYPES = ((bool, "boolean"), (str, "string"), (int, "number"), (float, "number"))
# Signals that show a type holds data (for the signals that apply `only_stateful`): storage
# encryption, backups, point-in-time recovery. A key reference alone does not (Lambda, EKS), nor a map
# or document of settings, which any type may take.
STATEFUL_SIGNALS = frozenset(
    signal.id
    for signal in SIGNALS
    if (signal.concern == AT_REST or signal.kind == Kind.MINIMUM or signal.id == "point-in-time-recovery")
    and signal.settings is None
)


@dataclass(frozen=True)
class SchemaProperty:
    """One input property of a resource type, anywhere in its nested blocks."""

    path: str
    """camelCase names joined by dots, `[]` after a list and `{}` after a map: `blockDeviceMappings[].ebs.encrypted`."""
    names: tuple[str, ...]
    """The property names along the path (without the list and map marks)."""
    kind: str
    """boolean, string, number, object, or any."""
    default: str | None
    """The one default value its description states, if exactly one."""
    deprecated: bool
    description: str = ""
    """What the provider's schema says of it (whitespace collapsed)."""


def registered_resources(package: ModuleType) -> dict[str, tuple[str, str]]:
    """Type token -> (module, class) of every resource the package registers with the Pulumi runtime."""
    source = Path(typing.cast(str, package.__file__)).read_text(encoding="utf-8")
    match = re.search(r'resource_modules="""(.*?)"""', source, re.DOTALL)
    if match is None:
        raise RuntimeError(f"{package.__name__} registers no resource modules")
    return {
        token: (entry["fqn"], class_name)
        for entry in json.loads(match.group(1))
        for token, class_name in entry["classes"].items()
    }


def documented_default(description: str | None) -> str | None:
    """The default a description states, when it states exactly one and unconditionally."""
    found: set[str] = set()
    for sentence in re.split(r"(?<=\.)\s+", " ".join((description or "").split())):
        for match in DEFAULT_STATEMENT.finditer(sentence):
            if CONDITIONAL.search(sentence):
                return None
            found.add(next(group for group in match.groups() if group).strip('"'))
    return found.pop() if len(found) == 1 else None


def _shape(annotation: Any) -> tuple[str, Any]:
    """(kind, detail) of an annotation: ("list"|"map", element), ("object", input class), or (scalar kind, None)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        members = [
            member
            for member in typing.get_args(annotation)
            if member is not type(None)
            and member is not Output
            and typing.get_origin(member) not in (collections.abc.Awaitable, Output)
        ]
        classes = [member for member in members if isinstance(member, type) and _types.is_input_type(member)]
        if classes:
            return "object", classes[0]
        shapes = [
            _shape(member) for member in members if typing.get_origin(member) not in (dict, collections.abc.Mapping)
        ]
        shapes = shapes or [_shape(members[0])]
        return next((shape for shape in shapes if shape[0] != "any"), shapes[0])
    if origin in (list, collections.abc.Sequence):
        return "list", typing.get_args(annotation)[0]
    if origin in (dict, collections.abc.Mapping):
        arguments = typing.get_args(annotation)
        return "map", arguments[1] if arguments else Any
    if isinstance(annotation, type):
        if _types.is_input_type(annotation):
            return "object", annotation
        if issubclass(annotation, enum.Enum):
            return "string", None
        for python_type, kind in SCALAR_TYPES:
            if issubclass(annotation, python_type):
                return kind, None
    return "any", None


def schema_properties(args_class: type) -> list[SchemaProperty]:
    """Every input property of a resource's args class, depth first, stopping where a block recurs."""
    found: list[SchemaProperty] = []

    def walk(cls: type, prefix: str, names: tuple[str, ...], seen: tuple[type, ...]) -> None:
        python_names = {pulumi: python for python, pulumi in _types.input_type_py_to_pulumi_names(cls).items()}
        for name, annotation in _types.input_type_types(cls).items():
            getter = getattr(cls, python_names[name]).fget
            kind, detail = _shape(annotation)
            path = f"{prefix}{name}"
            while kind in ("list", "map"):
                path += "[]" if kind == "list" else "{}"
                kind, detail = _shape(detail)
            found.append(
                SchemaProperty(
                    path,
                    (*names, name),
                    kind,
                    documented_default(getter.__doc__),
                    "_pulumi_deprecated_callable" in getter.__dict__,
                    " ".join((getter.__doc__ or "").split()),
                )
            )
            if kind == "object" and detail not in seen:
                walk(detail, f"{path}.", (*names, name), (*seen, detail))

    walk(args_class, "", (), (args_class,))
    return found


def _kind_matches(signal: Signal, prop: SchemaProperty) -> bool:
    return prop.kind in signal.schema or (prop.kind == "any" and "any" in signal.schema)


def matches(signal: Signal, token: str, prop: SchemaProperty) -> bool:
    """Whether the signal names this property of this resource type."""
    name = prop.names[-1]
    enclosing = prop.names[-2] if len(prop.names) > 1 else ""
    return (
        _kind_matches(signal, prop)
        and re.fullmatch(signal.names, name) is not None
        and (signal.within is None or re.fullmatch(signal.within, enclosing) is not None)
        and (signal.path is None or re.search(signal.path, prop.path) is not None)
        and re.fullmatch(signal.types, token) is not None
        and not any(re.fullmatch(pattern, f"{token}::{prop.path}") for pattern in signal.exclude)
        and (signal.unless_described is None or re.search(signal.unless_described, prop.description) is None)
    )


def type_entries(token: str, properties: list[SchemaProperty]) -> list[tuple[str, str, str | None]]:
    """(path, signal id, documented default) for each signal that names a property of the type."""
    entries = [
        (prop, signal)
        for prop in properties
        if not prop.deprecated
        for signal in SIGNALS
        if matches(signal, token, prop)
    ]
    stateful = any(signal.id in STATEFUL_SIGNALS for _, signal in entries)
    return [(prop.path, signal.id, prop.default) for prop, signal in entries if stateful or not signal.only_stateful]


def aws_index() -> dict[str, list[tuple[str, str, str | None]]]:
    import pulumi_aws

    index: dict[str, list[tuple[str, str, str | None]]] = {}
    for token, (module, class_name) in sorted(registered_resources(pulumi_aws).items()):
        if entries := _entries(token, module, class_name):
            index[token] = entries
    return index


def type_index_entries(token: str) -> list[tuple[str, str, str | None]] | None:
    """One AWS type's entries, as the index holds them (None: none of its properties is a signal)."""
    import pulumi_aws

    module, class_name = registered_resources(pulumi_aws)[token]
    return _entries(token, module, class_name) or None


def _entries(token: str, module: str, class_name: str) -> list[tuple[str, str, str | None]]:
    args_class = getattr(importlib.import_module(module), f"{class_name}Args")
    return type_entries(token, schema_properties(args_class))


def kubernetes_index() -> dict[str, Any]:
    """Where built-in Kubernetes kinds keep a pod spec (patches and lists of workloads too), and every built-in kind."""
    import pulumi_kubernetes
    from pulumi_kubernetes.core.v1 import PodSpecArgs, PodSpecPatchArgs

    tokens = registered_resources(pulumi_kubernetes)
    pod_specs: dict[str, str] = {}
    for token, (module, class_name) in sorted(tokens.items()):
        if not module.startswith("pulumi_kubernetes."):
            continue
        args_class = getattr(importlib.import_module(module), f"{class_name}Args", None)
        if args_class is None or not _types.is_input_type(args_class):
            continue
        # A patch (server-side apply) holds the patch form of every block down to its pod spec.
        path = _path_to(args_class, PodSpecPatchArgs if token.endswith("Patch") else PodSpecArgs)
        if path is not None:
            pod_specs[token] = path
    return {"podSpecPaths": pod_specs, "builtinKinds": sorted(tokens)}


def _path_to(cls: type, target: type, seen: tuple[type, ...] = ()) -> str | None:
    """The dotted path from an input class to a property of the target class (`[]` after a list), if any."""
    for name, annotation in _types.input_type_types(cls).items():
        kind, detail = _shape(annotation)
        mark = ""
        if kind == "list":
            kind, detail = _shape(detail)
            mark = "[]"
        if kind != "object" or detail in seen or name == "status":
            continue
        if detail is target:
            return f"{name}{mark}"
        below = _path_to(detail, target, (*seen, cls))
        if below is not None:
            return f"{name}{mark}.{below}"
    return None


def generated_from() -> dict[str, str]:
    """What the index is a function of: the providers' versions and the sources' digests. A test compares
    it with the committed index's, which costs no import of the providers."""
    return {
        "pulumi-aws": metadata.version("pulumi-aws"),
        "pulumi-kubernetes": metadata.version("pulumi-kubernetes"),
        **{path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in SOURCES},
    }


def index_digest(kubernetes: Any, aws: Any) -> str:
    """The digest of what the index holds, whatever its layout: the staleness test compares it with the
    committed body, so that a hand edit of the body (a type removed, an entry emptied) is caught."""
    canonical = json.dumps({"kubernetes": kubernetes, "aws": aws}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def render() -> str:
    """The index as JSON: one line per resource type, so that a provider upgrade reads as a diff."""
    aws = aws_index()
    kubernetes = kubernetes_index()
    header: Mapping[str, Any] = {**generated_from(), "index": index_digest(kubernetes, json.loads(json.dumps(aws)))}
    lines = [
        "{",
        f'"generatedFrom": {json.dumps(header)},',
        f'"kubernetes": {json.dumps(kubernetes, indent=1)},',
        '"aws": {',
        ",\n".join(f"{json.dumps(token)}: {json.dumps(entries)}" for token, entries in aws.items()),
        "}",
        "}",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    INDEX_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {INDEX_PATH.relative_to(REPOSITORY)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
