"""The rules for what a platform team declares next to modelplane: Kubernetes RBAC and exposure,
IAM privilege escalation and cross-account trust, key policies and AWS managed keys, queues,
notebooks and Studio, security groups, S3 settings of buckets outside the stack, and waivers.

Each case is a resource as a platform team would write it, compliant or not, run through the same
wire conversion as `test_policy_rules.py` (whose harness this reuses), with the exact messages.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from policies.modelplane_guard.waivers import today
from tests.test_policy_rules import (
    ACCOUNT,
    ARTIFACTS,
    DELETE,
    IMAGE,
    KEY_ARN,
    NOT_APPLICABLE,
    PRODUCTION_OFF,
    TAGS,
    Case,
    Res,
    allow,
    container,
    document,
    one,
    patched,
    run,
)

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
OTHER_ACCOUNT = "210987654321"
SAGEMAKER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/fraud-sagemaker-execution"
NOTEBOOK = "aws:sagemaker/notebookInstance:NotebookInstance"
DOMAIN = "aws:sagemaker/domain:Domain"
QUEUE = "aws:sqs/queue:Queue"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
RBAC = "kubernetes:rbac.authorization.k8s.io/v1"
SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
NAMESPACE = "kubernetes:core/v1:Namespace"
SUBNET = "subnet-0a1b2c3d4e5f60718"
SECURITY_GROUP = "sg-0c3d4e5f607182930"


def trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"assumeRolePolicy": document(*statements), "tags": TAGS}


def assume_from(principal: Any, **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return statement


def notebook(**changes: Any) -> dict[str, Any]:
    props = {
        "instanceType": "ml.t3.medium",
        "roleArn": SAGEMAKER_ROLE,
        "subnetId": SUBNET,
        "securityGroups": [SECURITY_GROUP],
        "directInternetAccess": "Disabled",
        "rootAccess": "Disabled",
        "kmsKeyId": KEY_ARN,
        "tags": TAGS,
    }
    return {key: value for key, value in {**props, **changes}.items() if value is not DELETE}


def domain(**changes: Any) -> dict[str, Any]:
    props = {
        "domainName": "research",
        "authMode": "IAM",
        "vpcId": "vpc-0a1b2c3d",
        "subnetIds": [SUBNET],
        "appNetworkAccessType": "VpcOnly",
        "kmsKeyId": KEY_ARN,
        "defaultUserSettings": {"executionRole": SAGEMAKER_ROLE, "securityGroups": [SECURITY_GROUP]},
        "tags": TAGS,
    }
    return {key: value for key, value in {**props, **changes}.items() if value is not DELETE}


def ingress(port: int, cidr: str = "10.0.0.0/8", protocol: str = "tcp", to: int | None = None) -> dict[str, Any]:
    return {"protocol": protocol, "fromPort": port, "toPort": port if to is None else to, "cidrBlocks": [cidr]}


def role(*rules: dict[str, Any], kind: str = "Role") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "model-reader"}
    if kind == "Role":
        metadata["namespace"] = "recommender"
    return {"metadata": metadata, "rules": list(rules)}


def rbac_rule(groups: list[str], resources: list[str], verbs: list[str], **extra: Any) -> dict[str, Any]:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs, **extra}


def binding(role_name: str, kind: str = "ClusterRoleBinding", role_kind: str = "ClusterRole") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": f"{role_name}-binding"}
    if kind == "RoleBinding":
        metadata["namespace"] = "recommender"
    return {
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
        "subjects": [
            {"kind": "Group", "name": "ml-engineers", "apiGroup": "rbac.authorization.k8s.io"},
            {"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"},
        ],
    }


def service(kind: str, annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "scorer", "namespace": "recommender", "annotations": annotations or {}},
        "spec": {"type": kind, "selector": {"app": "scorer"}, "ports": [{"port": 443, "targetPort": 8443}], **spec},
    }


def ingress_object(tls: list[dict[str, Any]] | None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    backend = {"service": {"name": "scorer", "port": {"number": 443}}}
    spec: dict[str, Any] = {
        "ingressClassName": "nginx",
        "rules": [
            {"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
            for host in ("score.example.com", "admin.example.com")
        ],
    }
    if tls is not None:
        spec["tls"] = tls
    return {"metadata": {"name": "scorer", "namespace": "recommender", "annotations": annotations or {}}, "spec": spec}


def namespace(labels: dict[str, str], name: str = "recommender") -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}}


def pod_spec(**changes: Any) -> dict[str, Any]:
    return {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container()],
        **changes,
    }


def waiver(**changes: Any) -> dict[str, Any]:
    entry = {
        "policy": "ec2-security-group-ingress-restricted",
        "resource": "bastion-*",
        "reason": "On-call SSH bastion until SSM Session Manager replaces it (SEC-142).",
        "owner": "platform-security@example.com",
        "expires": (today() + timedelta(days=30)).isoformat(),
    }
    return {key: value for key, value in {**entry, **changes}.items() if value is not DELETE}


RESTRICTIVE = {"securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}
PRIVILEGED_INIT = {
    "name": "setup",
    "image": IMAGE,
    "securityContext": {"privileged": True, "allowPrivilegeEscalation": True, "capabilities": {"drop": ["ALL"]}},
}
EXPIRED = (today() - timedelta(days=1)).isoformat()

PLATFORM_CASES: list[Case] = [
    # --- IAM: privilege escalation ----------------------------------------------------------------
    one(
        "iam-no-privilege-escalation",
        "passrole-to-named-role-for-sagemaker",
        ROLE_POLICY,
        {
            "role": "pipeline",
            "policy": document(
                allow(
                    "iam:PassRole",
                    SAGEMAKER_ROLE,
                    Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
                allow(["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob"], "*"),
            ),
        },
        [],
    ),
    one(
        "iam-no-privilege-escalation",
        "passrole-on-everything",
        ROLE_POLICY,
        {"role": "pipeline", "policy": document(allow(["sagemaker:CreateModel", "iam:PassRole"], Sid="Deploy"))},
        [
            "policy statement 'Deploy' allows 'iam:PassRole' on Resource '*': whoever holds it can raise their own privileges (pass an admin role to a service, rewrite or attach policies, mint credentials)."
        ],
    ),
    one(
        "iam-no-privilege-escalation",
        "mixed-case-and-wildcard-on-every-role",
        POLICY,
        {
            "policy": {
                "Statement": [
                    {"Effect": "Allow", "Action": "IAM:pass*", "Resource": f"arn:aws:iam::{ACCOUNT}:role/*"},
                    {"Effect": "Allow", "Action": ["iam:attachrolepolicy", "Iam:PutRolePolicy"], "Resource": "*"},
                ]
            }
        },
        [
            f"policy statement 0 allows 'IAM:pass*' (iam:PassRole) on Resource 'arn:aws:iam::{ACCOUNT}:role/*': whoever holds it can raise their own privileges (pass an admin role to a service, rewrite or attach policies, mint credentials).",
            "policy statement 1 allows 'iam:attachrolepolicy' (iam:AttachRolePolicy), 'Iam:PutRolePolicy' (iam:PutRolePolicy) on Resource '*': whoever holds it can raise their own privileges (pass an admin role to a service, rewrite or attach policies, mint credentials).",
        ],
    ),
    one(
        "iam-no-privilege-escalation",
        "not-resource-on-inline-role-policy",
        ROLE,
        {
            **trust(),
            "inlinePolicies": [
                {
                    "name": "ops",
                    "policy": document(
                        {"Effect": "Allow", "Action": "iam:CreateAccessKey", "NotResource": "arn:aws:iam::*:user/root"}
                    ),
                }
            ],
        },
        [
            "inlinePolicies[0] (ops) statement 0 allows 'iam:CreateAccessKey' on every resource but 'arn:aws:iam::*:user/root' (NotResource): whoever holds it can raise their own privileges (pass an admin role to a service, rewrite or attach policies, mint credentials)."
        ],
    ),
    one(
        "iam-no-privilege-escalation",
        "iam-wildcard",
        POLICY,
        {"policy": document(allow("iam:*"))},
        [
            "policy statement 0 allows 'iam:*' (iam:AddUserToGroup), 'iam:*' (iam:AttachGroupPolicy), 'iam:*' (iam:AttachRolePolicy) and 11 more on Resource '*': whoever holds it can raise their own privileges (pass an admin role to a service, rewrite or attach policies, mint credentials)."
        ],
    ),
    # --- IAM: NotAction / NotResource -------------------------------------------------------------
    one(
        "iam-no-allow-with-not-action",
        "deny-outside-regions",
        POLICY,
        {
            "policy": document(
                allow(["s3:GetObject"], f"arn:aws:s3:::{ARTIFACTS}/*"),
                {
                    "Effect": "Deny",
                    "NotAction": ["iam:*", "sts:*"],
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}},
                },
            )
        },
        [],
    ),
    one(
        "iam-no-allow-with-not-action",
        "allow-not-action-and-not-resource",
        POLICY,
        {
            "policy": document(
                {"Sid": "AllButIam", "Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"},
                {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": f"arn:aws:s3:::{ARTIFACTS}/secrets/*"},
            )
        },
        [
            "policy statement 'AllButIam' allows every action except 'iam:*' (NotAction): every action AWS adds later is granted too.",
            f"policy statement 1 allows 's3:GetObject' on every resource except 'arn:aws:s3:::{ARTIFACTS}/secrets/*' (NotResource).",
        ],
    ),
    # --- IAM: administrator statements, case-insensitive --------------------------------------------
    one(
        "iam-no-admin-statements",
        "mixed-case-service-wildcards",
        POLICY,
        {"policy": document(allow(["S3:*", "*:*"], ["*"]))},
        ["policy statement 0 allows 'S3:*', '*:*' on Resource '*'."],
    ),
    one(
        "iam-no-admin-statements",
        "read-wildcards-are-not-admin",
        POLICY,
        {"policy": document(allow(["s3:Get*", "SageMaker:Describe*"], "*"))},
        [],
    ),
    # --- IAM: cross-account trust -------------------------------------------------------------------
    one(
        "iam-cross-account-trust-conditions",
        "vendor-with-external-id",
        ROLE,
        trust(
            assume_from(f"arn:aws:iam::{OTHER_ACCOUNT}:root", StringEquals={"sts:ExternalId": "c2f1-monitoring-vendor"})
        ),
        [],
    ),
    one(
        "iam-cross-account-trust-conditions",
        "organisation-account",
        ROLE,
        trust(assume_from(OTHER_ACCOUNT, StringEquals={"aws:PrincipalOrgID": "o-a1b2c3d4e5"})),
        [],
    ),
    one(
        "iam-cross-account-trust-conditions",
        "own-account-listed",
        ROLE,
        trust(assume_from(f"arn:aws:iam::{ACCOUNT}:role/ci-deployer")),
        [],
        config={"trustedAccountIds": [ACCOUNT]},
    ),
    one(
        "iam-cross-account-trust-conditions",
        "own-account-from-provider",
        ROLE,
        trust(assume_from(f"arn:aws:iam::{ACCOUNT}:role/ci-deployer")),
        [],
        provider_props={"region": "eu-west-1", "allowedAccountIds": [ACCOUNT]},
    ),
    one(
        "iam-cross-account-trust-conditions",
        "other-account-unconditioned",
        ROLE,
        trust(assume_from([f"arn:aws:iam::{OTHER_ACCOUNT}:root", f"arn:aws:iam::{OTHER_ACCOUNT}:role/analytics"])),
        [
            f"assumeRolePolicy statement 0 trusts account {OTHER_ACCOUNT} (arn:aws:iam::{OTHER_ACCOUNT}:root) without an sts:ExternalId or aws:PrincipalOrgID condition: whoever that account lets call sts:AssumeRole can assume the role.",
            f"assumeRolePolicy statement 0 trusts account {OTHER_ACCOUNT} (arn:aws:iam::{OTHER_ACCOUNT}:role/analytics) without an sts:ExternalId or aws:PrincipalOrgID condition: whoever that account lets call sts:AssumeRole can assume the role.",
        ],
    ),
    # --- public resource policies on inline policies and NotPrincipal ----------------------------------
    one(
        "resource-policies-not-public",
        "queue-for-an-sns-topic",
        QUEUE,
        {
            "kmsMasterKeyId": KEY_ARN,
            "policy": document(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Condition": {"ArnEquals": {"aws:SourceArn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:events"}},
                }
            ),
            "tags": TAGS,
        },
        [],
    ),
    one(
        "resource-policies-not-public",
        "queue-inline-public",
        QUEUE,
        {"policy": document({"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage"}), "tags": TAGS},
        [
            "policy statement 0 allows sqs:SendMessage to any principal without an account, organisation or source condition."
        ],
    ),
    one(
        "resource-policies-not-public",
        "not-principal",
        "aws:sqs/queuePolicy:QueuePolicy",
        {
            "queueUrl": "https://sqs.eu-west-1.amazonaws.com/1/q",
            "policy": document(
                {"Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sqs:*"}
            ),
        },
        ["policy statement 0 allows sqs:* to any principal without an account, organisation or source condition."],
    ),
    # --- keys -----------------------------------------------------------------------------------------
    one(
        "kms-key-policy-restricted",
        "key-policy-resource-for-account",
        "aws:kms/keyPolicy:KeyPolicy",
        {
            "keyId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "policy": document(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ),
        },
        [],
    ),
    one(
        "kms-key-policy-restricted",
        "key-policy-resource-open",
        "aws:kms/keyPolicy:KeyPolicy",
        {
            "keyId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "policy": json.dumps(
                {"Statement": {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}}
            ),
            "bypassPolicyLockoutSafetyCheck": True,
        },
        [
            "bypassPolicyLockoutSafetyCheck is true: a policy that locks everyone out of the key would be accepted.",
            "policy statement 0 allows any principal without an account or source condition.",
        ],
    ),
    one(
        "secretsmanager-customer-key",
        "aws-managed-alias",
        "aws:secretsmanager/secret:Secret",
        {"kmsKeyId": "alias/aws/secretsmanager", "tags": TAGS},
        [
            "kmsKeyId is 'alias/aws/secretsmanager', an AWS managed key whose key policy you cannot restrict; use a customer managed key."
        ],
    ),
    one(
        "cloudwatch-log-encryption",
        "aws-managed-alias-arn",
        "aws:cloudwatch/logGroup:LogGroup",
        {"kmsKeyId": f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/aws/logs", "retentionInDays": 30},
        [
            f"kmsKeyId is 'arn:aws:kms:eu-west-1:{ACCOUNT}:alias/aws/logs', an AWS managed key whose key policy you cannot restrict; use a customer managed key."
        ],
    ),
    one(
        "ecr-kms-encryption",
        "aws-managed-alias",
        "aws:ecr/repository:Repository",
        {"encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": "alias/aws/ecr"}]},
        [
            "encryptionConfigurations[0].kmsKey is 'alias/aws/ecr', an AWS managed key whose key policy you cannot restrict; use a customer managed key."
        ],
    ),
    # --- SQS --------------------------------------------------------------------------------------
    one("sqs-queue-encryption", "customer-key", QUEUE, {"kmsMasterKeyId": KEY_ARN, "tags": TAGS}, []),
    one("sqs-queue-encryption", "sqs-managed", QUEUE, {"sqsManagedSseEnabled": True, "tags": TAGS}, []),
    one(
        "sqs-queue-encryption",
        "left-to-defaults",
        QUEUE,
        {"visibilityTimeoutSeconds": 300, "tags": TAGS},
        ["neither kmsMasterKeyId nor sqsManagedSseEnabled is set: the queue's encryption is left to defaults."],
    ),
    one(
        "sqs-queue-encryption",
        "encryption-off",
        QUEUE,
        {"sqsManagedSseEnabled": False, "tags": TAGS},
        ["sqsManagedSseEnabled is false and kmsMasterKeyId is not set: messages are stored unencrypted."],
    ),
    one(
        "sqs-queue-encryption",
        "aws-managed-key",
        QUEUE,
        {"kmsMasterKeyId": "alias/aws/sqs", "tags": TAGS},
        [
            "kmsMasterKeyId is 'alias/aws/sqs', an AWS managed key whose key policy you cannot restrict; use a customer managed key."
        ],
    ),
    one(
        "sqs-queue-encryption",
        "sqs-managed-not-allowed",
        QUEUE,
        {"sqsManagedSseEnabled": True, "tags": TAGS},
        ["sqsManagedSseEnabled encrypts with a key SQS owns; this environment requires kmsMasterKeyId."],
        config={"allowSqsManagedEncryption": False},
    ),
    # --- SageMaker notebooks and Studio -----------------------------------------------------------------
    one("sagemaker-notebook-network", "private", NOTEBOOK, notebook(), []),
    one(
        "sagemaker-notebook-network",
        "defaults",
        NOTEBOOK,
        notebook(directInternetAccess=DELETE, subnetId=DELETE, securityGroups=DELETE),
        [
            "directInternetAccess is Enabled (the default): the notebook reaches, and can send data to, the internet outside your VPC.",
            "subnetId is not set: the notebook does not run in your VPC, so no security group or endpoint policy applies.",
        ],
    ),
    one(
        "sagemaker-notebook-network",
        "in-vpc-but-internet-enabled",
        NOTEBOOK,
        notebook(directInternetAccess="Enabled"),
        ["directInternetAccess is Enabled: the notebook reaches, and can send data to, the internet outside your VPC."],
    ),
    one("sagemaker-notebook-no-root-access", "disabled", NOTEBOOK, notebook(), []),
    one(
        "sagemaker-notebook-no-root-access",
        "left-out",
        NOTEBOOK,
        notebook(rootAccess=DELETE),
        [
            "rootAccess is Enabled (the default): notebook users can become root, change the instance and read its role's credentials."
        ],
    ),
    one(
        "sagemaker-notebook-no-root-access",
        "enabled",
        NOTEBOOK,
        notebook(rootAccess="Enabled"),
        ["rootAccess is Enabled: notebook users can become root, change the instance and read its role's credentials."],
    ),
    one("sagemaker-notebook-and-studio-encrypted", "notebook", NOTEBOOK, notebook(), []),
    one("sagemaker-notebook-and-studio-encrypted", "domain", DOMAIN, domain(), []),
    one(
        "sagemaker-notebook-and-studio-encrypted",
        "notebook-without-key",
        NOTEBOOK,
        notebook(kmsKeyId=DELETE),
        ["kmsKeyId is not set: the notebook's storage volume is encrypted with an AWS managed key."],
    ),
    one(
        "sagemaker-notebook-and-studio-encrypted",
        "domain-aws-managed-key",
        DOMAIN,
        domain(kmsKeyId="alias/aws/sagemaker"),
        [
            "kmsKeyId is 'alias/aws/sagemaker', an AWS managed key whose key policy you cannot restrict; use a customer managed key."
        ],
    ),
    one("sagemaker-studio-vpc-only", "vpc-only", DOMAIN, domain(), []),
    one(
        "sagemaker-studio-vpc-only",
        "left-out",
        DOMAIN,
        domain(appNetworkAccessType=DELETE),
        [
            "appNetworkAccessType is PublicInternetOnly (the default): Studio apps reach the internet through a network SageMaker manages, outside your VPC's controls."
        ],
    ),
    one(
        "sagemaker-studio-vpc-only",
        "public-internet-only",
        DOMAIN,
        domain(appNetworkAccessType="PublicInternetOnly"),
        [
            "appNetworkAccessType is PublicInternetOnly: Studio apps reach the internet through a network SageMaker manages, outside your VPC's controls."
        ],
    ),
    # --- security groups ----------------------------------------------------------------------------
    one(
        "ec2-security-group-ingress-restricted",
        "https-from-anywhere-ssh-from-vpn",
        SG,
        {
            "vpcId": "vpc-0a1b2c3d",
            "ingress": [ingress(443, "0.0.0.0/0"), ingress(22, "10.20.0.0/16"), ingress(8, "0.0.0.0/0", "icmp", 0)],
            "tags": TAGS,
        },
        [],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "inline-ssh-and-everything",
        SG,
        {
            "vpcId": "vpc-0a1b2c3d",
            "ingress": [
                ingress(22, "0.0.0.0/0"),
                {"protocol": "-1", "fromPort": 0, "toPort": 0, "ipv6CidrBlocks": ["::/0"]},
            ],
            "tags": TAGS,
        },
        [
            "ingress[0] opens port 22 (SSH) to 0.0.0.0/0: anyone on the internet can connect.",
            "ingress[1] opens every port to ::/0: anyone on the internet can connect.",
        ],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "rule-range-covering-rdp",
        SG_RULE,
        {
            "type": "ingress",
            "securityGroupId": SECURITY_GROUP,
            "protocol": "tcp",
            "fromPort": 3000,
            "toPort": 4000,
            "cidrBlocks": ["0.0.0.0/0"],
        },
        ["rule opens ports 3000-4000 with port 3389 (RDP) to 0.0.0.0/0: anyone on the internet can connect."],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "jupyter-from-anywhere",
        SG,
        {"vpcId": "vpc-0a1b2c3d", "ingress": [ingress(8888, "0.0.0.0/0")], "tags": TAGS},
        ["ingress[0] opens port 8888 to 0.0.0.0/0: anyone on the internet can connect."],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "configured-public-port",
        SG,
        {"vpcId": "vpc-0a1b2c3d", "ingress": [ingress(8443, "0.0.0.0/0")], "tags": TAGS},
        [],
        config={"publicPorts": [443, 8443]},
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "egress-rule-is-not-ingress",
        SG_RULE,
        {
            "type": "egress",
            "securityGroupId": SECURITY_GROUP,
            "protocol": "-1",
            "fromPort": 0,
            "toPort": 0,
            "cidrBlocks": ["0.0.0.0/0"],
        },
        [],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "vpc-ingress-rule-all-traffic",
        INGRESS_RULE,
        {"securityGroupId": SECURITY_GROUP, "ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"},
        ["rule opens every port to 0.0.0.0/0: anyone on the internet can connect."],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "vpc-ingress-rule-from-load-balancer",
        INGRESS_RULE,
        {
            "securityGroupId": SECURITY_GROUP,
            "ipProtocol": "tcp",
            "fromPort": 8080,
            "toPort": 8080,
            "referencedSecurityGroupId": "sg-0aa",
        },
        [],
    ),
    one(
        "ec2-security-group-ingress-restricted",
        "default-security-group",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        {"vpcId": "vpc-0a1b2c3d", "ingress": [ingress(0, "0.0.0.0/0", "tcp", 65535)]},
        ["ingress[0] opens every port to 0.0.0.0/0: anyone on the internet can connect."],
    ),
    # --- Kubernetes RBAC ----------------------------------------------------------------------------------
    one("kubernetes-rbac-no-cluster-admin-binding", "view", f"{RBAC}:ClusterRoleBinding", binding("view"), []),
    one(
        "kubernetes-rbac-no-cluster-admin-binding",
        "cluster-admin",
        f"{RBAC}:ClusterRoleBinding",
        binding("cluster-admin"),
        [
            "roleRef binds ClusterRole cluster-admin to Group ml-engineers, ServiceAccount ci/deployer: they can do anything in the whole cluster."
        ],
    ),
    one(
        "kubernetes-rbac-no-cluster-admin-binding",
        "cluster-admin-in-a-namespace",
        f"{RBAC}:RoleBinding",
        binding("cluster-admin", kind="RoleBinding"),
        [
            "roleRef binds ClusterRole cluster-admin to Group ml-engineers, ServiceAccount ci/deployer: they can do anything in its namespace."
        ],
    ),
    one(
        "kubernetes-rbac-no-wildcards",
        "named",
        f"{RBAC}:Role",
        role(rbac_rule(["apps"], ["deployments"], ["get", "list", "watch"])),
        [],
    ),
    one(
        "kubernetes-rbac-no-wildcards",
        "wildcards",
        f"{RBAC}:ClusterRole",
        role(rbac_rule(["*"], ["*"], ["get"]), rbac_rule(["batch"], ["jobs"], ["*"]), kind="ClusterRole"),
        [
            "rules[0] uses '*' in apiGroups, resources: it grants whatever the API or a new CRD adds later.",
            "rules[1] uses '*' in verbs: it grants whatever the API or a new CRD adds later.",
        ],
    ),
    one(
        "kubernetes-rbac-no-cluster-wide-secret-reads",
        "namespaced-role-for-one-secret",
        f"{RBAC}:Role",
        role(rbac_rule([""], ["secrets"], ["get"], resourceNames=["feature-store-token"])),
        [],
    ),
    one(
        "kubernetes-rbac-no-cluster-wide-secret-reads",
        "cluster-role-reads-secrets",
        f"{RBAC}:ClusterRole",
        role(rbac_rule([""], ["configmaps", "secrets"], ["get", "list", "watch"]), kind="ClusterRole"),
        ["rules[0] lets its subjects get, list, watch secrets in every namespace."],
    ),
    one(
        "kubernetes-rbac-no-cluster-wide-secret-reads",
        "view-everywhere",
        f"{RBAC}:ClusterRoleBinding",
        binding("view"),
        [],
    ),
    one(
        "kubernetes-rbac-no-cluster-wide-secret-reads",
        "edit-everywhere",
        f"{RBAC}:ClusterRoleBinding",
        binding("edit"),
        [
            "roleRef grants ClusterRole edit, which reads secrets, to Group ml-engineers, ServiceAccount ci/deployer in every namespace."
        ],
    ),
    one(
        "kubernetes-rbac-no-cluster-wide-secret-reads",
        "edit-in-one-namespace",
        f"{RBAC}:RoleBinding",
        binding("edit", kind="RoleBinding"),
        [],
    ),
    one(
        "kubernetes-rbac-no-escalation-verbs",
        "reader",
        f"{RBAC}:ClusterRole",
        role(rbac_rule(["rbac.authorization.k8s.io"], ["roles"], ["get", "list"]), kind="ClusterRole"),
        [],
    ),
    one(
        "kubernetes-rbac-no-escalation-verbs",
        "escalate-bind-impersonate",
        f"{RBAC}:Role",
        role(
            rbac_rule(["rbac.authorization.k8s.io"], ["roles", "rolebindings"], ["escalate", "bind"]),
            rbac_rule([""], ["serviceaccounts"], ["impersonate"]),
        ),
        [
            "rules[0] grants escalate, bind on roles, rolebindings: its subjects can give themselves or act with permissions they do not hold.",
            "rules[1] grants impersonate on serviceaccounts: its subjects can give themselves or act with permissions they do not hold.",
        ],
    ),
    # --- Kubernetes exposure ----------------------------------------------------------------------------
    one("kubernetes-load-balancer-not-public", "cluster-ip", SERVICE, service("ClusterIP"), []),
    one(
        "kubernetes-load-balancer-not-public",
        "internal-nlb",
        SERVICE,
        service("LoadBalancer", {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}),
        [],
    ),
    one(
        "kubernetes-load-balancer-not-public",
        "internal-legacy-annotation",
        SERVICE,
        service("LoadBalancer", {"service.beta.kubernetes.io/aws-load-balancer-internal": "0.0.0.0/0"}),
        [],
    ),
    one(
        "kubernetes-load-balancer-not-public",
        "internal-annotation-false",
        SERVICE,
        service("LoadBalancer", {"service.beta.kubernetes.io/aws-load-balancer-internal": "false"}),
        [
            "spec.type is LoadBalancer without an internal-scheme annotation or loadBalancerSourceRanges: the whole internet can reach it."
        ],
    ),
    one(
        "kubernetes-load-balancer-not-public",
        "partner-ranges",
        SERVICE,
        service("LoadBalancer", loadBalancerSourceRanges=["203.0.113.0/24"]),
        [],
    ),
    one(
        "kubernetes-load-balancer-not-public",
        "public",
        SERVICE,
        service("LoadBalancer", {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}),
        [
            "spec.type is LoadBalancer without an internal-scheme annotation or loadBalancerSourceRanges: the whole internet can reach it."
        ],
    ),
    one(
        "kubernetes-load-balancer-not-public",
        "world-range",
        SERVICE,
        service("LoadBalancer", loadBalancerSourceRanges=["10.0.0.0/8", "0.0.0.0/0"]),
        ["spec.loadBalancerSourceRanges includes 0.0.0.0/0: the whole internet can reach it."],
    ),
    one("kubernetes-no-node-ports-in-production", "cluster-ip", SERVICE, service("ClusterIP"), []),
    one(
        "kubernetes-no-node-ports-in-production",
        "node-port",
        SERVICE,
        service("NodePort"),
        [
            "spec.type is NodePort: the service listens on every node's address, around load balancers and ingress rules."
        ],
    ),
    one(
        "kubernetes-no-node-ports-in-production",
        "not-production",
        SERVICE,
        service("NodePort"),
        NOT_APPLICABLE,
        config=PRODUCTION_OFF,
    ),
    one(
        "kubernetes-ingress-tls",
        "every-host",
        INGRESS,
        ingress_object([{"hosts": ["score.example.com", "admin.example.com"], "secretName": "scorer-tls"}]),
        [],
    ),
    one(
        "kubernetes-ingress-tls",
        "wildcard-certificate",
        INGRESS,
        ingress_object([{"hosts": ["*.example.com"], "secretName": "wildcard-tls"}]),
        [],
    ),
    one(
        "kubernetes-ingress-tls",
        "wildcard-covers-one-label-only",
        INGRESS,
        patched(
            ingress_object([{"hosts": ["*.example.com"], "secretName": "wildcard-tls"}]),
            "spec.rules.1.host",
            "eu.admin.example.com",
        ),
        ["spec.tls does not cover host(s) eu.admin.example.com, which are served over plain HTTP."],
    ),
    one(
        "kubernetes-ingress-tls",
        "alb-certificate",
        INGRESS,
        ingress_object(
            None, {"alb.ingress.kubernetes.io/certificate-arn": f"arn:aws:acm:eu-west-1:{ACCOUNT}:certificate/1"}
        ),
        [],
    ),
    one(
        "kubernetes-ingress-tls",
        "plain-http",
        INGRESS,
        ingress_object(None),
        [
            "spec.tls is empty: the ingress serves plain HTTP, so requests and credentials cross the network unencrypted."
        ],
    ),
    one(
        "kubernetes-ingress-tls",
        "one-host-uncovered",
        INGRESS,
        ingress_object([{"hosts": ["score.example.com"], "secretName": "scorer-tls"}]),
        ["spec.tls does not cover host(s) admin.example.com, which are served over plain HTTP."],
    ),
    one(
        "kubernetes-namespace-pod-security",
        "restricted",
        NAMESPACE,
        namespace({"pod-security.kubernetes.io/enforce": "restricted"}),
        [],
    ),
    one("kubernetes-namespace-pod-security", "kube-system", NAMESPACE, namespace({}, "kube-system"), []),
    one(
        "kubernetes-namespace-pod-security",
        "privileged",
        NAMESPACE,
        namespace({"pod-security.kubernetes.io/enforce": "privileged"}),
        ["metadata.labels sets pod-security.kubernetes.io/enforce=privileged; allowed: baseline, restricted."],
    ),
    one(
        "kubernetes-namespace-pod-security",
        "unlabelled",
        NAMESPACE,
        namespace({"team": "recommender"}),
        [
            "metadata.labels has no pod-security.kubernetes.io/enforce: pods in the namespace get the cluster's default level, usually privileged."
        ],
    ),
    one(
        "kubernetes-namespace-pod-security",
        "patch-to-privileged",
        "kubernetes:core/v1:NamespacePatch",
        namespace({"pod-security.kubernetes.io/enforce": "privileged"}),
        ["metadata.labels sets pod-security.kubernetes.io/enforce=privileged; allowed: baseline, restricted."],
    ),
    # --- every workload kind: init and ephemeral containers, baseline checks -----------------------------
    one(
        "kubernetes-pod-security-restricted",
        "cron-job",
        "kubernetes:batch/v1:CronJob",
        {
            "metadata": {"name": "retrain", "namespace": "recommender"},
            "spec": {
                "schedule": "0 3 * * *",
                "jobTemplate": {"spec": {"template": {"spec": pod_spec(restartPolicy="OnFailure")}}},
            },
        },
        [],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "cron-job-privileged-init",
        "kubernetes:batch/v1:CronJob",
        {
            "metadata": {"name": "retrain", "namespace": "recommender"},
            "spec": {
                "schedule": "0 3 * * *",
                "jobTemplate": {"spec": {"template": {"spec": pod_spec(initContainers=[PRIVILEGED_INIT])}}},
            },
        },
        [
            "container 'setup' (spec.jobTemplate.spec.template.spec.initContainers[0]) is privileged.",
            "container 'setup' (spec.jobTemplate.spec.template.spec.initContainers[0]) does not set securityContext.allowPrivilegeEscalation to false.",
        ],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "pod-ephemeral-debugger",
        "kubernetes:core/v1:Pod",
        {
            "metadata": {"name": "scorer-debug", "namespace": "recommender"},
            "spec": pod_spec(
                ephemeralContainers=[
                    {
                        "name": "debug",
                        "image": IMAGE,
                        "securityContext": {"capabilities": {"add": ["SYS_PTRACE"], "drop": ["ALL"]}},
                    }
                ]
            ),
        },
        [
            "container 'debug' (spec.ephemeralContainers[0]) does not set securityContext.allowPrivilegeEscalation to false.",
            "container 'debug' (spec.ephemeralContainers[0]) adds capabilities SYS_PTRACE; only NET_BIND_SERVICE is allowed.",
        ],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "daemon-set-host-access",
        "kubernetes:apps/v1:DaemonSet",
        {
            "metadata": {"name": "node-exporter", "namespace": "monitoring"},
            "spec": {
                "template": {
                    "spec": pod_spec(
                        hostPID=True,
                        volumes=[{"name": "proc", "hostPath": {"path": "/proc"}}],
                        securityContext={
                            "runAsNonRoot": True,
                            "seccompProfile": {"type": "RuntimeDefault"},
                            "sysctls": [{"name": "kernel.msgmax", "value": "65536"}],
                        },
                    )
                }
            },
        },
        [
            "spec.template.spec.hostPID is true: the pod shares the node's namespaces.",
            "volume 'proc' (spec.template.spec.volumes[0]) uses hostPath, not allowed by the restricted profile.",
            "spec.template.spec.securityContext.sysctls sets kernel.msgmax, which the baseline profile does not allow.",
        ],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "stateful-set-unmasked-proc-and-selinux",
        "kubernetes:apps/v1:StatefulSet",
        {
            "metadata": {"name": "feature-cache", "namespace": "recommender"},
            "spec": {
                "template": {
                    "spec": pod_spec(
                        containers=[
                            patched(
                                patched(container(), "securityContext.procMount", "Unmasked"),
                                "securityContext.seLinuxOptions",
                                {"type": "spc_t"},
                            )
                        ]
                    )
                }
            },
        },
        [
            "container 'model' (spec.template.spec.containers[0]) securityContext.seLinuxOptions sets a custom SELinux user, role or type.",
            "container 'model' (spec.template.spec.containers[0]) sets procMount Unmasked: the node's /proc is unmasked.",
        ],
    ),
    one(
        "kubernetes-pod-security-restricted",
        "replica-set-unconfined-apparmor",
        "kubernetes:apps/v1:ReplicaSet",
        {
            "metadata": {"name": "scorer", "namespace": "recommender"},
            "spec": {
                "template": {
                    "spec": pod_spec(
                        securityContext={
                            "runAsNonRoot": True,
                            "seccompProfile": {"type": "RuntimeDefault"},
                            "appArmorProfile": {"type": "Unconfined"},
                        }
                    )
                }
            },
        },
        ["spec.template.spec.securityContext.appArmorProfile is Unconfined."],
    ),
    one(
        "kubernetes-resource-requests-and-limits",
        "job-with-ephemeral-debugger",
        "kubernetes:batch/v1:Job",
        {
            "metadata": {"name": "backfill", "namespace": "recommender"},
            "spec": {
                "template": {"spec": pod_spec(ephemeralContainers=[{"name": "debug", "image": IMAGE, **RESTRICTIVE}])}
            },
        },
        [],
    ),
    one(
        "kubernetes-resource-requests-and-limits",
        "init-container-unbounded",
        "kubernetes:batch/v1:Job",
        {
            "metadata": {"name": "backfill", "namespace": "recommender"},
            "spec": {"template": {"spec": pod_spec(initContainers=[{"name": "fetch", "image": IMAGE, **RESTRICTIVE}])}},
        },
        [
            "container 'fetch' (spec.template.spec.initContainers[0]) does not set resources requests.cpu, requests.memory, limits.cpu, limits.memory."
        ],
    ),
    one(
        "kubernetes-no-default-namespace",
        "cluster-role-patch-is-cluster-scoped",
        f"{RBAC}:ClusterRolePatch",
        {"metadata": {"name": "view"}, "rules": []},
        [],
    ),
]

# --- S3 settings of a bucket the stack does not declare -------------------------------------------------

SHARED_BUCKET = "ml-platform-shared-datasets"


def shared_bucket_setting(type_token: str, name: str, props: dict[str, Any]) -> Res:
    return Res(type_token, name, {"bucket": SHARED_BUCKET, **props})


PLATFORM_CASES += [
    Case(
        "s3-bucket-encryption",
        "shared-bucket-with-customer-key",
        [
            shared_bucket_setting(
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "shared-encryption",
                {
                    "rules": [
                        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}}
                    ]
                },
            )
        ],
        [],
    ),
    Case(
        "s3-bucket-encryption",
        "shared-bucket-sse-s3",
        [
            shared_bucket_setting(
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "shared-encryption",
                {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
            )
        ],
        [
            f"shared-encryption: BucketServerSideEncryptionConfiguration of bucket '{SHARED_BUCKET}' (not in this stack) encrypts with AES256 instead of SSE-KMS."
        ],
    ),
    Case(
        "s3-bucket-versioning",
        "shared-bucket-suspended",
        [
            shared_bucket_setting(
                "aws:s3/bucketVersioning:BucketVersioning",
                "shared-versioning",
                {"versioningConfiguration": {"status": "Suspended"}},
            )
        ],
        [
            f"shared-versioning: BucketVersioning of bucket '{SHARED_BUCKET}' (not in this stack) sets versioning Suspended: overwritten or deleted objects cannot be recovered."
        ],
    ),
    Case(
        "s3-bucket-public-access-block",
        "shared-bucket-policy-allowed",
        [
            shared_bucket_setting(
                "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                "shared-block",
                {
                    "blockPublicAcls": True,
                    "blockPublicPolicy": False,
                    "ignorePublicAcls": True,
                    "restrictPublicBuckets": True,
                },
            )
        ],
        [
            f"shared-block: BucketPublicAccessBlock of bucket '{SHARED_BUCKET}' (not in this stack) does not set blockPublicPolicy to true."
        ],
    ),
]

# --- waivers ---------------------------------------------------------------------------------------------

WAIVER_STACK = [Res("aws:s3/bucket:Bucket", "bucket", {"bucket": ARTIFACTS, "tags": TAGS})]
PLATFORM_CASES += [
    Case("policy-waivers", "none", WAIVER_STACK, [], {}),
    Case(
        "policy-waivers",
        "valid",
        WAIVER_STACK,
        [],
        {"waivers": [waiver(), waiver(resource="urn:pulumi:prod::*::bastion")]},
    ),
    Case(
        "policy-waivers",
        "expired",
        WAIVER_STACK,
        [
            f"waivers[0] (ec2-security-group-ingress-restricted on 'bastion-*') expired on {EXPIRED} (owner platform-security@example.com): the violation counts again; fix the resource or renew the waiver with a new expiry date."
        ],
        {"waivers": [waiver(expires=EXPIRED)]},
    ),
    Case(
        "policy-waivers",
        "malformed",
        WAIVER_STACK,
        [
            "waivers[0] lacks reason, owner and has unknown expiry, justification; each waiver names policy, resource, reason, owner, expires.",
            "waivers[1] (ec2-security-group-ingress-restricted on 'bastion-*'): expires '31/12/2026' is not a date written YYYY-MM-DD.",
            "waivers[2] is not an object with policy, resource, reason, owner, expires.",
            "waivers[3] (iam-no-admin on 'bastion-*') names a policy this pack does not have.",
            "waivers[4] (ec2-security-group-ingress-restricted on '*') matches every resource; to turn the policy off, set its enforcement level instead.",
        ],
        {
            "waivers": [
                {
                    "policy": "ec2-security-group-ingress-restricted",
                    "resource": "bastion-*",
                    "expiry": "2026-01-01",
                    "justification": "x",
                    "expires": "2026-01-01",
                },
                waiver(expires="31/12/2026"),
                "ec2-security-group-ingress-restricted:bastion-*",
                waiver(policy="iam-no-admin"),
                waiver(resource="*"),
            ]
        },
    ),
    Case(
        "policy-waivers",
        "non-waivable-and-too-long",
        WAIVER_STACK,
        [
            "waivers[0] (resource-policies-not-public on 'artifacts-policy'): resource-policies-not-public cannot be waived; fix the resource instead.",
            f"waivers[1] (ec2-security-group-ingress-restricted on 'bastion-*') expires {(today() + timedelta(days=400)).isoformat()}, more than 365 days ahead; waivers must be renewed.",
        ],
        {
            "waivers": [
                waiver(policy="resource-policies-not-public", resource="artifacts-policy"),
                waiver(expires=(today() + timedelta(days=400)).isoformat()),
            ]
        },
    ),
]


@pytest.mark.parametrize("case", PLATFORM_CASES, ids=lambda case: f"{case.policy}[{case.id}]")
def test_policy_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected
