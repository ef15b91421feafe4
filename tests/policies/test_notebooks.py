"""Rules of `policies/modelplane_guard/notebooks.py` (SageMaker notebook instances and Studio domains): compliant
and non-compliant inputs, with the exact messages each rule reports."""

from __future__ import annotations

from typing import Any

import pytest

from policies.modelplane_guard import notebooks
from tests.policies.harness import (
    DELETE,
    KEY_ARN,
    SAGEMAKER_ROLE,
    SECURITY_GROUP,
    TAGS,
    Case,
    case_id,
    one,
    run,
    uncovered,
)

NOTEBOOK = "aws:sagemaker/notebookInstance:NotebookInstance"


DOMAIN = "aws:sagemaker/domain:Domain"


SUBNET = "subnet-0a1b2c3d4e5f60718"


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


CASES: list[Case] = [
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
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reports_exactly(case: Case) -> None:
    assert run(case) == case.expected


def test_every_rule_has_compliant_and_violating_cases() -> None:
    assert uncovered(notebooks.POLICIES, CASES) == []
