"""`modelplane capacity` against botocore's Service Quotas and SageMaker models (Stubber checks every request
and answer against them; moto's Service Quotas knows only VPC quotas): enough quota, a type short of it,
blue/green's second fleet tipping a type over, a type without a quota, an AWS error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from modelplane.aws import Aws
from modelplane.cli import main
from modelplane.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from modelplane.live import capacity
from modelplane.live.capacity import instance_needs, pod_needs
from tests.stacks import settings_of, stack_config, write_stack

REGION = "eu-west-1"
M5_QUOTA_CODE = "L-4B0B5C1A"
OTHER_ENDPOINT = "churn-model"


def client(service: str) -> Any:
    return botocore.session.get_session().create_client(
        service, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def quota(instance_type: str, value: float, code: str) -> dict[str, Any]:
    return {
        "ServiceCode": "sagemaker",
        "ServiceName": "Amazon SageMaker",
        "QuotaArn": f"arn:aws:servicequotas:{REGION}:111111111111:sagemaker/{code}",
        "QuotaCode": code,
        "QuotaName": f"{instance_type} for endpoint usage",
        "Value": value,
        "Unit": "None",
        "Adjustable": True,
        "GlobalQuota": False,
    }


class Account:
    """Stubbed Service Quotas and SageMaker clients, wired into `modelplane capacity`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.quotas, self.sagemaker = client("service-quotas"), client("sagemaker")
        self.quota_stub, self.sagemaker_stub = Stubber(self.quotas), Stubber(self.sagemaker)
        clients = {"service-quotas": self.quotas, "sagemaker": self.sagemaker}
        monkeypatch.setattr(Aws, "client", lambda _, service, **__: clients[service])
        # One describe at a time: the Stubber answers in the order the calls come.
        monkeypatch.setattr(capacity, "DESCRIBE_THREADS", 1)

    def applied(self, *quotas: dict[str, Any]) -> None:
        """ListServiceQuotas answers these on two pages (quotas of other kinds around them)."""
        training = quota("ml.m5.xlarge", 50, "L-TRAINING").copy()
        training["QuotaName"] = "ml.m5.xlarge for training job usage"
        self.quota_stub.add_response(
            "list_service_quotas", {"Quotas": [training], "NextToken": "2"}, {"ServiceCode": "sagemaker"}
        )
        self.quota_stub.add_response(
            "list_service_quotas", {"Quotas": list(quotas)}, {"ServiceCode": "sagemaker", "NextToken": "2"}
        )

    def defaults(self, *quotas: dict[str, Any]) -> None:
        self.quota_stub.add_response(
            "list_aws_default_service_quotas", {"Quotas": list(quotas)}, {"ServiceCode": "sagemaker"}
        )

    def endpoints(self, in_use: int, *, pending: int = 0) -> None:
        """Prod's own endpoint (left out) and one other endpoint running `in_use` ml.m5.xlarge, maybe updating."""
        summaries = [
            {
                "EndpointName": name,
                "EndpointArn": f"arn:aws:sagemaker:{REGION}:111111111111:endpoint/{name}",
                "CreationTime": "2026-10-01T00:00:00Z",
                "LastModifiedTime": "2026-10-01T00:00:00Z",
                "EndpointStatus": "InService",
            }
            for name in ("fraud-prod", OTHER_ENDPOINT)
        ]
        self.sagemaker_stub.add_response("list_endpoints", {"Endpoints": summaries}, {})
        described: dict[str, Any] = {
            "EndpointName": OTHER_ENDPOINT,
            "EndpointArn": summaries[1]["EndpointArn"],
            "EndpointConfigName": "churn-config",
            "EndpointStatus": "Updating" if pending else "InService",
            "CreationTime": "2026-10-01T00:00:00Z",
            "LastModifiedTime": "2026-10-01T00:00:00Z",
            "ProductionVariants": [
                {"VariantName": "main", "CurrentInstanceCount": in_use, "DesiredInstanceCount": in_use}
            ],
        }
        if pending:
            described["PendingDeploymentSummary"] = {
                "EndpointConfigName": "churn-config-2",
                "ProductionVariants": [
                    {"VariantName": "main", "InstanceType": "ml.m5.xlarge", "CurrentInstanceCount": pending}
                ],
            }
        self.sagemaker_stub.add_response("describe_endpoint", described, {"EndpointName": OTHER_ENDPOINT})
        self.sagemaker_stub.add_response(
            "describe_endpoint_config",
            {
                "EndpointConfigName": "churn-config",
                "EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:111111111111:endpoint-config/churn-config",
                "ProductionVariants": [
                    {
                        "VariantName": "main",
                        "ModelName": "churn",
                        "InstanceType": "ml.m5.xlarge",
                        "InitialInstanceCount": 1,
                    }
                ],
                "CreationTime": "2026-10-01T00:00:00Z",
            },
            {"EndpointConfigName": "churn-config"},
        )

    def __enter__(self) -> Account:
        self.quota_stub.activate()
        self.sagemaker_stub.activate()
        return self

    def __exit__(self, *_: object) -> None:
        self.quota_stub.assert_no_pending_responses()
        self.sagemaker_stub.assert_no_pending_responses()


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    with Account(monkeypatch) as stubbed:
        yield stubbed


def run_capacity(*arguments: str) -> int:
    return main(["capacity", *arguments])


def test_prod_needs_its_autoscaling_maximum_twice_for_a_canary_update() -> None:
    (need,) = instance_needs(settings_of("prod")).values()
    assert (need.instance_type, need.running, need.update, need.total) == ("ml.m5.xlarge", 8, 8, 16)
    assert need.reasons == [
        "fraud/champion: 8 (variant, autoscaling max)",
        "fraud/champion: +8 during an update (canary blue/green second fleet)",
    ]


def test_enough_quota_exits_0_with_the_table(account: Account, tmp_path: Path, capsys: Any) -> None:
    account.applied(quota("ml.m5.xlarge", 20, M5_QUOTA_CODE))
    account.endpoints(in_use=2)
    out = tmp_path / "capacity.json"

    assert run_capacity("--stack", "prod", "--json", str(out)) == EXIT_OK

    printed = capsys.readouterr().out
    assert "  ml.m5.xlarge          16       +8     20 L-4B0B5C1A       2        2" in printed
    assert printed.rstrip().endswith("Enough quota for every type.")
    (line,) = json.loads(out.read_text(encoding="utf-8"))["instances"]
    assert (line["need"], line["quota"], line["in_use"], line["headroom"], line["short"]) == (16, 20, 2, 2, False)


def test_a_type_short_of_quota_exits_1_naming_the_quota_code_to_raise(account: Account, capsys: Any) -> None:
    account.applied(quota("ml.m5.xlarge", 10, M5_QUOTA_CODE))
    account.endpoints(in_use=1, pending=1)

    assert run_capacity("--stack", "prod") == EXIT_FAILED

    assert (
        "SHORT: ml.m5.xlarge: needs 16 with 2 in use by other endpoints, quota 10; raise L-4B0B5C1A "
        "('ml.m5.xlarge for endpoint usage') in eu-west-1 to at least 18"
    ) in capsys.readouterr().out


def test_blue_green_second_fleet_tips_a_type_over_where_a_rolling_update_fits(
    account: Account, tmp_path: Path, capsys: Any
) -> None:
    """12 instances hold the fleet at its maximum (8), not 8 more beside it; a rolling batch (10% of 8) fits."""
    account.applied(quota("ml.m5.xlarge", 12, M5_QUOTA_CODE))
    account.endpoints(in_use=0)
    assert run_capacity("--stack", "prod") == EXIT_FAILED
    assert "needs 16 with 0 in use by other endpoints, quota 12" in capsys.readouterr().out

    config = stack_config("prod")
    config["modelplane:endpoints"][0]["deployment"]["strategy"] = "rolling"
    rolling = settings_of(write_stack(tmp_path, config, "prod"))
    (need,) = instance_needs(rolling).values()
    assert (need.running, need.update) == (8, 1)


def test_the_rolling_stack_passes_the_same_account(account: Account, tmp_path: Path, capsys: Any) -> None:
    account.applied(quota("ml.m5.xlarge", 12, M5_QUOTA_CODE))
    account.endpoints(in_use=0)
    config = stack_config("prod")
    config["modelplane:endpoints"][0]["deployment"]["strategy"] = "rolling"

    assert run_capacity("--config", str(write_stack(tmp_path, config, "prod"))) == EXIT_OK
    assert "fraud/champion: +1 during an update (rolling batch)" in capsys.readouterr().out


def test_a_type_without_an_applied_value_is_held_to_its_default(account: Account, capsys: Any) -> None:
    account.applied()
    account.defaults(quota("ml.m5.xlarge", 4, M5_QUOTA_CODE))
    account.endpoints(in_use=0)

    assert run_capacity("--stack", "prod") == EXIT_FAILED
    printed = capsys.readouterr().out
    assert "(AWS default)" in printed and "quota 4; raise L-4B0B5C1A" in printed


def test_an_instance_type_service_quotas_does_not_know_exits_1(account: Account, tmp_path: Path, capsys: Any) -> None:
    config = stack_config("prod")
    config["modelplane:endpoints"][0]["variants"][0]["instance_type"] = "ml.p5.48xlarge"
    account.applied(quota("ml.m5.xlarge", 20, M5_QUOTA_CODE))
    account.defaults(quota("ml.m5.xlarge", 4, M5_QUOTA_CODE))
    account.endpoints(in_use=0)

    assert run_capacity("--config", str(write_stack(tmp_path, config, "prod"))) == EXIT_FAILED
    assert (
        "SHORT: ml.p5.48xlarge: Service Quotas has no quota 'ml.p5.48xlarge for endpoint usage' in eu-west-1"
    ) in capsys.readouterr().out


def test_an_aws_error_exits_2_with_one_line(account: Account, capsys: Any) -> None:
    account.quota_stub.add_client_error(
        "list_service_quotas",
        "AccessDeniedException",
        "User is not authorized to perform servicequotas:ListServiceQuotas",
    )

    assert run_capacity("--stack", "prod") == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.strip() == (
        "modelplane capacity: AWS: ListServiceQuotas: AccessDeniedException: User is not authorized to perform "
        "servicequotas:ListServiceQuotas"
    )


def test_bad_usage_exits_2() -> None:
    assert run_capacity() == EXIT_USAGE


def test_kubernetes_pods_are_summed_per_node_selector_from_the_settings_only() -> None:
    (gpus,) = pod_needs(settings_of("prod"))
    # recommender: autoscaling to 12 replicas, one surge pod during a rolling update, 4 CPUs and 1 GPU each.
    assert (gpus.node_selector, gpus.pods, gpus.cpus, gpus.gpus) == (
        "node.kubernetes.io/instance-type=g5.xlarge",
        13,
        52,
        13,
    )
