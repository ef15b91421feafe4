"""The replay of the engine's alias matching (`modelplane.aliases`) on small hand-made states."""

from __future__ import annotations

from typing import Any

from modelplane.aliases import match
from modelplane.simulate import RecordedResource
from tests.harness import recorded

STACK = "urn:pulumi:dev::modelplane::pulumi:pulumi:Stack::modelplane-dev"


def registered(urn: str, parent: str = STACK, aliases: list[dict[str, Any]] | None = None) -> RecordedResource:
    type_chain, name = urn.split("::")[2:]
    type_token = type_chain.rsplit("$", 1)[-1]
    return recorded(
        type_token, name, {}, urn=urn, parent=parent, custom=not type_token.startswith("my:"), aliases=aliases or []
    )


def urn(type_chain: str, name: str) -> str:
    return f"urn:pulumi:dev::modelplane::{type_chain}::{name}"


OLD_COMPONENT = urn("my:old:Thing", "thing")
OLD_CHILD = urn("my:old:Thing$aws:s3/bucket:Bucket", "thing-bucket")
NEW_COMPONENT = urn("my:index:Thing", "thing")
NEW_CHILD = urn("my:index:Thing$aws:s3/bucket:Bucket", "thing-bucket")


def test_a_component_alias_carries_its_children_over() -> None:
    result = match(
        [OLD_COMPONENT, OLD_CHILD],
        [
            registered(NEW_COMPONENT, aliases=[{"spec": {"type": "my:old:Thing"}}]),
            registered(NEW_CHILD, parent=NEW_COMPONENT),
        ],
    )
    assert result.claimed == {NEW_COMPONENT: OLD_COMPONENT, NEW_CHILD: OLD_CHILD}
    assert (result.created, result.deleted, result.errors) == ([], [], [])


def test_without_an_alias_the_engine_replaces_the_whole_subtree() -> None:
    result = match([OLD_COMPONENT, OLD_CHILD], [registered(NEW_COMPONENT), registered(NEW_CHILD, parent=NEW_COMPONENT)])
    assert result.created == [NEW_COMPONENT, NEW_CHILD]
    assert result.deleted == [OLD_COMPONENT, OLD_CHILD]


def test_a_child_moved_to_a_new_parent_answers_to_its_old_parent() -> None:
    """`Alias(parent=<old parent>)` through the URN the old parent matched, as `SecretReadPolicy` uses it."""
    new_holder = urn("my:index:Holder", "holder")
    moved = urn("my:index:Thing$my:index:Holder$aws:s3/bucket:Bucket", "thing-bucket")
    result = match(
        [OLD_COMPONENT, OLD_CHILD],
        [
            registered(NEW_COMPONENT, aliases=[{"spec": {"type": "my:old:Thing"}}]),
            registered(new_holder, parent=NEW_COMPONENT),
            registered(moved, parent=new_holder, aliases=[{"spec": {"parentUrn": NEW_COMPONENT}}]),
        ],
    )
    assert result.claimed[moved] == OLD_CHILD
    assert result.created == [new_holder]
    assert result.deleted == []


def test_two_resources_claiming_one_old_urn_fail_the_update() -> None:
    old = urn("aws:s3/bucket:Bucket", "data")
    result = match(
        [old],
        [
            registered(urn("aws:s3/bucket:Bucket", "data-a"), aliases=[{"urn": old}]),
            registered(urn("aws:s3/bucket:Bucket", "data-b"), aliases=[{"urn": old}]),
        ],
    )
    (error,) = result.errors
    assert error[0] == urn("aws:s3/bucket:Bucket", "data-b") and "both alias" in error[1]
