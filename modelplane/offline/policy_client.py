"""Runs the `modelplane-guard` policy pack over a simulated stack exactly as the Pulumi CLI does.

The CLI starts `python -u -m pulumi.policy <engine> .` in the pack directory, reads the gRPC port
from its first stdout line and speaks the analyzer protocol: Handshake, ConfigureStack,
GetAnalyzerInfo, Configure (the config it reconciled itself: schema defaults, then the pack's
initial config, then the `--policy-pack-config` file), Analyze for every resource and AnalyzeStack
once. Doing the same here means `modelplane plan` and the tests judge a stack with the very rules,
levels and messages `pulumi preview --policy-pack policies --policy-pack-config ...` would show.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import grpc
import jsonschema
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from ruamel.yaml import YAML

from modelplane.config import project
from modelplane.config.loader import read_stack_file
from modelplane.errors import BadInput
from modelplane.offline.engine_config import runtime_config
from modelplane.offline.graph import RecordedResource, Simulation
from modelplane.offline.policy_config import PolicyConfig, PolicyConfigFile, config_for
from modelplane.offline.simulation import Child, fork_module

# The CLI passes the engine's address; the pack only stores it, so any address does.
ENGINE_ADDRESS = "127.0.0.1:1"
STARTUP_TIMEOUT_SECONDS = 60.0
# The CLI raises gRPC's 4 MB message limit for analyzers to 400 MB (a large stack in one AnalyzeStack).
_MAX_MESSAGE_BYTES = 400 * 1024 * 1024
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
]
MANDATORY, ADVISORY = "mandatory", "advisory"
_LEVEL_TO_PROTO = {
    ADVISORY: analyzer_pb2.ADVISORY,
    MANDATORY: analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
_PROTO_TO_LEVEL = {proto: level for level, proto in _LEVEL_TO_PROTO.items()}
SEVERITY_NAMES = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
# Policies carry the ids of the scanner controls they correspond to as `source:<id>` tags, and the
# resource types they judge as `resource:<type token>` tags: tags are the only free-form field of
# the analyzer protocol that holds several values.
SOURCE_TAG_PREFIX = "source:"
RESOURCE_TAG_PREFIX = "resource:"
# The pack sends a waived violation as advisory, with the waiver as JSON on its message's last line
# after this prefix (policies/modelplane_guard/waivers.py).
WAIVER_NOTE_PREFIX = "waived: "


@dataclass(frozen=True)
class PolicyInfo:
    """One policy as the pack describes it, with the enforcement level this run applied."""

    name: str
    description: str
    severity: str
    """"low", "medium", "high" or "critical"."""
    enforcement_level: str
    """Effective level after config reconciliation: "advisory", "mandatory", "remediate" or "disabled"."""
    remediation: str
    tags: tuple[str, ...]
    """Category tags (the `source:` and `resource:` ones are machine-read and left out)."""
    source_ids: tuple[str, ...]
    """Ids of the matching Checkov checks, AWS Config rules or Pod Security controls."""
    url: str


@dataclass(frozen=True)
class Waiver:
    """The waiver in the environment's policy config that made a violation advisory."""

    waiver: str
    """Where it is configured, e.g. `policy-waivers.waivers[0]`."""
    resource: str
    """The logical-name or URN pattern it covers."""
    reason: str
    owner: str
    expires: str
    """Last day it applies, YYYY-MM-DD."""
    level: str
    """The level the violation would have had without the waiver."""


@dataclass(frozen=True)
class Violation:
    """One diagnostic of the pack."""

    policy: str
    level: str
    """"advisory" or "mandatory" ("remediate" is reported as "mandatory", as the SDK does)."""
    severity: str
    urn: str
    """The offending resource; empty for a stack-wide finding."""
    type: str
    """Type token of the offending resource; empty for a stack-wide finding."""
    message: str
    """What is wrong with this resource (the policy's description is in `PolicyInfo`)."""
    waiver: Waiver | None = None
    """The waiver that accepted this violation; a waived violation is reported, never mandatory."""


@dataclass(frozen=True)
class PolicyReport:
    pack: str
    version: str
    config_file: str | None
    config: dict[str, Any]
    """Per policy, what was sent in Configure: `{"enforcementLevel": ..., <property>: ...}`."""
    policies: tuple[PolicyInfo, ...]
    violations: tuple[Violation, ...]

    @property
    def mandatory(self) -> tuple[Violation, ...]:
        return tuple(violation for violation in self.violations if violation.level == "mandatory")

    @property
    def waived(self) -> tuple[Violation, ...]:
        return tuple(violation for violation in self.violations if violation.waiver is not None)


class PolicyPackError(BadInput):
    """The pack failed to start, or its configuration is invalid."""


def pack_version(pack_dir: Path) -> str:
    """The version in PulumiPolicy.yaml, which the CLI prefers over the one the SDK reports."""
    document = YAML(typ="safe").load((pack_dir / "PulumiPolicy.yaml").read_text(encoding="utf-8")) or {}
    return str(document.get("version", ""))


def reconcile_config(
    info: analyzer_pb2.AnalyzerInfo, file_config: Mapping[str, PolicyConfig] | None, source: str = "policy config"
) -> dict[str, dict[str, Any]]:
    """Every policy's effective config, as the CLI computes it before Configure.

    Schema defaults and each policy's own level first, then the pack's initial config, then the
    file; within each, `all` sets every level before per-policy entries apply. The result is
    validated against each policy's config schema, as the CLI does.
    """
    effective: dict[str, dict[str, Any]] = {}
    schemas: dict[str, dict[str, Any]] = {}
    for policy in info.policies:
        schema = json_format.MessageToDict(policy.configSchema, preserving_proto_field_name=True)
        properties: dict[str, Any] = schema.get("properties", {})
        schemas[policy.name] = {
            "type": "object",
            "properties": properties,
            **({"required": schema["required"]} if schema.get("required") else {}),
        }
        defaults = {key: prop["default"] for key, prop in properties.items() if "default" in prop}
        effective[policy.name] = {"enforcementLevel": _PROTO_TO_LEVEL[policy.enforcementLevel], **defaults}
    # Over the wire an initial config entry always has a level (ADVISORY when the pack gave none).
    initial = {
        name: PolicyConfig(_PROTO_TO_LEVEL[config.enforcementLevel], json_format.MessageToDict(config.properties))
        for name, config in info.initialConfig.items()
    }
    for layer in (initial, file_config or {}):
        _apply_config(effective, layer)
    problems = [
        f"{name}: {error.message}"
        for name, schema in schemas.items()
        for error in jsonschema.Draft7Validator(schema).iter_errors(
            {key: value for key, value in effective[name].items() if key != "enforcementLevel"}
        )
    ]
    if problems:
        raise PolicyPackError(f"{source}: invalid policy config: " + "; ".join(problems))
    return effective


def _apply_config(effective: dict[str, dict[str, Any]], layer: Mapping[str, PolicyConfig]) -> None:
    everything = layer.get("all")
    if everything is not None and everything.enforcement_level is not None:
        for config in effective.values():
            config["enforcementLevel"] = everything.enforcement_level
    for name, config in layer.items():
        if name == "all" or name not in effective:
            continue
        if config.enforcement_level is not None:
            effective[name]["enforcementLevel"] = config.enforcement_level
        effective[name].update(config.properties)


def configure_request(effective: Mapping[str, Mapping[str, Any]]) -> analyzer_pb2.ConfigureAnalyzerRequest:
    """One entry per policy, each with an explicit level (a missing one would read as ADVISORY)."""
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, config in effective.items():
        entry = request.policyConfig[name]
        entry.enforcementLevel = _LEVEL_TO_PROTO[config["enforcementLevel"]]
        entry.properties.update({key: value for key, value in config.items() if key != "enforcementLevel"})
    return request


def _wire_struct(properties: Mapping[str, Any]) -> struct_pb2.Struct:
    """Properties as the engine marshals them for analyzers: secrets kept, `__` internal keys dropped."""
    return json_format.ParseDict(_without_internal_keys(properties), struct_pb2.Struct())


def _without_internal_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_internal_keys(item) for key, item in value.items() if not key.startswith("__")}
    if isinstance(value, list):
        return [_without_internal_keys(item) for item in value]
    return value


def _options(resource: RecordedResource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        ignoreChanges=resource.ignore_changes,
        deleteBeforeReplace=resource.delete_before_replace,
        deleteBeforeReplaceDefined=resource.delete_before_replace,
        additionalSecretOutputs=resource.additional_secret_outputs,
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(),
        parent=resource.parent,
    )


def _provider(
    resource: RecordedResource, by_urn: Mapping[str, RecordedResource]
) -> analyzer_pb2.AnalyzerProviderResource | None:
    """The resource's explicit provider (a `<urn>::<id>` reference) with its inputs."""
    provider_urn = resource.provider.rpartition("::")[0]
    provider = by_urn.get(provider_urn)
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.type, urn=provider.urn, name=provider.name, properties=_wire_struct(provider.inputs)
    )


def analyze_request(
    resource: RecordedResource, by_urn: Mapping[str, RecordedResource] | None = None
) -> analyzer_pb2.AnalyzeRequest:
    """The Analyze call for one resource: its inputs, before the provider sees them."""
    return analyzer_pb2.AnalyzeRequest(
        type=resource.type,
        properties=_wire_struct(resource.inputs),
        urn=resource.urn,
        name=resource.name,
        options=_options(resource),
        provider=_provider(resource, by_urn or {}),
    )


def analyze_stack_request(resources: Sequence[RecordedResource]) -> analyzer_pb2.AnalyzeStackRequest:
    """The AnalyzeStack call: every resource with its outputs and its place in the graph."""
    by_urn = {resource.urn: resource for resource in resources}
    return analyzer_pb2.AnalyzeStackRequest(resources=[stack_resource(resource, by_urn) for resource in resources])


def stack_resource(resource: RecordedResource, by_urn: Mapping[str, RecordedResource]) -> analyzer_pb2.AnalyzerResource:
    """One resource of the AnalyzeStack call; `by_urn` holds its provider."""
    return analyzer_pb2.AnalyzerResource(
        type=resource.type,
        properties=_wire_struct(resource.outputs),
        urn=resource.urn,
        name=resource.name,
        options=_options(resource),
        provider=_provider(resource, by_urn),
        parent=resource.parent,
        dependencies=resource.dependencies,
        propertyDependencies={
            key: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns)
            for key, urns in resource.property_dependencies.items()
            if urns
        },
    )


@dataclass(frozen=True)
class StackIdentity:
    """What the CLI tells a pack about the stack: names, config (decrypted) and dry-run mode."""

    project: str
    stack: str
    config: Mapping[str, str]
    secret_keys: Sequence[str] = ()
    dry_run: bool = True

    @classmethod
    def of(cls, simulation: Simulation, *, dry_run: bool = True) -> StackIdentity:
        # A relative stack file is relative to the project, where simulations run.
        stack_file = simulation.stack_file
        config = read_stack_file(project.current().root / stack_file, stack_file)
        return cls.for_config(simulation.project, simulation.stack, config, dry_run=dry_run)

    @classmethod
    def for_config(cls, project: str, stack: str, config: Mapping[str, Any], *, dry_run: bool = True) -> StackIdentity:
        """From the stack file's `config:` block: known before the program runs, so the pack can start while
        the simulation does."""
        strings, secret_keys = runtime_config(config, {})
        return cls(project, stack, strings, secret_keys, dry_run)


class RunningPack:
    """A connected pack, with one method per protocol step (call them in the CLI's order)."""

    def __init__(self, stub: analyzer_pb2_grpc.AnalyzerStub, pack_dir: Path, pid: int) -> None:
        self.stub = stub
        self.pack_dir = pack_dir
        self.pid = pid
        """The pack's process: a fresh interpreter's, or a fork of the fork server (benchmarks read its CPU time)."""

    def handshake(self) -> None:
        """The CLI's first call; the Python SDK does not implement it, which the CLI tolerates."""
        request = analyzer_pb2.AnalyzerHandshakeRequest(
            engine_address=ENGINE_ADDRESS, root_directory=str(self.pack_dir), program_directory=str(self.pack_dir)
        )
        try:
            self.stub.Handshake(request)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNIMPLEMENTED:  # type: ignore[attr-defined]  # RpcError is also a Call
                raise

    def configure_stack(self, identity: StackIdentity) -> None:
        self.stub.ConfigureStack(
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=identity.stack,
                project=identity.project,
                organization="organization",
                dry_run=identity.dry_run,
                config=dict(identity.config),
                config_secret_keys=list(identity.secret_keys),
                tags={"pulumi:project": identity.project, "pulumi:runtime": "python"},
            )
        )

    def info(self) -> analyzer_pb2.AnalyzerInfo:
        return self.stub.GetAnalyzerInfo(empty_pb2.Empty())

    def configure(self, effective: Mapping[str, Mapping[str, Any]]) -> None:
        self.stub.Configure(configure_request(effective))

    def analyze(
        self, resource: RecordedResource, by_urn: Mapping[str, RecordedResource] | None = None
    ) -> analyzer_pb2.AnalyzeResponse:
        return self.stub.Analyze(analyze_request(resource, by_urn))

    def analyze_stack(
        self, stack: Sequence[RecordedResource] | analyzer_pb2.AnalyzeStackRequest
    ) -> analyzer_pb2.AnalyzeResponse:
        """AnalyzeStack over these resources, or their request built as they registered (`stack_resource`)."""
        if not isinstance(stack, analyzer_pb2.AnalyzeStackRequest):
            stack = analyze_stack_request(stack)
        return self.stub.AnalyzeStack(stack)


@contextmanager
def start_pack(
    identity: StackIdentity, pack_dir: Path | None = None, python: str = sys.executable
) -> Iterator[RunningPack]:
    """Start the pack as the CLI does, yield it connected, and stop it on exit.

    `python` is the interpreter running it: this environment's, or the pack's own virtualenv's, as the
    CLI runs it (policies/requirements.txt pins the same versions). `pack_dir` defaults to the project's
    `policies/`. Run by this interpreter, the pack is a fork of the simulations' fork server, which has
    imported the SDK and gRPC already (`_forks`); another interpreter starts afresh.
    """
    pack_dir = pack_dir or project.current().pack_dir
    env = {
        **os.environ,
        "PULUMI_PROJECT": identity.project,
        "PULUMI_STACK": identity.stack,
        "PULUMI_ORGANIZATION": "organization",
        "PULUMI_CONFIG": json.dumps(dict(identity.config)),
        "PULUMI_DRY_RUN": "true" if identity.dry_run else "false",
    }
    with tempfile.TemporaryFile() as stderr:
        process, stdout = _launch(python, pack_dir, env, stderr)
        try:
            with stdout:
                port = _read_port(process, stdout, stderr)
                with grpc.insecure_channel(f"127.0.0.1:{port}", options=_CHANNEL_OPTIONS) as channel:
                    yield RunningPack(analyzer_pb2_grpc.AnalyzerStub(channel), pack_dir, process.pid)
        finally:
            _stop(process)


def _forks(python: str) -> bool:
    """Whether the pack's interpreter is this one (the same path: a virtualenv's python links to its base's)."""
    return Path(python).absolute() == Path(sys.executable).absolute()


def _launch(python: str, pack_dir: Path, env: Mapping[str, str], stderr: IO[bytes]) -> tuple[Child, IO[bytes]]:
    """`python -u -m pulumi.policy <engine> .` in `pack_dir`, as the CLI starts it; its process and standard output."""
    if _forks(python):
        child, output = fork_module("pulumi.policy", [ENGINE_ADDRESS, "."], pack_dir, env, stderr, unbuffered=True)
        return child, os.fdopen(output, "rb")
    process = subprocess.Popen(
        [python, "-u", "-m", "pulumi.policy", ENGINE_ADDRESS, "."],
        cwd=pack_dir,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    assert process.stdout is not None
    return process, process.stdout


def _read_port(process: Child, stdout: IO[bytes], stderr: IO[bytes]) -> int:
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        ready = selector.select(STARTUP_TIMEOUT_SECONDS)
    line = stdout.readline().decode().strip() if ready else ""
    if line.isdigit():
        return int(line)
    if not ready:
        raise PolicyPackError(f"policy pack did not report its port within {STARTUP_TIMEOUT_SECONDS:.0f}s")
    returncode = process.wait(timeout=STARTUP_TIMEOUT_SECONDS)
    stderr.seek(0)
    detail = stderr.read().decode(errors="replace").strip()
    raise PolicyPackError(f"policy pack failed to start (exit code {returncode}):\n{detail}")


def _stop(process: Child) -> None:
    """Interrupt the server loop (the SDK stops its gRPC server on KeyboardInterrupt), then insist."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def category_tags(policy: analyzer_pb2.PolicyInfo) -> tuple[str, ...]:
    """The policy's free-form tags, without the machine-read `source:` and `resource:` ones."""
    return tuple(tag for tag in policy.tags if not tag.startswith((SOURCE_TAG_PREFIX, RESOURCE_TAG_PREFIX)))


def tagged(policy: analyzer_pb2.PolicyInfo, prefix: str) -> tuple[str, ...]:
    """The values of the policy's `<prefix><value>` tags (`SOURCE_TAG_PREFIX`, `RESOURCE_TAG_PREFIX`)."""
    return tuple(tag.removeprefix(prefix) for tag in policy.tags if tag.startswith(prefix))


def _policy_info(policy: analyzer_pb2.PolicyInfo, level: str) -> PolicyInfo:
    return PolicyInfo(
        name=policy.name,
        description=policy.description,
        severity=SEVERITY_NAMES[policy.severity],
        enforcement_level=level,
        remediation=policy.remediation_steps,
        tags=category_tags(policy),
        source_ids=tagged(policy, SOURCE_TAG_PREFIX),
        url=policy.url,
    )


def violations_of(
    response: analyzer_pb2.AnalyzeResponse, resource: RecordedResource | None, types_by_urn: Mapping[str, str]
) -> list[Violation]:
    """Diagnostics as violations; a resource policy's diagnostic belongs to the analyzed resource."""
    found = []
    for diagnostic in response.diagnostics:
        urn = diagnostic.urn or (resource.urn if resource else "")
        message = diagnostic.message
        if message.startswith(diagnostic.description):
            message = message[len(diagnostic.description) :].lstrip("\n") or diagnostic.description
        message, waiver = split_waiver(message)
        found.append(
            Violation(
                policy=diagnostic.policyName,
                level=_PROTO_TO_LEVEL[diagnostic.enforcementLevel],
                severity=SEVERITY_NAMES[diagnostic.severity],
                urn=urn,
                type=types_by_urn.get(urn, ""),
                message=message,
                waiver=waiver,
            )
        )
    return found


def split_waiver(message: str) -> tuple[str, Waiver | None]:
    """A violation's own message and the waiver the pack appended to it, if any."""
    body, _, last = message.rpartition("\n")
    if not last.startswith(WAIVER_NOTE_PREFIX):
        return message, None
    note = json.loads(last.removeprefix(WAIVER_NOTE_PREFIX))
    return body, Waiver(**{field: str(note.get(field, "")) for field in Waiver.__dataclass_fields__})


def analyze(
    simulation: Simulation, config_file: Path | None = None, *, dry_run: bool = True, python: str = sys.executable
) -> PolicyReport:
    """Judge a simulated stack with the pack; `config_file` defaults to the stack environment's file."""
    identity = StackIdentity.of(simulation, dry_run=dry_run)
    with start_pack(identity, python=python) as pack:
        return judge(pack, identity, simulation, config_file)


def judge(
    pack: RunningPack, identity: StackIdentity, simulation: Simulation, config_file: Path | None = None
) -> PolicyReport:
    """Drive a started pack through the CLI's sequence for one simulated stack."""
    judging = Judging(pack, identity, config_for(simulation.environment, config_file))
    for resource in simulation.resources:
        judging.analyze(resource)
    return judging.finish()


class Judging:
    """One stack judged in the CLI's sequence, step by step, as the engine drives a pack through an update.

    Built once the stack's environment is known (Handshake, ConfigureStack, GetAnalyzerInfo, then
    Configure with the reconciled config); `analyze` sends one `Analyze` per resource, called as each
    registers; `finish` sends `AnalyzeStack` over every resource analyzed, with its outputs, and gives
    the report.
    """

    def __init__(self, pack: RunningPack, identity: StackIdentity, config: PolicyConfigFile) -> None:
        self.pack = pack
        pack.handshake()
        pack.configure_stack(identity)
        info = pack.info()
        effective = reconcile_config(info, config.entries, str(config.path))
        pack.configure(effective)
        self._report = PolicyReport(
            pack=info.name,
            version=pack_version(pack.pack_dir) or info.version,
            config_file=str(config.path) if config.entries is not None else None,
            config=effective,
            policies=tuple(
                _policy_info(policy, effective[policy.name]["enforcementLevel"])
                for policy in sorted(info.policies, key=lambda policy: policy.name)
            ),
            violations=(),
        )
        self._by_urn: dict[str, RecordedResource] = {}
        self._types_by_urn: dict[str, str] = {}
        self._violations: list[Violation] = []
        self._stack = analyzer_pb2.AnalyzeStackRequest()

    def analyze(self, resource: RecordedResource) -> None:
        """`Analyze` for one resource, as it registers (its provider registered before it); its entry in
        `AnalyzeStack` is made now too, so that only the call itself is left once the program ends."""
        self._by_urn[resource.urn] = resource
        self._types_by_urn[resource.urn] = resource.type
        response = self.pack.analyze(resource, self._by_urn)
        self._violations += violations_of(response, resource, self._types_by_urn)
        self._stack.resources.append(stack_resource(resource, self._by_urn))

    def finish(self) -> PolicyReport:
        """`AnalyzeStack` over every resource analyzed; the report of the whole judging."""
        response = self.pack.analyze_stack(self._stack)
        violations = [*self._violations, *violations_of(response, None, self._types_by_urn)]
        return replace(self._report, violations=tuple(violations))
