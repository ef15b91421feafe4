"""The components as other languages see them: Pulumi's own schema inference accepts every one, the
committed schema is current, and the component provider constructs them from schema-named inputs.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import modelplane_components
import pulumi
import pytest
from modelplane_components._common import PACKAGE
from modelplane_components.provider import COMPONENTS, component_provider
from pulumi.provider.experimental.analyzer import Analyzer

from modelplane.offline.graph import ACCOUNT_ID, Simulation
from tests.harness import REGION, run_isolated
from tests.stacks import REPOSITORY
from tools.generate.component_schema import SCHEMA_PATH, load, render

COMPONENT_SOURCES = sorted((REPOSITORY / "components").glob("*.py"))
# What a component module may import: the standard library, the Pulumi SDKs, botocore, and its siblings.
ALLOWED_IMPORTS = {"pulumi", "pulumi_aws", "pulumi_kubernetes", "botocore"}
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/scenario"


def test_pulumi_schema_inference_accepts_every_component() -> None:
    """The analyzer behind `component_provider_host` and `pulumi package add`, run directly."""
    result = Analyzer(PACKAGE).analyze(COMPONENTS)
    definitions = result["component_definitions"]
    assert set(definitions) == {component.__name__ for component in COMPONENTS}
    for name, definition in definitions.items():
        assert definition.description, name
        assert definition.inputs and definition.outputs, name
        for prop_name, prop in {**definition.inputs, **definition.outputs}.items():
            assert prop.description, f"{name}.{prop_name} has no docstring"
    for name, type_definition in result["type_definitions"].items():
        assert type_definition.description, name
        for prop_name, prop in type_definition.properties.items():
            assert prop.description, f"{name}.{prop_name} has no docstring"


def test_every_component_of_the_package_is_served() -> None:
    defined = set()
    for module in pkgutil.iter_modules(modelplane_components.__path__):
        if module.name == "__main__":
            continue
        loaded = importlib.import_module(f"modelplane_components.{module.name}")
        defined |= {
            value
            for value in vars(loaded).values()
            if inspect.isclass(value)
            and issubclass(value, pulumi.ComponentResource)
            and value.__module__ == loaded.__name__
        }
    assert defined == set(COMPONENTS)


def test_committed_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(), "run `make generate` and commit components/schema.json"


def test_schema_uses_index_tokens_and_no_dependency_it_cannot_resolve() -> None:
    schema = load()
    assert schema["name"] == PACKAGE
    assert all(token.startswith(f"{PACKAGE}:index:") for token in [*schema["resources"], *schema["types"]])
    assert schema["dependencies"] == []


@pytest.mark.parametrize("path", COMPONENT_SOURCES, ids=lambda path: path.name)
def test_component_modules_stand_alone(path: Path) -> None:
    """Real annotations for the analyzer; nothing of modelplane's settings, loader or program; no config."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.module != "__future__", "the analyzer needs real annotations, not strings"
            if node.level == 0 and node.module is not None:
                root = node.module.split(".")[0]
                assert (
                    root in ALLOWED_IMPORTS
                    or root in sys.stdlib_module_names
                    or (path.name == "__main__.py" and root == "modelplane_components")
                ), node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                assert root in ALLOWED_IMPORTS or root in sys.stdlib_module_names, alias.name
        elif isinstance(node, ast.Attribute):
            assert node.attr not in {"Config", "get_secret_object", "get_object"}, "components read no config"


def construct_scenario() -> None:
    """Construct components as a YAML or TypeScript program would: by token, with schema (camelCase) inputs."""
    import pulumi_aws as aws

    provider = component_provider()
    opts = pulumi.ResourceOptions(provider=aws.Provider("aws", region=REGION))
    provider.construct(
        "fraud",
        f"{PACKAGE}:index:SageMakerEndpoint",
        {
            "endpointName": "fraud-team",
            "variants": [
                {"name": "champion", "imageTag": "1.0.0", "instanceType": "ml.m5.large", "instanceCount": 2.0}
            ],
            "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/fraud",
            "repositoryArn": f"arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/fraud",
            "bucketName": "team-models",
            "bucketArn": "arn:aws:s3:::team-models",
            "kmsKeyArn": KEY_ARN,
            "deployment": {"strategy": "canary", "step": {"type": "capacity-percent", "value": 20.0}},
            "autoscaling": {"minCapacity": 2.0, "maxCapacity": 4.0},
            "dataCapture": {"samplingPercent": 5.0, "captureOutput": False},
            "network": {"subnetIds": ["subnet-0a1b2c3d"], "securityGroupIds": ["sg-0a1b2c3d"]},
        },
        opts,
    )
    provider.construct(
        "secrets",
        f"{PACKAGE}:index:ModelSecrets",
        {
            "secrets": {
                "token": {"description": "A token.", "rotation": {"lambdaArn": "arn", "automaticallyAfterDays": 30.0}}
            },
            "kmsKeyArn": KEY_ARN,
        },
        opts,
    )


@pytest.fixture(scope="module")
def constructed() -> Simulation:
    return run_isolated("tests.components.test_component_schema:construct_scenario")


def test_the_provider_constructs_components_from_schema_inputs(constructed: Simulation) -> None:
    config = constructed.one("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    (variant,) = config.inputs["productionVariants"]
    assert (variant["instanceType"], variant["initialInstanceCount"]) == ("ml.m5.large", 2)
    assert config.inputs["dataCaptureConfig"]["initialSamplingPercentage"] == 5
    assert config.inputs["dataCaptureConfig"]["captureOptions"] == [{"captureMode": "Input"}]
    endpoint = constructed.one("aws:sagemaker/endpoint:Endpoint")
    routing = endpoint.inputs["deploymentConfig"]["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"]
    assert routing["type"] == "CANARY" and routing["canarySize"] == {"type": "CAPACITY_PERCENT", "value": 20}
    model = constructed.one("aws:sagemaker/model:Model")
    assert model.inputs["vpcConfig"] == {"subnets": ["subnet-0a1b2c3d"], "securityGroupIds": ["sg-0a1b2c3d"]}
    rotation = constructed.one("aws:secretsmanager/secretRotation:SecretRotation")
    assert rotation.inputs["rotationRules"] == {"automaticallyAfterDays": 30}


def test_constructed_components_carry_the_index_token(constructed: Simulation) -> None:
    tokens = {resource.type for resource in constructed.resources if not resource.custom}
    assert tokens == {f"{PACKAGE}:index:SageMakerEndpoint", f"{PACKAGE}:index:ModelSecrets"}


def whole_numbers_scenario() -> None:
    """Integer inputs as YAML and the other languages send them: every number a float."""
    import pulumi_aws as aws
    import pulumi_kubernetes as k8s

    provider = component_provider()
    cloud = aws.Provider("aws", region=REGION)
    provider.construct(
        "team",
        f"{PACKAGE}:index:ContainerRepository",
        {
            "repositoryName": "team-models",
            "kmsKeyArn": KEY_ARN,
            "pullPrincipalArns": [f"arn:aws:iam::{ACCOUNT_ID}:root"],
            "keepTaggedImages": 5.0,
        },
        pulumi.ResourceOptions(provider=cloud),
    )
    provider.construct(
        "fraud",
        f"{PACKAGE}:index:SageMakerEndpoint",
        {
            "endpointName": "fraud-team",
            "variants": [
                {"name": "champion", "imageTag": "1.0.0", "modelPackageVersion": 7.0, "instanceType": "ml.m5.large"}
            ],
            "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/fraud",
            "repositoryArn": f"arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/fraud",
            "bucketName": "team-models",
            "bucketArn": "arn:aws:s3:::team-models",
            "kmsKeyArn": KEY_ARN,
            "modelPackageGroupName": "fraud-team",
            "registeredArtifactPrefix": "fraud/",
        },
        pulumi.ResourceOptions(provider=cloud),
    )
    provider.construct(
        "ranker",
        f"{PACKAGE}:index:KubernetesModelService",
        {
            "instanceName": "ranker",
            "appName": "ranking",
            "namespace": "ranking",
            "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/ranking",
            "variants": [{"name": "blue", "imageTag": "4.0.0", "weight": 3.0}],
            "gateway": {"gatewayName": "edge", "gatewayNamespace": "edge-system"},
            "alerts": {"periodSeconds": 60.0, "evaluationPeriods": 5.0, "datapointsToAlarm": 3.0},
        },
        pulumi.ResourceOptions(providers=[cloud, k8s.Provider("cluster", context="team")]),
    )


def test_integer_inputs_reach_the_components_as_whole_numbers() -> None:
    """A float in an ARN, an ECR lifecycle rule or a Prometheus duration is invalid; a whole weight is refused."""
    constructed = run_isolated("tests.components.test_component_schema:whole_numbers_scenario")
    lifecycle = json.loads(constructed.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])
    (kept,) = [rule for rule in lifecycle["rules"] if rule["selection"]["tagStatus"] == "tagged"]
    assert type(kept["selection"]["countNumber"]) is int
    assert kept["description"] == "Keep the 5 most recent tagged images"
    model = constructed.one("aws:sagemaker/model:Model")
    assert model.inputs["primaryContainer"]["modelPackageName"].endswith(":model-package/fraud-team/7")
    rules = constructed.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule").inputs["spec"]["groups"][0]["rules"]
    assert {rule["for"] for rule in rules} == {"180s"}
    assert all("[300s]" in rule["expr"] for rule in rules)


def test_the_plugin_serves_the_committed_schema(tmp_path: Path) -> None:
    """Run `components/` as Pulumi's Python language host runs a plugin (`python <folder> <engine>`), then
    ask it for its schema over gRPC as `pulumi package get-schema` does."""
    import grpc
    from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

    plugin = subprocess.Popen(
        [sys.executable, str(REPOSITORY / "components"), "127.0.0.1:1"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert plugin.stdout is not None
        port = plugin.stdout.readline().strip()
        assert port.isdigit(), plugin.stderr.read() if plugin.stderr else "no port"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = provider_pb2_grpc.ResourceProviderStub(channel).GetSchema(
                provider_pb2.GetSchemaRequest(version=0), timeout=60
            )
        assert json.loads(reply.schema) == load()
    finally:
        plugin.kill()
        plugin.wait()
