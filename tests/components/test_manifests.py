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

import pytest
from ruamel.yaml import YAML

from modelplane.offline.graph import Simulation
from tests.manifests import is_builtin, manifest, schema_problem
from tests.stacks import REPOSITORY, SimulateStack

STACKS = ["dev", "staging", "prod"]
CHECKOV = REPOSITORY / ".tools" / "checkov" / "bin" / "checkov"
# Custom resources: their schemas are the CRDs' (Gateway API, prometheus-operator), not the API server's.
CUSTOM_KINDS = {"HTTPRoute", "ServiceMonitor", "PrometheusRule"}


def manifests(simulation: Simulation) -> list[dict[str, Any]]:
    return [manifest(r) for r in simulation.resources if r.custom and r.type.startswith("kubernetes:")]


@pytest.mark.parametrize("stack", STACKS)
def test_every_builtin_object_passes_the_api_servers_strict_schema(simulate_stack: SimulateStack, stack: str) -> None:
    documents = manifests(simulate_stack(stack))
    builtin = [document for document in documents if is_builtin(document)]
    assert {document["kind"] for document in documents if document not in builtin} == CUSTOM_KINDS
    assert {"Deployment", "Service", "ServiceAccount", "NetworkPolicy", "PodDisruptionBudget"} <= {
        document["kind"] for document in builtin
    }
    problems = {
        f"{document['kind']} {document['metadata']['name']}": why
        for document in builtin
        if (why := schema_problem(document)) is not None
    }
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


def checkov(directory: Path) -> dict[str, Any]:
    """Checkov's Kubernetes checks over a directory of manifests (`make tools` installs it in .tools/checkov)."""
    assert CHECKOV.exists(), "Checkov is not installed: run `make tools` (or `make unit`)"
    completed = subprocess.run(
        [str(CHECKOV), "--directory", str(directory), "--framework", "kubernetes", "--output", "json", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode in (0, 1), completed.stderr
    report = json.loads(completed.stdout or "{}")
    return report if isinstance(report, dict) else {"results": {"failed_checks": report}}


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_finds_nothing_in_the_rendered_manifests(
    simulate_stack: SimulateStack, stack: str, tmp_path: Path
) -> None:
    yaml = YAML()
    for index, document in enumerate(manifests(simulate_stack(stack))):
        with (tmp_path / f"{index:02d}-{document['kind'].lower()}.yaml").open("w") as handle:
            yaml.dump(document, handle)
    report = checkov(tmp_path)
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for check in report.get("results", {}).get("failed_checks", [])
    ]
    assert failed == [], "\n".join(failed)
    assert report["summary"]["passed"] > 50, "Checkov judged the workloads"
