"""`modelplane capacity` against botocore's Service Quotas and SageMaker models (Stubber checks every request
and answer against them; moto's Service Quotas knows only VPC quotas): enough quota, a type short of it,
blue/green's second fleet tipping a type over, a type without a quota, an AWS error."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from modelplane.aws import Aws
from modelplane.cli import main
from modelplane.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from modelplane.live import capacity
from modelplane.live.capacity import instance_needs, pod_needs
from tests.stacks import SimulateStack, settings_of, stack_config, write_stack

REGION = "eu-west-1"
M5_QUOTA_CODE = "L-4B0B5C1A"
OTHER_ENDPOINT = "churn-model"


@functools.cache
def client(service: str) -> Any:
    """A client of the session `Aws.connect` makes, made once per module (≈6 ms a client): each test stubs it
    afresh (`Account`), and a Stubber deactivated leaves the client as it found it."""
    return Aws.connect(REGION, None).session.client(
        service, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def quota(instance_type: str, value: float, code: str) -> dict[str, Any]:
    return quota_named(f"{instance_type} for endpoint usage", value, code)


def quota_named(name: str, value: float, code: str) -> dict[str, Any]:
    return {
        "ServiceCode": "sagemaker",
        "ServiceName": "Amazon SageMaker",
        "QuotaArn": f"arn:aws:servicequotas:{REGION}:111111111111:sagemaker/{code}",
        "QuotaCode": code,
        "QuotaName": name,
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

    def endpoints(
        self,
        in_use: int,
        *,
        pending: int = 0,
        creating: bool = False,
        config_gone: bool = False,
        serverless: int = 0,
        ours: str = "fraud-prod",
    ) -> None:
        """The stack's own endpoint (left out) and one other endpoint running `in_use` ml.m5.xlarge, maybe
        updating, maybe still being created (no current count yet), maybe with its endpoint config deleted;
        with `serverless`, a serverless endpoint of that maximum concurrency as well."""
        others = [OTHER_ENDPOINT, *(["faq-bot"] if serverless else [])]
        summaries = [
            {
                "EndpointName": name,
                "EndpointArn": f"arn:aws:sagemaker:{REGION}:111111111111:endpoint/{name}",
                "CreationTime": "2026-10-01T00:00:00Z",
                "LastModifiedTime": "2026-10-01T00:00:00Z",
                "EndpointStatus": "InService",
            }
            for name in (ours, *others)
        ]
        self.sagemaker_stub.add_response("list_endpoints", {"Endpoints": summaries}, {})
        counts = (
            {"DesiredInstanceCount": in_use}
            if creating
            else {"CurrentInstanceCount": in_use, "DesiredInstanceCount": in_use}
        )
        described: dict[str, Any] = {
            "EndpointName": OTHER_ENDPOINT,
            "EndpointArn": summaries[1]["EndpointArn"],
            "EndpointConfigName": "churn-config",
            "EndpointStatus": "Creating" if creating else "Updating" if pending else "InService",
            "CreationTime": "2026-10-01T00:00:00Z",
            "LastModifiedTime": "2026-10-01T00:00:00Z",
            "ProductionVariants": [{"VariantName": "main", **counts}],
        }
        if pending:
            described["PendingDeploymentSummary"] = {
                "EndpointConfigName": "churn-config-2",
                "ProductionVariants": [
                    {"VariantName": "main", "InstanceType": "ml.m5.xlarge", "CurrentInstanceCount": pending}
                ],
            }
        self.sagemaker_stub.add_response("describe_endpoint", described, {"EndpointName": OTHER_ENDPOINT})
        if serverless:
            self.sagemaker_stub.add_response(
                "describe_endpoint",
                {
                    "EndpointName": "faq-bot",
                    "EndpointArn": summaries[2]["EndpointArn"],
                    "EndpointConfigName": "faq-bot-config",
                    "EndpointStatus": "InService",
                    "CreationTime": "2026-10-01T00:00:00Z",
                    "LastModifiedTime": "2026-10-01T00:00:00Z",
                    "ProductionVariants": [
                        {
                            "VariantName": "main",
                            "CurrentServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": serverless},
                        }
                    ],
                },
                {"EndpointName": "faq-bot"},
            )
        if config_gone:
            self.sagemaker_stub.add_client_error(
                "describe_endpoint_config",
                "ValidationException",
                'Could not find endpoint configuration "churn-config".',
                expected_params={"EndpointConfigName": "churn-config"},
            )
        else:
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
        if serverless:
            self.sagemaker_stub.add_response(
                "describe_endpoint_config",
                {
                    "EndpointConfigName": "faq-bot-config",
                    "EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:111111111111:endpoint-config/faq-bot-config",
                    "ProductionVariants": [
                        {
                            "VariantName": "main",
                            "ModelName": "faq",
                            "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": serverless},
                        }
                    ],
                    "CreationTime": "2026-10-01T00:00:00Z",
                },
                {"EndpointConfigName": "faq-bot-config"},
            )

    def __enter__(self) -> Account:
        self.quota_stub.activate()
        self.sagemaker_stub.activate()
        return self

    def __exit__(self, *_: object) -> None:
        try:
            self.quota_stub.assert_no_pending_responses()
            self.sagemaker_stub.assert_no_pending_responses()
        finally:
            self.quota_stub.deactivate()
            self.sagemaker_stub.deactivate()


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    with Account(monkeypatch) as stubbed:
        yield stubbed


def run_capacity(*arguments: str) -> int:
    return main(["capacity", *arguments])


def test_prod_needs_its_autoscaling_maximum_twice_for_a_canary_update() -> None:
    (need,) = instance_needs(settings_of("prod")).values()
    assert (need.label, need.running, need.update, need.total) == ("ml.m5.xlarge", 8, 8, 16)
    assert need.reasons == [
        "fraud/champion: 8 (variant, autoscaling max)",
        "fraud/champion: +8 during an update (canary blue/green second fleet)",
    ]


def test_enough_quota_exits_0_with_the_table(account: Account, tmp_path: Path, capsys: Any) -> None:
    account.applied(quota("ml.m5.xlarge", 20, M5_QUOTA_CODE))
    account.endpoints(in_use=2)
    out = tmp_path / "reports" / "capacity.json"  # a folder that does not exist yet

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
    assert "fraud/champion: +1 during an update (rolling batch, and the rollback's)" in capsys.readouterr().out


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


def test_an_endpoint_whose_config_is_gone_counts_against_every_type_and_says_so(
    account: Account, tmp_path: Path, capsys: Any
) -> None:
    """DescribeEndpointConfig of a deleted config is SageMaker's ValidationException: that endpoint's instances
    are of a type nobody can tell, so they count as in use of every type, and the command goes on."""
    account.applied(quota("ml.m5.xlarge", 20, M5_QUOTA_CODE))
    account.endpoints(in_use=5, config_gone=True)
    out = tmp_path / "capacity.json"

    assert run_capacity("--stack", "prod", "--json", str(out)) == EXIT_FAILED

    printed = capsys.readouterr().out
    assert (
        f"5 instances of endpoint {OTHER_ENDPOINT} of unknown type (its endpoint config churn-config no longer "
        "exists): counted as in use of every type"
    ) in printed
    assert "SHORT: ml.m5.xlarge: needs 16 with 5 in use by other endpoints, quota 20" in printed
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["unknown_instances"] == [
        {"endpoint": OTHER_ENDPOINT, "endpoint_config": "churn-config", "instances": 5}
    ]


def test_an_endpoint_being_created_counts_the_instances_it_asks_for(account: Account, capsys: Any) -> None:
    """While an endpoint is Creating, DescribeEndpoint has no current count yet; its desired count is what it
    will hold."""
    account.applied(quota("ml.m5.xlarge", 20, M5_QUOTA_CODE))
    account.endpoints(in_use=6, creating=True)

    assert run_capacity("--stack", "prod") == EXIT_FAILED
    assert "SHORT: ml.m5.xlarge: needs 16 with 6 in use by other endpoints, quota 20" in capsys.readouterr().out


def test_serverless_variants_are_held_to_the_regions_serverless_quotas(account: Account, capsys: Any) -> None:
    """dev's fraud endpoint is serverless (max concurrency 5): with another serverless endpoint holding 8 of the
    region's 10, the shared concurrency is short; the count of serverless endpoints fits."""
    account.applied(
        quota_named(capacity.SERVERLESS_CONCURRENCY_QUOTA, 10, "L-96300102"),
        quota_named(capacity.SERVERLESS_ENDPOINTS_QUOTA, 5, "L-5E8D3B2A"),
    )
    account.endpoints(in_use=2, serverless=8, ours="fraud-dev")

    assert run_capacity("--stack", "dev") == EXIT_FAILED

    printed = capsys.readouterr().out
    assert "  serverless concurrency     5       +0     10 L-96300102       8       -3  SHORT" in printed
    assert "  serverless endpoints       1       +0      5 L-5E8D3B2A       1        3" in printed
    assert "fraud/current: 5 (max concurrency)" in printed
    assert printed.rstrip().endswith(
        "SHORT: serverless concurrency: needs 5 with 8 in use by other endpoints, quota 10; raise L-96300102 "
        f"('{capacity.SERVERLESS_CONCURRENCY_QUOTA}') in eu-west-1 to at least 13 (Service Quotas, service code "
        "sagemaker)"
    )


def test_rolling_updates_roll_back_in_the_batches_capacity_counts(
    simulate_stack: SimulateStack, tmp_path: Path
) -> None:
    """Without a rollback batch size SageMaker brings the whole old fleet back at once; the endpoint sets the
    rollback's batch to the update's, which is the one batch capacity adds to the peak."""
    config = stack_config("prod")
    config["modelplane:endpoints"][0]["deployment"]["strategy"] = "rolling"
    path = write_stack(tmp_path, config, "prod")
    (endpoint,) = simulate_stack(path).of_type("aws:sagemaker/endpoint:Endpoint")
    policy = endpoint.inputs["deploymentConfig"]["rollingUpdatePolicy"]
    (need,) = instance_needs(settings_of(path)).values()

    assert policy["rollbackMaximumBatchSize"] == policy["maximumBatchSize"] == {"type": "CAPACITY_PERCENT", "value": 10}
    assert need.update == math.ceil(need.running * 10 / 100) == 1


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
