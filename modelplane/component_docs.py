"""Generates docs/components.md from the components' own source: args with their field docstrings,
outputs (the component's annotated attributes) with their types and docstrings, and the type token.
A test keeps the committed file current.

Field docstrings are not kept at run time, so the source is read with `ast` instead of imported.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from modelplane.stackfiles import PROJECT_ROOT

COMPONENTS_DIR = PROJECT_ROOT / "components"
DOC_PATH = PROJECT_ROOT / "docs" / "components.md"
GUIDES_DIR = PROJECT_ROOT / "docs" / "components"


@dataclass(frozen=True)
class Field:
    name: str
    annotation: str
    doc: str
    default: str | None


@dataclass(frozen=True)
class ComponentDoc:
    module: str
    class_name: str
    token: str
    summary: str
    args: tuple[Field, ...]
    args_class: str
    outputs: tuple[Field, ...]


def _fields(node: ast.ClassDef) -> tuple[Field, ...]:
    found: list[Field] = []
    body = node.body
    for index, statement in enumerate(body):
        if not isinstance(statement, ast.AnnAssign) or not isinstance(statement.target, ast.Name):
            continue
        annotation = ast.unparse(statement.annotation)
        following = body[index + 1] if index + 1 < len(body) else None
        doc = ""
        if (
            isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            doc = " ".join(following.value.value.split())
        default = ast.unparse(statement.value) if statement.value is not None else None
        found.append(Field(statement.target.id, annotation, doc, default))
    return tuple(found)


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level string constants, for tokens given by name (`TOKEN = "modelplane:..."`)."""
    return {
        target.id: statement.value.value
        for statement in tree.body
        if isinstance(statement, ast.Assign)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
        for target in statement.targets
        if isinstance(target, ast.Name)
    }


def _token(node: ast.ClassDef, constants: dict[str, str]) -> str | None:
    for call in ast.walk(node):
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "__init__"
            and call.args
        ):
            continue
        first = call.args[0]
        token = (
            first.value
            if isinstance(first, ast.Constant)
            else constants.get(first.id)
            if isinstance(first, ast.Name)
            else None
        )
        if isinstance(token, str) and token.startswith("modelplane:"):
            return token
    return None


def _args_class_name(node: ast.ClassDef) -> str | None:
    init = next((item for item in node.body if isinstance(item, ast.FunctionDef) and item.name == "__init__"), None)
    if init is None:
        return None
    for argument in init.args.args:
        if argument.arg == "args" and argument.annotation is not None:
            return ast.unparse(argument.annotation).strip("'\"")
    return None


def collect() -> list[ComponentDoc]:
    documented: list[ComponentDoc] = []
    for path in sorted(COMPONENTS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
        constants = _constants(tree)
        for node in classes.values():
            token = _token(node, constants)
            args_name = _args_class_name(node)
            if token is None or args_name is None:
                continue
            args_node = classes.get(args_name)
            documented.append(
                ComponentDoc(
                    module=f"components.{path.stem}",
                    class_name=node.name,
                    token=token,
                    summary=" ".join((ast.get_docstring(node) or "").split()),
                    args=_fields(args_node) if args_node is not None else (),
                    args_class=args_name,
                    outputs=_fields(node),
                )
            )
    return documented


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    lines = [
        "# Components reference",
        "",
        "Generated from the components' source by `python -m modelplane.component_docs`; a test fails",
        "when this file is out of date. Narrative guides with examples live in [components/](components/).",
        "",
    ]
    guides = sorted(path.name for path in GUIDES_DIR.glob("*.md")) if GUIDES_DIR.is_dir() else []
    if guides:
        lines += ["Guides: " + ", ".join(f"[{name.removesuffix('.md')}](components/{name})" for name in guides), ""]
    for component in collect():
        lines += [
            f"## {component.class_name}",
            "",
            f"`from {component.module} import {component.class_name}, {component.args_class}` — type token `{component.token}`.",
            "",
        ]
        if component.summary:
            lines += [component.summary, ""]
        if component.args:
            lines += [
                f"**{component.args_class}**",
                "",
                "| argument | type | default | meaning |",
                "| --- | --- | --- | --- |",
            ]
            lines += [
                f"| `{field.name}` | `{_cell(field.annotation)}` | {f'`{_cell(field.default)}`' if field.default else 'required'} | {_cell(field.doc)} |"
                for field in component.args
            ]
            lines.append("")
        if component.outputs:
            lines += ["**Outputs**", "", "| output | type | meaning |", "| --- | --- | --- |"]
            lines += [
                f"| `{field.name}` | `{_cell(field.annotation)}` | {_cell(field.doc)} |" for field in component.outputs
            ]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    DOC_PATH.parent.mkdir(exist_ok=True)
    DOC_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC_PATH}")
