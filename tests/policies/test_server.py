"""The pack's server (`GuardAnalyzer`) answers exactly as pulumi-policy's own servicer does.

`GuardAnalyzer` overrides the SDK servicer's `Analyze` and `AnalyzeStack` to decode each request
once instead of once per policy. These tests send the same requests to both servicers (in process,
and as two pack processes over gRPC) and require identical responses: diagnostics with their levels,
messages and URNs, not-applicable reasons, preview (unknown value) handling, remediate and disabled
levels, asynchronous validations, secrets and provider inputs; except that no message of ours carries
a value the program marked secret, where the SDK's may.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from modelplane.offline.graph import SECRET_SIG, SECRET_SIG_KEY, RecordedResource, Simulation
from modelplane.offline.policy_client import (
    ENGINE_ADDRESS,
    StackIdentity,
    analyze_request,
    analyze_stack_request,
    configure_request,
    reconcile_config,
    start_pack,
)
from modelplane.offline.policy_config import load_policy_pack_config, policy_config_path
from policies.modelplane_guard import POLICIES
from policies.modelplane_guard.server import GuardAnalyzer, check_pack, redacted
from tests.graphs import recorded
from tests.policies.platform_program import Recorded
from tests.stacks import PACK_DIR, SimulateStack

pytestmark = pytest.mark.long

PACK = "modelplane-guard"
ENV = {"PULUMI_PROJECT": "modelplane", "PULUMI_STACK": "prod", "PULUMI_DRY_RUN": "true"}


def _leave_unchanged(args: ResourceValidationArgs) -> None:
    """A remediation that changes nothing: the policy has no validation of its own."""


async def _slow_check(args: ResourceValidationArgs, report: Any) -> None:
    await asyncio.sleep(0)
    if args.resource_type.startswith("aws:sns"):
        report("asynchronous finding")


def _stack_count(args: StackValidationArgs, report: Any) -> None:
    report(f"{len(args.resources)} resources, {sum(len(r.dependencies) for r in args.resources)} dependencies")


EDGE_POLICIES: list[Policy] = [
    ResourceValidationPolicy(name="remediation-only", description="Remediates only.", remediate=_leave_unchanged),
    ResourceValidationPolicy(name="asynchronous", description="Validates asynchronously.", validate=_slow_check),
    StackValidationPolicy(name="stack-shape", description="Counts the graph.", validate=_stack_count),
]


def servicers(policies: list[Policy]) -> tuple[_PolicyAnalyzerServicer, GuardAnalyzer]:
    sdk = _PolicyAnalyzerServicer(PACK, "0.0.1", policies, EnforcementLevel.ADVISORY)
    return sdk, GuardAnalyzer(PACK, policies, EnforcementLevel.ADVISORY)


def configured(
    policies: list[Policy], environment: str, **levels: str
) -> tuple[_PolicyAnalyzerServicer, GuardAnalyzer]:
    pair = servicers(policies)
    info = pair[0].GetAnalyzerInfo(empty_pb2.Empty(), None)
    effective = reconcile_config(info, load_policy_pack_config(policy_config_path(environment)))
    for name, level in levels.items():
        effective[name.replace("_", "-")]["enforcementLevel"] = level
    stack = analyzer_pb2.AnalyzerStackConfigureRequest(stack="prod", project="modelplane", tags={"team": "ml"})
    for servicer in pair:
        servicer.ConfigureStack(stack, None)
        servicer.Configure(configure_request(effective), None)
    return pair


@pytest.fixture(autouse=True)
def pulumi_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="module")
def prod(simulate_stack: SimulateStack, recorded_programs: Callable[[str], Recorded]) -> Simulation:
    """The prod graph with a platform team's resources next to it: every type the named rules judge, and
    the held-out-style program's types and custom resources that only the rules by property and by
    shape reach."""
    simulation = simulate_stack("prod")
    _, platform = recorded_programs("platform")
    _, breadth = recorded_programs("breadth")
    resources = [*simulation.resources, *platform, *breadth]
    return Simulation(simulation.project, "prod", "prod", simulation.stack_file, resources)


def edge_resources() -> list[RecordedResource]:
    """What the shipped stacks do not contain: unknowns, secrets, an explicit provider, odd shapes."""
    provider = recorded(
        "pulumi:providers:aws", "aws-prod", {"region": "eu-west-1", "defaultTags": {"tags": {"owner": "o"}}}
    )
    return [
        provider,
        recorded("aws:sagemaker/model:Model", "preview", {"vpcConfig": UNKNOWN_STRING_VALUE, "tags": {}}),
        recorded(
            "aws:sagemaker/model:Model",
            "secret-env",
            {
                "primaryContainer": {
                    "image": "x",
                    "environment": {"API_TOKEN": {SECRET_SIG_KEY: SECRET_SIG, "value": "s3cr3t"}},
                }
            },
        ),
        recorded("aws:sns/topic:Topic", "topic", {"kmsMasterKeyId": "alias/aws/sns"}, provider=f"{provider.urn}::id"),
        recorded("aws:kms/key:Key", "key", {"enableKeyRotation": False}),
        recorded("aws:iam/policy:Policy", "unreadable", {"policy": "{not json"}),
    ]


def test_analyze_answers_as_the_sdk(prod: Simulation) -> None:
    """Every resource of the corpus, under the prod config: each rule's findings, resource by resource."""
    sdk, guard = configured([*POLICIES, *EDGE_POLICIES], "prod")
    resources = [*prod.resources, *edge_resources()]
    by_urn = {resource.urn: resource for resource in resources}
    compared = 0
    for resource in resources:
        request = analyze_request(resource, by_urn)
        expected = sdk.Analyze(request, None)
        assert guard.Analyze(request, None) == expected, resource.urn
        compared += len(expected.diagnostics) + len(expected.not_applicable)
    assert compared > len(resources), "the corpus exercises diagnostics and not-applicable answers"


def one_per_finding(
    guard: GuardAnalyzer, resources: list[RecordedResource], by_urn: dict[str, RecordedResource]
) -> list[RecordedResource]:
    """The first resource to draw each (policy, level) diagnostic and each not-applicable policy, in order."""
    seen: set[tuple[str, int]] = set()
    chosen = []
    for resource in resources:
        answer = guard.Analyze(analyze_request(resource, by_urn), None)
        kinds = {(diagnostic.policyName, diagnostic.enforcementLevel) for diagnostic in answer.diagnostics}
        kinds |= {(reason.policy_name, -1) for reason in answer.not_applicable}
        if not kinds <= seen:
            seen |= kinds
            chosen.append(resource)
    return chosen


@pytest.mark.parametrize(
    ("environment", "levels"),
    [("dev", {}), ("prod", {"kms_key_rotation": "remediate", "required_tags": "disabled"})],
    ids=["dev", "remediate-and-disabled"],
)
def test_analyze_applies_each_configs_levels_as_the_sdk(
    prod: Simulation, environment: str, levels: dict[str, str]
) -> None:
    """Another config changes each policy's level (or disables it, or makes it remediate), not what its rule
    finds, which the prod config's test compares resource by resource. So one resource for each policy and
    level the config yields is enough here, and spares the SDK's servicer, which decodes each request once per
    policy, 500 resources per config."""
    sdk, guard = configured([*POLICIES, *EDGE_POLICIES], environment, **levels)
    resources = [*prod.resources, *edge_resources()]
    by_urn = {resource.urn: resource for resource in resources}
    chosen = one_per_finding(guard, resources, by_urn)
    policies = set()
    for resource in chosen:
        request = analyze_request(resource, by_urn)
        expected = sdk.Analyze(request, None)
        assert guard.Analyze(request, None) == expected, resource.urn
        policies |= {diagnostic.policyName for diagnostic in expected.diagnostics}
    assert len(policies) > 40, "the config's levels are compared on most policies"
    if levels:
        assert "required-tags" not in policies, "a disabled policy reports nothing"


@pytest.mark.parametrize("environment", ["prod", "dev"])
def test_analyze_stack_answers_as_the_sdk(prod: Simulation, environment: str) -> None:
    sdk, guard = configured([*POLICIES, *EDGE_POLICIES], environment)
    request = analyze_stack_request([*prod.resources, *edge_resources()])
    expected = sdk.AnalyzeStack(request, None)
    assert guard.AnalyzeStack(request, None) == expected
    assert any(diagnostic.policyName == "stack-shape" for diagnostic in expected.diagnostics)


SECRET_IMAGE = "registry.example.com/acme/private-scorer:4.1.0"
SECRET_URL = "http://collector.example.com/ingest/k-8f2b1c9e7d6a"


def secret_bearers() -> list[RecordedResource]:
    """Resources whose insecure values the program marked secret: one that a rule by property shows
    (`_shown`), one that a named rule formats itself (an image reference)."""
    return [
        recorded(
            "aws:sagemaker/model:Model",
            "secret-image",
            {"primaryContainer": {"image": {SECRET_SIG_KEY: SECRET_SIG, "value": SECRET_IMAGE}}, "tags": {}},
        ),
        recorded(
            "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
            "secret-url",
            {
                "destination": "http_endpoint",
                "httpEndpointConfiguration": {"url": {SECRET_SIG_KEY: SECRET_SIG, "value": SECRET_URL}},
            },
        ),
    ]


def test_no_message_carries_a_value_the_program_marked_secret() -> None:
    """Where the answers differ from the SDK's, on purpose: its servicer hands rules secret values
    unmarked, so a message may echo one into the preview's output and the service's records. Ours marks
    secret strings (`[secret]` in messages) and takes every secret value out of the messages whatever
    path echoed it."""
    sdk, guard = configured(POLICIES, "prod")
    by_urn = {resource.urn: resource for resource in secret_bearers()}
    for resource, value in zip(secret_bearers(), (SECRET_IMAGE, SECRET_URL), strict=True):
        request = analyze_request(resource, by_urn)
        leaked = [diagnostic.message for diagnostic in sdk.Analyze(request, None).diagnostics]
        kept = [diagnostic.message for diagnostic in guard.Analyze(request, None).diagnostics]
        assert any(value in message for message in leaked), "the SDK's servicer echoes it"
        assert not any(value in message for message in kept)
        assert any("[secret]" in message for message in kept)
        assert len(kept) == len(leaked), "the same findings, only the value hidden"


def test_a_secret_switch_state_blanks_no_message() -> None:
    """A provider marks a whole map secret (a Glue connection's properties, with `JDBC_ENFORCE_SSL: "true"`):
    its secret values are taken out of every message, but not "true", which would blank each "is true"."""
    secrets = frozenset({"true", "FALSE", "s3cr3t-p4ss"})
    assert redacted("blockPublicPolicy is true; the password s3cr3t-p4ss is inline.", secrets) == (
        "blockPublicPolicy is true; the password [secret] is inline."
    )


def test_metadata_and_remediation_are_the_sdks_own(prod: Simulation) -> None:
    sdk, guard = configured([*POLICIES, *EDGE_POLICIES], "prod")
    assert guard.GetAnalyzerInfo(empty_pb2.Empty(), None) == sdk.GetAnalyzerInfo(empty_pb2.Empty(), None)
    request = analyzer_pb2.AnalyzeRequest(type="aws:sns/topic:Topic", urn="urn:x", name="x")
    assert guard.Remediate(request, None) == sdk.Remediate(request, None)


def test_pack_arguments_are_checked_like_the_sdks() -> None:
    with pytest.raises(TypeError, match="Invalid policy pack name"):
        check_pack("modelplane guard", POLICIES)
    with pytest.raises(TypeError, match="non-empty list of policies"):
        check_pack(PACK, [])
    with pytest.raises(TypeError, match="unique: kms-key-rotation"):
        check_pack(PACK, [*POLICIES, next(policy for policy in POLICIES if policy.name == "kms-key-rotation")])


# --- over gRPC: the SDK's own PolicyPack and this pack's server, started as the CLI starts them ------


@pytest.fixture(scope="module")
def sdk_pack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the pack whose entry point is the SDK's `PolicyPack(...)`, for comparison."""
    directory = tmp_path_factory.mktemp("sdk-pack") / "policies"
    shutil.copytree(PACK_DIR, directory, ignore=shutil.ignore_patterns("__pycache__", "venv"))
    (directory / "__main__.py").write_text(
        "from modelplane_guard import POLICIES\n"
        "from pulumi_policy import EnforcementLevel, PolicyPack\n"
        f"PolicyPack({PACK!r}, policies=POLICIES, enforcement_level=EnforcementLevel.ADVISORY,\n"
        "           description='Security and reliability guardrails for ML deployments on SageMaker and Kubernetes.')\n",
        encoding="utf-8",
    )
    return directory


def responses(pack_dir: Path, stack: Simulation) -> Iterator[Any]:
    identity = StackIdentity("modelplane", "prod", {"modelplane:environment": "prod"})
    with start_pack(identity, pack_dir) as pack:
        pack.handshake()
        pack.configure_stack(identity)
        info = pack.info()
        yield info
        pack.configure(reconcile_config(info, load_policy_pack_config(policy_config_path("prod"))))
        by_urn = {resource.urn: resource for resource in stack.resources}
        for resource in [*stack.resources, *edge_resources()]:
            yield pack.analyze(resource, by_urn)
        yield pack.analyze_stack(stack.resources)


def test_the_served_pack_answers_as_the_sdks_policy_pack(simulate_stack: SimulateStack, sdk_pack_dir: Path) -> None:
    """Over gRPC, on the shipped prod stack and the edge resources. What only the served packs can differ
    in is their entry points (the arguments `serve` and the SDK's `PolicyPack` give the servicer: the
    analyzer info shows them, policies and levels included), the wire and the CLI's sequence; rule by rule
    and resource by resource, the same servicers answer the platform teams' programs alike under the same
    prod config in `test_analyze_answers_as_the_sdk[prod]` (which this test would only repeat, at the cost
    of the SDK's servicer judging 330 more resources in a process of its own)."""
    assert os.environ["PULUMI_STACK"] == "prod"
    shipped = simulate_stack("prod")
    ours = list(responses(PACK_DIR, shipped))
    theirs = list(responses(sdk_pack_dir, shipped))
    assert len(ours) == len(theirs) == len(shipped.resources) + len(edge_resources()) + 2
    for index, (mine, expected) in enumerate(zip(ours, theirs, strict=True)):
        assert mine == expected, f"response {index} differs"
    assert any(response.diagnostics for response in ours[1:]), "the comparison covers diagnostics"


def test_the_pack_stops_on_sigint_even_when_started_with_it_ignored() -> None:
    """A script's background job (`modelplane plan ... &`) starts every process with SIGINT ignored; the pack
    still stops, cleanly, when it is sent SIGINT."""
    command = shlex.join([sys.executable, "-u", "-m", "pulumi.policy", ENGINE_ADDRESS, "."])
    # `trap '' INT` ignores SIGINT, and a signal ignored stays ignored across exec, as in a background job.
    pack = subprocess.Popen(
        ["sh", "-c", f"trap '' INT; exec {command}"], cwd=PACK_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert pack.stdout is not None
        assert pack.stdout.readline().strip().isdigit(), "the pack reports its port"
        pack.send_signal(signal.SIGINT)
        assert pack.wait(timeout=10) == 0, pack.stderr.read() if pack.stderr else ""
    finally:
        pack.kill()
        pack.wait()
