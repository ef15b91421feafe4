"""Generates docs/components.md from the committed component schema (`components/schema.json`).

Every argument appears with its Python name (what a `TypedDict` takes) and its schema name (what
YAML, TypeScript and the other generated SDKs use), whether it accepts another resource's output,
and its docstring. A test keeps the committed file current.
"""

from __future__ import annotations

import re
from typing import Any

from modelplane.report.markdown import cell
from tools.generate import REPOSITORY
from tools.generate.component_schema import load

DOC_PATH = REPOSITORY / "docs" / "components.md"
GUIDES_DIR = REPOSITORY / "docs" / "components"
GUIDE = "use-the-components.md"
TYPE_PREFIX = "#/types/"
PRIMITIVES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


def python_name(schema_name: str) -> str:
    """`kmsKeyArn` -> `kms_key_arn`: the analyzer camel-cases the Python attribute names."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", schema_name).lower()


def _type_name(token: str) -> str:
    return token.rsplit(":", 1)[-1]


def _type(spec: dict[str, Any]) -> str:
    ref = spec.get("$ref", "")
    if ref.startswith(TYPE_PREFIX):
        name = _type_name(ref.removeprefix(TYPE_PREFIX))
        return f"[{name}](#{name.lower()})"
    kind = spec.get("type")
    if kind == "array":
        return f"list of {_type(spec['items'])}"
    if kind == "object" and "additionalProperties" in spec:
        return f"map of {_type(spec['additionalProperties'])}"
    return PRIMITIVES.get(str(kind), str(kind))


def _text(description: str | None) -> str:
    """A schema description in one table cell: its whitespace runs collapsed, as the schema wraps them."""
    return cell(" ".join((description or "").split()))


def _properties_table(properties: dict[str, Any], required: set[str], *, inputs: bool) -> list[str]:
    if inputs:
        lines = [
            "| Python | YAML / other languages | type | required | takes outputs | meaning |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
    else:
        lines = ["| Python | YAML / other languages | type | meaning |", "| --- | --- | --- | --- |"]
    for name, spec in properties.items():
        cells = [f"`{python_name(name)}`", f"`{name}`", _type(spec)]
        if inputs:
            cells += ["yes" if name in required else "no", "no" if spec.get("plain") else "yes"]
        cells.append(_text(spec.get("description")))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render() -> str:
    from modelplane_components.provider import COMPONENTS

    schema = load()
    modules = {component.__name__: component.__module__ for component in COMPONENTS}
    lines = [
        "# Components reference",
        "",
        "Generated from `components/schema.json` (the schema Pulumi infers from the components' type",
        "annotations) by `python -m tools.generate.component_docs`; a test fails when this file is out of date.",
        f"How to use them from Python and YAML: [{GUIDE.removesuffix('.md')}](components/{GUIDE}).",
        "",
        "An argument that takes outputs accepts another resource's output (`pulumi.Input`); the others must be",
        "known when the program runs (plain values), because they decide which resources exist.",
        "",
    ]
    guides = sorted(path.name for path in GUIDES_DIR.glob("*.md") if path.name != GUIDE) if GUIDES_DIR.is_dir() else []
    if guides:
        lines += ["Guides: " + ", ".join(f"[{name.removesuffix('.md')}](components/{name})" for name in guides), ""]
    for token, resource in sorted(schema["resources"].items()):
        name = _type_name(token)
        lines += [
            f"## {name}",
            "",
            f"Python: `from {modules[name]} import {name}` · type token `{token}`",
            "",
            _text(resource.get("description")),
            "",
            "**Arguments**",
            "",
            *_properties_table(
                resource.get("inputProperties", {}), set(resource.get("requiredInputs", [])), inputs=True
            ),
            "",
            "**Outputs**",
            "",
            *_properties_table(resource.get("properties", {}), set(), inputs=False),
            "",
        ]
    lines += ["## Argument types", ""]
    for token, spec in sorted(schema["types"].items(), key=lambda item: _type_name(item[0])):
        name = _type_name(token)
        lines += [f"### {name}", "", _text(spec.get("description")), ""]
        if "enum" in spec:
            lines += ["| value | meaning |", "| --- | --- |"]
            lines += [f"| `{member['value']}` | {_text(member.get('description'))} |" for member in spec["enum"]]
        else:
            lines += _properties_table(spec.get("properties", {}), set(spec.get("required", [])), inputs=True)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    DOC_PATH.parent.mkdir(exist_ok=True)
    DOC_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC_PATH}")
