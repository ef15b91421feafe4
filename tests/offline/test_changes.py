"""`modelplane plan --against <git-ref>`: created, deleted, renamed, replaced, by URN.

The matching is checked on recorded graphs against the engine's rules (URN, then aliases, a parent's
alias passing to its children); the command itself runs in a temporary git repository holding a copy
of this checkout, where a test commits the base (and a branch with a renamed component) and edits the working
tree, never this repository. One test runs `python -m modelplane` as a user does; the others call `cli.main` in
this process, whose fork server the simulations of the working tree's code fork from.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from modelplane.cli import main
from modelplane.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from modelplane.offline import changes as against
from modelplane.offline.changes import ChangeSet, change_findings, diff
from modelplane.offline.findings import ALIAS_CONFLICT, PROTECTED_DELETE
from modelplane.offline.graph import RecordedResource, Simulation, with_engine_urns
from modelplane.offline.urns import engine_urn
from tests.graphs import recorded
from tests.sarif import sarif_validator
from tests.stacks import REPOSITORY, SimulateStack

pytestmark = pytest.mark.long

STACK_URN = "urn:pulumi:prod::modelplane::pulumi:pulumi:Stack::modelplane-prod"
KEY_COMPONENT = "modelplane:index:EncryptionKey"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
# Renames the stack's key component in the program, as a refactor would: its URN and its children's change.
# The branch of that name holds it; the working tree, this checkout's program, renames it back to `key`.
RENAME = (re.compile(r'EncryptionKey\(\s*"key"'), 'EncryptionKey("stack-key"')
RENAMED_REF = "renamed-key"
# The alias that keeps the renamed component's URN (a stack transformation, so the program's call stays as it is).
KEEP_URN = """
import pulumi


def _keep_key_urn(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
    if args.type_ == "modelplane:index:EncryptionKey" and args.name == "key":
        aliases = pulumi.ResourceOptions(aliases=[pulumi.Alias(name="stack-key")])
        return pulumi.ResourceTransformationResult(args.props, pulumi.ResourceOptions.merge(args.opts, aliases))
    return None


pulumi.runtime.register_stack_transformation(_keep_key_urn)
"""


def changes(base: Simulation, head: Simulation) -> ChangeSet:
    return diff(base, head, ref="base", commit="0" * 40, lock_differs=False)


def kinds(change_set: ChangeSet) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for change in change_set.changes:
        found.setdefault(change.kind, []).append(change.urn.rsplit("::", 1)[-1])
    return found


def registered(
    simulation: Simulation, type_token: str, name: str, parent: str = STACK_URN, **fields: Any
) -> RecordedResource:
    urn = engine_urn(simulation.stack, simulation.project, parent, type_token, name)
    return recorded(
        type_token, name, {}, urn=urn, parent=parent, custom=not type_token.startswith("modelplane:"), **fields
    )


@pytest.fixture(scope="module")
def prod(simulate_stack: SimulateStack) -> Simulation:
    return simulate_stack("prod")


# --- matching recorded graphs --------------------------------------------------------------------


def test_the_same_graph_lists_nothing(prod: Simulation) -> None:
    assert changes(prod, prod).changes == ()


def test_a_component_renamed_without_alias_is_deleted_and_created_with_its_children() -> None:
    base = Simulation("modelplane", "prod", "prod", "")
    key = registered(base, KEY_COMPONENT, "key")
    child = registered(base, "aws:kms/key:Key", "key-key", key.urn, protect=True, retain_on_delete=True)
    head_key = registered(base, KEY_COMPONENT, "stack-key")
    head_child = registered(base, "aws:kms/key:Key", "stack-key-key", head_key.urn, protect=True)

    found = changes(replace(base, resources=[key, child]), replace(base, resources=[head_key, head_child]))

    assert kinds(found) == {"create": ["stack-key", "stack-key-key"], "delete": ["key", "key-key"]}
    (deleted_key,) = (c for c in found.of("delete") if c.type == "aws:kms/key:Key")
    assert deleted_key.protected and deleted_key.retained
    (finding,) = change_findings(found)
    assert (finding.check, finding.urn) == (PROTECTED_DELETE.id, child.urn)
    assert "as it is currently marked for protection" in finding.message


def test_an_alias_keeps_the_urn_and_its_children_inherit_it() -> None:
    base = Simulation("modelplane", "prod", "prod", "")
    key = registered(base, KEY_COMPONENT, "key")
    child = registered(base, "aws:kms/key:Key", "key-key", key.urn, protect=True)
    head_key = registered(base, KEY_COMPONENT, "stack-key", aliases=[{"spec": {"name": "key", "parentUrn": ""}}])
    head_child = registered(base, "aws:kms/key:Key", "stack-key-key", head_key.urn, protect=True)

    found = changes(replace(base, resources=[key, child]), replace(base, resources=[head_key, head_child]))

    assert found.of("delete") == () and found.of("create") == ()
    assert [(c.old_urn, c.urn) for c in found.of("rename")] == [(key.urn, head_key.urn), (child.urn, head_child.urn)]
    assert change_findings(found) == []


def test_an_alias_by_urn_and_a_type_change(prod: Simulation) -> None:
    base = Simulation("modelplane", "prod", "prod", "")
    old = registered(base, "modelplane:old:Thing", "thing")
    new = registered(base, "modelplane:new:Thing", "thing", aliases=[{"urn": old.urn}])

    assert kinds(changes(replace(base, resources=[old]), replace(base, resources=[new]))) == {"rename": ["thing"]}


def test_two_resources_taking_over_one_old_resource_fail_the_plan() -> None:
    """The engine refuses an update in which two registrations claim one old URN."""
    base = Simulation("modelplane", "prod", "prod", "")
    old = registered(base, "aws:s3/bucket:Bucket", "data")
    kept = registered(base, "aws:s3/bucket:Bucket", "data")
    copy = registered(base, "aws:s3/bucket:Bucket", "data-copy", aliases=[{"urn": old.urn}])

    found = changes(replace(base, resources=[old]), replace(base, resources=[kept, copy]))

    (finding,) = change_findings(found)
    assert (finding.check, finding.urn, finding.field) == (ALIAS_CONFLICT.id, copy.urn, "aliases")
    assert f"it aliases {old.urn}, which the program also registers" in finding.message


def test_a_new_model_version_replaces_the_auto_named_model_and_configuration_and_updates_the_endpoint(
    prod: Simulation,
) -> None:
    model = next(r for r in prod.resources if r.type == "aws:sagemaker/model:Model")
    container = {**model.inputs["primaryContainer"], "image": model.inputs["primaryContainer"].get("image", "") + "x"}
    head = replace(
        prod,
        resources=[
            replace(r, inputs={**r.inputs, "primaryContainer": container}) if r is model else r for r in prod.resources
        ],
    )

    found = changes(prod, head)

    by_type = {change.type: change for change in found.changes}
    assert set(by_type) == {
        "aws:sagemaker/model:Model",
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "aws:sagemaker/endpoint:Endpoint",
    }
    replaced_model = by_type["aws:sagemaker/model:Model"]
    assert (replaced_model.kind, replaced_model.expected) == ("replace", True)
    assert replaced_model.fields == ("primaryContainer.image",)
    config = by_type["aws:sagemaker/endpointConfiguration:EndpointConfiguration"]
    assert (config.kind, config.expected) == ("replace", True)
    assert config.fields[0].startswith("productionVariants (new name of ")
    endpoint = by_type["aws:sagemaker/endpoint:Endpoint"]
    assert endpoint.kind == "update" and endpoint.fields[0].startswith("endpointConfigName (new name of ")
    assert change_findings(found) == []


def test_renaming_an_explicitly_named_resource_is_an_unexpected_replacement_and_refused_when_protected(
    prod: Simulation,
) -> None:
    endpoint = next(r for r in prod.resources if r.type == "aws:sagemaker/endpoint:Endpoint")
    assert endpoint.protect, "precondition: prod endpoints are protected"
    renamed = replace(endpoint, inputs={**endpoint.inputs, "name": "fraud-production"})

    found = changes(prod, replace(prod, resources=[renamed if r is endpoint else r for r in prod.resources]))

    (change,) = found.of("replace")
    assert (change.urn, change.expected, change.protected) == (endpoint.urn, False, True)
    assert change.detail == "the physical name changes from 'fraud-prod' to 'fraud-production'"
    (finding,) = change_findings(found)
    assert f'unable to replace resource "{endpoint.urn}"' in finding.message


def test_a_new_model_family_description_replaces_the_protected_model_package_group_and_is_refused(
    prod: Simulation,
) -> None:
    """terraform-provider-aws's model_package_group_description is ForceNew: the engine would replace the group."""
    group = next(r for r in prod.resources if r.type == "aws:sagemaker/modelPackageGroup:ModelPackageGroup")
    assert group.protect, "precondition: prod model package groups are protected"
    described = replace(group, inputs={**group.inputs, "modelPackageGroupDescription": "Scores card payments."})

    found = changes(prod, replace(prod, resources=[described if r is group else r for r in prod.resources]))

    (change,) = found.changes
    assert (change.kind, change.fields, change.expected, change.protected) == (
        "replace",
        ("modelPackageGroupDescription",),
        False,
        True,
    )
    assert change.detail.startswith(f"named {group.inputs['modelPackageGroupName']!r}: replaced under the same name")
    (finding,) = change_findings(found)
    assert (finding.check, finding.urn) == (PROTECTED_DELETE.id, group.urn)


def test_tags_update_in_place_even_on_resources_that_replace_on_everything_else(prod: Simulation) -> None:
    model = next(r for r in prod.resources if r.type == "aws:sagemaker/model:Model")
    tagged = replace(model, inputs={**model.inputs, "tags": {**model.inputs["tags"], "team": "fraud"}})

    (change,) = changes(prod, replace(prod, resources=[tagged if r is model else r for r in prod.resources])).changes

    assert (change.kind, change.fields) == ("update", ("tags.team",))


def test_a_base_without_the_stack_file_creates_everything(prod: Simulation) -> None:
    found = diff(None, prod, ref="base", commit="0" * 40, lock_differs=True)

    assert found.stack_file_missing and len(found.of("create")) == len(prod.resources)


def test_mock_urns_of_an_older_recorder_are_rewritten_to_the_engines() -> None:
    """Older revisions recorded Pulumi's mock monitor URNs (the parent's own type only, and `Stack$` on top)."""
    base = Simulation("modelplane", "prod", "prod", "")
    mock_top = "urn:pulumi:prod::modelplane::pulumi:pulumi:Stack$modelplane:a:A::a"
    mock_middle = "urn:pulumi:prod::modelplane::modelplane:a:A$modelplane:b:B::b"
    mock_leaf = "urn:pulumi:prod::modelplane::modelplane:b:B$aws:s3/bucket:Bucket::c"
    resources = [
        registered(base, "modelplane:a:A", "a"),
        registered(base, "modelplane:b:B", "b"),
        registered(base, "aws:s3/bucket:Bucket", "c", dependencies=[mock_middle]),
    ]
    resources = [
        replace(resources[0], urn=mock_top),
        replace(resources[1], urn=mock_middle, parent=mock_top),
        replace(resources[2], urn=mock_leaf, parent=mock_middle),
    ]

    rewritten = with_engine_urns(replace(base, resources=resources)).resources

    assert [r.urn for r in rewritten] == [
        "urn:pulumi:prod::modelplane::modelplane:a:A::a",
        "urn:pulumi:prod::modelplane::modelplane:a:A$modelplane:b:B::b",
        "urn:pulumi:prod::modelplane::modelplane:a:A$modelplane:b:B$aws:s3/bucket:Bucket::c",
    ]
    assert rewritten[2].parent == rewritten[1].urn and rewritten[2].dependencies == [rewritten[1].urn]


def test_a_simulation_from_another_revision_loads_with_defaults_and_drops_unknown_fields(prod: Simulation) -> None:
    document = prod.to_json()
    del document["invokes"]
    document["future_field"] = 1
    for resource in document["resources"]:
        del resource["aliases"], resource["providers"]
        resource["future_field"] = 1

    loaded = Simulation.from_json(document)

    assert [r.urn for r in loaded.resources] == [r.urn for r in prod.resources]
    assert loaded.invokes == [] and all(r.aliases == [] for r in loaded.resources)


# --- the command, in a temporary repository ------------------------------------------------------


def git(repository: Path, *args: str) -> str:
    identity = [
        "-c",
        "user.name=modelplane tests",
        "-c",
        "user.email=tests@modelplane.invalid",
        "-c",
        "core.hooksPath=/dev/null",
    ]
    return subprocess.run(["git", *identity, *args], cwd=repository, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository whose one commit is this checkout's working tree."""
    root = tmp_path_factory.mktemp("against") / "project"
    listed = git(REPOSITORY, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0")
    for name in filter(None, listed):
        source = REPOSITORY / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    git(root, "init", "--quiet")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "base")
    return root


@dataclass(frozen=True)
class Planned:
    """What `modelplane plan` exited with and printed."""

    returncode: int
    stdout: str
    stderr: str


def plan_against(
    repository: Path, *args: str, git_dir: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`plan ... --json` in `repository`, run by a fresh `python -m modelplane` as a user runs it; `git_dir` is a
    GIT_DIR the caller's environment sets, as in a git hook."""
    out = repository / "out"
    env = {key: value for key, value in os.environ.items() if key not in {"GIT_DIR", "GIT_WORK_TREE", "PYTHONPATH"}}
    if git_dir is not None:
        env["GIT_DIR"] = str(git_dir)
    command = [sys.executable, "-m", "modelplane", "plan", *args, "--json", str(out / "plan.json")]
    completed = subprocess.run(command, cwd=repository, capture_output=True, text=True, env=env, check=False)
    return completed, plan_document(out)


def plan_in_process(
    repository: Path, *args: str, capsys: pytest.CaptureFixture[str], git_dir: Path | None = None
) -> tuple[Planned, dict[str, Any]]:
    """`plan ... --json` in `repository` as `plan_against` runs it, through `cli.main` (what the `modelplane` script
    calls) in this process: the simulations of the tree's code, the same files as the fork server's, fork from it.
    `test_against_head_on_an_unchanged_tree_lists_nothing` runs the command in a process of its own."""
    out = repository / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(repository)
        for name in ("GIT_DIR", "GIT_WORK_TREE", "PYTHONPATH"):
            patch.delenv(name, raising=False)
        if git_dir is not None:
            patch.setenv("GIT_DIR", str(git_dir))
        capsys.readouterr()
        code = main(["plan", *args, "--json", str(out / "plan.json")])
        printed = capsys.readouterr()
    return Planned(code, printed.out, printed.err), plan_document(out)


def plan_document(out: Path) -> dict[str, Any]:
    """The plan's JSON report, if it wrote one; the folder removed."""
    document = json.loads((out / "plan.json").read_text()) if (out / "plan.json").exists() else {}
    shutil.rmtree(out, ignore_errors=True)
    return document


def edit(path: Path, pattern: re.Pattern[str], replacement: str) -> None:
    text, count = pattern.subn(replacement, path.read_text(encoding="utf-8"))
    assert count == 1, f"{path}: expected one match of {pattern.pattern}; update the test to the program's shape"
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def renamed(repository: Path) -> Path:
    """The repository with a branch `RENAMED_REF` whose program names the key component otherwise: against it, the
    working tree (this checkout's program) renames the component. The ref's code is not the working tree's, so its
    simulation imports the ref's own code afresh; the working tree's forks."""
    program = repository / "modelplane" / "program" / "build.py"
    git(repository, "switch", "--quiet", "--create", RENAMED_REF)
    edit(program, *RENAME)
    git(repository, "commit", "--quiet", "--all", "-m", "the key component renamed")
    git(repository, "switch", "--quiet", "-")
    assert not git(repository, "status", "--porcelain"), "the working tree is back at the base commit"
    return repository


def test_against_head_on_an_unchanged_tree_lists_nothing(repository: Path) -> None:
    completed, document = plan_against(repository, "--stack", "dev", "--against", "HEAD")

    assert completed.returncode == EXIT_OK, completed.stderr
    assert all(document["changes"][kind] == [] for kind in ("create", "delete", "rename", "replace", "update"))
    assert document["changes"]["lock_differs"] is False
    assert "no resource is created, deleted, renamed, replaced or updated" in completed.stdout
    assert git(repository, "worktree", "list").count("\n") == 1, "the temporary worktree is removed"
    assert SECRET_VERSION not in {resource["type"] for resource in document["resources"]}, "no value in the file"


def test_the_code_is_unchanged_since_a_ref_until_a_file_of_it_differs_or_is_added(
    repository: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Then the ref's simulation forks from the fork server, which has imported this checkout's code."""
    monkeypatch.chdir(repository)
    stack = repository / "stacks" / "Pulumi.dev.yaml"
    program = repository / "modelplane" / "program" / "build.py"
    added = repository / "components" / "extra.py"
    built = repository / "components" / "build" / "lib" / "extra.py"
    originals = {stack: stack.read_text(encoding="utf-8"), program: program.read_text(encoding="utf-8")}
    try:
        stack.write_text(originals[stack] + "# a new model version\n", encoding="utf-8")
        built.parent.mkdir(parents=True)
        built.write_text("", encoding="utf-8")
        assert against._code_unchanged_since("HEAD"), "a stack and build output are not code"
        added.write_text("", encoding="utf-8")
        assert not against._code_unchanged_since("HEAD"), "an untracked module is code"
        added.unlink()
        program.write_text(originals[program] + "\n", encoding="utf-8")
        assert not against._code_unchanged_since("HEAD"), "an edited module is code"
    finally:
        for path, text in originals.items():
            path.write_text(text, encoding="utf-8")
        added.unlink(missing_ok=True)
        shutil.rmtree(repository / "components" / "build", ignore_errors=True)


def test_a_new_stack_against_a_ref_without_it_gets_the_first_deploy_order(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The change creates the registry and the endpoints at once: plan names it and gives the targeted `up`."""
    new_stack = repository / "stacks" / "Pulumi.qa.yaml"
    new_stack.write_text((repository / "stacks" / "Pulumi.dev.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    try:
        completed, document = plan_in_process(repository, "--stack", "qa", "--against", "HEAD", capsys=capsys)
    finally:
        new_stack.unlink()

    assert completed.returncode == EXIT_OK, completed.stderr
    assert document["changes"]["stack_file_missing"] is True
    first = document["first_deploy"]
    assert first["command"].startswith("pulumi up --stack qa --policy-pack policies")
    assert "urn:pulumi:qa::modelplane::modelplane:index:ModelRegistry::registry" in first["targets"]
    assert "First deploy: the registry first" in completed.stdout


def test_a_git_dir_of_another_repository_leaves_no_worktree_behind(
    repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The worktree is added to and removed from the project's repository, whatever GIT_DIR says."""
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "--quiet")

    completed, _ = plan_in_process(
        repository, "--stack", "dev", "--against", "HEAD", git_dir=other / ".git", capsys=capsys
    )

    assert completed.returncode == EXIT_OK, completed.stderr
    assert git(repository, "worktree", "list").count("\n") == 1, "the temporary worktree is removed"


def test_stand_in_secrets_set_every_declared_secret_at_both_revisions(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    completed, document = plan_in_process(
        repository, "--stack", "dev", "--against", "HEAD", "--stand-in-secrets", capsys=capsys
    )

    assert completed.returncode == EXIT_OK, completed.stderr
    assert all(document["changes"][kind] == [] for kind in ("create", "delete", "rename", "replace", "update"))
    versions = [resource for resource in document["resources"] if resource["type"] == SECRET_VERSION]
    assert [version["name"] for version in versions] == ["secrets-feature-store-token-version"]


def test_a_rename_without_alias_deletes_protected_resources_and_fails_in_prod(
    renamed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = renamed / "reports"
    completed, document = plan_in_process(
        renamed,
        "--stack",
        "prod",
        "--against",
        RENAMED_REF,
        "--markdown",
        str(out / "pr.md"),
        "--sarif",
        str(out / "plan.sarif"),
        capsys=capsys,
    )

    assert completed.returncode == EXIT_FAILED, completed.stderr
    changes_found = document["changes"]
    deleted = {entry["urn"].rsplit("::", 1)[-1]: entry for entry in changes_found["delete"]}
    created = {entry["urn"].rsplit("::", 1)[-1] for entry in changes_found["create"]}
    assert {"stack-key", "stack-key-key", "stack-key-alias"} <= set(deleted)
    assert {"key", "key-key", "key-alias"} <= created
    assert deleted["stack-key-key"]["protected"] is True
    protected = [f for f in document["findings"] if f["check"] == PROTECTED_DELETE.id]
    assert deleted["stack-key-key"]["urn"] in {f["urn"] for f in protected}
    assert "Deleted (" in completed.stdout and "PROTECTED" in completed.stdout
    assert f"#### Changes against {RENAMED_REF}" in (out / "pr.md").read_text()
    sarif = json.loads((out / "plan.sarif").read_text())
    sarif_validator().validate(sarif)
    assert sarif["runs"][0]["properties"]["changes"]["delete"] == changes_found["delete"]
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {PROTECTED_DELETE.id}


def test_with_an_alias_the_rename_deletes_nothing(renamed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    program = renamed / "__main__.py"
    lock = renamed / "uv.lock"
    originals = {program: program.read_text(encoding="utf-8"), lock: lock.read_text(encoding="utf-8")}
    program.write_text(KEEP_URN + originals[program], encoding="utf-8")
    lock.write_text(originals[lock] + "\n", encoding="utf-8")
    try:
        completed, document = plan_in_process(renamed, "--stack", "prod", "--against", RENAMED_REF, capsys=capsys)
    finally:
        for path, text in originals.items():
            path.write_text(text, encoding="utf-8")

    assert completed.returncode == EXIT_OK, completed.stdout + completed.stderr
    assert document["changes"]["delete"] == [] and document["changes"]["create"] == []
    renames = {
        entry["urn"].rsplit("::", 1)[-1]: entry["old_urn"].rsplit("::", 1)[-1]
        for entry in document["changes"]["rename"]
    }
    assert renames == {"key": "stack-key", "key-key": "stack-key-key", "key-alias": "stack-key-alias"}
    assert document["changes"]["lock_differs"] is True
    assert "uv.lock differs from this checkout's" in completed.stdout


def test_an_unknown_ref_exits_2(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    completed, _ = plan_in_process(repository, "--stack", "dev", "--against", "no-such-ref", capsys=capsys)

    assert completed.returncode == EXIT_USAGE
    assert "unknown git revision 'no-such-ref'" in completed.stderr and "Traceback" not in completed.stderr
