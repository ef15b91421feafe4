"""Print uv's pin from uv.lock as a pip requirement carrying the hash of every wheel PyPI serves for it.

`make sync` installs that uv into .tools/uv with `pip install --require-hashes` before any uv exists, so this
reads the lock with the standard library alone (tomllib: Python 3.11 and newer). The lock pins uv because it
is a dev dependency: the uv the Makefile runs and the `.venv/bin/uv` that Pulumi's `toolchain: uv` finds
after `. .venv/bin/activate` are one version.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

LOCK_FILE = Path(__file__).resolve().parent.parent / "uv.lock"


def requirement(lock_text: str) -> str:
    """`uv==<locked version>` with one `--hash` per locked wheel (pip picks the one for this platform)."""
    lock = tomllib.loads(lock_text)
    (uv,) = (package for package in lock["package"] if package["name"] == "uv")
    hashes = " ".join(f"--hash={wheel['hash']}" for wheel in uv["wheels"])
    return f"uv=={uv['version']} {hashes}"


if __name__ == "__main__":
    sys.stdout.write(requirement(LOCK_FILE.read_text(encoding="utf-8")) + "\n")
