"""Virtualenvs the tests build (the pack's own, the wheels' own), kept between runs under `.tools/test-venvs/`.

A venv costs more CPU to build than most test modules cost to run: its packages are unpacked, and then
compiled on first import by every process that imports them. So each lives at a stable path named by the
hash of everything that goes into it (the recipe, the interpreter, the requirements, the wheels'
content): a changed input names another venv, which is built afresh, and the older ones of that kind that
no process is using are removed. A venv is used only once its build finished (a marker written last); a
directory without it is what an interrupted build left, and is built again. A process holds a shared lock
on its venv while it uses it and builds under an exclusive lock of the kind, so pytest-xdist workers and
concurrent runs of the same checkout wait for each other instead of racing.

Why `.tools/` and not pytest's temporary base: the base is renumbered every session (and a venv is not
relocatable), so a venv there would be rebuilt on every run, while no session has two users of one venv.
`.tools/` belongs to the checkout, is ignored by git, and already holds the Makefile's tool venvs, kept on
the same rule (rebuilt when their requirements change).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tests.stacks import REPOSITORY

VENVS_DIR = REPOSITORY / ".tools" / "test-venvs"
COMPLETE = ".complete"


def interpreter() -> list[str]:
    """What identifies the interpreter a venv is made from: its version and where it really lives."""
    return [sys.version, os.path.realpath(sys.executable)]


def digest(parts: Iterable[str | bytes]) -> str:
    """A short hash of `parts`, each length-prefixed so that no two lists of parts collide."""
    hashed = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        hashed.update(f"{len(data)}:".encode())
        hashed.update(data)
    return hashed.hexdigest()[:24]


@contextmanager
def _locked(path: Path, operation: int) -> Iterator[IO[str]]:
    """`path` locked with `operation` (flock), reopened if a pruner unlinked it while we waited."""
    while True:
        with path.open("a") as handle:
            fcntl.flock(handle, operation)
            try:
                current = path.stat().st_ino
            except FileNotFoundError:
                continue
            if current == os.fstat(handle.fileno()).st_ino:
                yield handle
                return


def _prune(root: Path, kind: str, keep: Path) -> None:
    """Remove the venvs of `kind` other than `keep`, and their locks, that no process holds (called under
    the kind's lock)."""
    pattern = re.compile(rf"{re.escape(kind)}-[0-9a-f]{{24}}")
    names = {path.name.removesuffix(".lock") for path in root.iterdir()}
    for name in sorted(names - {keep.name}):
        if not pattern.fullmatch(name):
            continue
        lock = root / f"{name}.lock"
        with lock.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            shutil.rmtree(root / name, ignore_errors=True)
            lock.unlink()


@contextmanager
def cached_venv(
    kind: str, inputs: Iterable[str | bytes], build: Callable[[Path], None], *, root: Path = VENVS_DIR
) -> Iterator[Path]:
    """The venv of `kind` made from `inputs` by `build(directory)` (built now unless a complete one exists),
    held for the duration of the `with`."""
    root.mkdir(parents=True, exist_ok=True)
    directory = root / f"{kind}-{digest([*interpreter(), *inputs])}"
    in_use = directory.with_name(directory.name + ".lock")
    while True:
        with _locked(in_use, fcntl.LOCK_SH):
            if (directory / COMPLETE).exists():
                yield directory
                return
        with _locked(root / f"{kind}.lock", fcntl.LOCK_EX), _locked(in_use, fcntl.LOCK_EX):
            if not (directory / COMPLETE).exists():
                shutil.rmtree(directory, ignore_errors=True)
                _prune(root, kind, directory)
                build(directory)
                (directory / COMPLETE).write_text("\n".join(interpreter()) + "\n", encoding="utf-8")
