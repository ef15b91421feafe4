"""`modelplane plan --against <git-ref>`: which URNs a change creates, deletes, renames and replaces.

The stack is simulated a second time at the ref, by the ref's own code in a temporary `git worktree`
(with this environment's packages; the ref's `components/` under their import name). When the ref's code is
the working tree's (a change of stacks or settings only), that simulation forks from the fork server
as this checkout's does, instead of importing the SDKs again. The two recorded graphs are matched the way the engine
matches a program's registrations to the old state (`modelplane.offline.aliases`: by URN first, then by the
URNs its aliases collapse to, a parent's alias passing on to its children).
Whether an update replaces a resource is the provider's decision: `data/aws-calls.yaml` holds
terraform-provider-aws's ForceNew inputs; for Kubernetes objects, the name and namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelplane.config import project
from modelplane.config.loader import read_stack_file
from modelplane.errors import BadInput
from modelplane.offline.aliases import match
from modelplane.offline.api_constraints import calls
from modelplane.offline.engine_config import stand_in_secret_values
from modelplane.offline.findings import ALIAS_CONFLICT, PROTECTED_DELETE, Finding
from modelplane.offline.graph import RecordedResource, Simulation, reveal, with_engine_urns
from modelplane.offline.simulation import start_simulation
from modelplane.offline.urns import Urn

# The inputs whose change makes pulumi-kubernetes replace an object rather than patch it.
KUBERNETES_REPLACE_ON = ("metadata.name", "metadata.namespace")
LOCK_FILE = "uv.lock"
# The components' source folder and the name the program imports them by (their distribution maps one to
# the other; a worktree has no installed copy, so the simulation gets a link of that name).
COMPONENTS_FOLDER = "components"
COMPONENTS_PACKAGE = "modelplane_components"
# The project's folders of code the simulation imports rather than runs.
CODE_FOLDERS = ("modelplane", COMPONENTS_FOLDER)


class AgainstError(BadInput):
    """The ref cannot be checked out or simulated; `plan` exits 2 with this message."""


@dataclass(frozen=True)
class Change:
    """What happens to one resource."""

    kind: str
    """"create", "delete", "rename", "replace" or "update"."""
    urn: str
    """The resource's URN after the change (before it, for a delete)."""
    type: str
    old_urn: str = ""
    """The URN in the base revision, when it differs (a rename)."""
    fields: tuple[str, ...] = ()
    """Changed input paths (update, replace)."""
    expected: bool = True
    """A replace: True for an auto-named resource (a new physical name, created before the old is deleted);
    False for an explicitly named one."""
    detail: str = ""
    protected: bool = False
    """Protected in the base revision."""
    retained: bool = False
    """`retain_on_delete` in the base revision: a delete (or a replacement's delete of the old resource)
    leaves the cloud object in place."""


@dataclass(frozen=True)
class ChangeSet:
    ref: str
    commit: str
    lock_differs: bool
    """The ref's uv.lock differs from this checkout's: it was simulated with this environment anyway."""
    changes: tuple[Change, ...] = field(default_factory=tuple)
    stack_file_missing: bool = False
    """The stack file does not exist at the ref: everything is created."""
    conflicts: tuple[tuple[str, str], ...] = ()
    """(URN, why) of resources claiming a base URN another one claims too: the engine fails the update."""

    def of(self, kind: str) -> tuple[Change, ...]:
        return tuple(change for change in self.changes if change.kind == kind)


# --- the base revision ------------------------------------------------------------------------------


def simulate_ref(
    ref: str,
    stack_file: Path,
    stack: str,
    secret_values: Mapping[str, str] | None = None,
    *,
    stand_in_secrets: bool = False,
) -> tuple[Simulation | None, str, bool]:
    """The stack simulated at `ref` (None when the ref has no such stack file), the commit and whether
    the ref's uv.lock differs from this checkout's. `stand_in_secrets`: each secret the ref's stack file
    declares has a value (`plan --stand-in-secrets`)."""
    commit = _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", failure=f"unknown git revision {ref!r}")
    lock_differs = _show(commit, LOCK_FILE) != _read_bytes(project.current().root / LOCK_FILE)
    code_from = project.current().root if _code_unchanged_since(commit) else None
    with _worktree(commit) as (root, import_paths):
        base_file = stack_file if stack_file.is_absolute() else root / stack_file
        if not base_file.exists():
            return None, commit, lock_differs
        try:
            if stand_in_secrets:
                secret_values = {**stand_in_secret_values(read_stack_file(base_file)), **(secret_values or {})}
            simulation = start_simulation(
                base_file, stack, secret_values, project_root=root, import_paths=import_paths, code_from=code_from
            ).result()
        except Exception as error:
            raise AgainstError(f"cannot simulate {stack_file} at {ref} ({commit[:12]}): {error}") from None
    return with_engine_urns(simulation), commit, lock_differs


@contextmanager
def _worktree(commit: str) -> Iterator[tuple[Path, list[Path]]]:
    """A detached worktree of `commit`, removed afterwards whatever happens: the project's folder in it
    (the project may sit below the repository's top), and the folders to import the ref's code from."""
    parent = Path(tempfile.mkdtemp(prefix="modelplane-against-"))
    tree = parent / "tree"
    try:
        _git("worktree", "add", "--detach", "--quiet", str(tree), commit, failure=f"cannot check out {commit}")
        root = tree / _git("rev-parse", "--show-prefix", failure="cannot place the project in its repository")
        yield root, _component_links(root, parent / "imports")
    finally:
        _git_quietly("worktree", "remove", "--force", str(tree))
        shutil.rmtree(parent, ignore_errors=True)
        _git_quietly("worktree", "prune")


def _code_unchanged_since(commit: str) -> bool:
    """Whether the project's folders of code hold at `commit` what they hold in the working tree: no tracked
    file differs and no untracked one is added (ignored files, such as build output, are not code)."""
    differs = subprocess.run(
        ["git", "diff", "--quiet", commit, "--", *CODE_FOLDERS],
        cwd=project.current().root,
        capture_output=True,
        check=False,
        env=_git_env(),
    )
    if differs.returncode != 0:
        return False
    return not _git("ls-files", "--others", "--exclude-standard", "--", *CODE_FOLDERS, failure="cannot list files")


def _component_links(root: Path, links: Path) -> list[Path]:
    """A folder where the ref's `components/` is importable by its package name, when the ref has one and
    no link of that name (which revisions before the components' own distribution committed)."""
    source = root / COMPONENTS_FOLDER
    if not (source / "__init__.py").is_file() or (root / COMPONENTS_PACKAGE).exists():
        return []
    links.mkdir()
    (links / COMPONENTS_PACKAGE).symlink_to(source, target_is_directory=True)
    return [links]


def _git(*args: str, failure: str) -> str:
    try:
        completed = subprocess.run(
            ["git", *args], cwd=project.current().root, capture_output=True, text=True, check=False, env=_git_env()
        )
    except FileNotFoundError:
        raise AgainstError("--against needs git on PATH") from None
    if completed.returncode != 0:
        detail = completed.stderr.strip()
        raise AgainstError(f"{failure}{': ' + detail if detail else ''}")
    return completed.stdout.strip()


def _git_quietly(*args: str) -> None:
    """Clean-up: whatever it answers, the caller goes on."""
    subprocess.run(["git", *args], cwd=project.current().root, capture_output=True, check=False, env=_git_env())


def _git_env() -> dict[str, str]:
    """Git as the user runs it, minus variables that would point it at another repository."""
    return {key: value for key, value in os.environ.items() if key not in {"GIT_DIR", "GIT_WORK_TREE"}}


def _show(commit: str, path: str) -> bytes | None:
    completed = subprocess.run(
        ["git", "show", f"{commit}:./{path}"],
        cwd=project.current().root,
        capture_output=True,
        check=False,
        env=_git_env(),
    )
    return completed.stdout if completed.returncode == 0 else None


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


# --- matching the two graphs -------------------------------------------------------------------------


def diff(base: Simulation | None, head: Simulation, *, ref: str, commit: str, lock_differs: bool) -> ChangeSet:
    """The changes from `base` (the ref) to `head` (this checkout), by URN, as the engine matches them (`match`)."""
    if base is None:
        created = tuple(Change("create", r.urn, r.type) for r in head.resources)
        return ChangeSet(ref, commit, lock_differs, created, stack_file_missing=True)
    olds = {resource.urn: resource for resource in base.resources}
    news = {resource.urn: resource for resource in head.resources}
    matched = match(olds.keys(), head.resources)
    pairs = [(olds[old_urn], news[new_urn]) for new_urn, old_urn in matched.claimed.items()]
    changes = [Change("create", urn, news[urn].type) for urn in matched.created]
    changes += _updates(pairs, _kept_identities(pairs))
    changes += [
        Change("delete", urn, olds[urn].type, protected=olds[urn].protect, retained=olds[urn].retain_on_delete)
        for urn in matched.deleted
    ]
    return ChangeSet(ref, commit, lock_differs, tuple(changes), conflicts=tuple(matched.errors))


# --- updates and replacements ----------------------------------------------------------------------


def _kept_identities(matched: Sequence[tuple[RecordedResource, RecordedResource]]) -> dict[str, str]:
    """Output strings of renamed resources, new -> old. The engine carries an aliased resource's state over
    (its id, ARN, auto-name), but the mocks invent those from the logical name: so what references a renamed
    resource is compared with the values it really keeps."""
    kept: dict[str, str] = {}
    for old, new in matched:
        if old.urn == new.urn:
            continue
        for key, value in reveal(new.outputs).items():
            previous = reveal(old.outputs).get(key)
            # Short values (a flag, a count as text) would also match inside unrelated strings.
            if isinstance(value, str) and isinstance(previous, str) and value != previous and len(value) >= 8:
                kept[value] = previous
    return kept


def _substituted(value: Any, kept: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _substituted(item, kept) for key, item in value.items()}
    if isinstance(value, list):
        return [_substituted(item, kept) for item in value]
    if isinstance(value, str):
        for new in sorted(kept, key=len, reverse=True):
            value = value.replace(new, kept[new])
    return value


def _updates(matched: Sequence[tuple[RecordedResource, RecordedResource]], kept: Mapping[str, str]) -> list[Change]:
    """In registration order, so a replacement's new physical name reaches the resources that reference it."""
    renamed_physically: set[str] = set()
    changes: list[Change] = []
    for old, new in matched:
        fields = _changed_paths(reveal(old.inputs), _substituted(reveal(new.inputs), kept))
        fields += [
            f"{key} (new name of {Urn.parse(dependency).name})"
            for key, dependencies in new.property_dependencies.items()
            for dependency in dependencies
            if dependency in renamed_physically and not any(f == key or f.startswith(f"{key}.") for f in fields)
        ]
        old_urn = old.urn if old.urn != new.urn else ""
        if not fields:
            if old_urn:
                changes.append(Change("rename", new.urn, new.type, old_urn=old_urn))
            continue
        forcing = [path for path in fields if _forces_replacement(new.type, path)]
        if not forcing:
            changes.append(Change("update", new.urn, new.type, old_urn=old_urn, fields=tuple(fields)))
            continue
        auto_named, detail = _replacement(new, old, forcing)
        if auto_named or any(_is_name_field(new.type, path) for path in forcing):
            renamed_physically.add(new.urn)
        changes.append(
            Change(
                "replace",
                new.urn,
                new.type,
                fields=tuple(fields),
                expected=auto_named,
                detail=detail,
                protected=old.protect and new.protect,
                retained=old.retain_on_delete,
                old_urn=old_urn,
            )
        )
    return changes


def _changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            path
            for key in sorted(set(old) | set(new))
            for path in _changed_paths(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else key)
        ]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            path
            for index, pair in enumerate(zip(old, new, strict=True))
            for path in _changed_paths(*pair, f"{prefix}[{index}]")
        ]
    return [] if old == new else [prefix]


def _replace_rules(type_token: str) -> tuple[str, ...]:
    call = calls().get(type_token)
    if call is not None:
        return call.replace_on
    return KUBERNETES_REPLACE_ON if type_token.startswith("kubernetes:") else ()


def _forces_replacement(type_token: str, path: str) -> bool:
    plain = path.split(" (", 1)[0]
    for rule in _replace_rules(type_token):
        if rule == "*":
            return not plain.startswith("tags")
        if plain == rule or plain.startswith((f"{rule}.", f"{rule}[")):
            return True
    return False


def _name_input(type_token: str) -> str | None:
    if type_token.startswith("kubernetes:"):
        return "metadata.name"
    call = calls().get(type_token)
    return call.name_input if call is not None else None


def _is_name_field(type_token: str, path: str) -> bool:
    return path.split(" (", 1)[0] == _name_input(type_token)


def _replacement(new: RecordedResource, old: RecordedResource, forcing: Sequence[str]) -> tuple[bool, str]:
    """Whether the replaced resource is auto-named (expected), and why it is replaced."""
    name_input = _name_input(new.type)
    names = (_lookup(old.inputs, name_input), _lookup(new.inputs, name_input)) if name_input else (None, None)
    inputs = ", ".join(forcing)
    if name_input and names == (None, None):
        return True, f"auto-named: a new physical name, created before the old one is deleted ({inputs})"
    if names[0] != names[1]:
        return False, f"the physical name changes from {names[0]!r} to {names[1]!r}"
    return False, f"named {names[1]!r}: replaced under the same name, deleted before it is created again ({inputs})"


def _lookup(inputs: Mapping[str, Any], path: str) -> Any:
    value: Any = reveal(inputs)
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def change_findings(changes: ChangeSet) -> list[Finding]:
    """What the engine refuses in the change: deleting or replacing a resource protected at the base revision,
    and a base URN claimed by two resources."""
    findings = [
        Finding(ALIAS_CONFLICT.id, urn, Urn.parse(urn).type, "aliases", f"the engine fails the update: {why}")
        for urn, why in changes.conflicts
    ]
    for change in changes.changes:
        if change.kind == "delete" and change.protected:
            findings.append(
                Finding(
                    PROTECTED_DELETE.id,
                    change.urn,
                    change.type,
                    "",
                    f'this change deletes it, and it is protected at {changes.ref}: "unable to delete resource '
                    f'{json.dumps(change.urn)} as it is currently marked for protection"',
                )
            )
        elif change.kind == "replace" and change.protected:
            findings.append(
                Finding(
                    PROTECTED_DELETE.id,
                    change.urn,
                    change.type,
                    ", ".join(change.fields),
                    f'this change replaces it, and it is protected: "unable to replace resource '
                    f'{json.dumps(change.urn)} as it is currently marked for protection"',
                )
            )
    return findings
