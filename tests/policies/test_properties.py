"""How the property index is applied (`policies/modelplane_guard/properties.py`): where a path leads in a
resource's inputs, and what a value, or its absence, means for the signal that names it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policies.modelplane_guard.common import Unknowns
from policies.modelplane_guard.properties import (
    Entry,
    Options,
    held_settings,
    judge,
    key_words,
    path_steps,
    property_index,
    resolve,
)
from policies.modelplane_guard.property_map import BY_ID
from tests.policies.harness import PREVIEW, UNKNOWN, secret, wire


def entry(path: str, signal: str, default: str | None = None) -> Entry:
    return Entry(path, path_steps(path), BY_ID[signal], default)


def found(props: dict[str, Any], path: str) -> list[tuple[str, Any, bool]]:
    return [(place.path, place.value, place.enclosed) for place in resolve(wire(props), path_steps(path))]


def problems(props: dict[str, Any], *entries: Entry, **options: Any) -> list[str]:
    """The messages, and the note the SDK gives when a verdict waited for a value not known yet."""
    unknowns = Unknowns()
    found = judge(wire(props), entries, Options(**options), unknowns)
    return [*found, f"{PREVIEW}{unknowns.first.message}"] if unknowns.first else found


def test_a_path_reaches_every_element_of_a_list_and_every_value_of_a_map() -> None:
    props = {"rules": [{"ebs": {"encrypted": True}}, {"ebs": {}}], "byName": {"a": {"on": False}}}
    assert found(props, "rules[].ebs.encrypted") == [
        ("rules[0].ebs.encrypted", True, True),
        ("rules[1].ebs.encrypted", None, True),
    ]
    assert found(props, "byName{}.on") == [("byName.a.on", False, True)]


def test_a_top_level_block_left_out_is_judged_by_its_defaults() -> None:
    assert found({}, "encryptAtRest.enabled") == [("encryptAtRest.enabled", None, False)]


def test_a_nested_block_a_list_or_a_list_elements_block_left_out_leave_nothing_to_judge() -> None:
    assert found({"settings": {}}, "settings.mysqlSettings.sslMode") == []
    assert found({}, "ebsBlockDevices[].encrypted") == []
    assert found({"rules": [{"virtualName": "ephemeral0"}]}, "rules[].ebs.encrypted") == []


def test_a_documented_default_stands_for_the_value_left_out() -> None:
    insecure = entry("storageEncrypted", "at-rest-switch", "false")
    secure = entry("tlsEnabled", "in-transit-switch", "true")
    assert problems({}, insecure, secure) == [
        "storageEncrypted is not set, so it is false (the default): the data is stored unencrypted."
    ]
    assert problems({"storageEncrypted": "true"}, insecure) == []


def test_an_opt_in_switch_without_a_documented_default_is_off_when_left_out() -> None:
    assert problems({}, entry("transitEncryptionEnabled", "in-transit-switch")) == [
        "transitEncryptionEnabled is not set: traffic crosses the network unencrypted."
    ]
    assert problems({}, entry("encryptAtRest.enabled", "at-rest-block-switch")) == [], "no default for a left-out block"


def test_a_customer_key_is_required_only_where_configured() -> None:
    key = entry("kmsKeyId", "customer-key")
    assert problems({}, key) == [
        "kmsKeyId is not set: the data is encrypted with a key AWS manages (or not at all), whose policy you cannot restrict."
    ]
    assert problems({}, key, require_customer_key=False) == []
    assert problems(
        {"kmsKeyId": "arn:aws:kms:eu-west-1:123456789012:alias/aws/rds"}, key, require_customer_key=False
    ) == [
        "kmsKeyId is 'arn:aws:kms:eu-west-1:123456789012:alias/aws/rds': it names an AWS managed key, whose key policy you cannot restrict."
    ]


def test_a_key_block_left_out_counts_only_through_encryption_blocks() -> None:
    assert problems({}, entry("encryptionConfig.provider.keyArn", "customer-key-in-encryption-block")) == [
        "encryptionConfig.provider.keyArn is not set: the data is encrypted with a key AWS manages (or not at all), whose policy you cannot restrict."
    ]
    assert (
        problems(
            {},
            entry(
                "configuration.resultConfiguration.encryptionConfiguration.kmsKey", "customer-key-in-encryption-block"
            ),
        )
        == []
    )


def test_a_sibling_exempts_what_it_makes_harmless() -> None:
    listener = entry("protocol", "listener-protocol", "HTTP")
    redirect = {"defaultActions": [{"type": "redirect", "redirect": {"protocol": "HTTPS"}}]}
    forward = {"port": 80, "defaultActions": [{"type": "forward"}]}
    assert problems({"protocol": "HTTP", "port": 80, **redirect}, listener) == []
    assert problems({"protocol": "HTTP", **forward}, listener) == [
        "protocol is 'HTTP': clients connect over plain HTTP; redirect to HTTPS or listen on HTTPS."
    ]
    assert problems(forward, listener) == [
        "protocol is not set: clients connect over plain HTTP; redirect to HTTPS or listen on HTTPS."
    ], "an Application Load Balancer's listener without a protocol speaks HTTP"
    assert problems({"defaultActions": [{"type": "forward"}]}, listener) == [], "a Gateway Load Balancer's has no port"
    policy = entry("sslPolicy", "tls-policy", "ELBSecurityPolicy-2016-08")
    assert problems({"protocol": "HTTP"}, policy) == [], "a plain listener has no TLS policy to judge"
    assert problems({"protocol": "HTTPS"}, policy) == [
        "sslPolicy is not set, so it is 'ELBSecurityPolicy-2016-08' (the default): the listener's security policy accepts TLS versions older than 1.2."
    ]


def test_an_exemption_may_look_at_the_resource_itself() -> None:
    encryption = entry("serverSideEncryption.enabled", "at-rest-block-switch", "false")
    assert problems({}, encryption) == [
        "serverSideEncryption.enabled is not set, so it is false (the default): the data is stored unencrypted."
    ]
    assert problems({"kinesisSourceConfiguration": {"kinesisStreamArn": "arn:stream"}}, encryption) == []


def test_world_open_sources_are_judged_with_their_ports() -> None:
    cidrs = entry("ingress[].cidrBlock", "world-open-ingress")

    def rule(**fields: Any) -> dict[str, Any]:
        return {"ingress": [{"protocol": "tcp", "action": "allow", **fields}]}

    assert problems(rule(cidrBlock="0.0.0.0/0", fromPort=443, toPort=443), cidrs) == []
    assert problems(rule(cidrBlock="10.0.0.0/8", fromPort=22, toPort=22), cidrs) == []
    assert problems(rule(cidrBlock="0.0.0.0/0", fromPort=0, toPort=65535), cidrs) == [
        "ingress[0].cidrBlock includes the whole internet: it opens every port to 0.0.0.0/0; anyone on the internet can connect."
    ]
    assert problems(rule(cidrBlock="0.0.0.0/0", fromPort=8443, toPort=8443), cidrs, public_ports=(8443,)) == []


def test_a_minimum_is_the_configured_one() -> None:
    retention = entry("backupRetentionPeriod", "backup-retention", "0")
    assert problems({"backupRetentionPeriod": 7}, retention) == []
    assert problems({"backupRetentionPeriod": 7}, retention, min_backup_days=14) == [
        "backupRetentionPeriod is 7: keep automated backups for at least 14 days."
    ]


def test_plain_http_destinations() -> None:
    url = entry("httpEndpointConfiguration.url", "plain-http-url")
    assert problems({"httpEndpointConfiguration": {"url": "http://collector.example.com/ingest"}}, url) == [
        "httpEndpointConfiguration.url is 'http://collector.example.com/ingest': data is sent there over plain HTTP."
    ]
    assert problems({"httpEndpointConfiguration": {"url": "https://collector.example.com/ingest"}}, url) == []


def test_one_property_named_by_two_signals_is_reported_once() -> None:
    alias = {"kmsKeyId": "alias/aws/rds"}
    assert problems(alias, entry("kmsKeyId", "customer-key"), entry("kmsKeyId", "customer-key-named")) == [
        "kmsKeyId is 'alias/aws/rds': it names an AWS managed key, whose key policy you cannot restrict."
    ]


def test_the_shipped_index_knows_the_kubernetes_kinds() -> None:
    index = property_index()
    assert index.pod_spec_paths["kubernetes:batch/v1:CronJob"] == ("spec", "jobTemplate", "spec", "template", "spec")
    assert "kubernetes:core/v1:ConfigMap" in index.builtin_kubernetes
    assert "kubernetes:argoproj.io/v1alpha1:Rollout" not in index.builtin_kubernetes


def test_numbers_arrive_as_floats_and_read_as_the_program_wrote_them() -> None:
    """Over gRPC every number is a float: protocol -1 is -1.0, which is still every protocol."""
    cidrs = entry("ingress[].cidrBlock", "world-open-ingress")
    every_protocol = {
        "ingress": [{"protocol": -1, "action": "allow", "cidrBlock": "0.0.0.0/0", "fromPort": 443, "toPort": 443}]
    }
    opens_every_port = [
        "ingress[0].cidrBlock includes the whole internet: it opens every port to 0.0.0.0/0; anyone on the internet can connect."
    ]
    assert problems(every_protocol, cidrs) == opens_every_port
    for spelling in ("-1.0", "all", "ALL"):
        rule = {**every_protocol["ingress"][0], "protocol": spelling}
        assert problems({"ingress": [rule]}, cidrs) == opens_every_port, spelling


def test_a_value_not_known_yet_costs_only_its_own_verdict() -> None:
    """During preview an output of another resource is unknown: a key reference to be known names a key,
    a setting to be known waits (the SDK notes it), and the verdicts beside it are given."""
    key = entry("kmsKeyId", "customer-key")
    assert problems({"kmsKeyId": UNKNOWN}, key) == []
    switch = entry("storageEncrypted", "at-rest-switch", "false")
    public = entry("publiclyAccessible", "public-flag", "false")
    assert problems({"storageEncrypted": UNKNOWN, "publiclyAccessible": True}, switch, public) == [
        "publiclyAccessible is true: it is reachable from the internet.",
        f"{PREVIEW}string value at .storageEncrypted can't be known during preview",
    ]


def test_exemptions_are_read_only_for_a_finding() -> None:
    """A function permission for API Gateway whose source ARN is an output: the principal is no wildcard,
    so nothing waits for the ARN; for a wildcard principal, an ARN to be known exempts it as any ARN would."""
    principal = entry("principal", "wildcard-principal")
    assert problems({"principal": "apigateway.amazonaws.com", "sourceArn": UNKNOWN}, principal) == []
    assert problems({"principal": "*", "sourceArn": UNKNOWN}, principal) == []
    assert problems({"principal": "*"}, principal) == ["principal is '*': any AWS account may invoke or use it."]
    listener = entry("protocol", "listener-protocol", "HTTP")
    assert problems(
        {"protocol": "HTTP", "defaultActions": [{"type": "redirect", "redirect": {"protocol": UNKNOWN}}]}, listener
    ) == [f"{PREVIEW}string value at .defaultActions.0.redirect.protocol can't be known during preview"]


def test_a_url_is_shown_without_its_credentials_or_query() -> None:
    url = entry("httpEndpointConfiguration.url", "plain-http-url")
    leaky = "http://ingest:S3cr3tP4ss@collector.example.com:8080/ingest?token=abc123#frag"
    assert problems({"httpEndpointConfiguration": {"url": leaky}}, url) == [
        "httpEndpointConfiguration.url is 'http://collector.example.com:8080/ingest': data is sent there over plain HTTP."
    ]


# --- settings held by key ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("JDBC_ENFORCE_SSL", "jdbc_enforce_ssl"),
        ("EnableInTransitEncryption", "enable_in_transit_encryption"),
        ("spark.ssl.enabled", "spark_ssl_enabled"),
        ("--encryption-type", "encryption_type"),
        ("useSSL", "use_ssl"),
        ("S3EncryptionConfiguration", "s3_encryption_configuration"),
        ("KMSKeyId", "kms_key_id"),
    ],
)
def test_a_keys_words_do_not_depend_on_how_the_service_spells_it(key: str, words: str) -> None:
    assert key_words(key) == words


def held(value: Any, name: str = "configuration") -> list[tuple[str, str, Any]]:
    return [(setting.path, setting.words, setting.value) for setting in held_settings(wire({"v": value})["v"], name)]


def test_settings_are_read_from_a_map_or_a_json_document_at_any_depth() -> None:
    assert sorted(held({"JDBC_ENFORCE_SSL": "true", "spark.ssl.enabled": "false"}, "connectionProperties")) == [
        (".JDBC_ENFORCE_SSL", "jdbc_enforce_ssl", "true"),
        ('["spark.ssl.enabled"]', "spark_ssl_enabled", "false"),
    ]
    document = json.dumps([{"Classification": "spark", "Properties": {"spark.io.encryption.enabled": "true"}}])
    assert held(document) == [
        ("[0].Classification", "classification", "spark"),
        ('[0].Properties["spark.io.encryption.enabled"]', "spark_io_encryption_enabled", "true"),
    ]


def test_a_bare_switch_reads_with_its_blocks_words() -> None:
    """`centralizedLogging.enabled` is a logging switch; at the top of a map, the property names the block."""
    assert held(json.dumps({"centralizedLogging": {"enabled": False}})) == [
        (".centralizedLogging.enabled", "centralized_logging_enabled", False)
    ]
    assert held({"enabled": "false"}, "loggingProperties") == [(".enabled", "logging_properties_enabled", "false")]


def test_settings_are_read_from_key_value_text() -> None:
    """A Java properties file (an MSK configuration's `serverProperties`) or `;`-separated attributes (a DMS
    endpoint's `extraConnectionAttributes`)."""
    properties = "auto.create.topics.enable = true\n# brokers speak TLS only\nssl.client.auth=required\n"
    assert held(properties, "serverProperties") == [
        ('["auto.create.topics.enable"]', "auto_create_topics_enable", "true"),
        ('["ssl.client.auth"]', "ssl_client_auth", "required"),
    ]
    assert held("encryptionMode=SSE_S3;dataFormat=parquet", "extraConnectionAttributes") == [
        (".encryptionMode", "encryption_mode", "SSE_S3"),
        (".dataFormat", "data_format", "parquet"),
    ]


def test_a_string_that_is_no_settings_document_holds_no_settings() -> None:
    """A security configuration's name, a URL to a configurations file (with a query), text that does not
    parse, prose with an equals sign."""
    assert held("emr-baseline") == []
    assert held("https://example.com/configurations.json?version=3") == []
    assert held('{"EncryptionConfiguration": ') == []
    assert held("retries = 3 unless the broker is down; see the runbook") == []


def test_a_required_setting_left_out_is_judged_and_one_set_is_judged_by_its_value() -> None:
    jdbc = entry("connectionProperties{}", "glue-jdbc-enforce-ssl")
    url = {"JDBC_CONNECTION_URL": "jdbc:postgresql://db:5432/features"}
    assert problems({"connectionProperties": url}, jdbc) == [
        "connectionProperties.JDBC_ENFORCE_SSL is not set, so it is false (the default): traffic crosses the network unencrypted."
    ]
    assert problems({"connectionProperties": {**url, "JDBC_ENFORCE_SSL": "true"}}, jdbc) == []
    assert problems({"connectionType": "NETWORK"}, jdbc) == [], "only a JDBC connection has the key"
    transit = entry("configuration", "emr-security-configuration-in-transit")
    assert problems({"configuration": json.dumps({"EncryptionConfiguration": {}})}, transit) == [
        "configuration.EncryptionConfiguration.EnableInTransitEncryption is not set: traffic crosses the network unencrypted."
    ]


def test_a_setting_is_on_or_off_as_services_spell_it() -> None:
    switch = entry("properties{}", "setting-in-transit")
    for off in ("false", "FALSE", "0", "off", "Disabled", "no"):
        assert problems({"properties": {"tls.enabled": off}}, switch) == [
            f"properties[\"tls.enabled\"] is '{off}': traffic crosses the network unencrypted."
        ], off
    for on in ("true", "1", "On", "ENABLED", "yes", "verify-full"):
        assert problems({"properties": {"tls.enabled": on}}, switch) == [], on


def test_a_setting_not_known_yet_costs_only_its_own_verdict() -> None:
    switch = entry("connectionProperties{}", "setting-in-transit")
    assert problems({"connectionProperties": {"KAFKA_SSL_ENABLED": UNKNOWN, "JDBC_ENFORCE_SSL": "false"}}, switch) == [
        "connectionProperties.JDBC_ENFORCE_SSL is 'false': traffic crosses the network unencrypted.",
        f"{PREVIEW}string value at .connectionProperties.KAFKA_SSL_ENABLED can't be known during preview",
    ]


def test_a_document_marked_secret_shows_no_value() -> None:
    mode = entry("configuration", "setting-customer-key-mode")
    document = json.dumps({"S3EncryptionConfiguration": {"EncryptionMode": "SSE-S3"}})
    assert problems({"configuration": secret(document)}, mode) == [
        "configuration.S3EncryptionConfiguration.EncryptionMode is [secret]: the data is encrypted with a key AWS owns, not a customer managed KMS key."
    ]
