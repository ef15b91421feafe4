"""One served model on Kubernetes: restricted pods per variant, autoscaling, A/B and shadow traffic.

Traffic enters through a Gateway API `HTTPRoute` attached to a Gateway the cluster already runs:
production variants share it by weight, the shadow receives a mirrored copy whose answers are
dropped. A canary is moved by changing the weights and running `pulumi up` again.

Pods (`kubernetes_pods`), NetworkPolicies (`kubernetes_network`), the route (`kubernetes_routing`)
and the Prometheus alerts (`kubernetes_alerts`) are built in their own modules.

A variant pinned to a registered model version serves what the registry holds, as on SageMaker: the
version is resolved when deploying (`registered_models`), its image runs, its archive is fetched and
verified by an init container. With data capture, the serving runtime writes SageMaker's capture format
to the artifact bucket. Both act as the pods' IAM role (IRSA), allowed exactly that.
"""

import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ._common import check, component_options, image_reference, type_token
from .kubernetes_alerts import alert_group
from .kubernetes_names import service_name
from .kubernetes_network import network_policies
from .kubernetes_pods import (
    METRICS_PATH,
    MODEL_PACKAGE_ANNOTATION,
    MODEL_PACKAGE_VERSION_LABEL,
    MODEL_SHA256_ANNOTATION,
    PORT_NAME,
    PodInputs,
    RegisteredModel,
    autoscaler_spec,
    pod_spec,
    version_label,
)
from .kubernetes_routing import route_spec
from .kubernetes_service_args import (
    GatewayRouteArgs,
    KubernetesModelServiceArgs,
    KubernetesVariantArgs,
    PodAutoscalingArgs,
    PodResourcesArgs,
    ServedSecretArgs,
    TolerationArgs,
    WorkloadIdentityArgs,
    all_variants,
    pinned_variants,
    problems,
    reads_at_run_time,
)
from .monitoring_args import AlarmThresholdsArgs, Thresholds
from .naming import data_capture_prefix, secret_arn_env_var
from .registered_models import (
    MODEL_PACKAGE_TYPE,
    RegisteredVersion,
    partition_of,
    registered_version,
    version_arn,
)
from .sagemaker_endpoint_args import DEFAULT_SAMPLING_PERCENT, DataCaptureArgs, captured_modes

__all__ = [
    "AlarmThresholdsArgs",
    "DataCaptureArgs",
    "GatewayRouteArgs",
    "KubernetesModelService",
    "KubernetesModelServiceArgs",
    "KubernetesVariantArgs",
    "PodAutoscalingArgs",
    "PodResourcesArgs",
    "ServedSecretArgs",
    "TolerationArgs",
    "WorkloadIdentityArgs",
]

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


class KubernetesModelService(pulumi.ComponentResource):
    """Namespace, pods, Services, autoscaling, NetworkPolicies, route and alerts of one served model."""

    namespace: pulumi.Output[str]
    """The service's own namespace."""
    service_names: dict[str, pulumi.Output[str]]
    """Service per variant, the shadow's included."""
    route_name: pulumi.Output[str]
    """The HTTPRoute attached to the Gateway."""
    deployment_names: dict[str, pulumi.Output[str]]
    """Deployment per variant, the shadow's included."""
    workload_role_arn: pulumi.Output[str] | None
    """The pods' IAM role (IRSA) when they read secrets at run time, fetch registered versions or capture data:
    a reader for those secrets' `SecretReadPolicy`."""

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
        models = {
            variant["name"]: self._registered(args, variant.get("model_package_version", 0))
            for variant in pinned_variants(args)
        }
        capture = args.get("data_capture")
        # `problems` refuses secrets read at run time, pinned versions and capture without an identity.
        role = (
            self._workload_role(name, args, identity, fetched, models=list(models.values()), capture=capture)
            if (fetched or models or capture) and identity
            else None
        )
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
            aws_environment=_aws_environment(identity) if identity else (),
        )
        self.deployment_names: dict[str, pulumi.Output[str]] = {}
        self.service_names = {
            variant["name"]: self._variant(name, args, variant, pod, models.get(variant["name"]))
            for variant in all_variants(args)
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
                "deployment_names": self.deployment_names,
                "route_name": self.route_name,
                "workload_role_arn": self.workload_role_arn,
            }
        )

    def _metadata(
        self,
        object_name: str,
        labels: Mapping[str, pulumi.Input[str]] | None = None,
        annotations: Mapping[str, pulumi.Input[str]] | None = None,
    ) -> k8s.meta.v1.ObjectMetaArgs:
        """Metadata of an object in the service's namespace (referenced by output, so created after it)."""
        return k8s.meta.v1.ObjectMetaArgs(
            name=object_name,
            namespace=self.namespace,
            labels={**COMMON_LABELS, **(labels or {})},
            annotations=annotations,
        )

    def _registered(self, args: KubernetesModelServiceArgs, version: int) -> pulumi.Output[RegisteredVersion]:
        """The version's image, archive and sha256, read from the registry when deploying (a provider function)."""
        arn = pulumi.Output.from_input(args.get("model_package_group_arn", "")).apply(
            lambda group: version_arn(group, version)
        )
        described = aws.cloudcontrol.get_resource_output(
            type_name=MODEL_PACKAGE_TYPE, identifier=arn, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        return pulumi.Output.all(arn, described.properties, args["repository_url"]).apply(
            lambda parts: registered_version(parts[0], parts[1], parts[2])
        )

    def _tag_by_digest(self, repository_url: pulumi.Input[str], tag: str) -> pulumi.Output[str]:
        """`<repository>@<digest>` of the tag's image, read from ECR when deploying: the pod spec names the exact
        bytes, as the registry-version variants do, and a kubelet never resolves a tag on its own."""
        url = pulumi.Output.from_input(repository_url)
        found = aws.ecr.get_image_output(
            registry_id=url.apply(lambda value: value.split(".", 1)[0]),
            repository_name=url.apply(lambda value: value.split("/", 1)[1]),
            image_tag=tag,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        return pulumi.Output.concat(url, "@", found.image_digest)

    def _variant(
        self,
        name: str,
        args: KubernetesModelServiceArgs,
        variant: KubernetesVariantArgs,
        pod: PodInputs,
        registered: pulumi.Output[RegisteredVersion] | None,
    ) -> pulumi.Output[str]:
        """Deployment, Service, PDB and (with autoscaling) HPA of one variant; returns the Service's name.

        The shadow scales like the others: it receives a copy of all the traffic. A pinned variant runs the
        version's image, and its pod template names the version, so a new version rolls the Deployment.
        """
        autoscaling = args.get("autoscaling")
        object_name = service_name(args["instance_name"], variant["name"])
        selector = {
            "app.kubernetes.io/name": args["app_name"],
            "app.kubernetes.io/instance": args["instance_name"],
            VARIANT_LABEL: variant["name"],
        }
        tag, digest = variant.get("image_tag"), variant.get("image_digest")
        labels: dict[str, pulumi.Input[str]] = {
            **selector,
            "app.kubernetes.io/version": version_label(tag, digest),
            "app.kubernetes.io/component": "model-server",
        }
        image: pulumi.Input[str] = (
            pulumi.Output.concat(args["repository_url"], image_reference(tag, digest))
            if tag is None
            else self._tag_by_digest(args["repository_url"], tag)
        )
        model, annotations = None, None
        if registered is not None:
            image = registered.apply(lambda version: version.image)
            labels["app.kubernetes.io/version"] = registered.apply(lambda version: version_label(None, version.digest))
            labels[MODEL_PACKAGE_VERSION_LABEL] = str(variant.get("model_package_version"))
            model = RegisteredModel(
                arn=registered.apply(lambda version: version.arn),
                data_url=registered.apply(lambda version: version.data_url),
                sha256=registered.apply(lambda version: version.sha256),
            )
            annotations = {MODEL_PACKAGE_ANNOTATION: model.arn, MODEL_SHA256_ANNOTATION: model.sha256}
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
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels={**COMMON_LABELS, **labels}, annotations=annotations),
                    spec=pod_spec(
                        pod,
                        image,
                        variant.get("environment", {}),
                        selector,
                        model=model,
                        capture=_capture_environment(args, variant["name"]),
                    ),
                ),
            ),
            opts=self._child,
        )
        self.deployment_names[variant["name"]] = _object_name(deployment)
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
        *,
        models: list[pulumi.Output[RegisteredVersion]],
        capture: DataCaptureArgs | None,
    ) -> aws.iam.Role:
        """An IAM role only this service's service account can assume, allowed exactly what the pods do: read
        the given secrets, read the pinned versions' archives, write captured data below the endpoint's prefix."""
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
        # `kms:ViaService` names a service endpoint, whose domain is the partition's (`amazonaws.com.cn` in China).
        dns_suffix = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).dns_suffix
        if models:
            self._role_policy(f"{name}-workload-models", role, _archive_statements(args, identity, models, dns_suffix))
        if capture is not None:
            self._role_policy(f"{name}-workload-capture", role, _capture_statements(args, identity, dns_suffix))
        if not secret_arns:
            return role
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
                    "Resource": identity.get("secrets_kms_key_arn"),
                    "Condition": _via("secretsmanager", identity, dns_suffix),
                },
            ],
        }
        self._role_policy(f"{name}-workload-secrets", role, permissions["Statement"])
        return role

    def _role_policy(self, resource_name: str, role: aws.iam.Role, statements: pulumi.Input[list[Any]]) -> None:
        aws.iam.RolePolicy(
            resource_name,
            role=role.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
            opts=self._child,
        )


def _aws_environment(identity: WorkloadIdentityArgs) -> list[k8s.core.v1.EnvVarArgs]:
    """The region and STS's regional endpoint, for the SDK in containers that call AWS (IRSA's webhook adds the rest)."""
    return [
        k8s.core.v1.EnvVarArgs(name="AWS_REGION", value=identity["region"]),
        k8s.core.v1.EnvVarArgs(name="AWS_STS_REGIONAL_ENDPOINTS", value="regional"),
    ]


def _capture_environment(args: KubernetesModelServiceArgs, variant: str) -> list[k8s.core.v1.EnvVarArgs]:
    """The serving runtime's data capture settings (docs/containers.md); none without capture."""
    capture = args.get("data_capture")
    if capture is None:
        return []
    endpoint = args.get("endpoint_name", args["instance_name"])
    settings: dict[str, pulumi.Input[str]] = {
        "MODELPLANE_CAPTURE_DESTINATION": pulumi.Output.concat(
            "s3://", args.get("bucket_name", ""), "/", data_capture_prefix(endpoint).rstrip("/")
        ),
        "MODELPLANE_CAPTURE_ENDPOINT": endpoint,
        "MODELPLANE_CAPTURE_VARIANT": variant,
        "MODELPLANE_CAPTURE_SAMPLING_PERCENT": str(capture.get("sampling_percent", DEFAULT_SAMPLING_PERCENT)),
        "MODELPLANE_CAPTURE_MODES": ",".join(mode.lower() for mode in captured_modes(capture)),
        "MODELPLANE_CAPTURE_KMS_KEY_ID": args.get("kms_key_arn", ""),
    }
    return [k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in settings.items()]


def _via(service: str, identity: WorkloadIdentityArgs, dns_suffix: pulumi.Input[str]) -> dict[str, Any]:
    """The condition that a key is used only through `service` in the identity's region."""
    return {"StringEquals": {"kms:ViaService": pulumi.Output.concat(service, ".", identity["region"], ".", dns_suffix)}}


def _archive_statements(
    args: KubernetesModelServiceArgs,
    identity: WorkloadIdentityArgs,
    models: list[pulumi.Output[RegisteredVersion]],
    dns_suffix: pulumi.Input[str],
) -> pulumi.Output[list[Any]]:
    """The pinned versions' archives, object by object, and decryption with their key through S3 only."""
    objects = pulumi.Output.all(*models).apply(
        lambda versions: sorted({version.archive_object_arn(partition_of(version.arn)) for version in versions})
    )
    return pulumi.Output.all(objects, args.get("kms_key_arn", ""), _via("s3", identity, dns_suffix)).apply(
        lambda parts: [
            {"Sid": "ReadPinnedArchives", "Effect": "Allow", "Action": "s3:GetObject", "Resource": parts[0]},
            {
                "Sid": "DecryptArchivesThroughS3",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": parts[1],
                "Condition": parts[2],
            },
        ]
    )


def _capture_statements(
    args: KubernetesModelServiceArgs, identity: WorkloadIdentityArgs, dns_suffix: pulumi.Input[str]
) -> list[Any]:
    """Writes below the endpoint's own capture prefix only, encrypted with the stack key (SSE-KMS)."""
    endpoint = args.get("endpoint_name", args["instance_name"])
    key = args.get("kms_key_arn", "")
    return [
        {
            "Sid": "WriteOwnCapture",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": pulumi.Output.concat(args.get("bucket_arn", ""), "/", data_capture_prefix(endpoint), "*"),
            "Condition": {
                "StringEquals": {
                    "s3:x-amz-server-side-encryption": "aws:kms",
                    "s3:x-amz-server-side-encryption-aws-kms-key-id": key,
                }
            },
        },
        {
            "Sid": "EncryptCaptureThroughS3",
            "Effect": "Allow",
            "Action": "kms:GenerateDataKey",
            "Resource": key,
            "Condition": _via("s3", identity, dns_suffix),
        },
    ]


_KubernetesObject = (
    k8s.core.v1.Namespace
    | k8s.core.v1.ServiceAccount
    | k8s.core.v1.Secret
    | k8s.core.v1.Service
    | k8s.apps.v1.Deployment
)


def _object_name(resource: _KubernetesObject) -> pulumi.Output[str]:
    """The object's name as the API server has it, so that users of the name wait for the object."""

    def required(metadata: k8s.meta.v1.outputs.ObjectMeta) -> str:
        if metadata.name is None:
            raise ValueError("the API server returned an object without a name")
        return metadata.name

    return resource.metadata.apply(required)
