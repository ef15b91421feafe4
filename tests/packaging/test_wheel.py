"""The distributions of this repository, built and installed alone in fresh virtualenvs.

`modelplane-components` is what a platform team installs for the components: it must bring Pulumi's
packages and nothing of the tool (no scipy, pandas, matplotlib, boto3). `modelplane` is the tool: it
must run `modelplane plan` in a Pulumi project that holds no source of it, finding the project as the
Pulumi CLI does. (`modelplane-serving`, the model server the image installs, ships its own package too.)
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from modelplane.errors import EXIT_OK, EXIT_USAGE
from tests.stacks import REPOSITORY, copy_project
from tests.venvs import cached_venv

pytestmark = pytest.mark.long

# Constructs components (nested ones, imported relatively; one checking AWS's limits) under pulumi's mocks.
COMPONENTS_SCRIPT = """
import importlib.util, json
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
from modelplane_components.sagemaker_endpoint_args import serving_problems

def program():
    ModelRegistry("registry", {"families": {"fraud": {"description": "Fraud score."}}, "kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/k"})

from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await
_sync_await(run_pulumi_func(program))
print(json.dumps({
    "registered": sorted(set(registered)),
    "importable": sorted(name for name in ("modelplane", "components", "scipy", "pandas", "matplotlib", "boto3", "botocore") if importlib.util.find_spec(name)),
    "limits": serving_problems({"endpoint_name": "fraud", "variants": [{"name": "a", "instance_type": "ml.x9.huge"}]}),
}))
"""


def uv() -> str:
    """The locked uv, a dev dependency: next to the environment's python."""
    found = Path(sys.executable).with_name("uv")
    assert found.exists(), "uv is a dev dependency: run `make sync`"
    return str(found)


def run(command: list[str | Path], cwd: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`command` outside this environment; with bytecode written, so that a kept venv (`tests/venvs.py`)
    compiles the thousands of modules of pulumi_aws and the like once, not in every process."""
    dropped = {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE"}
    environment = {key: value for key, value in os.environ.items() if key not in dropped}
    completed = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=environment, capture_output=True, text=True, check=False
    )
    if check:
        assert completed.returncode == 0, f"{' '.join(map(str, command))}\n{completed.stdout}\n{completed.stderr}"
    return completed


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every distribution of the workspace, by name."""
    out = tmp_path_factory.mktemp("dist")
    run([uv(), "build", "--all-packages", "--wheel", "--out-dir", out], REPOSITORY)
    return {path.name.split("-")[0].replace("_", "-"): path for path in out.glob("*.whl")}


def content(wheel: Path) -> str:
    """What a wheel installs, whatever its archive's timestamps: its name and each member's name and hash."""
    with zipfile.ZipFile(wheel) as archive:
        members = sorted(archive.namelist())
        return wheel.name + "".join(f"\n{name} {hashlib.sha256(archive.read(name)).hexdigest()}" for name in members)


@contextmanager
def virtualenv(package: str, *wheels: Path) -> Iterator[Path]:
    """A virtualenv holding `wheels` and the locked versions of `package`'s dependencies, and nothing else;
    its python. Kept between runs while the wheels' content, the lock and uv are unchanged (`tests/venvs.py`)."""
    exported = run(
        [uv(), "export", "--locked", "--no-dev", "--no-emit-workspace", "--no-hashes", "--package", package],
        REPOSITORY,
    ).stdout
    version = run([uv(), "--version"], REPOSITORY).stdout

    def build(venv: Path) -> None:
        run([uv(), "venv", "--quiet", "--python", sys.executable, venv], REPOSITORY)
        constraints = venv / "constraints.txt"
        constraints.write_text(exported, encoding="utf-8")
        run([uv(), "pip", "install", "--quiet", "--python", venv / "bin" / "python", "-c", constraints, *wheels], venv)

    recipe = "uv venv; uv pip install -c constraints wheels"
    with cached_venv(f"wheel-{package}", [recipe, version, exported, *map(content, wheels)], build) as venv:
        yield venv / "bin" / "python"


def test_each_distribution_ships_its_own_package_only(wheels: dict[str, Path]) -> None:
    components = {name.split("/", 1)[0] for name in zipfile.ZipFile(wheels["modelplane-components"]).namelist()}
    tool = zipfile.ZipFile(wheels["modelplane"]).namelist()

    assert {name for name in components if not name.endswith(".dist-info")} == {"modelplane_components"}
    assert {name.split("/", 1)[0] for name in tool if not name.split("/", 1)[0].endswith(".dist-info")} == {
        "modelplane"
    }
    assert not [name for name in tool if name.startswith(("tools/", "modelplane/tools"))], "no generator ships"
    shipped = zipfile.ZipFile(wheels["modelplane-components"]).namelist()
    for name in ("sagemaker_endpoint.py", "provider.py", "__main__.py", "schema.json", "aws_limits.json", "py.typed"):
        assert f"modelplane_components/{name}" in shipped
    assert "modelplane/offline/data/aws-calls.yaml" in tool
    serving = {name.split("/", 1)[0] for name in zipfile.ZipFile(wheels["modelplane-serving"]).namelist()}
    assert {name for name in serving if not name.endswith(".dist-info")} == {"modelplane_serving"}


def test_the_components_wheel_works_alone_with_pulumis_packages_only(wheels: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "check.py").write_text(COMPONENTS_SCRIPT, encoding="utf-8")
    with virtualenv("modelplane-components", wheels["modelplane-components"]) as python:
        result = json.loads(run([python, "check.py"], tmp_path).stdout)

    assert result["importable"] == [], "nothing of the tool, and no bare `components`, comes with the components"
    assert {
        "modelplane:index:ModelRegistry",
        "modelplane:index:ArtifactBucket",
        "modelplane:index:ContainerRepository",
        "modelplane:index:ModelPackageGroup",
        "aws:s3/bucket:Bucket",
        "aws:ecr/repository:Repository",
    } <= set(result["registered"])
    assert [
        "variants[0].instance_type",
        "unknown SageMaker instance type 'ml.x9.huge' (botocore ProductionVariantInstanceType)",
    ] in result["limits"], "AWS's limits ship with the components"


def test_the_tool_wheel_plans_a_project_that_holds_no_source_of_it(wheels: dict[str, Path], tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    nested = project / "stacks"
    tool = [wheels["modelplane"], wheels["modelplane-components"], wheels["modelplane-serving"]]
    with virtualenv("modelplane", *tool) as python:
        modelplane = python.parent / "modelplane"
        planned = run([modelplane, "plan", "--stack", "prod"], nested, check=False)
        outside = run([modelplane, "plan", "--stack", "prod"], tmp_path, check=False)
        elsewhere = run([modelplane, "--cwd", project, "plan", "--stack", "dev"], tmp_path, check=False)

    assert planned.returncode == EXIT_OK, planned.stderr
    assert "prod: " in planned.stdout and "0 mandatory" in planned.stdout
    assert outside.returncode == EXIT_USAGE
    assert outside.stderr == (
        f"modelplane plan: no Pulumi.yaml in {tmp_path} or any folder above it: run modelplane inside a "
        "Pulumi project, or name one with --cwd DIR\n"
    )
    assert elsewhere.returncode == EXIT_OK, elsewhere.stderr
