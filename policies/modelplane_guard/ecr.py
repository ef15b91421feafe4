"""ECR repositories: immutable, scanned, KMS-encrypted images with a lifecycle policy."""

from __future__ import annotations

from pulumi_policy import (
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import (
    Report,
    applies_to,
    as_list,
    as_mapping,
    aws_config_url,
    aws_managed_key_problem,
    dig,
    for_types,
    is_true,
    of_type,
    refers_to,
    rule,
    sources,
)

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"


@for_types(REPOSITORY)
def _immutable_tags(args: ResourceValidationArgs, report: Report) -> None:
    mutability = args.props.get("imageTagMutability")
    if mutability != "IMMUTABLE":
        report(
            f"imageTagMutability is {mutability or 'MUTABLE (the default)'}: a pushed tag could later point at other bytes."
        )


immutable_tags = ResourceValidationPolicy(
    name="ecr-immutable-tags",
    description="ECR repositories make image tags immutable, so a deployed tag always means the same image.",
    validate=_immutable_tags,
    severity=Severity.HIGH,
    remediation_steps="Set image_tag_mutability IMMUTABLE and publish each build under a new tag.",
    tags=[
        "ecr",
        "supply-chain",
        *sources("CKV_AWS_51", "aws-config:ecr-private-tag-immutability-enabled"),
        *applies_to(REPOSITORY),
    ],
    url=aws_config_url("ecr-private-tag-immutability-enabled"),
)


@for_types(REPOSITORY)
def _scan_on_push(args: ResourceValidationArgs, report: Report) -> None:
    if not is_true(dig(args.props, "imageScanningConfiguration", "scanOnPush")):
        report("imageScanningConfiguration.scanOnPush is not true: pushed images are not scanned for vulnerabilities.")


scan_on_push = ResourceValidationPolicy(
    name="ecr-scan-on-push",
    description="ECR repositories scan every pushed image for known vulnerabilities.",
    validate=_scan_on_push,
    severity=Severity.MEDIUM,
    remediation_steps="Set image_scanning_configuration.scan_on_push True (or enable enhanced scanning for the registry).",
    tags=[
        "ecr",
        "vulnerabilities",
        *sources("CKV_AWS_163", "aws-config:ecr-private-image-scanning-enabled"),
        *applies_to(REPOSITORY),
    ],
    url=aws_config_url("ecr-private-image-scanning-enabled"),
)


@for_types(REPOSITORY)
def _kms_encrypted(args: ResourceValidationArgs, report: Report) -> None:
    configurations = [as_mapping(item) for item in as_list(args.props.get("encryptionConfigurations"))]
    first = configurations[0] if configurations else {}
    if first.get("encryptionType") != "KMS":
        report(
            f"encryptionConfigurations[0].encryptionType is {first.get('encryptionType') or 'AES256 (the default)'}, not KMS."
        )
    elif not first.get("kmsKey"):
        report("encryptionConfigurations[0].kmsKey is not set: layers use the AWS managed key aws/ecr.")
    elif problem := aws_managed_key_problem("encryptionConfigurations[0].kmsKey", first.get("kmsKey")):
        report(problem)


kms_encrypted = ResourceValidationPolicy(
    name="ecr-kms-encryption",
    description="ECR repositories encrypt image layers with a customer managed KMS key.",
    validate=_kms_encrypted,
    severity=Severity.MEDIUM,
    remediation_steps="Set encryption_configurations=[{encryption_type: KMS, kms_key: <stack key ARN>}] (a repository must be recreated to change it).",
    tags=["ecr", "encryption", *sources("CKV_AWS_136"), *applies_to(REPOSITORY)],
)


def _lifecycle(args: StackValidationArgs, report: Report) -> None:
    policies = of_type(args.resources, LIFECYCLE_POLICY)
    for repository in of_type(args.resources, REPOSITORY):
        name = str(repository.props.get("name") or "")
        if not any(refers_to(policy, "repository", repository, name) for policy in policies):
            report(
                f"repository {name or repository.name!r} has no lifecycle policy: images pile up without bound.",
                repository.urn,
            )


lifecycle = StackValidationPolicy(
    name="ecr-lifecycle-policy",
    description="Every ECR repository has a lifecycle policy that expires old and untagged images.",
    validate=rule(_lifecycle),
    severity=Severity.LOW,
    remediation_steps="Add an ecr.LifecyclePolicy for the repository (modelplane: registry.image_retention).",
    tags=[
        "ecr",
        "cost",
        *sources("aws-config:ecr-private-lifecycle-policy-configured"),
        *applies_to(REPOSITORY, LIFECYCLE_POLICY),
    ],
    url=aws_config_url("ecr-private-lifecycle-policy-configured"),
)

POLICIES = [immutable_tags, scan_on_push, kms_encrypted, lifecycle]
