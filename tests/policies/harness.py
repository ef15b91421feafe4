"""The shared harness of the policy tests: resources as a rule sees them, the cases that run them, and
compliant building blocks.

A case's inputs go through the same conversion as over gRPC (a protobuf Struct, so numbers become
floats, then the SDK's read-only unknown-checking proxies, secret strings marked as the pack's server
marks them), and its policy gets its config as the CLI would send it: schema defaults with the case's overrides on top. Each rule module's tests
(`test_<module>.py`, mirroring `policies/modelplane_guard/<module>.py`) list their cases and check that
every rule of the module has a compliant and a violating one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_STRING_VALUE, UnknownValueError

from policies.modelplane_guard import POLICIES
from policies.modelplane_guard.common import NOT_PRODUCTION
from policies.modelplane_guard.server import decoded

BY_NAME: dict[str, Policy] = {policy.name: policy for policy in POLICIES}


ACCOUNT = "123456789012"


KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


TOPIC_ARN = f"arn:aws:sns:eu-west-1:{ACCOUNT}:alarms-1a2b3c4"


IMAGE = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/fraud-detector:2.3.1"


SECRET_ARN = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:feature-store-token-abc123"


TAGS = {"owner": "ml@example.com", "cost-center": "cc-1", "data-classification": "internal", "environment": "dev"}


NOT_APPLICABLE = ["<not applicable>"]


# What the engine sends during preview for values it does not know yet (an output of another resource).
UNKNOWN = UNKNOWN_STRING_VALUE
UNKNOWN_BOOLEAN = UNKNOWN_BOOLEAN_VALUE
# How a case records that its rule raised for an unknown value: the SDK then reports, as advisory,
# "can't run policy ... during preview: <what>"; the findings reported before it stand.
PREVIEW = "<preview> "


DELETE = object()


@dataclass(frozen=True)
class Res:
    """A resource as a policy sees it; `depends` maps a property to the logical names it depends on."""

    type: str
    name: str
    props: dict[str, Any]
    protect: bool = False
    delete_before_replace: bool | None = None
    depends: dict[str, list[str]] = field(default_factory=dict)
    provider_props: dict[str, Any] | None = None

    @property
    def urn(self) -> str:
        return f"urn:pulumi:test::modelplane::{self.type}::{self.name}"


@dataclass(frozen=True)
class Case:
    policy: str
    id: str
    resources: list[Res]
    expected: list[str]
    """Exact messages; stack rules' messages are prefixed with `<logical name>: ` of the reported URN."""
    config: dict[str, Any] = field(default_factory=dict)


def wire(value: dict[str, Any]) -> Any:
    """As the pack's server hands properties to a rule: through a protobuf Struct, then the SDK's
    decoding and proxies, with the strings the program marked secret (`secret(...)`) marked so."""
    return decoded(json_format.ParseDict(value, struct_pb2.Struct()))[0]


def secret(value: Any) -> dict[str, Any]:
    """A value the program marked secret, as the engine sends it."""
    return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": value}


def patched(value: dict[str, Any], path: str, new: Any) -> dict[str, Any]:
    """A deep copy with `path` (dots, list indexes as numbers) set to `new`, or removed for DELETE."""
    result = copy.deepcopy(value)
    *parents, last = path.split(".")
    node: Any = result
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(last)] = new
    elif new is DELETE:
        node.pop(last, None)
    else:
        node[last] = new
    return result


def effective_config(policy: Policy, overrides: dict[str, Any]) -> Any:
    schema = policy.config_schema.properties if policy.config_schema else {}
    defaults = {key: prop["default"] for key, prop in schema.items() if "default" in prop}
    return wire({**defaults, **overrides})


def options(resource: Res) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        resource.protect, [], resource.delete_before_replace, [], PolicyCustomTimeouts(0, 0, 0), []
    )


def provider(resource: Res) -> PolicyProviderResource | None:
    if resource.provider_props is None:
        return None
    return PolicyProviderResource("pulumi:providers:test", wire(resource.provider_props), "urn:provider", "provider")


def run(case: Case) -> list[str]:
    policy = BY_NAME[case.policy]
    config = effective_config(policy, case.config)
    found: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append(f"{urn.rsplit('::', 1)[-1]}: {message}" if urn else message)

    try:
        if isinstance(policy, ResourceValidationPolicy):
            (resource,) = case.resources
            args = ResourceValidationArgs(
                resource.type,
                wire(resource.props),
                resource.urn,
                resource.name,
                options(resource),
                provider(resource),
                config,
            )
            policy.validate(args, report)
        else:
            assert isinstance(policy, StackValidationPolicy)
            policy.validate(StackValidationArgs(stack_resources(case.resources), config), report)
    except _NotApplicableError as error:
        assert error.reason == NOT_PRODUCTION or "serverless" in (error.reason or "")
        return NOT_APPLICABLE
    except UnknownValueError as error:
        found.append(f"{PREVIEW}{error.message}")
    return found


def stack_resources(resources: list[Res]) -> list[PolicyResource]:
    built = {
        resource.name: PolicyResource(
            resource.type,
            wire(resource.props),
            resource.urn,
            resource.name,
            options(resource),
            provider(resource),
            None,
            [],
            {},
        )
        for resource in resources
    }
    for resource in resources:
        for prop, names in resource.depends.items():
            built[resource.name].property_dependencies[prop] = [built[name] for name in names]
            built[resource.name].dependencies.extend(built[name] for name in names)
    return list(built.values())


MODEL = "aws:sagemaker/model:Model"


ENDPOINT = "aws:sagemaker/endpoint:Endpoint"


ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def model() -> dict[str, Any]:
    return {
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/fraud-role",
        "primaryContainer": {"image": IMAGE, "environment": {"SCORE_THRESHOLD": "0.82"}},
        "enableNetworkIsolation": True,
        "vpcConfig": {"subnets": ["subnet-0a1b2c3d4e5f60718"], "securityGroupIds": ["sg-0c3d4e5f607182930"]},
        "tags": TAGS,
    }


def endpoint() -> dict[str, Any]:
    return {
        "name": "fraud-prod",
        "endpointConfigName": "fraud-config-1a2b3c4",
        "deploymentConfig": {
            "blueGreenUpdatePolicy": {
                "trafficRoutingConfiguration": {
                    "type": "CANARY",
                    "waitIntervalInSeconds": 600,
                    "canarySize": {"type": "CAPACITY_PERCENT", "value": 10},
                },
                "terminationWaitInSeconds": 300,
            },
            "autoRollbackConfiguration": {"alarms": [{"alarmName": "fraud-prod-champion-5xx"}]},
        },
    }


def alarm(name: str = "fraud-prod-champion-5xx", endpoint_name: str = "fraud-prod") -> dict[str, Any]:
    return {
        "name": name,
        "namespace": "AWS/SageMaker",
        "metricName": "Invocation5XXErrors",
        "dimensions": {"EndpointName": endpoint_name, "VariantName": "champion"},
        "alarmActions": [TOPIC_ARN],
        "actionsEnabled": True,
    }


def math_alarm(name: str = "fraud-prod-champion-5xx-rate") -> dict[str, Any]:
    dimensions = {"EndpointName": "fraud-prod", "VariantName": "champion"}
    return {
        "name": name,
        "alarmActions": [TOPIC_ARN],
        "metricQueries": [
            {"id": "rate", "expression": "100 * errors / invocations", "returnData": True},
            {
                "id": "errors",
                "metric": {"namespace": "AWS/SageMaker", "metricName": "Invocation5XXErrors", "dimensions": dimensions},
            },
            {
                "id": "invocations",
                "metric": {"namespace": "AWS/SageMaker", "metricName": "Invocations", "dimensions": dimensions},
            },
        ],
    }


def container() -> dict[str, Any]:
    probe = {"httpGet": {"path": "/healthz", "port": 8080}}
    return {
        "name": "model",
        "image": IMAGE,
        "ports": [{"containerPort": 8080}],
        "env": [{"name": "PORT", "value": "8080"}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "readinessProbe": probe,
        "livenessProbe": probe,
        "resources": {
            "requests": {"cpu": "1", "memory": "2Gi", "ephemeral-storage": "512Mi"},
            "limits": {"cpu": "1", "memory": "2Gi", "ephemeral-storage": "512Mi"},
        },
    }


LABELS = {"app": "recommender", "variant": "v6"}


def deployment(name: str = "recommender-v6", namespace: str = "recommender") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container()],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
                },
            },
        },
    }


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


ARTIFACTS = "artifacts-1a2b3c4"


def one(policy: str, id: str, type: str, props: dict[str, Any], expected: list[str], **extra: Any) -> Case:
    """A resource-rule case; `extra` splits into Res options (protect, ...) and `config`."""
    config = extra.pop("config", {})
    name = extra.pop("name", "subject")
    return Case(policy, id, [Res(type, name, props, **extra)], expected, config)


PRODUCTION_OFF = {"production": False}


ROOT = f"arn:aws:iam::{ACCOUNT}:root"


SAGEMAKER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/fraud-sagemaker-execution"


QUEUE = "aws:sqs/queue:Queue"


RBAC = "kubernetes:rbac.authorization.k8s.io/v1"


SECURITY_GROUP = "sg-0c3d4e5f607182930"


def role(*rules: dict[str, Any], kind: str = "Role") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "model-reader"}
    if kind == "Role":
        metadata["namespace"] = "recommender"
    return {"metadata": metadata, "rules": list(rules)}


def namespace(labels: dict[str, str], name: str = "recommender") -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}}


def case_id(case: Case) -> str:
    return f"{case.policy}[{case.id}]"


def uncovered(policies: Sequence[Policy], cases: Sequence[Case]) -> list[str]:
    """What the cases of a rule module miss: a rule without a compliant or a violating case, or a case
    of a rule the module does not have."""
    names = {policy.name for policy in policies}
    problems = [f"{case_id(case)} is not a rule of this module" for case in cases if case.policy not in names]
    for name in sorted(names):
        expectations = [case.expected for case in cases if case.policy == name]
        if [] not in expectations:
            problems.append(f"{name} has no compliant case")
        if not any(expected and expected != NOT_APPLICABLE for expected in expectations):
            problems.append(f"{name} has no violating case")
    return problems
