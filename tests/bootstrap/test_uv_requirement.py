"""The uv pin `make sync` bootstraps from (tools/uv_requirement.py) is the lock's, as uv itself exports it."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.stacks import REPOSITORY


def requirement_line(text: str) -> tuple[str, set[str]]:
    """`uv==<version>` and its hashes, from requirements text (continuation lines joined)."""
    joined = text.replace("\\\n", " ")
    line = next(line for line in joined.splitlines() if line.startswith("uv=="))
    return line.split()[0], set(re.findall(r"--hash=(sha256:[0-9a-f]{64})", line))


def test_the_bootstrap_pin_is_the_locked_uv_with_every_wheel_hash() -> None:
    printed = subprocess.run(
        [sys.executable, str(REPOSITORY / "tools" / "uv_requirement.py")], capture_output=True, text=True, check=True
    ).stdout
    exported = subprocess.run(
        [str(Path(sys.executable).with_name("uv")), "export", "--locked", "--only-group", "dev", "--no-emit-project"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pin, hashes = requirement_line(printed)
    exported_pin, exported_hashes = requirement_line(exported)
    lock = tomllib.loads((REPOSITORY / "uv.lock").read_text(encoding="utf-8"))
    (uv,) = (package for package in lock["package"] if package["name"] == "uv")
    assert pin == exported_pin == f"uv=={uv['version']}"
    # uv exports the sdist's hash as well; the bootstrap installs wheels only (--only-binary :all:).
    assert hashes == exported_hashes - {uv["sdist"]["hash"]}
    assert len(hashes) == len(uv["wheels"])
