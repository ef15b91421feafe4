"""A simulation of the program, run in a fresh interpreter and read while it runs.

`python -m modelplane.offline.mocks <stack file>` runs the program under Pulumi's mock runtime and
prints the recorded graph as it grows, one JSON object per line: `{"stack": ...}` (project, stack,
environment, stack file) once the settings are valid, then `{"resource": ...}` for each registration
as the program makes it, then `{"end": ...}` (the stack's outputs, the provider functions called)
when the program has finished; or `{"settings_error": ...}` alone, with exit code 2.
`start_simulation` starts it (mock state is process-global) and reads it as it comes
(`RunningSimulation`), so `plan` judges each resource while the program still runs, as the engine
sends `Analyze` at each registration. This module imports nothing of Pulumi, so `plan` can start the
simulation before it loads anything heavy.

Most of a simulation's time is the import of the Pulumi SDKs (pulumi_aws alone holds thousands of
modules). So a simulation of this environment's program runs as a fork of a server that has imported
them once per process (multiprocessing's fork server): `plan --all`, `plan --against` and the tests
pay for those imports once, not once per stack. A project that holds its own copy of modelplane (a git
ref's worktree, for `plan --against`) still gets a fresh interpreter, which imports that copy, unless the
copy holds the very files the fork server imported, or the caller vouches that the copy is this checkout's code
(`code_from`: the ref changed only stacks or settings). The policy pack forks from the same server
(`fork_module`) when this interpreter runs it.
"""

from __future__ import annotations

import filecmp
import functools
import importlib.util
import io
import json
import multiprocessing
import os
import queue
import runpy
import subprocess
import sys
import tempfile
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import IO, Any, Protocol

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
# What the fork server imports before it forks (the mocks, the program's build, the components and their SDKs).
FORK_SERVER_PRELOAD = ["modelplane.offline.preload"]
# The packages of this environment the preloaded modules come from: a project that holds another copy of
# one of them must import its own, in a fresh interpreter.
PRELOADED_PACKAGES = ("modelplane", "modelplane_components")


class SimulationFailed(CheckFailed):
    """The program itself failed under the mock runtime, as it would fail `pulumi preview` (exit 1)."""


class Child(Protocol):
    """A process running `python -m <module>`: `subprocess.Popen`, or a fork of the fork server."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def send_signal(self, sig: int, /) -> None: ...

    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


class ForkedChild:
    """A process forked by multiprocessing's fork server, seen as `subprocess.Popen` sees its child."""

    def __init__(self, process: BaseProcess) -> None:
        self._process = process

    @property
    def pid(self) -> int:
        pid = self._process.pid
        assert pid is not None, "a started process has a pid"
        return pid

    def poll(self) -> int | None:
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self._process.exitcode is None and self._process.pid is not None:
            os.kill(self._process.pid, sig)

    def kill(self) -> None:
        self._process.kill()

    def wait(self, timeout: float | None = None) -> int:
        """Its exit code; `subprocess.TimeoutExpired` when it still runs after `timeout` seconds."""
        self._process.join(timeout)
        exitcode = self._process.exitcode
        if exitcode is None:
            raise subprocess.TimeoutExpired(self._process.name, timeout or 0.0)
        return exitcode


class RunningModule:
    """`python -m <module>` started by `start_module`: its output read as it comes, its errors kept.

    The process starts in the reading thread (a fork server's first fork waits for its imports), so
    `start_module` returns at once; a thread reads the output as it comes, so the child never waits on
    a full pipe. Its standard error goes to a file, read at the end.
    """

    def __init__(
        self,
        launch: Callable[[IO[str]], tuple[Child, IO[str]]],
        on_line: Callable[[str], None],
        on_end: Callable[[], None],
    ) -> None:
        self._launch = launch
        self._on_line = on_line
        self._on_end = on_end
        self._child: Child | None = None
        self._launch_error = ""
        self._launched = threading.Event()
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self.errors = ""
        self._reader = threading.Thread(target=self._read, name="module-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            try:
                self._child, stdout = self._launch(self._stderr)
            except OSError as error:
                self._launch_error = f"cannot start {error.filename or 'the process'}: {error.strerror or error}"
                return
            except EOFError:  # multiprocessing's fork server ended before it forked (its own start failed)
                self._launch_error = "cannot start the process: the fork server ended before it forked it"
                return
            finally:
                self._launched.set()
            with stdout:
                for line in stdout:
                    self._on_line(line)
        finally:
            self._on_end()

    def stop(self) -> None:
        """Kill the process if it still runs, and wait for it."""
        self._launched.wait()
        if self._child is not None and self._child.poll() is None:
            self._child.kill()
        self.wait()

    def wait(self) -> int:
        """Wait for the process to end (and its output to be read); its exit code. Errors are in `errors`."""
        self._reader.join()
        returncode = 1 if self._child is None else self._child.wait()
        if not self._stderr.closed:
            self._stderr.seek(0)
            self.errors = (self._launch_error or self._stderr.read()).strip()
            self._stderr.close()
        return returncode


class RunningSimulation:
    """A simulation started by `start_simulation`, read while it runs.

    `started()` gives what is simulated as soon as the settings are valid, `registrations()` each
    resource as the program registers it, `result()` the whole graph once the program has finished.
    """

    def __init__(
        self, module: str, argv: Sequence[str], root: Path, env: Mapping[str, str], code_from: Path | None = None
    ) -> None:
        self._shell: Simulation | None = None
        self._resources: list[RecordedResource] = []
        self._end: Mapping[str, Any] | None = None
        self._settings_error: Mapping[str, Any] | None = None
        self._started = threading.Event()
        self._registrations: queue.SimpleQueue[RecordedResource | None] = queue.SimpleQueue()
        self._module = start_module(
            module, argv, root, env, on_line=self._take_line, on_end=self._output_ended, code_from=code_from
        )

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
        returncode = self._module.wait()
        if returncode != 0 or self._shell is None or self._end is None:
            raise self._failure()
        invokes = [RecordedInvoke(**known_fields(RecordedInvoke, i)) for i in self._end.get("invokes", [])]
        return replace(self._shell, resources=list(self._resources), outputs=self._end["outputs"], invokes=invokes)

    def stop(self) -> None:
        """Give up on it, if it still runs (the plan failed before it needed the graph)."""
        self._module.stop()

    def _output_ended(self) -> None:
        self._started.set()
        self._registrations.put(None)

    def _take_line(self, line: str) -> None:
        try:
            record = json.loads(line)
        except ValueError:
            return  # not a record: cut short by `stop()`, or printed by the program itself
        if isinstance(record, dict):
            self._take(record)

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

    def _failure(self) -> Exception:
        """Why the simulation ended without its graph: the settings are invalid, or the program failed."""
        returncode = self._module.wait()
        if returncode == 2 and self._settings_error is not None:
            report = self._settings_error
            return SettingsError(report["source"], [(path, message) for path, message in report["problems"]])
        errors = self._module.errors
        return SimulationFailed("the program failed:\n" + (errors or f"simulation exited with {returncode}"))


def start_simulation(
    stack_file: Path,
    stack: str | None = None,
    secret_values: Mapping[str, str] | None = None,
    *,
    project_root: Path | None = None,
    import_paths: Sequence[Path] = (),
    code_from: Path | None = None,
) -> RunningSimulation:
    """Start the simulation of one stack file in a process of its own, and return at once.

    `project_root` (default: the current project) is the folder whose program runs, and whose own
    `modelplane` package, when it holds one, is imported before this environment's (`plan --against`
    simulates a git ref from its worktree with that ref's code); `import_paths` come before it.
    `code_from`: a project whose packages are `project_root`'s, file for file (`plan --against` a ref
    at which they did not change: this checkout); the simulation forks when that project's would.
    """
    root = project_root or project.current().root
    module = FORMER_SIMULATION_MODULE if (root / FORMER_SIMULATION_FILE).is_file() else SIMULATION_MODULE
    argv = [str(stack_file)] + (["--stack", stack] if stack else [])
    python_path = os.pathsep.join(filter(None, [*map(str, import_paths), str(root), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, SECRET_VALUES_ENV: json.dumps(dict(secret_values or {})), "PYTHONPATH": python_path}
    return RunningSimulation(module, argv, root, env, code_from)


def simulate_in_subprocess(
    stack_file: Path,
    stack: str | None = None,
    secret_values: Mapping[str, str] | None = None,
    *,
    project_root: Path | None = None,
) -> Simulation:
    """Run a simulation in a process of its own and wait for its graph (see `start_simulation`)."""
    return start_simulation(stack_file, stack, secret_values, project_root=project_root).result()


def start_module(
    module: str,
    argv: Sequence[str],
    root: Path,
    env: Mapping[str, str],
    *,
    on_line: Callable[[str], None],
    on_end: Callable[[], None] = lambda: None,
    code_from: Path | None = None,
) -> RunningModule:
    """Start `python -m module *argv` in `root` with `env` (whose PYTHONPATH it honours), and return at once.

    Each line it prints goes to `on_line` as it comes, then `on_end` is called. The process is a fork of
    the fork server when `root` imports this environment's packages, else a fresh interpreter.
    `code_from`: a folder whose packages are those `root` and PYTHONPATH hold, file for file; it decides instead.
    """
    python_path = [Path(entry) for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
    if _imports_this_environment([code_from] if code_from else [root, *python_path]):
        return RunningModule(functools.partial(_fork, module, argv, root, env), on_line, on_end)
    return RunningModule(functools.partial(_spawn, module, argv, root, env), on_line, on_end)


def _imports_this_environment(paths: Sequence[Path]) -> bool:
    """Whether a process importing from `paths` first gets the preloaded packages of this environment, or
    copies of them that hold the same files (another clone at the same commit)."""
    for package in PRELOADED_PACKAGES:
        spec = importlib.util.find_spec(package)
        loaded = {Path(location).resolve() for location in (spec.submodule_search_locations or [])} if spec else set()
        for path in paths:
            copy = path / package
            if copy.exists() and copy.resolve() not in loaded and not any(_same_files(copy, at) for at in loaded):
                return False
    return True


def _same_files(copy: Path, original: Path) -> bool:
    """Whether two folders hold the same files, byte for byte, bytecode caches aside."""
    files = _files(copy)
    return files == _files(original) and all(filecmp.cmp(copy / name, original / name, shallow=False) for name in files)


def _files(folder: Path) -> list[str]:
    """The files below `folder`, as sorted relative paths, without `__pycache__` folders."""
    found = []
    for directory, folders, names in os.walk(folder):
        folders[:] = [name for name in folders if name != "__pycache__"]
        found += [str((Path(directory) / name).relative_to(folder)) for name in names]
    return sorted(found)


def _spawn(
    module: str, argv: Sequence[str], root: Path, env: Mapping[str, str], stderr: IO[str]
) -> tuple[Child, IO[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", module, *argv],
        stdout=subprocess.PIPE,
        stderr=stderr,
        encoding="utf-8",
        errors="replace",
        env=dict(env),
        cwd=root,
    )
    assert process.stdout is not None
    return process, process.stdout


@functools.cache
def _fork_server() -> ForkServerContext:
    """multiprocessing's fork server, made to import what every simulation imports before it forks."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(FORK_SERVER_PRELOAD)
    return context


def _fork(
    module: str, argv: Sequence[str], root: Path, env: Mapping[str, str], stderr: IO[str]
) -> tuple[Child, IO[str]]:
    child, output = fork_module(module, argv, root, env, stderr)
    return child, os.fdopen(output, encoding="utf-8", errors="replace")


def fork_module(
    module: str, argv: Sequence[str], root: Path, env: Mapping[str, str], stderr: IO[Any], *, unbuffered: bool = False
) -> tuple[ForkedChild, int]:
    """`python [-u] -m module *argv` in `root` with `env`, as a fork of the fork server (which has imported this
    environment's packages): the child, and the file descriptor of its standard output, which the caller closes.
    Its standard error goes to `stderr`."""
    context = _fork_server()
    reading, writing = context.Pipe(duplex=False)
    # A Connection is how multiprocessing hands a file descriptor to the fork server's child.
    error_file = Connection(os.dup(stderr.fileno()))
    process = context.Process(
        target=_run_module,
        args=(module, list(argv)),
        kwargs={
            "root": str(root),
            "env": dict(env),
            "stdout": writing,
            "stderr": error_file,
            "unbuffered": unbuffered,
        },
        name=module,
        daemon=True,
    )
    try:
        process.start()
        output = os.dup(reading.fileno())
    finally:
        for connection in (reading, writing, error_file):
            connection.close()
    return ForkedChild(process), output


def _run_module(
    module: str,
    argv: list[str],
    *,
    root: str,
    env: dict[str, str],
    stdout: Connection,
    stderr: Connection,
    unbuffered: bool = False,
) -> None:
    """In the fork: what `python [-u] -m module *argv` does in `root` with `env`, printing into the pipes given."""
    os.dup2(stdout.fileno(), sys.stdout.fileno())
    os.dup2(stderr.fileno(), sys.stderr.fileno())
    stdout.close()
    stderr.close()
    if unbuffered:  # `python -u`: the standard streams write through to their file descriptors
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), errors="backslashreplace", write_through=True)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(root)
    sys.path[:0] = [root, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    sys.argv = [module, *argv]
    # runpy warns that the module was imported before it runs as __main__: the fork server preloaded it.
    warnings.filterwarnings("ignore", "'.*' found in sys.modules after import of package", RuntimeWarning)
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except Exception:
        # As the interpreter reports an uncaught exception (multiprocessing would print its own header first).
        traceback.print_exc()
        sys.stderr.flush()
        raise SystemExit(1) from None
