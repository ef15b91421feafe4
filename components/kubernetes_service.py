"""One served model on Kubernetes: restricted pods per variant, autoscaling, A/B and shadow traffic.

Traffic enters through a Gateway API `HTTPRoute` attached to a Gateway the cluster already runs:
production variants share it by weight, the shadow receives a mirrored copy whose answers are
dropped. A canary is moved by changing the weights and running `pulumi up` again.

Pods (`kubernetes_pods`), NetworkPolicies (`kubernetes_network`), the route (`kubernetes_routing`)
and the Prometheus alerts (`kubernetes_alerts`) are built in their own modules.
"""

import json
import re
from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ._common import Problem, Tags, at, check, component_options, type_token
from .kubernetes_alerts import alert_group
from .kubernetes_names import NAMESPACE_PATTERN, namespace_problem, object_name_problem, service_name
from .kubernetes_network import network_policies
from .kubernetes_pods import (
    CPU_PATTERN,
    MEMORY_PATTERN,
    METRIC_NAME_PATTERN,
    METRICS_PATH,
    PORT_NAME,
    PodAutoscalingArgs,
    PodInputs,
    PodResourcesArgs,
    TolerationArgs,
    autoscaler_spec,
    pod_spec,
    version_label,
)
from .kubernetes_routing import GatewayRouteArgs, route_spec
from .monitoring import AlarmThresholdsArgs, Thresholds, threshold_problems
from .naming import secret_arn_env_var

FORMER_TOKEN = "modelplane:kubernetes:KubernetesModelService"
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
OIDC_PROVIDER_PATTERN = r"arn:aws[a-z-]*:iam::\d{12}:oidc-provider/.+"


class KubernetesVariantArgs(TypedDict):
    """One model version serving traffic (or a mirrored copy, for the shadow)."""

    name: str
    """Variant name; its Deployment and Service are `<instance_name>-<name>`."""
    image_tag: NotRequired[str]
    """Immutable tag of the image in the repository; set this or `image_digest`."""
    image_digest: NotRequired[str]
    """Digest of the image (`sha256:...`); set this or `image_tag`."""
    replicas: NotRequired[int]
    """Pods when there is no autoscaling; default 1."""
    weight: NotRequired[int]
    """Gateway API route weight (a whole number); ignored for the shadow; default 1."""
    environment: NotRequired[Mapping[str, pulumi.Input[str]]]
    """Container environment variables; never secret values (pass `secrets`)."""


class ServedSecretArgs(TypedDict):
    """A secret of the service: mounted as the file `/var/run/secrets/modelplane/<name>` when its value is given, else read by ARN."""

    arn: pulumi.Input[str]
    """ARN in Secrets Manager."""
    value: NotRequired[pulumi.Input[str]]
    """The value (kept secret); leave out for a value set out of band, which the pods read at run time."""
    rotates: NotRequired[bool]
    """Secrets Manager rotates it, so a mounted copy would go stale: the pods read it at run time."""


class WorkloadIdentityArgs(TypedDict):
    """What an IAM role for the service account (IRSA, EKS only) needs, when the pods read secrets at run time."""

    oidc_provider_arn: str
    """The cluster's IAM OIDC provider, trusted to vouch for the service account."""
    secrets_kms_key_arn: pulumi.Input[str]
    """KMS key encrypting the secrets; GetSecretValue needs Decrypt on it."""
    region: str
    """Region of Secrets Manager; Decrypt is allowed only through it."""
    tags: NotRequired[pulumi.Input[Tags]]
    """Tags of the IAM role."""


class KubernetesModelServiceArgs(TypedDict):
    """The variants, where their images come from, how pods run and scale, and where traffic comes from."""

    instance_name: str
    """Name of the served model: the `app.kubernetes.io/instance` label and the prefix of its objects' names."""
    app_name: str
    """The `app.kubernetes.io/name` label (e.g. the model family)."""
    namespace: str
    """Namespace created for the service (never a system namespace)."""
    repository_url: pulumi.Input[str]
    """Image repository; each variant appends `:tag` or `@sha256:...`."""
    variants: Sequence[KubernetesVariantArgs]
    """Production variants sharing traffic by weight."""
    shadow: NotRequired[KubernetesVariantArgs]
    """A variant receiving a mirrored copy of every request; its answers are dropped."""
    gateway: GatewayRouteArgs
    """Where traffic comes from."""
    port: NotRequired[int]
    """Port the model server listens on, 1024-65535 (unprivileged); default 8080."""
    health_path: NotRequired[str]
    """HTTP path answering 200 when the model is loaded; default `/ping`."""
    resources: NotRequired[PodResourcesArgs]
    """Container resources."""
    node_selector: NotRequired[Mapping[str, str]]
    """Node labels the pods require (e.g. a GPU pool)."""
    tolerations: NotRequired[Sequence[TolerationArgs]]
    """Taints the pods tolerate."""
    autoscaling: NotRequired[PodAutoscalingArgs]
    """A HorizontalPodAutoscaler per variant; left out, each variant runs its `replicas`."""
    service_monitor: NotRequired[bool]
    """Create a prometheus-operator ServiceMonitor; default true."""
    prometheus_namespace: NotRequired[str]
    """Namespace of the Prometheus scraping the pods, let in when `service_monitor` is on; default monitoring."""
    prometheus_rules: NotRequired[bool]
    """Create a prometheus-operator PrometheusRule with error and latency alerts; default true."""
    alerts: NotRequired[AlarmThresholdsArgs]
    """Thresholds of those alerts (error rate, p99 latency, period, evaluation periods, datapoints)."""
    critical_alerts: NotRequired[bool]
    """Alerts of production variants are severity critical (they page); otherwise warning."""
    secrets: NotRequired[Mapping[str, ServedSecretArgs]]
    """The service's secrets by name."""
    workload_identity: NotRequired[WorkloadIdentityArgs]
    """Required when a secret is read at run time: the pods then get an IAM role to read it."""


def reads_at_run_time(secret: ServedSecretArgs) -> bool:
    """The pods fetch the secret from Secrets Manager (by the ARN in `<NAME>_SECRET_ARN`, through IRSA)."""
    return secret.get("rotates", False) or "value" not in secret


class KubernetesModelService(pulumi.ComponentResource):
    """Namespace, pods, Services, autoscaling, NetworkPolicies, route and alerts of one served model."""

    namespace: pulumi.Output[str]
    """The service's own namespace."""
    service_names: dict[str, pulumi.Output[str]]
    """Service per variant, the shadow's included."""
    route_name: pulumi.Output[str]
    """The HTTPRoute attached to the Gateway."""
    workload_role_arn: pulumi.Output[str] | None
    """The pods' IAM role (IRSA) when they read secrets at run time: a reader for those secrets' `SecretReadPolicy`."""

    def __init__(self, name: str, args: KubernetesModelServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check("KubernetesModelService", name, problems(args))
        super().__init__(type_token("KubernetesModelService"), name, None, component_options(opts, FORMER_TOKEN))
        self._child = pulumi.ResourceOptions(parent=self)
        instance = args["instance_name"]
        port = args.get("port", 8080)

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args["namespace"], labels={**COMMON_LABELS, **POD_SECURITY_LABELS}
            ),
            opts=self._child,
        )
        self.namespace = _object_name(namespace)
        served = sorted(args.get("secrets", {}).items())
        mounted = {secret_name: spec["value"] for secret_name, spec in served if "value" in spec}
        fetched = {secret_name: spec["arn"] for secret_name, spec in served if reads_at_run_time(spec)}
        identity = args.get("workload_identity")
        # `problems` refuses secrets read at run time without an identity.
        role = self._workload_role(name, args, identity, fetched) if fetched and identity else None
        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=self._metadata(instance, annotations={"eks.amazonaws.com/role-arn": role.arn} if role else None),
            # The pods never call the Kubernetes API; IRSA projects its own token.
            automount_service_account_token=False,
            opts=self._child,
        )
        secret = (
            k8s.core.v1.Secret(
                f"{name}-secrets",
                metadata=self._metadata(f"{instance}-secrets"),
                type="Opaque",
                string_data={secret_name: pulumi.Output.secret(value) for secret_name, value in mounted.items()},
                opts=self._child,
            )
            if mounted
            else None
        )
        pod = PodInputs(
            port=port,
            health_path=args.get("health_path", "/ping"),
            resources=args.get("resources", {}),
            node_selector=args.get("node_selector", {}),
            tolerations=args.get("tolerations", []),
            repository_url=args["repository_url"],
            service_account=_object_name(account),
            secret_object=_object_name(secret) if secret else None,
            mounted_secrets=list(mounted),
            environment=[
                k8s.core.v1.EnvVarArgs(name=secret_arn_env_var(secret_name), value=arn)
                for secret_name, arn in fetched.items()
            ],
        )
        self.service_names = {
            variant["name"]: self._variant(name, args, variant, pod) for variant in all_variants(args)
        }
        ingress_namespaces = [args["gateway"]["gateway_namespace"]]
        if args.get("service_monitor", True):
            ingress_namespaces.append(args.get("prometheus_namespace", "monitoring"))
        network_policies(
            name,
            instance,
            port=port,
            ingress_namespaces=ingress_namespaces,
            aws_access=role is not None,
            metadata=self._metadata,
            opts=self._child,
        )
        shadow = args.get("shadow")
        route = k8s.apiextensions.CustomResource(
            f"{name}-route",
            api_version="gateway.networking.k8s.io/v1",
            kind="HTTPRoute",
            metadata=self._metadata(instance),
            spec=route_spec(
                args["gateway"],
                port,
                {variant["name"]: variant.get("weight", 1) for variant in args["variants"]},
                shadow["name"] if shadow is not None else None,
                self.service_names,
            ),
            opts=self._child,
        )
        if args.get("service_monitor", True):
            k8s.apiextensions.CustomResource(
                f"{name}-service-monitor",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata=self._metadata(instance),
                spec={
                    "selector": {"matchLabels": {"app.kubernetes.io/instance": instance}},
                    "endpoints": [{"port": PORT_NAME, "path": METRICS_PATH, "interval": "30s"}],
                },
                opts=self._child,
            )
        if args.get("prometheus_rules", True):
            services = [
                (variant["name"], service_name(instance, variant["name"]), variant is shadow)
                for variant in all_variants(args)
            ]
            k8s.apiextensions.CustomResource(
                f"{name}-alerts",
                api_version="monitoring.coreos.com/v1",
                kind="PrometheusRule",
                metadata=self._metadata(instance),
                spec={
                    "groups": [
                        alert_group(
                            instance,
                            args["namespace"],
                            services,
                            Thresholds(**args.get("alerts", {})),
                            critical=args.get("critical_alerts", False),
                        )
                    ]
                },
                opts=self._child,
            )

        # The provider's id of a namespaced object is `<namespace>/<name>`.
        self.route_name = route.id.apply(lambda resource_id: resource_id.rsplit("/", 1)[-1])
        self.workload_role_arn = role.arn if role else None
        self.register_outputs(
            {
                "namespace": self.namespace,
                "service_names": self.service_names,
                "route_name": self.route_name,
                "workload_role_arn": self.workload_role_arn,
            }
        )

    def _metadata(
        self,
        object_name: str,
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, pulumi.Input[str]] | None = None,
    ) -> k8s.meta.v1.ObjectMetaArgs:
        """Metadata of an object in the service's namespace (referenced by output, so created after it)."""
        return k8s.meta.v1.ObjectMetaArgs(
            name=object_name,
            namespace=self.namespace,
            labels={**COMMON_LABELS, **(labels or {})},
            annotations=annotations,
        )

    def _variant(
        self, name: str, args: KubernetesModelServiceArgs, variant: KubernetesVariantArgs, pod: PodInputs
    ) -> pulumi.Output[str]:
        """Deployment, Service, PDB and (with autoscaling) HPA of one variant; returns the Service's name.

        The shadow scales like the others: it receives a copy of all the traffic.
        """
        autoscaling = args.get("autoscaling")
        object_name = service_name(args["instance_name"], variant["name"])
        selector = {
            "app.kubernetes.io/name": args["app_name"],
            "app.kubernetes.io/instance": args["instance_name"],
            VARIANT_LABEL: variant["name"],
        }
        labels = {
            **selector,
            "app.kubernetes.io/version": version_label(variant.get("image_tag"), variant.get("image_digest")),
            "app.kubernetes.io/component": "model-server",
        }
        deployment = k8s.apps.v1.Deployment(
            f"{name}-{variant['name']}",
            metadata=self._metadata(object_name, labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                # With an HPA the replica count is the HPA's; declaring it here would fight it on every update.
                replicas=None if autoscaling else variant.get("replicas", 1),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_unavailable=0, max_surge=1),
                ),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels={**COMMON_LABELS, **labels}),
                    spec=pod_spec(pod, image_reference(variant), variant.get("environment", {}), selector),
                ),
            ),
            opts=self._child,
        )
        service = k8s.core.v1.Service(
            f"{name}-{variant['name']}",
            metadata=self._metadata(object_name, labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=selector,
                ports=[
                    k8s.core.v1.ServicePortArgs(name=PORT_NAME, port=pod.port, target_port=PORT_NAME, protocol="TCP")
                ],
            ),
            opts=self._child,
        )
        if autoscaling is not None:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-{variant['name']}",
                metadata=self._metadata(object_name, labels),
                spec=autoscaler_spec(autoscaling, _object_name(deployment)),
                opts=self._child,
            )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-{variant['name']}",
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
        args: KubernetesModelServiceArgs,
        identity: WorkloadIdentityArgs,
        secret_arns: Mapping[str, pulumi.Input[str]],
    ) -> aws.iam.Role:
        """An IAM role only this service's service account can assume, reading exactly the given secrets."""
        account_name, namespace = args["instance_name"], args["namespace"]
        oidc_provider_arn = identity["oidc_provider_arn"]
        issuer = oidc_provider_arn.split(":oidc-provider/", 1)[1]
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": oidc_provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{issuer}:sub": f"system:serviceaccount:{namespace}:{account_name}",
                            f"{issuer}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        }
        role = aws.iam.Role(
            f"{name}-workload",
            assume_role_policy=json.dumps(trust),
            description=f"Pods of {account_name} in namespace {namespace} (IRSA)",
            tags=identity.get("tags"),
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
                    "Resource": identity["secrets_kms_key_arn"],
                    "Condition": {
                        "StringEquals": {"kms:ViaService": f"secretsmanager.{identity['region']}.amazonaws.com"}
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


_KubernetesObject = (
    k8s.core.v1.Namespace
    | k8s.core.v1.ServiceAccount
    | k8s.core.v1.Secret
    | k8s.core.v1.Service
    | k8s.apps.v1.Deployment
)


def all_variants(args: KubernetesModelServiceArgs) -> list[KubernetesVariantArgs]:
    """The production variants, then the shadow."""
    shadow = args.get("shadow")
    return [*args["variants"], *([shadow] if shadow is not None else [])]


def image_reference(variant: KubernetesVariantArgs) -> str:
    """`:tag` or `@sha256:...`, to append to the repository URL."""
    digest = variant.get("image_digest")
    return f"@{digest}" if digest else f":{variant.get('image_tag')}"


def problems(args: KubernetesModelServiceArgs) -> list[Problem]:
    """Every rule for the arguments: how the service serves, and an identity when pods read secrets at run time."""
    found = serving_problems(args)
    fetched = sorted(name for name, spec in args.get("secrets", {}).items() if reads_at_run_time(spec))
    identity = args.get("workload_identity")
    if fetched and identity is None:
        found.append(
            (
                "workload_identity",
                f"required: the pods read secrets {fetched} from Secrets Manager at run time (rotated or set out of band)",
            )
        )
    if identity is not None and not re.fullmatch(OIDC_PROVIDER_PATTERN, identity["oidc_provider_arn"]):
        found.append(("workload_identity.oidc_provider_arn", f"must match {OIDC_PROVIDER_PATTERN}"))
    return found


def serving_problems(args: KubernetesModelServiceArgs) -> list[Problem]:
    """Kubernetes' naming rules, unprivileged ports, quantities, scaling bounds and alert thresholds.

    Reads no resource inputs, so modelplane's settings check a stack file with it before any resource exists.
    """
    found: list[Problem] = []
    if why := namespace_problem(args["namespace"]):
        found.append(("namespace", why))
    if not args["variants"]:
        found.append(("variants", "serve at least one production variant"))
    paths = [(f"variants[{index}]", variant) for index, variant in enumerate(args["variants"])]
    if "shadow" in args:
        paths.append(("shadow", args["shadow"]))
    seen: set[str] = set()
    for path, variant in paths:
        if variant["name"] in seen:
            found.append((f"{path}.name", f"duplicate variant name {variant['name']!r}"))
        seen.add(variant["name"])
        if why := object_name_problem(args["instance_name"], variant["name"]):
            found.append((f"{path}.name", why))
        if ("image_tag" in variant) == ("image_digest" in variant):
            found.append((f"{path}.image_tag", "set exactly one of image_tag or image_digest"))
        if variant.get("replicas", 1) < 1:
            found.append((f"{path}.replicas", "must be at least 1"))
        weight = variant.get("weight", 1)
        if not isinstance(weight, int) or weight < 0:
            found.append((f"{path}.weight", "Gateway API route weights are whole numbers, at least 0"))
    if not 1024 <= args.get("port", 8080) <= 65535:
        found.append(("port", "must be between 1024 and 65535: the pods run as a non-root user"))
    for path, value in (
        ("health_path", args.get("health_path", "/")),
        ("gateway.path_prefix", args["gateway"].get("path_prefix", "/")),
    ):
        if not value.startswith("/"):
            found.append((path, "must start with /"))
    if not re.fullmatch(NAMESPACE_PATTERN, args["gateway"]["gateway_namespace"]):
        found.append(("gateway.gateway_namespace", "must be a lowercase DNS label of at most 63 characters"))
    resources = args.get("resources", {})
    for field, pattern in (("cpu", CPU_PATTERN), ("cpu_limit", CPU_PATTERN), ("memory", MEMORY_PATTERN)):
        value = resources.get(field)
        if value is not None and not re.fullmatch(pattern, value):
            found.append((f"resources.{field}", f"must be a Kubernetes quantity matching {pattern}"))
    autoscaling = args.get("autoscaling")
    if autoscaling is not None:
        if not 1 <= autoscaling["min_replicas"] <= autoscaling["max_replicas"]:
            found.append(("autoscaling.min_replicas", "must be at least 1 and not exceed max_replicas"))
        metric = autoscaling.get("custom_metric")
        if metric is not None and not re.fullmatch(METRIC_NAME_PATTERN, metric):
            found.append(("autoscaling.custom_metric", f"must be a metric name matching {METRIC_NAME_PATTERN}"))
    return found + at("alerts", threshold_problems(args.get("alerts", {})))


def _object_name(resource: _KubernetesObject) -> pulumi.Output[str]:
    """The object's name as the API server has it, so that users of the name wait for the object."""

    def required(metadata: k8s.meta.v1.outputs.ObjectMeta) -> str:
        if metadata.name is None:
            raise ValueError("the API server returned an object without a name")
        return metadata.name

    return resource.metadata.apply(required)
