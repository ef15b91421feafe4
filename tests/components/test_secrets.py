"""Secrets: values stay secret end to end, each secret is read only by the roles its policy names.

Whole-program checks run the stacks under the mock runtime; `ModelSecrets` and `SecretReadPolicy` are
also built directly from hand-made arguments (in a fresh process) with known reader roles.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import pytest
from modelplane_components.model_secrets import ModelSecrets, ModelSecretsArgs
from modelplane_components.naming import secret_arn_env_var

from modelplane.config.loader import PROJECT, SettingsError, settings_from_config
from modelplane.offline.graph import ACCOUNT_ID, RecordedResource, Simulation, is_secret, reveal
from modelplane.settings import Platform
from tests.harness import REGION, run_isolated
from tests.stacks import SimulateStack, settings_of, stack_config

if TYPE_CHECKING:
    from modelplane_components.model_secrets import SecretArgs

SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
READ_POLICY = "modelplane:index:SecretReadPolicy"
KEY = "aws:kms/key:Key"
MODEL = "aws:sagemaker/model:Model"
ROLE = "aws:iam/role:Role"
KUBERNETES_SERVICE = "modelplane:index:KubernetesModelService"
STACKS_WITH_SECRETS = ["dev", "staging", "prod"]
FIXTURE_VALUE = "fixture-plaintext-XYZ"
# The mocks' caller identity: the deploying principal, which must keep reading the versions it manages.
DEPLOYER = f"arn:aws:iam::{ACCOUNT_ID}:user/modelplane"
ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"
SSO_ADMINS = f"arn:aws:iam::{ACCOUNT_ID}:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_AdministratorAccess_*"
ROTATION_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/token-rotation"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/scenario"

# Component scenario: three secrets (given a value, given a value and rotated, set out of band), two reader roles.
SCENARIO: ModelSecretsArgs = {
    "secrets": {
        "api-key": {"description": "Third-party API key.", "value": "plain-api-key-value"},
        "feature-store-token": {
            "description": "Feature store token.",
            "value": "plain-token-value",
            "rotation": {
                "lambda_arn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:token-rotation",
                "schedule_expression": "rate(30 days)",
            },
        },
        "out-of-band": {"description": "Set by the vendor's onboarding script."},
    },
    "kms_key_arn": KEY_ARN,
    "recovery_window_days": 7,
    "tags": {"owner": "team"},
}
# secret -> reader roles, api-key's scorer twice on purpose; the rotation function's role reads its secret.
SCENARIO_READERS = {"api-key": ["scorer", "scorer", "ranker"], "feature-store-token": ["scorer", ROTATION_ROLE]}


def secrets_scenario() -> None:
    """`ModelSecrets` (protected), reader roles created after it, then one `SecretReadPolicy` per secret."""
    import pulumi
    import pulumi_aws as aws
    from modelplane_components.secret_read_policy import SecretReadPolicy

    provider = aws.Provider("aws", region=REGION)
    secrets = ModelSecrets("secrets", SCENARIO, opts=pulumi.ResourceOptions(provider=provider, protect=True))
    roles = {
        name: aws.iam.Role(name, assume_role_policy="{}", opts=pulumi.ResourceOptions(provider=provider)).arn
        for name in ("scorer", "ranker")
    }
    for name, arn in secrets.arns.items():
        readers = [roles.get(reader, reader) for reader in SCENARIO_READERS.get(name, [])]
        SecretReadPolicy(
            f"secrets-{name}",
            {"secret_arn": arn, "reader_arns": readers},
            opts=pulumi.ResourceOptions(provider=provider),
        )
    pulumi.export("arns", secrets.arns)


@pytest.fixture(scope="module")
def component() -> Simulation:
    return run_isolated("tests.components.test_secrets:secrets_scenario")


def secret_of(simulation: Simulation, name: str) -> RecordedResource:
    return simulation.one(SECRET, f"secrets-{name}")


def attached_to(simulation: Simulation, token: str, secret: RecordedResource, field: str) -> list[RecordedResource]:
    return [resource for resource in simulation.of_type(token) if resource.inputs[field] == secret.outputs["arn"]]


def policy_of(simulation: Simulation, secret: RecordedResource) -> dict[str, Any]:
    (policy,) = attached_to(simulation, POLICY, secret, "secretArn")
    assert policy.inputs["blockPublicPolicy"] is True
    return json.loads(policy.inputs["policy"])


def readers(policy: dict[str, Any]) -> list[str]:
    """The principals allowed to read, as listed (a repeated role would appear twice)."""
    allows = [statement for statement in policy["Statement"] if statement["Effect"] == "Allow"]
    for statement in allows:
        assert statement["Action"] == "secretsmanager:GetSecretValue"
        assert statement["Resource"] == "*"
        assert "Condition" not in statement
    return [arn for statement in allows for arn in statement["Principal"]["AWS"]]


def deny_exemptions(policy: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(exact principal ARNs, ARN patterns) the read deny does not apply to."""
    (deny,) = [statement for statement in policy["Statement"] if statement["Effect"] == "Deny"]
    assert deny["Principal"] == "*"
    assert deny["Action"] == "secretsmanager:GetSecretValue"
    assert set(deny["Condition"]) == {"ArnNotEquals", "ArnNotLike"}
    return set(deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]), set(
        deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    )


def role_arn(simulation: Simulation, name: str) -> str:
    return simulation.one(ROLE, name).outputs["arn"]


def test_component_policies_grant_exactly_the_named_readers(component: Simulation) -> None:
    scorer, ranker = role_arn(component, "scorer"), role_arn(component, "ranker")
    expected = {
        "api-key": {scorer, ranker},
        "feature-store-token": {scorer, ROTATION_ROLE},
        "out-of-band": set(),
    }
    for name, granted in expected.items():
        policy = policy_of(component, secret_of(component, name))
        assert sorted(readers(policy)) == sorted(granted), name
        exact, patterns = deny_exemptions(policy)
        assert exact == granted | {ROOT, DEPLOYER}, name
        assert patterns == {SSO_ADMINS}, name


def test_policies_wait_for_their_readers(component: Simulation) -> None:
    (policy,) = attached_to(component, POLICY, secret_of(component, "api-key"), "secretArn")
    roles = {component.one(ROLE, name).urn for name in ("scorer", "ranker")}
    assert roles <= set(policy.dependencies)


def test_each_policy_is_the_child_of_its_read_policy_component(component: Simulation) -> None:
    for name in SCENARIO["secrets"]:
        parent = component.one(READ_POLICY, f"secrets-{name}")
        (policy,) = component.children(parent)
        assert (policy.type, policy.name) == (POLICY, f"secrets-{name}-policy")


def test_protection_covers_secrets_and_rotation_but_not_versions(component: Simulation) -> None:
    """`protect` on the component reaches its children; a version must stay replaceable for a new value."""
    assert all(secret.protect for secret in component.of_type(SECRET))
    assert all(rotation.protect for rotation in component.of_type(ROTATION))
    assert not any(version.protect for version in component.of_type(VERSION))
    assert all(secret.inputs["recoveryWindowInDays"] == 7 for secret in component.of_type(SECRET))
    assert all(secret.inputs["kmsKeyId"] == KEY_ARN for secret in component.of_type(SECRET))


def test_component_keeps_plain_values_secret(component: Simulation) -> None:
    """Values handed over as plain strings reach the engine as secrets."""
    for name, spec in SCENARIO["secrets"].items():
        versions = attached_to(component, VERSION, secret_of(component, name), "secretId")
        if "value" not in spec:
            assert versions == [], "a secret set out of band gets no version"
            continue
        (version,) = versions
        assert is_secret(version.inputs["secretString"])
        assert reveal(version.inputs["secretString"]) == spec["value"]
    assert component.outputs["arns"]["out-of-band"] == secret_of(component, "out-of-band").outputs["arn"]


def test_rotated_secret_keeps_its_value_until_the_first_schedule(component: Simulation) -> None:
    (rotation,) = attached_to(component, ROTATION, secret_of(component, "feature-store-token"), "secretId")
    assert rotation.inputs["rotationRules"] == {"scheduleExpression": "rate(30 days)"}
    assert rotation.inputs["rotateImmediately"] is False
    assert attached_to(component, ROTATION, secret_of(component, "api-key"), "secretId") == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"rotation": {"lambda_arn": "arn:aws:lambda:eu-west-1:123456789012:function:f"}},
            "secrets.token.rotation.automatically_after_days: set exactly one of automatically_after_days or schedule_expression",
        ),
        (
            {"rotation": {"lambda_arn": "f", "automatically_after_days": 1001}},
            "secrets.token.rotation.automatically_after_days: must be between 1 and 1000 (Secrets Manager AutomaticallyRotateAfterDaysType)",
        ),
    ],
)
def test_component_refuses_what_secrets_manager_would(change: dict[str, Any], message: str) -> None:
    """Checked before anything is registered, so no mocks are needed."""
    with pytest.raises(ValueError, match="ModelSecrets 'bad'") as caught:
        secret = cast("SecretArgs", {"description": "t", **change})
        ModelSecrets("bad", {"secrets": {"token": secret}, "kms_key_arn": KEY_ARN})
    assert message in str(caught.value)


def test_component_refuses_a_recovery_window_outside_7_to_30_days() -> None:
    with pytest.raises(ValueError, match="recovery_window_days: must be between 7 and 30"):
        ModelSecrets("bad", {"secrets": {}, "kms_key_arn": KEY_ARN, "recovery_window_days": 0})


def outside_envelopes(value: Any) -> Iterator[str]:
    """Every string in a JSON document except those inside Pulumi secret envelopes."""
    if is_secret(value):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from outside_envelopes(item)
    elif isinstance(value, list):
        for item in value:
            yield from outside_envelopes(item)
    elif isinstance(value, str):
        yield value


def test_value_never_appears_in_plain_text(simulate_stack: SimulateStack) -> None:
    simulation = simulate_stack("dev", secret_values={"feature-store-token": FIXTURE_VALUE})
    document = simulation.to_json()
    assert FIXTURE_VALUE in json.dumps(document), "the fixture value reached the program"
    leaks = [text for text in outside_envelopes(document) if FIXTURE_VALUE in text]
    assert leaks == []


def test_value_is_a_secret_output_end_to_end(simulate_stack: SimulateStack) -> None:
    simulation = simulate_stack("dev", secret_values={"feature-store-token": FIXTURE_VALUE})
    (version,) = attached_to(simulation, VERSION, secret_of(simulation, "feature-store-token"), "secretId")
    for recorded in (version.inputs, version.outputs):
        assert is_secret(recorded["secretString"])
        assert reveal(recorded["secretString"]) == FIXTURE_VALUE


@pytest.mark.parametrize("stack", STACKS_WITH_SECRETS)
def test_each_declared_secret_is_tagged_and_encrypted_with_the_stack_key(
    simulate_stack: SimulateStack, stack: str
) -> None:
    simulation = simulate_stack(stack)
    settings = settings_of(stack)
    secrets = simulation.of_type(SECRET)
    assert {secret.name for secret in secrets} == {f"secrets-{name}" for name in settings.secrets}
    key_arn = simulation.one(KEY).outputs["arn"]
    for secret in secrets:
        assert secret.inputs["kmsKeyId"] == key_arn, secret.name
        assert secret.inputs["tags"] == settings.base_tags(PROJECT, stack), secret.name


@pytest.mark.parametrize(("stack", "days", "protected"), [("dev", 7, False), ("staging", 7, False), ("prod", 30, True)])
def test_recovery_window_and_protection_per_environment(
    simulate_stack: SimulateStack, stack: str, days: int, protected: bool
) -> None:
    for secret in simulate_stack(stack).of_type(SECRET):
        assert secret.inputs["recoveryWindowInDays"] == days
        assert secret.protect is protected


@pytest.mark.parametrize("stack", STACKS_WITH_SECRETS)
def test_rotation_follows_settings(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    settings = settings_of(stack)
    for name, spec in settings.secrets.items():
        rotations = attached_to(simulation, ROTATION, secret_of(simulation, name), "secretId")
        if spec.rotation is None:
            assert rotations == [], name
            continue
        (rotation,) = rotations
        assert rotation.inputs["rotationLambdaArn"] == spec.rotation.lambda_arn
        rules = {
            "automaticallyAfterDays": spec.rotation.automatically_after_days,
            "scheduleExpression": spec.rotation.schedule_expression,
        }
        assert rotation.inputs["rotationRules"] == {key: value for key, value in rules.items() if value is not None}
        assert spec.rotation.lambda_role_arn in readers(policy_of(simulation, secret_of(simulation, name)))


def test_prod_rotates_every_secret_within_90_days(simulate_stack: SimulateStack) -> None:
    simulation = simulate_stack("prod")
    for secret in simulation.of_type(SECRET):
        (rotation,) = attached_to(simulation, ROTATION, secret, "secretId")
        assert 1 <= rotation.inputs["rotationRules"]["automaticallyAfterDays"] <= 90


@pytest.mark.parametrize("stack", STACKS_WITH_SECRETS)
def test_every_secret_has_a_read_policy_and_is_exported_by_arn(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    exported = simulation.outputs["secrets"]
    for secret in simulation.of_type(SECRET):
        policy = policy_of(simulation, secret)
        exact, patterns = deny_exemptions(policy)
        assert exact == {*readers(policy), ROOT, DEPLOYER}
        assert patterns == {SSO_ADMINS}
    assert exported == {
        secret.name.removeprefix("secrets-"): secret.outputs["arn"] for secret in simulation.of_type(SECRET)
    }


@pytest.mark.parametrize("stack", STACKS_WITH_SECRETS)
def test_only_consuming_endpoints_and_the_rotation_function_read(simulate_stack: SimulateStack, stack: str) -> None:
    """SageMaker roles and the rotation role are always granted; a Kubernetes workload role when its pods fetch the secret."""
    simulation = simulate_stack(stack)
    settings = settings_of(stack)
    for name, spec in settings.secrets.items():
        consumers = [endpoint for endpoint in settings.endpoints if name in endpoint.secrets]
        required = {
            simulation.outputs["endpoints"][endpoint.name]["role_arn"]
            for endpoint in consumers
            if endpoint.platform is Platform.SAGEMAKER
        }
        if spec.rotation is not None:
            required.add(spec.rotation.lambda_role_arn)
        workload_roles = {
            role.outputs["arn"]
            for endpoint in consumers
            if endpoint.platform is Platform.KUBERNETES
            for role in simulation.descendants(simulation.one(KUBERNETES_SERVICE, endpoint.name))
            if role.type == ROLE
        }
        found = readers(policy_of(simulation, secret_of(simulation, name)))
        assert len(found) == len(set(found)), name
        assert required <= set(found) <= required | workload_roles, name


@pytest.mark.parametrize("stack", STACKS_WITH_SECRETS)
def test_sagemaker_models_get_secret_arns_not_values(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    settings = settings_of(stack)
    for endpoint in settings.endpoints:
        if endpoint.platform is not Platform.SAGEMAKER or not endpoint.secrets:
            continue
        role = simulation.outputs["endpoints"][endpoint.name]["role_arn"]
        models = [model for model in simulation.of_type(MODEL) if model.inputs["executionRoleArn"] == role]
        assert models, f"no model of {endpoint.name} runs as {role}"
        for model in models:
            containers = model.inputs.get("containers") or [model.inputs["primaryContainer"]]
            for container in containers:
                for name in endpoint.secrets:
                    arn = secret_of(simulation, name).outputs["arn"]
                    assert container["environment"][secret_arn_env_var(name)] == arn


def test_env_var_name_of_a_secret() -> None:
    assert secret_arn_env_var("feature-store-token") == "FEATURE_STORE_TOKEN_SECRET_ARN"


def prod_config_with_rotation(**rotation: Any) -> dict[str, Any]:
    config = stack_config("prod")
    spec = config["modelplane:secrets"]["feature-store-token"]
    spec["rotation"] = {key: spec["rotation"][key] for key in ("lambda_arn", "lambda_role_arn")} | rotation
    return config


def problems(config: dict[str, Any], stack: str) -> list[tuple[str, str]]:
    with pytest.raises(SettingsError) as caught:
        settings_from_config(config, source="stack", stack=stack)
    return caught.value.problems


ROTATION_PATH = "modelplane:secrets.feature-store-token.rotation"


@pytest.mark.parametrize(
    ("rotation", "path"),
    [
        ({"automatically_after_days": 91}, f"{ROTATION_PATH}.automatically_after_days"),
        ({"schedule_expression": "rate(120 days)"}, f"{ROTATION_PATH}.schedule_expression"),
    ],
)
def test_prod_rejects_rotation_slower_than_90_days(rotation: dict[str, Any], path: str) -> None:
    found = problems(prod_config_with_rotation(**rotation), "prod")
    assert found == [(path, "prod secrets rotate at least every 90 days")]


@pytest.mark.parametrize(
    "rotation",
    [
        {"automatically_after_days": 90},
        {"schedule_expression": "rate(90 days)"},
        {"schedule_expression": "rate(4 hours)"},
    ],
)
def test_prod_accepts_rotation_within_90_days(rotation: dict[str, Any]) -> None:
    settings = settings_from_config(prod_config_with_rotation(**rotation), source="stack", stack="prod")
    accepted = settings.secrets["feature-store-token"].rotation
    assert accepted is not None and accepted.model_dump(include=set(rotation)) == rotation


def test_slow_rotation_is_allowed_outside_prod() -> None:
    config = prod_config_with_rotation(automatically_after_days=365)
    config["modelplane:environment"] = "staging"
    settings = settings_from_config(config, source="stack", stack="staging")
    rotation = settings.secrets["feature-store-token"].rotation
    assert rotation is not None and rotation.automatically_after_days == 365
