"""One served model on Kubernetes: restricted pods per variant, autoscaling, A/B and shadow traffic.

Traffic enters through a Gateway API `HTTPRoute` attached to a Gateway the cluster already runs:
production variants share it by weight, the shadow receives a mirrored copy whose answers are
dropped. A canary is moved by editing the weights in the stack file and running `pulumi up` again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.anomaly_detection import AnomalyBand, prometheus_anomaly_rules
from components.secrets import secret_arn_env_var
from modelplane.settings import Autoscaling, Endpoint, KubernetesServing, Platform, Variant

TOKEN = "modelplane:kubernetes:KubernetesModelService"
# `enforce` pinned to a known profile version; `audit`/`warn` at latest to show what an upgrade would reject.
POD_SECURITY_LABELS = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "v1.30",
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/audit-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/warn-version": "latest",
}
COMMON_LABELS = {"app.kubernetes.io/part-of": "modelplane", "app.kubernetes.io/managed-by": "pulumi"}
VARIANT_LABEL = "modelplane.io/variant"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
NON_ROOT_ID = 10001
SECRETS_DIR = "/var/run/secrets/modelplane"
PORT_NAME = "http"
# The model server's metrics contract: Prometheus text on the serving port.
METRICS_PATH = "/metrics"
REQUESTS_METRIC = "http_requests_total"
LATENCY_METRIC = "http_request_duration_seconds"


@dataclass(frozen=True)
class ServedSecret:
    """A secret of the endpoint: a file `SECRETS_DIR/<name>` when Pulumi knows its value, else read by ARN."""

    arn: pulumi.Input[str]
    """ARN in Secrets Manager."""
    value: pulumi.Input[str] | None
    """The configured value, a secret Output; None when it is set out of band."""
    rotates: bool
    """Secrets Manager rotates it, so a mounted copy goes stale."""

    @property
    def read_at_run_time(self) -> bool:
        """The pods must fetch it from Secrets Manager (by the ARN in `<NAME>_SECRET_ARN`, through IRSA)."""
        return self.rotates or self.value is None


@dataclass(frozen=True)
class WorkloadIdentity:
    """What an IAM role for the service account (IRSA, EKS only) needs."""

    oidc_provider_arn: str
    """The cluster's IAM OIDC provider, trusted to vouch for the service account."""
    secrets_key_arn: pulumi.Input[str]
    """KMS key that encrypts the secrets; GetSecretValue needs Decrypt on it."""
    region: str
    """Region of Secrets Manager; Decrypt is allowed only through it."""
    tags: Mapping[str, str]
    """Tags of the IAM role."""


@dataclass(frozen=True)
class KubernetesModelServiceArgs:
    endpoint: Endpoint
    """The served model: `platform: kubernetes`, with its `kubernetes` block."""
    repository_url: pulumi.Input[str]
    """Container repository of the endpoint's model family; each variant appends `:tag` or `@sha256:...`."""
    prod: bool
    """Production alerts page (severity critical); elsewhere they warn."""
    secrets: Mapping[str, ServedSecret] = field(default_factory=dict)
    """The endpoint's secrets by name."""
    workload_identity: WorkloadIdentity | None = None
    """Required when a secret is read at run time: the pods then get an IAM role to read it."""
    anomaly_band: AnomalyBand | None = None
    """Alert when a variant's traffic or latency strays this far from the same hour last week; None for no such alerts."""


def service_name(endpoint: Endpoint, variant: Variant) -> str:
    """Name of a variant's Deployment and Service (the settings check it is a DNS label)."""
    return f"{endpoint.name}-{variant.name}"


class KubernetesModelService(pulumi.ComponentResource):
    """Namespace, pods, Services, autoscaling, NetworkPolicies, route and alerts of one endpoint."""

    namespace: pulumi.Output[str]
    """The endpoint's own namespace."""
    service_names: dict[str, pulumi.Output[str]]
    """Service per variant, the shadow's included."""
    route_name: pulumi.Output[str]
    """The HTTPRoute attached to the configured Gateway."""
    weights: dict[str, float]
    """Route weight per production variant, as configured."""
    traffic_shares: dict[str, float]
    """Share of traffic per production variant."""
    shadow_variant: str | None
    """Variant receiving mirrored traffic, if any."""
    secret_readers: dict[str, pulumi.Output[str]]
    """Secret name -> the pods' IAM role (IRSA) that reads it at run time; grant each with `ModelSecrets.grant_read`."""

    def __init__(self, name: str, args: KubernetesModelServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        endpoint = args.endpoint
        serving = endpoint.kubernetes
        if serving is None:
            raise ValueError(f"endpoint {endpoint.name!r} has no kubernetes settings")
        self._child = pulumi.ResourceOptions(parent=self)

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=serving.namespace, labels={**COMMON_LABELS, **POD_SECURITY_LABELS}
            ),
            opts=self._child,
        )
        self.namespace = _object_name(namespace)
        served = sorted(args.secrets.items())
        mounted = {secret_name: spec.value for secret_name, spec in served if spec.value is not None}
        fetched = {secret_name: spec.arn for secret_name, spec in served if spec.read_at_run_time}
        role = self._workload_role(name, serving, endpoint.name, fetched, args.workload_identity) if fetched else None
        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=self._metadata(
                endpoint.name, annotations={"eks.amazonaws.com/role-arn": role.arn} if role else None
            ),
            # The pods never call the Kubernetes API; IRSA projects its own token.
            automount_service_account_token=False,
            opts=self._child,
        )
        secret = (
            k8s.core.v1.Secret(
                f"{name}-secrets",
                metadata=self._metadata(f"{endpoint.name}-secrets"),
                type="Opaque",
                string_data={secret_name: pulumi.Output.secret(value) for secret_name, value in mounted.items()},
                opts=self._child,
            )
            if mounted
            else None
        )
        pod = _PodInputs(
            serving=serving,
            repository_url=args.repository_url,
            service_account=_object_name(account),
            secret_name=_object_name(secret) if secret else None,
            secret_names=list(mounted),
            environment=[
                k8s.core.v1.EnvVarArgs(name=secret_arn_env_var(secret_name), value=arn)
                for secret_name, arn in fetched.items()
            ],
        )
        self.service_names = {
            variant.name: self._variant(name, endpoint, variant, pod) for variant in endpoint.all_variants
        }
        self._network_policies(name, endpoint.name, serving, aws_access=role is not None)
        route = k8s.apiextensions.CustomResource(
            f"{name}-route",
            api_version="gateway.networking.k8s.io/v1",
            kind="HTTPRoute",
            metadata=self._metadata(endpoint.name),
            spec=_route_spec(endpoint, serving, self.service_names),
            opts=self._child,
        )
        if serving.service_monitor:
            k8s.apiextensions.CustomResource(
                f"{name}-service-monitor",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata=self._metadata(endpoint.name),
                spec={
                    "selector": {"matchLabels": {"app.kubernetes.io/instance": endpoint.name}},
                    "endpoints": [{"port": PORT_NAME, "path": METRICS_PATH, "interval": "30s"}],
                },
                opts=self._child,
            )
        if serving.prometheus_rules:
            k8s.apiextensions.CustomResource(
                f"{name}-alerts",
                api_version="monitoring.coreos.com/v1",
                kind="PrometheusRule",
                metadata=self._metadata(endpoint.name),
                spec={"groups": [_alert_group(endpoint, serving, prod=args.prod, anomaly_band=args.anomaly_band)]},
                opts=self._child,
            )

        # The provider's id of a namespaced object is `<namespace>/<name>`.
        self.route_name = route.id.apply(lambda resource_id: resource_id.rsplit("/", 1)[-1])
        self.weights = {variant.name: variant.weight for variant in endpoint.variants}
        self.traffic_shares = endpoint.traffic_shares()
        self.shadow_variant = endpoint.shadow.name if endpoint.shadow else None
        self.secret_readers = {secret_name: role.arn for secret_name in fetched} if role else {}
        self.register_outputs(
            {
                "namespace": self.namespace,
                "service_names": self.service_names,
                "route_name": self.route_name,
                "weights": self.weights,
                "traffic_shares": self.traffic_shares,
                "shadow_variant": self.shadow_variant,
                "secret_readers": self.secret_readers,
            }
        )

    def stack_output(self) -> dict[str, Any]:
        """This endpoint's entry under the `endpoints` stack output (contract in modelplane/program.py)."""
        return {
            "platform": Platform.KUBERNETES.value,
            "namespace": self.namespace,
            "services": self.service_names,
            "route_name": self.route_name,
            "variants": {
                variant: {"weight": weight, "traffic_share": self.traffic_shares[variant]}
                for variant, weight in self.weights.items()
            },
            "shadow_variant": self.shadow_variant,
        }

    def _metadata(
        self,
        object_name: str,
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, pulumi.Input[str]] | None = None,
    ) -> k8s.meta.v1.ObjectMetaArgs:
        """Metadata of an object in the endpoint's namespace (referenced by output, so created after it)."""
        return k8s.meta.v1.ObjectMetaArgs(
            name=object_name,
            namespace=self.namespace,
            labels={**COMMON_LABELS, **(labels or {})},
            annotations=annotations,
        )

    def _variant(self, name: str, endpoint: Endpoint, variant: Variant, pod: _PodInputs) -> pulumi.Output[str]:
        """Deployment, Service, PDB and (with autoscaling) HPA of one variant; returns the Service's name.

        The shadow scales like the others: it receives a copy of all the traffic.
        """
        autoscaling = endpoint.autoscaling
        object_name = service_name(endpoint, variant)
        selector = {
            "app.kubernetes.io/name": endpoint.family,
            "app.kubernetes.io/instance": endpoint.name,
            VARIANT_LABEL: variant.name,
        }
        labels = {
            **selector,
            "app.kubernetes.io/version": _version_label(variant),
            "app.kubernetes.io/component": "model-server",
        }
        deployment = k8s.apps.v1.Deployment(
            f"{name}-{variant.name}",
            metadata=self._metadata(object_name, labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                # With an HPA the replica count is the HPA's; declaring it here would fight it on every update.
                replicas=None if autoscaling else variant.instance_count,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_unavailable=0, max_surge=1),
                ),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels={**COMMON_LABELS, **labels}),
                    spec=_pod_spec(pod, variant, selector),
                ),
            ),
            opts=self._child,
        )
        service = k8s.core.v1.Service(
            f"{name}-{variant.name}",
            metadata=self._metadata(object_name, labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=selector,
                ports=[
                    k8s.core.v1.ServicePortArgs(
                        name=PORT_NAME, port=pod.serving.port, target_port=PORT_NAME, protocol="TCP"
                    )
                ],
            ),
            opts=self._child,
        )
        if autoscaling is not None:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-{variant.name}",
                metadata=self._metadata(object_name, labels),
                spec=_autoscaler_spec(autoscaling, _object_name(deployment)),
                opts=self._child,
            )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-{variant.name}",
            metadata=self._metadata(object_name, labels),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                # A crash-looping pod must not block node drains.
                unhealthy_pod_eviction_policy="AlwaysAllow",
            ),
            opts=self._child,
        )
        return _object_name(service)

    def _workload_role(
        self,
        name: str,
        serving: KubernetesServing,
        account_name: str,
        secret_arns: Mapping[str, pulumi.Input[str]],
        identity: WorkloadIdentity | None,
    ) -> aws.iam.Role:
        """An IAM role only this endpoint's service account can assume, reading exactly the given secrets."""
        if identity is None:
            raise ValueError(
                f"{name}: the pods read secrets {sorted(secret_arns)} from Secrets Manager, which needs "
                "kubernetes.oidc_provider_arn (IRSA)"
            )
        issuer = identity.oidc_provider_arn.split(":oidc-provider/", 1)[1]
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": identity.oidc_provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{issuer}:sub": f"system:serviceaccount:{serving.namespace}:{account_name}",
                            f"{issuer}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        }
        role = aws.iam.Role(
            f"{name}-workload",
            assume_role_policy=json.dumps(trust),
            description=f"Pods of {account_name} in namespace {serving.namespace} (IRSA)",
            tags=dict(identity.tags),
            opts=self._child,
        )
        permissions = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReadOwnSecrets",
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    "Resource": list(secret_arns.values()),
                },
                {
                    "Sid": "DecryptThroughSecretsManager",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": identity.secrets_key_arn,
                    "Condition": {
                        "StringEquals": {"kms:ViaService": f"secretsmanager.{identity.region}.amazonaws.com"}
                    },
                },
            ],
        }
        aws.iam.RolePolicy(
            f"{name}-workload-secrets",
            role=role.id,
            policy=pulumi.Output.json_dumps(permissions),
            opts=self._child,
        )
        return role

    def _network_policies(self, name: str, instance: str, serving: KubernetesServing, *, aws_access: bool) -> None:
        """Deny everything in the namespace, then let in the gateway (and Prometheus), let out DNS (and AWS)."""
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata=self._metadata("default-deny"),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Ingress", "Egress"]
            ),
            opts=self._child,
        )
        sources = [serving.gateway.gateway_namespace]
        if serving.service_monitor:
            sources.append(serving.prometheus_namespace)
        ingress = [
            k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                from_=[
                    k8s.networking.v1.NetworkPolicyPeerArgs(
                        namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={NAMESPACE_NAME_LABEL: source})
                    )
                ],
                ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=serving.port, protocol="TCP")],
            )
            for source in sources
        ]
        egress = [
            k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                to=[
                    k8s.networking.v1.NetworkPolicyPeerArgs(
                        namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                            match_labels={NAMESPACE_NAME_LABEL: "kube-system"}
                        ),
                        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
                    )
                ],
                ports=[
                    k8s.networking.v1.NetworkPolicyPortArgs(port=53, protocol="UDP"),
                    k8s.networking.v1.NetworkPolicyPortArgs(port=53, protocol="TCP"),
                ],
            )
        ]
        if aws_access:
            # STS and Secrets Manager have no fixed addresses: HTTPS out, nothing else.
            egress.append(
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[
                        k8s.networking.v1.NetworkPolicyPeerArgs(
                            ip_block=k8s.networking.v1.IPBlockArgs(cidr="0.0.0.0/0")
                        )
                    ],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=443, protocol="TCP")],
                )
            )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-serving",
            metadata=self._metadata(f"{instance}-serving"),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app.kubernetes.io/instance": instance}),
                policy_types=["Ingress", "Egress"],
                ingress=ingress,
                egress=egress,
            ),
            opts=self._child,
        )


_KubernetesObject = (
    k8s.core.v1.Namespace
    | k8s.core.v1.ServiceAccount
    | k8s.core.v1.Secret
    | k8s.core.v1.Service
    | k8s.apps.v1.Deployment
)


@dataclass(frozen=True)
class _PodInputs:
    """What every variant's pods share."""

    serving: KubernetesServing
    repository_url: pulumi.Input[str]
    service_account: pulumi.Input[str]
    secret_name: pulumi.Input[str] | None
    secret_names: Sequence[str]
    environment: Sequence[k8s.core.v1.EnvVarArgs]


def _pod_spec(pod: _PodInputs, variant: Variant, selector: Mapping[str, str]) -> k8s.core.v1.PodSpecArgs:
    """A pod the Pod Security "restricted" profile admits: non-root, no escalation, no capabilities."""
    serving = pod.serving
    resources = serving.resources
    limits = {"cpu": resources.cpu_limit or resources.cpu, "memory": resources.memory}
    if resources.gpus:
        limits["nvidia.com/gpu"] = str(resources.gpus)
    volumes = [k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs())]
    mounts = [k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")]  # noqa: S108 - the pod's own emptyDir
    if pod.secret_name is not None:
        volumes.append(
            k8s.core.v1.VolumeArgs(
                name="secrets",
                secret=k8s.core.v1.SecretVolumeSourceArgs(
                    secret_name=pod.secret_name,
                    items=[k8s.core.v1.KeyToPathArgs(key=secret, path=secret) for secret in pod.secret_names],
                    default_mode=0o440,
                ),
            )
        )
        mounts.append(k8s.core.v1.VolumeMountArgs(name="secrets", mount_path=SECRETS_DIR, read_only=True))
    container = k8s.core.v1.ContainerArgs(
        name="model",
        image=pulumi.Output.concat(pod.repository_url, variant.image_reference),
        image_pull_policy="IfNotPresent",
        ports=[k8s.core.v1.ContainerPortArgs(name=PORT_NAME, container_port=serving.port, protocol="TCP")],
        env=[
            *(k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in sorted(variant.environment.items())),
            *pod.environment,
        ]
        or None,
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": resources.cpu, "memory": resources.memory}, limits=limits
        ),
        # Startup waits for the model to load (up to 5 minutes); readiness takes a busy pod out of
        # rotation quickly; liveness restarts only a pod that stays unhealthy for a minute.
        startup_probe=_probe(serving, period_seconds=10, failure_threshold=30, timeout_seconds=5),
        readiness_probe=_probe(serving, period_seconds=5, failure_threshold=3, timeout_seconds=2),
        liveness_probe=_probe(serving, period_seconds=15, failure_threshold=4, timeout_seconds=5),
        security_context=k8s.core.v1.SecurityContextArgs(
            allow_privilege_escalation=False,
            privileged=False,
            read_only_root_filesystem=True,
            run_as_non_root=True,
            run_as_user=NON_ROOT_ID,
            run_as_group=NON_ROOT_ID,
            capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        ),
        volume_mounts=mounts,
    )
    spread = [
        k8s.core.v1.TopologySpreadConstraintArgs(
            max_skew=1,
            topology_key=topology_key,
            # Spread when capacity allows; a GPU pool in fewer zones must not leave pods pending.
            when_unsatisfiable="ScheduleAnyway",
            label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(selector)),
            match_label_keys=["pod-template-hash"],
        )
        for topology_key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]
    return k8s.core.v1.PodSpecArgs(
        service_account_name=pod.service_account,
        automount_service_account_token=False,
        enable_service_links=False,
        security_context=k8s.core.v1.PodSecurityContextArgs(
            run_as_non_root=True,
            run_as_user=NON_ROOT_ID,
            run_as_group=NON_ROOT_ID,
            fs_group=NON_ROOT_ID,
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        ),
        containers=[container],
        volumes=volumes,
        node_selector=serving.node_selector or None,
        tolerations=[
            k8s.core.v1.TolerationArgs(
                key=toleration.key, operator=toleration.operator, value=toleration.value, effect=toleration.effect
            )
            for toleration in serving.tolerations
        ]
        or None,
        topology_spread_constraints=spread,
    )


def _probe(
    serving: KubernetesServing, *, period_seconds: int, failure_threshold: int, timeout_seconds: int
) -> k8s.core.v1.ProbeArgs:
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=serving.health_path, port=PORT_NAME),
        period_seconds=period_seconds,
        failure_threshold=failure_threshold,
        timeout_seconds=timeout_seconds,
    )


def _autoscaler_spec(
    autoscaling: Autoscaling, deployment_name: pulumi.Input[str]
) -> k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs:
    """CPU utilisation, or the per-pod custom metric when one is set; cooldowns become stabilisation windows."""
    if autoscaling.custom_metric is None:
        metric = k8s.autoscaling.v2.MetricSpecArgs(
            type="Resource",
            resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                name="cpu",
                target=k8s.autoscaling.v2.MetricTargetArgs(
                    type="Utilization", average_utilization=autoscaling.target_cpu_percent
                ),
            ),
        )
    else:
        metric = k8s.autoscaling.v2.MetricSpecArgs(
            type="Pods",
            pods=k8s.autoscaling.v2.PodsMetricSourceArgs(
                metric=k8s.autoscaling.v2.MetricIdentifierArgs(name=autoscaling.custom_metric),
                target=k8s.autoscaling.v2.MetricTargetArgs(
                    type="AverageValue", average_value=_quantity(autoscaling.target_invocations_per_instance)
                ),
            ),
        )
    return k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
        scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
            api_version="apps/v1", kind="Deployment", name=deployment_name
        ),
        min_replicas=autoscaling.min_capacity,
        max_replicas=autoscaling.max_capacity,
        metrics=[metric],
        behavior=k8s.autoscaling.v2.HorizontalPodAutoscalerBehaviorArgs(
            scale_down=k8s.autoscaling.v2.HPAScalingRulesArgs(
                stabilization_window_seconds=autoscaling.scale_in_cooldown_seconds
            ),
            scale_up=k8s.autoscaling.v2.HPAScalingRulesArgs(
                stabilization_window_seconds=autoscaling.scale_out_cooldown_seconds
            ),
        ),
    )


def _route_spec(
    endpoint: Endpoint, serving: KubernetesServing, service_names: Mapping[str, pulumi.Output[str]]
) -> dict[str, Any]:
    """Weighted backends per production variant; the shadow gets a mirrored copy of every request."""
    gateway = serving.gateway
    rule: dict[str, Any] = {
        "matches": [{"path": {"type": "PathPrefix", "value": gateway.path_prefix}}],
        "backendRefs": [
            # Gateway API weights are integers; the settings accept only whole weights on Kubernetes.
            {"name": service_names[variant.name], "port": serving.port, "weight": int(variant.weight)}
            for variant in endpoint.variants
        ],
    }
    if endpoint.shadow is not None:
        rule["filters"] = [
            {
                "type": "RequestMirror",
                "requestMirror": {"backendRef": {"name": service_names[endpoint.shadow.name], "port": serving.port}},
            }
        ]
    spec: dict[str, Any] = {
        "parentRefs": [
            {
                "group": "gateway.networking.k8s.io",
                "kind": "Gateway",
                "name": gateway.gateway_name,
                "namespace": gateway.gateway_namespace,
            }
        ],
        "rules": [rule],
    }
    if gateway.hostnames:
        spec["hostnames"] = list(gateway.hostnames)
    return spec


def _alert_group(
    endpoint: Endpoint, serving: KubernetesServing, *, prod: bool, anomaly_band: AnomalyBand | None
) -> dict[str, Any]:
    """Error-rate and p99-latency alerts per variant, over the metrics the ServiceMonitor scrapes, and
    with anomaly detection the traffic and latency z-scores against the same hour last week.

    The CloudWatch-style thresholds map onto Prometheus as: rate window = evaluation periods x
    period, `for` = datapoints to alarm x period.
    """
    alarms = endpoint.alarms
    window = f"{alarms.evaluation_periods * alarms.period_seconds}s"
    hold = f"{alarms.datapoints_to_alarm * alarms.period_seconds}s"
    rules = []
    for variant in endpoint.all_variants:
        is_shadow = variant is endpoint.shadow
        selector = f'namespace="{serving.namespace}",service="{service_name(endpoint, variant)}"'
        labels = {
            "severity": "critical" if prod and not is_shadow else "warning",
            "endpoint": endpoint.name,
            "variant": variant.name,
        }
        rules += [
            {
                "alert": "ModelServerErrorRateHigh",
                "expr": (
                    f'100 * sum(rate({REQUESTS_METRIC}{{{selector},code=~"5.."}}[{window}]))'
                    f" / sum(rate({REQUESTS_METRIC}{{{selector}}}[{window}])) > {alarms.error_rate_percent}"
                ),
                "for": hold,
                "labels": labels,
                "annotations": {
                    "summary": f"{endpoint.name}/{variant.name}: more than {alarms.error_rate_percent}% of requests fail with 5XX"
                },
            },
            {
                "alert": "ModelServerLatencyP99High",
                "expr": (
                    f"1000 * histogram_quantile(0.99, sum by (le) (rate({LATENCY_METRIC}_bucket{{{selector}}}[{window}])))"
                    f" > {alarms.latency_p99_ms}"
                ),
                "for": hold,
                "labels": labels,
                "annotations": {
                    "summary": f"{endpoint.name}/{variant.name}: p99 latency above {alarms.latency_p99_ms} ms"
                },
            },
        ]
        if anomaly_band is not None:
            rules += prometheus_anomaly_rules(
                selector=selector,
                requests_metric=REQUESTS_METRIC,
                latency_metric=LATENCY_METRIC,
                band_width=anomaly_band.width,
                hold=f"{anomaly_band.datapoints_to_alarm * anomaly_band.period_seconds}s",
                labels={**labels, "severity": "warning"},
                summary_prefix=f"{endpoint.name}/{variant.name}",
            )
    return {"name": f"{endpoint.name}.modelplane", "rules": rules}


def _object_name(resource: _KubernetesObject) -> pulumi.Output[str]:
    """The object's name as the API server has it, so that users of the name wait for the object."""

    def required(metadata: k8s.meta.v1.outputs.ObjectMeta) -> str:
        if metadata.name is None:
            raise ValueError("the API server returned an object without a name")
        return metadata.name

    return resource.metadata.apply(required)


def _version_label(variant: Variant) -> str:
    """`app.kubernetes.io/version`: the tag, or `sha256-<12 hex>` (a label value has no `:`, at most 63 chars)."""
    if variant.image_digest:
        return variant.image_digest.replace(":", "-")[:19]
    return (variant.image_tag or "")[:63].strip("_.-")


def _quantity(value: float) -> str:
    """A Kubernetes quantity for a metric target: whole numbers as is, fractions in milli-units."""
    return str(int(value)) if value.is_integer() else f"{round(value * 1000)}m"
