"""The whole stack config, with its cross-field and environment rules."""

from __future__ import annotations

import re
from typing import Annotated

from modelplane_components import aws_limits, naming
from modelplane_components.registry import family_name_problems
from pydantic import Field, ValidationInfo, model_validator

from modelplane.settings.base import Environment, FieldProblems, Platform, SettingsModel
from modelplane.settings.deployment import Strategy
from modelplane.settings.endpoints import Endpoint
from modelplane.settings.kubernetes import KubernetesCluster, KubernetesServing
from modelplane.settings.monitoring import Monitoring
from modelplane.settings.network import Network
from modelplane.settings.registry import Registry
from modelplane.settings.secrets import MAX_PROD_ROTATION_DAYS, SecretSpec
from modelplane.settings.tags import Tags


class LocalEmulator(SettingsModel):
    """A local AWS emulator (moto server) for the `local` environment."""

    endpoint_url: str = Field(pattern=r"^http://(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):\d{2,5}/?$")
    """Loopback URL of the emulator."""


class Settings(SettingsModel):
    """Everything a stack config may say."""

    environment: Environment
    """dev, staging, prod or local; decides protection, defaults and policy enforcement."""
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    """AWS region of every resource: the AWS provider's own `aws:region` key, not a `modelplane:` one."""
    tags: Tags
    """Tags for every taggable resource."""
    network: Network | None = None
    """VPC placement of models (required in prod)."""
    registry: Registry
    """Model families (an ECR repository and a model package group each) and the artifact bucket."""
    endpoints: list[Endpoint] = []
    """Served models: each a SageMaker endpoint or a Kubernetes service, named `<name>-<stack>` when deployed."""
    monitoring: Monitoring = Monitoring()
    """Who the alarms notify, and how long endpoint logs are kept."""
    secrets: dict[Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)], SecretSpec] = {}
    """Secrets by name; values via `pulumi config set --secret --path 'modelplane:secret_values.<name>'`."""
    kubernetes: KubernetesCluster = KubernetesCluster()
    """How the Kubernetes provider reaches the cluster of the endpoints with `platform: kubernetes`."""
    local_emulator: LocalEmulator | None = None
    """Point the AWS provider at a local emulator (environment local only)."""

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> Settings:
        problems: list[tuple[str, str]] = []
        stack = (info.context or {}).get("stack")
        names: set[str] = set()
        namespaces: set[str] = set()
        for index, endpoint in enumerate(self.endpoints):
            path = f"endpoints[{index}]"
            if endpoint.name in names:
                problems.append((f"{path}.name", f"duplicate endpoint name {endpoint.name!r}"))
            names.add(endpoint.name)
            deployed_endpoint = naming.endpoint_name(endpoint.name, stack or "")
            if stack and (why := aws_limits.name_problem("EndpointName", deployed_endpoint)):
                problems.append((f"{path}.name", f"deployed name {deployed_endpoint} {why}"))
            if endpoint.family not in self.registry.families:
                problems.append(
                    (f"{path}.family", f"unknown model family {endpoint.family!r}; declare it in registry.families")
                )
            for position, secret in enumerate(endpoint.secrets):
                if secret not in self.secrets:
                    problems.append(
                        (f"{path}.secrets[{position}]", f"unknown secret {secret!r}; declare it in secrets")
                    )
            if self.environment is Environment.PROD:
                problems += self._prod_problems(path, endpoint)
            if endpoint.kubernetes is not None:
                problems += self._cluster_problems(path, endpoint, endpoint.kubernetes, namespaces)
        for family in self.registry.families:
            if stack:
                problems += [
                    (f"registry.families.{family}", f"deployed name {why}")
                    for why in family_name_problems(family, stack)
                ]
        if self.environment is Environment.PROD and self.network is None:
            problems.append(("network", "required in prod: models run in private subnets"))
        if self.environment is Environment.PROD:
            problems += self._prod_rotation_problems()
        if self.local_emulator is not None and self.environment is not Environment.LOCAL:
            problems.append(("local_emulator", "only allowed with environment local"))
        if problems:
            raise FieldProblems(problems)
        return self

    def _prod_rotation_problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        for name, spec in self.secrets.items():
            rotation = spec.rotation
            path = f"secrets.{name}.rotation"
            if rotation is None:
                problems.append(
                    (path, f"required in prod: secrets rotate at least every {MAX_PROD_ROTATION_DAYS} days")
                )
                continue
            days = rotation.automatically_after_days
            if days is not None and days > MAX_PROD_ROTATION_DAYS:
                problems.append(
                    (
                        f"{path}.automatically_after_days",
                        f"prod secrets rotate at least every {MAX_PROD_ROTATION_DAYS} days",
                    )
                )
            rate = re.fullmatch(r"rate\((\d+) days?\)", rotation.schedule_expression or "")
            if rate and int(rate.group(1)) > MAX_PROD_ROTATION_DAYS:
                problems.append(
                    (f"{path}.schedule_expression", f"prod secrets rotate at least every {MAX_PROD_ROTATION_DAYS} days")
                )
        return problems

    def _cluster_problems(
        self, path: str, endpoint: Endpoint, serving: KubernetesServing, namespaces: set[str]
    ) -> list[tuple[str, str]]:
        """A Kubernetes endpoint owns its namespace, can read its secrets, models and capture safely (IRSA), and
        keeps 2 replicas in prod."""
        problems: list[tuple[str, str]] = []
        if serving.namespace in namespaces:
            problems.append(
                (f"{path}.kubernetes.namespace", f"namespace {serving.namespace!r} belongs to another endpoint")
            )
        namespaces.add(serving.namespace)
        if endpoint.secrets and self.kubernetes.render_yaml_to_directory is not None:
            problems.append(
                (
                    f"{path}.secrets",
                    "kubernetes.render_yaml_to_directory would write the Kubernetes Secret holding these values to disk in plain text",
                )
            )
        for position, secret in enumerate(endpoint.secrets):
            spec = self.secrets.get(secret)
            if spec is not None and spec.rotation is not None and self.kubernetes.oidc_provider_arn is None:
                problems.append(
                    (
                        f"{path}.secrets[{position}]",
                        f"{secret!r} rotates, so the pods re-read it from Secrets Manager through IRSA: set kubernetes.oidc_provider_arn",
                    )
                )
        if self.kubernetes.oidc_provider_arn is None:
            problems += [
                (
                    f"{path}.{variant_path}.model_package_version",
                    "the pods fetch the registered archive as their IAM role (IRSA): set kubernetes.oidc_provider_arn",
                )
                for variant_path, variant in endpoint.variant_paths()
                if variant.model_package_version is not None
            ]
            if endpoint.data_capture.enabled:
                problems.append(
                    (
                        f"{path}.data_capture.enabled",
                        "the pods write captured requests to the artifact bucket as their IAM role (IRSA): set"
                        " kubernetes.oidc_provider_arn, or set this to false",
                    )
                )
        if self.environment is Environment.PROD:
            if endpoint.autoscaling is not None and endpoint.autoscaling.min_capacity < 2:
                problems.append((f"{path}.autoscaling.min_capacity", "prod keeps at least 2 replicas per variant"))
            if endpoint.autoscaling is None:
                problems += [
                    (f"{path}.variants[{index}].instance_count", "prod keeps at least 2 replicas per variant")
                    for index, variant in enumerate(endpoint.variants)
                    if variant.instance_count < 2
                ]
        return problems

    def _prod_problems(self, path: str, endpoint: Endpoint) -> list[tuple[str, str]]:
        if endpoint.platform is not Platform.SAGEMAKER:
            return []
        serverless = [(p, v) for p, v in endpoint.variant_paths() if v.serverless is not None]
        if serverless:
            variant_path = serverless[0][0]
            return [
                (
                    f"{path}.{variant_path}.serverless",
                    "serverless endpoints cannot run in private subnets or with network isolation; use instances in prod",
                )
            ]
        if endpoint.deployment.strategy is Strategy.ALL_AT_ONCE:
            return [
                (f"{path}.deployment.strategy", "prod endpoints shift traffic gradually: use canary, linear or rolling")
            ]
        return []

    @model_validator(mode="before")
    @classmethod
    def _environment_defaults(cls, data: object) -> object:
        """Prod endpoints default to a canary deployment (serverless ones to all-at-once, their only option)."""
        if not isinstance(data, dict) or data.get("environment") != Environment.PROD.value:
            return data
        if not isinstance(data.get("endpoints"), list):
            return data
        endpoints = []
        for endpoint in data["endpoints"]:
            if isinstance(endpoint, dict) and _needs_default_strategy(endpoint):
                serverless = any(
                    isinstance(v, dict) and v.get("serverless")
                    for v in [*_as_list(endpoint.get("variants")), endpoint.get("shadow")]
                )
                strategy = Strategy.ALL_AT_ONCE if serverless else Strategy.CANARY
                deployment = dict(endpoint.get("deployment") or {})
                deployment["strategy"] = strategy.value
                endpoint = {**endpoint, "deployment": deployment}
            endpoints.append(endpoint)
        return {**data, "endpoints": endpoints}

    def log_retention_days(self) -> int:
        if self.monitoring.log_retention_days is not None:
            return self.monitoring.log_retention_days
        return {Environment.PROD: 365, Environment.STAGING: 30}.get(self.environment, 14)

    @property
    def is_prod(self) -> bool:
        return self.environment is Environment.PROD

    def base_tags(self, project: str, stack: str) -> dict[str, str]:
        """The tags every taggable resource carries."""
        return {
            **self.tags.extra,
            "owner": self.tags.owner,
            "cost-center": self.tags.cost_center,
            "data-classification": self.tags.data_classification,
            "environment": self.environment.value,
            "project": project,
            "stack": stack,
            "managed-by": "pulumi",
        }


def _needs_default_strategy(endpoint: dict[str, object]) -> bool:
    deployment = endpoint.get("deployment")
    return deployment is None or (isinstance(deployment, dict) and "strategy" not in deployment)


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []
