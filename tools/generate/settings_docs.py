"""Generates docs/settings.md, the reference of every key a stack file may set: `python -m tools.generate.settings_docs`.

Everything but the examples comes from the stack file's JSON schema (`tools.generate.settings_schema.stack_file_schema`,
pydantic's schema of the settings models, the one editors use): key paths, types, defaults, constraints and the
fields' docstrings. An example is the value a shipped stack file gives the key, else `EXAMPLES` below, else the
key's default. A test fails while the committed page differs from what this writes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from modelplane.config.loader import read_stack_file
from tools.generate import REPOSITORY
from tools.generate.settings_schema import stack_file_schema

DOC_PATH = REPOSITORY / "docs" / "settings.md"
STACKS_DIR = REPOSITORY / "stacks"
# Where examples come from first: the stack closest to a real deployment.
EXAMPLE_STACKS = ("prod", "staging", "dev", "local")
# A map's keys are the user's own names; the reference writes them so.
ENTRY = "<name>"
REF_PREFIX = "#/$defs/"

# Examples of the keys no shipped stack file sets and whose default shows nothing (none, an empty list or map).
# Each must be valid for its key's schema (a test checks it) and is used only while no stack file sets the key.
EXAMPLES: dict[str, Any] = {
    "modelplane:secret_values": {"feature-store-token": {"secure": "<ciphertext from pulumi config set --secret>"}},
    "modelplane:kubeconfig": {"secure": "<ciphertext from pulumi config set --secret>"},
    "modelplane:registry.families.<name>.cross_account_principals": ["444455556666"],
    "modelplane:secrets.<name>.rotation.schedule_expression": "rate(30 days)",
    "modelplane:kubernetes.render_yaml_to_directory": "rendered-manifests",
    "modelplane:endpoints[].variants[].serverless.provisioned_concurrency": 2,
    "modelplane:endpoints[].shadow.serverless.memory_size_mb": 2048,
    "modelplane:endpoints[].shadow.serverless.max_concurrency": 5,
    "modelplane:endpoints[].shadow.serverless.provisioned_concurrency": 2,
    "modelplane:endpoints[].shadow.model_artifact": "churn/1.1.0/model.tar.gz",
    "modelplane:endpoints[].shadow.environment": {"SCORE_THRESHOLD": "0.8"},
    "modelplane:endpoints[].shadow.image_digest": (
        "sha256:9a8b7c6d5e4f30211f2e3d4c5b6a79881726354433221100ffeeddccbbaa9988"
    ),
    "modelplane:endpoints[].kubernetes.resources.cpu_limit": "2",
    "modelplane:endpoints[].kubernetes.tolerations[].value": "a100",
    "modelplane:endpoints[].experiment.business_metrics[].name": "fraud_caught",
    "modelplane:endpoints[].experiment.business_metrics[].namespace": "Payments/Fraud",
    "modelplane:endpoints[].experiment.business_metrics[].metric": "ConfirmedFraudFlagged",
    "modelplane:endpoints[].experiment.business_metrics[].trials_metric": "ConfirmedFraud",
    "modelplane:endpoints[].experiment.business_metrics[].dimensions": {"EndpointName": "fraud-staging"},
    "modelplane:endpoints[].experiment.business_metrics[].kind": "proportion",
    "modelplane:endpoints[].experiment.business_metrics[].margin": 2,
    "modelplane:endpoints[].alarms.anomaly_detection.enabled": True,
    "modelplane:endpoints[].alarms.anomaly_detection.band_width": 2.5,
    "modelplane:endpoints[].alarms.anomaly_detection.evaluation_periods": 4,
    "modelplane:endpoints[].alarms.anomaly_detection.datapoints_to_alarm": 3,
}


@dataclass(frozen=True)
class Key:
    """One key of a stack file, as the reference lists it."""

    path: str
    schema: dict[str, Any]
    required: bool
    container: bool


def _definition(spec: Mapping[str, Any], definitions: Mapping[str, Any]) -> dict[str, Any]:
    """The spec with its `$ref` resolved and `X | None` unwrapped; the field's own keywords win over the model's."""
    options = spec.get("anyOf")
    if options and {"type": "null"} in options:
        inner = next(option for option in options if option != {"type": "null"})
        outer = {name: value for name, value in spec.items() if name != "anyOf"}
        return _definition({**inner, **outer}, definitions)
    if "$ref" in spec:
        model = definitions[spec["$ref"].removeprefix(REF_PREFIX)]
        field = {name: value for name, value in spec.items() if name != "$ref"}
        return {**model, **field, "model_description": model.get("description", "")}
    return dict(spec)


def _is_ciphertext(spec: Mapping[str, Any]) -> bool:
    return set(spec.get("properties", {})) == {"secure"}


def _entries(spec: Mapping[str, Any]) -> dict[str, Any] | None:
    """The value schema of a map (`additionalProperties` or one `patternProperties`), or None."""
    if isinstance(spec.get("additionalProperties"), dict):
        return spec["additionalProperties"]
    patterns = spec.get("patternProperties", {})
    return next(iter(patterns.values())) if len(patterns) == 1 else None


def _children(
    spec: Mapping[str, Any], definitions: Mapping[str, Any]
) -> Iterator[tuple[str, str, dict[str, Any], bool]]:
    """(path suffix, how the data reaches it, child spec, required) for the keys nested in `spec`.

    How: `property`, `item` (each element of a list) or `entry` (each value of a map). Objects with
    properties (models) and lists and maps of models have nested keys; scalars, lists and maps of
    scalars and encrypted values are leaves.
    """
    resolved = _definition(spec, definitions)
    if _is_ciphertext(resolved):
        return
    if resolved.get("type") == "object" and "properties" in resolved:
        required = set(resolved.get("required", []))
        for name, child in resolved["properties"].items():
            yield f".{name}", "property", child, name in required
        return
    if resolved.get("type") == "array" and "items" in resolved:
        item = _definition(resolved["items"], definitions)
        if "properties" in item and not _is_ciphertext(item):
            yield "[]", "item", resolved["items"], True
        return
    entries = _entries(resolved)
    if entries is not None:
        value = _definition(entries, definitions)
        if "properties" in value and not _is_ciphertext(value):
            yield f".{ENTRY}", "entry", entries, True


def _walk(path: str, spec: dict[str, Any], required: bool, definitions: Mapping[str, Any]) -> Iterator[Key]:
    children = list(_children(spec, definitions))
    resolved = _definition(spec, definitions)
    # A list or map of models is reached through its element: the element itself gets no entry of its own.
    element = len(children) == 1 and children[0][1] in {"item", "entry"}
    yield Key(path, resolved, required, container=bool(children))
    for suffix, _, child, child_required in children:
        if element:
            yield from _walk_element(path + suffix, child, definitions)
        else:
            yield from _walk(path + suffix, child, child_required, definitions)


def _walk_element(path: str, spec: dict[str, Any], definitions: Mapping[str, Any]) -> Iterator[Key]:
    for suffix, _, child, required in _children(spec, definitions):
        yield from _walk(path + suffix, child, required, definitions)


def keys() -> list[Key]:
    """Every key of a stack file, depth first, in the models' field order."""
    schema = stack_file_schema()
    config = schema["properties"]["config"]
    required = set(config.get("required", []))
    return [
        key
        for name, spec in config["properties"].items()
        for key in _walk(name, spec, name in required, schema["$defs"])
    ]


def stack_values() -> dict[str, tuple[Any, str]]:
    """Key path -> (value, stack file) for every key the shipped stack files set, the first in EXAMPLE_STACKS."""
    schema = stack_file_schema()
    definitions = schema["$defs"]
    properties = schema["properties"]["config"]["properties"]
    found: dict[str, tuple[Any, str]] = {}
    for stack in EXAMPLE_STACKS:
        path = STACKS_DIR / f"Pulumi.{stack}.yaml"
        source = str(path.relative_to(REPOSITORY))
        for name, value in read_stack_file(path).items():
            if name in properties:
                for key_path, key_value in _values(name, properties[name], value, definitions):
                    found.setdefault(key_path, (key_value, source))
    return found


def _values(path: str, spec: dict[str, Any], value: Any, definitions: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    yield path, value
    children = list(_children(spec, definitions))
    element = len(children) == 1 and children[0][1] in {"item", "entry"}
    for suffix, how, child, _ in children:
        if how == "property" and isinstance(value, dict) and suffix[1:] in value:
            yield from _values(path + suffix, child, value[suffix[1:]], definitions)
        elif how == "item" and isinstance(value, list):
            for item in value:
                yield from _element_values(path + suffix, child, item, definitions)
        elif how == "entry" and isinstance(value, dict):
            for entry in value.values():
                yield from _element_values(path + suffix, child, entry, definitions)
        if element:
            break


def _element_values(
    path: str, spec: dict[str, Any], value: Any, definitions: Mapping[str, Any]
) -> Iterator[tuple[str, Any]]:
    for suffix, _, child, _ in _children(spec, definitions):
        if isinstance(value, dict) and suffix[1:] in value:
            yield from _values(path + suffix, child, value[suffix[1:]], definitions)


def _informative(default: Any) -> bool:
    return default is not None and default not in ([], {})


def example(key: Key, values: Mapping[str, tuple[Any, str]]) -> tuple[Any, str] | None:
    """A leaf key's example and where it comes from: a shipped stack file, `EXAMPLES`, or its default.

    A key holding other keys gets none: its keys have theirs.
    """
    if key.container:
        return None
    if key.path in values:
        return values[key.path]
    if key.path in EXAMPLES:
        return EXAMPLES[key.path], "example"
    if "default" in key.schema and _informative(key.schema["default"]):
        return key.schema["default"], "default"
    return None


def _code(value: Any) -> str:
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _type(spec: Mapping[str, Any], definitions: Mapping[str, Any]) -> str:
    resolved = _definition(spec, definitions)
    if _is_ciphertext(resolved):
        return "encrypted value (`secure:`), set with `pulumi config set --secret`"
    if "enum" in resolved:
        return "one of " + ", ".join(_code(value) for value in resolved["enum"])
    kind = resolved.get("type")
    if kind == "array":
        return f"list of {_type(resolved.get('items', {}), definitions)}"
    if kind == "object":
        entries = _entries(resolved)
        if entries is not None:
            return f"map of name to {_type(entries, definitions)}"
        return "object"
    return str(kind)


def _range(low: Any, high: Any, unit: str) -> str | None:
    if low is not None and high is not None:
        return f"{low} to {high}{unit}"
    if low is not None:
        return f"at least {low}{unit.removesuffix('s') if low == 1 else unit}"
    if high is not None:
        return f"at most {high}{unit.removesuffix('s') if high == 1 else unit}"
    return None


def _bounds(spec: Mapping[str, Any]) -> list[str]:
    """The schema's constraints on one value, in words."""
    parts = [f"matches `{spec['pattern']}`"] if "pattern" in spec else []
    parts += [
        text
        for text in (
            _range(spec.get("minLength"), spec.get("maxLength"), " characters"),
            _range(spec.get("minimum"), spec.get("maximum"), ""),
            _range(spec.get("minItems"), spec.get("maxItems"), " items"),
            _range(spec.get("minProperties"), spec.get("maxProperties"), " entries"),
        )
        if text is not None
    ]
    if "exclusiveMinimum" in spec:
        parts.append(f"greater than {spec['exclusiveMinimum']}")
    if "exclusiveMaximum" in spec:
        parts.append(f"less than {spec['exclusiveMaximum']}")
    if "multipleOf" in spec:
        parts.append(f"a multiple of {spec['multipleOf']}")
    return parts


def constraints(spec: Mapping[str, Any], definitions: Mapping[str, Any]) -> list[str]:
    resolved = _definition(spec, definitions)
    parts = _bounds(resolved)
    if resolved.get("type") == "array" and "items" in resolved:
        parts += [f"each item {part}" for part in _bounds(_definition(resolved["items"], definitions))]
    names = resolved.get("propertyNames", {})
    parts += [f"each name {part}" for part in _bounds(names)]
    patterns = resolved.get("patternProperties", {})
    parts += [f"each name matches `{pattern}`" for pattern in patterns]
    entries = _entries(resolved)
    if entries is not None and "properties" not in _definition(entries, definitions):
        parts += [f"each value {part}" for part in _bounds(_definition(entries, definitions))]
    return parts


def _presence(key: Key) -> str:
    if key.required:
        return "required"
    default = key.schema.get("default")
    if key.container and isinstance(default, dict) and default:
        return "optional; each key below takes its default"
    if default is None:
        return "optional, unset by default"
    return f"optional, default {_code(default)}"


def _description(key: Key) -> str:
    text = key.schema.get("description") or key.schema.get("model_description") or ""
    return " ".join(text.split())


INTRO = """\
# Stack file settings

<!-- Generated by `python -m tools.generate.settings_docs` from the settings models; do not edit by hand. -->

A stack file, `stacks/Pulumi.<stack>.yaml`, holds the stack's configuration under `config:`. modelplane
reads the keys below: `aws:region` and the `modelplane:*` keys. Every stack also sets
`pulumi:disable-default-providers: ["*"]`, so that every resource uses the stack's explicit providers.

This page is generated from the pydantic models in `modelplane/settings/` (through the JSON schema in
`stacks/settings.schema.json`, which editors use for completion): the types, defaults, constraints and
descriptions are the code's. Each example is the value a shipped stack file gives the key (the file is
named), else an illustration, else the key's default. Keys are written as paths: `.name` for a nested
key, `[]` for each element of a list, `<name>` for a name of your own in a map.

Rules that combine keys (an instance type or `serverless`, prod's private subnets, capacities within
autoscaling, names within AWS's limits) are not listed here: `modelplane plan --stack <stack>` checks
them all and names the key of each problem (`stacks/Pulumi.prod.yaml: modelplane:endpoints[0].variants[1].weight:
must be greater than 0`). The values to replace before a first deployment are listed in
[getting started on AWS](getting-started-on-aws.md#replace-the-placeholders).
"""


def render() -> str:
    schema = stack_file_schema()
    definitions = schema["$defs"]
    values = stack_values()
    listed = keys()
    top = [key for key in listed if "." not in key.path and "[" not in key.path]
    lines = [INTRO, "## Keys", ""]
    lines += [f"- [`{key.path}`](#{_anchor(key.path)}): {_description(key).split('. ')[0].rstrip('.')}" for key in top]
    lines.append("")
    for key in listed:
        level = "##" if key in top else "###"
        lines += [f"{level} `{key.path}`", "", _description(key), ""]
        lines.append(f"- **Type:** {_type(key.schema, definitions)}; {_presence(key)}")
        bounds = constraints(key.schema, definitions)
        if bounds:
            lines.append(f"- **Constraints:** {'; '.join(bounds)}")
        if key.container:
            lines.append("- **Keys:** " + ", ".join(f"`{child.path}`" for child in _direct_children(key, listed)))
        found = example(key, values)
        if found is not None:
            value, source = found
            origin = {"example": "illustration", "default": "the default"}.get(source, source)
            lines.append(f"- **Example** ({origin}): {_code(value)}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _direct_children(key: Key, listed: list[Key]) -> list[Key]:
    prefixes = (f"{key.path}.", f"{key.path}[].", f"{key.path}.{ENTRY}.")
    nested = [other for other in listed if other.path.startswith(prefixes)]
    return [
        other
        for other in nested
        if not any(
            other.path.startswith(f"{middle.path}.") or other.path.startswith(f"{middle.path}[]") for middle in nested
        )
    ]


def _anchor(path: str) -> str:
    """GitHub's heading anchor of `` `path` ``: lowercase, punctuation other than - and _ dropped."""
    return "".join(character for character in path.lower() if character.isalnum() or character in "-_")


def main() -> int:
    DOC_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC_PATH.relative_to(REPOSITORY)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
