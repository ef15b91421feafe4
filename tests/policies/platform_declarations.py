"""The platform program's declarations: a platform team's notebooks, queues, security groups, cluster RBAC...

Each resource is declared by hand with the pulumi-aws 7 and pulumi-kubernetes 4 SDKs, as a platform
team writes them, so its inputs reach the pack exactly as the SDK sends them (camelCase, strings
or objects). Each insecure resource records (`case`) the policy that must stop it in production;
compliant resources record None and must draw no mandatory diagnostic. Data written as a program, like
`breadth_program.py`: `python -m tests.policies.platform_program platform` runs it under the mock runtime.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.policies.platform_program import ACCOUNT, IMAGE, KEY, REGION, SG_ID, SUBNET, TAGS, VPC, case

PARTNER = "210987654321"
NOTEBOOK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/research-notebooks"
SHARED_BUCKET = "ml-platform-shared-datasets"
NAMESPACE = "batch"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


# --- Kubernetes ----------------------------------------------------------------------------------


def kubernetes() -> None:
    import pulumi_kubernetes as k8s

    meta = k8s.meta.v1.ObjectMetaArgs
    patch_meta = k8s.meta.v1.ObjectMetaPatchArgs
    rbac = k8s.rbac.v1

    def subjects() -> list[Any]:
        return [
            rbac.SubjectArgs(kind="Group", name="ml-engineers", api_group="rbac.authorization.k8s.io"),
            rbac.SubjectArgs(kind="ServiceAccount", name="argo-workflows", namespace=NAMESPACE),
        ]

    def cluster_binding(name: str, role: str, expected: str | None) -> None:
        rbac.ClusterRoleBinding(
            case(name, expected),
            metadata=meta(name=name),
            role_ref=rbac.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=role),
            subjects=subjects(),
        )

    def role(name: str, rules: list[Any], expected: str | None, *, cluster: bool = False) -> None:
        if cluster:
            rbac.ClusterRole(case(name, expected), metadata=meta(name=name), rules=rules)
        else:
            rbac.Role(case(name, expected), metadata=meta(name=name, namespace=NAMESPACE), rules=rules)

    def rule(groups: list[str], resources: list[str], verbs: list[str]) -> Any:
        return rbac.PolicyRuleArgs(api_groups=groups, resources=resources, verbs=verbs)

    cluster_binding("crb-ml-engineers-admin", "cluster-admin", "kubernetes-rbac-no-cluster-admin-binding")
    cluster_binding("crb-ml-engineers-view", "view", None)
    cluster_binding("crb-ml-engineers-edit", "edit", "kubernetes-rbac-no-cluster-wide-secret-reads")
    rbac.RoleBinding(
        case("rb-argo-cluster-admin", "kubernetes-rbac-no-cluster-admin-binding"),
        metadata=meta(name="argo-admin", namespace=NAMESPACE),
        role_ref=rbac.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="cluster-admin"),
        subjects=subjects(),
    )
    role("role-pipeline-anything", [rule(["batch"], ["jobs"], ["*"])], "kubernetes-rbac-no-wildcards")
    role(
        "clusterrole-operator-everything",
        [rule(["*"], ["*"], ["get", "list", "watch"])],
        "kubernetes-rbac-no-wildcards",
        cluster=True,
    )
    role(
        "clusterrole-secret-reader",
        [rule([""], ["secrets"], ["get", "list", "watch"])],
        "kubernetes-rbac-no-cluster-wide-secret-reads",
        cluster=True,
    )
    role(
        "role-rbac-editor",
        [rule(["rbac.authorization.k8s.io"], ["roles"], ["get", "update", "escalate"])],
        "kubernetes-rbac-no-escalation-verbs",
    )
    role(
        "clusterrole-binder",
        [rule(["rbac.authorization.k8s.io"], ["clusterrolebindings", "clusterroles"], ["create", "bind"])],
        "kubernetes-rbac-no-escalation-verbs",
        cluster=True,
    )
    role(
        "clusterrole-impersonator",
        [rule([""], ["users", "groups", "serviceaccounts"], ["impersonate"])],
        "kubernetes-rbac-no-escalation-verbs",
        cluster=True,
    )
    role("role-job-reader", [rule(["batch"], ["jobs", "cronjobs"], ["get", "list", "watch"])], None)
    # Server-side apply patches of the same kinds set the rules and role they list.
    rbac.ClusterRolePatch(
        case("clusterrole-patch-anything", "kubernetes-rbac-no-wildcards"),
        metadata=patch_meta(name="ml-operator"),
        rules=[rbac.PolicyRulePatchArgs(api_groups=["*"], resources=["*"], verbs=["*"])],
    )
    rbac.ClusterRolePatch(
        case("clusterrole-patch-viewer", None),
        metadata=patch_meta(name="ml-viewer"),
        rules=[
            rbac.PolicyRulePatchArgs(
                api_groups=["serving.kserve.io"], resources=["inferenceservices"], verbs=["get", "list"]
            )
        ],
    )
    rbac.ClusterRoleBindingPatch(
        case("crb-patch-operator-admin", "kubernetes-rbac-no-cluster-admin-binding"),
        metadata=patch_meta(name="ml-operator"),
        role_ref=rbac.RoleRefPatchArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="cluster-admin"),
        subjects=[rbac.SubjectPatchArgs(kind="ServiceAccount", name="ml-operator", namespace=NAMESPACE)],
    )
    rbac.RolePatch(
        case("role-patch-escalator", "kubernetes-rbac-no-escalation-verbs"),
        metadata=patch_meta(name="ml-admin", namespace=NAMESPACE),
        rules=[
            rbac.PolicyRulePatchArgs(
                api_groups=["rbac.authorization.k8s.io"], resources=["roles"], verbs=["escalate", "bind"]
            )
        ],
    )

    def service(
        name: str, kind: str, expected: str | None, annotations: dict[str, str] | None = None, **spec: Any
    ) -> None:
        k8s.core.v1.Service(
            case(name, expected),
            metadata=meta(name=name, namespace=NAMESPACE, annotations=annotations),
            spec=k8s.core.v1.ServiceSpecArgs(
                type=kind,
                selector={"app": "batch-scorer"},
                ports=[k8s.core.v1.ServicePortArgs(port=443, target_port=8443)],
                **spec,
            ),
        )

    service(
        "svc-scorer-public-nlb",
        "LoadBalancer",
        "kubernetes-load-balancer-not-public",
        {"service.beta.kubernetes.io/aws-load-balancer-type": "external"},
    )
    service(
        "svc-scorer-open-ranges",
        "LoadBalancer",
        "kubernetes-load-balancer-not-public",
        load_balancer_source_ranges=["0.0.0.0/0"],
    )
    service("svc-scorer-node-port", "NodePort", "kubernetes-no-node-ports-in-production")
    service(
        "svc-scorer-internal-nlb",
        "LoadBalancer",
        None,
        {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"},
    )
    service("svc-scorer-cluster-ip", "ClusterIP", None)

    def ingress(name: str, tls: list[Any] | None, expected: str | None) -> None:
        backend = k8s.networking.v1.IngressBackendArgs(
            service=k8s.networking.v1.IngressServiceBackendArgs(
                name="batch-scorer", port=k8s.networking.v1.ServiceBackendPortArgs(number=443)
            )
        )
        k8s.networking.v1.Ingress(
            case(name, expected),
            metadata=meta(name=name, namespace=NAMESPACE),
            spec=k8s.networking.v1.IngressSpecArgs(
                ingress_class_name="nginx",
                tls=tls,
                rules=[
                    k8s.networking.v1.IngressRuleArgs(
                        host=host,
                        http=k8s.networking.v1.HTTPIngressRuleValueArgs(
                            paths=[k8s.networking.v1.HTTPIngressPathArgs(path="/", path_type="Prefix", backend=backend)]
                        ),
                    )
                    for host in ("score.ml.example.com", "reports.ml.example.com")
                ],
            ),
        )

    ingress("ingress-scorer-plain-http", None, "kubernetes-ingress-tls")
    ingress(
        "ingress-scorer-one-host-tls",
        [k8s.networking.v1.IngressTLSArgs(hosts=["score.ml.example.com"], secret_name="score-tls")],
        "kubernetes-ingress-tls",
    )
    ingress(
        "ingress-scorer-tls",
        [
            k8s.networking.v1.IngressTLSArgs(
                hosts=["score.ml.example.com", "reports.ml.example.com"], secret_name="ml-tls"
            )
        ],
        None,
    )
    for name, labels, expected in (
        (
            "ns-gpu-drivers-privileged",
            {"pod-security.kubernetes.io/enforce": "privileged"},
            "kubernetes-namespace-pod-security",
        ),
        ("ns-feature-jobs-unlabelled", {"team": "features"}, "kubernetes-namespace-pod-security"),
        ("ns-batch-restricted", {"pod-security.kubernetes.io/enforce": "restricted"}, None),
    ):
        k8s.core.v1.Namespace(case(name, expected), metadata=meta(name=name, labels=labels))
    workloads(k8s)


def workloads(k8s: Any) -> None:
    core, apps, batch = k8s.core.v1, k8s.apps.v1, k8s.batch.v1
    meta = k8s.meta.v1.ObjectMetaArgs

    def hardened(**context: Any) -> Any:
        return core.SecurityContextArgs(
            **{
                "allow_privilege_escalation": False,
                "read_only_root_filesystem": True,
                "capabilities": core.CapabilitiesArgs(drop=["ALL"]),
                **context,
            }
        )

    def container(name: str = "scorer", **changes: Any) -> Any:
        settings = {
            "name": name,
            "image": IMAGE,
            "security_context": hardened(),
            "resources": core.ResourceRequirementsArgs(
                requests={"cpu": "500m", "memory": "1Gi", "ephemeral-storage": "1Gi"},
                limits={"cpu": "1", "memory": "1Gi", "ephemeral-storage": "1Gi"},
            ),
            "volume_mounts": [core.VolumeMountArgs(name="scratch", mount_path="/scratch")],
            **changes,
        }
        return core.ContainerArgs(**settings)

    def pod(**changes: Any) -> Any:
        settings = {
            "automount_service_account_token": False,
            "security_context": core.PodSecurityContextArgs(
                run_as_non_root=True, run_as_user=10001, seccomp_profile=core.SeccompProfileArgs(type="RuntimeDefault")
            ),
            "containers": [container()],
            "volumes": [core.VolumeArgs(name="scratch", empty_dir=core.EmptyDirVolumeSourceArgs(size_limit="512Mi"))],
            "restart_policy": "OnFailure",
            **changes,
        }
        return core.PodSpecArgs(**settings)

    def template(spec: Any) -> Any:
        return core.PodTemplateSpecArgs(metadata=meta(labels={"app": "batch-scorer"}), spec=spec)

    selector = k8s.meta.v1.LabelSelectorArgs(match_labels={"app": "batch-scorer"})
    restricted = "kubernetes-pod-security-restricted"
    batch.Job(
        case("job-backfill", None),
        metadata=meta(name="backfill", namespace=NAMESPACE),
        spec=batch.JobSpecArgs(template=template(pod())),
    )
    batch.CronJob(
        case("cronjob-retrain", None),
        metadata=meta(name="retrain", namespace=NAMESPACE),
        spec=batch.CronJobSpecArgs(
            schedule="0 3 * * *",
            job_template=batch.JobTemplateSpecArgs(spec=batch.JobSpecArgs(template=template(pod()))),
        ),
    )
    batch.Job(
        case("job-unbounded-scratch", "kubernetes-ephemeral-storage-limits"),
        metadata=meta(name="export-features", namespace=NAMESPACE),
        spec=batch.JobSpecArgs(
            template=template(pod(volumes=[core.VolumeArgs(name="scratch", empty_dir=core.EmptyDirVolumeSourceArgs())]))
        ),
    )
    batch.Job(
        case("job-privileged-init", restricted),
        metadata=meta(name="prepare-data", namespace=NAMESPACE),
        spec=batch.JobSpecArgs(
            template=template(
                pod(
                    init_containers=[
                        container(
                            "mount-fuse", security_context=hardened(privileged=True, allow_privilege_escalation=True)
                        )
                    ]
                )
            )
        ),
    )
    batch.CronJob(
        case("cronjob-runs-as-root", restricted),
        metadata=meta(name="nightly-export", namespace=NAMESPACE),
        spec=batch.CronJobSpecArgs(
            schedule="0 1 * * *",
            job_template=batch.JobTemplateSpecArgs(
                spec=batch.JobSpecArgs(
                    template=template(pod(containers=[container(security_context=hardened(run_as_user=0))]))
                )
            ),
        ),
    )
    apps.StatefulSet(
        case("statefulset-privileged", restricted),
        metadata=meta(name="feature-cache", namespace=NAMESPACE),
        spec=apps.StatefulSetSpecArgs(
            service_name="feature-cache",
            selector=selector,
            template=template(
                pod(containers=[container(security_context=hardened(privileged=True))], restart_policy="Always")
            ),
        ),
    )
    apps.DaemonSet(
        case("daemonset-host-network", restricted),
        metadata=meta(name="gpu-metrics", namespace=NAMESPACE),
        spec=apps.DaemonSetSpecArgs(
            selector=selector, template=template(pod(host_network=True, restart_policy="Always"))
        ),
    )
    apps.ReplicaSet(
        case("replicaset-host-path", restricted),
        metadata=meta(name="model-cache", namespace=NAMESPACE),
        spec=apps.ReplicaSetSpecArgs(
            selector=selector,
            template=template(
                pod(
                    volumes=[
                        core.VolumeArgs(
                            name="scratch", host_path=core.HostPathVolumeSourceArgs(path="/var/cache/models")
                        )
                    ],
                    restart_policy="Always",
                )
            ),
        ),
    )
    core.Pod(
        case("pod-debugger-ephemeral", restricted),
        metadata=meta(name="scorer-debug", namespace=NAMESPACE),
        spec=pod(
            ephemeral_containers=[
                core.EphemeralContainerArgs(
                    name="debug",
                    image=IMAGE,
                    security_context=hardened(capabilities=core.CapabilitiesArgs(add=["SYS_ADMIN"], drop=["ALL"])),
                )
            ],
            restart_policy="Always",
        ),
    )
    core.ReplicationController(
        case("replicationcontroller-escalation", restricted),
        metadata=meta(name="legacy-scorer", namespace=NAMESPACE),
        spec=core.ReplicationControllerSpecArgs(
            selector={"app": "batch-scorer"},
            template=template(
                pod(
                    containers=[container(security_context=hardened(allow_privilege_escalation=True))],
                    restart_policy="Always",
                )
            ),
        ),
    )

    # A pod template, a list kind's items and a Service patch are judged as the kinds they hold or patch.
    core.PodTemplate(
        case("debug-template-host-pid", restricted),
        metadata=meta(name="debug-template-host-pid", namespace=NAMESPACE),
        template=template(pod(host_pid=True)),
    )
    core.PodTemplate(
        case("debug-template", None),
        metadata=meta(name="debug-template", namespace=NAMESPACE),
        template=template(pod()),
    )
    apps.DaemonSetList(
        case("node-agents-privileged", restricted),
        items=[
            {
                "metadata": {"name": "node-agent", "namespace": NAMESPACE},
                "spec": {
                    "selector": {"match_labels": {"app": "scorer"}},
                    "template": template(
                        pod(containers=[container(security_context=hardened(privileged=True))], restart_policy="Always")
                    ),
                },
            }
        ],
    )
    core.ServicePatch(
        case("scorer-service-patched-public", "kubernetes-load-balancer-not-public"),
        metadata=k8s.meta.v1.ObjectMetaPatchArgs(name="scorer", namespace=NAMESPACE),
        spec={"type": "LoadBalancer", "ports": [{"port": 443, "target_port": 8443}]},
    )
    # A Helm release's values configure the pods its chart renders.
    k8s.helm.v3.Release(
        case("node-exporter-release-on-the-host", "kubernetes-pod-security-restricted"),
        chart="node-exporter",
        namespace=NAMESPACE,
        repository_opts={"repo": "https://prometheus-community.github.io/helm-charts"},
        version="4.37.0",
        values={"hostNetwork": True, "hostPID": True, "securityContext": {"privileged": True, "runAsUser": 0}},
    )
    k8s.helm.v3.Release(
        case("scorer-release-hardened", None),
        chart="scorer",
        namespace=NAMESPACE,
        repository_opts={"repo": "https://charts.example.com"},
        version="1.4.0",
        values={
            "replicaCount": 2,
            "podSecurityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "runAsNonRoot": True,
                "capabilities": {"drop": ["ALL"]},
            },
            "resources": {
                "requests": {"cpu": "500m", "memory": "1Gi", "ephemeral-storage": "1Gi"},
                "limits": {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "1Gi"},
            },
        },
    )


# --- AWS ---------------------------------------------------------------------------------------------


def iam() -> None:
    import pulumi_aws as aws

    escalation, negated, cross = (
        "iam-no-privilege-escalation",
        "iam-no-allow-with-not-action",
        "iam-cross-account-trust-conditions",
    )
    aws.iam.Policy(
        case("policy-pipeline-passrole-any", escalation),
        policy=document(allow(["sagemaker:CreateTrainingJob", "iam:PassRole"])),
        tags=TAGS,
    )
    aws.iam.Policy(
        case("policy-pipeline-passrole-mixed-case", escalation), policy=document(allow("IAM:passrole")), tags=TAGS
    )
    aws.iam.Policy(
        case("policy-pipeline-pass-wildcard", escalation),
        policy=document(allow("iam:Pass*", f"arn:aws:iam::{ACCOUNT}:role/*")),
        tags=TAGS,
    )
    aws.iam.Policy(
        case("policy-ops-not-resource", negated),
        policy=document(
            {"Effect": "Allow", "Action": "s3:*", "NotResource": f"arn:aws:s3:::{SHARED_BUCKET}/restricted/*"}
        ),
        tags=TAGS,
    )
    aws.iam.Policy(
        case("policy-ops-not-action", negated),
        policy=document({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}),
        tags=TAGS,
    )
    aws.iam.Policy(
        case("policy-data-admin-mixed-case", "iam-no-admin-statements"),
        policy=document(allow(["S3:*", "Athena:*"])),
        tags=TAGS,
    )
    aws.iam.UserPolicy(
        case("userpolicy-ci-access-keys", escalation),
        user="ci-bot",
        policy=document(allow(["iam:CreateAccessKey", "iam:ListAccessKeys"])),
    )
    aws.iam.GroupPolicy(
        case("grouppolicy-ml-put-user-policy", escalation),
        group="ml-engineers",
        policy=document(allow("iam:PutUserPolicy", f"arn:aws:iam::{ACCOUNT}:user/*")),
    )
    trust_sagemaker = document(
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    )
    aws.iam.Role(
        case("role-training-attach-policies", escalation),
        assume_role_policy=trust_sagemaker,
        inline_policies=[
            aws.iam.RoleInlinePolicyArgs(name="self-service", policy=document(allow("iam:AttachRolePolicy")))
        ],
        tags=TAGS,
    )
    aws.iam.RolePolicy(
        case("rolepolicy-object-document", escalation),
        role="training",
        policy={
            "Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Action": ["iam:updateassumerolepolicy"], "Resource": "*"},
        },  # type: ignore[arg-type]  # the engine takes the object
    )

    def trusting(name: str, principal: str, expected: str | None, condition: dict[str, Any] | None = None) -> None:
        statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
        if condition:
            statement["Condition"] = condition
        aws.iam.Role(case(name, expected), assume_role_policy=document(statement), tags=TAGS)

    trusting("role-partner-root", f"arn:aws:iam::{PARTNER}:root", cross)
    trusting("role-analytics-account-role", f"arn:aws:iam::{PARTNER}:role/analytics-reader", cross)
    trusting(
        "role-partner-with-external-id",
        f"arn:aws:iam::{PARTNER}:root",
        None,
        {"StringEquals": {"sts:ExternalId": "7f3a-vendor-monitoring"}},
    )
    trusting("role-org-account", PARTNER, None, {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}})
    aws.iam.Role(case("role-training-scoped", None), assume_role_policy=trust_sagemaker, tags=TAGS)
    aws.iam.RolePolicy(
        case("rolepolicy-pipeline-scoped-passrole", None),
        role="pipeline",
        policy=document(
            allow(
                "iam:PassRole",
                f"arn:aws:iam::{ACCOUNT}:role/training-execution",
                Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            allow(
                ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob"],
                f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/*",
            ),
        ),
    )


def keys_queues_notebooks() -> None:
    import pulumi_aws as aws

    key_policy = "kms-key-policy-restricted"
    aws.kms.KeyPolicy(
        case("keypolicy-shared-key-public", key_policy),
        key_id="0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        policy=document(
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
            }
        ),
    )
    aws.kms.KeyPolicy(
        case("keypolicy-shared-key-account", None),
        key_id="0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        policy=document(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ),
    )
    aws.secretsmanager.Secret(
        case("secret-vendor-token-aws-key", "secretsmanager-customer-key"),
        kms_key_id="alias/aws/secretsmanager",
        tags=TAGS,
        opts=protected(),
    )
    aws.cloudwatch.LogGroup(
        case("loggroup-notebooks-aws-key", "cloudwatch-log-encryption"),
        kms_key_id=f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/aws/logs",
        retention_in_days=400,
        tags=TAGS,
    )
    aws.cloudwatch.LogGroup(case("loggroup-notebooks", None), kms_key_id=KEY, retention_in_days=400, tags=TAGS)
    aws.sns.Topic(
        case("topic-model-events-aws-key", "sns-topic-encryption"), kms_master_key_id="alias/aws/sns", tags=TAGS
    )
    aws.sns.Topic(case("topic-model-events", None), kms_master_key_id=KEY, tags=TAGS)
    aws.ecr.Repository(
        case("repository-notebook-images-aws-key", "ecr-kms-encryption"),
        image_tag_mutability="IMMUTABLE",
        image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
        encryption_configurations=[
            aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key="alias/aws/ecr")
        ],
        tags=TAGS,
        opts=protected(),
    )

    sqs = "sqs-queue-encryption"
    aws.sqs.Queue(case("queue-inference-requests-unencrypted", sqs), visibility_timeout_seconds=300, tags=TAGS)
    aws.sqs.Queue(case("queue-feature-events-sse-off", sqs), sqs_managed_sse_enabled=False, tags=TAGS)
    aws.sqs.Queue(case("queue-batch-results-aws-key", sqs), kms_master_key_id="alias/aws/sqs", tags=TAGS)
    aws.sqs.Queue(
        case("queue-public-inline-policy", "resource-policies-not-public"),
        kms_master_key_id=KEY,
        policy=document({"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}),
        tags=TAGS,
    )
    aws.sqs.QueuePolicy(
        case("queuepolicy-public", "resource-policies-not-public"),
        queue_url=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/inference-requests",
        policy=document(
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"],
                "Resource": "*",
            }
        ),
    )
    aws.sqs.Queue(case("queue-inference-requests", None), kms_master_key_id=KEY, tags=TAGS)
    aws.sqs.QueuePolicy(
        case("queuepolicy-from-topic", None),
        queue_url=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/inference-requests",
        policy=document(
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:inference-requests",
                "Condition": {"ArnEquals": {"aws:SourceArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:model-events"}},
            }
        ),
    )

    def notebook(name: str, expected: str | None, **changes: Any) -> None:
        settings = {
            "instance_type": "ml.t3.medium",
            "role_arn": NOTEBOOK_ROLE,
            "subnet_id": SUBNET,
            "security_groups": [SG_ID],
            "direct_internet_access": "Disabled",
            "root_access": "Disabled",
            "kms_key_id": KEY,
            # SageMaker still answers IMDSv1 unless asked not to (CreateNotebookInstance's default).
            "instance_metadata_service_configuration": aws.sagemaker.NotebookInstanceInstanceMetadataServiceConfigurationArgs(
                minimum_instance_metadata_service_version="2"
            ),
            "tags": TAGS,
            **changes,
        }
        aws.sagemaker.NotebookInstance(
            case(name, expected), **{key: value for key, value in settings.items() if value is not None}
        )

    notebook(
        "notebook-quickstart-defaults",
        "sagemaker-notebook-network",
        subnet_id=None,
        security_groups=None,
        direct_internet_access=None,
        root_access=None,
        kms_key_id=None,
    )
    notebook("notebook-internet-enabled", "sagemaker-notebook-network", direct_internet_access="Enabled")
    notebook("notebook-root-enabled", "sagemaker-notebook-no-root-access", root_access="Enabled")
    notebook("notebook-root-left-out", "sagemaker-notebook-no-root-access", root_access=None)
    notebook("notebook-no-key", "sagemaker-notebook-and-studio-encrypted", kms_key_id=None)
    notebook("notebook-research", None)

    def studio(name: str, expected: str | None, **changes: Any) -> None:
        settings = {
            "domain_name": name,
            "auth_mode": "IAM",
            "vpc_id": VPC,
            "subnet_ids": [SUBNET],
            "app_network_access_type": "VpcOnly",
            "kms_key_id": KEY,
            "default_user_settings": aws.sagemaker.DomainDefaultUserSettingsArgs(
                execution_role=NOTEBOOK_ROLE, security_groups=[SG_ID]
            ),
            "tags": TAGS,
            **changes,
        }
        aws.sagemaker.Domain(
            case(name, expected), **{key: value for key, value in settings.items() if value is not None}
        )

    studio("studio-defaults", "sagemaker-studio-vpc-only", app_network_access_type=None)
    studio("studio-public-internet", "sagemaker-studio-vpc-only", app_network_access_type="PublicInternetOnly")
    studio("studio-no-key", "sagemaker-notebook-and-studio-encrypted", kms_key_id=None)
    studio("studio-research", None)


def protected() -> Any:
    import pulumi

    return pulumi.ResourceOptions(protect=True)


def network_and_buckets() -> None:
    import pulumi_aws as aws

    ingress_rule = "ec2-security-group-ingress-restricted"
    world_ssh = aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=22, to_port=22, cidr_blocks=["0.0.0.0/0"])
    https = aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0"])
    vpn_ssh = aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=22, to_port=22, cidr_blocks=["10.20.0.0/16"])
    aws.ec2.SecurityGroup(
        case("sg-notebooks-ssh-open", ingress_rule), vpc_id=VPC, ingress=[https, world_ssh], tags=TAGS
    )
    aws.ec2.SecurityGroup(
        case("sg-debug-everything-ipv6", ingress_rule),
        vpc_id=VPC,
        ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="-1", from_port=0, to_port=0, ipv6_cidr_blocks=["::/0"])],
        tags=TAGS,
    )
    aws.ec2.SecurityGroup(
        case("sg-jupyter-open", ingress_rule),
        vpc_id=VPC,
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=8888, to_port=8888, cidr_blocks=["0.0.0.0/0"])
        ],
        tags=TAGS,
    )
    aws.ec2.SecurityGroup(case("sg-scorer-alb", None), vpc_id=VPC, ingress=[https, vpn_ssh], tags=TAGS)
    aws.ec2.DefaultSecurityGroup(
        case("default-sg-open", ingress_rule),
        vpc_id=VPC,
        ingress=[
            aws.ec2.DefaultSecurityGroupIngressArgs(
                protocol="tcp", from_port=0, to_port=65535, cidr_blocks=["0.0.0.0/0"]
            )
        ],
    )
    aws.ec2.SecurityGroupRule(
        case("sgrule-windows-rdp", ingress_rule),
        type="ingress",
        security_group_id=SG_ID,
        protocol="tcp",
        from_port=3389,
        to_port=3389,
        cidr_blocks=["0.0.0.0/0"],
    )
    aws.ec2.SecurityGroupRule(
        case("sgrule-all-tcp", ingress_rule),
        type="ingress",
        security_group_id=SG_ID,
        protocol="tcp",
        from_port=0,
        to_port=65535,
        cidr_blocks=["0.0.0.0/0"],
    )
    aws.vpc.SecurityGroupIngressRule(
        case("ingressrule-bastion-ssh", ingress_rule),
        security_group_id=SG_ID,
        ip_protocol="tcp",
        from_port=22,
        to_port=22,
        cidr_ipv4="0.0.0.0/0",
    )
    aws.vpc.SecurityGroupIngressRule(
        case("ingressrule-all-traffic", ingress_rule), security_group_id=SG_ID, ip_protocol="-1", cidr_ipv6="::/0"
    )
    aws.vpc.SecurityGroupIngressRule(
        case("ingressrule-scorer-from-vpc", None),
        security_group_id=SG_ID,
        ip_protocol="tcp",
        from_port=8080,
        to_port=8080,
        cidr_ipv4="10.0.0.0/8",
        tags=TAGS,
    )

    # A VPC's flow log and a web ACL's logging configuration are resources of their own (vpc-flow-logs,
    # wafv2-web-acl-logging).
    flow_log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ml-platform/vpc-flow"
    logged_vpc = aws.ec2.Vpc(case("ml-platform-vpc", None), cidr_block="10.40.0.0/16", tags=TAGS)
    aws.ec2.FlowLog(
        case("ml-platform-vpc-flow-log", None),
        vpc_id=logged_vpc.id,
        traffic_type="ALL",
        log_destination_type="cloud-watch-logs",
        log_destination=flow_log_group,
        iam_role_arn=NOTEBOOK_ROLE,
        tags=TAGS,
    )
    aws.ec2.Vpc(case("sandbox-vpc", "vpc-flow-logs"), cidr_block="10.41.0.0/16", tags=TAGS)

    def web_acl(name: str, expected: str | None) -> Any:
        return aws.wafv2.WebAcl(
            case(name, expected),
            scope="REGIONAL",
            default_action={"allow": {}},
            visibility_config={
                "cloudwatch_metrics_enabled": True,
                "metric_name": name,
                "sampled_requests_enabled": True,
            },
            tags=TAGS,
        )

    logged_acl = web_acl("scorer-waf", None)
    aws.wafv2.WebAclLoggingConfiguration(
        case("scorer-waf-logging", None),
        resource_arn=logged_acl.arn,
        log_destination_configs=[f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:aws-waf-logs-scorer"],
    )
    web_acl("partner-waf", "wafv2-web-acl-logging")

    encryption = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs

    def shared_encryption(name: str, expected: str | None, default: Any) -> None:
        aws.s3.BucketServerSideEncryptionConfiguration(
            case(name, expected),
            bucket=SHARED_BUCKET,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(apply_server_side_encryption_by_default=default)
            ],
        )

    shared_encryption("shared-bucket-sse-s3", "s3-bucket-encryption", encryption(sse_algorithm="AES256"))
    shared_encryption(
        "shared-bucket-aws-managed-key",
        "s3-bucket-encryption",
        encryption(sse_algorithm="aws:kms", kms_master_key_id="alias/aws/s3"),
    )
    shared_encryption("shared-bucket-customer-key", None, encryption(sse_algorithm="aws:kms", kms_master_key_id=KEY))
    for name, status, expected in (
        ("shared-bucket-versioning-suspended", "Suspended", "s3-bucket-versioning"),
        ("shared-bucket-versioning", "Enabled", None),
    ):
        aws.s3.BucketVersioning(
            case(name, expected),
            bucket=SHARED_BUCKET,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status=status),
        )
    for name, policy_blocked, expected in (
        ("shared-bucket-public-policy-allowed", False, "s3-bucket-public-access-block"),
        ("shared-bucket-public-access-block", True, None),
    ):
        aws.s3.BucketPublicAccessBlock(
            case(name, expected),
            bucket=SHARED_BUCKET,
            block_public_acls=True,
            block_public_policy=policy_blocked,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )


def account_logs() -> None:
    """Audit logs one account-level resource per region turns on: Bedrock's model invocations (an agent
    and a role allowed to invoke models in the region that logs them; an agent in a region that does not)
    and IoT Core's (a topic rule, and no logging options)."""
    import pulumi_aws as aws

    log_role = f"arn:aws:iam::{ACCOUNT}:role/bedrock-invocation-logging"
    for name, region, expected, text in (
        ("model-invocation-log", REGION, None, True),
        ("model-invocation-log-without-prompts", "us-west-2", "audit-logging", False),
    ):
        aws.bedrockmodel.InvocationLoggingConfiguration(
            case(name, expected),
            region=region,
            logging_config={
                "cloudwatch_config": {"log_group_name": "/bedrock/invocations", "role_arn": log_role},
                "s3_config": {"bucket_name": "ml-platform-invocation-logs", "key_prefix": "bedrock"},
                "text_data_delivery_enabled": text,
            },
        )
    for name, region, expected in (
        ("support-agent", None, None),
        ("support-agent-us", "us-east-1", "bedrock-model-invocation-logging"),
    ):
        aws.bedrock.AgentAgent(
            case(name, expected),
            agent_name=name,
            agent_resource_role_arn=f"arn:aws:iam::{ACCOUNT}:role/support-agent",
            foundation_model="anthropic.claude-3-5-sonnet-20240620-v1:0",
            instruction="Answer questions about orders from the order history only.",
            customer_encryption_key_arn=KEY,
            region=region,
            tags=TAGS,
        )
    aws.iam.RolePolicy(
        case("scorer-invokes-models", None),
        role="batch-scorer",
        policy=document(allow("bedrock:InvokeModel", f"arn:aws:bedrock:{REGION}::foundation-model/*")),
    )
    aws.iot.TopicRule(
        case("scores-to-lake", "iot-logging"),
        name="scores_to_lake",
        enabled=True,
        sql="SELECT * FROM 'scores'",
        sql_version="2016-03-23",
        tags=TAGS,
    )


DECLARATIONS: list[Callable[[], None]] = [
    kubernetes,
    iam,
    keys_queues_notebooks,
    network_and_buckets,
    account_logs,
]
