"""The mapping of property names to concerns (`policies/modelplane_guard/property_map.py`), checked on the
installed provider's own input types: per concern, a type that has the property, a type that lacks it,
and a type where it is nested; and every signal reaching at least one type of the shipped index."""

from __future__ import annotations

import importlib
import re

import pulumi_aws
import pytest

from policies.modelplane_guard.properties import property_index, reach
from policies.modelplane_guard.property_map import (
    AT_REST,
    BY_ID,
    CUSTOMER_KEY,
    DURABILITY,
    IAM_DOCUMENTS,
    IN_TRANSIT,
    LOGGING,
    METADATA,
    PUBLIC,
    PUBLIC_DATA,
    SIGNALS,
    Absent,
    Kind,
)
from tools.generate.property_index import SchemaProperty, registered_resources, schema_properties, type_entries


def schema_properties_of(token: str) -> list[SchemaProperty]:
    module, class_name = registered_resources(pulumi_aws)[token]
    return schema_properties(getattr(importlib.import_module(module), f"{class_name}Args"))


def concerns_of(token: str) -> dict[str, set[str]]:
    """Concern -> the property paths of the type the mapping assigns to it, from the installed SDK."""
    found: dict[str, set[str]] = {}
    for path, signal, _ in type_entries(token, schema_properties_of(token)):
        found.setdefault(BY_ID[signal].concern, set()).add(path)
    return found


# Per concern: (a type with the property, the path), (a type without any), (a type with it nested, the path).
MAPPING = [
    (
        AT_REST,
        ("aws:rds/instance:Instance", "storageEncrypted"),
        "aws:sns/topicSubscription:TopicSubscription",
        ("aws:ec2/launchTemplate:LaunchTemplate", "blockDeviceMappings[].ebs.encrypted"),
    ),
    (
        CUSTOMER_KEY,
        ("aws:kinesis/stream:Stream", "kmsKeyId"),
        "aws:apigatewayv2/route:Route",
        ("aws:dynamodb/table:Table", "serverSideEncryption.kmsKeyArn"),
    ),
    (
        IN_TRANSIT,
        ("aws:elasticache/replicationGroup:ReplicationGroup", "transitEncryptionEnabled"),
        "aws:dynamodb/table:Table",
        ("aws:msk/cluster:Cluster", "encryptionInfo.encryptionInTransit.clientBroker"),
    ),
    (
        PUBLIC,
        ("aws:rds/instance:Instance", "publiclyAccessible"),
        "aws:kinesis/stream:Stream",
        ("aws:eks/cluster:Cluster", "vpcConfig.endpointPublicAccess"),
    ),
    (
        PUBLIC_DATA,
        ("aws:rds/snapshot:Snapshot", "sharedAccounts[]"),
        "aws:kinesis/stream:Stream",
        ("aws:s3/accessPoint:AccessPoint", "publicAccessBlockConfiguration.blockPublicAcls"),
    ),
    (
        LOGGING,
        ("aws:apigatewayv2/stage:Stage", "accessLogSettings"),
        "aws:ebs/volume:Volume",
        ("aws:lb/loadBalancer:LoadBalancer", "accessLogs.enabled"),
    ),
    (
        DURABILITY,
        ("aws:rds/cluster:Cluster", "deletionProtection"),
        "aws:lb/listener:Listener",
        ("aws:dynamodb/table:Table", "pointInTimeRecovery.enabled"),
    ),
    (
        METADATA,
        (
            "aws:sagemaker/notebookInstance:NotebookInstance",
            "instanceMetadataServiceConfiguration.minimumInstanceMetadataServiceVersion",
        ),
        "aws:rds/instance:Instance",
        ("aws:ec2/instance:Instance", "metadataOptions.httpTokens"),
    ),
    (
        IAM_DOCUMENTS,
        ("aws:opensearch/domain:Domain", "accessPolicies"),
        "aws:rds/instance:Instance",
        ("aws:fsx/s3AccessPointAttachment:S3AccessPointAttachment", "s3AccessPoint.policy"),
    ),
]


@pytest.mark.parametrize(("concern", "present", "absent", "nested"), MAPPING, ids=[item[0] for item in MAPPING])
def test_a_type_with_the_property_without_it_and_with_it_nested(
    concern: str, present: tuple[str, str], absent: str, nested: tuple[str, str]
) -> None:
    token, path = present
    assert path in concerns_of(token).get(concern, set())
    assert concern not in concerns_of(absent)
    token, path = nested
    assert path in concerns_of(token).get(concern, set())
    assert "." in path


def test_the_same_name_means_nothing_outside_its_context() -> None:
    """`protocol` is a front door's only on a listener; `enabled` is a log switch only in a log block."""
    assert "protocol" in concerns_of("aws:lb/listener:Listener")[IN_TRANSIT]
    assert IN_TRANSIT not in concerns_of("aws:lb/targetGroup:TargetGroup")
    assert "defaultActions[].redirect.protocol" not in concerns_of("aws:lb/listener:Listener")[IN_TRANSIT]
    assert concerns_of("aws:cloudfront/distribution:Distribution").get(LOGGING) == {"loggingConfig"}


def test_deprecated_inputs_are_left_out() -> None:
    """The S3 bucket's inline `logging` gave way to the BucketLogging resource."""
    assert "logging" not in concerns_of("aws:s3/bucket:Bucket").get(LOGGING, set())


def test_deletion_protection_applies_to_stores_only() -> None:
    """A load balancer's deletion protection is no data's; a database's is."""
    assert DURABILITY not in concerns_of("aws:lb/loadBalancer:LoadBalancer")
    assert "deletionProtection" in concerns_of("aws:rds/instance:Instance")[DURABILITY]
    # Nor does a settings map make a type a store: an Auto Scaling group's launch configuration is a name.
    assert DURABILITY not in concerns_of("aws:autoscaling/group:Group")


def test_every_signal_reaches_a_type() -> None:
    reached = reach()
    assert [signal.id for signal in SIGNALS if not reached.get(signal.id)] == []


def test_signals_are_consistent() -> None:
    for signal in SIGNALS:
        re.compile(signal.names)
        assert signal.kind != Kind.SWITCH or signal.secure is not None, signal.id
        assert signal.kind != Kind.CHOICE or (signal.insecure or signal.accepted), signal.id
        judged_by_value = signal.kind not in (Kind.DOCUMENT, Kind.VARIABLES, Kind.CONTAINER_JSON, Kind.POD)
        assert not judged_by_value or signal.why or signal.absent == Absent.IGNORE, signal.id
    assert len(BY_ID) == len(SIGNALS)


def test_the_index_covers_hundreds_of_types() -> None:
    assert len(property_index().aws) > 300


@pytest.mark.parametrize(
    ("token", "path"),
    [
        ("aws:eks/podIdentityAssociation:PodIdentityAssociation", "policy"),
        ("aws:rolesanywhere/profile:Profile", "sessionPolicy"),
        ("aws:transfer/user:User", "policy"),
        ("aws:transfer/access:Access", "policy"),
        ("aws:odb/network:Network", "stsPolicyDocument"),
    ],
)
def test_documents_that_only_narrow_a_grant_are_no_grants(token: str, path: str) -> None:
    """A session (scope-down) policy, a permissions boundary or an endpoint policy limits what its
    holder's role allows; the provider says so in the property's description, which the mapping reads."""
    assert path not in concerns_of(token).get(IAM_DOCUMENTS, set())
    assert path in {prop.path for prop in schema_properties_of(token)}, "the property exists"


def test_grants_in_other_types_remain_documents() -> None:
    assert (
        "inlinePolicy" in concerns_of("aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy")[IAM_DOCUMENTS]
    )
    assert "policy" in concerns_of("aws:iot/policy:Policy")[IAM_DOCUMENTS]


def test_a_crawlers_seed_pages_are_no_destination() -> None:
    """A knowledge base's web crawler reads public pages over plain HTTP too; it sends nothing there."""
    source = concerns_of("aws:bedrock/agentDataSource:AgentDataSource").get(IN_TRANSIT, set())
    assert "dataSourceConfiguration.webConfiguration.sourceConfiguration.urlConfiguration.seedUrls[].url" not in source
    assert "dataSourceConfiguration.confluenceConfiguration.sourceConfiguration.hostUrl" in source


def test_settings_are_found_where_a_string_map_or_string_is_named_for_them() -> None:
    """Glue's connection properties, an MSK connector's configuration, an EMR security configuration's
    document and a DMS task's settings hold settings by key; a block named `configuration` does not."""
    assert "connectionProperties{}" in concerns_of("aws:glue/connection:Connection")[IN_TRANSIT]
    assert "connectorConfiguration{}" in concerns_of("aws:mskconnect/connector:Connector")[IN_TRANSIT]
    assert "configuration" in concerns_of("aws:emr/securityConfiguration:SecurityConfiguration")[AT_REST]
    assert "replicationTaskSettings" in concerns_of("aws:dms/replicationTask:ReplicationTask")[LOGGING]
    workgroup = {path for paths in concerns_of("aws:athena/workgroup:Workgroup").values() for path in paths}
    assert "configuration" not in workgroup, "a typed block is judged by its own properties"
    assert "tags{}" not in {path for paths in concerns_of("aws:glue/connection:Connection").values() for path in paths}


# Keys (as `properties.key_words` reads them) and the settings signal that judges each; None: none does.
SETTING_KEYS = [
    ("jdbc_enforce_ssl", "setting-in-transit"),
    ("kafka_ssl_enabled", "setting-in-transit"),
    ("enable_in_transit_encryption", "setting-in-transit"),
    ("spark_ssl_enabled", "setting-in-transit"),
    ("spark_authenticate_enable_sasl_encryption", "setting-in-transit"),
    ("rds_force_ssl", "setting-in-transit"),
    ("tls_verify", "setting-in-transit"),
    ("kafka_skip_custom_cert_validation", "setting-in-transit-off"),
    ("splunk_insecureskipverify", "setting-in-transit-off"),
    ("database_history_producer_security_protocol", "setting-in-transit-mode"),
    ("database_sslmode", "setting-in-transit-mode"),
    ("enable_at_rest_encryption", "setting-at-rest"),
    ("enable_ebs_encryption", "setting-at-rest"),
    ("spark_io_encryption_enabled", "setting-at-rest"),
    ("disable_encryption", "setting-at-rest-off"),
    ("encryption_mode", "setting-at-rest-mode"),
    ("aws_kms_key", "setting-customer-key"),
    ("enable_logging", "setting-logging"),
    ("centralized_logging_enabled", "setting-logging"),
    # Authentication, metadata about data, a log that is no audit log, where certificates are kept.
    ("sasl_enabled", None),
    ("has_encrypted_data", None),
    ("spark_event_log_enabled", None),
    ("ssl_truststore_location", None),
    ("ssl_client_auth", None),
]


@pytest.mark.parametrize(("words", "judged_by"), SETTING_KEYS, ids=[words for words, _ in SETTING_KEYS])
def test_a_settings_key_is_judged_by_the_signal_its_words_name(words: str, judged_by: str | None) -> None:
    judging = [
        signal.id
        for signal in SIGNALS
        if signal.settings is not None
        and signal.settings.keys is not None
        and re.fullmatch(signal.settings.keys, words)
        and signal.id != "setting-customer-key-mode"
    ]
    assert judging == ([judged_by] if judged_by else [])
