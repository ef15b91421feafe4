"""The pack's analyzer server: the SDK's own, decoding each request once and applying waivers.

pulumi-policy 1.21's servicer (`pulumi_policy.policy._PolicyAnalyzerServicer`) decodes a request's
properties, and its provider's, inside its loop over the policies: an `Analyze` call decodes the
resource once per resource policy, and an `AnalyzeStack` call decodes every resource once per stack
policy; it also looks up each policy's level and config, and builds its arguments, for every
resource. With this pack's size that is most of the time the pack spends (profile in
docs/performance.md). `GuardAnalyzer` is a subclass that overrides only `Analyze`, `AnalyzeStack`
and, to prepare them, `Configure` and `ConfigureStack`:
- it decodes each request once, and works out each policy's level and config once per Configure;
- it calls a resource policy only for the resource types it judges: those its `resource:` tags name,
  or, for a rule by property or by shape (`ReachingPolicy`), those its `reaches` accepts (every rule
  here returns at once for any other type, so the answer is the same); which policies judge a type is
  worked out once per type and Configure;
- it keeps secrets out of messages: the engine sends secret values marked and the SDK unwraps them
  unmarked (pulumi/pulumi-policy#163, #241), so a rule that shows a value could print a password into
  the preview's output. Secret strings reach the rules as `SecretText` (shown as `[secret]`), and any
  secret value a message still carries is replaced by `[secret]`;
- otherwise it runs the policies exactly as the SDK does: same enforcement levels, same
  diagnostics, same not-applicable and preview handling. `tests/policies/test_server.py` sends the
  same requests to both servicers, in process and over gRPC, and requires identical answers (but for
  a secret value in a message).

It also applies waivers (`waivers.py`): a violation that a valid waiver in the `policy-waivers`
config covers is sent as advisory, with the waiver appended to its message. The engine decides
pass or fail from each diagnostic's own level, so this holds under the Pulumi CLI as it does in
`modelplane plan`.

`serve` replaces `PolicyPack(...)`, whose constructor builds the SDK's servicer itself: it checks the
same arguments and starts the gRPC server the way the SDK does (thread pool, message size limit,
port on the first stdout line, stop on interrupt).
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass
from inspect import isawaitable
from types import MappingProxyType
from typing import Any

import grpc
from google.protobuf import json_format
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, deserialize_properties
from pulumi_policy.policy import _POLICY_PACK_NAME_RE, _NotApplicableError, _PolicyAnalyzerServicer
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from .common import RESOURCE_TAG_PREFIX, SECRET_SHOWN, UNKNOWN_VALUES, ReachingPolicy, SecretText, scalar_text
from .waivers import WAIVER_POLICY, WaiverBook, today

# What the SDK reports as the pack's version; the CLI shows the one in PulumiPolicy.yaml instead.
SDK_REPORTED_VERSION = "0.0.1"
# The SDK's gRPC settings: a 400 MB receive limit (a large stack in one AnalyzeStack), four threads.
MAX_MESSAGE_BYTES = 400 * 1024 * 1024
SERVER_THREADS = 4


# How the engine marks a secret value in a request (pulumi/pulumi `sdk/go/common/resource/properties.go`).
SECRET_MARK = SPECIAL_SECRET_SIG.encode()
# Secrets shorter than this are left in messages (a one-character secret would blank every message).
SHORTEST_REDACTED = 3
# Nor are a switch's states hidden: a provider marks whole maps secret (a Glue connection's properties), and
# their `"true"` would blank every "is true" of the stack's messages while telling nothing.
NEVER_REDACTED = frozenset({"true", "false"})


def decoded(properties: Any) -> tuple[Any, frozenset[str]]:
    """A request's properties as the SDK hands them to policies (plain values behind read-only,
    unknown-checking proxies, secrets unwrapped), except that secret strings are `SecretText`, which
    messages show as `[secret]`; and the texts of all its secret values, which no message may carry."""
    raw = json_format.MessageToDict(properties)
    secrets: set[str] = set()
    if SECRET_MARK in properties.SerializeToString():  # most requests carry none: no second walk
        raw = _mark_secrets(raw, False, secrets)
    return unknown_checking_proxy(deserialize_properties(raw)), frozenset(secrets)


def _mark_secrets(value: Any, secret: bool, found: set[str]) -> Any:
    """The decoded JSON with each secret unwrapped, its strings marked and every secret scalar's text kept."""
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG_KEY) == SPECIAL_SECRET_SIG:
            return _mark_secrets(value.get("value"), True, found)
        return {key: _mark_secrets(item, secret, found) for key, item in value.items()}
    if isinstance(value, list):
        return [_mark_secrets(item, secret, found) for item in value]
    if not secret or value is None or value in UNKNOWN_VALUES:
        return value
    found.add(scalar_text(value))
    return SecretText(value) if isinstance(value, str) else value


def redacted(message: str, secrets: frozenset[str]) -> str:
    """A message without any secret value of the resources it concerns, whatever path echoed it."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= SHORTEST_REDACTED and secret.lower() not in NEVER_REDACTED and secret in message:
            message = message.replace(secret, SECRET_SHOWN)
    return message


@dataclass(frozen=True)
class ResourceTypes:
    """The resource types a policy's `resource:` tags name: tokens, `<provider>:*`, or `*`."""

    tokens: frozenset[str]
    prefixes: tuple[str, ...]

    @classmethod
    def of(cls, policy: Policy) -> ResourceTypes | None:
        """None when the tags name no type or all of them: the policy must see every resource."""
        named = [
            tag.removeprefix(RESOURCE_TAG_PREFIX) for tag in policy.tags or [] if tag.startswith(RESOURCE_TAG_PREFIX)
        ]
        if not named or "*" in named:
            return None
        prefixes = tuple(token[:-1] for token in named if token.endswith("*"))
        return cls(frozenset(token for token in named if not token.endswith("*")), prefixes)

    def include(self, resource_type: str) -> bool:
        return resource_type in self.tokens or resource_type.startswith(self.prefixes)


@dataclass(frozen=True)
class Enforced:
    """A policy that runs, with what the SDK would look up for it on every call."""

    policy: Policy
    level: EnforcementLevel
    """The level its violations carry: a remediate level reports mandatory, as the SDK reports it."""
    config: Mapping[str, Any]
    """Its configuration, read-only (the SDK hands each call a copy of the same values)."""
    validates: bool
    """False for a resource policy that only remediates, which the SDK reports not applicable."""
    types: ResourceTypes | None
    """The types it judges (its `resource:` tags), or None for every type."""

    def judges(self, resource_type: str) -> bool:
        if isinstance(self.policy, ReachingPolicy):
            return self.policy.reaches(resource_type)
        return self.types is None or self.types.include(resource_type)


class GuardAnalyzer(_PolicyAnalyzerServicer):
    """The SDK's analyzer servicer with `Analyze` and `AnalyzeStack` decoding each request once.

    Every policy sees the same decoded, read-only properties; this pack's policies only read them.
    """

    def __init__(self, name: str, policies: Sequence[Policy], enforcement_level: EnforcementLevel, **details: Any):
        super().__init__(name, SDK_REPORTED_VERSION, list(policies), enforcement_level, **details)
        self._pack_name = name
        self._policies = list(policies)
        self._stack_tags: MappingProxyType[str, str] = MappingProxyType({})
        self._waivers = WaiverBook.empty()
        self._runtime_configured = False
        self._enforce()

    # --- configuration: the SDK's, remembering what the overridden methods need ---------------

    def Configure(self, request: analyzer_pb2.ConfigureAnalyzerRequest, context: Any) -> Any:  # noqa: N802
        response = super().Configure(request, context)
        properties = (
            json_format.MessageToDict(request.policyConfig[WAIVER_POLICY].properties)
            if WAIVER_POLICY in request.policyConfig
            else {}
        )
        self._waivers = WaiverBook.from_config(properties, self._policies, today())
        self._enforce()
        return response

    def ConfigureStack(self, request: analyzer_pb2.AnalyzerStackConfigureRequest, context: Any) -> Any:  # noqa: N802
        self._stack_tags = MappingProxyType(dict(request.tags))
        return super().ConfigureStack(request, context)

    def _enforce(self) -> None:
        """Each enabled policy with its level and config, in pack order, as of the last Configure."""
        enforced: list[Enforced] = []
        for policy in self._policies:
            level = self._get_enforcement_level(policy)
            if level == EnforcementLevel.DISABLED:
                continue
            if level == EnforcementLevel.REMEDIATE:
                # A remediation cannot run here, and a stack policy cannot remediate.
                level = EnforcementLevel.MANDATORY
            config = MappingProxyType(self._get_policy_config(policy.name) or {})
            validates = not isinstance(policy, ResourceValidationPolicy) or policy.has_validation()
            enforced.append(Enforced(policy, level, config, validates, ResourceTypes.of(policy)))
        self._resource_policies = [entry for entry in enforced if isinstance(entry.policy, ResourceValidationPolicy)]
        self._stack_policies = [entry for entry in enforced if isinstance(entry.policy, StackValidationPolicy)]
        self._by_type: dict[str, list[Enforced]] = {}

    def _judging(self, resource_type: str) -> list[Enforced]:
        """The resource policies that run for a type (and those that only remediate), found once per type.

        Concurrent calls may both fill the entry; they compute the same list."""
        found = self._by_type.get(resource_type)
        if found is None:
            found = [entry for entry in self._resource_policies if not entry.validates or entry.judges(resource_type)]
            self._by_type[resource_type] = found
        return found

    def _configure_runtime_once(self) -> None:
        """The SDK sets Pulumi's runtime settings from the environment on every call; they cannot
        change within the process, so once is enough (the SDK's version inspects signatures each time)."""
        if not self._runtime_configured:
            self._configure_runtime_settings()
            self._runtime_configured = True

    # --- analysis -----------------------------------------------------------------------------

    def Analyze(self, request: analyzer_pb2.AnalyzeRequest, context: Any) -> analyzer_pb2.AnalyzeResponse:  # noqa: N802
        self._configure_runtime_once()
        response = analyzer_pb2.AnalyzeResponse()
        props, secrets = decoded(request.properties)
        opts = self._get_resource_options(request)
        provider = self._get_provider_resource(request)
        for entry in self._judging(request.type):
            if not entry.validates:
                response.not_applicable.append(
                    analyzer_pb2.PolicyNotApplicable(
                        policy_name=entry.policy.name, reason="Policy does not implement validate"
                    )
                )
                continue
            args = ResourceValidationArgs(
                request.type, props, request.urn, request.name, opts, provider, entry.config, self._stack_tags
            )
            self._run(entry, args, response, secrets, request.urn)
        return response

    def AnalyzeStack(  # noqa: N802
        self, request: analyzer_pb2.AnalyzeStackRequest, context: Any
    ) -> analyzer_pb2.AnalyzeResponse:
        self._configure_runtime_once()
        response = analyzer_pb2.AnalyzeResponse()
        resources, secrets = self._stack_resources(request) if self._stack_policies else ([], frozenset())
        for entry in self._stack_policies:
            self._run(entry, StackValidationArgs(resources, entry.config, self._stack_tags), response, secrets)
        return response

    def _stack_resources(
        self, request: analyzer_pb2.AnalyzeStackRequest
    ) -> tuple[list[PolicyResource], frozenset[str]]:
        """Every resource decoded once, linked to its parent and dependencies as the SDK links them, and
        the texts of the stack's secret values."""
        resources = []
        secrets: set[str] = set()
        for resource in request.resources:
            props, found = decoded(resource.properties)
            secrets |= found
            resources.append(
                PolicyResource(
                    resource.type,
                    props,
                    resource.urn,
                    resource.name,
                    self._get_resource_options(resource),
                    self._get_provider_resource(resource),
                    None,
                    [],
                    {},
                )
            )
        by_urn = {resource.urn: resource for resource in resources}
        for resource, raw in zip(resources, request.resources, strict=True):
            if raw.parent in by_urn:
                resource.parent = by_urn[raw.parent]
            resource.dependencies.extend(by_urn[urn] for urn in raw.dependencies if urn in by_urn)
            for prop, dependencies in raw.propertyDependencies.items():
                resource.property_dependencies[prop] = [by_urn[urn] for urn in dependencies.urns if urn in by_urn]
        return resources, frozenset(secrets)

    def _run(
        self,
        entry: Enforced,
        args: ResourceValidationArgs | StackValidationArgs,
        response: analyzer_pb2.AnalyzeResponse,
        secrets: frozenset[str],
        resource_urn: str = "",
    ) -> None:
        """One policy's validation, with the SDK's handling of levels, unknowns and not-applicable.

        A violation on a resource (the analyzed one, or the URN a stack policy names) that a waiver
        covers is reported as advisory, with the waiver on the message's last line. No message carries
        a value the program marked secret.
        """
        policy, level = entry.policy, entry.level

        def report(message: str, urn: str | None = None) -> None:
            if message and not isinstance(message, str):
                raise TypeError("Expected message to be a string")
            if secrets and message:
                message = redacted(message, secrets)
            waiver = self._waivers.find(policy.name, urn or resource_urn)
            if waiver is not None:
                note = waiver.note(level.value)
                message = f"{message}\n{note}" if message else note
            sent = level if waiver is None else EnforcementLevel.ADVISORY
            self._create_report_violation(response, policy.name, policy.description, sent, policy.severity)(
                message, urn
            )

        try:
            result = policy.validate(args, report)  # type: ignore[arg-type]  # args match the policy's kind
            if result is not None and isawaitable(result):
                loop = asyncio.new_event_loop()
                try:
                    loop.run_until_complete(result)
                finally:
                    loop.close()
        except UnknownValueError as error:
            response.diagnostics.append(
                analyzer_pb2.AnalyzeDiagnostic(
                    policyName=policy.name,
                    policyPackName=self._pack_name,
                    policyPackVersion=SDK_REPORTED_VERSION,
                    message=(
                        f"can't run policy '{policy.name}' from policy pack "
                        f"'{self._pack_name}@v{SDK_REPORTED_VERSION}' during preview: {error.message}"
                    ),
                    urn="",
                    description=policy.description,
                    enforcementLevel=analyzer_pb2.ADVISORY,
                )
            )
        except _NotApplicableError as error:
            response.not_applicable.append(
                analyzer_pb2.PolicyNotApplicable(policy_name=policy.name, reason=error.reason or "")
            )


def check_pack(name: str, policies: Sequence[Policy]) -> None:
    """The checks `PolicyPack(...)` makes of its arguments, and unique policy names (config is keyed by them)."""
    if _POLICY_PACK_NAME_RE.match(name) is None:
        raise TypeError(f"Invalid policy pack name {name!r}: only alphanumerics, hyphens, underscores and periods.")
    if not policies or not all(isinstance(policy, Policy) for policy in policies):
        raise TypeError("Expected policies to be a non-empty list of policies")
    names = [policy.name for policy in policies]
    duplicates = sorted({policy_name for policy_name in names if names.count(policy_name) > 1})
    if duplicates:
        raise TypeError(f"Policy names must be unique: {', '.join(duplicates)}")


def serve(
    name: str, policies: list[Policy], enforcement_level: EnforcementLevel, description: str
) -> None:  # pragma: no cover - blocks; exercised through the gRPC contract tests
    """Serve the pack until interrupted, as `PolicyPack(...)` does but with `GuardAnalyzer`."""
    check_pack(name, policies)
    # The CLI (and `modelplane plan`) stops the pack with SIGINT, then kills it. A pack started with SIGINT
    # ignored, as every command of a script's background job is, would wait out that grace and be killed.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    servicer = GuardAnalyzer(name, policies, enforcement_level, description=description)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=SERVER_THREADS),
        options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)],
    )
    analyzer_pb2_grpc.add_AnalyzerServicer_to_server(servicer, server)
    port = server.add_insecure_port(address="127.0.0.1:0")
    server.start()
    # What start-up built (the SDK, gRPC, the rules) lives as long as the process: frozen, it is left out of
    # every garbage collection, the one at exit included, which makes stopping the pack ten times faster.
    gc.freeze()
    try:
        # Announced inside the `try`: whoever reads the port may interrupt the pack at once.
        sys.stdout.buffer.write(f"{port}\n".encode())
        sys.stdout.buffer.flush()
        while True:
            time.sleep(24 * 60 * 60)
    except KeyboardInterrupt:
        server.stop(0)
