"""Rules by property: one security concern each, checked on every AWS resource type whose inputs express it.

No rule here names a resource type. Each judges the entries `property_index.json` lists for the
resource's type under its concern (see `property_map.py` for what each property means and
`properties.py` for how a value is judged), so RDS, DynamoDB, MSK, a load balancer listener, or a type
AWS launches next year are judged alike. A type that a named rule already judges for the same concern
(an SQS queue's encryption, a security group's ingress) is left to that rule, so one finding is
reported once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from . import ecr, kms, lifecycle, monitoring, network, notebooks, s3, sagemaker, secretsmanager, sqs
from .common import (
    PRODUCTION_PROPERTY,
    PRODUCTION_SCHEMA,
    ReachingPolicy,
    Report,
    Unknowns,
    applies_to,
    as_number,
    aws_config_url,
    concern_tag,
    config_schema,
    production_gate,
    rule,
    sources,
)
from .properties import Options, entries_of, judge
from .property_map import (
    AT_REST,
    CUSTOMER_KEY,
    DURABILITY,
    IN_TRANSIT,
    LOGGING,
    METADATA,
    PUBLIC,
    PUBLIC_DATA,
    SIGNALS,
)
from .waivers import NON_WAIVABLE

# Types a named rule judges for the concern: the named rule reports them, with its own advice.
NAMED: dict[str, frozenset[str]] = {
    AT_REST: frozenset(
        {
            sqs.QUEUE,
            monitoring.TOPIC,
            monitoring.LOG_GROUP,
            secretsmanager.SECRET,
            ecr.REPOSITORY,
            sagemaker.ENDPOINT_CONFIG,
            notebooks.NOTEBOOK,
            notebooks.DOMAIN,
            *s3.BUCKET_TYPES,
            *s3.ENCRYPTION_TYPES,
            *kms.KEY_POLICY_TYPES,
        }
    ),
    PUBLIC: frozenset(
        {
            network.SECURITY_GROUP,
            network.DEFAULT_SECURITY_GROUP,
            network.SECURITY_GROUP_RULE,
            network.INGRESS_RULE,
            notebooks.NOTEBOOK,
            notebooks.DOMAIN,
            s3.PUBLIC_ACCESS_BLOCK,
        }
    ),
    PUBLIC_DATA: frozenset({s3.PUBLIC_ACCESS_BLOCK}),
    DURABILITY: frozenset(lifecycle.STATEFUL_TYPES),
}
NAMED[CUSTOMER_KEY] = NAMED[AT_REST]


def reaches(concern: str) -> Callable[[str], bool]:
    """Whether the concern's rule has anything to judge on a resource type (the server skips the others)."""
    return lambda resource_type: bool(entries_of(concern, resource_type, NAMED.get(concern, frozenset())))


def _default_options(args: ResourceValidationArgs) -> Options:
    return Options()


def _validation(
    concern: str, options: Callable[[ResourceValidationArgs], Options], gated: bool
) -> Callable[[ResourceValidationArgs, Report], None]:
    excluded = NAMED.get(concern, frozenset())

    def validate(args: ResourceValidationArgs, report: Report) -> None:
        entries = entries_of(concern, args.resource_type, excluded)
        if not entries:
            return
        if gated:
            production_gate(args)
        unknowns = Unknowns()
        for problem in judge(args.props, entries, options(args), unknowns):
            report(problem)
        unknowns.settle()

    return validate


def _rule(
    concern: str,
    *,
    description: str,
    severity: Severity,
    remediation: str,
    ids: Iterable[str],
    url: str,
    options: Callable[[ResourceValidationArgs], Options] = _default_options,
    gated: bool = False,
    schema: dict[str, dict[str, Any]] | None = None,
    tags: Iterable[str] = (),
) -> ReachingPolicy:
    """A rule by property: its types are those whose inputs the index lists under its concern; it
    refuses waivers when its signals do."""
    waivable = all(signal.waivable for signal in SIGNALS if signal.concern == concern)
    return ReachingPolicy(
        reaches(concern),
        name=concern,
        description=description,
        validate=rule(_validation(concern, options, gated)),
        severity=severity,
        remediation_steps=remediation,
        tags=[
            *tags,
            *([] if waivable else [NON_WAIVABLE]),
            *sources(*ids),
            concern_tag(concern),
            *applies_to("aws:*"),
        ],
        url=url,
        config_schema=config_schema(schema) if schema else None,
    )


encryption_at_rest = _rule(
    AT_REST,
    description="Every AWS resource that can encrypt what it stores does: storage encryption switches on, no encryption mode NONE or DISABLED, whatever the resource type.",
    severity=Severity.HIGH,
    remediation="Turn the resource's storage encryption on (storage_encrypted, encrypted, at_rest_encryption_enabled, encrypt_at_rest.enabled, encryption_type KMS); most services only allow it when the resource is created, so plan a replacement.",
    ids=(
        "CKV_AWS_3",
        "CKV_AWS_5",
        "CKV_AWS_8",
        "CKV_AWS_16",
        "CKV_AWS_29",
        "CKV_AWS_42",
        "CKV_AWS_43",
        "CKV_AWS_44",
        "CKV_AWS_47",
        "CKV_AWS_64",
        "CKV_AWS_74",
        "CKV_AWS_78",
        "CKV_AWS_96",
        "CKV_AWS_99",
        "aws-config:rds-storage-encrypted",
        "aws-config:encrypted-volumes",
    ),
    url=aws_config_url("rds-storage-encrypted"),
    tags=("encryption",),
)


def _customer_key_options(args: ResourceValidationArgs) -> Options:
    return Options(require_customer_key=bool(args.get_config().get("requireCustomerKey", True)))


customer_managed_key = _rule(
    CUSTOMER_KEY,
    description="AWS resources that take a KMS key name a customer managed one: never an `alias/aws/...` key, and, where the environment requires it, no resource left on the key AWS manages for it.",
    severity=Severity.MEDIUM,
    remediation="Set the resource's KMS key (kms_key_id, kms_key_arn, encryption_configuration.kms_key_id, server_side_encryption.kms_key_arn...) to a customer managed key whose policy names the principals that may use it.",
    ids=(
        "CKV_AWS_35",
        "CKV_AWS_58",
        "CKV_AWS_119",
        "CKV_AWS_173",
        "aws-config:dynamodb-table-encrypted-kms",
        "aws-config:cloud-trail-encryption-enabled",
        "aws-config:eks-secrets-encrypted",
    ),
    url="https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-mgmt",
    options=_customer_key_options,
    schema={
        "requireCustomerKey": {
            "type": "boolean",
            "default": True,
            "description": "Report a resource that leaves its KMS key unset (encrypting with a key AWS manages); an `alias/aws/...` key is reported either way.",
        }
    },
    tags=("encryption",),
)

encryption_in_transit = _rule(
    IN_TRANSIT,
    description="AWS resources that carry traffic encrypt it: TLS or transit encryption switched on, HTTPS-only front doors, TLS 1.2 or later, no plain-HTTP destinations.",
    severity=Severity.HIGH,
    remediation="Switch transit encryption on (transit_encryption_enabled, node_to_node_encryption, encryption_in_transit.client_broker TLS), listen on HTTPS or redirect HTTP to it, pick a security policy that allows only TLS 1.2+ (ELBSecurityPolicy-TLS13-1-2-2021-06, TLSv1.2_2021), and send data to https:// URLs.",
    ids=(
        "CKV_AWS_2",
        "CKV_AWS_6",
        "CKV_AWS_30",
        "CKV_AWS_34",
        "CKV_AWS_83",
        "CKV_AWS_97",
        "CKV_AWS_103",
        "CKV_AWS_174",
        "CKV_AWS_202",
        "CKV_AWS_206",
        "CKV_AWS_228",
        "aws-config:alb-http-to-https-redirection-check",
        "aws-config:elasticache-repl-grp-encrypted-in-transit",
    ),
    url=aws_config_url("alb-http-to-https-redirection-check"),
    tags=("encryption-in-transit",),
)


def _public_options(args: ResourceValidationArgs) -> Options:
    return Options(public_ports=network.public_ports(args.get_config()))


public_exposure = _rule(
    PUBLIC,
    description="AWS resources are not reachable from the whole internet unless they are a front door: no publicly accessible databases or public IPs, no ingress from 0.0.0.0/0 beyond web ports, no unauthenticated entry points, no wildcard invoke permissions, no public API endpoints.",
    severity=Severity.CRITICAL,
    remediation="Keep data stores and compute in private subnets (publicly_accessible false, no public IP), reach them through a load balancer, VPN or VPC endpoint; require an authorizer (IAM, Cognito, JWT, Lambda) on API routes and function URLs; restrict public API endpoints to known CIDRs.",
    ids=(
        "CKV_AWS_17",
        "CKV_AWS_38",
        "CKV_AWS_39",
        "CKV_AWS_59",
        "CKV_AWS_69",
        "CKV_AWS_87",
        "CKV_AWS_88",
        "CKV_AWS_89",
        "CKV_AWS_102",
        "CKV_AWS_258",
        "aws-config:rds-instance-public-access-check",
        "aws-config:eks-endpoint-no-public-access",
        "aws-config:ec2-instance-no-public-ip",
        "aws-config:lambda-function-public-access-prohibited",
        "aws-config:api-gwv2-authorization-type-configured",
    ),
    url=aws_config_url("rds-instance-public-access-check"),
    options=_public_options,
    schema={"publicPorts": network.PUBLIC_PORTS_SCHEMA},
    tags=("public-exposure",),
)

public_data_exposure = _rule(
    PUBLIC_DATA,
    description="Data is never opened to everyone: no snapshot or image shared with every AWS account, no S3 account or access point public access block left open. No waiver accepts it.",
    severity=Severity.CRITICAL,
    remediation="Share snapshots and images with named accounts only (shared_accounts, launch permissions for account ids), and set all four flags of every S3 public access block (block_public_acls, block_public_policy, ignore_public_acls, restrict_public_buckets) to true.",
    ids=(
        "aws-config:rds-snapshots-public-prohibited",
        "aws-config:ebs-snapshot-public-restorable-check",
        "aws-config:s3-account-level-public-access-blocks",
    ),
    url=aws_config_url("s3-account-level-public-access-blocks"),
    tags=("public-exposure",),
)

audit_logging = _rule(
    LOGGING,
    description="AWS resources that can keep an access or audit log keep one: API stages, load balancers, distributions, databases, clusters, brokers and state machines.",
    severity=Severity.MEDIUM,
    remediation="Configure the resource's log (access_log_settings, access_logs with enabled true, logging_config, enabled_cloudwatch_logs_exports, enabled_cluster_log_types, logging_info, log_publishing_options) to a CloudWatch log group or bucket with retention.",
    ids=(
        "CKV_AWS_36",
        "CKV_AWS_37",
        "CKV_AWS_48",
        "CKV_AWS_75",
        "CKV_AWS_76",
        "CKV_AWS_80",
        "CKV_AWS_84",
        "CKV_AWS_85",
        "CKV_AWS_86",
        "CKV_AWS_91",
        "CKV_AWS_92",
        "CKV_AWS_95",
        "CKV_AWS_101",
        "CKV_AWS_129",
        "CKV_AWS_285",
        "aws-config:api-gw-execution-logging-enabled",
        "aws-config:api-gwv2-access-logs-enabled",
        "aws-config:appsync-logging-enabled",
        "aws-config:elb-logging-enabled",
        "aws-config:cloud-trail-log-file-validation-enabled",
    ),
    url=aws_config_url("elb-logging-enabled"),
    tags=("logging",),
)


def _durability_options(args: ResourceValidationArgs) -> Options:
    return Options(min_backup_days=as_number(args.get_config().get("minBackupRetentionDays")) or 7)


data_durability = _rule(
    DURABILITY,
    description="Production data stores survive mistakes: deletion protection on, automated backups kept long enough, point-in-time recovery on, a final snapshot on deletion, no force-delete of their contents.",
    severity=Severity.HIGH,
    remediation="Set deletion_protection (deletion_protection_enabled) true, backup_retention_period (snapshot_retention_limit, automated_snapshot_retention_period) to at least the minimum, point_in_time_recovery.enabled true, skip_final_snapshot false with a final_snapshot_identifier, and never force_destroy a store in production.",
    ids=(
        "CKV_AWS_28",
        "CKV_AWS_133",
        "CKV_AWS_134",
        "CKV_AWS_139",
        "CKV_AWS_293",
        "aws-config:dynamodb-pitr-enabled",
        "aws-config:rds-instance-deletion-protection-enabled",
    ),
    url=aws_config_url("rds-instance-deletion-protection-enabled"),
    options=_durability_options,
    gated=True,
    schema={
        PRODUCTION_PROPERTY: PRODUCTION_SCHEMA,
        "minBackupRetentionDays": {
            "type": "number",
            "minimum": 1,
            "default": 7,
            "description": "Fewest days of automated backups (or snapshots) a store keeps.",
        },
    },
    tags=("data-loss",),
)

instance_metadata_v2 = _rule(
    METADATA,
    description="Instances, launch templates and notebooks require IMDSv2 session tokens, so a server-side request forgery cannot read the instance role's credentials.",
    severity=Severity.HIGH,
    remediation="Set metadata_options.http_tokens required (instance_metadata_service_configuration.minimum_instance_metadata_service_version 2 for notebooks); keep http_put_response_hop_limit at 1 unless containers on the host need 2.",
    ids=("CKV_AWS_79", "aws-config:ec2-imdsv2-check"),
    url=aws_config_url("ec2-imdsv2-check"),
    tags=("access",),
)

POLICIES = [
    encryption_at_rest,
    customer_managed_key,
    encryption_in_transit,
    public_exposure,
    public_data_exposure,
    audit_logging,
    data_durability,
    instance_metadata_v2,
]
