"""docs/getting-started-on-aws.md agrees with what it describes: the stack files' placeholders, the pipelines'
variables, environments and OIDC subjects, the services the program calls, and AWS's IAM actions."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.docs.placeholders import KEY_RULES, STACKS, Placeholder, kind_of, placeholders
from tests.stacks import REPOSITORY

GUIDE = REPOSITORY / "docs" / "getting-started-on-aws.md"
TEXT = GUIDE.read_text(encoding="utf-8")
WORKFLOWS = sorted((REPOSITORY / ".github" / "workflows").glob("*.yml"))
GITLAB = REPOSITORY / ".gitlab-ci.yml"
JENKINSFILE = REPOSITORY / "Jenkinsfile"
AWS_SESSION = REPOSITORY / ".ci" / "pulumi-aws-session"
IAM_CATALOGUE = REPOSITORY / "policies" / "modelplane_guard" / "iam_actions.json"
AWS_CALLS = REPOSITORY / "modelplane" / "offline" / "data" / "aws-calls.yaml"


def section(name: str) -> str:
    """The guide's text between `<!-- name:begin -->` and `<!-- name:end -->`."""
    found = re.search(rf"<!-- {name}:begin -->\n(.*?)<!-- {name}:end -->", TEXT, flags=re.DOTALL)
    assert found is not None, f"the guide has no {name} section"
    return found.group(1)


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the Markdown tables in `text`, cells stripped of surrounding backticks."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        rows.append([cell.strip().strip("`") for cell in line.strip().strip("|").split(" | ")])
    return [
        row for row in rows if row and row[0] not in {"stack", "kind", "where", "scope", "name", "IAM service prefix"}
    ]


# The placeholders


def test_the_guide_lists_every_placeholder_of_the_stack_files_and_nothing_else() -> None:
    documented = [Placeholder(*row) for row in table_rows(section("placeholders"))]
    assert len(documented) == len(set(documented)), "a placeholder is listed twice"
    derived = placeholders()
    assert sorted(set(derived) - set(documented)) == [], "placeholders the guide does not list"
    assert sorted(set(documented) - set(derived)) == [], "rows of the guide that are no placeholder of a stack file"


def test_the_placeholders_include_what_a_new_user_must_replace() -> None:
    kinds = {placeholder.kind for placeholder in placeholders()}
    assert {
        "subnet",
        "security group",
        "account id",
        "EKS OIDC provider",
        "kube context",
        "e-mail",
        "paging endpoint",
        "rotation function",
        "rotation role",
        "model version",
    } <= kinds


def test_every_kind_found_is_explained() -> None:
    explained = {
        kind.strip()
        for row in table_rows(TEXT.split("### What to put in place of each kind", 1)[1].split("###", 1)[0])
        for kind in row[0].split(",")
    }
    assert {placeholder.kind for placeholder in placeholders()} - explained == set()


@pytest.mark.parametrize(
    ("generic", "value", "kind"),
    [
        ("modelplane:some_new_key[]", "subnet-0123456789abcdef0", "subnet"),
        ("modelplane:some_new_key", "arn:aws:sns:eu-west-1:123456789012:topic", "ARN"),
        ("modelplane:some_new_key", "444455556666", "account id"),
        ("modelplane:some_new_key", "pager@example.org", "example domain"),
        ("modelplane:endpoints[].variants[].instance_type", "ml.m5.large", None),
        ("modelplane:endpoints[].smoke_test.body", '{"amount": 120.5}', None),
        ("modelplane:registry.image_retention.keep_tagged", 50, None),
    ],
)
def test_documentation_reserved_values_are_found_under_any_key(generic: str, value: Any, kind: str | None) -> None:
    assert kind_of(generic, value) == kind


def test_key_rules_name_keys_the_settings_have() -> None:
    """A rule over a renamed key would find nothing, silently: each must match a key of the settings reference."""
    from tools.generate.settings_docs import keys

    paths = [key.path for key in keys()]
    for kind, pattern in KEY_RULES:
        assert any(
            re.fullmatch(pattern, candidate) for path in paths for candidate in (path, f"{path}[]", f"{path}.x")
        ), f"the {kind} rule {pattern} names no settings key"


# What the program calls in AWS


def test_the_deploy_role_table_names_every_service_the_program_calls() -> None:
    calls = YAML(typ="safe").load(AWS_CALLS.read_text(encoding="utf-8"))
    services = {spec["call"].split(":", 1)[0] for spec in calls.values()} | {"sts"}
    documented = {row[0] for row in table_rows(section("deploy-services"))}
    assert documented == services


# IAM: the JSON to paste parses, and every action it names exists


def json_blocks() -> list[Any]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", TEXT, flags=re.DOTALL)]


def policy_actions(document: Any) -> list[str]:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    actions: list[str] = []
    for statement in statements:
        named = statement.get("Action", [])
        actions += [named] if isinstance(named, str) else named
    return actions


def test_every_json_block_is_a_policy_document() -> None:
    blocks = json_blocks()
    assert len(blocks) >= 9
    assert all(block["Version"] == "2012-10-17" and block["Statement"] for block in blocks)


def test_every_iam_action_the_guide_grants_exists() -> None:
    catalogue = json.loads(IAM_CATALOGUE.read_text(encoding="utf-8"))["actions"]
    known = {f"{prefix}:{name}".lower() for prefix, names in catalogue.items() for name in names}
    actions = {action for block in json_blocks() for action in policy_actions(block)}
    assert "sts:AssumeRoleWithWebIdentity" in actions
    unknown = sorted(action for action in actions if not any(fnmatchcase(name, action.lower()) for name in known))
    assert unknown == []


def test_the_catalogue_check_would_catch_a_misspelt_action() -> None:
    catalogue = json.loads(IAM_CATALOGUE.read_text(encoding="utf-8"))["actions"]
    assert "Decrypt" in catalogue["kms"] and "Decrypts" not in catalogue["kms"]


# GitHub Actions: environments, subjects and variables


def github_environments() -> set[str]:
    """The environments the workflows' jobs name, with each template expanded over the stacks."""
    names = set()
    for workflow in WORKFLOWS:
        for value in re.findall(r"^\s+environment: (.+)$", workflow.read_text(encoding="utf-8"), flags=re.MULTILINE):
            names |= {re.sub(r"\$\{\{[^}]*\}\}", stack, value.strip()) for stack in STACKS}
    return names


def test_github_jobs_use_a_deploy_and_a_preview_environment_per_stack() -> None:
    assert github_environments() == {*STACKS, *(f"{stack}-preview" for stack in STACKS)}


def test_github_trust_policies_match_the_subjects_of_those_environments() -> None:
    subjects = {
        statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
        for block in json_blocks()
        for statement in block["Statement"]
        if "token.actions.githubusercontent.com:sub" in statement.get("Condition", {}).get("StringEquals", {})
    }
    assert subjects == {"repo:<org>/<repo>:environment:<stack>", "repo:<org>/<repo>:environment:<stack>-preview"}
    expanded = {subject.replace("<stack>", stack) for subject in subjects for stack in STACKS}
    assert expanded == {f"repo:<org>/<repo>:environment:{name}" for name in github_environments()}


def test_the_guide_names_every_variable_the_workflows_read() -> None:
    read = {
        name for workflow in WORKFLOWS for name in re.findall(r"\bvars\.(\w+)", workflow.read_text(encoding="utf-8"))
    }
    assert read == {"PULUMI_BACKEND_URL", "AWS_REGION", "AWS_DEPLOY_ROLE_ARN", "AWS_PREVIEW_ROLE_ARN"} | {
        "MODEL_FAMILY",
        "MODEL_ENDPOINT",
        "MODEL_DATA",
    }
    documented = section("ci-github")
    assert [name for name in sorted(read) if f"`{name}`" not in documented] == []
    assert all(f"`{name}`" in documented for name in github_environments())
    assert not any(re.search(r"\bsecrets\.", workflow.read_text(encoding="utf-8")) for workflow in WORKFLOWS)


# GitLab CI


def test_the_guide_names_every_variable_gitlab_jobs_need() -> None:
    pipeline = GITLAB.read_text(encoding="utf-8")
    document = YAML(typ="safe").load(pipeline)
    set_by_pipeline = {
        name for job in document.values() if isinstance(job, dict) for name in (job.get("variables") or {})
    } | {name for job in document.values() if isinstance(job, dict) for name in (job.get("id_tokens") or {})}
    referenced = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", pipeline))
    needed = {
        name
        for name in referenced - set_by_pipeline
        if not name.startswith("CI_") and name not in {"HOME", "PATH", "PWD"}
    }
    assert {"AWS_ROLE_ARN", "PULUMI_BACKEND_URL", "AB_PUSH_TOKEN", "AB_STACK", "AB_ENDPOINT"} <= needed
    documented = section("ci-gitlab")
    assert [name for name in sorted(needed) if f"`{name}`" not in documented] == []


def test_gitlab_trust_policies_test_the_audience_the_pipeline_requests() -> None:
    document = YAML(typ="safe").load(GITLAB.read_text(encoding="utf-8"))
    audiences = {
        token["aud"]
        for job in document.values()
        if isinstance(job, dict)
        for token in (job.get("id_tokens") or {}).values()
    }
    documented = {
        condition["gitlab.com:aud"]
        for block in json_blocks()
        for statement in block["Statement"]
        for condition in statement.get("Condition", {}).values()
        if "gitlab.com:aud" in condition
    }
    assert audiences == documented == {"sts.amazonaws.com"}


def test_the_gitlab_deploy_role_trusts_the_branch_the_deploy_jobs_run_for() -> None:
    document = YAML(typ="safe").load(GITLAB.read_text(encoding="utf-8"))
    deploy_rules = [rule["if"] for name, job in document.items() if name.startswith("deploy-") for rule in job["rules"]]
    assert deploy_rules and all("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in rule for rule in deploy_rules)
    assert "project_path:<group>/<project>:ref_type:branch:ref:main" in TEXT


# Jenkins


def test_the_guide_names_everything_the_jenkinsfile_reads() -> None:
    jenkinsfile = JENKINSFILE.read_text(encoding="utf-8")
    environment = set(re.findall(r"\benv\.([A-Z][A-Z0-9_]*)", jenkinsfile)) - {"BRANCH_NAME", "STACK"}
    for prefix in re.findall(r'"(AWS_[A-Z_]+_)\$\(echo "\$STACK" \| tr a-z A-Z\)"', jenkinsfile):
        environment |= {prefix + stack.upper() for stack in STACKS}
    set_in_jenkinsfile = set(re.findall(r"^\s+([A-Z][A-Z0-9_]*) = ", jenkinsfile, flags=re.MULTILINE))
    required_by_session = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", AWS_SESSION.read_text(encoding="utf-8")))
    needed = environment | (required_by_session - set_in_jenkinsfile)
    assert {"AWS_PREVIEW_ROLE_ARN_PROD", "AWS_DEPLOY_ROLE_ARN_PROD", "AWS_REGION", "PULUMI_BACKEND_URL"} <= needed
    credentials = set(re.findall(r"credentialsId: '([^']+)'", jenkinsfile))
    labels = set(re.findall(r"label '([^']+)'", jenkinsfile))
    submitters = set(re.findall(r"submitter '([^']+)'", jenkinsfile))
    documented = section("ci-jenkins")
    missing = [name for name in sorted(needed | credentials | labels | submitters) if f"`{name}`" not in documented]
    assert missing == []
