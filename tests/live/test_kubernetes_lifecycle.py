"""A Kubernetes endpoint through the model lifecycle, as a SageMaker one goes through it: `register` ->
`promote --approve` -> (deploy) -> `verify` -> `promote --from/--to` -> (deploy) -> `verify`, then `drift` on
what its pods captured.

AWS is moto's server on loopback; each cluster is the Kubernetes API stand-in of `kubernetes_api.py`
(schema-validated answers). What stands in for `pulumi up` is the component's own rendering: the
Deployment the program renders for the stack file (its simulation), with the registry's answer for the
pinned version resolved by the component's own function (`registered_version`), applied to the
stand-in. The stacks are staging and prod with their recommender endpoint only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from modelplane_components.naming import data_capture_prefix
from modelplane_components.registered_models import RegisteredVersion, registered_version, version_arn
from prometheus_client import CollectorRegistry

from modelplane.aws import EMULATOR_CREDENTIALS
from modelplane.cli import main
from modelplane.drift.baseline import baseline_from_frame
from modelplane.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from modelplane.offline.graph import Simulation
from modelplane.offline.mocks import RealisticMocks
from modelplane_serving.capture import Capture
from modelplane_serving.config import CaptureSettings
from tests.drift.harness import requests_of, transactions
from tests.live.kubernetes_api import Cluster, kubernetes_api
from tests.manifests import manifest
from tests.serving.harness import fraud_model, model_archive
from tests.stacks import SimulateStack, stack_config, write_stack

REGION = "eu-west-1"
VARIANT = "two-tower-v6"
FAMILY = "recommender"
STACKS = ("staging", "prod")
REPLICAS = {"staging": 2, "prod": 3}  # what each stack's autoscaler holds (its minimum)
# The version the stack files pin when simulated (`recommender_only`); a deploy swaps in the one promoted.
RENDERED_PIN = 1


@functools.cache
def aws(url: str, service: str) -> Any:
    """A client of moto's server, made once per service: the test seeds and reads moto with it (the commands
    under test make their own), and a client costs ≈15 ms to build."""
    return boto3.client(service, region_name=REGION, endpoint_url=url, **EMULATOR_CREDENTIALS)


class Stack:
    """One stack of the lifecycle: its stack file (recommender only), outputs in moto, and its cluster."""

    def __init__(
        self, name: str, project: Path, simulation: Simulation, moto: str, *, cluster: Cluster, kubeconfig: Path
    ) -> None:
        self.name, self.project, self.moto = name, project, moto
        self.simulation, self.cluster, self.kubeconfig = simulation, cluster, kubeconfig
        self.outputs = json.loads(json.dumps(simulation.outputs))
        registry = self.outputs["registry"]
        registry["key_arn"] = aws(moto, "kms").create_key()["KeyMetadata"]["Arn"]
        # The mock engine names both stacks' buckets alike; in one account they are two.
        registry["bucket_name"] = f"{name}-{registry['bucket_name']}"
        registry["bucket_arn"] = f"arn:aws:s3:::{registry['bucket_name']}"
        aws(moto, "s3").create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        aws(moto, "sagemaker").create_model_package_group(ModelPackageGroupName=self.family["model_package_group_name"])
        self.outputs_file = project / f"outputs-{name}.json"
        self.outputs_file.write_text(json.dumps(self.outputs), encoding="utf-8")

    @property
    def family(self) -> dict[str, Any]:
        return self.outputs["registry"]["families"][FAMILY]

    @property
    def bucket(self) -> str:
        return self.outputs["registry"]["bucket_name"]

    def run(self, command: str, *arguments: str) -> int:
        options = ["--endpoint-url", self.moto]
        if command != "promote":  # promote reads the registry by name, the others the stack outputs
            options += ["--outputs", str(self.outputs_file)]
        if command == "verify":
            options += ["--stack", self.name, "--kubeconfig", str(self.kubeconfig)]
        return main([command, *arguments, *options])

    def register(self, image: str, archive: Path) -> int:
        return self.run(
            "register", "--stack", self.name, "--family", FAMILY, "--image", image, "--model-data", str(archive)
        )

    def deploy(self, version: int, *, rolled_out: bool = True) -> None:
        """What `pulumi up` applies: the rendered Deployment with the registry's answer for the pinned version."""
        (deployment,) = [r for r in self.simulation.resources if r.type == "kubernetes:apps/v1:Deployment"]
        arn = version_arn(self.family["model_package_group_arn"], version)
        described = aws(self.moto, "sagemaker").describe_model_package(ModelPackageName=arn)
        resolved = registered_version(arn, json.dumps(described, default=str), self.family["repository_url"])
        rendered = self.rendered_version()
        text = json.dumps(manifest(deployment))
        for old, new in (
            (rendered.image, resolved.image),
            (rendered.data_url, resolved.data_url),
            (rendered.sha256, resolved.sha256),
            (rendered.digest.replace(":", "-")[:19], resolved.digest.replace(":", "-")[:19]),
            (
                f'"modelplane.io/model-package-version": "{RENDERED_PIN}"',
                f'"modelplane.io/model-package-version": "{version}"',
            ),
            (version_arn(self.family["model_package_group_arn"], RENDERED_PIN), arn),
        ):
            text = text.replace(old, new)
        self.cluster.apply(json.loads(text), replicas=REPLICAS[self.name], rolled_out=rolled_out)

    def rendered_version(self) -> RegisteredVersion:
        """The version the simulation rendered (the mock engine's answer for the stack file's pin)."""
        arn = version_arn(self.family["model_package_group_arn"], RENDERED_PIN)
        properties = RealisticMocks(REGION).model_package(arn)["properties"]
        return registered_version(arn, properties, self.family["repository_url"])


def recommender_only(stack: str, project: Path, **serving: Any) -> Path:
    """The shipped stack file with its recommender endpoint only, pinned to version 1."""
    config = stack_config(stack)
    (recommender,) = [e for e in config["modelplane:endpoints"] if e.get("platform") == "kubernetes"]
    recommender["variants"][0]["model_package_version"] = RENDERED_PIN
    config["modelplane:endpoints"] = [recommender]
    config["modelplane:kubernetes"] = {**config.get("modelplane:kubernetes", {}), **serving}
    return write_stack(project / "stacks", config, stack)


@pytest.fixture(scope="module")
def rendered(
    tmp_path_factory: pytest.TempPathFactory, simulate_stack: SimulateStack
) -> dict[str, tuple[Path, Simulation]]:
    """Each stack's recommender-only file and its simulation, made once for the module (each test copies the
    file into its own project): the simulation depends on the file's content and name only."""
    directory = tmp_path_factory.mktemp("recommender-only")
    (directory / "stacks").mkdir()
    files = {
        "staging": recommender_only("staging", directory),
        # Prod's stack file names its cluster's context (as `modelplane:kubernetes.context`); staging's is given
        # on the command line.
        "prod": recommender_only("prod", directory, context="prod-cluster"),
    }
    return {name: (path, simulate_stack(path)) for name, path in files.items()}


@pytest.fixture
def stacks(
    project_copy: Path, moto_server_url: str, rendered: dict[str, tuple[Path, Simulation]], tmp_path: Path
) -> Iterator[dict[str, Stack]]:
    with (
        kubernetes_api(tmp_path, "staging-cluster") as (staging_cluster, staging_config),
        kubernetes_api(tmp_path, "prod-cluster") as (prod_cluster, prod_config),
    ):
        for path, _ in rendered.values():
            shutil.copy(path, project_copy / "stacks" / path.name)
        clusters = {"staging": (staging_cluster, staging_config), "prod": (prod_cluster, prod_config)}
        yield {
            name: Stack(
                name,
                project_copy,
                simulation,
                moto_server_url,
                cluster=clusters[name][0],
                kubeconfig=clusters[name][1],
            )
            for name, (_, simulation) in rendered.items()
        }


def test_register_promote_verify_and_copy_a_kubernetes_version(
    stacks: dict[str, Stack], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    staging, prod = stacks["staging"], stacks["prod"]
    old_archive = model_archive(tmp_path / "v1" / "model.tar.gz", fraud_model())
    new_archive = tmp_path / "v2" / "model.tar.gz"
    new_archive.parent.mkdir()
    new_archive.write_bytes(old_archive.read_bytes() + b"\0" * 512)  # another model (its bytes differ)
    old_image = f"{staging.family['repository_url']}@sha256:{hashlib.sha256(b'two-tower 6').hexdigest()}"
    new_image = f"{staging.family['repository_url']}@sha256:{hashlib.sha256(b'two-tower 7').hexdigest()}"
    pin = ["--stack", "staging", "--endpoint", "recommender", "--variant", VARIANT]

    # Version 1 is what runs in staging today: registered, approved, deployed and verified.
    assert staging.register(old_image, old_archive) == EXIT_OK
    assert staging.run("promote", *pin, "--version", "1", "--approve") == EXIT_OK
    staging.deploy(1)
    assert staging.run("verify", "--context", "staging-cluster") == EXIT_OK
    capsys.readouterr()

    # A new model: registered (pending) and promoted with approval; the file now pins 2, the cluster runs 1.
    assert staging.register(new_image, new_archive) == EXIT_OK
    assert "modelplane promote --stack staging --endpoint recommender --variant two-tower-v6 --version 2 --approve" in (
        capsys.readouterr().out
    )
    assert staging.run("promote", *pin, "--version", "2", "--approve") == EXIT_OK
    assert staging.run("verify", "--context", "staging-cluster") == EXIT_FAILED
    out = capsys.readouterr().out
    assert f"{VARIANT} runs version 1; the stack pins 2" in " ".join(out.split())
    assert "FAIL  image" in out

    # Deployed: while the new pods roll out verify still fails, once done it passes.
    staging.deploy(2, rolled_out=False)
    assert staging.run("verify", "--context", "staging-cluster") == EXIT_FAILED
    assert f"FAIL  rollout       {VARIANT}: 0 of 2 replicas updated" in capsys.readouterr().out
    staging.deploy(2)
    assert staging.run("verify", "--context", "staging-cluster") == EXIT_OK
    out = capsys.readouterr().out
    assert "pass  version       two-tower-v6 2" in out and "OK: 5 passed, 0 failed, 0 skipped" in out

    # Prod: the same artifact registered there, then copied from staging (identity checked), deployed, verified
    # on the cluster its stack file names.
    # The same image bytes pushed to prod's repository (`image push`): the same digest there.
    in_prod = staging.family["repository_url"], prod.family["repository_url"]
    assert prod.register(old_image.replace(*in_prod), old_archive) == EXIT_OK
    assert prod.register(new_image.replace(*in_prod), new_archive) == EXIT_OK
    assert prod.run("promote", "--from", "staging", "--to", "prod", "--endpoint", "recommender", "--approve") == (
        EXIT_OK
    )
    assert "recommender-prod version 2: the same image and model archive as recommender-staging version 2" in (
        capsys.readouterr().out
    )
    prod.deploy(2)
    assert prod.run("verify") == EXIT_OK
    capsys.readouterr()
    # Staging's file names no context: the kubeconfig's current one has no API server behind it.
    assert staging.run("verify") == EXIT_USAGE
    assert "modelplane verify: Kubernetes API: cannot reach the API server" in capsys.readouterr().err


def test_drift_reads_what_the_kubernetes_pods_captured(stacks: dict[str, Stack], tmp_path: Path) -> None:
    staging = stacks["staging"]
    endpoint = staging.outputs["endpoints"]["recommender"]["endpoint_name"]
    # The serving runtime's own capture, as the pod writes it (its settings are the pod's environment).
    capture = Capture(
        CaptureSettings(
            bucket=staging.bucket,
            prefix=data_capture_prefix(endpoint).rstrip("/"),
            endpoint=endpoint,
            variant=VARIANT,
            kms_key_id=staging.outputs["registry"]["key_arn"],
            flush_seconds=0.1,
        ),
        CollectorRegistry(),
        lambda: aws(staging.moto, "s3"),
    )
    capture.start()
    for row in requests_of(transactions(400, seed=11)):
        capture.offer(json.dumps(row).encode(), "application/json", b'{"predictions":[0.5]}', "application/json")
    capture.close(timeout=30)
    baseline = tmp_path / "baseline.json"
    baseline.write_text(
        baseline_from_frame(transactions(3000, seed=1).drop(columns=["label"]), "training").model_dump_json(),
        encoding="utf-8",
    )
    now = datetime.now(UTC)
    window = [
        "--start",
        (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--end",
        (now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    ]

    drift = ["drift", "--stack", "staging", "--endpoint", "recommender", "--baseline", str(baseline), *window]
    assert staging.run(*drift) == EXIT_OK
