"""What `plan` finds besides the policy pack: default providers the engine would deny, and inputs the
AWS API would refuse (botocore's model of the call pulumi-aws makes, `modelplane/offline/data/aws-calls.yaml`)."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest
from modelplane_components import autonaming

from modelplane.config.loader import read_stack_file
from modelplane.offline import api_constraints as aws_calls
from modelplane.offline.api_constraints import constraint_findings, unmatched_inputs
from modelplane.offline.default_providers import default_provider_findings, disabled_packages
from modelplane.offline.findings import AWS_CONSTRAINT, DEFAULT_PROVIDER
from modelplane.offline.graph import RecordedInvoke, RecordedResource, Simulation
from modelplane.offline.plan_result import Plan
from modelplane.offline.policy_client import PolicyReport
from modelplane.report.plan_json import render_json
from modelplane.report.plan_markdown import render_markdown
from modelplane.report.plan_sarif import render_sarif
from modelplane.report.plan_text import render_text
from tests.graphs import recorded
from tests.sarif import sarif_validator
from tests.stacks import STACK_NAMES, SimulateStack, stack_file

STAGING_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"


def with_inputs(resource: RecordedResource, **changes: Any) -> RecordedResource:
    inputs = copy.deepcopy(resource.inputs)
    inputs.update(changes)
    return replace(resource, inputs=inputs)


def only(simulation: Simulation, *resources: RecordedResource) -> Simulation:
    return replace(simulation, resources=list(resources), invokes=[])


@pytest.fixture(scope="module")
def staging(simulate_stack: SimulateStack) -> Simulation:
    return simulate_stack("staging")


# --- default providers ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_shipped_stack_disables_default_providers_and_needs_none(
    simulate_stack: SimulateStack, stack: str
) -> None:
    simulation = simulate_stack(stack)
    disabled = disabled_packages(read_stack_file(stack_file(stack)))

    assert disabled == {"*"}
    assert simulation.invokes, "precondition: the program calls provider functions"
    assert default_provider_findings(simulation, disabled) == []


def test_a_resource_on_the_default_provider_is_refused_with_the_engines_message(staging: Simulation) -> None:
    role = next(r for r in staging.resources if r.type == "aws:iam/role:Role")
    parent = next(r for r in staging.resources if r.urn == role.parent)
    orphan = replace(role, provider="", providers={})

    findings = default_provider_findings(only(staging, replace(parent, providers={}), orphan), {"*"})

    assert [(f.check, f.urn) for f in findings] == [(DEFAULT_PROVIDER.id, role.urn)]
    assert findings[0].message == f"Default provider for 'aws' disabled. '{role.urn}' must use an explicit provider."


def test_a_resource_inherits_the_provider_its_parent_components_carry(staging: Simulation) -> None:
    role = next(r for r in staging.resources if r.type == "aws:iam/role:Role")
    component = next(r for r in staging.resources if r.urn == role.parent)
    assert component.providers.get("aws"), "precondition: the component carries the stack's AWS provider"

    assert default_provider_findings(only(staging, component, replace(role, provider="")), {"*"}) == []


def test_an_invoke_without_a_provider_is_refused_once_per_function(staging: Simulation) -> None:
    token = "aws:index/getRegion:getRegion"
    invokes = [RecordedInvoke(token, ""), RecordedInvoke(token, ""), RecordedInvoke("pulumi:pulumi:getResource", "")]

    findings = default_provider_findings(replace(staging, resources=[], invokes=invokes), {"aws"})

    assert [(f.urn, f.type, f.message) for f in findings] == [
        ("", token, f"Default provider for 'aws' disabled. '{token}' must use an explicit provider.")
    ]


def test_the_engines_own_resources_never_need_a_provider(staging: Simulation) -> None:
    """`shouldDenyRequest` lets the `pulumi` package through: providers themselves and stack references."""
    references = [
        recorded("pulumi:pulumi:StackReference", "network", {"name": "acme/network/prod"}),
        recorded("pulumi:providers:aws", "aws", {"region": "eu-west-1"}),
    ]

    assert default_provider_findings(only(staging, *references), {"*"}) == []


def test_a_stack_that_keeps_default_providers_is_still_refused(staging: Simulation) -> None:
    findings = default_provider_findings(replace(staging, resources=[], invokes=[RecordedInvoke("aws:x:y", "")]), set())

    assert "pulumi:disable-default-providers: ['*']" in findings[0].message


# --- the AWS API's constraints ------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_shipped_stacks_meet_every_aws_constraint(simulate_stack: SimulateStack, stack: str) -> None:
    assert constraint_findings(simulate_stack(stack)) == []


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_input_of_every_aws_resource_reaches_an_aws_member(simulate_stack: SimulateStack, stack: str) -> None:
    """Keeps `aws-calls.yaml` complete: a new input or resource type must be mapped (or listed as ignored)."""
    assert unmatched_inputs(simulate_stack(stack)) == set()


def test_every_row_names_a_real_call_and_members_and_every_pattern_compiles() -> None:
    assert aws_calls.table_problems() == []


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        (
            {"productionVariants": [{"variantName": "v" * 70, "modelName": "m", "instanceType": "ml.m5.large"}]},
            "productionVariants[0].variantName",
            "is 70 characters, over the maximum of 63 (sagemaker CreateEndpointConfig: VariantName)",
        ),
        (
            {"productionVariants": [{"variantName": "a", "modelName": "m", "instanceType": "ml.m5.enormous"}]},
            "productionVariants[0].instanceType",
            "'ml.m5.enormous' is not one of the",
        ),
        (
            {
                "productionVariants": [
                    {
                        "variantName": "a",
                        "modelName": "m",
                        "serverlessConfig": {"memorySizeInMb": 512, "maxConcurrency": 1},
                    }
                ]
            },
            "productionVariants[0].serverlessConfig.memorySizeInMb",
            "512 is below the minimum of 1024 (sagemaker CreateEndpointConfig: ServerlessMemorySizeInMB)",
        ),
        (
            {"tags": {"k" * 200: "v"}},
            f"tags['{'k' * 37}...'].Key",
            "is 200 characters, over the maximum of 128 (sagemaker CreateEndpointConfig: TagKey)",
        ),
        (
            {
                "productionVariants": [
                    {"variantName": f"v{i}", "modelName": "m", "instanceType": "ml.m5.large"} for i in range(11)
                ]
            },
            "productionVariants",
            "11 items, over the maximum of 10 (sagemaker CreateEndpointConfig: ProductionVariantList)",
        ),
    ],
    ids=["length", "enum", "range", "tag-key", "list-size"],
)
def test_inputs_the_aws_api_refuses_are_findings_naming_resource_and_field(
    staging: Simulation, changes: dict[str, Any], field: str, problem: str
) -> None:
    config = with_inputs(staging.of_type(STAGING_CONFIG)[0], **changes)

    (finding,) = constraint_findings(only(staging, config))

    assert (finding.check, finding.urn, finding.type, finding.field) == (
        AWS_CONSTRAINT.id,
        config.urn,
        config.type,
        field,
    )
    assert problem in finding.message


def test_an_auto_named_resource_is_checked_with_the_name_the_engine_would_draw(staging: Simulation) -> None:
    model = staging.of_type("aws:sagemaker/model:Model")[0]
    assert "name" not in model.inputs, "precondition: the model is auto-named"
    long_named = replace(model, name="m" * 60)

    (finding,) = constraint_findings(only(staging, long_named))

    assert finding.field == "name"
    assert finding.message == (
        f"auto-name '{'m' * 60}-' plus 7 random chars is 68 characters, over the maximum of 63 "
        "(sagemaker CreateModel: ModelName)"
    )


def test_an_auto_name_past_the_providers_own_limit_gets_the_engines_message(staging: Simulation) -> None:
    bucket = staging.of_type("aws:s3/bucket:Bucket")[0]

    (finding,) = constraint_findings(only(staging, replace(bucket, name="b" * 60)))

    assert finding.message == f"name '{'b' * 60}-' plus 7 random chars is longer than maximum length 63"
    assert autonaming.too_long("b" * 55, 63) is None


def test_secret_values_are_never_quoted(staging: Simulation) -> None:
    version = recorded(
        "aws:secretsmanager/secretVersion:SecretVersion",
        "token",
        {
            "secretId": "arn",
            "secretString": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": ""},
        },
    )

    (finding,) = constraint_findings(only(staging, version))

    assert finding.message.startswith("[secret] is 0 characters, under the minimum of 1")


def test_findings_fail_the_plan_in_every_report(staging: Simulation) -> None:
    config = with_inputs(staging.of_type(STAGING_CONFIG)[0], tags={"k" * 200: "v"})
    findings = tuple(constraint_findings(only(staging, config)))
    report = Plan(staging, _empty_report(), findings)

    assert not report.passed
    assert "Plan findings (1), mandatory" in render_text(report)
    assert render_text(report).rstrip().endswith("1 plan finding: FAILED")
    document = render_json(report)
    assert document["summary"]["findings"] == 1
    assert document["findings"][0]["check"] == AWS_CONSTRAINT.id and document["findings"][0]["urn"] == config.urn
    sarif = render_sarif(report)
    sarif_validator().validate(sarif)
    (result,) = sarif["runs"][0]["results"]
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == AWS_CONSTRAINT.id
    assert "#### Plan findings (mandatory)" in render_markdown(report)
    json.dumps(document)


def _empty_report() -> PolicyReport:
    return PolicyReport("modelplane-guard", "0", None, {}, (), ())
