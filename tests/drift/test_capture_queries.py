"""What the prod program declares for SQL over its capture (`CaptureQueries`), as the provider receives it:
a table per capturing endpoint (SageMaker's fraud, Kubernetes' recommender, whose pods write the same
layout) whose projection matches the keys written and the columns the drift query reads, an enforced and
encrypted workgroup with a scan limit, and a runner policy scoped to exactly these."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from modelplane_components.capture_queries import CaptureQueries, problems

from modelplane.drift.athena import CaptureTable, source
from modelplane.drift.capture import hour_prefix
from modelplane.offline.simulation import RecordedResource, Simulation
from modelplane.timewindow import Window
from tests.stacks import SimulateStack, stack_config, write_stack

TABLE = "aws:glue/catalogTable:CatalogTable"
WORKGROUP = "aws:athena/workgroup:Workgroup"
POLICY = "aws:iam/policy:Policy"
DATABASE = "aws:glue/catalogDatabase:CatalogDatabase"


@pytest.fixture(scope="module")
def prod(simulate_stack: SimulateStack) -> Simulation:
    return simulate_stack("prod")


# The capturing endpoints of prod and their production variant: SageMaker's, and Kubernetes'.
CAPTURING = [("fraud", "champion"), ("recommender", "two-tower-v6")]


def one(simulation: Simulation, token: str) -> RecordedResource:
    (resource,) = simulation.of_type(token)
    return resource


def table_of(simulation: Simulation, endpoint: str) -> RecordedResource:
    endpoint_name = simulation.outputs["endpoints"][endpoint]["endpoint_name"]
    (table,) = [table for table in simulation.of_type(TABLE) if table.name == f"capture-queries-{endpoint_name}"]
    return table


def test_there_is_a_table_per_capturing_endpoint(prod: Simulation) -> None:
    assert sorted(table.name for table in prod.of_type(TABLE)) == [
        "capture-queries-fraud-prod",
        "capture-queries-recommender-prod",
    ]


@pytest.mark.parametrize(("endpoint", "variant"), CAPTURING)
def test_the_table_projects_the_partitions_the_capture_is_written_to(
    prod: Simulation, endpoint: str, variant: str
) -> None:
    table = table_of(prod, endpoint)
    bucket = prod.outputs["registry"]["bucket_name"]
    endpoint_name = prod.outputs["endpoints"][endpoint]["endpoint_name"]
    parameters = table.inputs["parameters"]
    assert parameters["projection.enabled"] == "true"
    assert (parameters["projection.variant.type"], parameters["projection.variant.values"]) == ("enum", variant)
    assert parameters["projection.hour.format"] == "yyyy/MM/dd/HH"
    assert (parameters["projection.hour.interval"], parameters["projection.hour.interval.unit"]) == ("1", "HOURS")
    # Filled in with a variant and an hour, the template is the prefix that hour's files are written to.
    hour = datetime(2026, 11, 2, 7, tzinfo=UTC)
    filled = parameters["storage.location.template"].replace("${variant}", variant)
    assert (
        filled.replace("${hour}", f"{hour:%Y/%m/%d/%H}") == f"s3://{bucket}/{hour_prefix(endpoint_name, variant, hour)}"
    )
    assert [key["name"] for key in table.inputs["partitionKeys"]] == ["variant", "hour"]
    assert table.inputs["storageDescriptor"]["serDeInfo"]["parameters"] == {"ignore.malformed.json": "true"}


@pytest.mark.parametrize(("endpoint", "variant"), CAPTURING)
def test_the_table_has_the_columns_and_names_the_athena_query_reads(
    prod: Simulation, endpoint: str, variant: str
) -> None:
    table, database = table_of(prod, endpoint), one(prod, DATABASE)
    declared = prod.outputs["endpoints"][endpoint]["capture_table"]
    assert (declared["database"], declared["table"]) == (database.inputs["name"], table.inputs["name"])
    assert declared["workgroup"] == one(prod, WORKGROUP).inputs["name"]
    columns = {column["name"]: column["type"] for column in table.inputs["storageDescriptor"]["columns"]}
    text = source(
        CaptureTable(declared["database"], declared["table"], declared["workgroup"]),
        [variant],
        Window(datetime(2026, 11, 2, 6, tzinfo=UTC), datetime(2026, 11, 2, 7, tzinfo=UTC)),
    )
    for field in ("eventmetadata.eventid", "eventmetadata.inferencetime", "capturedata.endpointinput.data"):
        assert field in text
    assert "eventid:string" in columns["eventmetadata"] and "inferencetime:string" in columns["eventmetadata"]
    assert "endpointinput:struct<" in columns["capturedata"]
    for member in ("observedcontenttype:string", "encoding:string", "data:string"):
        assert member in columns["capturedata"]


def test_the_workgroup_enforces_encrypted_results_a_scan_limit_and_metrics(prod: Simulation) -> None:
    configuration = one(prod, WORKGROUP).inputs["configuration"]
    bucket = prod.outputs["registry"]["bucket_name"]
    assert configuration["enforceWorkgroupConfiguration"] is True
    assert configuration["publishCloudwatchMetricsEnabled"] is True
    assert configuration["bytesScannedCutoffPerQuery"] == 100 * 1000**3
    assert configuration["engineVersion"]["selectedEngineVersion"] == "Athena engine version 3"
    results = configuration["resultConfiguration"]
    assert results["outputLocation"] == f"s3://{bucket}/athena-results/"
    assert results["encryptionConfiguration"] == {
        "encryptionOption": "SSE_KMS",
        "kmsKeyArn": prod.outputs["registry"]["key_arn"],
    }
    assert prod.outputs["capture_queries"]["results_location"] == results["outputLocation"]


def test_the_scan_limit_comes_from_the_settings(simulate_stack: SimulateStack, tmp_path: Any) -> None:
    config = stack_config("prod")
    config["modelplane:monitoring"]["drift_query_scan_limit_gb"] = 2.5
    simulation = simulate_stack(write_stack(tmp_path, config, "prod"))

    assert one(simulation, WORKGROUP).inputs["configuration"]["bytesScannedCutoffPerQuery"] == 2_500_000_000


def test_a_stack_without_capture_declares_no_tables(simulate_stack: SimulateStack, tmp_path: Any) -> None:
    config = stack_config("prod")
    for endpoint in config["modelplane:endpoints"]:
        endpoint["data_capture"], endpoint["drift"] = {"enabled": False}, {"enabled": False}
    simulation = simulate_stack(write_stack(tmp_path, config, "prod"))

    assert simulation.of_type(TABLE) == simulation.of_type(WORKGROUP) == []
    assert "capture_queries" not in simulation.outputs
    for endpoint in ("fraud", "recommender"):
        assert "capture_table" not in simulation.outputs["endpoints"][endpoint]


def statements(prod: Simulation) -> dict[str, dict[str, Any]]:
    document = json.loads(one(prod, POLICY).inputs["policy"])
    return {statement["Sid"]: statement for statement in document["Statement"]}


def test_the_runner_policy_allows_one_drift_run_on_exactly_these_resources(prod: Simulation) -> None:
    granted = statements(prod)
    bucket_arn = prod.outputs["registry"]["bucket_arn"]
    names = [prod.outputs["endpoints"][endpoint]["endpoint_name"] for endpoint, _ in CAPTURING]
    captures = [f"data-capture/{name}/{name}/" for name in names]
    workgroup = one(prod, WORKGROUP)
    assert granted["QueryInTheDriftWorkgroup"]["Resource"] == [workgroup.outputs["arn"]]
    assert "athena:StartQueryExecution" in granted["QueryInTheDriftWorkgroup"]["Action"]
    for endpoint, _ in CAPTURING:
        assert table_of(prod, endpoint).outputs["arn"] in granted["ReadTheCaptureTables"]["Resource"]
    assert granted["ReadTheCaptureTables"]["Action"] == ["glue:GetDatabase", "glue:GetTable"]
    assert granted["ReadTheCapture"]["Resource"] == [f"{bucket_arn}/{capture}*" for capture in captures]
    assert granted["ListTheCaptureAndResults"]["Condition"] == {
        "StringLike": {"s3:prefix": [*(f"{capture}*" for capture in captures), "athena-results/*"]}
    }
    assert granted["WriteAndReadQueryResults"]["Resource"] == [f"{bucket_arn}/athena-results/*"]
    key = granted["UseTheStackKeyThroughS3"]
    assert key["Resource"] == [prod.outputs["registry"]["key_arn"]]
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    wildcard = [sid for sid, statement in granted.items() if "*" in statement["Resource"]]
    assert wildcard == ["PublishDriftMetrics"]
    assert granted["PublishDriftMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "modelplane/DataDrift"}
    }
    assert prod.outputs["capture_queries"]["runner_policy_arn"] == one(prod, POLICY).outputs["arn"]


def test_every_child_belongs_to_the_component(prod: Simulation) -> None:
    (component,) = [r for r in prod.resources if r.type == "modelplane:index:CaptureQueries"]
    children = [r for r in prod.resources if r.parent == component.urn]
    assert sorted(r.type for r in children) == sorted([DATABASE, TABLE, TABLE, WORKGROUP, POLICY])


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"database_name": "Modelplane-Prod"}, ("database_name", "use lower case letters, digits and underscores")),
        ({"endpoints": []}, ("endpoints", "name at least one endpoint that captures")),
        ({"scan_limit_bytes": 1000}, ("scan_limit_bytes", "must be at least 10000000")),
    ],
)
def test_arguments_athena_would_refuse_are_named(change: dict[str, Any], problem: tuple[str, str]) -> None:
    args: Any = {
        "database_name": "modelplane_prod",
        "workgroup_name": "modelplane-prod-drift",
        "endpoints": [{"endpoint_name": "fraud-prod", "variants": ["champion"]}],
        "bucket_name": "bucket",
        "bucket_arn": "arn:aws:s3:::bucket",
        "kms_key_arn": "arn:aws:kms:eu-west-1:111111111111:key/k",
        **change,
    }
    field, message = problem
    assert any(path == field and message in why for path, why in problems(args))
    with pytest.raises(ValueError, match="CaptureQueries 'queries'"):
        CaptureQueries("queries", args)
