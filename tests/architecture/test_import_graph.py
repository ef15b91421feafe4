"""The shape of the code, as `docs/architecture.md` draws it: who may import whom.

The graph is grimp's (every import statement of every module: inside functions and under
`TYPE_CHECKING` too), so a cycle hidden in a deferred import counts as a cycle.
"""

from __future__ import annotations

import functools
import importlib
import sys

import grimp
import pytest

from modelplane.commands import COMMANDS
from tests.stacks import REPOSITORY

PACKAGES = ("modelplane", "modelplane_components", "policies", "tools")
# What the components may import besides the standard library and each other: Pulumi's packages only.
COMPONENT_DEPENDENCIES = {"pulumi", "pulumi_aws", "pulumi_kubernetes"}


@functools.cache
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, include_external_packages=True, cache_dir=None)


def modules_of(package: str) -> list[str]:
    return sorted(module for module in graph().modules if module == package or module.startswith(f"{package}."))


def test_no_module_is_part_of_an_import_cycle() -> None:
    cycles = []
    for package in PACKAGES:
        for importer in modules_of(package):
            for imported in sorted(graph().find_modules_directly_imported_by(importer)):
                if imported != importer and graph().chain_exists(importer=imported, imported=importer):
                    back = graph().find_shortest_chain(importer=imported, imported=importer) or ()
                    cycles.append(" -> ".join([importer, *back]))
    assert cycles == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_command_imports_no_other_command(command: str) -> None:
    module = COMMANDS[command]
    others = {COMMANDS[name] for name in COMMANDS if name != command}
    assert not graph().find_modules_directly_imported_by(module) & others
    assert not {other for other in others if graph().chain_exists(importer=module, imported=other)}


def test_every_command_is_a_module_of_the_commands_package_with_a_register_function() -> None:
    for module in COMMANDS.values():
        assert module.startswith("modelplane.commands.")
        assert callable(importlib.import_module(module).register)


def test_the_components_import_pulumis_packages_and_each_other_only() -> None:
    imported = {
        dependency.split(".")[0]
        for module in modules_of("modelplane_components")
        for dependency in graph().find_modules_directly_imported_by(module)
        if not dependency.startswith("modelplane_components")
    }
    assert imported - COMPONENT_DEPENDENCIES <= sys.stdlib_module_names, imported - COMPONENT_DEPENDENCIES


def test_the_shipped_tool_imports_no_development_tool_or_test() -> None:
    assert not [
        (module, dependency)
        for module in modules_of("modelplane")
        for dependency in graph().find_modules_directly_imported_by(module)
        if dependency.split(".")[0] in {"tools", "tests"}
    ]


def test_errors_are_the_floor_of_the_tool() -> None:
    assert not {
        dependency
        for dependency in graph().find_modules_directly_imported_by("modelplane.errors")
        if dependency.startswith("modelplane")
    }


# --- the package diagram of docs/architecture.md ------------------------------------------------------------

ARCHITECTURE = REPOSITORY / "docs" / "architecture.md"
DISTRIBUTIONS = ("modelplane_components", "modelplane_serving")


def package_of(module: str) -> str | None:
    """The diagram's node for a module: a subpackage or top-level module of the tool, or a distribution."""
    parts = module.split(".")
    if parts[0] in DISTRIBUTIONS:
        return parts[0]
    if parts[0] == "modelplane" and len(parts) > 1 and parts[1] != "__main__":
        return parts[1]
    return None


@functools.cache
def package_imports() -> set[tuple[str, str]]:
    """(importer, imported) between the diagram's nodes, from every module's direct imports."""
    tool = grimp.build_graph("modelplane", *DISTRIBUTIONS, include_external_packages=False, cache_dir=None)
    edges = set()
    for module in tool.modules:
        for dependency in tool.find_modules_directly_imported_by(module):
            importer, imported = package_of(module), package_of(dependency)
            if importer and imported and importer != imported:
                edges.add((importer, imported))
    return edges


def drawn_arrows() -> set[tuple[str, str]]:
    """The arrows of the layout diagram (`a --> b & c`), by node id."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    diagram = text[text.index("Inside `modelplane/`, each package is one role") :]
    diagram = diagram[diagram.index("```mermaid") : diagram.index("```\n", diagram.index("```mermaid") + 3)]
    arrows = set()
    for line in diagram.splitlines():
        if "-->" in line:
            source, targets = (part.strip() for part in line.split("-->"))
            arrows |= {(source, target.strip()) for target in targets.split("&")}
    return arrows


def reachable(arrows: set[tuple[str, str]], start: str) -> set[str]:
    seen, frontier = set(), [start]
    while frontier:
        node = frontier.pop()
        for source, target in arrows:
            if source == node and target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


def test_every_arrow_of_the_layout_diagram_is_an_import() -> None:
    assert drawn_arrows() - package_imports() == set()


def test_every_import_between_packages_follows_the_diagrams_arrows() -> None:
    arrows = drawn_arrows()
    assert {(a, b) for a, b in package_imports() if b not in reachable(arrows, a)} == set()


def test_no_package_imports_one_that_imports_it() -> None:
    edges = package_imports()
    assert {(a, b) for a, b in edges if a in reachable(edges, b)} == set()
