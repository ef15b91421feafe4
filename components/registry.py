"""Everything a stack deploys from: the artifact bucket, and per model family an image repository and a
model package group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.artifact_bucket import ArtifactBucket, ArtifactBucketArgs
from components.container_repository import ContainerRepository, ContainerRepositoryArgs
from components.model_package_group import ModelPackageGroup, ModelPackageGroupArgs
from modelplane.naming import family_resource_name
from modelplane.settings import Registry


@dataclass(frozen=True)
class ModelRegistryArgs:
    registry: Registry
    """The `registry` settings: families, retention, pull accounts."""
    stack: str
    """Stack name, part of the repository and model package group names."""
    key_arn: pulumi.Input[str]
    """The stack key encrypting artifacts and images."""
    tags: Mapping[str, str]
    """Tags of every taggable resource."""
    protect: bool
    """Protect the stateful resources and keep them on delete (prod)."""


@dataclass(frozen=True)
class FamilyArtifacts:
    """Where one model family's images and registered versions live."""

    repository_url: pulumi.Output[str]
    """Image repository URL; endpoints append `:tag` or `@sha256:...`."""
    repository_arn: pulumi.Output[str]
    """Image repository ARN, the only one the family's endpoints may pull from."""
    model_package_group_name: pulumi.Output[str]
    """Model package group the family's versions are registered in."""
    model_package_group_arn: pulumi.Output[str]
    """Model package group ARN."""


class ModelRegistry(pulumi.ComponentResource):
    """The artifact bucket plus, for each family in settings, a container repository and a model package group."""

    key_arn: pulumi.Output[str]
    """The stack key encrypting artifacts and images, passed through for the `registry` stack output."""
    bucket_name: pulumi.Output[str]
    """Artifact bucket name, for the endpoints' `s3://` URIs."""
    bucket_arn: pulumi.Output[str]
    """Artifact bucket ARN, for the endpoints' execution role policies."""
    families: dict[str, FamilyArtifacts]
    """Repository and model package group per family in the settings."""

    def __init__(self, name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelplane:registry:ModelRegistry", name, None, opts)
        invoke_opts = pulumi.InvokeOutputOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=invoke_opts).account_id
        partition = aws.get_partition_output(opts=invoke_opts).partition

        def account_root(account: pulumi.Input[str]) -> pulumi.Output[str]:
            return pulumi.Output.concat("arn:", partition, ":iam::", account, ":root")

        settings = args.registry
        bucket = ArtifactBucket(
            f"{name}-artifacts",
            ArtifactBucketArgs(
                key_arn=args.key_arn,
                noncurrent_version_days=settings.noncurrent_artifact_days,
                tags=args.tags,
                protect=args.protect,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        pull_principals = [account_root(account_id), *map(account_root, settings.pull_account_ids)]
        self.families = {}
        for family, spec in settings.families.items():
            physical_name = family_resource_name(family, args.stack)
            repository = ContainerRepository(
                f"{name}-{family}",
                ContainerRepositoryArgs(
                    repository_name=physical_name,
                    key_arn=args.key_arn,
                    keep_tagged_images=settings.image_retention.keep_tagged,
                    untagged_image_days=settings.image_retention.untagged_days,
                    pull_principal_arns=pull_principals,
                    tags=args.tags,
                    protect=args.protect,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            group = ModelPackageGroup(
                f"{name}-{family}",
                ModelPackageGroupArgs(
                    group_name=physical_name,
                    description=spec.description,
                    reader_principal_arns=list(map(account_root, spec.cross_account_principals)),
                    tags=args.tags,
                    protect=args.protect,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.families[family] = FamilyArtifacts(
                repository_url=repository.url,
                repository_arn=repository.arn,
                model_package_group_name=group.name,
                model_package_group_arn=group.arn,
            )
        self.key_arn = pulumi.Output.from_input(args.key_arn)
        self.bucket_name = bucket.name
        self.bucket_arn = bucket.arn
        self.register_outputs(self.stack_output())

    def stack_output(self) -> dict[str, Any]:
        """The `registry` stack output (see `modelplane.program`)."""
        return {
            "key_arn": self.key_arn,
            "bucket_name": self.bucket_name,
            "bucket_arn": self.bucket_arn,
            "families": {
                family: {
                    "repository_url": artifacts.repository_url,
                    "repository_arn": artifacts.repository_arn,
                    "model_package_group_name": artifacts.model_package_group_name,
                    "model_package_group_arn": artifacts.model_package_group_arn,
                }
                for family, artifacts in self.families.items()
            },
        }
