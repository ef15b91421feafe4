"""`modelplane plan`: exit codes, the JSON contract, SARIF 2.1.0, Markdown, terminal text, redaction.

The report writers are checked on the real prod graph with a hand-made policy verdict (so every
branch has a violation to render whatever the pack holds today); the command itself runs the real
policy pack. Simulations come from the session cache; one test runs the real entry point.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import replace
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import pytest

from modelplane.cli import main
from modelplane.config.loader import SettingsError, load_stack_file, stack_name_of
from modelplane.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from modelplane.offline import planning, simulation
from modelplane.offline.findings import CHECKS
from modelplane.offline.graph import SECRET_SIG, SECRET_SIG_KEY, RecordedResource, Simulation, is_secret, reveal
from modelplane.offline.plan_result import SECRET_PLACEHOLDER, Plan
from modelplane.offline.policy_client import PolicyInfo, PolicyReport, Violation
from modelplane.offline.simulation import start_simulation
from modelplane.report.plan_json import render_json
from modelplane.report.plan_markdown import render_markdown
from modelplane.report.plan_sarif import render_sarif
from modelplane.report.plan_text import render_text
from tests.sarif import sarif_validator
from tests.stacks import FIXTURES_DIR, REPOSITORY, STACK_NAMES, SimulateStack, copy_project, stack_file

pytestmark = pytest.mark.long

UNDERSIZED_PROD = FIXTURES_DIR / "plan-undersized-prod.yaml"
MALFORMED = FIXTURES_DIR / "plan-malformed.yaml"
FEATURE_STORE_TOKEN = "fixture-token-7f3a9c1e5b2d4068"
SECRETS = {"feature-store-token": FEATURE_STORE_TOKEN}
ANSI = re.compile(r"\x1b\[")
CONTRACT_KEYS = {"project", "stack", "environment", "resources", "outputs", "policy", "summary"}
RESOURCE_KEYS = {"urn", "type", "name", "parent", "custom", "provider", "inputs", "dependencies", "protect"}
RESOURCE_KEYS |= {"retain_on_delete"}
VIOLATION_KEYS = {"policy", "level", "severity", "urn", "type", "message", "waiver"}


@pytest.fixture(scope="module")
def prod_simulation(simulate_stack: SimulateStack) -> Simulation:
    return simulate_stack("prod", secret_values=SECRETS)


def policy(name: str, severity: str, level: str, **extra: Any) -> PolicyInfo:
    return PolicyInfo(
        name=name,
        description=extra.get("description", f"{name} holds."),
        severity=severity,
        enforcement_level=level,
        remediation=extra.get("remediation", f"Make {name} hold."),
        tags=extra.get("tags", ()),
        source_ids=extra.get("source_ids", ()),
        url=extra.get("url", ""),
    )


def nested_resource(simulation: Simulation) -> RecordedResource:
    """A cloud resource inside a component that is itself inside a component."""
    components = {r.urn: r for r in simulation.resources if not r.custom}
    return next(
        r
        for r in simulation.resources
        if r.custom and r.parent in components and components[r.parent].parent in components
    )


@pytest.fixture(scope="module")
def verdict(prod_simulation: Simulation) -> Plan:
    """The prod graph judged by a hand-made report: two mandatory violations (one stack-wide), one advisory."""
    secret_version = next(r for r in prod_simulation.resources if any(map(is_secret, r.inputs.values())))
    target = nested_resource(prod_simulation)
    report = PolicyReport(
        pack="modelplane-guard",
        version="9.9.9",
        config_file="policies/config/prod.json",
        config={"storage-encrypted": {"enforcementLevel": "mandatory"}},
        policies=(
            policy("storage-encrypted", "high", "mandatory", url="https://example.com/policies#storage", tags=("s3",)),
            policy("rotation-scheduled", "critical", "mandatory", source_ids=("CKV2_AWS_57",)),
            policy("tags-complete", "low", "advisory"),
            policy("never-violated", "medium", "advisory", remediation=""),
        ),
        violations=(
            Violation(
                "storage-encrypted",
                "mandatory",
                "high",
                target.urn,
                target.type,
                f"not encrypted: saw {FEATURE_STORE_TOKEN} in plain text",
            ),
            Violation("rotation-scheduled", "mandatory", "critical", "", "", "no rotation | schedule\nin this stack"),
            Violation(
                "tags-complete", "advisory", "low", secret_version.urn, secret_version.type, "missing tag `team`"
            ),
        ),
    )
    # The stack file as `plan` names it (relative to the project): the report is as wide in any checkout.
    return Plan(replace(prod_simulation, stack_file="stacks/Pulumi.prod.yaml"), report)


# --- report writers -----------------------------------------------------------------------------


def test_json_follows_the_contract(verdict: Plan) -> None:
    document = render_json(verdict)
    simulation = verdict.simulation

    assert set(document) >= CONTRACT_KEYS
    assert (document["project"], document["stack"], document["environment"]) == ("modelplane", "prod", "prod")
    assert [entry["urn"] for entry in document["resources"]] == [r.urn for r in simulation.resources]
    for entry, resource in zip(document["resources"], simulation.resources, strict=True):
        assert set(entry) >= RESOURCE_KEYS
        assert isinstance(entry["custom"], bool) and isinstance(entry["protect"], bool)
        assert isinstance(entry["retain_on_delete"], bool) and isinstance(entry["dependencies"], list)
        assert entry["parent"] == resource.parent and entry["provider"] == resource.provider
        # The provider's camelCase input names, as recorded.
        assert set(entry["inputs"]) == set(resource.inputs)
    assert any(key != key.lower() for entry in document["resources"] for key in entry["inputs"])
    assert set(document["policy"]) >= {"pack", "config", "violations"}
    assert document["policy"]["pack"] == "modelplane-guard"
    assert document["policy"]["config"] == {"storage-encrypted": {"enforcementLevel": "mandatory"}}
    assert all(set(entry) == VIOLATION_KEYS for entry in document["policy"]["violations"])
    assert [v["policy"] for v in document["policy"]["violations"]] == [
        "storage-encrypted",
        "rotation-scheduled",
        "tags-complete",
    ]
    assert document["summary"] == {
        "resources": len(simulation.resources),
        "mandatory": 2,
        "advisory": 1,
        "waived": 0,
        "findings": 0,
    }
    assert document["findings"] == []
    assert document["outputs"]["environment"] == "prod"
    json.dumps(document)  # serialisable as is


def test_secrets_never_reach_any_report(verdict: Plan) -> None:
    everything = json.dumps([reveal(r.inputs) for r in verdict.simulation.resources])
    assert FEATURE_STORE_TOKEN in everything, "precondition: the fixture secret flows into the graph"

    reports = {
        "text": render_text(verdict),
        "json": json.dumps(render_json(verdict)),
        "sarif": json.dumps(render_sarif(verdict)),
        "markdown": render_markdown(verdict),
    }

    for kind, text in reports.items():
        assert FEATURE_STORE_TOKEN not in text, kind
    document = json.loads(reports["json"])
    secret_version = next(r for r in verdict.simulation.resources if any(map(is_secret, r.inputs.values())))
    entry = next(e for e in document["resources"] if e["urn"] == secret_version.urn)
    secret_keys = [key for key, value in secret_version.inputs.items() if is_secret(value)]
    assert all(entry["inputs"][key] == SECRET_PLACEHOLDER for key in secret_keys)
    assert "not encrypted: saw [secret] in plain text" in reports["sarif"]


def test_secrets_quoted_in_messages_are_redacted_before_wrapping_and_escaping(verdict: Plan) -> None:
    """A long multi-line secret quoted by a policy: wrapping or Markdown escaping must not let parts through."""
    private_key = (
        "-----BEGIN KEY-----\n" + "\n".join(f"line{index}-" + "x" * 60 for index in range(3)) + "\n-----END KEY-----"
    )
    holder = RecordedResource(
        **{
            **vars(nested_resource(verdict.simulation)),
            "urn": "urn:x::holder",
            "inputs": {"key": envelope(private_key)},
        }
    )
    simulation = Simulation(**{**vars(verdict.simulation), "resources": [*verdict.simulation.resources, holder]})
    leak = Violation("storage-encrypted", "mandatory", "high", holder.urn, holder.type, f"key | {private_key} found")
    plan = Plan(simulation, PolicyReport(**{**vars(verdict.policy), "violations": (leak,)}))

    for text in (render_text(plan, width=50), render_markdown(plan), json.dumps(render_sarif(plan))):
        assert not any(f"line{index}-" in text for index in range(3))
        assert SECRET_PLACEHOLDER in text


def envelope(value: str) -> dict[str, str]:
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def test_sarif_is_valid_2_1_0_with_one_rule_per_policy_and_one_result_per_violation(verdict: Plan) -> None:
    document = render_sarif(verdict)

    sarif_validator().validate(document)
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    policies = [p.name for p in verdict.policy.policies]
    assert [rule["id"] for rule in rules] == policies + [check.id for check in CHECKS], "the pack's, then plan's own"
    storage = rules[0]
    assert storage["shortDescription"]["text"] == "storage-encrypted holds."
    assert storage["help"]["text"] == "Make storage-encrypted hold."
    assert storage["helpUri"] == "https://example.com/policies#storage"
    assert storage["properties"]["severity"] == "high"
    assert storage["properties"]["security-severity"] == "8.0"
    assert storage["defaultConfiguration"]["level"] == "error"
    assert rules[1]["properties"]["sourceIds"] == ["CKV2_AWS_57"]
    assert rules[1]["fullDescription"]["text"] == "rotation-scheduled holds. Corresponds to: CKV2_AWS_57."
    assert rules[3]["help"]["text"] == "never-violated holds.", "description stands in for a missing remediation"

    results = run["results"]
    assert len(results) == len(verdict.policy.violations)
    for result, violation in zip(results, verdict.policy.violations, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == violation.policy
        assert result["level"] == {"mandatory": "error", "advisory": "warning"}[violation.level]
        location = result["locations"][0]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == "stacks/Pulumi.prod.yaml"
        logical = location["logicalLocations"][0]["fullyQualifiedName"]
        assert logical == (violation.urn or verdict.stack_urn)
    assert len({r["partialFingerprints"]["modelplaneViolation/v1"] for r in results}) == len(results)


def test_markdown_summarises_types_violations_and_components(verdict: Plan) -> None:
    text = render_markdown(verdict)
    simulation = verdict.simulation

    assert "❌" in text and "2 mandatory violations" in text
    for token, count in Counter(r.type for r in simulation.resources).items():
        assert f"| `{token}` | {count} |" in text
    assert "no rotation \\| schedule<br>in this stack" in text, "cells escape pipes and newlines"
    rows = Counter(line.split(" | ")[0] for line in text.splitlines() if re.match(r"\| \w+ \| `", line))
    assert rows == {"| mandatory": 2, "| advisory": 1}
    mermaid = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    components = [r for r in simulation.resources if not r.custom]
    node_ids = {}
    for component in components:
        match = re.search(rf'(n\d+)\["{re.escape(component.name)}<br/>{re.escape(component.type)}<br/>', mermaid)
        assert match, component.urn
        node_ids[component.urn] = match.group(1)
    edges = set(re.findall(r"(n\d+) --> (n\d+)", mermaid))
    assert edges == {(node_ids.get(c.parent, "n0"), node_ids[c.urn]) for c in components}
    violated = nested_resource(simulation).parent
    assert re.search(rf"class {node_ids[violated]} violated", mermaid)


def test_text_report_fits_80_columns_and_groups_violations(verdict: Plan) -> None:
    text = render_text(verdict)
    lines = text.splitlines()
    simulation = verdict.simulation

    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert not ANSI.search(text)
    for component in (r for r in simulation.resources if not r.custom):
        line = next(line for line in lines if f" {component.name}  {component.type}" in line)
        assert line.endswith(f" {len(simulation.descendants(component))}")
    assert text.index("Mandatory violations (2)") < text.index("Advisory violations (1)")
    assert "fix: Make rotation-scheduled hold." in text
    assert lines[-1] == f"prod: {len(simulation.resources)} resources, 2 mandatory and 1 advisory violations: FAILED"
    assert ANSI.search(render_text(verdict, color=True))


# --- the command ----------------------------------------------------------------------------------


@pytest.fixture
def cached_simulations(monkeypatch: pytest.MonkeyPatch, simulate_stack: SimulateStack) -> None:
    """`plan` in this process, with its simulations taken from the session cache."""

    class Cached:
        def __init__(self, path: Path, stack: str | None = None, secret_values: Any = None) -> None:
            resolved = Path(path).resolve()  # relative to the project, the working directory
            name = None if stack in (None, stack_name_of(resolved)) else stack
            self.simulation = simulate_stack(resolved, stack_name=name, secret_values=secret_values)

        def started(self) -> Simulation:
            return self.simulation

        def registrations(self) -> Iterator[RecordedResource]:
            return iter(self.simulation.resources)

        def result(self) -> Simulation:
            return self.simulation

        def stop(self) -> None:
            """Nothing runs."""

    monkeypatch.setattr(planning, "start_simulation", Cached)


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    command = [sys.executable, "-m", "modelplane", "plan", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPOSITORY, env=env, check=False)


@pytest.fixture(scope="module")
def undersized_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`plan` of an undersized stack with every report, through `cli.main` (what the `modelplane` script runs) in
    this process, whose fork server its simulation and pack fork from; stdout is not a terminal, as in `run_cli`."""
    out = tmp_path_factory.mktemp("undersized")
    args = [
        "plan", "--config", str(UNDERSIZED_PROD), "--stack", "qa",
        "--json", str(out / "plan.json"), "--sarif", str(out / "plan.sarif"), "--markdown", str(out / "plan.md"),
    ]  # fmt: skip
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(stdout), redirect_stderr(stderr):
        patch.chdir(REPOSITORY)
        patch.delenv("NO_COLOR", raising=False)
        code = main(args)
    return subprocess.CompletedProcess(args, code, stdout.getvalue(), stderr.getvalue()), out


def test_mandatory_violations_exit_1_with_every_report(undersized_run: tuple[Any, Path]) -> None:
    completed, out = undersized_run
    document = json.loads((out / "plan.json").read_text())

    assert completed.returncode == EXIT_FAILED, completed.stderr
    assert document["stack"] == "qa", "--stack names the stack of a --config file"
    mandatory = [v for v in document["policy"]["violations"] if v["level"] == "mandatory"]
    assert mandatory and document["summary"]["mandatory"] == len(mandatory)
    assert document["summary"]["resources"] == len(document["resources"])
    for violation in mandatory:
        assert violation["policy"] in completed.stdout
    assert "Mandatory violations" in completed.stdout
    assert completed.stdout.rstrip().endswith("FAILED")
    assert all(len(line) <= 80 for line in completed.stdout.splitlines())
    assert not ANSI.search(completed.stdout), "no colour when stdout is not a terminal"
    sarif = json.loads((out / "plan.sarif").read_text())
    sarif_validator().validate(sarif)
    assert len(sarif["runs"][0]["results"]) == len(document["policy"]["violations"])
    assert "❌" in (out / "plan.md").read_text()


def test_invalid_settings_exit_2_with_the_loader_lines() -> None:
    with pytest.raises(SettingsError) as expected:
        load_stack_file(MALFORMED)
    relative = MALFORMED.relative_to(REPOSITORY)

    completed = run_cli("--config", MALFORMED)

    assert completed.returncode == EXIT_USAGE
    assert completed.stderr.splitlines() == [
        f"{relative}: {path}: {message}" for path, message in expected.value.problems
    ]
    assert "modelplane:endpoints[0].variants[0].instance_count" in completed.stderr
    assert "Traceback" not in completed.stderr and completed.stdout == ""


def test_unknown_stack_exits_2_naming_the_file_it_looked_for(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "nope"]) == EXIT_USAGE
    assert capsys.readouterr().err == "stacks/Pulumi.nope.yaml: no such stack file\n"


@pytest.mark.usefixtures("cached_simulations")
def test_all_plans_every_stack_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["plan", "--all", "--json", str(tmp_path / "plan.json"), "--markdown", str(tmp_path / "pr.md")])

    output = capsys.readouterr().out
    documents = {stack: json.loads((tmp_path / f"plan.{stack}.json").read_text()) for stack in STACK_NAMES}
    mandatory = {stack: doc["policy"]["violations"] for stack, doc in documents.items() if doc["summary"]["mandatory"]}
    assert code == EXIT_OK, mandatory
    assert {stack: doc["stack"] for stack, doc in documents.items()} == {stack: stack for stack in STACK_NAMES}
    assert sorted(path.name for path in tmp_path.glob("pr.*.md")) == [f"pr.{stack}.md" for stack in STACK_NAMES]
    assert output.rstrip().endswith(f"{len(STACK_NAMES)} stacks planned: all passed")


@pytest.mark.usefixtures("cached_simulations")
def test_all_exits_with_the_worst_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project", with_stacks=False)
    shutil.copy(stack_file("dev"), project / "stacks" / "Pulumi.dev.yaml")
    (project / "stacks" / "Pulumi.broken.yaml").write_text(MALFORMED.read_text())
    monkeypatch.chdir(project)

    code = main(["plan", "--all", "--sarif", str(tmp_path / "out" / "plan.sarif")])

    captured = capsys.readouterr()
    assert code == EXIT_USAGE
    assert "Pulumi.broken.yaml: modelplane:endpoints[0].variants[0].instance_count: must be at least 1" in captured.err
    assert "Traceback" not in captured.err
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["plan.dev.sarif"]
    assert "failed broken" in captured.out


@pytest.mark.parametrize(
    "args",
    [[], ["--all", "--stack", "prod"], ["--all", "--config", str(MALFORMED)]],
    ids=["no-target", "all-with-stack", "all-with-config"],
)
def test_bad_usage_exits_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["plan", *args])

    assert exited.value.code == EXIT_USAGE
    assert "usage: modelplane plan" in capsys.readouterr().err


# --- the simulation, read while the program runs ---------------------------------------------------

# Registers a topic, then waits for the test's signal before it registers a second one: the first
# registration can only reach the test while the program runs if the simulation streams it.
WAITING_PROGRAM = """
import time
from pathlib import Path

import pulumi_aws as aws


def after_signal(arn: str) -> str:
    deadline = time.monotonic() + 60
    while not Path({signal!r}).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("no signal: the first registration never reached the reader")
        time.sleep(0.05)
    return arn.rsplit(":", 1)[-1] + "-second"


first = aws.sns.Topic("first")
aws.sns.Topic("second", name=first.arn.apply(after_signal))
"""
FAILING_PROGRAM = """
from modelplane.config.loader import load_from_pulumi
from modelplane.program.build import build

build(load_from_pulumi())
raise RuntimeError("the model registry is unreachable")
"""


def program_tree(directory: Path, program: str) -> Path:
    """A checkout of this `modelplane` package and these stack files with its own program, which
    `start_simulation(project_root=...)` runs as `plan --against` runs a git ref's checkout."""
    tree = directory / "tree"
    shutil.copytree(REPOSITORY / "modelplane", tree / "modelplane", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPOSITORY / "stacks", tree / "stacks")
    shutil.copy(REPOSITORY / "Pulumi.yaml", tree / "Pulumi.yaml")
    (tree / "__main__.py").write_text(program, encoding="utf-8")
    return tree


def test_each_registration_is_read_while_the_program_runs(tmp_path: Path) -> None:
    signal = tmp_path / "signal"
    tree = program_tree(tmp_path, WAITING_PROGRAM.format(signal=str(signal)))
    running = start_simulation(Path("stacks/Pulumi.dev.yaml"), project_root=tree)
    try:
        assert running.started().environment == "dev"
        registrations = running.registrations()
        first = next(registrations)
        signal.touch()
        rest = list(registrations)
        simulation = running.result()
    finally:
        running.stop()

    assert first.name == "first", "read while the program waited for the signal"
    assert [first, *rest] == simulation.resources
    assert [resource.name for resource in simulation.resources] == ["first", "second"]
    assert (simulation.project, simulation.stack, simulation.stack_file) == (
        "modelplane",
        "dev",
        "stacks/Pulumi.dev.yaml",
    )


def test_a_graph_printed_in_one_document_reads_the_same(tmp_path: Path, prod_simulation: Simulation) -> None:
    """As `python -m modelplane.offline.simulation` printed it before it streamed: `plan --against` an older ref."""
    document = tmp_path / "graph.json"
    document.write_text(json.dumps(prod_simulation.to_json()), encoding="utf-8")
    older = tmp_path / "older" / "modelplane"
    older.mkdir(parents=True)
    (older / "__init__.py").write_text("", encoding="utf-8")
    (older / "simulate.py").write_text(
        f"import sys\nsys.stdout.write(open({str(document)!r}).read())\n", encoding="utf-8"
    )

    running = start_simulation(Path("stacks/Pulumi.prod.yaml"), project_root=older.parent)

    assert running.started().environment == "prod"
    assert list(running.registrations()) == prod_simulation.resources
    assert running.result() == prod_simulation


@pytest.mark.parametrize("broken", ["program", "settings"])
def test_a_failing_program_or_invalid_settings_leave_no_process_running(
    broken: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started: dict[str, simulation.Child] = {}

    class Recorded(subprocess.Popen[Any]):
        def __init__(self, command: list[str], **kwargs: Any) -> None:
            super().__init__(command, **kwargs)
            started[command[command.index("-m") + 1]] = self

    class RecordedFork(simulation.ForkedChild):
        """The simulation and the pack run as forks of the fork server, each process named after its module."""

        def __init__(self, process: BaseProcess) -> None:
            super().__init__(process)
            started[process.name] = self

    monkeypatch.setattr(subprocess, "Popen", Recorded)
    monkeypatch.setattr(simulation, "ForkedChild", RecordedFork)
    if broken == "program":
        tree = program_tree(tmp_path, FAILING_PROGRAM)
        monkeypatch.setattr(planning, "start_simulation", functools.partial(start_simulation, project_root=tree))
        code = main(["plan", "--stack", "prod"])
    else:
        code = main(["plan", "--config", str(MALFORMED)])

    error = capsys.readouterr().err
    if broken == "program":
        assert code == EXIT_FAILED
        assert error.startswith("modelplane plan: prod: the program failed:\n")
        assert error.rstrip().endswith("RuntimeError: the model registry is unreachable")
    else:
        assert code == EXIT_USAGE
        assert f"{MALFORMED.relative_to(REPOSITORY)}: modelplane:endpoints[0]" in error
    assert sorted(started) == ["modelplane.offline.mocks", "pulumi.policy"]
    assert all(process.poll() is not None for process in started.values()), "the simulation and the pack are stopped"
