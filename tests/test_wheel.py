"""The wheel platform teams install: components under `modelplane_components` (never a bare `components`),
working in a fresh virtualenv with nothing of this source tree on the path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from modelplane.stackfiles import PROJECT_ROOT

# Constructs a component (with nested components, imported relatively) under pulumi's mocks.
SCRIPT = """
import importlib.resources, importlib.util, json
import pulumi

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return args.name + "-id", {**args.inputs, "arn": "arn:aws:test:::" + args.name, "name": args.name}
    def call(self, args):
        return {"accountId": "123456789012", "partition": "aws"}, []

registered = []
class Monitor(pulumi.runtime.mocks.MockMonitor):
    def RegisterResource(self, request):
        registered.append(request.type)
        return super().RegisterResource(request)

mocks = Mocks()
pulumi.runtime.set_mocks(mocks, project="team", stack="dev", preview=False, monitor=Monitor(mocks))

from modelplane_components.registry import ModelRegistry

def program():
    ModelRegistry("registry", {"families": {"fraud": {"description": "Fraud score."}}, "kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/k"})

from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await
_sync_await(run_pulumi_func(program))
print(json.dumps({
    "registered": sorted(set(registered)),
    "bare_components": importlib.util.find_spec("components") is not None,
    "schema": importlib.resources.files("modelplane_components").joinpath("schema.json").is_file(),
}))
"""


def uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    assert Path(found).exists(), "uv is installed by `make sync`"
    return found


def run(command: list[str], cwd: Path) -> str:
    environment = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    completed = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, f"{' '.join(command)}\n{completed.stdout}\n{completed.stderr}"
    return completed.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([uv(), "build", "--wheel", "--out-dir", str(out), str(PROJECT_ROOT)], PROJECT_ROOT)
    (built,) = out.glob("modelplane-0*.whl")
    return built


@pytest.fixture(scope="module")
def serving_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """modelplane depends on the workspace member modelplane-serving, installed from its own wheel."""
    out = tmp_path_factory.mktemp("serving-dist")
    run([uv(), "build", "--wheel", "--out-dir", str(out), str(PROJECT_ROOT / "serving")], PROJECT_ROOT)
    (built,) = out.glob("modelplane_serving-*.whl")
    return built


def test_the_wheel_ships_components_only_as_modelplane_components(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/", 1)[0] for name in names}
    assert "components" not in top_level
    assert {"modelplane", "modelplane_components"} <= top_level
    for shipped in ("sagemaker_endpoint.py", "provider.py", "__main__.py", "schema.json", "PulumiPlugin.yaml"):
        assert f"modelplane_components/{shipped}" in names


def test_the_wheel_works_in_a_fresh_virtualenv(wheel: Path, serving_wheel: Path, tmp_path: Path) -> None:
    # The locked versions of the dependencies, so the install comes from uv's cache when it can.
    constraints = tmp_path / "constraints.txt"
    exported = run([uv(), "export", "--locked", "--no-dev", "--no-emit-workspace", "--no-hashes"], PROJECT_ROOT)
    constraints.write_text(exported, encoding="utf-8")
    venv = tmp_path / "venv"
    run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], tmp_path)
    python = venv / "bin" / "python"
    install = [uv(), "pip", "install", "--quiet", "--python", str(python), "-c", str(constraints)]
    run([*install, str(wheel), str(serving_wheel)], tmp_path)
    (tmp_path / "check.py").write_text(SCRIPT, encoding="utf-8")
    result = json.loads(run([str(python), "check.py"], tmp_path))
    assert result["bare_components"] is False
    assert result["schema"] is True
    assert {
        "modelplane:index:ModelRegistry",
        "modelplane:index:ArtifactBucket",
        "modelplane:index:ContainerRepository",
        "modelplane:index:ModelPackageGroup",
        "aws:s3/bucket:Bucket",
        "aws:ecr/repository:Repository",
    } <= set(result["registered"])
