"""The `local` stack talks to the emulator only: one explicit AWS provider whose endpoints are all on
loopback, with fake credentials and AWS's account checks off, and every AWS resource bound to it for a
service that provider overrides (a service without an override would reach the real AWS)."""

from __future__ import annotations

import inspect
import ipaddress
import json
from typing import Any
from urllib.parse import urlparse

import pulumi_aws as aws
import pytest

from modelplane.offline.graph import RecordedResource, Simulation, reveal
from tests.stacks import SimulateStack, settings_of

# The provider endpoint key serving each pulumi-aws module the program uses.
ENDPOINT_KEY_BY_MODULE = {
    "appautoscaling": "applicationautoscaling",
    "athena": "athena",
    "cloudwatch": "cloudwatch",
    "ecr": "ecr",
    "glue": "glue",
    "iam": "iam",
    "kms": "kms",
    "s3": "s3",
    "sagemaker": "sagemaker",
    "secretsmanager": "secretsmanager",
    "sns": "sns",
}
# Resources whose module is not the service that serves them.
ENDPOINT_KEY_BY_TYPE = {"aws:cloudwatch/logGroup:LogGroup": "logs"}
# Provider switches an emulator needs: no STS/IMDS/region lookups, path-style S3 URLs.
EMULATOR_FLAGS = (
    "skipCredentialsValidation",
    "skipMetadataApiCheck",
    "skipRequestingAccountId",
    "skipRegionValidation",
    "s3UsePathStyle",
)


def endpoint_key(type_token: str) -> str | None:
    module = type_token.split(":")[1].split("/", maxsplit=1)[0]
    return ENDPOINT_KEY_BY_TYPE.get(type_token, ENDPOINT_KEY_BY_MODULE.get(module))


@pytest.fixture(scope="module")
def local(simulate_stack: SimulateStack) -> Simulation:
    return simulate_stack("local")


@pytest.fixture(scope="module")
def provider(local: Simulation) -> RecordedResource:
    return local.one("pulumi:providers:aws")


def provider_inputs(provider: RecordedResource) -> dict[str, Any]:
    """The provider's inputs; the engine hands a provider its structured inputs as JSON strings."""
    return reveal(provider.inputs)


def endpoint_urls(provider: RecordedResource) -> dict[str, str]:
    (urls,) = json.loads(provider_inputs(provider)["endpoints"])
    return urls


def test_the_only_provider_is_aws_aimed_at_the_emulator(local: Simulation, provider: RecordedResource) -> None:
    assert [r.name for r in local.resources if r.type.startswith("pulumi:providers:")] == [provider.name]
    emulator = settings_of("local").local_emulator
    assert emulator is not None
    urls = endpoint_urls(provider)
    assert set(urls) <= set(inspect.signature(aws.ProviderEndpointArgs.__init__).parameters), "pulumi-aws keys"
    assert set(urls.values()) == {emulator.endpoint_url}
    for url in urls.values():
        parsed = urlparse(url)
        assert parsed.scheme == "http"
        assert parsed.hostname is not None
        assert ipaddress.ip_address(parsed.hostname).is_loopback


def test_the_provider_never_uses_real_credentials_or_account_lookups(provider: RecordedResource) -> None:
    inputs = provider_inputs(provider)
    assert (inputs["accessKey"], inputs["secretKey"]) == ("testing", "testing")
    assert {flag: inputs.get(flag) for flag in EMULATOR_FLAGS} == dict.fromkeys(EMULATOR_FLAGS, "true")


def test_every_aws_resource_uses_the_emulator_provider_for_an_overridden_service(
    local: Simulation, provider: RecordedResource
) -> None:
    aws_resources = [r for r in local.resources if r.custom and r.type.startswith("aws:")]
    assert "aws:sagemaker/endpoint:Endpoint" in {r.type for r in aws_resources}

    assert [r.urn for r in aws_resources if not r.provider.startswith(f"{provider.urn}::")] == []
    urls = endpoint_urls(provider)
    assert sorted({r.type for r in aws_resources if endpoint_key(r.type) not in urls}) == []
