"""The documentation stays true: generated references are current, links and their anchors resolve.

The commands the docs show are checked in tests/docs/test_doc_commands.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.stacks import REPOSITORY
from tools.generate.component_docs import DOC_PATH as COMPONENTS_DOC
from tools.generate.component_docs import render as render_components

README = REPOSITORY / "README.md"
DOCS = sorted((REPOSITORY / "docs").rglob("*.md"))


def shell_commands(markdown: str) -> list[str]:
    """Commands of the fenced `sh` blocks, comments stripped."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", markdown, flags=re.DOTALL):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


README_COMMANDS = shell_commands(README.read_text(encoding="utf-8"))


def test_component_reference_is_current() -> None:
    assert COMPONENTS_DOC.read_text(encoding="utf-8") == render_components(), (
        "run `make generate` and commit docs/components.md"
    )


def test_component_reference_documents_every_component_with_arguments_and_outputs() -> None:
    from modelplane_components.provider import COMPONENTS

    sections = re.split(r"^## ", COMPONENTS_DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    by_name = {section.split("\n", 1)[0]: section for section in sections[1:]}
    for component in COMPONENTS:
        section = by_name[component.__name__]
        assert f"from {component.__module__} import {component.__name__}" in section
        assert "**Arguments**" in section and "**Outputs**" in section


def test_readme_leads_with_the_two_commands_of_a_fresh_machine() -> None:
    assert README_COMMANDS[:2] == ["make test", "make plan STACK=prod"]


@pytest.mark.parametrize("document", [README, *DOCS], ids=lambda path: str(path.relative_to(REPOSITORY)))
def test_relative_links_resolve(document: Path) -> None:
    # Code (fenced blocks, inline spans) is not Markdown: a pattern such as `[a-z](-[a-z])` links nowhere.
    text = re.sub(r"```.*?```|`[^`\n]*`", "", document.read_text(encoding="utf-8"), flags=re.DOTALL)
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (document.parent / target).exists(), f"{document.name} links to missing {target}"


def heading_anchors(document: Path) -> set[str]:
    """The anchors GitHub gives a document's headings: lowercase, punctuation but - and _ dropped, spaces to -."""
    text = re.sub(r"```.*?```", "", document.read_text(encoding="utf-8"), flags=re.DOTALL)
    headings = re.findall(r"^#+ +(.+?) *$", text, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("document", [README, *DOCS], ids=lambda path: str(path.relative_to(REPOSITORY)))
def test_anchors_resolve(document: Path) -> None:
    text = re.sub(r"```.*?```|`[^`\n]*`", "", document.read_text(encoding="utf-8"), flags=re.DOTALL)
    for target, anchor in re.findall(r"\]\(([^)#\s]*)#([^)\s]+)\)", text):
        if "://" in target:
            continue
        linked = (document.parent / target) if target else document
        assert anchor in heading_anchors(linked), (
            f"{document.name} links to {target or document.name}#{anchor}, no such heading"
        )
