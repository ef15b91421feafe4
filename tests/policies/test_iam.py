"""Rules of `policies/modelplane_guard/iam.py` (IAM and resource policies): compliant and non-compliant inputs,
with the exact messages each rule reports."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policies.modelplane_guard import iam
from tests.policies.harness import (
    ACCOUNT,
    ARTIFACTS,
    KEY_ARN,
    QUEUE,
    ROOT,
    SAGEMAKER_ROLE,
    TAGS,
    TOPIC_ARN,
    Case,
    allow,
    case_id,
    document,
    one,
    run,
    uncovered,
)

ROLE = "aws:iam/role:Role"


POLICY = "aws:iam/policy:Policy"


ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


OTHER_ACCOUNT = "210987654321"


def trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"assumeRolePolicy": document(*statements), "tags": TAGS}


def assume_from(principal: Any, **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return statement


CASES: list[Case] = [
    one(
        "iam-no-admin-statements",
        "scoped",
        "aws:iam/rolePolicy:RolePolicy",
        {
            "role": "r",
            "policy": document(
                allow(["s3:GetObject"], f"arn:aws:s3:::{ARTIFACTS}/*"), allow("ecr:GetAuthorizationToken")
            ),
        },
        [],
    ),
    one(
        "iam-no-admin-statements",
        "star",
        "aws:iam/policy:Policy",
        {"policy": document(allow("*", Sid="Everything"))},
        ["policy statement 'Everything' allows '*' on Resource '*'."],
    ),
    one(
        "iam-no-admin-statements",
        "single-statement-object-service-wildcard",
        "aws:iam/rolePolicy:RolePolicy",
        {"role": "r", "policy": {"Version": "2012-10-17", "Statement": allow("s3:*", ["*"])}},
        ["policy statement 0 allows 's3:*' on Resource '*'."],
    ),
    one(
        "iam-no-admin-statements",
        "service-newer-than-the-catalogue",
        "aws:iam/policy:Policy",
        {"policy": document(allow(["s3:GetObject", "newservice:*"]))},
        ["policy statement 0 allows 'newservice:*' on Resource '*'."],
    ),
    one(
        "iam-no-admin-statements",
        "role-inline-not-action",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": "{}",
            "inlinePolicies": [
                {"name": "ops", "policy": document({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})}
            ],
        },
        ["inlinePolicies[0] (ops) statement 0 allows every action except a few (NotAction) on Resource '*'."],
    ),
    one(
        "iam-no-admin-statements",
        "unreadable",
        "aws:iam/policy:Policy",
        {"policy": "{not json"},
        ["policy is not valid JSON (Expecting property name enclosed in double quotes); it cannot be checked."],
    ),
    one(
        "iam-no-broad-managed-policies",
        "customer-policy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        {"role": "r", "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/fraud-read"},
        [],
    ),
    one(
        "iam-no-broad-managed-policies",
        "sagemaker-full-access",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"},
        ["policyArn attaches the AWS managed policy AmazonSageMakerFullAccess."],
    ),
    # Any type that attaches managed policies by ARN, not only IAM's own attachments.
    one(
        "iam-no-broad-managed-policies",
        "identity-center-permission-set-admin",
        "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment",
        {
            "instanceArn": "arn:aws:sso:::instance/ssoins-0123456789abcdef",
            "permissionSetArn": "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-1",
            "managedPolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
        },
        ["managedPolicyArn attaches the AWS managed policy AdministratorAccess."],
    ),
    one(
        "iam-no-broad-managed-policies",
        "identity-center-permission-set-read-only",
        "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment",
        {
            "instanceArn": "arn:aws:sso:::instance/ssoins-0123456789abcdef",
            "permissionSetArn": "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-1",
            "managedPolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
        },
        [],
    ),
    one(
        "iam-no-broad-managed-policies",
        "role-managed-arns",
        "aws:iam/role:Role",
        {"assumeRolePolicy": "{}", "managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
        ["managedPolicyArns attaches the AWS managed policy AdministratorAccess."],
    ),
    one(
        "iam-trust-policy-scoped",
        "sagemaker-for-this-account",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": document(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sagemaker.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
                }
            )
        },
        [],
    ),
    one(
        "iam-trust-policy-scoped",
        "irsa-for-one-service-account",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": document(
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks/id/X"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {"oidc.eks/id/X:sub": "system:serviceaccount:recommender:model"}},
                }
            )
        },
        [],
    ),
    one(
        "iam-trust-policy-scoped",
        "saml-federation",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": document(
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/Okta"},
                    "Action": "sts:AssumeRoleWithSAML",
                    "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
                }
            )
        },
        [],
    ),
    one(
        "iam-trust-policy-scoped",
        "cognito-identity-pool",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": document(
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {"cognito-identity.amazonaws.com:aud": "eu-west-1:0f1e2d3c-4b5a-6978-8796"},
                        "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
                    },
                },
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                },
            )
        },
        [
            "assumeRolePolicy statement 1 trusts cognito-identity.amazonaws.com without a ':aud' condition: any identity of that provider can assume the role."
        ],
    ),
    one(
        "iam-trust-policy-scoped",
        "unscoped",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": document(
                {"Effect": "Allow", "Principal": {"Service": ["sagemaker.amazonaws.com"]}, "Action": "sts:AssumeRole"},
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"},
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/x"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                },
            )
        },
        [
            "assumeRolePolicy statement 0 trusts sagemaker.amazonaws.com without an aws:SourceAccount or aws:SourceArn condition (confused deputy).",
            "assumeRolePolicy statement 1 lets any AWS principal assume the role.",
            "assumeRolePolicy statement 2 trusts arn:aws:iam::1:oidc-provider/x without a ':sub' condition: any identity of that provider can assume the role.",
        ],
    ),
    one(
        "iam-trust-policy-scoped",
        "exempt-service",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": document(
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            )
        },
        [],
        config={"servicesWithoutSourceConditions": ["ec2.amazonaws.com"]},
    ),
    one(
        "resource-policies-not-public",
        "named-accounts",
        "aws:ecr/repositoryPolicy:RepositoryPolicy",
        {
            "repository": "r",
            "policy": document({"Effect": "Allow", "Principal": {"AWS": [ROOT]}, "Action": ["ecr:BatchGetImage"]}),
        },
        [],
    ),
    one(
        "resource-policies-not-public",
        "deny-to-everyone-is-fine",
        "aws:s3/bucketPolicy:BucketPolicy",
        {
            "bucket": ARTIFACTS,
            "policy": document({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}),
        },
        [],
    ),
    one(
        "resource-policies-not-public",
        "organisation-only",
        "aws:sns/topicPolicy:TopicPolicy",
        {
            "arn": TOPIC_ARN,
            "policy": document(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": "sns:Publish",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}},
                }
            ),
        },
        [],
    ),
    one(
        "resource-policies-not-public",
        "public-repository",
        "aws:ecr/repositoryPolicy:RepositoryPolicy",
        {
            "repository": "r",
            "policy": document(
                {
                    "Sid": "Pull",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                }
            ),
        },
        [
            "policy statement 'Pull' allows ecr:BatchGetImage, ecr:GetDownloadUrlForLayer to any principal without an account, organisation or source condition."
        ],
    ),
    one(
        "resource-policies-not-public",
        "public-model-package-group",
        "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy",
        {
            "modelPackageGroupName": "g",
            "resourcePolicy": document(
                {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "sagemaker:DescribeModelPackage"}
            ),
        },
        [
            "resourcePolicy statement 0 allows sagemaker:DescribeModelPackage to any principal without an account, organisation or source condition."
        ],
    ),
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
    # --- policy documents in any other resource's inputs (the property index) -----------------------------
    one(
        "resource-policies-not-public",
        "search-domain-open-to-everyone",
        "aws:opensearch/domain:Domain",
        {
            "accessPolicies": document(
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "es:ESHttp*", "Resource": "*"}
            )
        },
        [
            "accessPolicies statement 0 allows es:ESHttp* to any principal without an account, organisation or source condition."
        ],
    ),
    one(
        "resource-policies-not-public",
        "search-domain-for-the-organization",
        "aws:opensearch/domain:Domain",
        {
            "accessPolicies": document(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": "es:ESHttp*",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
                }
            )
        },
        [],
    ),
    one(
        "resource-policies-not-public",
        "endpoint-policies-are-left-to-the-vpc",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        {"policy": document({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"})},
        [],
    ),
    one(
        "resource-policies-not-public",
        "a-policy-input-that-is-no-document",
        "aws:sqs/redrivePolicy:RedrivePolicy",
        {
            "redrivePolicy": json.dumps(
                {"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:123456789012:dlq", "maxReceiveCount": 4}
            )
        },
        [],
    ),
    one(
        "iam-no-admin-statements",
        "permission-set-inline-policy",
        "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy",
        {
            "inlinePolicy": document(allow("*")),
            "instanceArn": "arn:aws:sso:::instance/ssoins-1",
            "permissionSetArn": "arn:ps",
        },
        ["inlinePolicy statement 0 allows '*' on Resource '*'."],
    ),
    # Session policies only narrow the role's permissions (the effective ones are the intersection):
    # `*` in one grants nothing the role lacks.
    one(
        "iam-no-privilege-escalation",
        "pod-identity-session-policy",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        {"policy": document(allow("iam:PassRole")), "roleArn": f"arn:aws:iam::{ACCOUNT}:role/scorer"},
        [],
    ),
    one(
        "iam-no-admin-statements",
        "transfer-user-scope-down-policy",
        "aws:transfer/user:User",
        {
            "serverId": "s-1",
            "userName": "partner",
            "role": f"arn:aws:iam::{ACCOUNT}:role/sftp",
            "policy": document(allow("*")),
        },
        [],
    ),
    one(
        "iam-no-allow-with-not-action",
        "roles-anywhere-session-policy",
        "aws:rolesanywhere/profile:Profile",
        {"name": "workloads", "sessionPolicy": document({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})},
        [],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(iam.POLICIES, CASES) == []
