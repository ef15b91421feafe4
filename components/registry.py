"""Everything a stack deploys from: the artifact bucket, and per model family an image repository and a
model package group.
"""

from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from ._common import Problem, Tags, check, child_options, component_options, type_token
from .artifact_bucket import DEFAULT_NONCURRENT_VERSION_DAYS, ArtifactBucket, ArtifactBucketArgs
from .aws_limits import name_problem
from .container_repository import (
    DEFAULT_KEEP_TAGGED_IMAGES,
    DEFAULT_UNTAGGED_IMAGE_DAYS,
    ContainerRepository,
    ContainerRepositoryArgs,
)
from .model_package_group import ModelPackageGroup, ModelPackageGroupArgs
from .naming import family_resource_name

FORMER_TOKEN = "modelplane:registry:ModelRegistry"


class ModelFamilyArgs(TypedDict):
    """One model family: an image repository and a model package group of the same name."""

    description: NotRequired[pulumi.Input[str]]
    """What the family predicts; shown in the model registry."""
    reader_account_ids: NotRequired[Sequence[pulumi.Input[str]]]
    """Other accounts that may read and deploy the family's registered versions (e.g. a prod account)."""


class ImageRetentionArgs(TypedDict):
    """How many images each repository keeps."""

    keep_tagged: NotRequired[int]
    """Most recent tagged images kept; default 30."""
    untagged_days: NotRequired[int]
    """Days after which untagged images expire; default 7."""


class ModelRegistryArgs(TypedDict):
    """The families, the key everything is encrypted with, and retention."""

    families: Mapping[str, ModelFamilyArgs]
    """Model families by name (lowercase words joined by hyphens)."""
    kms_key_arn: pulumi.Input[str]
    """KMS key encrypting artifacts and images."""
    name_suffix: NotRequired[str]
    """Appended to each family's repository and group name, `<family>-<suffix>`, so stacks sharing an account
    don't collide; default the stack name."""
    image_retention: NotRequired[ImageRetentionArgs]
    """ECR lifecycle of every repository."""
    pull_account_ids: NotRequired[Sequence[pulumi.Input[str]]]
    """Accounts allowed to pull images besides this one."""
    noncurrent_artifact_days: NotRequired[pulumi.Input[int]]
    """Days after which overwritten model artifacts are deleted from the bucket; default 90."""
    force_destroy: NotRequired[pulumi.Input[bool]]
    """Let `pulumi destroy` empty the bucket and the repositories before deleting them; default false."""
    tags: NotRequired[pulumi.Input[Tags]]
    """Tags of every taggable resource."""


class ModelRegistry(pulumi.ComponentResource):
    """The artifact bucket plus, for each family, a container repository and a model package group.

    `protect` in the options protects all of it; `retain_on_delete` keeps the bucket, repositories and groups.
    """

    bucket_name: pulumi.Output[str]
    """Artifact bucket name, for the endpoints' `s3://` URIs."""
    bucket_arn: pulumi.Output[str]
    """Artifact bucket ARN, for the endpoints' execution role policies."""
    repository_urls: dict[str, pulumi.Output[str]]
    """Image repository URL per family; endpoints append `:tag` or `@sha256:...`."""
    repository_arns: dict[str, pulumi.Output[str]]
    """Image repository ARN per family, the only one the family's endpoints may pull from."""
    model_package_group_names: dict[str, pulumi.Output[str]]
    """Model package group per family, where its versions are registered."""
    model_package_group_arns: dict[str, pulumi.Output[str]]
    """Model package group ARN per family."""

    def __init__(self, name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        suffix = args.get("name_suffix") or pulumi.get_stack()
        check("ModelRegistry", name, problems(args, suffix))
        super().__init__(type_token("ModelRegistry"), name, None, component_options(opts, FORMER_TOKEN))
        invoke_opts = pulumi.InvokeOutputOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=invoke_opts).account_id
        partition = aws.get_partition_output(opts=invoke_opts).partition

        def account_root(account: pulumi.Input[str]) -> pulumi.Output[str]:
            return pulumi.Output.concat("arn:", partition, ":iam::", account, ":root")

        stateful = child_options(self, opts)
        force_destroy = args.get("force_destroy", False)
        retention = args.get("image_retention", {})
        tags = args.get("tags")
        bucket_args: ArtifactBucketArgs = {
            "kms_key_arn": args["kms_key_arn"],
            "noncurrent_version_days": args.get("noncurrent_artifact_days", DEFAULT_NONCURRENT_VERSION_DAYS),
            "force_destroy": force_destroy,
        }
        if tags is not None:
            bucket_args["tags"] = tags
        bucket = ArtifactBucket(f"{name}-artifacts", bucket_args, opts=stateful)
        pull_principals = [account_root(account_id), *map(account_root, args.get("pull_account_ids", []))]
        self.repository_urls, self.repository_arns = {}, {}
        self.model_package_group_names, self.model_package_group_arns = {}, {}
        for family, spec in args["families"].items():
            physical_name = family_resource_name(family, suffix)
            repository_args: ContainerRepositoryArgs = {
                "repository_name": physical_name,
                "kms_key_arn": args["kms_key_arn"],
                "pull_principal_arns": pull_principals,
                "keep_tagged_images": retention.get("keep_tagged", DEFAULT_KEEP_TAGGED_IMAGES),
                "untagged_image_days": retention.get("untagged_days", DEFAULT_UNTAGGED_IMAGE_DAYS),
                "force_delete": force_destroy,
            }
            group_args: ModelPackageGroupArgs = {
                "group_name": physical_name,
                "reader_principal_arns": list(map(account_root, spec.get("reader_account_ids", []))),
            }
            if "description" in spec:
                group_args["description"] = spec["description"]
            if tags is not None:
                repository_args["tags"] = group_args["tags"] = tags
            repository = ContainerRepository(f"{name}-{family}", repository_args, opts=stateful)
            group = ModelPackageGroup(f"{name}-{family}", group_args, opts=stateful)
            self.repository_urls[family] = repository.url
            self.repository_arns[family] = repository.arn
            self.model_package_group_names[family] = group.name
            self.model_package_group_arns[family] = group.arn
        self.bucket_name = bucket.name
        self.bucket_arn = bucket.arn
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "repository_urls": self.repository_urls,
                "repository_arns": self.repository_arns,
                "model_package_group_names": self.model_package_group_names,
                "model_package_group_arns": self.model_package_group_arns,
            }
        )


def family_name_problems(family: str, suffix: str) -> list[str]:
    """Why `<family>-<suffix>` can't name both an ECR repository and a SageMaker model package group."""
    physical = family_resource_name(family, suffix)
    if physical != physical.lower():
        return [f"{physical} must be lowercase (ECR RepositoryName)"]
    rules = (name_problem("EntityName", physical), name_problem("RepositoryName", physical, service="ecr"))
    return [f"{physical} {why}" for why in rules if why]


def problems(args: ModelRegistryArgs, suffix: str) -> list[Problem]:
    found: list[Problem] = []
    if not args["families"]:
        found.append(("families", "declare at least one model family"))
    for family in args["families"]:
        found += [(f"families.{family}", why) for why in family_name_problems(family, suffix)]
    return found
