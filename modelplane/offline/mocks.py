"""The mock engine a simulation runs the program against, in the simulation's own process.

`python -m modelplane.offline.mocks <stack file>` is that process (`modelplane.offline.simulation`
starts and reads it). The mocks invent what AWS and Kubernetes would compute (ARNs, auto-names,
repository URLs) so the program behaves as under `pulumi up`; the recording monitor sees each
registration in full (parent, dependencies, provider, options, aliases) under the URN the engine
would give it, and each provider function call, which `Mocks.new_resource` alone does not. Mock
state is process-global, so each simulation runs in a fresh process (and the tests'
`tests/harness.py` runs component scenarios and example programs the same way).
"""

from __future__ import annotations

import argparse
import functools
import gc
import hashlib
import importlib.resources
import json
import os
import re
import runpy
import sys
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from modelplane_components.naming import IMAGE_DIGEST_METADATA, MODEL_SHA256_METADATA
from modelplane_components.registered_models import MODEL_PACKAGE_TYPE
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.settings import get_project, get_stack

from modelplane.config import project
from modelplane.config.loader import SettingsError, read_stack_file, stack_file_settings, stack_name_of
from modelplane.offline.engine_config import runtime_config
from modelplane.offline.graph import (
    ACCOUNT_ID,
    SECRET_SIG,
    SECRET_SIG_KEY,
    RecordedInvoke,
    RecordedResource,
    Simulation,
)
from modelplane.offline.simulation import SECRET_VALUES_ENV
from modelplane.offline.urns import ROOT_STACK_TYPE, engine_urn

CLOUD_CONTROL_GET = "aws:cloudcontrol/getResource:getResource"
ECR_GET_IMAGE = "aws:ecr/getImage:getImage"


@functools.cache
def partition_of(region: str) -> tuple[str, str]:
    """The partition of a region and its DNS suffix (`aws-cn`, `amazonaws.com.cn` for `cn-north-1`), as AWS's
    SDKs know them: botocore's partition data (the mock answers getPartition as the provider would)."""
    for partition in _partitions():
        if region in partition["regions"] or re.match(partition["regionRegex"], region):
            return partition["outputs"]["name"], partition["outputs"]["dnsSuffix"]
    return "aws", "amazonaws.com"


@functools.cache
def _partitions() -> list[dict[str, Any]]:
    """botocore's `partitions.json`, read as a file: its loader module costs more to import than the file to read."""
    return json.loads((importlib.resources.files("botocore") / "data" / "partitions.json").read_text(encoding="utf-8"))[
        "partitions"
    ]


def _auto_name(logical_name: str, type_token: str) -> str:
    """Pulumi's auto-naming, `<logical-name>-<7 hex>`, made deterministic so plans are stable."""
    suffix = hashlib.sha256(f"{type_token}::{logical_name}".encode()).hexdigest()[:7]
    return f"{logical_name}-{suffix}"


def _fake_uuid(seed: str) -> str:
    return str(uuid.UUID(hashlib.md5(seed.encode()).hexdigest()))  # noqa: S324 - identifier, not security


class RealisticMocks(Mocks):
    """Computed outputs shaped like AWS's and Kubernetes' real ones."""

    def __init__(self, region: str, account_id: str = ACCOUNT_ID) -> None:
        self.region = region
        self.account_id = account_id
        self.dns_suffix = partition_of(region)[1]
        # Explicit AWS providers' regions, by the id the mock gives each provider.
        self._provider_regions: dict[str, str] = {}

    def region_of(self, provider: str | None, inputs: Mapping[str, Any] | None = None) -> str:
        """Where AWS answers: a resource's own `region` input, else its provider's, else the stack's."""
        own = (inputs or {}).get("region")
        if isinstance(own, str) and own:
            return own
        return self._provider_regions.get((provider or "").rsplit("::", 1)[-1]) or self.region

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        account, region = self.account_id, self.region_of(args.provider, args.args)
        partition, domain = partition_of(region)
        answers = {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": account,
                "arn": f"arn:{partition}:iam::{account}:user/modelplane",
                "userId": "AIDAMODELPLANE",
                "id": account,
            },
            "aws:index/getRegion:getRegion": {
                "name": region,
                "region": region,
                "id": region,
                "endpoint": f"ec2.{region}.{domain}",
                "description": region,
            },
            "aws:index/getPartition:getPartition": {
                "partition": partition,
                "dnsSuffix": domain,
                "reverseDnsPrefix": ".".join(reversed(domain.split("."))),
                "id": partition,
            },
            # The caller above is an IAM user, for which AWS answers with the user itself as issuer.
            "aws:iam/getSessionContext:getSessionContext": {
                "arn": args.args.get("arn"),
                "issuerArn": args.args.get("arn"),
                "issuerId": "AIDAMODELPLANE",
                "issuerName": "modelplane",
                "sessionName": "",
                "id": args.args.get("arn"),
            },
        }
        if args.token == ECR_GET_IMAGE:
            # The tag's image, as ECR answers for a pushed one: its digest (a stand-in derived from the tag).
            reference = f"{args.args.get('repositoryName')}:{args.args.get('imageTag')}"
            digest = "sha256:" + hashlib.sha256(reference.encode()).hexdigest()
            answers[ECR_GET_IMAGE] = {"id": digest, "imageDigest": digest, "imageTags": [args.args.get("imageTag")]}
        if args.token == CLOUD_CONTROL_GET and args.args.get("typeName") == MODEL_PACKAGE_TYPE:
            answers[CLOUD_CONTROL_GET] = self.model_package(str(args.args.get("identifier", "")))
        # No check failures: an empty list, since pulumi's MockMonitor iterates it (None crashes invokes).
        return answers.get(args.token, {}), []

    def model_package(self, arn: str) -> dict[str, Any]:
        """A registered, approved version as `modelplane register` leaves it: the image in the family's
        repository (named like its group) by digest, the archive under the family's prefix, its sha256 recorded."""
        group = arn.split(":model-package/", 1)[-1].rsplit("/", 1)[0]
        digest = hashlib.sha256(f"image {arn}".encode()).hexdigest()
        sha256 = hashlib.sha256(f"model {arn}".encode()).hexdigest()
        properties = {
            "ModelPackageArn": arn,
            "ModelPackageGroupName": group,
            "ModelApprovalStatus": "Approved",
            "InferenceSpecification": {
                "Containers": [
                    {
                        "Image": f"{self.account_id}.dkr.ecr.{self.region}.{self.dns_suffix}/{group}@sha256:{digest}",
                        "ImageDigest": f"sha256:{digest}",
                        "ModelDataUrl": f"s3://registry-artifacts-bucket/{group}/{sha256}/model.tar.gz",
                    }
                ]
            },
            "CustomerMetadataProperties": {IMAGE_DIGEST_METADATA: f"sha256:{digest}", MODEL_SHA256_METADATA: sha256},
        }
        return {
            "id": arn,
            "identifier": arn,
            "typeName": MODEL_PACKAGE_TYPE,
            "properties": json.dumps(properties),
            "region": self.region,
        }

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        token: str = args.typ
        if token.startswith("pulumi:providers:"):
            provider_id = _fake_uuid(args.name)
            if token == "pulumi:providers:aws" and isinstance(outputs.get("region"), str):
                self._provider_regions[provider_id] = outputs["region"]
            return provider_id, outputs
        if token.startswith("kubernetes:"):
            return self._kubernetes(args.name, token, outputs)
        return self._aws(args.name, token, outputs, self.region_of(args.provider, outputs))

    def _kubernetes(self, logical_name: str, token: str, outputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        metadata = dict(outputs.get("metadata") or {})
        metadata.setdefault("name", _auto_name(logical_name, token))
        if not token.endswith(":Namespace"):
            metadata.setdefault("namespace", "default")
        metadata["uid"] = _fake_uuid(f"{token}/{logical_name}")
        outputs["metadata"] = metadata
        namespace = metadata.get("namespace")
        return (f"{namespace}/{metadata['name']}" if namespace else metadata["name"]), outputs

    def _aws(self, logical_name: str, token: str, outputs: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
        account = self.account_id
        partition, domain = partition_of(region)
        service = token.split(":")[1].split("/", maxsplit=1)[0]
        kind = token.rsplit(":", 1)[1]
        name_key = {"Bucket": "bucket", "Dashboard": "dashboardName", "ModelPackageGroup": "modelPackageGroupName"}.get(
            kind, "name"
        )
        name = outputs.get(name_key) or _auto_name(logical_name, token)
        if kind == "Bucket":
            name = name.lower()
        outputs[name_key] = name
        arn = f"arn:{partition}:{service}:{region}:{account}:{kind[0].lower() + kind[1:]}/{name}"
        resource_id = name
        if token == "aws:kms/key:Key":
            key_id = _fake_uuid(logical_name)
            outputs.pop("name", None)
            outputs["keyId"] = key_id
            arn, resource_id = f"arn:{partition}:kms:{region}:{account}:key/{key_id}", key_id
        elif token == "aws:kms/alias:Alias":
            arn = f"arn:{partition}:kms:{region}:{account}:{name}"
            outputs["targetKeyArn"] = outputs.get("targetKeyId")
        elif kind == "Bucket":
            arn = f"arn:{partition}:s3:::{name}"
            outputs.update(
                bucketDomainName=f"{name}.s3.{domain}",
                bucketRegionalDomainName=f"{name}.s3.{region}.{domain}",
            )
        elif token == "aws:ecr/repository:Repository":
            arn = f"arn:{partition}:ecr:{region}:{account}:repository/{name}"
            outputs.update(registryId=account, repositoryUrl=f"{account}.dkr.ecr.{region}.{domain}/{name}")
        elif service == "sagemaker":
            sagemaker_kinds = {
                "Model": "model",
                "EndpointConfiguration": "endpoint-config",
                "Endpoint": "endpoint",
                "ModelPackageGroup": "model-package-group",
            }
            arn = f"arn:{partition}:sagemaker:{region}:{account}:{sagemaker_kinds.get(kind, kind.lower())}/{name}"
        elif service == "iam":
            arn = f"arn:{partition}:iam::{account}:{kind[0].lower() + kind[1:]}/{name}"
            outputs["uniqueId"] = "AROA" + hashlib.sha256(name.encode()).hexdigest()[:16].upper()
        elif token == "aws:sns/topic:Topic":
            arn = resource_id = f"arn:{partition}:sns:{region}:{account}:{name}"
        elif token == "aws:sns/topicSubscription:TopicSubscription":
            arn = resource_id = f"{outputs.get('topic')}:{_fake_uuid(logical_name)}"
        elif token == "aws:cloudwatch/metricAlarm:MetricAlarm":
            arn = f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}"
        elif token == "aws:cloudwatch/logGroup:LogGroup":
            arn = f"arn:{partition}:logs:{region}:{account}:log-group:{name}"
        elif token == "aws:cloudwatch/dashboard:Dashboard":
            outputs["dashboardArn"] = f"arn:{partition}:cloudwatch::{account}:dashboard/{name}"
        elif token == "aws:secretsmanager/secret:Secret":
            arn = resource_id = (
                f"arn:{partition}:secretsmanager:{region}:{account}:secret:{name}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"
            )
        elif service == "appautoscaling":
            arn = (
                f"arn:{partition}:application-autoscaling:{region}:{account}:scalable-target/{_fake_uuid(logical_name)}"
            )
            resource_id = outputs.get("resourceId") or name
        outputs.setdefault("arn", arn)
        if "tags" in outputs:
            outputs["tagsAll"] = outputs["tags"]
        return resource_id, outputs


class RecordingMonitor(MockMonitor):
    """The mock engine, keeping each registration as the real engine would see it.

    `registered` is told of each registration as it happens, in the order of `records` (the SDK
    registers from several threads).
    """

    def __init__(self, mocks: Mocks, registered: Callable[[RecordedResource], None] | None = None) -> None:
        super().__init__(mocks)
        self.records: list[RecordedResource] = []
        self.invokes: list[RecordedInvoke] = []
        self._registered = registered
        self._order = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The engine's URN, with the parent's whole type chain (the mock monitor keeps only its own type)."""
        return engine_urn(get_stack(), get_project(), parent, type_, name)

    def Invoke(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        self.invokes.append(RecordedInvoke(token=request.tok, provider=request.provider))
        return super().Invoke(request)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != ROOT_STACK_TYPE:
            self._record(
                RecordedResource(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    custom=bool(request.custom),
                    provider=request.provider,
                    inputs=json_format.MessageToDict(request.object),
                    outputs=json_format.MessageToDict(response.object),
                    dependencies=list(request.dependencies),
                    property_dependencies={
                        key: list(value.urns) for key, value in request.propertyDependencies.items()
                    },
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    ignore_changes=list(request.ignoreChanges),
                    additional_secret_outputs=list(request.additionalSecretOutputs),
                    aliases=[json_format.MessageToDict(alias) for alias in request.aliases]
                    + [{"urn": urn} for urn in request.aliasURNs],
                    providers=dict(request.providers),
                )
            )
        return response

    def _record(self, resource: RecordedResource) -> None:
        with self._order:
            self.records.append(resource)
            if self._registered is not None:
                self._registered(resource)


def simulate(
    stack_file: Path,
    stack: str | None = None,
    secret_values: Mapping[str, str] | None = None,
    *,
    started: Callable[[Simulation], None] | None = None,
    registered: Callable[[RecordedResource], None] | None = None,
) -> Simulation:
    """Run the program for one stack file in this process (call once per process).

    `started` is given what is simulated (no resources yet) once the settings are valid, before the
    program runs; `registered` each resource as the program registers it.
    """
    stack = stack or stack_name_of(stack_file)
    config = read_stack_file(stack_file)
    settings = stack_file_settings(config, source=str(stack_file), stack=stack)
    strings, secret_keys = runtime_config(config, secret_values or {})
    current = project.current()
    shell = Simulation(current.name, stack, settings.environment.value, str(stack_file))
    if started is not None:
        started(shell)

    def run_program() -> None:
        runpy.run_path(str(current.program), run_name="__main__")

    simulation = run_under_mocks(
        run_program,
        project=current.name,
        stack=stack,
        region=settings.region,
        config=strings,
        secret_keys=secret_keys,
        registered=registered,
    )
    return replace(simulation, environment=shell.environment, stack_file=shell.stack_file)


def run_under_mocks(
    program: Callable[[], None],
    *,
    project: str,
    stack: str,
    region: str,
    config: Mapping[str, str] | None = None,
    secret_keys: Sequence[str] = (),
    registered: Callable[[RecordedResource], None] | None = None,
) -> Simulation:
    """Run any Pulumi program under the recording mocks (once per process): every registration and the
    stack's exports; `registered` is told of each registration as it happens."""
    import pulumi
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.mocks import set_mocks
    from pulumi.runtime.settings import get_root_resource
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    monitor = RecordingMonitor(RealisticMocks(region), registered)
    set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
    set_all_config(dict(config or {}), list(secret_keys))
    _sync_await(run_pulumi_func(program))

    root = get_root_resource()
    exported: dict[str, Any] = getattr(root, "outputs", {})
    outputs: dict[str, Any] = {}
    for name, value in exported.items():
        output = pulumi.Output.from_input(value)
        resolved = _sync_await(output.future())
        outputs[name] = {SECRET_SIG_KEY: SECRET_SIG, "value": resolved} if _sync_await(output.is_secret()) else resolved
    return Simulation(project, stack, "", "", monitor.records, _jsonable(outputs), monitor.invokes)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modelplane.offline.mocks",
        description="Run the program for one stack file under the mock runtime; print the recorded graph "
        "as JSON lines while it runs.",
    )
    parser.add_argument("stack_file", type=Path)
    parser.add_argument("--stack")
    args = parser.parse_args(argv)
    # A process that lives for one program run: the cyclic collector would spend a third of it traversing
    # the SDK's modules and the growing graph, to free what the exit frees anyway; freezing what is left
    # spares the exit's own collection (docs/performance.md).
    gc.disable()
    try:
        return _simulate_and_print(args.stack_file, args.stack)
    finally:
        gc.freeze()


def _simulate_and_print(stack_file: Path, stack: str | None) -> int:
    def emit(kind: str, value: Any) -> None:
        sys.stdout.write(json.dumps({kind: value}) + "\n")
        sys.stdout.flush()

    secret_values = json.loads(os.environ.get(SECRET_VALUES_ENV) or "{}")
    try:
        simulation = simulate(
            stack_file,
            stack,
            secret_values,
            started=lambda shell: emit("stack", asdict(shell)),
            registered=lambda resource: emit("resource", asdict(resource)),
        )
    except SettingsError as error:
        emit("settings_error", {"source": error.source, "problems": error.problems})
        return 2
    emit("end", {"outputs": simulation.outputs, "invokes": [asdict(invoke) for invoke in simulation.invokes]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
