"""A simulation of the program: what it registers, recorded as the engine would see it.

`python -m modelplane.simulate <stack file>` runs `__main__.py` under Pulumi's mock runtime
(`modelplane.mock_runtime`) and prints the recorded graph as it grows, one JSON object per line:
`{"stack": ...}` (project, stack, environment, stack file) once the settings are valid, then
`{"resource": ...}` for each registration as the program makes it, then `{"end": ...}` (the stack's
outputs, the provider functions called) when the program has finished; or `{"settings_error": ...}`
alone, with exit code 2. `start_simulation` spawns that in a fresh process (mock state is
process-global) and reads it as it comes (`RunningSimulation`), so `plan` judges each resource while
the program still runs, as the engine sends `Analyze` at each registration. `Simulation` is the
whole graph. This module imports nothing of Pulumi, so `plan` can start the simulation before it
loads anything heavy.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import IO, Any

from modelplane.loader import KUBECONFIG_KEY, SECRET_VALUES_KEY, SettingsError, config_key
from modelplane.stackfiles import PROJECT_ROOT
from modelplane.urns import engine_urn

PROGRAM = PROJECT_ROOT / "__main__.py"
ACCOUNT_ID = "123456789012"
# Pulumi's wire marker for a secret value: {SECRET_SIG_KEY: SECRET_SIG, "value": ...}.
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
# Environment variable carrying the plaintext stand-ins of `secure:` values into the child process.
SECRET_VALUES_ENV = "MODELPLANE_SIMULATED_SECRET_VALUES"


@dataclass
class RecordedResource:
    """One registration as the engine saw it; `inputs`/`outputs` use the provider's camelCase names."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    provider: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    ignore_changes: list[str]
    additional_secret_outputs: list[str]
    aliases: list[dict[str, Any]] = field(default_factory=list)
    """As sent: `{"urn": ...}` or `{"spec": {"name", "type", "parentUrn" | "noParent", ...}}`."""
    providers: dict[str, str] = field(default_factory=dict)
    """Package -> provider reference, as a component passes them to its children."""


@dataclass(frozen=True)
class RecordedInvoke:
    """One provider function call (`aws:index/getRegion:getRegion`) and the provider reference it named."""

    token: str
    provider: str


@dataclass
class Simulation:
    project: str
    stack: str
    environment: str
    stack_file: str
    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    invokes: list[RecordedInvoke] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Simulation:
        """Read a simulation, also one printed by another revision of this module (`plan --against`):
        fields it lacks take their defaults, fields this one does not know are dropped."""
        return cls(
            **_known_fields(cls, data),
            resources=[RecordedResource(**_known_fields(RecordedResource, r)) for r in data.get("resources", [])],
            invokes=[RecordedInvoke(**_known_fields(RecordedInvoke, i)) for i in data.get("invokes", [])],
        )

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [resource for resource in self.resources if resource.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> RecordedResource:
        """The single resource of a type (and logical name); fails loudly when there are none or several."""
        matches = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(matches) != 1:
            raise LookupError(f"expected one {type_token} {name or ''}, found {[r.name for r in matches]}")
        return matches[0]

    def children(self, parent: RecordedResource) -> list[RecordedResource]:
        return [resource for resource in self.resources if resource.parent == parent.urn]

    def descendants(self, parent: RecordedResource) -> list[RecordedResource]:
        found = self.children(parent)
        return found + [grandchild for child in found for grandchild in self.descendants(child)]


def _known_fields(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    nested = {"resources", "invokes"}
    return {f.name: data[f.name] for f in fields(cls) if f.name in data and f.name not in nested}


def with_engine_urns(simulation: Simulation) -> Simulation:
    """The simulation with every URN as the engine computes it, whatever monitor recorded it (an older revision
    of this module recorded the mock monitor's URNs): registrations come parents first, so one pass suffices."""
    renamed: dict[str, str] = {}
    for resource in simulation.resources:
        parent = renamed.get(resource.parent, resource.parent)
        renamed[resource.urn] = engine_urn(simulation.stack, simulation.project, parent, resource.type, resource.name)

    def urn(value: str) -> str:
        return renamed.get(value, value)

    def reference(value: str) -> str:
        """A provider reference `<urn>::<id>`."""
        target, separator, resource_id = value.rpartition("::")
        return f"{urn(target)}{separator}{resource_id}" if separator else value

    resources = [
        replace(
            resource,
            urn=urn(resource.urn),
            parent=urn(resource.parent),
            provider=reference(resource.provider),
            providers={package: reference(ref) for package, ref in resource.providers.items()},
            dependencies=[urn(d) for d in resource.dependencies],
            property_dependencies={k: [urn(d) for d in v] for k, v in resource.property_dependencies.items()},
        )
        for resource in simulation.resources
    ]
    invokes = [replace(invoke, provider=reference(invoke.provider)) for invoke in simulation.invokes]
    return replace(simulation, resources=resources, invokes=invokes)


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def reveal(value: Any) -> Any:
    """The value with Pulumi's secret envelopes removed, for assertions on content."""
    if is_secret(value):
        return reveal(value["value"])
    if isinstance(value, dict):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal(item) for item in value]
    return value


def stand_in_secret_values(config: Mapping[str, Any]) -> dict[str, str]:
    """A value for every secret the stack file declares, as `pulumi config set --secret` sets them in a
    deployed stack (the shipped stack files hold none): the stand-in `runtime_config` gives a `secure:` value."""
    declared = config.get(config_key("secrets"))
    return {name: _stand_in(name) for name in declared} if isinstance(declared, dict) else {}


def _stand_in(secret_name: str) -> str:
    return f"simulated-{secret_name}"


def runtime_config(config: Mapping[str, Any], secret_values: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Stack-file config as the engine hands it to a program: strings, with `secure:` values decrypted.

    There is no key to decrypt `secure:` values offline, so each gets a stand-in: the caller's value
    when given, else a placeholder. A caller's value for a key the file lacks is added as if set with
    `pulumi config set --secret` (the shipped stack files hold no secret values): secret names go to
    `modelplane:secret_values.<name>`, `kubeconfig` to `modelplane:kubeconfig`.
    """
    strings: dict[str, str] = {}
    secret_keys: list[str] = []
    given_names = {name: value for name, value in secret_values.items() if name != "kubeconfig"}
    for key, value in config.items():
        if key == SECRET_VALUES_KEY and isinstance(value, dict):
            value = {name: secret_values.get(name, _stand_in(name)) for name in value}
            secret_keys.append(key)
        elif key == KUBECONFIG_KEY:
            value = secret_values.get("kubeconfig", "apiVersion: v1\nkind: Config\nclusters: []\n")
            secret_keys.append(key)
        strings[key] = value if isinstance(value, str) else json.dumps(value)
    if given_names:
        configured = json.loads(strings.get(SECRET_VALUES_KEY, "{}"))
        strings[SECRET_VALUES_KEY] = json.dumps({**configured, **given_names})
        secret_keys = [*dict.fromkeys([*secret_keys, SECRET_VALUES_KEY])]
    if "kubeconfig" in secret_values and KUBECONFIG_KEY not in strings:
        strings[KUBECONFIG_KEY] = secret_values["kubeconfig"]
        secret_keys.append(KUBECONFIG_KEY)
    return strings, secret_keys


class SimulationFailed(Exception):
    """The program itself failed under the mock runtime."""


class RunningSimulation:
    """A simulation process started by `start_simulation`, read while it runs.

    `started()` gives what is simulated as soon as the settings are valid, `registrations()` each
    resource as the program registers it, `result()` the whole graph once the program has finished.
    A thread reads the process's output as it comes, so the program never waits on a full pipe.
    """

    def __init__(self, process: subprocess.Popen[str], stderr: IO[str]) -> None:
        self.process = process
        self._stderr = stderr
        self._errors = ""
        self._shell: Simulation | None = None
        self._resources: list[RecordedResource] = []
        self._end: Mapping[str, Any] | None = None
        self._settings_error: Mapping[str, Any] | None = None
        self._started = threading.Event()
        self._registrations: queue.SimpleQueue[RecordedResource | None] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read, name="simulation-output", daemon=True)
        self._reader.start()

    def started(self) -> Simulation:
        """Project, stack, environment and stack file (no resources yet), once the settings are valid.

        Raises as `result()` does when the simulation ends without getting there.
        """
        self._started.wait()
        if self._shell is None:
            raise self._failure()
        return self._shell

    def registrations(self) -> Iterator[RecordedResource]:
        """Each resource as the program registers it, in the engine's order, until the program ends (read once)."""
        while (resource := self._registrations.get()) is not None:
            yield resource

    def result(self) -> Simulation:
        """The recorded graph; `SettingsError` for bad config, as in-process; `SimulationFailed` otherwise."""
        returncode = self._ended()
        if returncode != 0 or self._shell is None or self._end is None:
            raise self._failure()
        invokes = [RecordedInvoke(**_known_fields(RecordedInvoke, i)) for i in self._end.get("invokes", [])]
        return replace(self._shell, resources=list(self._resources), outputs=self._end["outputs"], invokes=invokes)

    def stop(self) -> None:
        """Give up on it, if it still runs (the plan failed before it needed the graph)."""
        if self.process.poll() is None:
            self.process.kill()
        self._ended()

    def _read(self) -> None:
        assert self.process.stdout is not None
        try:
            for line in self.process.stdout:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # not a record: cut short by `stop()`, or printed by the program itself
                if isinstance(record, dict):
                    self._take(record)
        finally:
            self._started.set()
            self._registrations.put(None)

    def _take(self, record: Mapping[str, Any]) -> None:
        if "resources" in record:
            # The whole graph in one document, as revisions before this protocol print it (`plan --against`).
            self._take({"stack": record})
            for resource in record["resources"]:
                self._take({"resource": resource})
            self._take({"end": record})
        elif "resource" in record:
            resource = RecordedResource(**_known_fields(RecordedResource, record["resource"]))
            self._resources.append(resource)
            self._registrations.put(resource)
        elif "stack" in record:
            self._shell = Simulation(**_known_fields(Simulation, record["stack"]))
            self._started.set()
        elif "end" in record:
            self._end = record["end"]
        elif "settings_error" in record:
            self._settings_error = record["settings_error"]

    def _ended(self) -> int:
        """Wait for the process to end; its exit code (what it wrote on stderr is kept)."""
        self._reader.join()
        returncode = self.process.wait()
        if not self._stderr.closed:
            self._stderr.seek(0)
            self._errors = self._stderr.read().strip()
            self._stderr.close()
        return returncode

    def _failure(self) -> Exception:
        """Why the simulation ended without its graph: the settings are invalid, or the program failed."""
        returncode = self._ended()
        if returncode == 2 and self._settings_error is not None:
            report = self._settings_error
            return SettingsError(report["source"], [(path, message) for path, message in report["problems"]])
        return SimulationFailed(self._errors or f"simulation exited with {returncode}")


def start_simulation(
    stack_file: Path,
    stack: str | None = None,
    secret_values: Mapping[str, str] | None = None,
    *,
    project_root: Path = PROJECT_ROOT,
) -> RunningSimulation:
    """Start `python -m modelplane.simulate` for one stack file in a fresh interpreter, and return at once.

    `project_root` is a checkout whose own program and `modelplane` package are run (`plan --against`
    simulates a git ref from its worktree); it is searched before this environment's copy.
    """
    command = [sys.executable, "-m", "modelplane.simulate", str(stack_file)] + (["--stack", stack] if stack else [])
    python_path = os.pathsep.join(filter(None, [str(project_root), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, SECRET_VALUES_ENV: json.dumps(dict(secret_values or {})), "PYTHONPATH": python_path}
    # stderr goes to a file: nothing reads it before the end, and a full pipe would stop the program.
    # RunningSimulation closes it once the process has ended.
    stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=stderr,
        encoding="utf-8",
        errors="replace",
        env=env,
        cwd=project_root,
    )
    return RunningSimulation(process, stderr)


def simulate_in_subprocess(
    stack_file: Path,
    stack: str | None = None,
    secret_values: Mapping[str, str] | None = None,
    *,
    project_root: Path = PROJECT_ROOT,
) -> Simulation:
    """Run a simulation in a fresh interpreter and wait for its graph (see `start_simulation`)."""
    return start_simulation(stack_file, stack, secret_values, project_root=project_root).result()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modelplane.simulate",
        description="Run the program for one stack file under the mock runtime; print the recorded graph "
        "as JSON lines while it runs.",
    )
    parser.add_argument("stack_file", type=Path)
    parser.add_argument("--stack")
    args = parser.parse_args(argv)
    # A process that lives for one program run: the cyclic collector would spend a third of it traversing
    # the SDK's modules and the growing graph, to free what the exit frees anyway; freezing what is left
    # spares the exit's own collection (docs/performance.md).
    gc.disable()
    try:
        return _simulate_and_print(args.stack_file, args.stack)
    finally:
        gc.freeze()


def _simulate_and_print(stack_file: Path, stack: str | None) -> int:
    from modelplane.mock_runtime import simulate

    def emit(kind: str, value: Any) -> None:
        sys.stdout.write(json.dumps({kind: value}) + "\n")
        sys.stdout.flush()

    secret_values = json.loads(os.environ.get(SECRET_VALUES_ENV) or "{}")
    try:
        simulation = simulate(
            stack_file,
            stack,
            secret_values,
            started=lambda shell: emit("stack", asdict(shell)),
            registered=lambda resource: emit("resource", asdict(resource)),
        )
    except SettingsError as error:
        emit("settings_error", {"source": error.source, "problems": error.problems})
        return 2
    emit("end", {"outputs": simulation.outputs, "invokes": [asdict(invoke) for invoke in simulation.invokes]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
