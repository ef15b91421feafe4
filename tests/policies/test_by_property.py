"""Rules of `policies/modelplane_guard/by_property.py` (one concern each, on every AWS type whose inputs express
it): compliant and non-compliant inputs of types no rule names, with the exact messages; and, per concern, a
real type that reaches its rule only through the provider's schema, as a type a later provider release adds
would."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pulumi_aws
import pytest
from pulumi_policy import ResourceValidationPolicy

from policies.modelplane_guard import by_property, properties
from policies.modelplane_guard.common import CONCERN_TAG_PREFIX
from policies.modelplane_guard.properties import INDEX_FILE, index_of
from policies.modelplane_guard.property_map import SIGNALS
from tests.policies.harness import (
    BY_NAME,
    KEY_ARN,
    NOT_APPLICABLE,
    PREVIEW,
    PRODUCTION_OFF,
    TAGS,
    UNKNOWN,
    Case,
    Res,
    case_id,
    document,
    one,
    run,
    secret,
    uncovered,
)
from tools.generate.property_index import registered_resources, schema_properties, type_entries

RDS = "aws:rds/instance:Instance"
DYNAMODB = "aws:dynamodb/table:Table"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
SEARCH = "aws:opensearch/domain:Domain"
LISTENER = "aws:lb/listener:Listener"
CDN = "aws:cloudfront/distribution:Distribution"
EKS = "aws:eks/cluster:Cluster"
STAGE = "aws:apigatewayv2/stage:Stage"
INSTANCE = "aws:ec2/instance:Instance"
NACL = "aws:ec2/networkAcl:NetworkAcl"
ACL_RULE = {"protocol": "tcp", "ruleNo": 100, "action": "allow", "cidrBlock": "0.0.0.0/0"}
ROLE = "arn:aws:iam::123456789012:role/feature-store"
LB_ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/scorer/50dc6c495c0c9188"
SERVERLESS_POLICY = "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy"
BEANSTALK_TEMPLATE = "aws:elasticbeanstalk/configurationTemplate:ConfigurationTemplate"


def beanstalk_template(*settings: tuple[str, str, Any]) -> dict[str, Any]:
    """An Elastic Beanstalk configuration template whose option settings follow its environment type's."""
    return {
        "application": "scorer",
        "name": "scorer-prod",
        "settings": [
            {"namespace": "aws:elasticbeanstalk:environment", "name": "EnvironmentType", "value": "LoadBalanced"},
            *({"namespace": namespace, "name": name, "value": value} for namespace, name, value in settings),
        ],
    }


def postgres(**changes: Any) -> dict[str, Any]:
    """An RDS instance as a platform team's production template writes it."""
    return {
        "engine": "postgres",
        "instanceClass": "db.r6g.large",
        "allocatedStorage": 100,
        "dbSubnetGroupName": "private",
        "storageEncrypted": True,
        "kmsKeyId": KEY_ARN,
        "backupRetentionPeriod": 14,
        "deletionProtection": True,
        "finalSnapshotIdentifier": "features-final",
        "enabledCloudwatchLogsExports": ["postgresql"],
        "tags": TAGS,
        **changes,
    }


def table(**changes: Any) -> dict[str, Any]:
    return {
        "hashKey": "id",
        "attributes": [{"name": "id", "type": "S"}],
        "pointInTimeRecovery": {"enabled": True},
        "serverSideEncryption": {"enabled": True, "kmsKeyArn": KEY_ARN},
        "deletionProtectionEnabled": True,
        "tags": TAGS,
        **changes,
    }


def cache(**changes: Any) -> dict[str, Any]:
    return {
        "description": "feature cache",
        "engine": "redis",
        "nodeType": "cache.r7g.large",
        "atRestEncryptionEnabled": True,
        "kmsKeyId": KEY_ARN,
        "transitEncryptionEnabled": True,
        "snapshotRetentionLimit": 7,
        "tags": TAGS,
        **changes,
    }


def search(**changes: Any) -> dict[str, Any]:
    return {
        "engineVersion": "OpenSearch_2.13",
        "vpcOptions": {"subnetIds": ["subnet-0a1b"], "securityGroupIds": ["sg-0c3d"]},
        "encryptAtRest": {"enabled": True, "kmsKeyId": KEY_ARN},
        "nodeToNodeEncryption": {"enabled": True},
        "domainEndpointOptions": {"enforceHttps": True, "tlsSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"},
        "logPublishingOptions": [{"logType": "AUDIT_LOGS", "cloudwatchLogGroupArn": "arn:aws:logs:::log-group:x"}],
        "tags": TAGS,
        **changes,
    }


def instance(**changes: Any) -> dict[str, Any]:
    return {
        "ami": "ami-0a1b",
        "instanceType": "g5.xlarge",
        "subnetId": "subnet-0a1b",
        "rootBlockDevice": {"encrypted": True, "kmsKeyId": KEY_ARN},
        "metadataOptions": {"httpTokens": "required"},
        "tags": TAGS,
        **changes,
    }


FORWARD = [{"type": "forward", "targetGroupArn": "arn:tg"}]
REDIRECT = [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]
STORED_UNENCRYPTED = "the data is stored unencrypted."
AWS_KEY = "the data is encrypted with a key AWS manages (or not at all), whose policy you cannot restrict."

CASES: list[Case] = [
    # --- encryption at rest ---------------------------------------------------------------------------
    one("encryption-at-rest", "compliant", RDS, postgres(), []),
    one(
        "encryption-at-rest",
        "switch-left-out-takes-the-documented-default",
        RDS,
        postgres(storageEncrypted=None),
        [f"storageEncrypted is not set, so it is false (the default): {STORED_UNENCRYPTED}"],
    ),
    one(
        "encryption-at-rest",
        "switch-turned-off",
        CACHE,
        cache(atRestEncryptionEnabled=False),
        [f"atRestEncryptionEnabled is false: {STORED_UNENCRYPTED}"],
    ),
    one(
        "encryption-at-rest",
        "nested-block-left-out",
        SEARCH,
        search(encryptAtRest=None),
        [f"encryptAtRest.enabled is not set, so it is false (the default): {STORED_UNENCRYPTED}"],
    ),
    one(
        "encryption-at-rest",
        "every-element-of-a-list",
        INSTANCE,
        instance(ebsBlockDevices=[{"deviceName": "/dev/sdb", "encrypted": True}, {"deviceName": "/dev/sdc"}]),
        [f"ebsBlockDevices[1].encrypted is not set, so it is false (the default): {STORED_UNENCRYPTED}"],
    ),
    one(
        "encryption-at-rest",
        "mode-none",
        "aws:kinesis/stream:Stream",
        {"encryptionType": "NONE", "tags": TAGS},
        [f"encryptionType is 'NONE': {STORED_UNENCRYPTED}"],
    ),
    one("encryption-at-rest", "a-type-without-the-property", "aws:sns/topicSubscription:TopicSubscription", {}, []),
    one(
        "encryption-at-rest",
        "cluster-without-security-configuration",
        "aws:emr/cluster:Cluster",
        {"releaseLabel": "emr-7.1.0", "serviceRole": ROLE, "tags": TAGS},
        ["securityConfiguration is not set: no security configuration encrypts its data, logs and traffic."],
    ),
    # --- customer managed keys ------------------------------------------------------------------------
    one("encryption-customer-managed-key", "compliant", DYNAMODB, table(), []),
    one(
        "encryption-customer-managed-key",
        "key-left-out",
        RDS,
        postgres(kmsKeyId=None),
        [f"kmsKeyId is not set: {AWS_KEY}"],
    ),
    one(
        "encryption-customer-managed-key",
        "encryption-block-left-out",
        DYNAMODB,
        table(serverSideEncryption=None),
        [f"serverSideEncryption.kmsKeyArn is not set: {AWS_KEY}"],
    ),
    one(
        "encryption-customer-managed-key",
        "aws-managed-alias",
        RDS,
        postgres(kmsKeyId="alias/aws/rds"),
        [
            "kmsKeyId is 'alias/aws/rds': it names an AWS managed key, whose key policy you cannot restrict.",
        ],
    ),
    one(
        "encryption-customer-managed-key",
        "aws-managed-alias-anywhere",
        "aws:sagemaker/featureGroup:FeatureGroup",
        {"onlineStoreConfig": {"securityConfig": {"kmsKeyId": "alias/aws/sagemaker"}}, "tags": TAGS},
        [
            "onlineStoreConfig.securityConfig.kmsKeyId is 'alias/aws/sagemaker': it names an AWS managed key, whose key policy you cannot restrict."
        ],
    ),
    one(
        "encryption-customer-managed-key",
        "not-required-here",
        RDS,
        postgres(kmsKeyId=None),
        [],
        config={"requireCustomerKey": False},
    ),
    # --- encryption in transit ------------------------------------------------------------------------
    one("encryption-in-transit", "compliant", CACHE, cache(), []),
    one(
        "encryption-in-transit",
        "opt-in-switch-left-out",
        CACHE,
        cache(transitEncryptionEnabled=None),
        ["transitEncryptionEnabled is not set: traffic crosses the network unencrypted."],
    ),
    one(
        "encryption-in-transit",
        "http-listener",
        LISTENER,
        {"loadBalancerArn": "arn:lb", "port": 80, "protocol": "HTTP", "defaultActions": FORWARD},
        ["protocol is 'HTTP': clients connect over plain HTTP; redirect to HTTPS or listen on HTTPS."],
    ),
    one(
        "encryption-in-transit",
        "http-listener-redirecting-to-https",
        LISTENER,
        {"loadBalancerArn": "arn:lb", "port": 80, "protocol": "HTTP", "defaultActions": REDIRECT},
        [],
    ),
    one(
        "encryption-in-transit",
        "https-listener-with-the-default-policy",
        LISTENER,
        {"loadBalancerArn": "arn:lb", "port": 443, "protocol": "HTTPS", "defaultActions": FORWARD},
        [
            "sslPolicy is not set, so it is 'ELBSecurityPolicy-2016-08' (the default): the listener's security policy accepts TLS versions older than 1.2."
        ],
    ),
    one(
        "encryption-in-transit",
        "viewer-any-protocol",
        CDN,
        {
            "enabled": True,
            "defaultCacheBehavior": {"viewerProtocolPolicy": "allow-all"},
            "viewerCertificate": {"minimumProtocolVersion": "TLSv1.2_2021"},
        },
        ["defaultCacheBehavior.viewerProtocolPolicy is 'allow-all': viewers may use plain HTTP."],
    ),
    *(
        one(
            "encryption-in-transit",
            f"origin-over-{'-'.join(protocols).lower()}",
            CDN,
            {
                "enabled": True,
                "defaultCacheBehavior": {"viewerProtocolPolicy": "redirect-to-https"},
                "viewerCertificate": {"minimumProtocolVersion": "TLSv1.2_2021"},
                "origins": [
                    {
                        "domainName": "scorer.example.com",
                        "originId": "scorer",
                        "customOriginConfig": {
                            "httpPort": 80,
                            "httpsPort": 443,
                            "originProtocolPolicy": "https-only",
                            "originSslProtocols": protocols,
                        },
                    }
                ],
            },
            expected,
        )
        for protocols, expected in (
            (["TLSv1.2"], []),
            (
                ["TLSv1.1", "TLSv1.2"],
                [
                    "origins[0].customOriginConfig.originSslProtocols is ['TLSv1.1', 'TLSv1.2']: it accepts TLS versions older than 1.2."
                ],
            ),
        )
    ),
    one(
        "encryption-in-transit",
        "dms-kafka-target-in-plaintext",
        "aws:dms/endpoint:Endpoint",
        {
            "endpointId": "scores-stream",
            "endpointType": "target",
            "engineName": "kafka",
            "kafkaSettings": {"broker": "b-1.scores:9092", "topic": "scores", "securityProtocol": "sasl-plaintext"},
            "tags": TAGS,
        },
        ["kafkaSettings.securityProtocol is 'sasl-plaintext': clients may connect without TLS."],
    ),
    # --- public exposure ------------------------------------------------------------------------------
    one("public-exposure", "compliant", RDS, postgres(), []),
    one(
        "public-exposure",
        "publicly-accessible",
        RDS,
        postgres(publiclyAccessible=True),
        ["publiclyAccessible is true: it is reachable from the internet."],
    ),
    one(
        "public-exposure",
        "public-endpoint-by-default",
        EKS,
        {"roleArn": ROLE, "vpcConfig": {"subnetIds": ["subnet-0a1b"]}},
        [
            "vpcConfig.endpointPublicAccess is not set, so it is true (the default): the API endpoint is open to the whole internet (publicAccessCidrs is unset or 0.0.0.0/0)."
        ],
    ),
    one(
        "public-exposure",
        "public-endpoint-for-listed-networks",
        EKS,
        {
            "roleArn": ROLE,
            "vpcConfig": {
                "subnetIds": ["subnet-0a1b"],
                "endpointPublicAccess": True,
                "publicAccessCidrs": ["203.0.113.0/24"],
            },
        },
        [],
    ),
    # The listed sources are judged as every source-range rule judges them (`common.is_world`): the
    # internet in halves, or spelt with a space or host bits, is still the internet.
    *(
        one(
            "public-exposure",
            f"public-endpoint-for-{label}",
            EKS,
            {
                "roleArn": ROLE,
                "vpcConfig": {"subnetIds": ["subnet-0a1b"], "endpointPublicAccess": True, "publicAccessCidrs": cidrs},
            },
            [
                "vpcConfig.endpointPublicAccess is true: the API endpoint is open to the whole internet (publicAccessCidrs is unset or 0.0.0.0/0)."
            ],
        )
        for label, cidrs in (
            ("the-internet-in-halves", ["0.0.0.0/1", "128.0.0.0/1"]),
            ("the-internet-spelt-with-a-space", ["203.0.113.0/24", "0.0.0.0/0 "]),
            ("the-internet-with-host-bits", ["198.51.100.7/0"]),
            ("a-wide-ipv6-range", ["2001:db8::/12"]),
        )
    ),
    one(
        "public-exposure",
        "world-open-acl",
        NACL,
        {"vpcId": "vpc-1", "ingress": [{**ACL_RULE, "fromPort": 22, "toPort": 22}], "tags": TAGS},
        [
            "ingress[0].cidrBlock includes the whole internet: it opens port 22 (SSH) to 0.0.0.0/0; anyone on the internet can connect."
        ],
    ),
    one(
        "public-exposure",
        "world-open-acl-on-https-only",
        NACL,
        {"vpcId": "vpc-1", "ingress": [{**ACL_RULE, "fromPort": 443, "toPort": 443}], "tags": TAGS},
        [],
    ),
    one(
        "public-exposure",
        "world-denied-acl",
        NACL,
        {"vpcId": "vpc-1", "ingress": [{**ACL_RULE, "action": "deny", "fromPort": 0, "toPort": 65535}], "tags": TAGS},
        [],
    ),
    one(
        "public-exposure",
        "search-domain-outside-the-vpc",
        SEARCH,
        search(vpcOptions=None),
        [
            "vpcOptions is not set: without vpcOptions its endpoint is on the internet, guarded only by its access policy."
        ],
    ),
    # --- public exposure of data (no waiver accepts it) -----------------------------------------------
    one(
        "public-data-exposure",
        "account-public-access-block-closed",
        "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
        {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True},
        [],
    ),
    one(
        "public-data-exposure",
        "account-public-access-block-left-open",
        "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
        {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True},
        [
            "restrictPublicBuckets is not set, so it is false (the default): this public access block lets public access to the data through."
        ],
    ),
    one(
        "public-data-exposure",
        "snapshot-shared-with-every-account",
        "aws:rds/snapshotCopy:SnapshotCopy",
        {
            "sourceDbSnapshotIdentifier": "features-1",
            "targetDbSnapshotIdentifier": "features-1-copy",
            "sharedAccounts": ["all"],
        },
        ["sharedAccounts is ['all']: every AWS account can copy it."],
    ),
    one(
        "public-exposure",
        "emr-account-lets-clusters-open-ports",
        "aws:emr/blockPublicAccessConfiguration:BlockPublicAccessConfiguration",
        {"blockPublicSecurityGroupRules": False},
        [
            "blockPublicSecurityGroupRules is false: this public access block lets clusters open ports to the whole internet."
        ],
    ),
    one(
        "public-exposure",
        "cors-preflight-needs-no-authorizer",
        "aws:apigateway/method:Method",
        {"restApi": "a1b2", "resourceId": "r1", "httpMethod": "OPTIONS", "authorization": "NONE"},
        [],
    ),
    one(
        "public-exposure",
        "unauthenticated-method",
        "aws:apigateway/method:Method",
        {"restApi": "a1b2", "resourceId": "r1", "httpMethod": "POST", "authorization": "NONE"},
        ["authorization is 'NONE': anyone on the internet can call it without authenticating."],
    ),
    # --- audit logging -------------------------------------------------------------------------------
    one(
        "audit-logging",
        "compliant",
        STAGE,
        {
            "apiId": "a1b2",
            "name": "prod",
            "accessLogSettings": {"destinationArn": "arn:log", "format": "$context.requestId"},
        },
        [],
    ),
    one(
        "audit-logging",
        "no-access-log",
        STAGE,
        {"apiId": "a1b2", "name": "prod"},
        ["accessLogSettings is not set: no access or audit log is kept."],
    ),
    one(
        "audit-logging",
        "log-block-without-its-switch",
        "aws:lb/loadBalancer:LoadBalancer",
        {"accessLogs": {"bucket": "access-logs"}, "tags": TAGS},
        ["accessLogs.enabled is not set, so it is false (the default): the log is switched off."],
    ),
    one(
        "audit-logging",
        "empty-exports",
        RDS,
        postgres(enabledCloudwatchLogsExports=[]),
        ["enabledCloudwatchLogsExports is not set: no access or audit log is kept."],
    ),
    # --- data durability -----------------------------------------------------------------------------
    one("data-durability", "compliant", DYNAMODB, table(), []),
    one(
        "data-durability",
        "no-point-in-time-recovery",
        DYNAMODB,
        table(pointInTimeRecovery=None),
        [
            "pointInTimeRecovery.enabled is not set, so it is false (the default): a bad write or delete cannot be rolled back."
        ],
    ),
    one(
        "data-durability",
        "short-backups",
        RDS,
        postgres(backupRetentionPeriod=1),
        ["backupRetentionPeriod is 1: keep automated backups for at least 7 days."],
    ),
    one(
        "data-durability",
        "undocumented-retention-left-out",
        CACHE,
        cache(snapshotRetentionLimit=None),
        ["snapshotRetentionLimit is not set: no automated backups are kept; keep them for at least 7 days."],
    ),
    one(
        "data-durability",
        "read-replica-takes-its-source-backups",
        RDS,
        postgres(backupRetentionPeriod=0, replicateSourceDb="features"),
        [],
    ),
    one(
        "data-durability",
        "not-production",
        RDS,
        postgres(deletionProtection=False),
        NOT_APPLICABLE,
        config=PRODUCTION_OFF,
    ),
    # Settings documents that are security policies, not grants: their keys, never an IAM document's.
    one(
        "public-exposure",
        "serverless-network-policy-private",
        SERVERLESS_POLICY,
        {"name": "vectors", "type": "network", "policy": json.dumps([{"Rules": [], "AllowFromPublic": False}])},
        [],
    ),
    one(
        "encryption-customer-managed-key",
        "serverless-encryption-policy-customer-key",
        SERVERLESS_POLICY,
        {
            "name": "vectors",
            "type": "encryption",
            "policy": json.dumps({"Rules": [], "AWSOwnedKey": False, "KmsARN": KEY_ARN}),
        },
        [],
    ),
    # Option settings as a list of {namespace, name, value} blocks.
    one(
        "instance-metadata-v2",
        "option-setting-allows-imds-v1",
        BEANSTALK_TEMPLATE,
        beanstalk_template(("aws:autoscaling:launchconfiguration", "DisableIMDSv1", "false")),
        [
            "settings[1] (aws:autoscaling:launchconfiguration:DisableIMDSv1) is 'false': IMDSv1 answers unauthenticated requests, so an SSRF bug leaks the instance role's credentials."
        ],
    ),
    one(
        "instance-metadata-v2",
        "option-setting-disables-imds-v1",
        BEANSTALK_TEMPLATE,
        beanstalk_template(("aws:autoscaling:launchconfiguration", "DisableIMDSv1", "true")),
        [],
    ),
    one(
        "instance-metadata-v2",
        "option-setting-not-known-yet",
        BEANSTALK_TEMPLATE,
        beanstalk_template(("aws:autoscaling:launchconfiguration", "DisableIMDSv1", UNKNOWN)),
        [f"{PREVIEW}string value at .settings.1.value can't be known during preview"],
    ),
    one(
        "audit-logging",
        "option-setting-logs-not-streamed",
        BEANSTALK_TEMPLATE,
        beanstalk_template(("aws:elasticbeanstalk:cloudwatch:logs", "StreamLogs", "false")),
        ["settings[1] (aws:elasticbeanstalk:cloudwatch:logs:StreamLogs) is 'false': the log is switched off."],
    ),
    # Point-in-time recovery as a property of its own or as a status, deletion protection as a state.
    one(
        "data-durability",
        "replica-without-point-in-time-recovery",
        "aws:dynamodb/tableReplica:TableReplica",
        {"globalTableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/labels", "kmsKeyArn": KEY_ARN},
        ["pointInTimeRecovery is not set, so it is false (the default): a bad write or delete cannot be rolled back."],
    ),
    one(
        "data-durability",
        "recovery-status-disabled",
        "aws:keyspaces/table:Table",
        {"keyspaceName": "events", "tableName": "clicks", "pointInTimeRecovery": {"status": "DISABLED"}},
        ["pointInTimeRecovery.status is 'DISABLED': a bad write or delete cannot be rolled back."],
    ),
    one(
        "data-durability",
        "recovery-status-enabled",
        "aws:keyspaces/table:Table",
        {"keyspaceName": "events", "tableName": "clicks", "pointInTimeRecovery": {"status": "ENABLED"}},
        [],
    ),
    one(
        "data-durability",
        "deletion-protection-inactive-by-default",
        "aws:cognito/userPool:UserPool",
        {"name": "annotators"},
        [
            "deletionProtection is not set, so it is 'INACTIVE' (the default): one API call (or a mistaken `pulumi destroy`) deletes it and its data."
        ],
    ),
    one(
        "data-durability",
        "deletion-protection-active",
        "aws:cognito/userPool:UserPool",
        {"deletionProtection": "ACTIVE"},
        [],
    ),
    # --- instance metadata ---------------------------------------------------------------------------
    one("instance-metadata-v2", "compliant", INSTANCE, instance(), []),
    one(
        "instance-metadata-v2",
        "options-left-out",
        INSTANCE,
        instance(metadataOptions=None),
        [
            "metadataOptions.httpTokens is not set: IMDSv1 answers unauthenticated requests, so an SSRF bug leaks the instance role's credentials."
        ],
    ),
    one(
        "instance-metadata-v2",
        "tokens-optional",
        "aws:ec2/launchTemplate:LaunchTemplate",
        {"metadataOptions": {"httpTokens": "optional"}, "tags": TAGS},
        [
            "metadataOptions.httpTokens is 'optional': IMDSv1 answers unauthenticated requests, so an SSRF bug leaks the instance role's credentials."
        ],
    ),
]

LAMBDA = "aws:lambda/function:Function"
FUNCTION = {"role": ROLE, "runtime": "python3.12", "handler": "app.handler", "tags": TAGS}
REPLICA = {"replicateSourceDb": "feature-store-db", "instanceClass": "db.r6g.large", "deletionProtection": True}
MSK = "aws:msk/cluster:Cluster"
ACL_ENTRY = "aws:ec2/networkAclRule:NetworkAclRule"
ACL_ENTRY_PROPS = {"networkAclId": "acl-0a1b", "ruleNumber": 100, "protocol": "-1", "cidrBlock": "0.0.0.0/0"}


def broker_logs(**destinations: bool) -> dict[str, Any]:
    return {"brokerLogs": {name: {"enabled": enabled} for name, enabled in destinations.items()}}


CASES += [
    # --- what a read replica takes from its source ---------------------------------------------------
    one("encryption-at-rest", "read-replica-inherits-encryption", RDS, {**REPLICA, "tags": TAGS}, []),
    one("encryption-customer-managed-key", "read-replica-inherits-its-key", RDS, {**REPLICA, "tags": TAGS}, []),
    one(
        "data-durability",
        "read-replica-needs-no-final-snapshot",
        RDS,
        {**REPLICA, "skipFinalSnapshot": True, "enabledCloudwatchLogsExports": ["postgresql"], "tags": TAGS},
        [],
    ),
    # --- a function's key encrypts its environment variables, and nothing else -----------------------
    one("encryption-customer-managed-key", "function-without-environment", LAMBDA, FUNCTION, []),
    one(
        "encryption-customer-managed-key",
        "function-environment-under-the-aws-key",
        LAMBDA,
        {**FUNCTION, "environment": {"variables": {"STAGE": "prod"}}},
        [
            "kmsKeyArn is not set: its environment variables are encrypted with a key AWS manages, whose policy you cannot restrict."
        ],
    ),
    # --- a listener that names no protocol speaks HTTP -----------------------------------------------
    one(
        "encryption-in-transit",
        "listener-protocol-left-out",
        LISTENER,
        {"loadBalancerArn": "arn:lb", "port": 80, "defaultActions": FORWARD},
        ["protocol is not set: clients connect over plain HTTP; redirect to HTTPS or listen on HTTPS."],
    ),
    one(
        "encryption-in-transit",
        "gateway-load-balancer-listener",
        LISTENER,
        {"loadBalancerArn": "arn:gwy", "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}]},
        [],
    ),
    one(
        "encryption-in-transit",
        "listener-with-a-certificate",
        LISTENER,
        {
            "loadBalancerArn": "arn:lb",
            "port": 443,
            "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/1",
            "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
            "defaultActions": FORWARD,
        },
        [],
    ),
    one(
        "encryption-in-transit",
        "task-efs-volume-without-transit-encryption",
        "aws:ecs/taskDefinition:TaskDefinition",
        {
            "family": "scorer",
            "containerDefinitions": "[]",
            "volumes": [{"name": "models", "efsVolumeConfiguration": {"fileSystemId": "fs-0a1b"}}],
        },
        [
            "volumes[0].efsVolumeConfiguration.transitEncryption is not set, so it is 'DISABLED' (the default): clients may connect without TLS."
        ],
    ),
    # --- a log block whose every destination is off --------------------------------------------------
    one(
        "audit-logging",
        "broker-logs-switched-off-everywhere",
        MSK,
        {"clusterName": "events", "loggingInfo": broker_logs(cloudwatchLogs=False, s3=False), "tags": TAGS},
        [
            "loggingInfo: every log it configures is switched off (brokerLogs.cloudwatchLogs.enabled, brokerLogs.s3.enabled); no access or audit log is kept."
        ],
    ),
    one(
        "audit-logging",
        "broker-logs-to-one-destination",
        MSK,
        {"clusterName": "events", "loggingInfo": broker_logs(cloudwatchLogs=True, s3=False), "tags": TAGS},
        [],
    ),
    one(
        "audit-logging",
        "mq-general-and-audit-logs-off",
        "aws:mq/broker:Broker",
        {"brokerName": "events", "logs": {"general": False, "audit": False}, "tags": TAGS},
        ["logs: every log it configures is switched off (audit, general); no access or audit log is kept."],
    ),
    # --- a network ACL's rule declared on its own ----------------------------------------------------
    one(
        "public-exposure",
        "network-acl-rule-allowing-everything",
        ACL_ENTRY,
        {**ACL_ENTRY_PROPS, "egress": False, "ruleAction": "allow", "fromPort": 0, "toPort": 0},
        [
            "cidrBlock includes the whole internet: it opens every port to 0.0.0.0/0; anyone on the internet can connect."
        ],
    ),
    one(
        "public-exposure",
        "network-acl-rule-for-egress",
        ACL_ENTRY,
        {**ACL_ENTRY_PROPS, "egress": True, "ruleAction": "allow"},
        [],
    ),
    one(
        "public-exposure",
        "network-acl-rule-denying",
        ACL_ENTRY,
        {**ACL_ENTRY_PROPS, "ruleAction": "deny"},
        [],
    ),
    # --- numbers as floats, values not known yet, credentials in values -------------------------------
    one(
        "public-exposure",
        "acl-every-protocol-as-a-number",
        NACL,
        {"vpcId": "vpc-1", "ingress": [{**ACL_RULE, "protocol": -1, "fromPort": 443, "toPort": 443}], "tags": TAGS},
        [
            "ingress[0].cidrBlock includes the whole internet: it opens every port to 0.0.0.0/0; anyone on the internet can connect."
        ],
    ),
    one(
        "public-exposure",
        "api-gateway-permission-whose-source-is-an-output",
        "aws:lambda/permission:Permission",
        {
            "action": "lambda:InvokeFunction",
            "function": "scorer",
            "principal": "apigateway.amazonaws.com",
            "sourceArn": UNKNOWN,
        },
        [],
    ),
    one(
        "encryption-in-transit",
        "endpoint-url-with-credentials",
        "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
        {
            "name": "events",
            "destination": "http_endpoint",
            "httpEndpointConfiguration": {"url": "http://ingest:S3cr3tP4ss@collector.example.com/ingest?key=k-123"},
        },
        ["httpEndpointConfiguration.url is 'http://collector.example.com/ingest': data is sent there over plain HTTP."],
    ),
    one(
        "encryption-in-transit",
        "endpoint-url-marked-secret",
        "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
        {
            "name": "events",
            "destination": "http_endpoint",
            "httpEndpointConfiguration": {"url": secret("http://collector.example.com/ingest/k-8f2b1c9e7d6a")},
        },
        ["httpEndpointConfiguration.url is [secret]: data is sent there over plain HTTP."],
    ),
    one(
        "encryption-customer-managed-key",
        "key-not-known-during-preview",
        RDS,
        postgres(kmsKeyId=UNKNOWN),
        [],
    ),
]


# --- settings a service reads by key from a string map or a JSON document ----------------------------
EMR_SECURITY = "aws:emr/securityConfiguration:SecurityConfiguration"
GLUE_CONNECTION = "aws:glue/connection:Connection"
CONNECTOR = "aws:mskconnect/connector:Connector"
DMS_TASK = "aws:dms/replicationTask:ReplicationTask"
JDBC = {"JDBC_CONNECTION_URL": "jdbc:postgresql://features.internal:5432/features", "SECRET_ID": "prod/glue/features"}
NOT_VERIFIED = "TLS is switched off or its certificate is not verified."
IN_CLEAR = "traffic crosses the network unencrypted."


def emr_security(**encryption: Any) -> dict[str, Any]:
    """An EMR security configuration as the provider's example writes it: the document as a JSON string."""
    return {"name": "emr-baseline", "configuration": json.dumps({"EncryptionConfiguration": encryption})}


EMR_ENCRYPTED = {
    "EnableAtRestEncryption": True,
    "EnableInTransitEncryption": True,
    "AtRestEncryptionConfiguration": {
        "S3EncryptionConfiguration": {"EncryptionMode": "SSE-KMS", "AwsKmsKey": KEY_ARN},
        "LocalDiskEncryptionConfiguration": {
            "EncryptionKeyProviderType": "AwsKms",
            "AwsKmsKey": KEY_ARN,
            "EnableEbsEncryption": True,
        },
    },
    "InTransitEncryptionConfiguration": {
        "TLSCertificateConfiguration": {"CertificateProviderType": "PEM", "S3Object": "s3://emr-certs/certs.zip"}
    },
}


def connector(**configuration: str) -> dict[str, Any]:
    return {
        "name": "features-cdc",
        "kafkaconnectVersion": "2.7.1",
        "serviceExecutionRoleArn": ROLE,
        "capacity": {"provisionedCapacity": {"mcuCount": 1, "workerCount": 1}},
        "kafkaCluster": {
            "apacheKafkaCluster": {
                "bootstrapServers": "b-1.features:9098",
                "vpc": {"subnets": ["subnet-0a1b"], "securityGroups": ["sg-0c3d"]},
            }
        },
        "kafkaClusterClientAuthentication": {"authenticationType": "IAM"},
        "kafkaClusterEncryptionInTransit": {"encryptionType": "TLS"},
        "plugins": [
            {
                "customPlugin": {
                    "arn": "arn:aws:kafkaconnect:eu-west-1:123456789012:custom-plugin/debezium",
                    "revision": 1,
                }
            }
        ],
        "logDelivery": {"workerLogDelivery": {"cloudwatchLogs": {"enabled": True, "logGroup": "features-cdc"}}},
        "connectorConfiguration": {
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "database.hostname": "features.internal",
            "database.sslmode": "verify-full",
            "schema.history.internal.producer.security.protocol": "SASL_SSL",
            **configuration,
        },
    }


IOT_LOGGING = "aws:iot/loggingOptions:LoggingOptions"
INVOCATION_LOGGING = "aws:bedrockmodel/invocationLoggingConfiguration:InvocationLoggingConfiguration"


def invocation_logging(**switches: bool) -> dict[str, Any]:
    """Bedrock's model invocation log as its provider documents it, to CloudWatch Logs and S3."""
    return {
        "loggingConfig": {
            "cloudwatchConfig": {"logGroupName": "/bedrock/invocations", "roleArn": ROLE},
            "s3Config": {"bucketName": "ml-platform-invocation-logs", "keyPrefix": "bedrock"},
            **switches,
        }
    }


def dms_task(settings: dict[str, Any] | None) -> dict[str, Any]:
    task = {
        "replicationTaskId": "features-to-lake",
        "migrationType": "full-load-and-cdc",
        "replicationInstanceArn": "arn:aws:dms:eu-west-1:123456789012:rep:features",
        "sourceEndpointArn": "arn:aws:dms:eu-west-1:123456789012:endpoint:source",
        "targetEndpointArn": "arn:aws:dms:eu-west-1:123456789012:endpoint:target",
        "tableMappings": json.dumps(
            {
                "rules": [
                    {
                        "rule-type": "selection",
                        "rule-id": "1",
                        "rule-name": "1",
                        "object-locator": {"schema-name": "public", "table-name": "%"},
                        "rule-action": "include",
                    }
                ]
            }
        ),
        "tags": TAGS,
    }
    return task if settings is None else {**task, "replicationTaskSettings": json.dumps(settings)}


CASES += [
    # An EMR security configuration: its settings are a JSON string (AWS Config
    # emr-security-configuration-encryption-rest and -transit).
    *(
        one(policy, "emr-security-configuration-encrypted", EMR_SECURITY, emr_security(**EMR_ENCRYPTED), [])
        for policy in ("encryption-at-rest", "encryption-in-transit", "encryption-customer-managed-key")
    ),
    one(
        "encryption-at-rest",
        "emr-security-configuration-at-rest-off",
        EMR_SECURITY,
        emr_security(**{**EMR_ENCRYPTED, "EnableAtRestEncryption": False}),
        [f"configuration.EncryptionConfiguration.EnableAtRestEncryption is false: {STORED_UNENCRYPTED}"],
    ),
    one(
        "encryption-in-transit",
        "emr-security-configuration-in-transit-off",
        EMR_SECURITY,
        emr_security(**{**EMR_ENCRYPTED, "EnableInTransitEncryption": False}),
        [f"configuration.EncryptionConfiguration.EnableInTransitEncryption is false: {IN_CLEAR}"],
    ),
    one(
        "encryption-in-transit",
        "emr-security-configuration-without-encryption",
        EMR_SECURITY,
        {
            "name": "emr-imds-only",
            "configuration": json.dumps(
                {
                    "InstanceMetadataServiceConfiguration": {
                        "MinimumInstanceMetadataServiceVersion": 2,
                        "HttpPutResponseHopLimit": 1,
                    }
                }
            ),
        },
        [f"configuration.EncryptionConfiguration.EnableInTransitEncryption is not set: {IN_CLEAR}"],
    ),
    one(
        "encryption-customer-managed-key",
        "emr-security-configuration-under-aws-keys",
        EMR_SECURITY,
        emr_security(
            **{
                **EMR_ENCRYPTED,
                "AtRestEncryptionConfiguration": {
                    "S3EncryptionConfiguration": {"EncryptionMode": "SSE-S3"},
                    "LocalDiskEncryptionConfiguration": {
                        "EncryptionKeyProviderType": "AwsKms",
                        "AwsKmsKey": "alias/aws/ebs",
                    },
                },
            }
        ),
        [
            "configuration.EncryptionConfiguration.AtRestEncryptionConfiguration.S3EncryptionConfiguration.EncryptionMode is 'SSE-S3': the data is encrypted with a key AWS owns, not a customer managed KMS key.",
            "configuration.EncryptionConfiguration.AtRestEncryptionConfiguration.LocalDiskEncryptionConfiguration.AwsKmsKey is 'alias/aws/ebs': it names an AWS managed key, whose key policy you cannot restrict.",
        ],
    ),
    one(
        "encryption-in-transit",
        "emr-security-configuration-not-known-during-preview",
        EMR_SECURITY,
        {"name": "emr-baseline", "configuration": UNKNOWN},
        [f"{PREVIEW}string value at .configuration can't be known during preview"],
    ),
    # A Glue JDBC connection: SSL is enforced only by the `JDBC_ENFORCE_SSL` key, false when left out.
    one(
        "encryption-in-transit",
        "glue-jdbc-connection-enforcing-ssl",
        GLUE_CONNECTION,
        {"name": "features", "connectionProperties": {**JDBC, "JDBC_ENFORCE_SSL": "true"}},
        [],
    ),
    one(
        "encryption-in-transit",
        "glue-jdbc-connection-without-ssl",
        GLUE_CONNECTION,
        {"name": "features", "connectionType": "JDBC", "connectionProperties": JDBC},
        [f"connectionProperties.JDBC_ENFORCE_SSL is not set, so it is false (the default): {IN_CLEAR}"],
    ),
    one(
        "encryption-in-transit",
        "glue-jdbc-connection-ssl-off",
        GLUE_CONNECTION,
        {"name": "features", "connectionProperties": {**JDBC, "JDBC_ENFORCE_SSL": "FALSE"}},
        [f"connectionProperties.JDBC_ENFORCE_SSL is 'FALSE': {IN_CLEAR}"],
    ),
    one(
        "encryption-in-transit",
        "glue-connection-properties-marked-secret",
        GLUE_CONNECTION,
        {"name": "features", "connectionProperties": secret({**JDBC, "JDBC_ENFORCE_SSL": "false"})},
        [f"connectionProperties.JDBC_ENFORCE_SSL is [secret]: {IN_CLEAR}"],
    ),
    one(
        "encryption-in-transit",
        "glue-kafka-connection-is-no-jdbc-one",
        GLUE_CONNECTION,
        {
            "name": "events",
            "connectionType": "KAFKA",
            "connectionProperties": {"KAFKA_BOOTSTRAP_SERVERS": "b-1.events:9094"},
        },
        [],
    ),
    one(
        "encryption-in-transit",
        "glue-kafka-connection-without-tls",
        GLUE_CONNECTION,
        {
            "name": "events",
            "connectionType": "KAFKA",
            "connectionProperties": {
                "KAFKA_BOOTSTRAP_SERVERS": "b-1.events:9094",
                "KAFKA_SSL_ENABLED": "false",
                "KAFKA_SKIP_CUSTOM_CERT_VALIDATION": "true",
            },
        },
        [
            f"connectionProperties.KAFKA_SSL_ENABLED is 'false': {IN_CLEAR}",
            f"connectionProperties.KAFKA_SKIP_CUSTOM_CERT_VALIDATION is 'true': {NOT_VERIFIED}",
        ],
    ),
    # The same conventions in other services' maps and documents.
    one("encryption-in-transit", "kafka-connector-over-tls", CONNECTOR, connector(), []),
    one(
        "encryption-in-transit",
        "kafka-connector-in-plaintext",
        CONNECTOR,
        connector(**{"schema.history.internal.producer.security.protocol": "PLAINTEXT", "database.sslmode": "disable"}),
        [
            "connectorConfiguration[\"database.sslmode\"] is 'disable': clients may connect without TLS.",
            "connectorConfiguration[\"schema.history.internal.producer.security.protocol\"] is 'PLAINTEXT': clients may connect without TLS.",
        ],
    ),
    one(
        "encryption-in-transit",
        "spark-without-tls-in-cluster-configurations",
        "aws:emr/cluster:Cluster",
        {
            "releaseLabel": "emr-7.1.0",
            "serviceRole": ROLE,
            "securityConfiguration": "emr-baseline",
            "configurationsJson": json.dumps(
                [
                    {"Classification": "spark-defaults", "Properties": {"spark.ssl.enabled": "false"}},
                    {"Classification": "spark-defaults", "Properties": {"spark.network.crypto.enabled": "true"}},
                ]
            ),
            "tags": TAGS,
        },
        [f"configurationsJson[0].Properties[\"spark.ssl.enabled\"] is 'false': {IN_CLEAR}"],
    ),
    one(
        "encryption-customer-managed-key",
        "glue-job-writing-under-s3-keys",
        "aws:glue/job:Job",
        {
            "roleArn": ROLE,
            "command": {"scriptLocation": "s3://jobs/features.py"},
            "securityConfiguration": "glue-baseline",
            "defaultArguments": {"--encryption-type": "sse-s3", "--enable-metrics": "true"},
            "tags": TAGS,
        },
        [
            "defaultArguments[\"--encryption-type\"] is 'sse-s3': the data is encrypted with a key AWS owns, not a customer managed KMS key."
        ],
    ),
    one(
        "encryption-customer-managed-key",
        "dms-s3-target-attributes-under-s3-keys",
        "aws:dms/endpoint:Endpoint",
        {
            "endpointId": "lake-target",
            "endpointType": "target",
            "engineName": "s3",
            "kmsKeyArn": KEY_ARN,
            "extraConnectionAttributes": "bucketName=feature-lake;encryptionMode=SSE_S3;dataFormat=parquet",
            "tags": TAGS,
        },
        [
            "extraConnectionAttributes.encryptionMode is 'SSE_S3': the data is encrypted with a key AWS owns, not a customer managed KMS key."
        ],
    ),
    # A DMS task logs only when its settings say so (AWS Security Hub DMS.7, DMS.8).
    one("audit-logging", "dms-task-logging", DMS_TASK, dms_task({"Logging": {"EnableLogging": True}}), []),
    one(
        "audit-logging",
        "dms-task-with-default-settings",
        DMS_TASK,
        dms_task(None),
        ["replicationTaskSettings.Logging.EnableLogging is not set: the log is switched off."],
    ),
    one(
        "audit-logging",
        "dms-task-logging-off",
        DMS_TASK,
        dms_task({"Logging": {"EnableLogging": False}, "TargetMetadata": {"BatchApplyEnabled": True}}),
        ["replicationTaskSettings.Logging.EnableLogging is false: the log is switched off."],
    ),
    # --- a log's own level and the data it records -----------------------------------------------------
    one("audit-logging", "iot-logging-at-info", IOT_LOGGING, {"roleArn": ROLE, "defaultLogLevel": "INFO"}, []),
    one(
        "audit-logging",
        "iot-logging-disabled",
        IOT_LOGGING,
        {"roleArn": ROLE, "defaultLogLevel": "DISABLED"},
        ["defaultLogLevel is 'DISABLED': the log is switched off."],
    ),
    one(
        "audit-logging",
        "iot-logs-all-disabled",
        IOT_LOGGING,
        {"roleArn": ROLE, "defaultLogLevel": "ERROR", "disableAllLogs": True},
        ["disableAllLogs is true: the log is switched off."],
    ),
    one(
        "audit-logging",
        "datasync-task-logging-by-default-off",
        "aws:datasync/task:Task",
        {
            "sourceLocationArn": "arn:aws:datasync:eu-west-1:123456789012:location/loc-source",
            "destinationLocationArn": "arn:aws:datasync:eu-west-1:123456789012:location/loc-destination",
            "cloudwatchLogGroupArn": "arn:aws:logs:eu-west-1:123456789012:log-group:/datasync",
            "tags": TAGS,
        },
        ["options.logLevel is not set, so it is 'OFF' (the default): the log is switched off."],
    ),
    one("audit-logging", "model-invocations-logged", INVOCATION_LOGGING, invocation_logging(), []),
    one(
        "audit-logging",
        "model-invocations-logged-without-prompts",
        INVOCATION_LOGGING,
        invocation_logging(textDataDeliveryEnabled=False, embeddingDataDeliveryEnabled=False),
        [
            "loggingConfig.embeddingDataDeliveryEnabled is false: the log leaves that data out, so what was asked and answered cannot be audited.",
            "loggingConfig.textDataDeliveryEnabled is false: the log leaves that data out, so what was asked and answered cannot be audited.",
        ],
    ),
    one(
        "audit-logging",
        "landing-zone-without-central-logs",
        "aws:controltower/landingZone:LandingZone",
        {
            "version": "3.3",
            "manifestJson": json.dumps(
                {
                    "governedRegions": ["eu-west-1"],
                    "centralizedLogging": {"accountId": "222233334444", "enabled": False},
                }
            ),
        },
        ["manifestJson.centralizedLogging.enabled is false: the log is switched off."],
    ),
    # --- a third held-out probe: principals outside documents, forwarded URLs, VPC origins, log levels ---
    one(
        "public-exposure",
        "event-bus-permission-to-everyone",
        "aws:cloudwatch/eventPermission:EventPermission",
        {"principal": "*", "statementId": "anyone", "action": "events:PutEvents"},
        ["principal is '*': any AWS account may invoke or use it."],
    ),
    one(
        "public-exposure",
        "event-bus-permission-to-the-organization",
        "aws:cloudwatch/eventPermission:EventPermission",
        {
            "principal": "*",
            "statementId": "org",
            "condition": {"type": "StringEquals", "key": "aws:PrincipalOrgID", "value": "o-abc123def4"},
        },
        [],
    ),
    one(
        "public-exposure",
        "endpoint-service-for-every-account",
        "aws:ec2/vpcEndpointService:VpcEndpointService",
        {"acceptanceRequired": False, "allowedPrincipals": ["*"], "networkLoadBalancerArns": [LB_ARN], "tags": TAGS},
        ["allowedPrincipals is ['*']: any AWS account may invoke or use it."],
    ),
    one(
        "public-exposure",
        "endpoint-service-for-one-account",
        "aws:ec2/vpcEndpointService:VpcEndpointService",
        {
            "acceptanceRequired": True,
            "allowedPrincipals": ["arn:aws:iam::123456789012:root"],
            "networkLoadBalancerArns": [LB_ARN],
            "tags": TAGS,
        },
        [],
    ),
    one(
        "public-exposure",
        "lattice-service-without-auth",
        "aws:vpclattice/service:Service",
        {"name": "scorer", "authType": "NONE", "tags": TAGS},
        ["authType is 'NONE': anyone on the internet can call it without authenticating."],
    ),
    one(
        "public-exposure",
        "lattice-service-with-iam-auth",
        "aws:vpclattice/service:Service",
        {"name": "scorer", "authType": "AWS_IAM", "tags": TAGS},
        [],
    ),
    one(
        "encryption-in-transit",
        "graphql-http-data-source-over-http",
        "aws:appsync/dataSource:DataSource",
        {"apiId": "api1", "name": "scorer", "type": "HTTP", "httpConfig": {"endpoint": "http://scorer.example.com"}},
        ["httpConfig.endpoint is 'http://scorer.example.com': data is sent there over plain HTTP."],
    ),
    one(
        "encryption-in-transit",
        "http-api-integration-over-http",
        "aws:apigatewayv2/integration:Integration",
        {"apiId": "a1", "integrationType": "HTTP_PROXY", "integrationUri": "http://scorer.example.com/{proxy}"},
        ["integrationUri is 'http://scorer.example.com/{proxy}': data is sent there over plain HTTP."],
    ),
    one(
        "encryption-in-transit",
        "http-api-integration-over-https",
        "aws:apigatewayv2/integration:Integration",
        {"apiId": "a1", "integrationType": "HTTP_PROXY", "integrationUri": "https://scorer.example.com/{proxy}"},
        [],
    ),
    one(
        "encryption-in-transit",
        "bucket-acl-grantee-group-uri-is-no-destination",
        "aws:s3/bucketAclV2:BucketAclV2",
        {
            "bucket": "ml-logs",
            "accessControlPolicy": {
                "owner": {"id": "owner"},
                "grants": [
                    {
                        "permission": "READ",
                        "grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/s3/LogDelivery"},
                    }
                ],
            },
        },
        [],
    ),
    one(
        "encryption-in-transit",
        "cloudfront-vpc-origin-over-http",
        "aws:cloudfront/vpcOrigin:VpcOrigin",
        {
            "vpcOriginEndpointConfig": {
                "name": "scorer",
                "arn": LB_ARN,
                "httpPort": 80,
                "httpsPort": 443,
                "originProtocolPolicy": "http-only",
                "originSslProtocols": {"items": ["TLSv1.2"], "quantity": 1},
            },
            "tags": TAGS,
        },
        ["vpcOriginEndpointConfig.originProtocolPolicy is 'http-only': requests travel to the origin over plain HTTP."],
    ),
    one(
        "encryption-in-transit",
        "neptune-parameters-without-ssl",
        "aws:neptune/clusterParameterGroup:ClusterParameterGroup",
        {"family": "neptune1.3", "parameters": [{"name": "neptune_enforce_ssl", "value": "0"}], "tags": TAGS},
        ["parameters[0].value is '0': the engine accepts connections without TLS."],
    ),
    one(
        "audit-logging",
        "pipe-log-level-off",
        "aws:pipes/pipe:Pipe",
        {
            "roleArn": ROLE,
            "source": "arn:aws:sqs:eu-west-1:123456789012:in",
            "target": "arn:aws:sqs:eu-west-1:123456789012:out",
            "logConfiguration": {"level": "OFF", "cloudwatchLogsLogDestination": {"logGroupArn": "arn:aws:logs:x"}},
        },
        ["logConfiguration.level is 'OFF': execution logging is off."],
    ),
    one(
        "audit-logging",
        "config-recorder-stopped",
        "aws:cfg/recorderStatus:RecorderStatus",
        {"name": "default", "isEnabled": False},
        ["isEnabled is false: the account's monitoring is switched off."],
    ),
    one(
        "audit-logging",
        "config-recorder-running",
        "aws:cfg/recorderStatus:RecorderStatus",
        {"name": "default", "isEnabled": True},
        [],
    ),
    one(
        "audit-logging",
        "macie-paused",
        "aws:macie2/account:Account",
        {"status": "PAUSED"},
        ["status is 'PAUSED': the account's monitoring is switched off."],
    ),
    one(
        "audit-logging",
        "security-hub-control-disabled",
        "aws:securityhub/standardsControl:StandardsControl",
        {
            "standardsControlArn": "arn:aws:securityhub:eu-west-1:123456789012:control/cis/2.1",
            "controlStatus": "DISABLED",
        },
        ["controlStatus is 'DISABLED': the account's monitoring is switched off."],
    ),
    one(
        "encryption-in-transit",
        "classic-load-balancer-policy-accepting-tls-1-0",
        "aws:elb/loadBalancerPolicy:LoadBalancerPolicy",
        {
            "loadBalancerName": "legacy-scorer",
            "policyName": "legacy-ssl",
            "policyTypeName": "SSLNegotiationPolicyType",
            "policyAttributes": [
                {"name": "Protocol-TLSv1", "value": "true"},
                {"name": "Protocol-TLSv1.2", "value": "true"},
            ],
        },
        [
            "policyAttributes[0] (Protocol-TLSv1) is 'true': clients may connect with a protocol version that is no longer safe."
        ],
    ),
    one(
        "encryption-in-transit",
        "classic-load-balancer-policy-tls-1-2-only",
        "aws:elb/loadBalancerPolicy:LoadBalancerPolicy",
        {
            "loadBalancerName": "legacy-scorer",
            "policyName": "modern-ssl",
            "policyTypeName": "SSLNegotiationPolicyType",
            "policyAttributes": [
                {"name": "Protocol-TLSv1", "value": "false"},
                {"name": "Protocol-TLSv1.2", "value": "true"},
            ],
        },
        [],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(by_property.POLICIES, CASES) == []


def test_no_rule_names_a_type() -> None:
    assert all(
        [tag for tag in policy.tags or [] if tag.startswith("resource:")] == ["resource:aws:*"]
        for policy in by_property.POLICIES
    )


# --- a type the provider adds later ------------------------------------------------------------------

PUBLIC_DOCUMENT = document({"Effect": "Allow", "Principal": "*", "Action": "glacier:*", "Resource": "*"})
# Per concern: a real type no rule names, an insecure resource of it, and what its rule then reports.
LATER: list[tuple[str, str, dict[str, Any], str]] = [
    ("encryption-at-rest", "aws:neptune/cluster:Cluster", {"storageEncrypted": False}, "storageEncrypted is false"),
    ("encryption-customer-managed-key", "aws:mwaa/environment:Environment", {}, "kmsKey is not set"),
    ("encryption-in-transit", "aws:memorydb/cluster:Cluster", {"tlsEnabled": False}, "tlsEnabled is false"),
    (
        "encryption-in-transit",
        "aws:iot/topicRule:TopicRule",
        {
            "enabled": True,
            "sql": "SELECT * FROM 'scores'",
            "sqlVersion": "2016-03-23",
            "kafkas": [
                {
                    "destinationArn": "arn:aws:iot:eu-west-1:123456789012:ruledestination/vpc/1a2b",
                    "topic": "scores",
                    "clientProperties": {"bootstrap.servers": "b-1.scores:9092", "security.protocol": "PLAINTEXT"},
                }
            ],
        },
        "kafkas[0].clientProperties[\"security.protocol\"] is 'PLAINTEXT'",
    ),
    (
        "public-exposure",
        "aws:redshiftserverless/workgroup:Workgroup",
        {"publiclyAccessible": True},
        "publiclyAccessible is true",
    ),
    ("audit-logging", "aws:mq/broker:Broker", {}, "logs is not set"),
    ("data-durability", "aws:docdb/cluster:Cluster", {"skipFinalSnapshot": True}, "skipFinalSnapshot is true"),
    (
        "instance-metadata-v2",
        "aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration",
        {"instanceMetadataOptions": {"httpTokens": "optional"}},
        "instanceMetadataOptions.httpTokens is 'optional'",
    ),
    (
        "public-data-exposure",
        "aws:imagebuilder/distributionConfiguration:DistributionConfiguration",
        {
            "name": "golden-images",
            "distributions": [
                {"region": "eu-west-1", "amiDistributionConfiguration": {"launchPermission": {"userGroups": ["all"]}}}
            ],
        },
        "distributions[0].amiDistributionConfiguration.launchPermission.userGroups is ['all']",
    ),
    (
        "resource-policies-not-public",
        "aws:glacier/vault:Vault",
        {"accessPolicy": PUBLIC_DOCUMENT},
        "accessPolicy statement 0",
    ),
    (
        # The SDK types this input as a policy document object, not a JSON string.
        "resource-policies-not-public",
        "aws:elasticsearch/domainPolicy:DomainPolicy",
        {"domainName": "legacy-search", "accessPolicies": PUBLIC_DOCUMENT},
        "accessPolicies statement 0",
    ),
    (
        "encryption-in-transit",
        "aws:ses/configurationSet:ConfigurationSet",
        {"name": "alerts", "deliveryOptions": {"tlsPolicy": "Optional"}},
        "deliveryOptions.tlsPolicy is 'Optional'",
    ),
    (
        "encryption-in-transit",
        "aws:datasync/locationObjectStorage:LocationObjectStorage",
        {"serverHostname": "objects.example.com", "bucketName": "datasets", "serverProtocol": "HTTP"},
        "serverProtocol is 'HTTP'",
    ),
    (
        "public-exposure",
        "aws:lightsail/instancePublicPorts:InstancePublicPorts",
        {
            "instanceName": "demo",
            "portInfos": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrs": ["0.0.0.0/0"]}],
        },
        "portInfos[0].cidrs includes the whole internet",
    ),
    (
        "encryption-at-rest",
        "aws:ebs/encryptionByDefault:EncryptionByDefault",
        {"enabled": False},
        "enabled is false: new volumes in the account and region are stored unencrypted",
    ),
    (
        "audit-logging",
        "aws:ec2clientvpn/endpoint:Endpoint",
        {
            "serverCertificateArn": "arn:cert",
            "clientCidrBlock": "10.100.0.0/16",
            "connectionLogOptions": {"enabled": False},
        },
        "connectionLogOptions.enabled is false",
    ),
    (
        "audit-logging",
        "aws:kinesisanalyticsv2/application:Application",
        {"name": "features", "runtimeEnvironment": "FLINK-1_18", "serviceExecutionRole": ROLE},
        "cloudwatchLoggingOptions is not set",
    ),
    (
        "public-exposure",
        "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy",
        {"name": "vectors", "type": "network", "policy": json.dumps([{"Rules": [], "AllowFromPublic": True}])},
        "policy[0].AllowFromPublic is true",
    ),
    (
        "encryption-customer-managed-key",
        "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy",
        {"name": "vectors", "type": "encryption", "policy": json.dumps({"Rules": [], "AWSOwnedKey": True})},
        "policy.AWSOwnedKey is true",
    ),
    (
        "public-exposure",
        "aws:elasticbeanstalk/environment:Environment",
        {
            "application": "scorer",
            "settings": [{"namespace": "aws:ec2:vpc", "name": "AssociatePublicIpAddress", "value": "true"}],
        },
        "settings[0] (aws:ec2:vpc:AssociatePublicIpAddress) is 'true'",
    ),
    (
        "aws-containers-unprivileged",
        "aws:ecs/daemonTaskDefinition:DaemonTaskDefinition",
        {"containerDefinitions": [{"name": "agent", "image": "agent:1.4", "privileged": True}]},
        "is privileged",
    ),
    (
        "no-secrets-in-container-environment",
        "aws:bedrock/agentcoreAgentRuntime:AgentcoreAgentRuntime",
        {"environmentVariables": {"SEARCH_API_TOKEN": "tk-8f2b1c9e7d6a"}},
        "named like a secret",
    ),
]


def index_with(monkeypatch: pytest.MonkeyPatch, token: str, entries: list[Any]) -> None:
    """The pack's index as `make generate` would write it with `entries` for `token` (none: removed)."""
    document = json.loads(INDEX_FILE.read_text(encoding="utf-8"))
    document["aws"].pop(token, None)
    if entries:
        document["aws"][token] = entries
    monkeypatch.setattr(properties, "property_index", lambda: index_of(document))


@pytest.mark.parametrize(("policy", "token", "props", "finding"), LATER, ids=[item[0] for item in LATER])
def test_a_type_added_later_is_reached_through_the_schema(
    monkeypatch: pytest.MonkeyPatch, policy: str, token: str, props: dict[str, Any], finding: str
) -> None:
    served = BY_NAME[policy]
    assert isinstance(served, ResourceValidationPolicy)
    assert not any(tag.removeprefix("resource:") == token for tag in served.tags or []), "no rule names the type"
    resource = Case(policy, "later", [Res(token, "later", {**props, "tags": TAGS})], [])

    index_with(monkeypatch, token, [])
    assert run(resource) == [], "before the provider has it, nothing judges the type"

    module, class_name = registered_resources(pulumi_aws)[token]
    entries = type_entries(token, schema_properties(getattr(importlib.import_module(module), f"{class_name}Args")))
    index_with(monkeypatch, token, [list(entry) for entry in entries])
    assert any(finding in message for message in run(resource)), run(resource)


def test_a_concern_refuses_waivers_when_its_signals_do() -> None:
    """Public data (a snapshot every account can copy) is never waived; a public network path may be, for a
    stated reason (a bastion), so the two are separate rules."""
    for policy in by_property.POLICIES:
        concern = next(
            tag.removeprefix(CONCERN_TAG_PREFIX) for tag in policy.tags or [] if tag.startswith(CONCERN_TAG_PREFIX)
        )
        flags = {signal.waivable for signal in SIGNALS if signal.concern == concern}
        assert len(flags) == 1, f"the signals of {concern} disagree on waivers"
        assert ("non-waivable" in (policy.tags or [])) == (flags == {False}), policy.name
    assert "non-waivable" in (BY_NAME["public-data-exposure"].tags or [])
    assert "non-waivable" not in (BY_NAME["public-exposure"].tags or [])
