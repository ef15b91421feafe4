"""The generator of the property index (`tools/generate/property_index.py`): the committed index is what
the installed providers' schemas give, read the way the generator reads them."""

from __future__ import annotations

import json

import pytest
from pulumi_aws import dynamodb, lb, rds

from policies.modelplane_guard.properties import INDEX_FILE
from tools.generate.property_index import (
    documented_default,
    generated_from,
    index_digest,
    schema_properties,
    type_index_entries,
)


def test_the_committed_index_was_generated_from_these_providers_and_sources() -> None:
    """The index is a function of the providers' versions, the mapping and the generator (`render` is
    deterministic), so this is its staleness check, without importing every provider module; and its body
    is what the generator wrote then (a hand edit changes its digest)."""
    committed = json.loads(INDEX_FILE.read_text(encoding="utf-8"))
    header = dict(committed["generatedFrom"])
    assert header.pop("index") == index_digest(committed["kubernetes"], committed["aws"]), (
        "property_index.json was edited by hand: run `make generate`"
    )
    assert header == generated_from(), "run `make generate` and commit property_index.json"


def test_a_hand_edited_body_no_longer_matches_its_digest() -> None:
    """The staleness check above fails for an index whose body was edited with its header kept."""
    committed = json.loads(INDEX_FILE.read_text(encoding="utf-8"))
    edited = dict(committed["aws"])
    del edited["aws:rds/cluster:Cluster"]
    edited["aws:elasticache/replicationGroup:ReplicationGroup"] = []
    assert index_digest(committed["kubernetes"], edited) != committed["generatedFrom"]["index"]
    assert index_digest(committed["kubernetes"], committed["aws"]) == committed["generatedFrom"]["index"]


@pytest.mark.parametrize("token", ["aws:dynamodb/table:Table", "aws:rds/instance:Instance", "aws:lb/listener:Listener"])
def test_the_committed_entries_are_what_the_generator_reads(token: str) -> None:
    """A sample of the index, regenerated from the provider: the committed entries are the generator's."""
    committed = json.loads(INDEX_FILE.read_text(encoding="utf-8"))["aws"].get(token)
    assert committed == json.loads(json.dumps(type_index_entries(token)))


@pytest.mark.parametrize(
    ("description", "default"),
    [
        ("Whether the DB instance is encrypted. The default is `false` if not specified.", "false"),
        ("If the `encrypt_at_rest` block is not provided then this defaults to `false`.", "false"),
        ("Days to retain backups for. Default `1`", "1"),
        ('Can be `"optional"` or `"required"`. (Default: `"optional"`).', "optional"),
        ("Defaults to `false`, even when `bucket` is specified.", "false"),
        ("When `engine` is `redis`, default is `false`. When `engine` is `valkey`, default is `true`.", None),
        ("If not specified, defaults to `true` when `db_subnet_group_name` is not set, and `false` otherwise.", None),
        ("For Application Load Balancers, valid values are `HTTP` and `HTTPS`, with a default of `HTTP`.", None),
        ("If true, the disk will be encrypted.", None),
        # What leaving the property out means is no condition on another input (ECS's EFS volumes, CKV_AWS_97).
        (
            "Whether or not to enable encryption for Amazon EFS data in transit between the Amazon ECS host and the Amazon EFS server. Transit encryption must be enabled if Amazon EFS IAM authorization is used. Valid values: `ENABLED`, `DISABLED`. If this parameter is omitted, the default value of `DISABLED` is used.",
            "DISABLED",
        ),
    ],
)
def test_documented_defaults(description: str, default: str | None) -> None:
    assert documented_default(description) == default


def test_inputs_are_read_with_their_camel_case_paths_nesting_and_defaults() -> None:
    table = {prop.path: prop for prop in schema_properties(dynamodb.TableArgs)}
    assert table["pointInTimeRecovery.enabled"].kind == "boolean"
    assert table["pointInTimeRecovery.enabled"].default == "false"
    assert table["attributes[].name"].kind == "string"
    assert table["tags{}"].kind == "string"
    instance = {prop.path: prop for prop in schema_properties(rds.InstanceArgs)}
    assert instance["backupRetentionPeriod"].kind == "number"
    assert not instance["storageEncrypted"].deprecated
    listener = {prop.path: prop for prop in schema_properties(lb.ListenerArgs)}
    assert listener["defaultActions[].redirect.protocol"].names == ("defaultActions", "redirect", "protocol")
