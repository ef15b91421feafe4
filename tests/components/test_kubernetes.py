"""Kubernetes serving: restricted pods, autoscaling, A/B and shadow routing, network isolation, IRSA.

Every check reads the recorded inputs of the dev, staging and prod stacks run under the mock runtime,
plus one variant of dev (secret kubeconfig, a secret set out of band, Prometheus objects off).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any

import pytest
from modelplane_components import kubernetes_names
from modelplane_components.kubernetes_network import NAMESPACE_NAME_LABEL
from modelplane_components.kubernetes_pods import (
    FETCH_COMMAND,
    FETCH_CONTAINER,
    MODEL_DATA_URL_ENV,
    MODEL_DIR,
    MODEL_MAX_ARCHIVE_BYTES_ENV,
    MODEL_MAX_BYTES_ENV,
    MODEL_MAX_FILES_ENV,
    MODEL_PACKAGE_ANNOTATION,
    MODEL_PACKAGE_ENV,
    MODEL_PACKAGE_VERSION_LABEL,
    MODEL_SHA256_ANNOTATION,
    MODEL_SHA256_ENV,
    MODEL_VOLUME,
    SECRETS_DIR,
    SERVER_HEALTH_PATH_ENV,
)
from modelplane_components.kubernetes_service import VARIANT_LABEL
from modelplane_components.kubernetes_service_args import (
    DEFAULT_MODEL_FILES_LIMIT,
    DEFAULT_MODEL_SIZE_LIMIT,
    storage_bytes,
)
from modelplane_components.naming import MODEL_SHA256_METADATA, data_capture_prefix, secret_arn_env_var

from modelplane.config.loader import SettingsError, settings_from_config
from modelplane.offline.engine_config import stand_in_secret_values
from modelplane.offline.graph import RecordedResource, Simulation, is_secret, reveal
from modelplane.settings import Endpoint, KubernetesServing, Platform, Settings, Variant
from modelplane_serving import fetch_model
from tests.stacks import SimulateStack, settings_of, stack_config, write_stack

STACKS = ["dev", "staging", "prod"]
TOKEN = "modelplane:index:KubernetesModelService"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
K8S_SECRET = "kubernetes:core/v1:Secret"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
NAMESPACE = "kubernetes:core/v1:Namespace"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
KEY = "aws:kms/key:Key"
ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
RECOMMENDED_LABELS = {f"app.kubernetes.io/{key}" for key in ("name", "instance", "version", "component", "part-of")}
# Pod Security "restricted": the volume types it admits.
ALLOWED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
OUT_OF_BAND_SECRET = "ranking-api-key"


def service_name(endpoint: Endpoint, variant: Variant) -> str:
    return kubernetes_names.service_name(endpoint.name, variant.name)


def image_reference(variant: Variant) -> str:
    return f"@{variant.image_digest}" if variant.image_digest else f":{variant.image_tag}"


def kubernetes_endpoint(settings: Settings) -> Endpoint:
    (endpoint,) = [e for e in settings.endpoints if e.platform is Platform.KUBERNETES]
    return endpoint


def serving_of(endpoint: Endpoint) -> KubernetesServing:
    assert endpoint.kubernetes is not None
    return endpoint.kubernetes


def service_component(simulation: Simulation) -> RecordedResource:
    return simulation.one(TOKEN)


def owned(simulation: Simulation, type_token: str) -> list[RecordedResource]:
    """Resources of a type created by the Kubernetes component."""
    return [r for r in simulation.descendants(service_component(simulation)) if r.type == type_token]


def named(simulation: Simulation, type_token: str, object_name: str) -> RecordedResource:
    (match,) = [r for r in owned(simulation, type_token) if r.inputs["metadata"]["name"] == object_name]
    return match


def pod_spec(deployment: RecordedResource) -> dict[str, Any]:
    return deployment.inputs["spec"]["template"]["spec"]


def all_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def restricted_violations(spec: dict[str, Any]) -> list[str]:
    """Every rule of the Pod Security "restricted" profile that a pod spec breaks."""
    problems = [f"{field} set" for field in ("hostNetwork", "hostPID", "hostIPC") if spec.get(field)]
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUME_TYPES:
            problems.append(f"volume {volume['name']} of type {sorted(kinds)}")
    pod_context = spec.get("securityContext", {})
    for container in all_containers(spec):
        name = container["name"]
        context = container.get("securityContext", {})
        if context.get("privileged"):
            problems.append(f"{name}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation not explicitly false")
        capabilities = context.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []):
            problems.append(f"{name}: capabilities do not drop ALL")
        if not set(capabilities.get("add", [])) <= {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities {capabilities['add']}")
        if any(port.get("hostPort") for port in container.get("ports", [])):
            problems.append(f"{name}: hostPort")
        if context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is not True:
            problems.append(f"{name}: runAsNonRoot not true")
        if context.get("runAsUser", pod_context.get("runAsUser")) == 0:
            problems.append(f"{name}: runs as uid 0")
        seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {}))
        if seccomp.get("type") not in {"RuntimeDefault", "Localhost"}:
            problems.append(f"{name}: seccomp profile {seccomp.get('type')}")
    if pod_context.get("runAsUser") == 0:
        problems.append("pod runs as uid 0")
    return problems


@pytest.mark.parametrize("stack", STACKS)
def test_every_pod_satisfies_the_restricted_profile(simulate_stack: SimulateStack, stack: str) -> None:
    deployments = owned(simulate_stack(stack), DEPLOYMENT)
    assert len(deployments) == len(kubernetes_endpoint(settings_of(stack)).all_variants)
    for deployment in deployments:
        assert restricted_violations(pod_spec(deployment)) == [], deployment.name


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda spec: spec.update(hostNetwork=True), "hostNetwork set"),
        (lambda spec: spec["volumes"].append({"name": "host", "hostPath": {"path": "/"}}), "volume host"),
        (lambda spec: spec["containers"][0]["securityContext"].pop("allowPrivilegeEscalation"), "allowPrivilege"),
        (lambda spec: spec["containers"][0]["securityContext"].update(privileged=True), "privileged"),
        (lambda spec: spec["containers"][0]["securityContext"]["capabilities"].update(drop=[]), "drop ALL"),
        (lambda spec: spec["containers"][0]["securityContext"]["capabilities"].update(add=["SYS_ADMIN"]), "adds"),
        (lambda spec: spec["containers"][0]["ports"][0].update(hostPort=80), "hostPort"),
        (lambda spec: spec["containers"][0]["securityContext"].update(runAsNonRoot=False), "runAsNonRoot"),
        (lambda spec: spec["securityContext"].update(runAsUser=0), "uid 0"),
        (lambda spec: spec["containers"][0]["securityContext"]["seccompProfile"].update(type="Unconfined"), "seccomp"),
        (lambda spec: spec.setdefault("initContainers", []).append({"name": "init"}), "init: allowPrivilege"),
    ],
)
def test_restricted_check_catches_each_violation(simulate_stack: SimulateStack, mutate: Any, expected: str) -> None:
    spec = copy.deepcopy(pod_spec(owned(simulate_stack("dev"), DEPLOYMENT)[0]))
    mutate(spec)
    assert any(expected in problem for problem in restricted_violations(spec))


@pytest.mark.parametrize("stack", STACKS)
def test_pods_follow_workload_hygiene(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    endpoint = kubernetes_endpoint(settings_of(stack))
    serving = serving_of(endpoint)
    repository_url = simulation.outputs["registry"]["families"][endpoint.family]["repository_url"]
    for variant in endpoint.all_variants:
        deployment = named(simulation, DEPLOYMENT, service_name(endpoint, variant))
        assert deployment.inputs["metadata"]["namespace"] == serving.namespace not in {"default", "kube-system"}
        spec = pod_spec(deployment)
        (container,) = spec["containers"]
        if variant.image_digest and variant.model_package_version is None:
            assert container["image"] == repository_url + image_reference(variant)
        else:  # the tag's image or the registered version's, by digest (tests below)
            assert container["image"].startswith(f"{repository_url}@sha256:")
        assert re.search(r"(:[\w][\w.-]*|@sha256:[0-9a-f]{64})$", container["image"])
        assert not container["image"].endswith(":latest")
        probes = [container[f"{kind}Probe"] for kind in ("startup", "readiness", "liveness")]
        assert all(probe["httpGet"] == {"path": serving.health_path, "port": "http"} for probe in probes)
        assert len({json.dumps(probe, sort_keys=True) for probe in probes}) == 3, "probes must differ"
        resources = container["resources"]
        assert {"cpu", "memory"} <= resources["requests"].keys() and {"cpu", "memory"} <= resources["limits"].keys()
        assert resources["requests"]["cpu"] == serving.resources.cpu
        assert spec["automountServiceAccountToken"] is False
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        tmp_volume = next(v for v in spec["volumes"] if v["name"] == "tmp")
        assert tmp_volume == {"name": "tmp", "emptyDir": {"sizeLimit": serving.resources.tmp_size_limit}}
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]  # noqa: S108 - the pod's emptyDir
        strategy = deployment.inputs["spec"]["strategy"]
        assert strategy["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
        zone_spread = [
            c for c in spec["topologySpreadConstraints"] if c["topologyKey"] == "topology.kubernetes.io/zone"
        ]
        assert (
            zone_spread
            and zone_spread[0]["labelSelector"]["matchLabels"] == deployment.inputs["spec"]["selector"]["matchLabels"]
        )
        labels = deployment.inputs["spec"]["template"]["metadata"]["labels"]
        assert labels.keys() >= RECOMMENDED_LABELS and labels["app.kubernetes.io/managed-by"] == "pulumi"
        assert labels[VARIANT_LABEL] == variant.name
        assert deployment.inputs["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert "app.kubernetes.io/version" not in deployment.inputs["spec"]["selector"]["matchLabels"], (
            "a new image must not change the immutable selector"
        )
    account = owned(simulation, SERVICE_ACCOUNT)[0]
    assert account.inputs["automountServiceAccountToken"] is False


def test_prod_pods_get_gpus_on_the_gpu_pool(simulate_stack: SimulateStack) -> None:
    for deployment in owned(simulate_stack("prod"), DEPLOYMENT):
        spec = pod_spec(deployment)
        assert spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
        assert spec["nodeSelector"] == {"node.kubernetes.io/instance-type": "g5.xlarge"}
        assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    for deployment in owned(simulate_stack("dev"), DEPLOYMENT):
        spec = pod_spec(deployment)
        assert "nvidia.com/gpu" not in spec["containers"][0]["resources"]["limits"]
        assert "nodeSelector" not in spec and "tolerations" not in spec


@pytest.mark.parametrize("stack", STACKS)
def test_namespace_enforces_the_restricted_profile(simulate_stack: SimulateStack, stack: str) -> None:
    (namespace,) = owned(simulate_stack(stack), NAMESPACE)
    labels = namespace.inputs["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert re.fullmatch(r"v\d+\.\d+|latest", labels[f"pod-security.kubernetes.io/{mode}-version"])
    assert namespace.inputs["metadata"]["name"] == serving_of(kubernetes_endpoint(settings_of(stack))).namespace


@pytest.mark.parametrize("stack", STACKS)
def test_every_kubernetes_resource_uses_the_stack_provider(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    (provider,) = simulation.of_type("pulumi:providers:kubernetes")
    settings = settings_of(stack)
    assert provider.inputs.get("context") == settings.kubernetes.context
    assert provider.inputs["enableServerSideApply"] == "true"
    assert "kubeconfig" not in provider.inputs, "no kubeconfig configured: the ambient one"
    kubernetes_resources = [r for r in simulation.resources if r.type.startswith("kubernetes:")]
    assert len(kubernetes_resources) >= 10
    for resource in kubernetes_resources:
        assert resource.provider.startswith(f"{provider.urn}::"), resource.name
        assert resource.parent == service_component(simulation).urn, resource.name


@pytest.mark.parametrize("stack", STACKS)
def test_autoscaler_and_disruption_budget_agree(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    endpoint = kubernetes_endpoint(settings_of(stack))
    autoscaling = endpoint.autoscaling
    assert autoscaling is not None, "every shipped Kubernetes endpoint autoscales"
    for variant in endpoint.all_variants:
        object_name = service_name(endpoint, variant)
        deployment = named(simulation, DEPLOYMENT, object_name)
        hpa = named(simulation, HPA, object_name).inputs
        pdb = named(simulation, PDB, object_name).inputs
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": object_name}
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (
            autoscaling.min_capacity,
            autoscaling.max_capacity,
        )
        assert "replicas" not in deployment.inputs["spec"], "the HPA owns the replica count"
        assert pdb["spec"]["maxUnavailable"] == 1
        assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
        assert pdb["spec"]["selector"] == deployment.inputs["spec"]["selector"]
        if stack != "dev":
            assert hpa["spec"]["minReplicas"] - pdb["spec"]["maxUnavailable"] >= 1, "a drain must leave a pod serving"


def test_autoscaling_metric_follows_settings(simulate_stack: SimulateStack) -> None:
    (dev_metric,) = owned(simulate_stack("dev"), HPA)[0].inputs["spec"]["metrics"]
    assert dev_metric == {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
    }
    (prod_metric,) = owned(simulate_stack("prod"), HPA)[0].inputs["spec"]["metrics"]
    assert prod_metric == {
        "type": "Pods",
        "pods": {
            "metric": {"name": "inference_requests_per_second"},
            "target": {"type": "AverageValue", "averageValue": "40"},
        },
    }
    behavior = owned(simulate_stack("prod"), HPA)[0].inputs["spec"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 60


def test_prod_keeps_at_least_two_replicas(simulate_stack: SimulateStack) -> None:
    hpas = owned(simulate_stack("prod"), HPA)
    assert hpas and all(hpa.inputs["spec"]["minReplicas"] >= 2 for hpa in hpas)


def test_dev_routes_by_weight_and_mirrors_to_the_shadow(simulate_stack: SimulateStack) -> None:
    simulation = simulate_stack("dev")
    endpoint = kubernetes_endpoint(settings_of("dev"))
    assert endpoint.shadow is not None
    (route,) = owned(simulation, ROUTE)
    (rule,) = route.inputs["spec"]["rules"]
    backends = {ref["name"]: ref for ref in rule["backendRefs"]}
    assert {name: ref["weight"] for name, ref in backends.items()} == {
        "recommender-two-tower-v5": 90,
        "recommender-two-tower-v6": 10,
    }
    (mirror,) = rule["filters"]
    assert mirror["type"] == "RequestMirror"
    assert mirror["requestMirror"]["backendRef"]["name"] == service_name(endpoint, endpoint.shadow)
    assert service_name(endpoint, endpoint.shadow) not in backends, "the shadow's answers must go nowhere"
    shares = simulation.outputs["endpoints"]["recommender"]["variants"]
    assert sum(variant["traffic_share"] for variant in shares.values()) == pytest.approx(1.0)
    assert shares["two-tower-v6"] == {"weight": 10, "traffic_share": pytest.approx(0.1)}


@pytest.mark.parametrize("stack", STACKS)
def test_route_reaches_each_variant_through_its_service(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    endpoint = kubernetes_endpoint(settings_of(stack))
    serving = serving_of(endpoint)
    (route,) = owned(simulation, ROUTE)
    spec = route.inputs["spec"]
    assert spec["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": serving.gateway.gateway_name,
            "namespace": serving.gateway.gateway_namespace,
        }
    ]
    assert spec["hostnames"] == serving.gateway.hostnames
    (rule,) = spec["rules"]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": serving.gateway.path_prefix}}]
    references = [*rule["backendRefs"], *(f["requestMirror"]["backendRef"] for f in rule.get("filters", []))]
    assert [ref["name"] for ref in references] == [service_name(endpoint, v) for v in endpoint.all_variants]
    for reference in references:
        service = named(simulation, SERVICE, reference["name"]).inputs
        deployment = named(simulation, DEPLOYMENT, reference["name"]).inputs
        (port,) = service["spec"]["ports"]
        assert reference["port"] == port["port"] == serving.port
        assert port["targetPort"] == deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["name"]
        assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    if endpoint.shadow is None:
        assert "filters" not in rule


@pytest.mark.parametrize("stack", STACKS)
def test_network_policies_deny_all_but_the_gateway_and_prometheus(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    endpoint = kubernetes_endpoint(settings_of(stack))
    serving = serving_of(endpoint)
    deny = named(simulation, NETWORK_POLICY, "default-deny").inputs["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    serving_policy = named(simulation, NETWORK_POLICY, f"{endpoint.name}-serving").inputs["spec"]
    assert set(serving_policy["policyTypes"]) == {"Ingress", "Egress"}
    for deployment in owned(simulation, DEPLOYMENT):
        pod_labels = deployment.inputs["spec"]["template"]["metadata"]["labels"]
        assert serving_policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    sources = []
    for rule in serving_policy["ingress"]:
        assert rule["ports"] == [{"port": serving.port, "protocol": "TCP"}]
        (peer,) = rule["from"]
        assert peer.keys() == {"namespaceSelector"}, "whole namespaces only, never IP blocks"
        sources.append(peer["namespaceSelector"]["matchLabels"][NAMESPACE_NAME_LABEL])
    assert sources == [serving.gateway.gateway_namespace, serving.prometheus_namespace]
    dns, *others = serving_policy["egress"]
    (dns_peer,) = dns["to"]
    assert dns_peer["namespaceSelector"]["matchLabels"] == {NAMESPACE_NAME_LABEL: "kube-system"}
    assert dns_peer["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {(53, "UDP"), (53, "TCP")}
    has_role = bool(owned(simulation, ROLE))
    assert [(rule["to"], rule["ports"]) for rule in others] == (
        [([{"ipBlock": {"cidr": "0.0.0.0/0"}}], [{"port": 443, "protocol": "TCP"}])] if has_role else []
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_secrets_are_mounted_read_only_files_from_a_secret_object(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    endpoint = kubernetes_endpoint(settings_of(stack))
    (secret,) = owned(simulation, K8S_SECRET)
    for recorded in (secret.inputs, secret.outputs):
        assert is_secret(recorded["stringData"])
        assert reveal(recorded["stringData"]) == stand_in_secret_values(stack_config(stack))
    for deployment in owned(simulation, DEPLOYMENT):
        spec = pod_spec(deployment)
        volume = next(v for v in spec["volumes"] if v["name"] == "secrets")
        assert volume["secret"]["secretName"] == secret.inputs["metadata"]["name"]
        assert [item["key"] for item in volume["secret"]["items"]] == endpoint.secrets
        assert volume["secret"]["defaultMode"] == 0o440
        container = spec["containers"][0]
        assert {"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True} in container["volumeMounts"]
        assert not any("valueFrom" in variable for variable in container.get("env", [])), "secrets as files, not env"
        assert not any(
            value in json.dumps(deployment.inputs) for value in stand_in_secret_values(stack_config(stack)).values()
        )


def test_staging_without_secrets_has_no_secret_object(simulate_stack: SimulateStack) -> None:
    simulation = simulate_stack("staging")
    assert owned(simulation, K8S_SECRET) == []
    for deployment in owned(simulation, DEPLOYMENT):
        assert all(v["name"] != "secrets" for v in pod_spec(deployment)["volumes"])


def test_rotating_secret_is_read_through_an_irsa_role(simulate_stack: SimulateStack) -> None:
    """In prod the token rotates, so the pods get its ARN and a role that reads exactly it."""
    simulation = simulate_stack("prod")
    settings = settings_of("prod")
    serving = serving_of(kubernetes_endpoint(settings))
    (role,) = owned(simulation, ROLE)
    (account,) = owned(simulation, SERVICE_ACCOUNT)
    assert account.inputs["metadata"]["annotations"] == {ROLE_ANNOTATION: role.outputs["arn"]}
    assert role.inputs["tags"] == settings.base_tags("modelplane", "prod")
    oidc = settings.kubernetes.oidc_provider_arn
    assert oidc is not None
    issuer = oidc.split(":oidc-provider/")[1]
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Federated": oidc}
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"] == {
        "StringEquals": {
            f"{issuer}:sub": f"system:serviceaccount:{serving.namespace}:{account.inputs['metadata']['name']}",
            f"{issuer}:aud": "sts.amazonaws.com",
        }
    }
    token_arn = simulation.outputs["secrets"]["feature-store-token"]
    (role_policy,) = [p for p in owned(simulation, ROLE_POLICY) if p.name.endswith("-workload-secrets")]
    statements = {s["Sid"]: s for s in json.loads(role_policy.inputs["policy"])["Statement"]}
    assert statements["ReadOwnSecrets"]["Resource"] == [token_arn]
    assert set(statements["ReadOwnSecrets"]["Action"]) == {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
    }
    decrypt = statements["DecryptThroughSecretsManager"]
    assert decrypt["Resource"] == simulation.one(KEY).outputs["arn"]
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}
    for deployment in owned(simulation, DEPLOYMENT):
        env = pod_spec(deployment)["containers"][0]["env"]
        assert {"name": secret_arn_env_var("feature-store-token"), "value": token_arn} in env
    (secret_policy,) = [p for p in simulation.of_type(SECRET_POLICY) if p.inputs["secretArn"] == token_arn]
    readers = json.loads(secret_policy.inputs["policy"])["Statement"][0]
    assert readers["Effect"] == "Allow" and role.outputs["arn"] in readers["Principal"]["AWS"]


def test_static_secret_is_not_read_at_run_time(simulate_stack: SimulateStack) -> None:
    """Dev's token is mounted: its pods' role (they capture data) may read no secret, and they get no ARN."""
    simulation = simulate_stack("dev")
    (role,) = owned(simulation, ROLE)
    assert [policy.name for policy in owned(simulation, ROLE_POLICY)] == ["recommender-workload-capture"]
    (account,) = owned(simulation, SERVICE_ACCOUNT)
    assert account.inputs["metadata"]["annotations"] == {ROLE_ANNOTATION: role.outputs["arn"]}
    for deployment in owned(simulation, DEPLOYMENT):
        names = [variable["name"] for variable in pod_spec(deployment)["containers"][0]["env"]]
        assert names[0] == SERVER_HEALTH_PATH_ENV
        assert not [name for name in names if name.endswith("_SECRET_ARN")]


@pytest.mark.parametrize("stack", STACKS)
def test_alerts_watch_error_rate_and_p99_latency_per_variant(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    endpoint = kubernetes_endpoint(settings_of(stack))
    (rule_object,) = owned(simulation, PROMETHEUS_RULE)
    (group,) = rule_object.inputs["spec"]["groups"]
    alerts = {(rule["alert"], rule["labels"]["variant"]): rule for rule in group["rules"]}
    anomaly = ("ModelTrafficAnomaly", "ModelLatencyAnomaly") if stack != "dev" else ()
    assert alerts.keys() == {
        (alert, variant.name)
        for alert in ("ModelServerErrorRateHigh", "ModelServerLatencyP99High", *anomaly)
        for variant in endpoint.all_variants
    }
    for variant in endpoint.all_variants:
        selector = f'service="{service_name(endpoint, variant)}"'
        errors = alerts[("ModelServerErrorRateHigh", variant.name)]
        latency = alerts[("ModelServerLatencyP99High", variant.name)]
        assert selector in errors["expr"] and 'code=~"5.."' in errors["expr"]
        assert errors["expr"].endswith(f"> {endpoint.alarms.error_rate_percent}")
        assert selector in latency["expr"] and "histogram_quantile(0.99," in latency["expr"]
        assert latency["expr"].endswith(f"> {endpoint.alarms.latency_p99_ms}")
        paging = stack == "prod" and variant is not endpoint.shadow
        assert errors["labels"]["severity"] == ("critical" if paging else "warning")
    (monitor,) = owned(simulation, SERVICE_MONITOR)
    (scrape,) = monitor.inputs["spec"]["endpoints"]
    for service in owned(simulation, SERVICE):
        assert monitor.inputs["spec"]["selector"]["matchLabels"].items() <= service.inputs["metadata"]["labels"].items()
        assert scrape["port"] == service.inputs["spec"]["ports"][0]["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_stack_outputs_describe_the_service(simulate_stack: SimulateStack, stack: str) -> None:
    simulation = simulate_stack(stack)
    endpoint = kubernetes_endpoint(settings_of(stack))
    output = simulation.outputs["endpoints"][endpoint.name]
    assert output["platform"] == "kubernetes"
    assert output["namespace"] == serving_of(endpoint).namespace
    assert output["services"] == {v.name: service_name(endpoint, v) for v in endpoint.all_variants}
    assert output["route_name"] == owned(simulation, ROUTE)[0].inputs["metadata"]["name"]
    assert output["variants"] == {
        variant: {"weight": next(v.weight for v in endpoint.variants if v.name == variant), "traffic_share": share}
        for variant, share in endpoint.traffic_shares().items()
    }
    assert output["shadow_variant"] == (endpoint.shadow.name if endpoint.shadow else None)


@pytest.fixture(scope="module")
def cluster_variant(simulate_stack: SimulateStack, tmp_path_factory: pytest.TempPathFactory) -> Simulation:
    """dev with a secret kubeconfig, a secret set out of band, no autoscaling and no prometheus-operator objects."""
    config = stack_config("dev")
    config["modelplane:secrets"][OUT_OF_BAND_SECRET] = {"description": "Set by the vendor's onboarding script."}
    recommender = next(e for e in config["modelplane:endpoints"] if e["name"] == "recommender")
    recommender["secrets"] = [*recommender["secrets"], OUT_OF_BAND_SECRET]
    recommender["kubernetes"].update(service_monitor=False, prometheus_rules=False)
    del recommender["autoscaling"]
    recommender["shadow"]["instance_count"] = 2
    path = write_stack(tmp_path_factory.mktemp("stacks"), config, "dev")
    # The kubeconfig and one secret's value as `pulumi config set --secret` would have set them; the other
    # secret is set out of band, so the stack has no value for it.
    secret_values = {"kubeconfig": "apiVersion: v1\nkind: Config\n", "feature-store-token": "stand-in-token"}
    return simulate_stack(path, secret_values=secret_values)


def test_kubeconfig_from_secret_config_stays_secret(cluster_variant: Simulation) -> None:
    (provider,) = cluster_variant.of_type("pulumi:providers:kubernetes")
    assert is_secret(provider.inputs["kubeconfig"])
    assert reveal(provider.inputs["kubeconfig"]) == "apiVersion: v1\nkind: Config\n"


def test_secret_set_out_of_band_is_read_by_arn_not_mounted(cluster_variant: Simulation) -> None:
    (secret,) = owned(cluster_variant, K8S_SECRET)
    assert set(reveal(secret.inputs["stringData"])) == {"feature-store-token"}
    (role_policy,) = [p for p in owned(cluster_variant, ROLE_POLICY) if p.name.endswith("-workload-secrets")]
    statements = {s["Sid"]: s for s in json.loads(role_policy.inputs["policy"])["Statement"]}
    assert statements["ReadOwnSecrets"]["Resource"] == [cluster_variant.outputs["secrets"][OUT_OF_BAND_SECRET]]
    for deployment in owned(cluster_variant, DEPLOYMENT):
        env = pod_spec(deployment)["containers"][0]["env"]
        assert [variable["name"] for variable in env][:2] == [
            SERVER_HEALTH_PATH_ENV,
            secret_arn_env_var(OUT_OF_BAND_SECRET),
        ]


def test_without_autoscaling_each_deployment_declares_its_replicas(cluster_variant: Simulation) -> None:
    assert owned(cluster_variant, HPA) == []
    replicas = {d.inputs["metadata"]["name"]: d.inputs["spec"]["replicas"] for d in owned(cluster_variant, DEPLOYMENT)}
    assert replicas == {
        "recommender-two-tower-v5": 1,
        "recommender-two-tower-v6": 1,
        "recommender-two-tower-v7-shadow": 2,
    }
    assert len(owned(cluster_variant, PDB)) == 3


def test_without_prometheus_objects_only_the_gateway_gets_in(cluster_variant: Simulation) -> None:
    assert owned(cluster_variant, SERVICE_MONITOR) == owned(cluster_variant, PROMETHEUS_RULE) == []
    policy = named(cluster_variant, NETWORK_POLICY, "recommender-serving").inputs["spec"]
    (ingress,) = policy["ingress"]
    assert ingress["from"] == [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "gateway-system"}}}]


def validated(config: dict[str, Any], stack: str) -> Settings:
    """The settings of an edited stack config, its `secure:` values counting as encrypted, as in a stack file."""
    secret_keys = frozenset(key for key, value in config.items() if isinstance(value, dict) and "secure" in value)
    return settings_from_config(config, source="stack", stack=stack, secret_keys=secret_keys)


def kubernetes_problems(stack: str, change: Any) -> list[str]:
    """The settings problems after changing the stack's Kubernetes endpoint (a dict) in place."""
    config = stack_config(stack)
    endpoints = config["modelplane:endpoints"]
    index = next(i for i, e in enumerate(endpoints) if e.get("platform") == "kubernetes")
    change(config, endpoints[index])
    with pytest.raises(SettingsError) as caught:
        validated(config, stack)
    return [line.removeprefix("stack: ") for line in caught.value.lines]


@pytest.mark.parametrize(
    ("stack", "change", "expected"),
    [
        (
            "prod",
            lambda config, e: e["autoscaling"].update(min_capacity=1),
            "modelplane:endpoints[1].autoscaling.min_capacity: prod keeps at least 2 replicas per variant",
        ),
        (
            "prod",
            lambda config, e: (e.pop("autoscaling"), e["variants"][0].update(instance_count=1)),
            "modelplane:endpoints[1].variants[0].instance_count: prod keeps at least 2 replicas per variant",
        ),
        (
            "dev",
            lambda config, e: e["variants"][1].update(weight=10.5),
            "modelplane:endpoints[1].variants[1].weight: Gateway API route weights are whole numbers",
        ),
        (
            "dev",
            lambda config, e: e["variants"][0].update(name="Two-Tower-V5"),
            "modelplane:endpoints[1].variants[0].name: Deployment and Service name recommender-Two-Tower-V5 must be a lowercase DNS label",
        ),
        (
            "dev",
            lambda config, e: config["modelplane:kubernetes"].update(render_yaml_to_directory="rendered"),
            "modelplane:endpoints[1].secrets: kubernetes.render_yaml_to_directory would write the Kubernetes Secret",
        ),
        (
            "prod",
            lambda config, e: config["modelplane:kubernetes"].pop("oidc_provider_arn"),
            "modelplane:endpoints[1].secrets[0]: 'feature-store-token' rotates, so the pods re-read it from Secrets Manager through IRSA",
        ),
        (
            "dev",
            lambda config, e: e["kubernetes"].setdefault("resources", {}).update(model_size_limit="4GB"),
            "modelplane:endpoints[1].kubernetes.resources.model_size_limit: must match ^\\d+(Ki|Mi|Gi|Ti)?$",
        ),
        (
            "dev",
            lambda config, e: e["kubernetes"].setdefault("resources", {}).update(model_size_limit="0"),
            "modelplane:endpoints[1].kubernetes.resources.model_size_limit: must be at least 1Mi",
        ),
        (
            "dev",
            lambda config, e: e["kubernetes"].setdefault("resources", {}).update(model_files_limit=0),
            "modelplane:endpoints[1].kubernetes.resources.model_files_limit: must be at least 1",
        ),
        (
            "staging",
            lambda config, e: config["modelplane:endpoints"].append({**copy.deepcopy(e), "name": "recommender-b"}),
            "modelplane:endpoints[3].kubernetes.namespace: namespace 'recommender' belongs to another endpoint",
        ),
    ],
)
def test_settings_reject_kubernetes_mistakes_at_their_path(stack: str, change: Any, expected: str) -> None:
    problems = kubernetes_problems(stack, change)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_prod_allows_two_replicas_without_autoscaling() -> None:
    config = stack_config("prod")
    recommender = next(e for e in config["modelplane:endpoints"] if e.get("platform") == "kubernetes")
    recommender.pop("autoscaling")
    recommender["variants"][0]["instance_count"] = 2
    validated(config, "prod")


# --- The component on its own, from hand-made arguments ----------------------------------------

IRSA_PROVIDER = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/TEAM"
MOUNTED_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:model-config-abc123"
FETCHED_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-token-def456"


def service_scenario() -> None:
    """Two weighted variants and a shadow, a custom-metric autoscaler, one mounted and one fetched secret,
    no ServiceMonitor: a team's own cluster and key."""
    import pulumi
    import pulumi_aws as aws
    import pulumi_kubernetes as k8s
    from modelplane_components.kubernetes_service import KubernetesModelService

    KubernetesModelService(
        "ranker",
        {
            "instance_name": "ranker",
            "app_name": "ranking",
            "namespace": "ranking",
            "repository_url": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ranking",
            "variants": [
                {"name": "blue", "image_tag": "4.0.0", "weight": 3},
                {"name": "green", "image_digest": "sha256:" + "c" * 64, "weight": 1},
            ],
            "shadow": {"name": "next", "image_tag": "5.0.0-rc1"},
            "gateway": {"gateway_name": "edge", "gateway_namespace": "edge-system", "path_prefix": "/rank"},
            "port": 9000,
            "autoscaling": {
                "min_replicas": 2,
                "max_replicas": 5,
                "custom_metric": "requests_per_second",
                "custom_metric_target": 2.5,
            },
            "service_monitor": False,
            "alerts": {
                "error_rate_percent": 2.0,
                "latency_p99_ms": 80.0,
                "anomaly_detection": {"band_width": 2.5, "period_seconds": 600, "evaluation_periods": 4},
            },
            "critical_alerts": True,
            "secrets": {
                "model-config": {"arn": MOUNTED_ARN, "value": pulumi.Output.secret("config-value")},
                "api-token": {"arn": FETCHED_ARN, "value": "token-value", "rotates": True},
            },
            "workload_identity": {
                "oidc_provider_arn": IRSA_PROVIDER,
                "secrets_kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/team",
                "region": "eu-west-1",
            },
        },
        opts=pulumi.ResourceOptions(
            providers=[aws.Provider("aws", region="eu-west-1"), k8s.Provider("cluster", context="team")]
        ),
    )


@pytest.fixture(scope="module")
def component() -> Simulation:
    from tests.harness import run_isolated

    return run_isolated("tests.components.test_kubernetes:service_scenario")


def china_scenario() -> None:
    """A service in China (Beijing): its AWS provider is in the `aws-cn` partition, whose service endpoints
    end in `amazonaws.com.cn`; it reads a secret at run time and captures data."""
    import pulumi
    import pulumi_aws as aws
    import pulumi_kubernetes as k8s
    from modelplane_components.kubernetes_service import KubernetesModelService

    KubernetesModelService(
        "ranker",
        {
            "instance_name": "ranker",
            "app_name": "ranking",
            "namespace": "ranking",
            "repository_url": "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/ranking",
            "variants": [{"name": "blue", "image_tag": "4.0.0"}],
            "gateway": {"gateway_name": "edge", "gateway_namespace": "edge-system", "path_prefix": "/rank"},
            "secrets": {"api-token": {"arn": CHINA_SECRET_ARN, "rotates": True}},
            "bucket_name": "ranking-capture",
            "bucket_arn": "arn:aws-cn:s3:::ranking-capture",
            "kms_key_arn": "arn:aws-cn:kms:cn-north-1:123456789012:key/team",
            "data_capture": {"sampling_percent": 10},
            "workload_identity": {
                "oidc_provider_arn": "arn:aws-cn:iam::123456789012:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/TEAM",
                "secrets_kms_key_arn": "arn:aws-cn:kms:cn-north-1:123456789012:key/team",
                "region": "cn-north-1",
            },
        },
        opts=pulumi.ResourceOptions(
            providers=[aws.Provider("aws", region="cn-north-1"), k8s.Provider("cluster", context="team")]
        ),
    )


CHINA_SECRET_ARN = "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:api-token-def456"


def test_keys_are_used_through_the_services_of_the_providers_partition() -> None:
    """`kms:ViaService` names a service endpoint: in China, `<service>.cn-north-1.amazonaws.com.cn`."""
    from tests.harness import run_isolated

    simulation = run_isolated("tests.components.test_kubernetes:china_scenario")
    conditions = {
        statement["Sid"]: statement["Condition"]
        for policy in simulation.of_type(ROLE_POLICY)
        for statement in json.loads(policy.inputs["policy"])["Statement"]
        if "Condition" in statement and statement["Action"] != "s3:PutObject"
    }
    assert conditions == {
        "DecryptThroughSecretsManager": {
            "StringEquals": {"kms:ViaService": "secretsmanager.cn-north-1.amazonaws.com.cn"}
        },
        "EncryptCaptureThroughS3": {"StringEquals": {"kms:ViaService": "s3.cn-north-1.amazonaws.com.cn"}},
    }


def test_route_splits_by_the_given_weights_and_mirrors_to_the_shadow(component: Simulation) -> None:
    (route,) = component.of_type(ROUTE)
    (rule,) = route.inputs["spec"]["rules"]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/rank"}}]
    assert [(ref["name"], ref["port"], ref["weight"]) for ref in rule["backendRefs"]] == [
        ("ranker-blue", 9000, 3),
        ("ranker-green", 9000, 1),
    ]
    assert rule["filters"][0]["requestMirror"]["backendRef"] == {"name": "ranker-next", "port": 9000}


def test_only_the_gateway_gets_in_without_a_service_monitor(component: Simulation) -> None:
    (serving,) = [p for p in component.of_type(NETWORK_POLICY) if p.inputs["metadata"]["name"] == "ranker-serving"]
    sources = [
        peer["namespaceSelector"]["matchLabels"][NAMESPACE_NAME_LABEL]
        for rule in serving.inputs["spec"]["ingress"]
        for peer in rule["from"]
    ]
    assert sources == ["edge-system"]
    assert component.of_type(SERVICE_MONITOR) == []


def test_a_rotating_secret_is_also_fetched_at_run_time(component: Simulation) -> None:
    """Values given are mounted; a rotating one is also read by ARN, its mounted copy would go stale."""
    (secret,) = component.of_type(K8S_SECRET)
    assert reveal(secret.inputs["stringData"]) == {"api-token": "token-value", "model-config": "config-value"}
    for deployment in component.of_type(DEPLOYMENT):
        (container,) = pod_spec(deployment)["containers"]
        assert {"name": secret_arn_env_var("api-token"), "value": FETCHED_ARN} in container["env"]
    (role,) = component.of_type(ROLE)
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert (
        trust["Condition"]["StringEquals"]["oidc.eks.eu-west-1.amazonaws.com/id/TEAM:sub"]
        == "system:serviceaccount:ranking:ranker"
    )
    (permissions,) = component.of_type(ROLE_POLICY)
    assert json.loads(permissions.inputs["policy"])["Statement"][0]["Resource"] == [FETCHED_ARN]


def test_autoscaler_holds_the_custom_metric_in_milli_units(component: Simulation) -> None:
    for autoscaler in component.of_type(HPA):
        (metric,) = autoscaler.inputs["spec"]["metrics"]
        assert metric["pods"]["target"] == {"type": "AverageValue", "averageValue": "2500m"}
        assert (autoscaler.inputs["spec"]["minReplicas"], autoscaler.inputs["spec"]["maxReplicas"]) == (2, 5)


def test_alerts_page_for_production_variants_only(component: Simulation) -> None:
    (rule,) = component.of_type(PROMETHEUS_RULE)
    rules = rule.inputs["spec"]["groups"][0]["rules"]
    severities = {(r["labels"]["variant"], r["labels"]["severity"]) for r in rules if "Anomaly" not in r["alert"]}
    assert severities == {("blue", "critical"), ("green", "critical"), ("next", "warning")}


def test_anomaly_alerts_warn_for_every_variant_with_the_given_band(component: Simulation) -> None:
    (rule,) = component.of_type(PROMETHEUS_RULE)
    anomalies = [r for r in rule.inputs["spec"]["groups"][0]["rules"] if "Anomaly" in r["alert"]]
    assert {(r["alert"], r["labels"]["variant"]) for r in anomalies} == {
        (alert, variant)
        for alert in ("ModelTrafficAnomaly", "ModelLatencyAnomaly")
        for variant in ("blue", "green", "next")
    }
    for alert in anomalies:
        assert alert["labels"]["severity"] == "warning", "unusual is not broken: never a page"
        assert alert["expr"].endswith("> 2.5")
        assert "offset 6d23h30m" in alert["expr"]
        assert alert["for"] == "2400s", "every one of the 4 periods of 600 s"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"namespace": "kube-system"}, "namespace: 'kube-system' is a system namespace"),
        (
            {"variants": [{"name": "Blue", "image_tag": "1"}]},
            "variants[0].name: Deployment and Service name ranker-Blue must be a lowercase DNS label",
        ),
        (
            {"variants": [{"name": "blue", "image_tag": "1", "weight": 0.5}]},
            "variants[0].weight: Gateway API route weights are whole numbers",
        ),
        (
            {"variants": [{"name": "blue", "image_tag": "1.0 beta"}]},
            "variants[0].image_tag: must match the ECR image tag pattern",
        ),
        ({"shadow": {"name": "next", "image_digest": "sha256:abc"}}, "shadow.image_digest: must match sha256:"),
        ({"port": 80}, "port: must be between 1024 and 65535"),
        ({"secrets": {"token": {"arn": FETCHED_ARN}}}, "workload_identity: required: the pods read secrets ['token']"),
        ({"resources": {"memory": "2GB"}}, "resources.memory: must be a Kubernetes quantity"),
        ({"resources": {"model_size_limit": "2GB"}}, "resources.model_size_limit: must be a Kubernetes quantity"),
        ({"resources": {"tmp_size_limit": "512Ki"}}, "resources.tmp_size_limit: must be at least 1Mi"),
        ({"resources": {"model_files_limit": 0}}, "resources.model_files_limit: must be a whole number from 1"),
        (
            {"alerts": {"anomaly_detection": {"period_seconds": 45}}},
            "alerts.anomaly_detection.period_seconds: must be 10, 20, 30 or a multiple of 60",
        ),
    ],
)
def test_the_component_refuses_what_kubernetes_would(change: dict[str, Any], message: str) -> None:
    from modelplane_components.kubernetes_service import KubernetesModelService

    base = {
        "instance_name": "ranker",
        "app_name": "ranking",
        "namespace": "ranking",
        "repository_url": "r",
        "variants": [{"name": "blue", "image_tag": "1"}],
        "gateway": {"gateway_name": "edge", "gateway_namespace": "edge-system"},
    }
    with pytest.raises(ValueError, match=re.escape(message)):
        KubernetesModelService("bad", {**base, **change})  # type: ignore[typeddict-item]


# --- Registered versions and data capture (issue 25) --------------------------------------------


def pinned_deployment(simulation: Simulation) -> RecordedResource:
    (deployment,) = [d for d in owned(simulation, DEPLOYMENT) if pod_spec(d).get("initContainers")]
    return deployment


def registry_answer(simulation: Simulation, arn: str) -> dict[str, Any]:
    """What the registry said of a version when the stack was deployed (the mocks' answer, as the invoke recorded)."""
    from modelplane.offline.mocks import RealisticMocks

    region = simulation.outputs["registry"]["key_arn"].split(":")[3]
    return json.loads(RealisticMocks(region).model_package(arn)["properties"])


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_a_pinned_variant_fetches_and_verifies_its_registered_archive(
    simulate_stack: SimulateStack, stack: str
) -> None:
    simulation = simulate_stack(stack)
    endpoint = kubernetes_endpoint(settings_of(stack))
    (variant,) = endpoint.variants
    group_arn = simulation.outputs["registry"]["families"][endpoint.family]["model_package_group_arn"]
    arn = group_arn.replace(":model-package-group/", ":model-package/") + f"/{variant.model_package_version}"
    (container,) = registry_answer(simulation, arn)["InferenceSpecification"]["Containers"]
    sha256 = registry_answer(simulation, arn)["CustomerMetadataProperties"][MODEL_SHA256_METADATA]

    deployment = pinned_deployment(simulation)
    template = deployment.inputs["spec"]["template"]
    spec = template["spec"]
    (fetch,) = spec["initContainers"]
    (server,) = spec["containers"]
    assert fetch["name"] == FETCH_CONTAINER and fetch["args"] == [FETCH_COMMAND]
    assert fetch["image"] == server["image"] == container["Image"], "one image, by digest, the version's"
    assert {variable["name"]: variable["value"] for variable in fetch["env"]} == {
        MODEL_DATA_URL_ENV: container["ModelDataUrl"],
        MODEL_SHA256_ENV: sha256,
        MODEL_PACKAGE_ENV: arn,
        MODEL_MAX_ARCHIVE_BYTES_ENV: str(2 << 30),
        MODEL_MAX_BYTES_ENV: str(2 << 30),
        MODEL_MAX_FILES_ENV: "10000",
        "AWS_REGION": "eu-west-1",
        "AWS_STS_REGIONAL_ENDPOINTS": "regional",
    }
    assert fetch["securityContext"] == server["securityContext"], "the init container is as restricted"
    assert "nvidia.com/gpu" not in fetch["resources"]["limits"]
    assert {"name": MODEL_VOLUME, "emptyDir": {"sizeLimit": "2088Mi"}} in spec["volumes"]
    assert {"name": MODEL_VOLUME, "mountPath": MODEL_DIR} in fetch["volumeMounts"]
    assert {"name": MODEL_VOLUME, "mountPath": MODEL_DIR, "readOnly": True} in server["volumeMounts"]
    assert template["metadata"]["labels"][MODEL_PACKAGE_VERSION_LABEL] == str(variant.model_package_version)
    assert template["metadata"]["annotations"] == {MODEL_PACKAGE_ANNOTATION: arn, MODEL_SHA256_ANNOTATION: sha256}
    assert restricted_violations(spec) == []

    (models,) = [p for p in owned(simulation, ROLE_POLICY) if p.name.endswith("-workload-models")]
    statements = {s["Sid"]: s for s in json.loads(models.inputs["policy"])["Statement"]}
    bucket, key = container["ModelDataUrl"].removeprefix("s3://").split("/", 1)
    assert statements["ReadPinnedArchives"]["Action"] == "s3:GetObject"
    assert statements["ReadPinnedArchives"]["Resource"] == [f"arn:aws:s3:::{bucket}/{key}"], "that object only"
    assert statements["DecryptArchivesThroughS3"]["Resource"] == simulation.one(KEY).outputs["arn"]
    assert statements["DecryptArchivesThroughS3"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    }
    invoked = [invoke for invoke in simulation.invokes if invoke.token == "aws:cloudcontrol/getResource:getResource"]
    assert invoked and all(invoke.provider for invoke in invoked), "resolved through the stack's AWS provider"


@pytest.mark.parametrize("stack", STACKS)
def test_capturing_pods_write_sagemakers_layout_under_their_own_prefix(
    simulate_stack: SimulateStack, stack: str
) -> None:
    simulation = simulate_stack(stack)
    endpoint = kubernetes_endpoint(settings_of(stack))
    capture_name = simulation.outputs["endpoints"][endpoint.name]["endpoint_name"]
    assert capture_name == f"{endpoint.name}-{stack}"
    bucket = simulation.outputs["registry"]["bucket_name"]
    key_arn = simulation.one(KEY).outputs["arn"]
    for variant in endpoint.all_variants:
        deployment = named(simulation, DEPLOYMENT, service_name(endpoint, variant))
        env = {v["name"]: v["value"] for v in pod_spec(deployment)["containers"][0]["env"]}
        assert {name: value for name, value in env.items() if name.startswith("MODELPLANE_CAPTURE_")} == {
            "MODELPLANE_CAPTURE_DESTINATION": f"s3://{bucket}/{data_capture_prefix(capture_name).rstrip('/')}",
            "MODELPLANE_CAPTURE_ENDPOINT": capture_name,
            "MODELPLANE_CAPTURE_VARIANT": variant.name,
            "MODELPLANE_CAPTURE_SAMPLING_PERCENT": str(endpoint.data_capture.sampling_percent),
            "MODELPLANE_CAPTURE_MODES": "input,output",
            "MODELPLANE_CAPTURE_KMS_KEY_ID": key_arn,
        }
    (capture,) = [p for p in owned(simulation, ROLE_POLICY) if p.name.endswith("-workload-capture")]
    write, encrypt = json.loads(capture.inputs["policy"])["Statement"]
    bucket_arn = simulation.outputs["registry"]["bucket_arn"]
    assert (write["Action"], write["Resource"]) == ("s3:PutObject", f"{bucket_arn}/data-capture/{capture_name}/*")
    assert write["Condition"] == {
        "StringEquals": {
            "s3:x-amz-server-side-encryption": "aws:kms",
            "s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn,
        }
    }
    assert (encrypt["Action"], encrypt["Resource"]) == ("kms:GenerateDataKey", key_arn)
    table = simulation.outputs["endpoints"][endpoint.name]["capture_table"]
    assert table["table"] == f"{capture_name.replace('-', '_')}_capture", "the Athena table covers it too"


def test_a_new_version_changes_the_pod_template_and_so_rolls_the_deployment(
    simulate_stack: SimulateStack, tmp_path: Any
) -> None:
    config = stack_config("staging")
    recommender = next(e for e in config["modelplane:endpoints"] if e.get("platform") == "kubernetes")
    recommender["variants"][0]["model_package_version"] = 4
    before = pinned_deployment(simulate_stack("staging")).inputs["spec"]
    after = pinned_deployment(simulate_stack(write_stack(tmp_path, config, "staging"))).inputs["spec"]
    assert before["selector"] == after["selector"], "the selector is immutable and stays"
    assert before["template"] != after["template"]
    assert after["template"]["metadata"]["labels"][MODEL_PACKAGE_VERSION_LABEL] == "4"
    assert after["template"]["metadata"]["annotations"][MODEL_PACKAGE_ANNOTATION].endswith("/recommender-staging/4")


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"ModelApprovalStatus": "PendingManualApproval"}, "is PendingManualApproval, not Approved"),
        ({"CustomerMetadataProperties": {}}, "records no sha256 of its archive"),
        (
            {"InferenceSpecification": {"Containers": [{"Image": "other/repo@sha256:" + "a" * 64}]}},
            "not one of 123456789012.dkr.ecr.eu-west-1.amazonaws.com/ranking by digest",
        ),
    ],
)
def test_a_version_that_cannot_be_served_stops_the_deployment(properties: dict[str, Any], message: str) -> None:
    from modelplane_components.registered_models import registered_version

    repository = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ranking"
    served = {
        "ModelApprovalStatus": "Approved",
        "InferenceSpecification": {
            "Containers": [{"Image": f"{repository}@sha256:{'b' * 64}", "ModelDataUrl": "s3://b/ranking/m.tar.gz"}]
        },
        "CustomerMetadataProperties": {MODEL_SHA256_METADATA: "c" * 64},
    }
    assert registered_version("arn", json.dumps(served), repository).sha256 == "c" * 64
    with pytest.raises(ValueError, match=re.escape(message)):
        registered_version("arn", json.dumps({**served, **properties}), repository)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda config: config.pop("modelplane:kubernetes"),
            "modelplane:endpoints[1].variants[0].model_package_version: the pods fetch the registered archive as"
            " their IAM role (IRSA)",
        ),
        (
            lambda config: config["modelplane:endpoints"][1]["variants"][0].update(
                model_artifact="recommender/m.tar.gz"
            ),
            "modelplane:endpoints[1].variants[0].model_artifact: on Kubernetes a model archive is served as a"
            " registered version",
        ),
    ],
)
def test_settings_refuse_what_the_pods_could_not_fetch(change: Any, expected: str) -> None:
    config = stack_config("dev")
    config["modelplane:endpoints"][1]["variants"][0]["model_package_version"] = 2
    change(config)
    with pytest.raises(SettingsError, match=re.escape(expected)):
        settings_from_config(config, source="x", stack="dev")


def test_an_image_named_by_tag_runs_by_the_digest_ecr_gives_for_it(simulate_stack: SimulateStack) -> None:
    simulation = simulate_stack("dev")
    endpoint = kubernetes_endpoint(settings_of("dev"))
    repository_url = simulation.outputs["registry"]["families"][endpoint.family]["repository_url"]
    by_tag = [variant for variant in endpoint.all_variants if variant.image_tag]
    assert by_tag
    for variant in by_tag:
        (container,) = pod_spec(named(simulation, DEPLOYMENT, service_name(endpoint, variant)))["containers"]
        digest = hashlib.sha256(f"{repository_url.split('/', 1)[1]}:{variant.image_tag}".encode()).hexdigest()
        assert container["image"] == f"{repository_url}@sha256:{digest}", "the mocked ECR's digest of that tag"
    lookups = [invoke for invoke in simulation.invokes if invoke.token == "aws:ecr/getImage:getImage"]
    assert len(lookups) == len(by_tag) and all(invoke.provider for invoke in lookups)


# --- Ephemeral storage: nothing a pod writes fills its node's disk ----------------------------------------


def quantity_bytes(quantity: str) -> int:
    """Bytes of a quantity as the API server reads it (the binary suffixes modelplane writes, or none)."""
    number, unit = re.fullmatch(r"(\d+)([KMGT]i)?", quantity).groups()  # type: ignore[union-attr]
    return int(number) << {None: 0, "Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40}[unit]


def volume_limits(spec: dict[str, Any]) -> dict[str, int]:
    return {
        volume["name"]: quantity_bytes(volume["emptyDir"]["sizeLimit"])
        for volume in spec["volumes"]
        if "emptyDir" in volume
    }


@pytest.mark.parametrize("stack", STACKS)
def test_no_pod_can_fill_its_nodes_disk(simulate_stack: SimulateStack, stack: str) -> None:
    """Every emptyDir has a sizeLimit; every container requests and limits the ephemeral storage of the
    volumes it fills (the model's for the server too: it stays on the pod's disk) and some for its logs; and
    fetch-model's own limits refuse an archive before its volumes would overflow (and the kubelet evict)."""
    for deployment in owned(simulate_stack(stack), DEPLOYMENT):
        spec = pod_spec(deployment)
        assert all("emptyDir" not in volume or "sizeLimit" in volume["emptyDir"] for volume in spec["volumes"])
        limits = volume_limits(spec)
        for container in all_containers(spec):
            resources = container["resources"]
            storage = resources["limits"]["ephemeral-storage"]
            assert resources["requests"]["ephemeral-storage"] == storage, "reserved as much as it may use"
            filled = sum(limits[mount["name"]] for mount in container["volumeMounts"] if mount["name"] in limits)
            assert quantity_bytes(storage) >= filled + (128 << 20), container["name"]
        for fetch in spec.get("initContainers", []):
            env = {variable["name"]: variable["value"] for variable in fetch["env"]}
            assert int(env[MODEL_MAX_ARCHIVE_BYTES_ENV]) < limits["fetch-scratch"]
            files = int(env[MODEL_MAX_FILES_ENV])
            assert int(env[MODEL_MAX_BYTES_ENV]) + files * 4096 <= limits[MODEL_VOLUME], "a block per file spare"
            scratch = next(mount for mount in fetch["volumeMounts"] if mount["mountPath"] == "/tmp")  # noqa: S108
            assert scratch["name"] == "fetch-scratch", "the archive never lands in the server's small /tmp"


def test_storage_follows_the_endpoints_limits(simulate_stack: SimulateStack, tmp_path: Any) -> None:
    """A bigger model: fetch-model's limits, the volumes and the requests all grow; /tmp as set."""
    config = stack_config("staging")
    recommender = next(e for e in config["modelplane:endpoints"] if e.get("platform") == "kubernetes")
    recommender["kubernetes"].setdefault("resources", {}).update(
        model_size_limit="10Gi", model_files_limit=256, tmp_size_limit="1Gi"
    )
    spec = pod_spec(pinned_deployment(simulate_stack(write_stack(tmp_path, config, "staging"))))
    (fetch,) = spec["initContainers"]
    (server,) = spec["containers"]
    env = {variable["name"]: variable["value"] for variable in fetch["env"]}
    assert (env[MODEL_MAX_ARCHIVE_BYTES_ENV], env[MODEL_MAX_BYTES_ENV], env[MODEL_MAX_FILES_ENV]) == (
        str(10 << 30),
        str(10 << 30),
        "256",
    )
    assert {volume["name"]: volume["emptyDir"]["sizeLimit"] for volume in spec["volumes"] if "emptyDir" in volume} == {
        "tmp": "1024Mi",
        MODEL_VOLUME: "10241Mi",  # 10Gi and 256 blocks of 4Ki
        "fetch-scratch": "10241Mi",  # the archive, rounded up to a whole Mi
    }
    assert fetch["resources"]["limits"]["ephemeral-storage"] == "20610Mi"  # scratch, model, 128Mi own
    assert server["resources"]["limits"]["ephemeral-storage"] == "11393Mi"  # tmp, model, 128Mi own


def test_an_unpinned_pod_has_only_its_small_tmp(simulate_stack: SimulateStack) -> None:
    for deployment in owned(simulate_stack("dev"), DEPLOYMENT):
        spec = pod_spec(deployment)
        assert [volume["name"] for volume in spec["volumes"] if "emptyDir" in volume] == ["tmp"]
        assert spec["containers"][0]["resources"]["requests"]["ephemeral-storage"] == "384Mi"


def test_fetch_model_and_the_component_default_to_the_same_limits() -> None:
    """The component always sets them; outside it (a hand-written pod), the image's defaults are the same."""
    assert (storage_bytes(DEFAULT_MODEL_SIZE_LIMIT), DEFAULT_MODEL_FILES_LIMIT) == (
        fetch_model.DEFAULT_MAX_BYTES,
        fetch_model.DEFAULT_MAX_FILES,
    )
    assert (MODEL_MAX_ARCHIVE_BYTES_ENV, MODEL_MAX_BYTES_ENV, MODEL_MAX_FILES_ENV) == (
        fetch_model.MAX_ARCHIVE_BYTES_ENV,
        fetch_model.MAX_BYTES_ENV,
        fetch_model.MAX_FILES_ENV,
    )
