"""A simulation of the program, run in a fresh interpreter and read while it runs.

`python -m modelplane.offline.mocks <stack file>` runs the program under Pulumi's mock runtime and
prints the recorded graph as it grows, one JSON object per line: `{"stack": ...}` (project, stack,
environment, stack file) once the settings are valid, then `{"resource": ...}` for each registration
as the program makes it, then `{"end": ...}` (the stack's outputs, the provider functions called)
when the program has finished; or `{"settings_error": ...}` alone, with exit code 2.
`start_simulation` spawns it (mock state is process-global) and reads it as it comes
(`RunningSimulation`), so `plan` judges each resource while the program still runs, as the engine
sends `Analyze` at each registration. This module imports nothing of Pulumi, so `plan` can start the
simulation before it loads anything heavy.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from modelplane.config import project
from modelplane.config.loader import SettingsError
from modelplane.errors import CheckFailed
from modelplane.offline.graph import RecordedInvoke, RecordedResource, Simulation, known_fields

# Environment variable carrying the plaintext stand-ins of `secure:` values into the child process.
SECRET_VALUES_ENV = "MODELPLANE_SIMULATED_SECRET_VALUES"
SIMULATION_MODULE = "modelplane.offline.mocks"
# Where revisions before the package was cut by role ran their simulation (`plan --against` an old ref).
FORMER_SIMULATION_FILE = Path("modelplane", "simulate.py")
FORMER_SIMULATION_MODULE = "modelplane.simulate"


class SimulationFailed(CheckFailed):
    """The program itself failed under the mock runtime, as it would fail `pulumi preview` (exit 1)."""


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
        invokes = [RecordedInvoke(**known_fields(RecordedInvoke, i)) for i in self._end.get("invokes", [])]
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
            resource = RecordedResource(**known_fields(RecordedResource, record["resource"]))
            self._resources.append(resource)
            self._registrations.put(resource)
        elif "stack" in record:
            self._shell = Simulation(**known_fields(Simulation, record["stack"]))
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
        return SimulationFailed("the program failed:\n" + (self._errors or f"simulation exited with {returncode}"))


def start_simulation(
    stack_file: Path,
    stack: str | None = None,
    secret_values: Mapping[str, str] | None = None,
    *,
    project_root: Path | None = None,
    import_paths: Sequence[Path] = (),
) -> RunningSimulation:
    """Start the simulation of one stack file in a fresh interpreter, and return at once.

    `project_root` (default: the current project) is the folder whose program runs, and whose own
    `modelplane` package, when it holds one, is imported before this environment's (`plan --against`
    simulates a git ref from its worktree with that ref's code); `import_paths` come before it.
    """
    root = project_root or project.current().root
    module = FORMER_SIMULATION_MODULE if (root / FORMER_SIMULATION_FILE).is_file() else SIMULATION_MODULE
    command = [sys.executable, "-m", module, str(stack_file)] + (["--stack", stack] if stack else [])
    python_path = os.pathsep.join(filter(None, [*map(str, import_paths), str(root), os.environ.get("PYTHONPATH")]))
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
        cwd=root,
    )
    return RunningSimulation(process, stderr)


def simulate_in_subprocess(
    stack_file: Path,
    stack: str | None = None,
    secret_values: Mapping[str, str] | None = None,
    *,
    project_root: Path | None = None,
) -> Simulation:
    """Run a simulation in a fresh interpreter and wait for its graph (see `start_simulation`)."""
    return start_simulation(stack_file, stack, secret_values, project_root=project_root).result()
