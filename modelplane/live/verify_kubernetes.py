"""`modelplane verify` of a Kubernetes endpoint: its running Deployments, read through the API server.

`pulumi up` returns once the provider has applied the objects (and, with its await logic, once the
rollout it started is done); a rollout can still stall later, an operator can `kubectl set image`, and
a GitOps tool applies the rendered manifests on its own schedule. So verify asks the cluster, per variant:

- `deployment`: the Deployment the stack outputs name exists in the endpoint's namespace;
- `image`: its server container runs the declared image (a tag's by the digest ECR holds for it, as the
  component resolves it), or, for a variant pinned to a registered version, the image that version
  records (the fetch-model init container runs the same);
- `version`: a pinned variant's pod template names the pinned version and the archive sha256 the registry
  recorded (what the init container checks); an unpinned one names none;
- `rollout`: the rollout has finished, as `kubectl rollout status` decides it (the controller has seen
  the latest spec, every replica is updated and available, no old one is left);
- `capture`: the server samples the declared share of requests, or captures nothing when capture is off.

The registry's record of a pinned version comes from SageMaker (`DescribeModelPackage`, by the family's
model package group ARN in the stack outputs).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from modelplane_components.kubernetes_pods import (
    FETCH_CONTAINER,
    MODEL_PACKAGE_VERSION_LABEL,
    MODEL_SHA256_ANNOTATION,
    MODEL_SHA256_ENV,
)
from modelplane_components.naming import MODEL_SHA256_METADATA
from modelplane_components.registered_models import version_arn
from pydantic import BaseModel, ConfigDict, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from modelplane.aws import error_text
from modelplane.errors import BadInput
from modelplane.live.verify import Check, Result, Rows
from modelplane.settings import Endpoint, Variant

SERVER_CONTAINER = "model"
SAMPLING_ENV = "MODELPLANE_CAPTURE_SAMPLING_PERCENT"
# The stack's secret kubeconfig, which the program's Kubernetes provider deploys with (`program/build.py`).
KUBECONFIG_KEY = "modelplane:kubeconfig"


class KubernetesOutputs(BaseModel):
    """The part of a Kubernetes endpoint's stack outputs (`endpoints.<name>`) that verify reads."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    namespace: str
    services: dict[str, str]
    deployments: dict[str, str] = {}
    """Absent from stacks deployed before the outputs named them: the Deployment is named like the Service."""
    endpoint_name: str | None = None


def connect(kubeconfig: Path | None, context: str | None, stack_kubeconfig: str | None = None) -> Any:
    """The apps/v1 API of the cluster a kubeconfig names in `context`: `kubeconfig` (`--kubeconfig`), else the
    stack's own (`stack_kubeconfig`, the secret `modelplane:kubeconfig` the Kubernetes provider deploys with),
    else `$KUBECONFIG`, else `~/.kube/config`."""
    from kubernetes import client, config

    from_stack = kubeconfig is None and stack_kubeconfig is not None
    if from_stack:
        where = "the stack's secret modelplane:kubeconfig"
    else:
        where = f"--kubeconfig {kubeconfig}" if kubeconfig else "the kubeconfig ($KUBECONFIG or ~/.kube/config)"
    try:
        if from_stack:
            document = YAML(typ="safe").load(stack_kubeconfig or "")
            # The Kubernetes provider takes the kubeconfig's contents or its path: verify reads what `pulumi up` does.
            if isinstance(document, str) and (path := Path(document).expanduser()).is_file():
                api = config.new_client_from_config(config_file=str(path), context=context)
            elif isinstance(document, dict):
                api = config.new_client_from_config_dict(document, context=context)
            else:
                raise BadInput(f"{where}: neither a kubeconfig (a YAML mapping) nor a readable file")
        else:
            # `$KUBECONFIG` as it is now (the client reads it once, when first imported), a list as kubectl takes it.
            files = str(kubeconfig) if kubeconfig else os.environ.get("KUBECONFIG") or None
            api = config.new_client_from_config(config_file=files, context=context)
    except (config.ConfigException, OSError, ValueError, YAMLError) as error:
        raise BadInput(f"{where}: {error}") from None
    return client.AppsV1Api(api)


@dataclass(frozen=True)
class RegistryRecord:
    """What the registry recorded of a pinned version: the image it runs and its archive's sha256."""

    image: str
    sha256: str | None


def registry_reader(sagemaker: Any, outputs: Mapping[str, Any]) -> Callable[[str, int], RegistryRecord | str]:
    """`(family, version) -> record`, or the reason there is none (a version the registry lacks)."""
    families = (outputs.get("registry") or {}).get("families") or {}

    def read(family: str, version: int) -> RegistryRecord | str:
        group_arn = (families.get(family) or {}).get("model_package_group_arn")
        if not group_arn:
            return f"the stack outputs name no model package group for {family}; run `pulumi up`"
        try:
            described = sagemaker.describe_model_package(ModelPackageName=version_arn(group_arn, version))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ValidationException":
                return f"version {version} is not in the registry ({error_text(error)})"
            raise
        containers = (described.get("InferenceSpecification") or {}).get("Containers") or [{}]
        recorded = described.get("CustomerMetadataProperties") or {}
        return RegistryRecord(str(containers[0].get("Image", "")), recorded.get(MODEL_SHA256_METADATA))

    return read


def cluster_checks(
    apps: Any, sagemaker: Any, ecr: Any, outputs: Mapping[str, Any]
) -> Callable[[Endpoint, Any], list[Check]]:
    """`verify_stack`'s check of a Kubernetes endpoint: its Deployments in `apps`, its versions in the registry,
    its images by tag in ECR (the component runs a tag's image by the digest ECR gives)."""
    registry = registry_reader(sagemaker, outputs)
    families = (outputs.get("registry") or {}).get("families") or {}

    def check(endpoint: Endpoint, endpoint_outputs: Any) -> list[Check]:
        repository = (families.get(endpoint.family) or {}).get("repository_url")
        sources = Sources(apps, registry, lambda tag: tag_digest(ecr, repository, tag), repository)
        return verify_kubernetes_endpoint(endpoint, endpoint_outputs, sources)

    return check


def tag_digest(ecr: Any, repository_url: str | None, tag: str) -> str:
    """The digest ECR holds for a tag of the repository (`sha256:...`); a reason starting with `!` when none."""
    if not repository_url:
        return "!the stack outputs name no repository for the family; run `pulumi up`"
    registry, _, name = repository_url.partition("/")
    try:
        found = ecr.describe_images(
            registryId=registry.split(".", 1)[0], repositoryName=name, imageIds=[{"imageTag": tag}]
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"ImageNotFoundException", "RepositoryNotFoundException"}:
            return f"!{repository_url}:{tag} is not in ECR ({error_text(error)})"
        raise
    return str(found["imageDetails"][0]["imageDigest"])


@dataclass(frozen=True)
class Sources:
    """Where verify reads what runs (the cluster) and what must run (the registry, ECR) for one endpoint."""

    apps: Any
    """The cluster's apps/v1 API."""
    registry: Callable[[str, int], RegistryRecord | str]
    digest_of: Callable[[str], str]
    """ECR's digest of an image tag of the family's repository."""
    repository_url: str | None


def verify_kubernetes_endpoint(endpoint: Endpoint, raw_outputs: Any, sources: Sources) -> list[Check]:
    """Every check of one Kubernetes endpoint's variants."""
    if raw_outputs is None:
        return [Rows(endpoint.name).of("outputs", Result.FAIL, "not in the stack outputs; run `pulumi up` first")]
    try:
        outputs = KubernetesOutputs.model_validate(raw_outputs)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg'].lower()}" for d in error.errors())
        return [Rows(endpoint.name).of("outputs", Result.FAIL, f"stack outputs endpoints.{endpoint.name}: {problems}")]
    rows = Rows(endpoint.name, outputs.endpoint_name)
    found: dict[str, Any] = {}
    missing: list[str] = []
    for variant in endpoint.all_variants:
        name = outputs.deployments.get(variant.name) or outputs.services.get(variant.name)
        deployment = _read(sources.apps, outputs.namespace, name) if name else None
        if deployment is None:
            missing.append(f"{variant.name}: no Deployment {outputs.namespace}/{name or '(not in the outputs)'}")
        else:
            found[variant.name] = deployment
    checks = [
        rows.judged(
            "deployment",
            missing,
            ", ".join(f"{outputs.namespace}/{d['metadata']['name']}" for d in found.values()),
        )
    ]
    if not found:
        return checks
    variants = [variant for variant in endpoint.all_variants if variant.name in found]
    expected = {variant.name: _expected(endpoint, variant, sources) for variant in variants}
    checks.append(_images(rows, variants, found, expected))
    checks.append(_versions(rows, variants, found, expected))
    checks.append(_rollouts(rows, endpoint, variants, found))
    checks.append(_capture(rows, endpoint, variants, found))
    return checks


def _read(apps: Any, namespace: str, name: str) -> dict[str, Any] | None:
    """The Deployment as the API server serialises it (camelCase JSON); None when it does not exist."""
    from kubernetes.client.exceptions import ApiException

    try:
        response = apps.read_namespaced_deployment(name, namespace, _preload_content=False)
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    return json.loads(response.data)


@dataclass(frozen=True)
class _Expected:
    image: str | None
    version: int | None
    sha256: str | None
    problem: str | None = None
    """Why the registry could not say what a pinned variant must run."""


def _expected(endpoint: Endpoint, variant: Variant, sources: Sources) -> _Expected:
    if variant.model_package_version is None:
        digest = variant.image_digest
        if digest is None and variant.image_tag is not None:
            digest = sources.digest_of(variant.image_tag)
            if digest.startswith("!"):
                return _Expected(None, None, None, digest[1:])
        repository = sources.repository_url
        return _Expected(f"{repository}@{digest}" if repository else None, None, None)
    record = sources.registry(endpoint.family, variant.model_package_version)
    if isinstance(record, str):
        return _Expected(None, variant.model_package_version, None, record)
    return _Expected(record.image, variant.model_package_version, record.sha256)


def _containers(deployment: Mapping[str, Any], kind: str) -> dict[str, Mapping[str, Any]]:
    spec = deployment.get("spec", {}).get("template", {}).get("spec", {})
    return {container.get("name", ""): container for container in spec.get(kind) or []}


def _images(rows: Rows, variants: list[Variant], found: Mapping[str, Any], expected: Mapping[str, _Expected]) -> Check:
    problems, seen = [], []
    for variant in variants:
        wanted = expected[variant.name]
        server = _containers(found[variant.name], "containers").get(SERVER_CONTAINER, {})
        image = server.get("image")
        seen.append(f"{variant.name} {_short(image)}")
        if wanted.problem:
            problems.append(f"{variant.name}: {wanted.problem}")
        elif wanted.image is None:
            problems.append(f"{variant.name}: the stack outputs name no repository for the family; run `pulumi up`")
        elif image != wanted.image:
            what = f"version {wanted.version} records" if wanted.version else "the stack declares"
            problems.append(f"{variant.name} runs {image}; {what} {wanted.image}")
        fetch = _containers(found[variant.name], "initContainers").get(FETCH_CONTAINER)
        if fetch is not None and fetch.get("image") != image:
            problems.append(f"{variant.name}: its {FETCH_CONTAINER} init container runs {fetch.get('image')}")
    return rows.judged("image", problems, ", ".join(seen))


def _versions(
    rows: Rows, variants: list[Variant], found: Mapping[str, Any], expected: Mapping[str, _Expected]
) -> Check:
    problems, seen = [], []
    for variant in variants:
        deployment, wanted = found[variant.name], expected[variant.name]
        template = deployment.get("spec", {}).get("template", {}).get("metadata", {})
        running = (template.get("labels") or {}).get(MODEL_PACKAGE_VERSION_LABEL)
        sha256 = (template.get("annotations") or {}).get(MODEL_SHA256_ANNOTATION)
        fetch = _containers(deployment, "initContainers").get(FETCH_CONTAINER, {})
        checked = {item.get("name"): item.get("value") for item in fetch.get("env") or []}.get(MODEL_SHA256_ENV)
        if wanted.version is None:
            seen.append(f"{variant.name} unpinned")
            if running is not None:
                problems.append(f"{variant.name} runs registered version {running}; the stack pins none")
            continue
        seen.append(f"{variant.name} {running}")
        if running != str(wanted.version):
            problems.append(f"{variant.name} runs version {running or 'none'}; the stack pins {wanted.version}")
        elif wanted.problem is None and wanted.sha256 is None:
            problems.append(f"{variant.name}: version {wanted.version} records no archive sha256 (not registered)")
        elif wanted.sha256 is not None and (sha256, checked) != (wanted.sha256, wanted.sha256):
            problems.append(
                f"{variant.name} checks archive sha256 {checked}; version {wanted.version} records {wanted.sha256}"
            )
    return rows.judged("version", problems, ", ".join(seen))


def rollout_problem(deployment: Mapping[str, Any]) -> str | None:
    """Why the rollout is not finished, as `kubectl rollout status` tells it (kubectl's deployment status viewer)."""
    metadata, spec, status = deployment.get("metadata", {}), deployment.get("spec", {}), deployment.get("status", {})
    if metadata.get("generation", 0) > status.get("observedGeneration", 0):
        return "the controller has not yet seen the latest spec"
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            return f"the rollout stalled: {condition.get('message', 'progress deadline exceeded')}"
    wanted = spec.get("replicas", 1)
    updated, replicas = status.get("updatedReplicas", 0), status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    if updated < wanted:
        return f"{updated} of {wanted} replicas updated"
    if replicas > updated:
        return f"{replicas - updated} old replicas pending termination"
    if available < updated:
        return f"{available} of {updated} updated replicas available"
    return None


def _rollouts(rows: Rows, endpoint: Endpoint, variants: list[Variant], found: Mapping[str, Any]) -> Check:
    problems, seen = [], []
    scaling = endpoint.autoscaling
    for variant in variants:
        deployment = found[variant.name]
        if why := rollout_problem(deployment):
            problems.append(f"{variant.name}: {why}")
        replicas = deployment.get("status", {}).get("availableReplicas", 0)
        low, high = (scaling.min_capacity, scaling.max_capacity) if scaling else (variant.instance_count,) * 2
        if not low <= replicas <= high:
            declared = f"{low}-{high} (autoscaling)" if scaling else str(low)
            problems.append(f"{variant.name}: {replicas} replicas available, the stack declares {declared}")
        seen.append(f"{variant.name} {replicas} available")
    return rows.judged("rollout", problems, "complete: " + ", ".join(seen))


def _capture(rows: Rows, endpoint: Endpoint, variants: list[Variant], found: Mapping[str, Any]) -> Check:
    declared = endpoint.data_capture
    problems = []
    for variant in variants:
        server = _containers(found[variant.name], "containers").get(SERVER_CONTAINER, {})
        sampling = {item.get("name"): item.get("value") for item in server.get("env") or []}.get(SAMPLING_ENV)
        if not declared.enabled and sampling is not None:
            problems.append(f"{variant.name} captures {sampling}%, the stack declares capture off")
        elif declared.enabled and sampling != str(declared.sampling_percent):
            problems.append(
                f"{variant.name} captures {f'{sampling}%' if sampling else 'nothing'},"
                f" the stack declares {declared.sampling_percent}%"
            )
    if not declared.enabled:
        return rows.judged("capture", problems, "off, as declared")
    return rows.judged("capture", problems, f"on, {declared.sampling_percent}% of requests")


def _short(image: str | None) -> str:
    """`repo@sha256:<12 hex>` or `repo:tag`, without the registry host."""
    if not image:
        return "(none)"
    name = image.rsplit("/", 1)[-1]
    return name[: name.index("@") + 20] if "@" in name else name
