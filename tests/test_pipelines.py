"""The CI/CD templates shipped to users: schema-valid, audited, and wired as the docs say."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from modelplane.stackfiles import PROJECT_ROOT

WORKFLOWS_DIR = PROJECT_ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml"))
GITLAB_CI = PROJECT_ROOT / ".gitlab-ci.yml"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
DEPLOY_STACKS = ["dev", "staging", "prod"]


def pulumi_action_versions(path: Path) -> list[str | None]:
    """The `pulumi-version` of every `pulumi/actions` step (None where a step lets the action pick the latest)."""
    return [
        step.get("with", {}).get("pulumi-version")
        for job in load(path)["jobs"].values()
        for step in steps_of(job)
        if step.get("uses", "").startswith("pulumi/actions@")
    ]


def install_script_versions(path: Path) -> list[str | None]:
    """The `--version` of every run of the Pulumi install script (None where it installs the latest)."""
    text = path.read_text(encoding="utf-8")
    return [match[1] for match in re.finditer(r"get\.pulumi\.com \| sh(?: -s -- --version (\S+))?", text)]


# Every pipeline template and how it installs the Pulumi CLI: each must pin the one version.
CLI_VERSION_PINS: dict[str, Callable[[Path], list[str | None]]] = {
    ".github/workflows/*.yml": pulumi_action_versions,
    ".gitlab-ci.yml": install_script_versions,
}


def locked_pulumi_sdk() -> str:
    lock = tomllib.loads((PROJECT_ROOT / "uv.lock").read_text(encoding="utf-8"))
    return next(package["version"] for package in lock["package"] if package["name"] == "pulumi")


def load(path: Path) -> dict[str, Any]:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def workflow(name: str) -> dict[str, Any]:
    return load(WORKFLOWS_DIR / name)


def steps_of(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_workflows_exist() -> None:
    assert {path.name for path in WORKFLOWS} == {"pull-request.yml", "deploy.yml", "deploy-stack.yml", "drift.yml"}


def test_workflows_validate_against_the_github_schema() -> None:
    result = check_jsonschema("vendor.github-workflows", *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gitlab_pipeline_validates_against_the_gitlab_schema() -> None:
    result = check_jsonschema("vendor.gitlab-ci", GITLAB_CI)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_of_medium_or_higher_severity() -> None:
    zizmor = Path(sys.executable).with_name("zizmor")
    result = subprocess.run(
        [str(zizmor), "--offline", "--format", "json", "--min-severity", "medium", str(WORKFLOWS_DIR)],
        capture_output=True,
        text=True,
        check=False,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], [finding.get("ident") for finding in findings]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_action_is_pinned_by_commit_sha(path: Path) -> None:
    for job_name, job in load(path)["jobs"].items():
        for step in steps_of(job):
            if "uses" in step:
                assert PINNED.match(step["uses"]), f"{path.name}:{job_name} uses {step['uses']}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_permissions_default_to_none_and_each_job_states_its_own(path: Path) -> None:
    document = load(path)
    assert document["permissions"] == {}
    for job_name, job in document["jobs"].items():
        assert "permissions" in job, f"{path.name}:{job_name} has no permissions block"
        assert "write-all" not in str(job["permissions"])


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_checkout_never_persists_credentials(path: Path) -> None:
    for job in load(path)["jobs"].values():
        for step in steps_of(job):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_pull_request_runs_tests_plan_and_a_policy_checked_preview_per_environment() -> None:
    jobs = workflow("pull-request.yml")["jobs"]
    assert [step.get("run") for step in steps_of(jobs["test"])][-1] == "make test"
    plan_steps = steps_of(jobs["plan"])
    plan_run = next(step["run"] for step in plan_steps if step.get("id") == "plan")
    assert "modelplane plan --all" in plan_run and "--sarif" in plan_run and "--markdown" in plan_run
    assert any(step.get("uses", "").startswith("github/codeql-action/upload-sarif@") for step in plan_steps)
    assert jobs["plan"]["permissions"] == {"contents": "read", "security-events": "write", "pull-requests": "write"}
    preview = jobs["preview"]
    assert preview["strategy"]["matrix"]["stack"] == DEPLOY_STACKS
    pulumi_step = next(step for step in steps_of(preview) if step.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi_step["with"]["command"] == "preview"
    assert pulumi_step["with"]["policyPacks"] == "policies"
    assert pulumi_step["with"]["policyPackConfigs"] == "policies/config/${{ matrix.stack }}.json"


def test_merge_deploys_dev_then_staging_then_prod_through_the_reusable_workflow() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    assert [jobs[stack]["with"]["stack"] for stack in DEPLOY_STACKS] == DEPLOY_STACKS
    assert "needs" not in jobs["dev"]
    assert jobs["staging"]["needs"] == "dev"
    assert jobs["prod"]["needs"] == "staging"
    assert all(job["uses"] == "./.github/workflows/deploy-stack.yml" for job in jobs.values())


def test_each_deploy_uses_oidc_one_lock_per_stack_its_environment_and_verifies() -> None:
    job = workflow("deploy-stack.yml")["jobs"]["up"]
    assert job["environment"] == "${{ inputs.stack }}"
    assert job["concurrency"] == {"group": "pulumi-${{ inputs.stack }}", "cancel-in-progress": False}
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    uses = [step.get("uses", "").split("@")[0] for step in steps_of(job)]
    credentials = next(
        step for step in steps_of(job) if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    )
    assert "role-to-assume" in credentials["with"]
    assert not any("aws-access-key-id" in step.get("with", {}) for step in steps_of(job))
    up = uses.index("pulumi/actions")
    assert steps_of(job)[up]["with"]["command"] == "up"
    assert "modelplane verify" in steps_of(job)[up + 1]["run"]


def test_drift_detection_previews_with_refresh_and_opens_an_issue() -> None:
    document = workflow("drift.yml")
    assert "schedule" in document["on"]
    detect = document["jobs"]["detect"]
    pulumi_step = next(step for step in steps_of(detect) if step.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi_step["with"]["refresh"] is True
    assert pulumi_step["with"]["expect-no-changes"] is True
    report = document["jobs"]["report"]
    assert report["if"] == "failure()"
    assert report["permissions"] == {"issues": "write"}
    assert "issues.create" in steps_of(report)[0]["with"]["script"]


def _gitlab_jobs() -> dict[str, dict[str, Any]]:
    document = load(GITLAB_CI)
    templates = {name: job for name, job in document.items() if name.startswith(".")}
    jobs = {}
    for name, job in document.items():
        if name.startswith(".") or not isinstance(job, dict) or ("stage" not in job and "extends" not in job):
            continue
        merged: dict[str, Any] = {}
        for parent in _extends_chain(job, templates):
            merged.update(parent)
        jobs[name] = {**merged, **{key: value for key, value in job.items() if key != "extends"}}
    return jobs


def _extends_chain(job: dict[str, Any], templates: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    parent_name = job.get("extends")
    if parent_name is None:
        return []
    parent = templates[parent_name]
    return [*_extends_chain(parent, templates), parent]


def test_gitlab_stage_graph_matches_the_github_pipeline() -> None:
    document = load(GITLAB_CI)
    assert document["stages"] == ["test", "plan", "preview", "deploy-dev", "deploy-staging", "deploy-prod", "drift"]
    jobs = _gitlab_jobs()
    assert jobs["plan"]["needs"] == ["test"]
    assert {name: jobs[name]["needs"] for name in ("deploy-dev", "deploy-staging", "deploy-prod")} == {
        "deploy-dev": [],
        "deploy-staging": ["deploy-dev"],
        "deploy-prod": ["deploy-staging"],
    }
    assert jobs["deploy-prod"]["rules"][0]["when"] == "manual"
    for stack in DEPLOY_STACKS:
        deploy = jobs[f"deploy-{stack}"]
        assert deploy["variables"] == {"STACK": stack}
        assert deploy["resource_group"] == "pulumi-$STACK"
        script = deploy["script"]
        assert script[0].startswith("pulumi up") and "--policy-pack-config" in script[0]
        assert any("modelplane verify" in line for line in script[1:])
        assert jobs[f"preview-{stack}"]["variables"] == {"STACK": stack}
        assert "--expect-no-changes" in jobs[f"drift-{stack}"]["script"][0]


@pytest.mark.parametrize("pattern", CLI_VERSION_PINS)
def test_every_pipeline_pins_the_pulumi_cli_to_the_locked_sdk_version(pattern: str) -> None:
    """One Pulumi CLI everywhere: the version of the `pulumi` SDK in uv.lock (3.272.0)."""
    paths = sorted(PROJECT_ROOT.glob(pattern))
    versions = {path.relative_to(PROJECT_ROOT).as_posix(): CLI_VERSION_PINS[pattern](path) for path in paths}

    assert any(versions.values()), f"no Pulumi CLI installed by {pattern}"
    for path, found in versions.items():
        assert all(version == locked_pulumi_sdk() for version in found), f"{path}: {found}"


def test_the_project_and_readme_state_the_same_minimum_cli() -> None:
    project = load(PROJECT_ROOT / "Pulumi.yaml")
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")

    assert project["requiredPulumiVersion"] == f">={locked_pulumi_sdk()}"
    assert f"Pulumi CLI {locked_pulumi_sdk()} or newer" in readme
