"""The Python snippets of the docs that import what they use import all of it.

A snippet with an import statement is meant to be copied whole: every name it reads must be imported,
defined in it, a builtin, or one of the reader's own objects the text says it stands for (READER_OBJECTS).
Snippets without imports are excerpts of a program shown around them.
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
from pathlib import Path

import pytest

from tests.docs.commands import DOCUMENTS
from tests.stacks import REPOSITORY

# Objects of the reader's own program a snippet names ("outputs of your own resources"), per document.
READER_OBJECTS = {
    "docs/components/use-the-components.md": {"topic", "key", "images", "archives", "network", "group"},
}


def snippets() -> list[tuple[str, str]]:
    found = []
    for document in DOCUMENTS:
        for block in re.findall(r"^```python\n(.*?)^```", document.read_text(encoding="utf-8"), flags=re.S | re.M):
            found.append((_relative(document), block))
    return found


def _relative(document: Path) -> str:
    return document.relative_to(REPOSITORY).as_posix()


def free_names(source: str) -> set[str]:
    """Names the code reads that nothing in it binds, in any of its scopes, minus builtins."""
    bound: set[str] = set()
    read: set[str] = set()

    def visit(table: symtable.SymbolTable) -> None:
        for symbol in table.get_symbols():
            if symbol.is_assigned() or symbol.is_imported() or symbol.is_parameter():
                bound.add(symbol.get_name())
            elif symbol.is_referenced() and (symbol.is_global() or table.get_type() == "module"):
                read.add(symbol.get_name())
        for child in table.get_children():
            visit(child)

    visit(symtable.symtable(source, "<snippet>", "exec"))
    return read - bound - set(dir(builtins))


COMPLETE = [(document, block) for document, block in snippets() if re.search(r"^(import|from) ", block, flags=re.M)]


def test_the_component_guide_shows_a_complete_snippet() -> None:
    assert "docs/components/use-the-components.md" in {document for document, _ in COMPLETE}


@pytest.mark.parametrize(("document", "block"), COMPLETE, ids=[document for document, _ in COMPLETE])
def test_a_snippet_with_imports_imports_everything_it_uses(document: str, block: str) -> None:
    ast.parse(block)
    assert free_names(block) - READER_OBJECTS.get(document, set()) == set()


def test_a_missing_import_is_caught() -> None:
    assert free_names("from x import y\ny(opts=pulumi.ResourceOptions())\n") == {"pulumi"}
