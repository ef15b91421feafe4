"""The CI/CD templates shipped to users: schema-valid, audited, and wired as the docs say."""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from ruamel.yaml import YAML

from tests.stacks import REPOSITORY

pytestmark = pytest.mark.long

WORKFLOWS_DIR = REPOSITORY / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml"))
GITLAB_CI = REPOSITORY / ".gitlab-ci.yml"
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


def jenkins_versions(path: Path) -> list[str | None]:
    """The Jenkinsfile's `PULUMI_VERSION`, which `.ci/pulumi-aws-session` installs (None if it installs another)."""
    pins: list[str | None] = list(re.findall(r"PULUMI_VERSION = '([^']+)'", path.read_text(encoding="utf-8")))
    installs_the_pin = '--version "$PULUMI_VERSION"' in AWS_SESSION.read_text(encoding="utf-8")
    return pins if installs_the_pin else [None]


# Every pipeline template and how it installs the Pulumi CLI: each must pin the one version.
CLI_VERSION_PINS: dict[str, Callable[[Path], list[str | None]]] = {
    ".github/workflows/*.yml": pulumi_action_versions,
    ".gitlab-ci.yml": install_script_versions,
    "Jenkinsfile": jenkins_versions,
}


@functools.cache
def locked_pulumi_sdk() -> str:
    """The `pulumi` SDK's version in uv.lock, read once: the lock is large, and the tests ask for it often."""
    lock = tomllib.loads((REPOSITORY / "uv.lock").read_text(encoding="utf-8"))
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
    assert {path.name for path in WORKFLOWS} == {
        "pull-request.yml",
        "deploy.yml",
        "deploy-stack.yml",
        "drift.yml",
        "ab-decision.yml",
        "package.yml",
    }


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


def test_merge_packages_then_deploys_dev_then_staging_then_prod_through_the_reusable_workflows() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    assert list(jobs) == ["package", *DEPLOY_STACKS]
    assert [jobs[stack]["with"]["stack"] for stack in DEPLOY_STACKS] == DEPLOY_STACKS
    assert jobs["dev"]["needs"] == "package"
    assert jobs["dev"]["if"] == "${{ !failure() && !cancelled() }}", "a skipped packaging stage does not block"
    assert jobs["staging"]["needs"] == "dev"
    assert jobs["prod"]["needs"] == "staging"
    assert all(jobs[stack]["uses"] == "./.github/workflows/deploy-stack.yml" for stack in DEPLOY_STACKS)
    package = jobs["package"]
    assert (package["uses"], package["with"], package["if"]) == (
        "./.github/workflows/package.yml",
        {"stack": "dev"},
        "vars.MODEL_FAMILY != ''",
    )


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
    assert steps_of(job)[up - 1]["run"] == 'modelplane capacity --stack "$STACK"', (
        "the quota check runs right before `pulumi up`, with the stack's credentials"
    )
    assert uses.index("aws-actions/configure-aws-credentials") < up - 1


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
    assert document["stages"] == [
        "test",
        "plan",
        "preview",
        "package",
        "deploy-dev",
        "deploy-staging",
        "deploy-prod",
        "drift",
        "ab-decision",
    ]
    jobs = _gitlab_jobs()
    assert jobs["plan"]["needs"] == ["test"]
    assert {name: jobs[name]["needs"] for name in ("deploy-dev", "deploy-staging", "deploy-prod")} == {
        "deploy-dev": [{"job": "package", "optional": True}],
        "deploy-staging": ["deploy-dev"],
        "deploy-prod": ["deploy-staging"],
    }
    assert jobs["deploy-prod"]["rules"][0]["when"] == "manual"
    for stack in DEPLOY_STACKS:
        deploy = jobs[f"deploy-{stack}"]
        assert deploy["variables"] == {"STACK": stack}
        assert deploy["resource_group"] == "pulumi-$STACK"
        script = deploy["script"]
        assert script[0] == 'modelplane capacity --stack "$STACK"'
        assert script[1].startswith("pulumi up") and "--policy-pack-config" in script[1]
        assert any("modelplane verify" in line for line in script[2:])
        assert jobs[f"preview-{stack}"]["variables"] == {"STACK": stack}
        assert "--expect-no-changes" in jobs[f"drift-{stack}"]["script"][0]


def test_the_ab_decision_chains_compare_promote_and_a_pull_request() -> None:
    document = workflow("ab-decision.yml")
    assert set(document["on"]) == {"workflow_dispatch"}
    compare, promote = document["jobs"]["compare"], document["jobs"]["promote"]
    assert compare["permissions"] == {"contents": "read", "id-token": "write"}
    installer = next(step for step in steps_of(compare) if step.get("uses", "").startswith("pulumi/actions@"))
    assert installer["with"] == {"pulumi-version": "3.272.0"}, "no command: the action only installs the CLI"
    run = next(step for step in steps_of(compare) if step.get("id") == "compare")["run"]
    assert "pulumi stack output --json" in run
    assert "modelplane compare" in run and "--json compare.json" in run and "--plot compare.png" in run
    assert compare["outputs"] == {"verdict": "${{ steps.compare.outputs.verdict }}"}
    assert promote["needs"] == "compare"
    assert promote["if"] == "needs.compare.outputs.verdict == 'promote'"
    runs = [step.get("run", "") for step in steps_of(promote)]
    assert any("modelplane promote" in run and "--require-verdict compare.json" in run for run in runs)
    assert "gh pr create" in runs[-1]
    assert promote["permissions"] == {"contents": "write", "pull-requests": "write", "id-token": "write"}


def test_gitlab_runs_the_ab_decision_on_demand_in_its_own_stage() -> None:
    jobs = _gitlab_jobs()
    compare, promote = jobs["ab-compare"], jobs["ab-promote"]
    assert compare["stage"] == promote["stage"] == "ab-decision"
    assert promote["needs"] == ["ab-compare"]
    assert all("AB_ENDPOINT" in rule["if"] and "push" not in rule["if"] for rule in compare["rules"])
    assert any("modelplane compare" in line and "--json compare.json" in line for line in compare["script"])
    assert any("--require-verdict compare.json" in line for line in promote["script"])
    assert "merge_request.create" in promote["script"][-1]
    for stack in DEPLOY_STACKS:
        assert "ab-decision" not in str(jobs[f"deploy-{stack}"]), "the deploy jobs are untouched"


# --- Jenkins -------------------------------------------------------------------------------------

JENKINSFILE = REPOSITORY / "Jenkinsfile"
GROOVY_LINT = REPOSITORY / "tools" / "groovy-lint" / "node_modules" / ".bin" / "npm-groovy-lint"
GROOVY_LINT_CONFIG = REPOSITORY / "tools" / "groovy-lint" / ".groovylintrc.json"
AWS_SESSION = REPOSITORY / ".ci" / "pulumi-aws-session"
UV = Path(sys.executable).with_name("uv")
DEPLOY_STACK = REPOSITORY / ".ci" / "deploy-stack"
_STRING = re.compile(r"'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\"", re.S)
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)


@dataclass(frozen=True)
class JenkinsStage:
    name: str
    body: str
    children: list[JenkinsStage]


def _masked(source: str) -> str:
    """`source` with comments blanked and string contents blanked (quotes kept): braces and calls in
    them no longer count, and every offset still points into `source`."""
    out = list(source)
    position = 0
    while position < len(source):
        comment = _COMMENT.match(source, position)
        string = _STRING.match(source, position)
        if comment:
            out[comment.start() : comment.end()] = " " * (comment.end() - comment.start())
            position = comment.end()
        elif string:
            quote = 3 if string.group().startswith(("'''", '"""')) else 1
            inner = range(string.start() + quote, string.end() - quote)
            for index in inner:
                out[index] = " " if source[index] != "\n" else "\n"
            position = string.end()
        else:
            position += 1
    return "".join(out)


def jenkins_stages(source: str) -> list[JenkinsStage]:
    """The `stage('...') { ... }` blocks of a declarative pipeline, nested as written."""
    masked = _masked(source)
    found: list[tuple[int, int, str]] = []
    for call in re.finditer(r"\bstage\s*\(\s*(['\"])", masked):
        name_end = source.index(call.group(1), call.end())
        open_brace = masked.index("{", name_end)
        depth, position = 0, open_brace
        for position in range(open_brace, len(masked)):
            depth += {"{": 1, "}": -1}.get(masked[position], 0)
            if depth == 0:
                break
        found.append((open_brace, position, source[call.end() : name_end]))

    def within(start: int, end: int) -> list[JenkinsStage]:
        inside = [stage for stage in found if start < stage[0] and stage[1] < end]
        direct = [s for s in inside if not any(o[0] < s[0] and s[1] < o[1] for o in inside if o is not s)]
        return [JenkinsStage(name, source[b : e + 1], within(b, e)) for b, e, name in direct]

    return within(-1, len(source))


def jenkins_top_stages() -> dict[str, JenkinsStage]:
    return {stage.name: stage for stage in jenkins_stages(JENKINSFILE.read_text(encoding="utf-8"))}


@pytest.fixture(scope="module")
def groovy_lint(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """npm-groovy-lint's findings (CodeNarc's recommended Jenkinsfile rules, failing on any finding, without
    a background server) on the shipped Jenkinsfile and on a broken one (an extra brace), keyed "shipped"
    and "broken". Both are linted by one run, as the Java start-up is most of its cost; its JSON report
    names each file. The two files sit alone in a temporary directory, as CodeNarc walks the directory
    that holds the files it is given; the JVM compiles with C1 only, which costs less CPU on a short run."""
    assert GROOVY_LINT.exists(), "npm-groovy-lint is not installed: run `make tools`"
    root = tmp_path_factory.mktemp("groovy-lint")
    files = {role: root / role / "Jenkinsfile" for role in ("shipped", "broken")}
    for path in files.values():
        path.parent.mkdir()
    shutil.copyfile(JENKINSFILE, files["shipped"])
    broken = JENKINSFILE.read_text(encoding="utf-8").replace("stages {", "stages {{", 1)
    files["broken"].write_text(broken, encoding="utf-8")
    command = [str(GROOVY_LINT), "--noserver", "--config", str(GROOVY_LINT_CONFIG), "--failon", "info"]
    java = "--javaoptions=-Xms256m,-Xmx2048m,-XX:TieredStopAtLevel=1,-XX:+UseSerialGC"
    result = subprocess.run(
        [*command, java, "--output", "json", *map(str, files.values())], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1, result.stderr  # 1: findings (in the broken file at least); 2: a failed run
    report = json.loads(result.stdout)
    assert report["summary"]["totalFilesLinted"] == len(files)
    return {role: report["files"][str(path)]["errors"] for role, path in files.items()}


def test_jenkinsfile_passes_npm_groovy_lint(groovy_lint: dict[str, list[dict[str, Any]]]) -> None:
    findings = [(e["line"], e["rule"], e["msg"]) for e in groovy_lint["shipped"]]
    assert findings == []


def test_the_linter_catches_a_broken_jenkinsfile(groovy_lint: dict[str, list[dict[str, Any]]]) -> None:
    assert "NglParseError" in {e["rule"] for e in groovy_lint["broken"]}


def test_stage_parser_sees_nesting_and_ignores_strings_and_comments() -> None:
    source = """
    // stage('commented') { }
    pipeline { stages {
        stage('a') { steps { sh 'echo "stage(\\'fake\\') {"' } }
        stage("b") { matrix { stages { stage('b1') { steps { sh '''}'''} } } } }
    } }
    """
    stages = jenkins_stages(source)
    assert [s.name for s in stages] == ["a", "b"]
    assert [s.name for s in stages[1].children] == ["b1"] and stages[0].children == []


def test_jenkins_stage_graph_matches_the_gitlab_and_github_pipelines() -> None:
    stages = jenkins_top_stages()
    assert list(stages) == load(GITLAB_CI)["stages"]
    github = (
        list(workflow("pull-request.yml")["jobs"])
        + [job if job == "package" else f"deploy-{job}" for job in workflow("deploy.yml")["jobs"]]
        + [name for name in ("drift",) if workflow("drift.yml")["jobs"]["detect"]]
        + [name for name in ("ab-decision",) if workflow("ab-decision.yml")["jobs"]["promote"]]
    )
    assert list(stages) == github
    for name in ("test", "plan", "preview"):
        assert "when { changeRequest() }" in stages[name].body, name
    assert "when { triggeredBy 'TimerTrigger' }" in stages["drift"].body
    for name in ("preview", "drift"):
        assert re.search(r"name 'STACK'\s+values 'dev', 'staging', 'prod'", stages[name].body), name
        (cell,) = stages[name].children
        assert 'lock(resource: "pulumi-${env.STACK}")' in cell.body
        assert ". .ci/pulumi-aws-session" in cell.body
    preview = stages["preview"].children[0].body
    assert 'pulumi preview --stack "$STACK" --policy-pack policies' in preview
    assert '--policy-pack-config "policies/config/$STACK.json"' in preview
    assert "--refresh --expect-no-changes" in stages["drift"].children[0].body


def test_jenkins_plan_archives_sarif_and_publishes_markdown() -> None:
    plan = jenkins_top_stages()["plan"].body
    assert "modelplane plan --all --sarif out/plan.sarif --markdown out/plan.md" in plan
    assert "archiveArtifacts artifacts: 'out/plan.*'" in plan
    assert "recordIssues tool: sarif(pattern: 'out/plan.sarif'" in plan
    assert "publishChecks name: 'modelplane plan'" in plan and "readFile('out/plan.md')" in plan
    assert jenkins_top_stages()["test"].body.count("sh 'make test'") == 1


def _plan_scripts() -> dict[str, str]:
    """How each pipeline gets its base branch and plans a change request."""
    github = steps_of(workflow("pull-request.yml")["jobs"]["plan"])
    checkout = next(step for step in github if step.get("uses", "").startswith("actions/checkout@"))
    return {
        "github": f"fetch-depth: {checkout['with'].get('fetch-depth')}\n"
        + next(step["run"] for step in github if step.get("id") == "plan"),
        "gitlab": "\n".join(_gitlab_jobs()["plan"]["script"]),
        "jenkins": jenkins_top_stages()["plan"].body,
    }


@pytest.mark.parametrize(
    ("pipeline", "fetch", "base"),
    [
        ("github", "fetch-depth: 0", "$BASE_REF"),
        ("gitlab", "git fetch", "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"),
        ("jenkins", "git fetch", "$CHANGE_TARGET"),
    ],
)
def test_every_pipeline_plans_a_change_against_its_base_branch(pipeline: str, fetch: str, base: str) -> None:
    """The plan reports what the change creates, deletes and replaces, and fails on deleting a protected
    resource, only when it simulates the base branch too: each pipeline fetches it and passes it."""
    script = _plan_scripts()[pipeline]
    assert f'--against "origin/{base}"' in script
    assert script.index(fetch) < script.index("modelplane plan")


@pytest.mark.parametrize("stack", DEPLOY_STACKS)
def test_jenkins_deploys_in_order_with_policy_pack_and_verify(stack: str) -> None:
    stages = jenkins_top_stages()
    names = list(stages)
    body = stages[f"deploy-{stack}"].body
    assert names.index(f"deploy-{stack}") == names.index("package") + 1 + DEPLOY_STACKS.index(stack)
    assert "branch 'main'" in body and "not { triggeredBy 'TimerTrigger' }" in body
    assert f"STACK = '{stack}'" in body
    assert f'MODELPLANE_ROLE_ARN = "${{env.AWS_DEPLOY_ROLE_ARN_{stack.upper()}}}"' in body
    assert re.search(rf"lock\(resource: 'pulumi-{stack}'\) \{{\s+sh '.ci/deploy-stack'\s+\}}", body)
    assert "archiveArtifacts artifacts: 'verify.json'" in body
    gated = "input {" in body
    assert gated == (stack == "prod"), "only prod waits for a person"
    if gated:
        assert "beforeInput true" in body, "skip the gate on branches that would not deploy"
        assert body.index("input {") < body.index("agent {"), "no agent is held while waiting"


def test_jenkins_stores_no_aws_keys_and_pins_the_pulumi_cli() -> None:
    source = JENKINSFILE.read_text(encoding="utf-8")
    assert not re.search(r"AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|credentials\(|withAWS|aws\w*Credentials", source)
    bindings = re.findall(r"withCredentials\(\[(\w+)\(", source)
    assert bindings == ["gitUsernamePassword"], "the one stored credential pushes A/B decision branches"
    assert "agent none" in source
    assert jenkins_versions(JENKINSFILE) == [locked_pulumi_sdk()] == ["3.272.0"]


def stand_in(bin_dir: Path, name: str, script: str) -> None:
    """An executable `name` in `bin_dir` that runs the shell `script`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    path.chmod(0o755)


def ci_environment(tmp_path: Path, **environment: str) -> dict[str, str]:
    """A Jenkins agent's environment for the .ci/ scripts, with stand-ins that log each command to
    pulumi.log: `pulumi` (already the pinned version; `pulumi up` needs `uv` on PATH, as its
    `toolchain: uv` does, and exits with $PULUMI_UP_STATUS), and `make`, whose `make sync` leaves what the
    real one does: .venv made by uv (its own `bin/activate`), with `bin/uv` and `bin/modelplane`, none of
    them on PATH before; `modelplane capacity` exits with $CAPACITY_STATUS."""
    bin_dir = tmp_path / "bin"
    stand_in(
        bin_dir,
        "pulumi",
        '[ "$1" = version ] && exec echo v3.272.0\n'
        'echo "pulumi $*" >> "$PULUMI_LOG"\n'
        '[ "$1" = up ] && { command -v uv >/dev/null || { echo "Could not find uv executable" >&2; exit 1; }; }\n'
        '[ "$1" = up ] && exit "${PULUMI_UP_STATUS:-0}"\n'
        '[ "$1" = stack ] && echo \'{"endpoint_names": {}}\'\n'
        "exit 0",
    )
    stand_in(
        bin_dir,
        "make",
        'echo "make $*" >> "$PULUMI_LOG"\n'
        '[ "$1" = sync ] || exit 0\n'
        f"{UV} venv --quiet --python {sys.executable} .venv\n"
        "rm .venv/bin/python*\n"
        'printf \'#!/bin/sh\\necho "modelplane $*" >> "$PULUMI_LOG"\\n[ "$1" = capacity ] && exit "${CAPACITY_STATUS:-0}"\\nexit 0\\n\' > .venv/bin/modelplane\n'
        "printf '#!/bin/sh\\n' > .venv/bin/uv\n"
        "chmod +x .venv/bin/modelplane .venv/bin/uv",
    )
    return {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "WORKSPACE_TMP": str(tmp_path),
        "PULUMI_LOG": str(tmp_path / "pulumi.log"),
        "STACK": "staging",
        "MODELPLANE_ROLE_ARN": "arn:aws:iam::123456789012:role/modelplane-deploy-staging",
        "AWS_REGION": "eu-west-1",
        "PULUMI_VERSION": "3.272.0",
        "PULUMI_BACKEND_URL": "s3://state-bucket",
        "BUILD_NUMBER": "42",
        **environment,
    }


def aws_session(tmp_path: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    """Source .ci/pulumi-aws-session in bash, then print the environment it leaves."""
    script = f'. "{AWS_SESSION}" && env'
    return subprocess.run(
        ["bash", "-c", script], env=ci_environment(tmp_path, **environment), capture_output=True, text=True, check=False
    )


def deploy_stack(tmp_path: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run .ci/deploy-stack for staging from a checkout's root, as a Jenkins deploy stage does."""
    checkout = tmp_path / "checkout"
    (checkout / ".ci").mkdir(parents=True)
    for script in (AWS_SESSION, DEPLOY_STACK):
        shutil.copy2(script, checkout / ".ci" / script.name)
    return subprocess.run(
        [".ci/deploy-stack"],
        cwd=checkout,
        env=ci_environment(tmp_path, **environment),
        capture_output=True,
        text=True,
        check=False,
    )


def logged(tmp_path: Path) -> list[str]:
    log = tmp_path / "pulumi.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_deploy_stack_runs_up_with_the_policy_pack_then_verifies(tmp_path: Path) -> None:
    result = deploy_stack(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "sh runs it, with uv's environment as `make sync` leaves it"
    assert logged(tmp_path) == [
        "make sync",
        "pulumi login s3://state-bucket",
        "modelplane capacity --stack staging",
        "pulumi up --yes --stack staging --policy-pack policies --policy-pack-config policies/config/staging.json",
        "pulumi stack output --json --stack staging",
        "modelplane verify --stack staging --outputs stack-outputs.json --json verify.json",
    ]
    outputs = tmp_path / "checkout" / "stack-outputs.json"
    assert json.loads(outputs.read_text(encoding="utf-8")) == {"endpoint_names": {}}


def test_deploy_stack_changes_nothing_when_the_account_lacks_quota(tmp_path: Path) -> None:
    result = deploy_stack(tmp_path, CAPACITY_STATUS="1")
    assert result.returncode == 1
    assert logged(tmp_path)[-1] == "modelplane capacity --stack staging"
    assert not any(line.startswith("pulumi up") for line in logged(tmp_path))


def test_deploy_stack_verifies_nothing_when_pulumi_up_fails(tmp_path: Path) -> None:
    result = deploy_stack(tmp_path, PULUMI_UP_STATUS="255")
    assert result.returncode == 255
    assert logged(tmp_path)[-1].startswith("pulumi up --yes")


def test_deploy_stack_refuses_static_keys_before_pulumi_runs(tmp_path: Path) -> None:
    result = deploy_stack(tmp_path, AWS_ACCESS_KEY_ID="AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY="secret")
    assert result.returncode != 0
    assert "static AWS keys in the environment" in result.stderr
    assert logged(tmp_path) == ["make sync"]


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        ({}, {"credential_source": "Ec2InstanceMetadata"}),
        (
            {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials"},
            {"credential_source": "EcsContainer"},
        ),
        (
            {"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token", "AWS_ROLE_ARN": "arn:aws:iam::1:role/agent"},
            {"web_identity_token_file": "/var/run/token"},
        ),
    ],
)
def test_aws_session_assumes_the_stage_role_through_the_agents_identity(
    tmp_path: Path, identity: dict[str, str], expected: dict[str, str]
) -> None:
    result = aws_session(tmp_path, **identity)
    assert result.returncode == 0, result.stderr
    exported = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert exported["AWS_PROFILE"] == "modelplane-staging"
    assert "AWS_ROLE_ARN" not in exported and "AWS_WEB_IDENTITY_TOKEN_FILE" not in exported
    session = botocore.session.Session(profile="modelplane-staging")
    session.set_config_variable("config_file", exported["AWS_CONFIG_FILE"])
    profile = session.get_scoped_config()
    assert profile["role_arn"] == "arn:aws:iam::123456789012:role/modelplane-deploy-staging"
    assert profile["role_session_name"] == "modelplane-staging-42"
    assert profile["region"] == "eu-west-1"
    assert {key: profile[key] for key in expected} == expected
    assert not {"aws_access_key_id", "aws_secret_access_key"} & set(profile)
    assert (tmp_path / "pulumi.log").read_text(encoding="utf-8") == "pulumi login s3://state-bucket\n"


def test_aws_session_refuses_static_keys(tmp_path: Path) -> None:
    result = aws_session(tmp_path, AWS_ACCESS_KEY_ID="AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY="secret")
    assert result.returncode != 0
    assert "static AWS keys in the environment" in result.stderr
    assert not (tmp_path / "pulumi.log").exists()


PACKAGE_IMAGE = REPOSITORY / ".ci" / "package-image"
PIPELINE_FILES = [*WORKFLOWS, GITLAB_CI, JENKINSFILE, AWS_SESSION, DEPLOY_STACK, PACKAGE_IMAGE]
ON_PATH = 'export PATH="$PWD/.venv/bin:'


@pytest.mark.parametrize("path", PIPELINE_FILES, ids=lambda path: path.name)
def test_pipelines_run_tools_from_the_project_environment(path: Path) -> None:
    """`make sync` puts uv in .tools/uv and the project in .venv; nothing lands in ~/.local/bin, and
    `uv run` would sync (and resolve) again. uv's bin/activate is bash's and zsh's: the pipelines, whose
    shells are sh as often, put .venv/bin first on PATH instead."""
    text = path.read_text(encoding="utf-8")
    assert ".local/bin" not in text and "uv run" not in text
    assert ".venv/bin/activate" not in text.replace("`. .venv/bin/activate`", "")


def test_every_pipeline_puts_the_environment_make_sync_makes_first_on_path() -> None:
    """Each job that runs `modelplane` or Pulumi (whose `toolchain: uv` looks for uv on PATH) puts .venv/bin
    first on PATH right after `make sync`."""
    default_before_script = load(GITLAB_CI)["default"]["before_script"]
    for name, job in _gitlab_jobs().items():
        lines = [*job.get("before_script", default_before_script), *job["script"]]
        if any("modelplane " in line or line.startswith("pulumi ") for line in job["script"]):
            assert lines[lines.index("make sync") + 1].startswith(ON_PATH), name
    top_stages = jenkins_top_stages().values()
    for stage in [*top_stages, *(child for top in top_stages for child in top.children)]:
        synced = [line.strip() for line in stage.body.splitlines()]
        if "make sync" in synced:
            assert synced[synced.index("make sync") + 1].startswith(ON_PATH), stage.name
        elif "modelplane " in stage.body or "pulumi " in stage.body:
            assert "sh '.ci/deploy-stack'" in stage.body or "sh '.ci/package-image'" in stage.body, stage.name
    for script in (DEPLOY_STACK, PACKAGE_IMAGE):
        lines = [line for line in script.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
        assert lines[lines.index("make sync") + 1].startswith(ON_PATH), script.name
    on_path = 'make sync && echo "$PWD/.venv/bin" >> "$GITHUB_PATH"'
    for path in WORKFLOWS:
        for job_name, job in load(path)["jobs"].items():
            steps = steps_of(job)
            uses = [i for i, step in enumerate(steps) if "modelplane " in step.get("run", "")]
            uses += [i for i, step in enumerate(steps) if step.get("uses", "").startswith("pulumi/actions@")]
            if uses:
                synced = [i for i, step in enumerate(steps) if step.get("run") == on_path]
                assert synced and synced[0] < min(uses), f"{path.name}:{job_name}"


SYSTEM_INSTALLS = re.compile(r"\b(apt-get|apt|apk|yum|dnf|sudo)\b|pip install")


def test_gitlab_jobs_on_the_shell_runner_install_nothing_system_wide() -> None:
    """A shell executor runs the job as the runner's user: no root, so no apt-get. What such a runner must
    bring is documented where the guide sets GitLab up."""
    document = load(GITLAB_CI)
    on_shell = {name: job for name, job in _gitlab_jobs().items() if "modelplane-docker" in job.get("tags", [])}
    assert set(on_shell) == {"package"}
    for name, job in on_shell.items():
        lines = [*job.get("before_script", document["default"]["before_script"]), *job["script"]]
        assert not [line for line in lines if SYSTEM_INSTALLS.search(line)], name
        assert lines[0] == "make sync" and lines[1].startswith(ON_PATH), name
        assert any("assume-role-with-web-identity" in line for line in lines), "its own AWS role, as the deploys"
        assert lines[-2:] == ['pulumi login "$PULUMI_BACKEND_URL"', ".ci/package-image"]
        install = next(line for line in lines if "get.pulumi.com" in line)
        assert "--no-edit-path" in install and '[ "$(pulumi version' in install, "into the runner's home, once"
    guide = (REPOSITORY / "docs" / "getting-started-on-aws.md").read_text(encoding="utf-8")
    section = guide[guide.index("<!-- ci-gitlab:begin -->") : guide.index("<!-- ci-gitlab:end -->")]
    assert "shell runner tagged `modelplane-docker`" in section
    for tool in ("Docker", "git", "make", "curl", "Python 3.11", "AWS CLI"):
        assert tool in section, tool


def test_jenkins_runs_the_ab_decision_on_demand_and_deploys_nothing_then() -> None:
    stages = jenkins_top_stages()
    decision = stages["ab-decision"].body
    assert "expression { params.AB_STACK && params.AB_ENDPOINT }" in decision
    assert "modelplane compare" in decision and "--json compare.json" in decision
    assert "--require-verdict compare.json" in decision
    assert "git push origin" in decision and "refs/heads/main" not in decision
    for stack in DEPLOY_STACKS:
        assert "expression { !params.AB_ENDPOINT }" in stages[f"deploy-{stack}"].body, stack


@pytest.mark.parametrize("pattern", CLI_VERSION_PINS)
def test_every_pipeline_pins_the_pulumi_cli_to_the_locked_sdk_version(pattern: str) -> None:
    """One Pulumi CLI everywhere: the version of the `pulumi` SDK in uv.lock (3.272.0)."""
    paths = sorted(REPOSITORY.glob(pattern))
    versions = {path.relative_to(REPOSITORY).as_posix(): CLI_VERSION_PINS[pattern](path) for path in paths}

    assert any(versions.values()), f"no Pulumi CLI installed by {pattern}"
    for path, found in versions.items():
        assert all(version == locked_pulumi_sdk() for version in found), f"{path}: {found}"


def test_the_project_and_readme_state_the_same_minimum_cli() -> None:
    project = load(REPOSITORY / "Pulumi.yaml")
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")

    assert project["requiredPulumiVersion"] == f">={locked_pulumi_sdk()}"
    assert f"Pulumi CLI {locked_pulumi_sdk()} or newer" in readme


# --- packaging stage -----------------------------------------------------------------------------


def test_every_pipeline_packages_the_image_with_the_same_script_before_it_deploys() -> None:
    """image build -> image test -> image push -> register, as .ci/package-image runs them, into dev's
    registry, on main, only where a model is configured."""
    github = workflow("package.yml")["jobs"]["package"]
    assert github["environment"] == "${{ inputs.stack }}"
    assert github["permissions"] == {"contents": "read", "id-token": "write"}
    assert steps_of(github)[-1]["run"].splitlines()[-1] == ".ci/package-image"
    assert {"MODEL_FAMILY", "MODEL_ENDPOINT", "MODEL_DATA", "STACK"} <= set(github["env"])
    gitlab = _gitlab_jobs()["package"]
    stages = load(GITLAB_CI)["stages"]
    assert stages.index("package") == stages.index("deploy-dev") - 1
    assert (gitlab["script"], gitlab["variables"], gitlab["needs"]) == ([".ci/package-image"], {"STACK": "dev"}, [])
    assert gitlab["rules"] == [
        {"if": '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE == "push" && $MODEL_FAMILY'}
    ]
    jenkins = jenkins_top_stages()["package"].body
    assert re.search(r"lock\(resource: 'pulumi-dev'\) \{\s+sh '.ci/package-image'\s+\}", jenkins)
    assert "expression { env.MODEL_FAMILY }" in jenkins and "branch 'main'" in jenkins
    assert 'MODELPLANE_ROLE_ARN = "${env.AWS_DEPLOY_ROLE_ARN_DEV}"' in jenkins


def package_image(tmp_path: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run .ci/package-image for staging from a checkout's root, every tool a stand-in that logs its command;
    `python3` reads the image ID and the pushed reference from the JSON files `image build|push` write."""
    checkout = tmp_path / "checkout"
    (checkout / ".ci").mkdir(parents=True)
    for script in (AWS_SESSION, PACKAGE_IMAGE):
        shutil.copy2(script, checkout / ".ci" / script.name)
    env = ci_environment(tmp_path, **environment)
    stand_in(tmp_path / "bin", "aws", 'echo "aws $*" >> "$PULUMI_LOG"')
    stand_in(
        tmp_path / "bin",
        "python3",
        'case "$4" in id) echo sha256:0a1b ;; reference) echo 123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud@sha256:9f8e ;; esac',
    )
    return subprocess.run([".ci/package-image"], cwd=checkout, env=env, capture_output=True, text=True, check=False)


def test_package_image_builds_tests_pushes_and_registers_in_order(tmp_path: Path) -> None:
    result = package_image(
        tmp_path, MODEL_FAMILY="fraud-detector", MODEL_ENDPOINT="fraud", MODEL_DATA="s3://models/fraud/model.tar.gz"
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "sh runs it, with uv's environment as `make sync` leaves it"
    modelplane = "modelplane"
    assert logged(tmp_path) == [
        "make sync",
        "pulumi login s3://state-bucket",
        "aws s3 cp --only-show-errors s3://models/fraud/model.tar.gz model.tar.gz",
        "pulumi stack output --json --stack staging",
        f"{modelplane} image build --family fraud-detector --json image-build.json",
        f"{modelplane} image test sha256:0a1b --stack staging --endpoint fraud --model-data model.tar.gz",
        f"{modelplane} image push sha256:0a1b --stack staging --family fraud-detector --outputs stack-outputs.json"
        " --model-data model.tar.gz --json image-push.json",
        f"{modelplane} register --stack staging --family fraud-detector"
        " --image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud@sha256:9f8e --model-data model.tar.gz"
        " --outputs stack-outputs.json",
    ]


def test_package_image_needs_the_model_it_packages(tmp_path: Path) -> None:
    result = package_image(tmp_path, MODEL_FAMILY="fraud-detector", MODEL_ENDPOINT="fraud")
    assert result.returncode != 0
    assert "MODEL_DATA" in result.stderr
    assert logged(tmp_path) == []
