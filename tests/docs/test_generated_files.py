"""The README names every file `make generate` writes, as the generators themselves say."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

from tests.stacks import REPOSITORY

MAKEFILE = REPOSITORY / "Makefile"
README = REPOSITORY / "README.md"


def generator_modules() -> list[str]:
    """The modules the Makefile's `generate` recipe runs (`$(RUN) python -m <module>`)."""
    recipe = re.search(r"^generate:.*?\n((?:\t.*\n)+)", MAKEFILE.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert recipe is not None, "no generate target in the Makefile"
    return re.findall(r"python -m ([\w.]+)", recipe.group(1))


def written_files(module_name: str) -> list[Path]:
    """The files a generator writes: the module-level paths it calls `write_text` on."""
    module = importlib.import_module(module_name)
    source = Path(module.__file__ or "").read_text(encoding="utf-8")
    targets = {
        node.func.value.id
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "write_text"
        and isinstance(node.func.value, ast.Name)
    }
    return [getattr(module, name) for name in sorted(targets)]


def test_make_generate_runs_the_generators_of_every_generated_page() -> None:
    modules = generator_modules()
    assert "tools.generate.settings_docs" in modules
    assert all(written_files(module) for module in modules), "a generator writes no file this test can see"


def test_readme_names_every_file_make_generate_writes() -> None:
    readme = README.read_text(encoding="utf-8")
    written = [
        path.relative_to(REPOSITORY).as_posix() for module in generator_modules() for path in written_files(module)
    ]
    assert len(written) == len(generator_modules())
    assert [path for path in written if f"`{path}`" not in readme] == []
