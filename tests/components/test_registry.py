"""The key, artifact bucket, repositories and model package groups, as each stack registers them."""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import json
from typing import Any

import pytest
from modelplane_components.artifact_bucket import ArtifactBucket
from modelplane_components.container_repository import ContainerRepository
from modelplane_components.encryption_key import EncryptionKey
from modelplane_components.model_package_group import ModelPackageGroup
from modelplane_components.registry import ModelRegistry

from modelplane.config.loader import SettingsError, settings_from_config
from modelplane.offline.graph import ACCOUNT_ID, RecordedResource, Simulation
from tests.harness import run_isolated
from tests.stacks import SimulateStack, settings_of, stack_config, write_stack

STACKS = ["dev", "staging", "prod"]
REGION = "eu-west-1"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
BUCKET = "aws:s3/bucket:Bucket"
REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
GROUP = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
GROUP_POLICY = "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy"
STATEFUL = {KEY, BUCKET, REPOSITORY, GROUP}
CRYPTO_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt", "kms:GenerateDataKey", "kms:CreateGrant")
CROSS_ACCOUNT = "444444444444"


def root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy(resource: RecordedResource, field: str = "policy") -> dict[str, Any]:
    return json.loads(resource.inputs[field])


def key_arn(simulation: Simulation) -> str:
    return simulation.one(KEY).outputs["arn"]


def bucket_child(simulation: Simulation, token: str) -> RecordedResource:
    resource = simulation.one(token)
    assert resource.inputs["bucket"] == simulation.one(BUCKET).outputs["bucket"], f"{token} configures another bucket"
    return resource


def registry_resources(simulation: Simulation) -> list[RecordedResource]:
    components = [simulation.one("modelplane:index:EncryptionKey"), simulation.one("modelplane:index:ModelRegistry")]
    return [r for component in components for r in simulation.descendants(component) if r.custom]


@pytest.fixture(scope="module")
def cross_account_stack(simulate_stack: SimulateStack, tmp_path_factory: pytest.TempPathFactory) -> Simulation:
    """Dev, with one family readable by another account."""
    config = stack_config("dev")
    config["modelplane:registry"]["families"]["fraud-detector"]["cross_account_principals"] = [CROSS_ACCOUNT]
    return simulate_stack(write_stack(tmp_path_factory.mktemp("stacks"), config, "shared"))


# --- KMS key ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_key_rotates_waits_30_days_and_is_aliased_per_stack(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    key = simulation.one(KEY)
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    assert not key.inputs.get("bypassPolicyLockoutSafetyCheck")
    alias = simulation.one(ALIAS)
    assert alias.inputs["name"] == f"alias/modelplane-{stack}"
    assert alias.inputs["targetKeyId"] == key.outputs["keyId"]


def test_key_policy_has_no_wildcard_principal_and_uses_only_through_named_services(
    simulate_stack: SimulateStack,
) -> None:
    statements = policy(simulate_stack("staging").one(KEY))["Statement"]
    by_sid = {statement["Sid"]: statement for statement in statements}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        principal = statement["Principal"]
        assert principal != "*" and "*" not in as_list(principal.get("AWS", [])), statement["Sid"]
        assert set(principal) <= {"AWS", "Service"}
        assert "kms:*" not in as_list(statement["Action"])
        grants_use = any(action.startswith(CRYPTO_ACTIONS) for action in as_list(statement["Action"]))
        assert not grants_use or statement.get("Condition"), f"{statement['Sid']} grants key use unconditionally"

    administration = by_sid["AccountRootAdministersKey"]
    assert administration["Principal"] == {"AWS": root(ACCOUNT_ID)}
    assert {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"} <= set(administration["Action"])

    account_use = by_sid["AccountUsesKeyThroughServices"]
    assert account_use["Principal"] == {"AWS": root(ACCOUNT_ID)}
    conditions = account_use["Condition"]["StringEquals"]
    assert conditions["kms:CallerAccount"] == ACCOUNT_ID
    assert set(conditions["kms:ViaService"]) == {
        f"{service}.{REGION}.amazonaws.com" for service in ("ecr", "s3", "sagemaker", "secretsmanager", "sns")
    }
    grants = by_sid["ServicesGrantThemselvesForTheirResources"]["Condition"]
    assert grants["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    assert grants["StringEquals"]["kms:ViaService"] == conditions["kms:ViaService"]

    logs = by_sid["CloudWatchLogsEncryptsAccountLogGroups"]
    assert logs["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:*"}
    }
    alarms = by_sid["CloudWatchAlarmsPublishToEncryptedTopics"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}


# --- Artifact bucket --------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_bucket_is_private_versioned_and_encrypted_with_the_stack_key(
    simulate_stack: SimulateStack, stack: str
) -> None:
    simulation = simulate_stack(stack)
    (rule,) = bucket_child(
        simulation, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": key_arn(simulation),
    }
    assert rule["bucketKeyEnabled"] is True
    block = bucket_child(simulation, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block[flag] is True, flag
    ownership = bucket_child(simulation, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    versioning = bucket_child(simulation, "aws:s3/bucketVersioning:BucketVersioning").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    assert simulation.one(BUCKET).inputs["forceDestroy"] is (stack != "prod")


def is_denied(statements: list[dict[str, Any]], action: str, resource: str, context: dict[str, str]) -> bool:
    """Whether a Deny statement matches the request: the IAM semantics of the operators this policy uses."""

    def holds(operator: str, key: str, expected: Any) -> bool:
        present = key in context
        if operator == "Bool":
            return present and context[key] == expected
        if operator == "Null":
            return present != (expected == "true")
        if operator in {"StringNotEquals", "StringNotEqualsIfExists"}:
            # Negated operators match when the key is absent from the request.
            return not present or context[key] not in as_list(expected)
        raise AssertionError(f"operator {operator} not modelled by this test")

    for statement in statements:
        if statement["Effect"] != "Deny":
            continue
        if not any(fnmatch.fnmatchcase(action, pattern) for pattern in as_list(statement["Action"])):
            continue
        if not any(fnmatch.fnmatchcase(resource, pattern) for pattern in as_list(statement["Resource"])):
            continue
        conditions = statement.get("Condition", {})
        if all(holds(op, key, value) for op, block in conditions.items() for key, value in block.items()):
            return True
    return False


def test_bucket_policy_denies_plain_http_and_puts_not_encrypted_with_the_stack_key(
    simulate_stack: SimulateStack,
) -> None:
    simulation = simulate_stack("prod")
    bucket_arn = simulation.one(BUCKET).outputs["arn"]
    document = policy(bucket_child(simulation, "aws:s3/bucketPolicy:BucketPolicy"))
    statements = document["Statement"]
    assert all(statement["Effect"] == "Deny" for statement in statements), "the policy only restricts"
    tls = {"aws:SecureTransport": "true"}
    stack_key = {
        "s3:x-amz-server-side-encryption": "aws:kms",
        "s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn(simulation),
    }
    obj = f"{bucket_arn}/fraud-detector/2.3.1/model.tar.gz"

    def put_denied(headers: dict[str, str]) -> bool:
        return is_denied(statements, "s3:PutObject", obj, {**tls, **headers})

    assert is_denied(statements, "s3:GetObject", obj, {"aws:SecureTransport": "false"})
    assert is_denied(statements, "s3:ListBucket", bucket_arn, {"aws:SecureTransport": "false"})
    assert not is_denied(statements, "s3:GetObject", obj, tls)
    assert not put_denied({}), "bucket default encryption applies the stack key"
    assert not put_denied(stack_key)
    assert put_denied({"s3:x-amz-server-side-encryption": "AES256"})
    assert put_denied({"s3:x-amz-server-side-encryption": "aws:kms"}), "S3 would use the AWS managed key"
    assert put_denied(
        {**stack_key, "s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:eu-west-1:999999999999:key/other"}
    )
    assert put_denied({"s3:x-amz-server-side-encryption-customer-algorithm": "AES256"})


@pytest.mark.parametrize("stack", STACKS)
def test_bucket_lifecycle_expires_old_versions_and_aborts_uploads(simulate_stack: SimulateStack, stack: str) -> None:
    rules = bucket_child(
        simulate_stack(stack), "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    ).inputs["rules"]
    assert all(rule["status"] == "Enabled" and rule["filter"] == {} for rule in rules), "rules cover the whole bucket"
    noncurrent = [
        rule["noncurrentVersionExpiration"]["noncurrentDays"] for rule in rules if "noncurrentVersionExpiration" in rule
    ]
    assert noncurrent == [settings_of(stack).registry.noncurrent_artifact_days]
    aborts = [
        rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"]
        for rule in rules
        if "abortIncompleteMultipartUpload" in rule
    ]
    assert len(aborts) == 1 and 1 <= aborts[0] <= 30


# --- Container repositories -------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_each_family_has_an_immutable_scanned_repository_encrypted_with_the_stack_key(
    simulate_stack: SimulateStack, stack: str
) -> None:
    simulation = simulate_stack(stack)
    repositories = {r.inputs["name"]: r.inputs for r in simulation.of_type(REPOSITORY)}
    assert set(repositories) == {f"{family}-{stack}" for family in settings_of(stack).registry.families}
    for name, inputs in repositories.items():
        assert inputs["imageTagMutability"] == "IMMUTABLE", name
        assert inputs["imageScanningConfiguration"] == {"scanOnPush": True}, name
        assert inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key_arn(simulation)}], name
        assert inputs["forceDelete"] is (stack != "prod"), name


@pytest.mark.parametrize("stack", STACKS)
def test_ecr_lifecycle_keeps_recent_tagged_images_and_expires_untagged(
    simulate_stack: SimulateStack, stack: str
) -> None:
    simulation = simulate_stack(stack)
    retention = settings_of(stack).registry.image_retention
    policies = {r.inputs["repository"]: policy(r) for r in simulation.of_type(ECR_LIFECYCLE)}
    assert set(policies) == {r.inputs["name"] for r in simulation.of_type(REPOSITORY)}
    for repository, document in policies.items():
        rules = sorted(document["rules"], key=lambda rule: rule["rulePriority"])
        assert len({rule["rulePriority"] for rule in rules}) == len(rules), repository
        assert all(rule["action"] == {"type": "expire"} for rule in rules)
        selections = [rule["selection"] for rule in rules]
        assert {
            "tagStatus": "untagged",
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": retention.untagged_days,
        } in selections
        tagged = next(selection for selection in selections if selection["tagStatus"] == "tagged")
        assert tagged["countType"] == "imageCountMoreThan"
        assert tagged["countNumber"] == retention.keep_tagged
        assert tagged["tagPatternList"] == ["*"], "every tagged image counts towards the limit"


@pytest.mark.parametrize("stack", STACKS)
def test_repository_policy_lets_only_this_and_the_configured_accounts_pull(
    simulate_stack: SimulateStack, stack: str
) -> None:
    simulation = simulate_stack(stack)
    expected = {root(ACCOUNT_ID), *map(root, settings_of(stack).registry.pull_account_ids)}
    policies = {r.inputs["repository"]: policy(r) for r in simulation.of_type(REPOSITORY_POLICY)}
    assert set(policies) == {r.inputs["name"] for r in simulation.of_type(REPOSITORY)}
    for repository, document in policies.items():
        (statement,) = document["Statement"]
        assert statement["Effect"] == "Allow"
        principals = set(as_list(statement["Principal"]["AWS"]))
        assert principals == expected, repository
        assert "*" not in principals
        assert all(
            action in {"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}
            for action in as_list(statement["Action"])
        )


def test_staging_shares_images_with_its_pull_account(simulate_stack: SimulateStack) -> None:
    document = policy(simulate_stack("staging").of_type(REPOSITORY_POLICY)[0])
    assert root("222222222222") in document["Statement"][0]["Principal"]["AWS"]


# --- Model package groups ---------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_each_family_has_a_described_model_package_group(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    families = settings_of(stack).registry.families
    groups = {r.inputs["modelPackageGroupName"]: r.inputs for r in simulation.of_type(GROUP)}
    assert groups.keys() == {f"{family}-{stack}" for family in families}
    for family, spec in families.items():
        assert groups[f"{family}-{stack}"]["modelPackageGroupDescription"] == spec.description
    assert simulation.of_type(GROUP_POLICY) == [], "no family is shared with another account"


def test_cross_account_principals_may_read_and_deploy_but_not_change_a_family(cross_account_stack: Simulation) -> None:
    (group_policy,) = cross_account_stack.of_type(GROUP_POLICY)
    group = cross_account_stack.one(GROUP, "registry-fraud-detector-group")
    assert group_policy.inputs["modelPackageGroupName"] == "fraud-detector-shared"
    statements = policy(group_policy, "resourcePolicy")["Statement"]
    resources = {resource for statement in statements for resource in as_list(statement["Resource"])}
    assert resources == {
        group.outputs["arn"],
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:model-package/fraud-detector-shared/*",
    }
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] == {"AWS": [root(CROSS_ACCOUNT)]}
        for action in as_list(statement["Action"]):
            assert action.startswith(("sagemaker:Describe", "sagemaker:List", "sagemaker:CreateModel")), action
            assert "*" not in action


# --- Across the registry ----------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_prod_protects_the_registry_and_retains_what_holds_data(simulate_stack: SimulateStack, stack: str) -> None:
    """`protect` on the components reaches every child; `retain_on_delete` only the resources holding data."""
    resources = registry_resources(simulate_stack(stack))
    assert {r.type for r in resources} >= STATEFUL
    for resource in resources:
        assert resource.protect == (stack == "prod"), resource.name
        assert resource.retain_on_delete == (stack == "prod" and resource.type in STATEFUL), resource.name


def accepts_tags(type_token: str) -> bool:
    """Whether the pulumi-aws resource class for a type token takes a `tags` argument."""
    module, kind = type_token.split(":")[1].split("/", maxsplit=1)[0], type_token.rsplit(":", 1)[1]
    resource_class = getattr(importlib.import_module(f"pulumi_aws.{module}"), kind)
    return "tags" in inspect.signature(resource_class._internal_init).parameters


@pytest.mark.parametrize("stack", STACKS)
def test_every_taggable_resource_carries_the_merged_tags(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    expected = settings_of(stack).base_tags(simulation.project, stack)
    taggable = [r for r in registry_resources(simulation) if accepts_tags(r.type)]
    assert {r.type for r in taggable} == STATEFUL
    for resource in taggable:
        assert resource.inputs["tags"] == expected, resource.name


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_uses_the_stack_provider(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    (provider,) = simulation.of_type("pulumi:providers:aws")
    for resource in registry_resources(simulation):
        assert resource.provider.startswith(f"{provider.urn}::"), resource.name


@pytest.mark.parametrize("stack", STACKS)
def test_registry_outputs_point_at_the_created_resources(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    outputs = simulation.outputs["registry"]
    bucket = simulation.one(BUCKET)
    assert outputs["key_arn"] == key_arn(simulation)
    assert (outputs["bucket_name"], outputs["bucket_arn"]) == (bucket.outputs["bucket"], bucket.outputs["arn"])
    families = settings_of(stack).registry.families
    assert outputs["families"].keys() == families.keys()
    for family, artifacts in outputs["families"].items():
        repository = simulation.one(REPOSITORY, f"registry-{family}-repository")
        group = simulation.one(GROUP, f"registry-{family}-group")
        assert artifacts == {
            "repository_url": repository.outputs["repositoryUrl"],
            "repository_arn": repository.outputs["arn"],
            "model_package_group_name": f"{family}-{stack}",
            "model_package_group_arn": group.outputs["arn"],
        }


# --- Names the settings loader guarantees -----------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "why"),
    [("Dev", "must be lowercase"), ("x" * 60, "at most 63 characters")],
)
def test_loader_rejects_stacks_whose_family_names_ecr_or_sagemaker_would_refuse(stack: str, why: str) -> None:
    config = stack_config("dev")
    with pytest.raises(SettingsError) as caught:
        settings_from_config(config, source="Pulumi.yaml", stack=stack)
    problems = dict(caught.value.problems)
    assert why in problems["modelplane:registry.families.fraud-detector"]


# --- The components on their own, from hand-made arguments -------------------------------------

TEAM_ACCOUNT = "210987654321"


def registry_scenario() -> None:
    """A team's key and registry with its own names, protected through options; a scratch bucket with defaults."""
    import pulumi
    import pulumi_aws as aws

    provider = aws.Provider("aws", region=REGION)
    key = EncryptionKey(
        "team-key",
        {"alias_name": "alias/team-models", "deletion_window_days": 14, "tags": {"team": "risk"}},
        opts=pulumi.ResourceOptions(provider=provider, protect=True, retain_on_delete=True),
    )
    registry = ModelRegistry(
        "models",
        {
            "families": {"churn": {"description": "Churn propensity.", "reader_account_ids": [TEAM_ACCOUNT]}},
            "kms_key_arn": key.arn,
            "name_suffix": "risk",
            "pull_account_ids": [TEAM_ACCOUNT],
            "image_retention": {"keep_tagged": 5},
        },
        opts=pulumi.ResourceOptions(provider=provider, protect=True),
    )
    ArtifactBucket(
        "scratch", {"kms_key_arn": key.arn, "force_destroy": True}, opts=pulumi.ResourceOptions(provider=provider)
    )
    pulumi.export("repository_urls", registry.repository_urls)
    pulumi.export("group_names", registry.model_package_group_names)


@pytest.fixture(scope="module")
def components() -> Simulation:
    return run_isolated("tests.components.test_registry:registry_scenario")


def test_key_takes_its_alias_and_window_and_keeps_only_the_key_on_delete(components: Simulation) -> None:
    key, alias = components.one(KEY), components.one(ALIAS)
    assert key.inputs["deletionWindowInDays"] == 14
    assert key.inputs["tags"] == {"team": "risk"}
    assert alias.inputs["name"] == "alias/team-models"
    assert (key.protect, key.retain_on_delete) == (True, True)
    assert (alias.protect, alias.retain_on_delete) == (True, False), "protect is inherited, retention only for the key"


def test_registry_names_and_shares_each_family_as_told(components: Simulation) -> None:
    registry = components.one("modelplane:index:ModelRegistry", "models")
    resources = [r for r in components.descendants(registry) if r.custom]
    (repository,) = [r for r in resources if r.type == REPOSITORY]
    (group,) = [r for r in resources if r.type == GROUP]
    assert repository.inputs["name"] == group.inputs["modelPackageGroupName"] == "churn-risk"
    assert repository.inputs["forceDelete"] is False, "a repository with images stays unless asked"
    (lifecycle,) = [r for r in resources if r.type == ECR_LIFECYCLE]
    rules = {rule["selection"]["tagStatus"]: rule["selection"]["countNumber"] for rule in policy(lifecycle)["rules"]}
    assert rules == {"tagged": 5, "untagged": 7}
    (pull,) = [r for r in resources if r.type == REPOSITORY_POLICY]
    assert set(policy(pull)["Statement"][0]["Principal"]["AWS"]) == {root(ACCOUNT_ID), root(TEAM_ACCOUNT)}
    (reader,) = [r for r in resources if r.type == GROUP_POLICY]
    assert {s["Principal"]["AWS"][0] for s in policy(reader, "resourcePolicy")["Statement"]} == {root(TEAM_ACCOUNT)}
    assert all(r.protect for r in resources), "protect on the registry reaches every child"
    assert not any(r.retain_on_delete for r in resources), "retention is asked for through the options, and was not"
    assert components.outputs["group_names"] == {"churn": "churn-risk"}
    assert components.outputs["repository_urls"]["churn"].endswith("/churn-risk")


def test_a_bucket_on_its_own_takes_the_defaults(components: Simulation) -> None:
    scratch = components.one("modelplane:index:ArtifactBucket", "scratch")
    resources = {r.type: r for r in components.descendants(scratch)}
    assert resources[BUCKET].inputs["forceDestroy"] is True
    assert not resources[BUCKET].protect
    (expiry, _) = resources["aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"].inputs["rules"]
    assert expiry["noncurrentVersionExpiration"]["noncurrentDays"] == 90


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: EncryptionKey("k", {"alias_name": "team-models"}),
            "EncryptionKey 'k': alias_name: must start with alias/",
        ),
        (lambda: EncryptionKey("k", {"deletion_window_days": 45}), "deletion_window_days: must be between 7 and 30"),
        (
            lambda: ModelRegistry("r", {"families": {"Churn": {}}, "kms_key_arn": "k", "name_suffix": "risk"}),
            "ModelRegistry 'r': families.Churn: Churn-risk must be lowercase",
        ),
        (
            lambda: ContainerRepository(
                "c", {"repository_name": "team", "kms_key_arn": "k", "pull_principal_arns": []}
            ),
            "pull_principal_arns: name at least one principal",
        ),
        (
            lambda: ModelPackageGroup("g", {"group_name": "churn_risk"}),
            "group_name: must contain only letters, digits and hyphens",
        ),
        (
            lambda: ArtifactBucket("b", {"kms_key_arn": "k", "noncurrent_version_days": 0}),
            "noncurrent_version_days: must be at least 1",
        ),
    ],
)
def test_components_refuse_what_aws_would(build: Any, message: str) -> None:
    """Checked before anything is registered: no mocks needed, the error names the argument."""
    with pytest.raises(ValueError, match=message):
        build()
