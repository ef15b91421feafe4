"""Runs `__main__.py` under Pulumi's mock runtime and records the whole resource graph.

The mocks invent what AWS and Kubernetes would compute (ARNs, auto-names, repository URLs) so the
program behaves as under `pulumi up`; the recording monitor sees each registration in full (parent,
dependencies, provider, options), which `Mocks.new_resource` alone does not. Mock state is
process-global, so each simulation runs in a fresh process: `simulate_in_subprocess`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import runpy
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.settings import get_project, get_stack

from modelplane.loader import (
    KUBECONFIG_KEY,
    PROJECT,
    SECRET_VALUES_KEY,
    SettingsError,
    load_stack_file,
    read_stack_file,
    stack_name_of,
)
from modelplane.stackfiles import PROJECT_ROOT

PROGRAM = PROJECT_ROOT / "__main__.py"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
ACCOUNT_ID = "123456789012"
# Pulumi's wire marker for a secret value: {SECRET_SIG_KEY: SECRET_SIG, "value": ...}.
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
# Environment variable carrying the plaintext stand-ins of `secure:` values into the child process.
SECRET_VALUES_ENV = "MODELPLANE_SIMULATED_SECRET_VALUES"


@dataclass
class RecordedResource:
    """One registration as the engine saw it; `inputs`/`outputs` use the provider's camelCase names."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    provider: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    ignore_changes: list[str]
    additional_secret_outputs: list[str]
    aliases: list[dict[str, Any]] = field(default_factory=list)
    """As sent: `{"urn": ...}` or `{"spec": {"name", "type", "parentUrn" | "noParent", ...}}`."""
    providers: dict[str, str] = field(default_factory=dict)
    """Package -> provider reference, as a component passes them to its children."""


@dataclass(frozen=True)
class RecordedInvoke:
    """One provider function call (`aws:index/getRegion:getRegion`) and the provider reference it named."""

    token: str
    provider: str


@dataclass
class Simulation:
    project: str
    stack: str
    environment: str
    stack_file: str
    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    invokes: list[RecordedInvoke] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Simulation:
        """Read a simulation, also one printed by another revision of this module (`plan --against`):
        fields it lacks take their defaults, fields this one does not know are dropped."""
        return cls(
            **_known_fields(cls, data),
            resources=[RecordedResource(**_known_fields(RecordedResource, r)) for r in data.get("resources", [])],
            invokes=[RecordedInvoke(**_known_fields(RecordedInvoke, i)) for i in data.get("invokes", [])],
        )

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [resource for resource in self.resources if resource.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> RecordedResource:
        """The single resource of a type (and logical name); fails loudly when there are none or several."""
        matches = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(matches) != 1:
            raise LookupError(f"expected one {type_token} {name or ''}, found {[r.name for r in matches]}")
        return matches[0]

    def children(self, parent: RecordedResource) -> list[RecordedResource]:
        return [resource for resource in self.resources if resource.parent == parent.urn]

    def descendants(self, parent: RecordedResource) -> list[RecordedResource]:
        found = self.children(parent)
        return found + [grandchild for child in found for grandchild in self.descendants(child)]


def _known_fields(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    nested = {"resources", "invokes"}
    return {f.name: data[f.name] for f in fields(cls) if f.name in data and f.name not in nested}


def engine_urn(stack: str, project: str, parent: str, type_token: str, name: str) -> str:
    """The URN the engine gives a registration (`Deployment.generateURN` in pulumi/pulumi): the parent's whole
    type chain joined by `$`, except the root stack's. Pulumi's mock monitor keeps only the parent's own type."""
    parent_type = qualified_type(parent) if parent else ""
    if parent_type == ROOT_STACK_TYPE:
        parent_type = ""
    return f"urn:pulumi:{stack}::{project}::{f'{parent_type}$' if parent_type else ''}{type_token}::{name}"


def qualified_type(urn: str) -> str:
    """`urn:pulumi:s::p::A$B::name` -> `A$B`."""
    return urn.split("::", 3)[2]


def with_engine_urns(simulation: Simulation) -> Simulation:
    """The simulation with every URN as the engine computes it, whatever monitor recorded it (an older revision
    of this module recorded the mock monitor's URNs): registrations come parents first, so one pass suffices."""
    renamed: dict[str, str] = {}
    for resource in simulation.resources:
        parent = renamed.get(resource.parent, resource.parent)
        renamed[resource.urn] = engine_urn(simulation.stack, simulation.project, parent, resource.type, resource.name)

    def urn(value: str) -> str:
        return renamed.get(value, value)

    def reference(value: str) -> str:
        """A provider reference `<urn>::<id>`."""
        target, separator, resource_id = value.rpartition("::")
        return f"{urn(target)}{separator}{resource_id}" if separator else value

    resources = [
        replace(
            resource,
            urn=urn(resource.urn),
            parent=urn(resource.parent),
            provider=reference(resource.provider),
            providers={package: reference(ref) for package, ref in resource.providers.items()},
            dependencies=[urn(d) for d in resource.dependencies],
            property_dependencies={k: [urn(d) for d in v] for k, v in resource.property_dependencies.items()},
        )
        for resource in simulation.resources
    ]
    invokes = [replace(invoke, provider=reference(invoke.provider)) for invoke in simulation.invokes]
    return replace(simulation, resources=resources, invokes=invokes)


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def reveal(value: Any) -> Any:
    """The value with Pulumi's secret envelopes removed, for assertions on content."""
    if is_secret(value):
        return reveal(value["value"])
    if isinstance(value, dict):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal(item) for item in value]
    return value


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

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        account, region = self.account_id, self.region
        answers = {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": account,
                "arn": f"arn:aws:iam::{account}:user/modelplane",
                "userId": "AIDAMODELPLANE",
                "id": account,
            },
            "aws:index/getRegion:getRegion": {
                "name": region,
                "region": region,
                "id": region,
                "endpoint": f"ec2.{region}.amazonaws.com",
                "description": region,
            },
            "aws:index/getPartition:getPartition": {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
                "reverseDnsPrefix": "com.amazonaws",
                "id": "aws",
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
        # No check failures: an empty list, since pulumi's MockMonitor iterates it (None crashes invokes).
        return answers.get(args.token, {}), []

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        token: str = args.typ
        if token.startswith("pulumi:providers:"):
            return _fake_uuid(args.name), outputs
        if token.startswith("kubernetes:"):
            return self._kubernetes(args.name, token, outputs)
        return self._aws(args.name, token, outputs)

    def _kubernetes(self, logical_name: str, token: str, outputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        metadata = dict(outputs.get("metadata") or {})
        metadata.setdefault("name", _auto_name(logical_name, token))
        if not token.endswith(":Namespace"):
            metadata.setdefault("namespace", "default")
        metadata["uid"] = _fake_uuid(f"{token}/{logical_name}")
        outputs["metadata"] = metadata
        namespace = metadata.get("namespace")
        return (f"{namespace}/{metadata['name']}" if namespace else metadata["name"]), outputs

    def _aws(self, logical_name: str, token: str, outputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        account, region = self.account_id, self.region
        service = token.split(":")[1].split("/", maxsplit=1)[0]
        kind = token.rsplit(":", 1)[1]
        name_key = {"Bucket": "bucket", "Dashboard": "dashboardName", "ModelPackageGroup": "modelPackageGroupName"}.get(
            kind, "name"
        )
        name = outputs.get(name_key) or _auto_name(logical_name, token)
        if kind == "Bucket":
            name = name.lower()
        outputs[name_key] = name
        arn = f"arn:aws:{service}:{region}:{account}:{kind[0].lower() + kind[1:]}/{name}"
        resource_id = name
        if token == "aws:kms/key:Key":
            key_id = _fake_uuid(logical_name)
            outputs.pop("name", None)
            outputs["keyId"] = key_id
            arn, resource_id = f"arn:aws:kms:{region}:{account}:key/{key_id}", key_id
        elif token == "aws:kms/alias:Alias":
            arn = f"arn:aws:kms:{region}:{account}:{name}"
            outputs["targetKeyArn"] = outputs.get("targetKeyId")
        elif kind == "Bucket":
            arn = f"arn:aws:s3:::{name}"
            outputs.update(
                bucketDomainName=f"{name}.s3.amazonaws.com",
                bucketRegionalDomainName=f"{name}.s3.{region}.amazonaws.com",
            )
        elif token == "aws:ecr/repository:Repository":
            arn = f"arn:aws:ecr:{region}:{account}:repository/{name}"
            outputs.update(registryId=account, repositoryUrl=f"{account}.dkr.ecr.{region}.amazonaws.com/{name}")
        elif service == "sagemaker":
            sagemaker_kinds = {
                "Model": "model",
                "EndpointConfiguration": "endpoint-config",
                "Endpoint": "endpoint",
                "ModelPackageGroup": "model-package-group",
            }
            arn = f"arn:aws:sagemaker:{region}:{account}:{sagemaker_kinds.get(kind, kind.lower())}/{name}"
        elif service == "iam":
            arn = f"arn:aws:iam::{account}:{kind[0].lower() + kind[1:]}/{name}"
            outputs["uniqueId"] = "AROA" + hashlib.sha256(name.encode()).hexdigest()[:16].upper()
        elif token == "aws:sns/topic:Topic":
            arn = resource_id = f"arn:aws:sns:{region}:{account}:{name}"
        elif token == "aws:sns/topicSubscription:TopicSubscription":
            arn = resource_id = f"{outputs.get('topic')}:{_fake_uuid(logical_name)}"
        elif token == "aws:cloudwatch/metricAlarm:MetricAlarm":
            arn = f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"
        elif token == "aws:cloudwatch/logGroup:LogGroup":
            arn = f"arn:aws:logs:{region}:{account}:log-group:{name}"
        elif token == "aws:cloudwatch/dashboard:Dashboard":
            outputs["dashboardArn"] = f"arn:aws:cloudwatch::{account}:dashboard/{name}"
        elif token == "aws:secretsmanager/secret:Secret":
            arn = resource_id = (
                f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"
            )
        elif service == "appautoscaling":
            arn = f"arn:aws:application-autoscaling:{region}:{account}:scalable-target/{_fake_uuid(logical_name)}"
            resource_id = outputs.get("resourceId") or name
        outputs.setdefault("arn", arn)
        if "tags" in outputs:
            outputs["tagsAll"] = outputs["tags"]
        return resource_id, outputs


class RecordingMonitor(MockMonitor):
    """The mock engine, keeping each registration as the real engine would see it."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.records: list[RecordedResource] = []
        self.invokes: list[RecordedInvoke] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        return engine_urn(get_stack(), get_project(), parent, type_, name)

    def Invoke(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        self.invokes.append(RecordedInvoke(token=request.tok, provider=request.provider))
        return super().Invoke(request)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != ROOT_STACK_TYPE:
            self.records.append(
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


def runtime_config(config: Mapping[str, Any], secret_values: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Stack-file config as the engine hands it to a program: strings, with `secure:` values decrypted.

    There is no key to decrypt `secure:` values offline, so each gets a stand-in: the caller's value
    when given, else a placeholder. A caller's value for a key the file lacks is added as if set with
    `pulumi config set --secret` (the shipped stack files hold no secret values): secret names go to
    `modelplane:secret_values.<name>`, `kubeconfig` to `modelplane:kubeconfig`.
    """
    strings: dict[str, str] = {}
    secret_keys: list[str] = []
    given_names = {name: value for name, value in secret_values.items() if name != "kubeconfig"}
    for key, value in config.items():
        if key == SECRET_VALUES_KEY and isinstance(value, dict):
            value = {name: secret_values.get(name, f"simulated-{name}") for name in value}
            secret_keys.append(key)
        elif key == KUBECONFIG_KEY:
            value = secret_values.get("kubeconfig", "apiVersion: v1\nkind: Config\nclusters: []\n")
            secret_keys.append(key)
        strings[key] = value if isinstance(value, str) else json.dumps(value)
    if given_names:
        configured = json.loads(strings.get(SECRET_VALUES_KEY, "{}"))
        strings[SECRET_VALUES_KEY] = json.dumps({**configured, **given_names})
        secret_keys = [*dict.fromkeys([*secret_keys, SECRET_VALUES_KEY])]
    if "kubeconfig" in secret_values and KUBECONFIG_KEY not in strings:
        strings[KUBECONFIG_KEY] = secret_values["kubeconfig"]
        secret_keys.append(KUBECONFIG_KEY)
    return strings, secret_keys


def simulate(stack_file: Path, stack: str | None = None, secret_values: Mapping[str, str] | None = None) -> Simulation:
    """Run the program for one stack file in this process (call once per process)."""
    import pulumi
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.mocks import set_mocks
    from pulumi.runtime.settings import get_root_resource
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    stack = stack or stack_name_of(stack_file)
    settings = load_stack_file(stack_file, stack)
    monitor = RecordingMonitor(RealisticMocks(settings.region))
    set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    strings, secret_keys = runtime_config(read_stack_file(stack_file), secret_values or {})
    set_all_config(strings, secret_keys)

    def run_program() -> None:
        runpy.run_path(str(PROGRAM), run_name="__main__")

    _sync_await(run_pulumi_func(run_program))

    root = get_root_resource()
    exported: dict[str, Any] = getattr(root, "outputs", {})
    outputs: dict[str, Any] = {}
    for name, value in exported.items():
        output = pulumi.Output.from_input(value)
        resolved = _sync_await(output.future())
        outputs[name] = {SECRET_SIG_KEY: SECRET_SIG, "value": resolved} if _sync_await(output.is_secret()) else resolved
    return Simulation(
        PROJECT,
        stack,
        settings.environment.value,
        str(stack_file),
        monitor.records,
        _jsonable(outputs),
        monitor.invokes,
    )


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


class SimulationFailed(Exception):
    """The program itself failed under the mock runtime."""


def simulate_in_subprocess(
    stack_file: Path,
    stack: str | None = None,
    secret_values: Mapping[str, str] | None = None,
    *,
    project_root: Path = PROJECT_ROOT,
) -> Simulation:
    """Run `simulate` in a fresh interpreter; raise `SettingsError` for bad config, as in-process.

    `project_root` is a checkout whose own program and `modelplane` package are run (`plan --against`
    simulates a git ref from its worktree); it is searched before this environment's copy.
    """
    command = [sys.executable, "-m", "modelplane.simulate", str(stack_file)] + (["--stack", stack] if stack else [])
    python_path = os.pathsep.join(filter(None, [str(project_root), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, SECRET_VALUES_ENV: json.dumps(dict(secret_values or {})), "PYTHONPATH": python_path}
    completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=project_root, check=False)
    if completed.returncode == 2:
        report = json.loads(completed.stdout)["settings_error"]
        raise SettingsError(report["source"], [(path, message) for path, message in report["problems"]])
    if completed.returncode != 0:
        raise SimulationFailed(completed.stderr.strip() or f"simulation exited with {completed.returncode}")
    return Simulation.from_json(json.loads(completed.stdout))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modelplane.simulate",
        description="Run the program for one stack file under the mock runtime; print the recorded graph as JSON.",
    )
    parser.add_argument("stack_file", type=Path)
    parser.add_argument("--stack")
    args = parser.parse_args(argv)
    try:
        simulation = simulate(args.stack_file, args.stack, json.loads(os.environ.get(SECRET_VALUES_ENV) or "{}"))
    except SettingsError as error:
        json.dump({"settings_error": {"source": error.source, "problems": error.problems}}, sys.stdout)
        return 2
    json.dump(simulation.to_json(), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
