"""The Kubernetes objects the shipped stacks render, held to the Kubernetes API's schema and scanned by Checkov.

What `pulumi up` would send the API server (or write with `render_yaml_to_directory`) is each recorded
object's inputs: every built-in kind must pass the strict schema of the API version the `kubernetes`
client speaks (an unknown or misspelt field fails, as server-side apply's field validation would), and
Checkov's Kubernetes checks, run on the manifests written out as YAML, must find nothing.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from modelplane.offline.graph import Simulation
from tests.manifests import manifest, schema_problem
from tests.stacks import REPOSITORY, SimulateStack

STACKS = ["dev", "staging", "prod"]
CHECKOV_PYTHON = REPOSITORY / ".tools" / "checkov" / "bin" / "python"
# Checkov's Kubernetes runner over a directory, its checks' outcomes as JSON: what `checkov --directory D
# --framework kubernetes` runs, without the command's import of every other framework's runner (a third of
# the run). Both give the same outcomes, check for check, on the rendered manifests.
CHECKOV_KUBERNETES = """
import json, sys
from checkov.kubernetes.runner import Runner
from checkov.runner_filter import RunnerFilter

report = Runner().run(root_folder=sys.argv[1], runner_filter=RunnerFilter(framework=["kubernetes"]))
fields = ("check_id", "file_abs_path", "resource", "check_name")
outcomes = {"passed_checks": report.passed_checks, "failed_checks": report.failed_checks}
print(json.dumps({key: [{f: getattr(r, f) for f in fields} for r in records] for key, records in outcomes.items()}))
"""
# Custom resources: their schemas are the CRDs' (Gateway API, prometheus-operator), not the API server's.
CUSTOM_KINDS = {"HTTPRoute", "ServiceMonitor", "PrometheusRule"}


def manifests(simulation: Simulation) -> list[dict[str, Any]]:
    return [manifest(r) for r in simulation.resources if r.custom and r.type.startswith("kubernetes:")]


@pytest.mark.parametrize("stack", STACKS)
def test_every_builtin_object_passes_the_api_servers_strict_schema(simulate_stack: SimulateStack, stack: str) -> None:
    builtin: set[str] = set()
    custom: set[str] = set()
    problems: dict[str, str] = {}
    for document in manifests(simulate_stack(stack)):
        try:
            why = schema_problem(document)
        except kubernetes_validate.SchemaNotFoundError:
            custom.add(document["kind"])
            continue
        builtin.add(document["kind"])
        if why is not None:
            problems[f"{document['kind']} {document['metadata']['name']}"] = why
    assert custom == CUSTOM_KINDS
    assert {"Deployment", "Service", "ServiceAccount", "NetworkPolicy", "PodDisruptionBudget"} <= builtin
    assert problems == {}


def test_the_schema_catches_what_the_api_server_would_refuse(simulate_stack: SimulateStack) -> None:
    """The check can fail: a misspelt field and a number given as text are refused."""
    (deployment,) = [d for d in manifests(simulate_stack("staging")) if d["kind"] == "Deployment"]
    init = deployment["spec"]["template"]["spec"]["initContainers"][0]
    init["volumeMount"] = init.pop("volumeMounts")
    assert "'volumeMount' was unexpected" in str(schema_problem(deployment))
    init["volumeMounts"] = init.pop("volumeMount")
    deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] = "10001"
    assert "'10001' is not of type 'integer'" in str(schema_problem(deployment))


@pytest.fixture(scope="module")
def checkov_by_stack(
    simulate_stack: SimulateStack, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, list[str]]]:
    """Per stack, the Checkov Kubernetes checks its manifests (written as YAML, a directory per stack) pass
    and fail. One Checkov run for all the stacks, as its start-up is most of its cost; its JSON names each
    check's file, so each stack's test judges its own. `make tools` installs Checkov in .tools/checkov."""
    assert CHECKOV_PYTHON.exists(), "Checkov is not installed: run `make tools` (or `make unit`)"
    root = tmp_path_factory.mktemp("manifests")
    yaml = YAML()
    for stack in STACKS:
        (root / stack).mkdir()
        for index, document in enumerate(manifests(simulate_stack(stack))):
            with (root / stack / f"{index:02d}-{document['kind'].lower()}.yaml").open("w") as handle:
                yaml.dump(document, handle)
    completed = subprocess.run(
        [str(CHECKOV_PYTHON), "-c", CHECKOV_KUBERNETES, str(root)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout)

    found: dict[str, dict[str, list[str]]] = {stack: {"passed": [], "failed": []} for stack in STACKS}
    for outcome in ("passed", "failed"):
        for check in results.get(f"{outcome}_checks", []):
            found[Path(check["file_abs_path"]).parent.name][outcome].append(
                f"{check['check_id']} {check['resource']}: {check['check_name']}"
            )
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_finds_nothing_in_the_rendered_manifests(
    checkov_by_stack: dict[str, dict[str, list[str]]], stack: str
) -> None:
    checks = checkov_by_stack[stack]
    assert checks["failed"] == [], "\n".join(checks["failed"])
    assert len(checks["passed"]) > 50, "Checkov judged the workloads"
