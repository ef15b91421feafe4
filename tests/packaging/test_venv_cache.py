"""The venvs kept between runs (`tests/venvs.py`) are trusted only when complete and built from the same inputs."""

from __future__ import annotations

from pathlib import Path

from tests.venvs import COMPLETE, cached_venv


class Builds:
    """A stand-in for a venv build: a directory holding what it was built from, counted."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, directory: Path) -> None:
        self.count += 1
        directory.mkdir()
        (directory / "built").write_text(str(self.count), encoding="utf-8")


def test_a_venv_is_reused_only_while_its_inputs_are_unchanged(tmp_path: Path) -> None:
    build = Builds()
    with cached_venv("demo", ["requirements v1"], build, root=tmp_path) as first:
        pass
    with cached_venv("demo", ["requirements v1"], build, root=tmp_path) as again:
        assert (again, build.count) == (first, 1)
    with cached_venv("demo", ["requirements v2"], build, root=tmp_path) as changed:
        assert changed != first and build.count == 2
        assert not first.exists(), "the venv of the older inputs is removed"
    with cached_venv("other", ["requirements v2"], build, root=tmp_path) as other:
        assert other != changed and changed.exists(), "another kind is another venv"


def test_an_incomplete_venv_is_built_again(tmp_path: Path) -> None:
    build = Builds()
    with cached_venv("demo", ["requirements"], build, root=tmp_path) as venv:
        pass
    (venv / COMPLETE).unlink()
    (venv / "left-by-an-interrupted-build").touch()
    with cached_venv("demo", ["requirements"], build, root=tmp_path) as rebuilt:
        assert rebuilt == venv and build.count == 2
        assert sorted(path.name for path in venv.iterdir()) == [COMPLETE, "built"]


def test_a_venv_in_use_is_not_removed_for_other_inputs(tmp_path: Path) -> None:
    build = Builds()
    with cached_venv("demo", ["v1"], build, root=tmp_path) as used:
        with cached_venv("demo", ["v2"], build, root=tmp_path):
            assert (used / COMPLETE).exists()
        with cached_venv("demo", ["v3"], build, root=tmp_path):
            assert (used / COMPLETE).exists()
    with cached_venv("demo", ["v4"], build, root=tmp_path) as latest:
        assert [path.name for path in tmp_path.iterdir() if path.is_dir()] == [latest.name], "unused ones go"
