"""`policies/requirements.txt`, generated from `uv.lock`: the policy pack's own dependencies, pinned exactly.

The Pulumi CLI installs a Python pack's requirements into the pack's own virtualenv (`runtime.options.
virtualenv` in PulumiPolicy.yaml), not from the project's environment; pinning them to the versions in
uv.lock, dependencies of dependencies included, makes every run judge with the SDKs the tests used.
Run `make generate` after changing uv.lock; a test fails while the file is stale.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable

from tools.generate import REPOSITORY

LOCK_FILE = REPOSITORY / "uv.lock"
REQUIREMENTS = REPOSITORY / "policies" / "requirements.txt"
# What the pack imports (policies/modelplane_guard); everything they need follows from uv.lock.
PACK_ROOTS = ("pulumi-policy",)


def closure(roots: Iterable[str] = PACK_ROOTS) -> dict[str, str]:
    """Every package the roots need, per uv.lock, with its locked version."""
    lock = tomllib.loads(LOCK_FILE.read_text(encoding="utf-8"))
    packages = {package["name"]: package for package in lock["package"]}
    needed: dict[str, str] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed[name] = packages[name]["version"]
        pending += [dependency["name"] for dependency in packages[name].get("dependencies", [])]
    return dict(sorted(needed.items()))


def render() -> str:
    pins = "".join(f"{name}=={version}\n" for name, version in closure().items())
    return (
        "# Generated from uv.lock by `make generate` (modelplane/pack_requirements.py); do not edit.\n"
        "# The Pulumi CLI installs these into policies/venv when it runs the pack.\n" + pins
    )


if __name__ == "__main__":
    REQUIREMENTS.write_text(render(), encoding="utf-8")
    print(f"wrote {REQUIREMENTS}")
