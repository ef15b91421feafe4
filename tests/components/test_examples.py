"""The examples of a platform team using the components: the Python program runs under the mock runtime,
the YAML program's resource types and properties are checked against the schema the plugin serves.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import json
from typing import Any

import pytest
from ruamel.yaml import YAML

from modelplane.offline.graph import RecordedResource, Simulation, is_secret, reveal
from tests.harness import run_isolated
from tests.stacks import REPOSITORY
from tools.generate.component_schema import load

EXAMPLES = REPOSITORY / "examples"
YAML_PROGRAM = EXAMPLES / "yaml" / "Pulumi.yaml"
TOKEN = "fixture-scoring-token"
TYPE_PREFIX = "#/types/"
PRIMITIVE_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


@pytest.fixture(scope="module")
def python_example() -> Simulation:
    return run_isolated("examples/python/__main__.py", config={"fraud-scoring:scoring-token": TOKEN})


def only(simulation: Simulation, type_token: str) -> RecordedResource:
    return simulation.one(type_token)


def test_python_example_places_the_models_in_the_teams_own_subnets(python_example: Simulation) -> None:
    """The subnet and security group ids are outputs of the team's resources (the mocks' id is the auto-name)."""
    subnets = python_example.of_type("aws:ec2/subnet:Subnet")
    group = only(python_example, "aws:ec2/securityGroup:SecurityGroup")
    model = only(python_example, "aws:sagemaker/model:Model")
    assert model.inputs["vpcConfig"] == {
        "subnets": [python_example.one("aws:ec2/subnet:Subnet", f"private-{zone}").outputs["name"] for zone in "ab"],
        "securityGroupIds": [group.outputs["name"]],
    }
    assert {subnet.urn for subnet in subnets} <= set(model.property_dependencies["vpcConfig"])


def test_python_example_encrypts_with_the_teams_own_key(python_example: Simulation) -> None:
    key_arn = only(python_example, "aws:kms/key:Key").outputs["arn"]
    config = only(python_example, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    assert config.inputs["kmsKeyArn"] == key_arn
    assert config.inputs["dataCaptureConfig"]["kmsKeyId"] == key_arn
    assert only(python_example, "aws:cloudwatch/logGroup:LogGroup").inputs["kmsKeyId"] == key_arn
    assert only(python_example, "aws:sns/topic:Topic").inputs["kmsMasterKeyId"] == key_arn


def test_python_example_deploys_from_the_teams_own_registry(python_example: Simulation) -> None:
    repository = only(python_example, "aws:ecr/repository:Repository")
    bucket = only(python_example, "aws:s3/bucket:Bucket")
    container = only(python_example, "aws:sagemaker/model:Model").inputs["primaryContainer"]
    assert container["image"] == f"{repository.outputs['repositoryUrl']}:3.1.0"
    assert container["modelDataUrl"] == f"s3://{bucket.outputs['bucket']}/fraud/3.1.0/model.tar.gz"


def test_python_example_lets_only_the_endpoint_read_its_secret(python_example: Simulation) -> None:
    version = only(python_example, "aws:secretsmanager/secretVersion:SecretVersion")
    assert is_secret(version.inputs["secretString"]) and reveal(version.inputs["secretString"]) == TOKEN
    policy = json.loads(only(python_example, "aws:secretsmanager/secretPolicy:SecretPolicy").inputs["policy"])
    (allow,) = [statement for statement in policy["Statement"] if statement["Effect"] == "Allow"]
    assert allow["Principal"]["AWS"] == [only(python_example, "aws:iam/role:Role").outputs["arn"]]


def test_python_example_protects_through_options(python_example: Simulation) -> None:
    assert only(python_example, "aws:sagemaker/endpoint:Endpoint").protect
    assert not only(python_example, "aws:sagemaker/model:Model").protect
    assert only(python_example, "aws:sagemaker/model:Model").retain_on_delete
    assert only(python_example, "aws:secretsmanager/secret:Secret").protect
    assert python_example.outputs["rollback_alarm_names"] == [
        "fraud-scoring-champion-5xx-rate",
        "fraud-scoring-champion-model-latency-p99",
    ]


def is_interpolation(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def value_problems(value: Any, spec: dict[str, Any], path: str, schema: dict[str, Any]) -> list[str]:
    """Why `value` cannot be what the schema property `spec` takes."""
    if is_interpolation(value):
        return [f"{path}: takes no outputs, only values known when the program runs"] if spec.get("plain") else []
    ref = spec.get("$ref", "")
    if ref.startswith(TYPE_PREFIX):
        definition = schema["types"][ref.removeprefix(TYPE_PREFIX)]
        if "enum" in definition:
            allowed = [member["value"] for member in definition["enum"]]
            return [] if value in allowed else [f"{path}: {value!r} is not one of {allowed}"]
        if not isinstance(value, dict):
            return [f"{path}: must be an object"]
        return object_problems(value, definition.get("properties", {}), definition.get("required", []), path, schema)
    kind = spec.get("type")
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path}: must be a list"]
        return [
            problem
            for index, item in enumerate(value)
            for problem in value_problems(item, spec["items"], f"{path}[{index}]", schema)
        ]
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{path}: must be a map"]
        item = spec["additionalProperties"]
        return [
            problem for key, entry in value.items() for problem in value_problems(entry, item, f"{path}.{key}", schema)
        ]
    expected = PRIMITIVE_TYPES[str(kind)]
    if isinstance(value, bool) and bool not in expected:
        return [f"{path}: must be a {kind}"]
    return [] if isinstance(value, expected) else [f"{path}: must be a {kind}"]


def object_problems(
    properties: dict[str, Any], specs: dict[str, Any], required: list[str], path: str, schema: dict[str, Any]
) -> list[str]:
    found = [f"{path}.{name}: required" for name in required if name not in properties]
    for name, value in properties.items():
        if name not in specs:
            found.append(f"{path}.{name}: no such property")
        else:
            found += value_problems(value, specs[name], f"{path}.{name}", schema)
    return found


def aws_problems(name: str, token: str, properties: dict[str, Any]) -> list[str]:
    """The pulumi-aws resource class of a YAML type token, and its constructor's arguments."""
    _, module, kind = token.split(":")
    try:
        resource_class = getattr(importlib.import_module(f"pulumi_aws.{module}"), kind)
    except (ImportError, AttributeError):
        return [f"{name}: no resource type {token} in pulumi-aws"]
    parameters = inspect.signature(resource_class._internal_init).parameters
    snake = {key: "".join(f"_{c.lower()}" if c.isupper() else c for c in key) for key in properties}
    return [f"{name}.{key}: no such property of {token}" for key, python in snake.items() if python not in parameters]


def yaml_problems(document: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for name, resource in document["resources"].items():
        token, properties = resource["type"], resource.get("properties") or {}
        if token.startswith(f"{schema['name']}:"):
            spec = schema["resources"].get(token)
            if spec is None:
                found.append(f"{name}: the schema has no resource {token}")
                continue
            found += object_problems(properties, spec["inputProperties"], spec.get("requiredInputs", []), name, schema)
        elif token.startswith("aws:"):
            found += aws_problems(name, token, properties)
        else:
            found.append(f"{name}: unexpected provider of {token}")
    return found


def yaml_program() -> dict[str, Any]:
    return YAML(typ="safe").load(YAML_PROGRAM)


def test_yaml_example_uses_the_schemas_types_and_properties() -> None:
    document = yaml_program()
    assert document["plugins"]["providers"] == [{"name": "modelplane", "path": "../../components"}]
    assert (YAML_PROGRAM.parent / "../../components/PulumiPlugin.yaml").resolve().exists()
    assert yaml_problems(document, load()) == []


def test_yaml_example_uses_every_component_it_shows_in_python() -> None:
    tokens = {resource["type"] for resource in yaml_program()["resources"].values()}
    assert {
        "modelplane:index:AlertTopic",
        "modelplane:index:EndpointMonitoring",
        "modelplane:index:ModelSecrets",
        "modelplane:index:SageMakerEndpoint",
        "modelplane:index:SecretReadPolicy",
    } <= tokens


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda fraud: fraud.pop("kmsKeyArn"), "fraud.kmsKeyArn: required"),
        (lambda fraud: fraud.update(instanceType="ml.m5.large"), "fraud.instanceType: no such property"),
        (
            lambda fraud: fraud["deployment"].update(strategy="blue-green"),
            "fraud.deployment.strategy: 'blue-green' is not one of",
        ),
        (lambda fraud: fraud.update(endpointName="${images.name}"), "fraud.endpointName: takes no outputs"),
        (
            lambda fraud: fraud["variants"][0].update(instanceCount="two"),
            "fraud.variants[0].instanceCount: must be a integer",
        ),
    ],
)
def test_yaml_check_catches_what_the_schema_forbids(change: Any, problem: str) -> None:
    document = copy.deepcopy(yaml_program())
    change(document["resources"]["fraud"]["properties"])
    assert any(found.startswith(problem) for found in yaml_problems(document, load())), problem
