"""Athena workgroups (feature and drift queries over captured inference data): results encrypted as the
workgroup says, settings queries cannot override, and a cap on the data one query may scan.

The rules by property cover a workgroup's key (`customer-key-mode`, `customer-key-in-encryption-block`)
but not these: the schema documents no default for the result encryption, so a workgroup without
`encryptionConfiguration` cannot be told apart by property from one whose results need none;
`enforceWorkgroupConfiguration` defaults to true, so only its `false` matters; and a scan cutoff is a
cost and blast-radius guard, no property convention names it. Encryption and its enforcement are one
concern (`athena-workgroup-guardrails`), the cost cap another (`athena-workgroup-scan-limit`).
"""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy, Severity

from .common import (
    Report,
    applies_to,
    as_mapping,
    as_number,
    aws_config_url,
    config_schema,
    dig,
    for_types,
    is_false,
    is_true,
    sources,
)

WORKGROUP = "aws:athena/workgroup:Workgroup"
# 1 TiB: Athena bills per byte scanned, so one unbounded query over the capture bucket can cost more than the endpoint.
MAX_BYTES_SCANNED = 1024**4


@for_types(WORKGROUP)
def _guardrails(args: ResourceValidationArgs, report: Report) -> None:
    configuration = as_mapping(args.props.get("configuration"))
    if is_false(configuration.get("enforceWorkgroupConfiguration")):
        report(
            "configuration.enforceWorkgroupConfiguration is false: a query's client settings override the workgroup's result location and encryption."
        )
    managed = is_true(dig(configuration, "managedQueryResultsConfiguration", "enabled"))
    if not managed and not dig(configuration, "resultConfiguration", "encryptionConfiguration", "encryptionOption"):
        report(
            "configuration.resultConfiguration.encryptionConfiguration is not set: the workgroup enforces no"
            " encryption of its query results, which get only the output bucket's default (SSE-S3 unless the"
            " bucket asks for a KMS key), never a key the workgroup names."
        )


workgroup_guardrails = ResourceValidationPolicy(
    name="athena-workgroup-guardrails",
    description="Athena workgroups encrypt query results with an encryption configuration of their own (SSE-KMS with a customer managed key) and enforce it on every query.",
    validate=_guardrails,
    severity=Severity.MEDIUM,
    remediation_steps="Leave configuration.enforce_workgroup_configuration true and set result_configuration.encryption_configuration (SSE_KMS with a customer managed key), or use Athena's managed query results.",
    tags=[
        "athena",
        "encryption",
        *sources("CKV_AWS_82", "CKV_AWS_159", "aws-config:athena-workgroup-encrypted-at-rest"),
        *applies_to(WORKGROUP),
    ],
    url=aws_config_url("athena-workgroup-encrypted-at-rest"),
)


@for_types(WORKGROUP)
def _scan_limit(args: ResourceValidationArgs, report: Report) -> None:
    maximum = as_number(args.get_config().get("maxBytesScannedPerQuery")) or MAX_BYTES_SCANNED
    cutoff = as_number(dig(args.props, "configuration", "bytesScannedCutoffPerQuery"))
    if cutoff is None:
        report("configuration.bytesScannedCutoffPerQuery is not set: a single query may scan (and bill) without limit.")
    elif cutoff > maximum:
        report(
            f"configuration.bytesScannedCutoffPerQuery is {_gib(cutoff)}; cap each query at {_gib(maximum)} or less."
        )


def _gib(size: float) -> str:
    return f"{size / 1024**3:,.0f} GiB"


workgroup_scan_limit = ResourceValidationPolicy(
    name="athena-workgroup-scan-limit",
    description="Athena workgroups cap the bytes one query may scan, so a runaway query over captured data cannot run up an unbounded bill.",
    validate=_scan_limit,
    severity=Severity.LOW,
    remediation_steps="Set configuration.bytes_scanned_cutoff_per_query at or below maxBytesScannedPerQuery.",
    tags=["athena", "cost", *applies_to(WORKGROUP)],
    url="https://docs.aws.amazon.com/athena/latest/ug/workgroups-setting-control-limits-cloudwatch.html",
    config_schema=config_schema(
        {
            "maxBytesScannedPerQuery": {
                "type": "number",
                "minimum": 10485760,
                "default": MAX_BYTES_SCANNED,
                "description": "Largest accepted bytesScannedCutoffPerQuery (Athena's own minimum is 10 MB).",
            }
        }
    ),
)

POLICIES = [workgroup_guardrails, workgroup_scan_limit]
