"""SQL over SageMaker's data capture: a Glue table per capturing endpoint, an Athena workgroup, and the IAM
a drift runner needs (`modelplane drift --engine athena`, or any Athena client).

Each table reads one endpoint's capture prefix as JSON Lines (the OpenX JSON SerDe; a malformed line is a
row of nulls, not a failed query) with the partitions `variant` and `hour` (`yyyy/MM/dd/HH`, UTC)
projected from the keys SageMaker writes (`<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/`): Athena
computes the partitions a query names, so there is no crawler to run and no `MSCK REPAIR TABLE`.

The workgroup enforces its settings on every query: results go to the artifact bucket below
`athena-results/`, encrypted with the stack's key (SSE-KMS); a query that scans more than the per-query
limit is cancelled; metrics go to CloudWatch. The runner policy allows exactly what a drift run does:
query in this workgroup, read these tables and the capture below them, write and read the results, use
the key through S3, and publish the drift metrics.
"""

from collections.abc import Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from ._common import Problem, Tags, check, type_token
from .naming import (
    CAPTURE_HOUR_PROJECTION_FORMAT,
    DEFAULT_PROJECTED_HOURS_RANGE,
    DRIFT_NAMESPACE,
    QUERY_RESULTS_PREFIX,
    capture_table_name,
    data_capture_prefix,
)

ATHENA_ENGINE_VERSION = "Athena engine version 3"
DEFAULT_SCAN_LIMIT_BYTES = 100 * 1000**3
# Athena's smallest per-query limit (BytesScannedCutoffPerQuery).
MIN_SCAN_LIMIT_BYTES = 10 * 1000**2
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
# SageMaker's capture record (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture.html),
# with the names the SerDe gives them: lower case, matched without regard to case.
_PAYLOAD = "struct<observedcontenttype:string,mode:string,data:string,encoding:string>"
CAPTURE_COLUMNS = (
    ("capturedata", f"struct<endpointinput:{_PAYLOAD},endpointoutput:{_PAYLOAD}>"),
    ("eventmetadata", "struct<eventid:string,inferenceid:string,inferencetime:string>"),
    ("eventversion", "string"),
)
PARTITION_KEYS = ("variant", "hour")
QUERY_ACTIONS = (
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:GetWorkGroup",
    "athena:StartQueryExecution",
    "athena:StopQueryExecution",
)
CATALOG_ACTIONS = ("glue:GetDatabase", "glue:GetTable")
RESULT_ACTIONS = ("s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject")


class CapturedEndpointArgs(TypedDict):
    """An endpoint whose capture gets a table."""

    endpoint_name: str
    """Deployed endpoint name: its capture lies below `data-capture/<endpoint_name>/<endpoint_name>/`."""
    variants: Sequence[str]
    """Every variant that captures, the shadow included: the values of the `variant` partition."""


class CaptureQueriesArgs(TypedDict):
    """The capture's bucket and key, the endpoints that capture, and the names and limits of the query side."""

    database_name: str
    """Glue database of the tables: lower case letters, digits and underscores."""
    workgroup_name: str
    """Athena workgroup the queries run in."""
    endpoints: Sequence[CapturedEndpointArgs]
    """Endpoints whose capture gets a table (at least one)."""
    bucket_name: pulumi.Input[str]
    """Artifact bucket holding the capture; the query results go below `athena-results/` in it."""
    bucket_arn: pulumi.Input[str]
    """ARN of that bucket, for the runner policy."""
    kms_key_arn: pulumi.Input[str]
    """The stack's key: it encrypts the capture, and the workgroup encrypts results with it."""
    scan_limit_bytes: NotRequired[int]
    """Bytes a query may scan before Athena cancels it, at least 10,000,000; default 100 GB."""
    projected_hours_range: NotRequired[str]
    """Range of the projected `hour` partitions, Athena's syntax; default `NOW-1YEARS,NOW`."""
    tags: NotRequired[pulumi.Input[Tags]]
    """Tags of the database, workgroup and policy (Glue tables take none)."""


class CaptureQueries(pulumi.ComponentResource):
    """A Glue database with a projected table per endpoint's capture, an enforced Athena workgroup, a runner policy."""

    database_name: pulumi.Output[str]
    """Glue database of the tables."""
    table_names: pulumi.Output[dict[str, str]]
    """Table name per deployed endpoint name."""
    workgroup_name: pulumi.Output[str]
    """Athena workgroup to run the queries in."""
    results_location: pulumi.Output[str]
    """`s3://` prefix where the workgroup writes results."""
    runner_policy_arn: pulumi.Output[str]
    """Managed policy to attach to whoever runs drift on Athena (a CI role, an on-call group)."""
    projected_hours_range: pulumi.Output[str]
    """Range of the projected `hour` partitions, Athena's syntax: capture outside it is not queried."""

    def __init__(self, name: str, args: CaptureQueriesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check("CaptureQueries", name, problems(args))
        super().__init__(type_token("CaptureQueries"), name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        invoke_opts = pulumi.InvokeOutputOptions(parent=self)
        aws_partition = aws.get_partition_output(opts=invoke_opts)
        partition = aws_partition.partition
        region = aws.get_region_output(opts=invoke_opts).region
        account_id = aws.get_caller_identity_output(opts=invoke_opts).account_id
        tags = args.get("tags")
        bucket = args["bucket_name"]
        hours_range = args.get("projected_hours_range", DEFAULT_PROJECTED_HOURS_RANGE)

        database = aws.glue.CatalogDatabase(
            f"{name}-database",
            name=args["database_name"],
            description="SageMaker data capture of the stack's endpoints, one table per endpoint (modelplane)",
            tags=tags,
            opts=child,
        )
        tables = {
            endpoint["endpoint_name"]: aws.glue.CatalogTable(
                f"{name}-{endpoint['endpoint_name']}",
                name=capture_table_name(endpoint["endpoint_name"]),
                database_name=database.name,
                description=f"Data capture of SageMaker endpoint {endpoint['endpoint_name']}",
                table_type="EXTERNAL_TABLE",
                parameters=table_parameters(bucket, endpoint, hours_range),
                partition_keys=[
                    aws.glue.CatalogTablePartitionKeyArgs(name=key, type="string") for key in PARTITION_KEYS
                ],
                storage_descriptor=aws.glue.CatalogTableStorageDescriptorArgs(
                    location=pulumi.Output.concat("s3://", bucket, "/", capture_location(endpoint["endpoint_name"])),
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    ser_de_info=aws.glue.CatalogTableStorageDescriptorSerDeInfoArgs(
                        serialization_library=JSON_SERDE, parameters={"ignore.malformed.json": "true"}
                    ),
                    columns=[
                        aws.glue.CatalogTableStorageDescriptorColumnArgs(name=column, type=kind)
                        for column, kind in CAPTURE_COLUMNS
                    ],
                ),
                opts=child,
            )
            for endpoint in args["endpoints"]
        }
        results = pulumi.Output.concat("s3://", bucket, "/", QUERY_RESULTS_PREFIX)
        workgroup = aws.athena.Workgroup(
            f"{name}-workgroup",
            name=args["workgroup_name"],
            description="Queries over the stack's SageMaker data capture (modelplane drift --engine athena)",
            state="ENABLED",
            configuration=aws.athena.WorkgroupConfigurationArgs(
                enforce_workgroup_configuration=True,
                publish_cloudwatch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=args.get("scan_limit_bytes", DEFAULT_SCAN_LIMIT_BYTES),
                requester_pays_enabled=False,
                engine_version=aws.athena.WorkgroupConfigurationEngineVersionArgs(
                    selected_engine_version=ATHENA_ENGINE_VERSION
                ),
                result_configuration=aws.athena.WorkgroupConfigurationResultConfigurationArgs(
                    output_location=results,
                    expected_bucket_owner=account_id,
                    encryption_configuration=aws.athena.WorkgroupConfigurationResultConfigurationEncryptionConfigurationArgs(
                        encryption_option="SSE_KMS", kms_key_arn=args["kms_key_arn"]
                    ),
                ),
            ),
            tags=tags,
            opts=child,
        )
        catalog = pulumi.Output.concat("arn:", partition, ":glue:", region, ":", account_id, ":catalog")
        policy = aws.iam.Policy(
            f"{name}-runner",
            description=f"Run drift queries in Athena workgroup {args['workgroup_name']} over the stack's data capture",
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": runner_statements(
                        args,
                        workgroup_arn=workgroup.arn,
                        catalog_arn=catalog,
                        database_arn=database.arn,
                        table_arns=[table.arn for table in tables.values()],
                        s3_service=pulumi.Output.concat("s3.", region, ".", aws_partition.dns_suffix),
                    ),
                }
            ),
            tags=tags,
            opts=child,
        )
        self.database_name = database.name
        self.table_names = pulumi.Output.all(**{endpoint: table.name for endpoint, table in tables.items()}).apply(dict)
        self.workgroup_name = workgroup.name
        self.results_location = results
        self.runner_policy_arn = policy.arn
        self.projected_hours_range = pulumi.Output.from_input(hours_range)
        self.register_outputs(
            {
                "database_name": self.database_name,
                "table_names": self.table_names,
                "workgroup_name": self.workgroup_name,
                "results_location": self.results_location,
                "runner_policy_arn": self.runner_policy_arn,
                "projected_hours_range": self.projected_hours_range,
            }
        )


def capture_location(endpoint_name: str) -> str:
    """The key prefix of an endpoint's capture: the destination plus the endpoint's name SageMaker adds."""
    return f"{data_capture_prefix(endpoint_name)}{endpoint_name}/"


def table_parameters(
    bucket: pulumi.Input[str], endpoint: CapturedEndpointArgs, hours_range: str
) -> dict[str, pulumi.Input[str]]:
    """Partition projection: `variant` from the endpoint's variants, `hour` from the key's `yyyy/MM/dd/HH`."""
    return {
        "classification": "json",
        "EXTERNAL": "TRUE",
        "projection.enabled": "true",
        "projection.variant.type": "enum",
        "projection.variant.values": ",".join(endpoint["variants"]),
        "projection.hour.type": "date",
        "projection.hour.format": CAPTURE_HOUR_PROJECTION_FORMAT,
        "projection.hour.range": hours_range,
        "projection.hour.interval": "1",
        "projection.hour.interval.unit": "HOURS",
        "storage.location.template": pulumi.Output.concat(
            "s3://", bucket, "/", capture_location(endpoint["endpoint_name"]), "${variant}/${hour}/"
        ),
    }


def runner_statements(
    args: CaptureQueriesArgs,
    *,
    workgroup_arn: pulumi.Input[str],
    catalog_arn: pulumi.Input[str],
    database_arn: pulumi.Input[str],
    table_arns: Sequence[pulumi.Input[str]],
    s3_service: pulumi.Input[str],
) -> list[dict[str, Any]]:
    """What one drift run does, on exactly these resources; `Resource: "*"` only for PutMetricData."""
    bucket_arn = args["bucket_arn"]
    captures = [capture_location(endpoint["endpoint_name"]) for endpoint in args["endpoints"]]
    return [
        _allow("QueryInTheDriftWorkgroup", QUERY_ACTIONS, [workgroup_arn]),
        _allow("ReadTheCaptureTables", CATALOG_ACTIONS, [catalog_arn, database_arn, *table_arns]),
        _allow(
            "ListTheCaptureAndResults",
            ["s3:ListBucket"],
            [bucket_arn],
            {"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in [*captures, QUERY_RESULTS_PREFIX]]}},
        ),
        _allow("LocateTheBucket", ["s3:GetBucketLocation"], [bucket_arn]),
        _allow("ReadTheCapture", ["s3:GetObject"], [pulumi.Output.concat(bucket_arn, "/", p, "*") for p in captures]),
        _allow(
            "WriteAndReadQueryResults",
            RESULT_ACTIONS,
            [pulumi.Output.concat(bucket_arn, "/", QUERY_RESULTS_PREFIX, "*")],
        ),
        _allow(
            "UseTheStackKeyThroughS3",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            [args["kms_key_arn"]],
            {"StringEquals": {"kms:ViaService": s3_service}},
        ),
        # PutMetricData takes no resource; the namespace condition keeps it to the drift metrics.
        _allow(
            "PublishDriftMetrics",
            ["cloudwatch:PutMetricData"],
            ["*"],
            {"StringEquals": {"cloudwatch:namespace": DRIFT_NAMESPACE}},
        ),
    ]


def _allow(
    sid: str, actions: Sequence[str], resources: Sequence[pulumi.Input[str]], condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}
    if condition is not None:
        statement["Condition"] = condition
    return statement


def problems(args: CaptureQueriesArgs) -> list[Problem]:
    """Athena's and Glue's rules for the names and the limit."""
    found: list[Problem] = []
    database = args["database_name"]
    if not database or not all(c.islower() or c.isdigit() or c == "_" for c in database):
        found.append(("database_name", "use lower case letters, digits and underscores (Athena's names)"))
    if not args["endpoints"]:
        found.append(("endpoints", "name at least one endpoint that captures"))
    for index, endpoint in enumerate(args["endpoints"]):
        if not endpoint["variants"]:
            found.append((f"endpoints[{index}].variants", "name at least one variant"))
    limit = args.get("scan_limit_bytes", DEFAULT_SCAN_LIMIT_BYTES)
    if limit < MIN_SCAN_LIMIT_BYTES:
        found.append(
            ("scan_limit_bytes", f"must be at least {MIN_SCAN_LIMIT_BYTES} (Athena BytesScannedCutoffPerQuery)")
        )
    return found
