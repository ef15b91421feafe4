"""`modelplane image test`: does an image keep SageMaker's and Kubernetes' serving contracts? Ours or anyone's.

The image runs three times on the host network, its server told to bind 127.0.0.1
(`MODELPLANE_HOST`; an image that ignores it binds where it binds):

1. as SageMaker runs it: `<image> serve`, as the image's user (root for SageMaker), the model at
   `/opt/ml/model`: port 8080 accepts connections, `/ping` answers 200 with an empty body (within
   SageMaker's 4 minutes after start, and 2 s per ping), the smoke request is answered within the
   endpoint's p99 latency threshold, a malformed body gets a 4xx and the server goes on, `/metrics`
   carries the series `compare` and the PrometheusRule read, and SIGTERM ends it within 30 s;
2. with `SAGEMAKER_BIND_TO_PORT` set to another port, which it must listen on instead (with the label
   that makes SageMaker set it);
3. as the Kubernetes component runs it: UID 10001, read-only root file system with `/tmp` writable,
   every capability dropped, no privilege escalation, the image's default command, the endpoint's port
   and health path.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container
from modelplane_components.kubernetes_alerts import LATENCY_METRIC, REQUESTS_METRIC
from modelplane_components.kubernetes_pods import (
    METRICS_PATH,
    NON_ROOT_ID,
    SERVER_DEFAULT_HEALTH_PATH,
    SERVER_DEFAULT_PORT,
    server_environment,
)
from prometheus_client.parser import text_string_to_metric_families
from requests.exceptions import RequestException

from modelplane.images.daemon import BIND_TO_PORT_LABEL, ImageError, connect, daemon_errors, image_facts
from modelplane.images.manifests import Verdict

HOST = "127.0.0.1"
SAGEMAKER_PORT = SERVER_DEFAULT_PORT
PING_PATH = SERVER_DEFAULT_HEALTH_PATH
READINESS_LIMIT_SECONDS = 240.0
"""SageMaker fails CreateEndpoint when /ping has not passed 4 minutes after the container started."""
PING_LIMIT_SECONDS = 2.0
STOP_GRACE_SECONDS = 30.0
"""SageMaker and Kubernetes (by default) send SIGKILL 30 s after SIGTERM."""
MODEL_DIR = "/opt/ml/model"
# Labels the ServiceMonitor adds to every series: the server's own would collide with them.
TARGET_LABELS = ("namespace", "service", "pod")
MALFORMED_BODY = b'{"malformed": '
POLL_SECONDS = 0.05


class Result(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    name: str
    result: Result
    detail: str


@dataclass(frozen=True)
class Smoke:
    """The endpoint's `smoke_test` request and its p99 latency threshold."""

    content_type: str
    body: str
    threshold_ms: float


@dataclass(frozen=True)
class Contract:
    """What `image test` runs the image with."""

    image: str
    manifest: Verdict
    smoke: Smoke | None = None
    model_dir: Path | None = None
    """Mounted read-only at /opt/ml/model (the unpacked `--model-data`); else the image's own."""
    kubernetes_port: int = SAGEMAKER_PORT
    health_path: str = PING_PATH
    readiness_timeout: float = READINESS_LIMIT_SECONDS
    stop_timeout: float = STOP_GRACE_SECONDS


@dataclass
class _Run:
    """One container run: its checks, in order."""

    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, passed: bool, detail: str) -> bool:
        self.checks.append(Check(name, Result.PASS if passed else Result.FAIL, detail))
        return passed

    def skip(self, name: str, detail: str) -> None:
        self.checks.append(Check(name, Result.SKIP, detail))


def run_contract(client: docker.DockerClient, contract: Contract) -> list[Check]:
    """Every check, in the order of the table.

    The three containers are created at once (with a copying storage driver, creating one is the slowest
    step) but run strictly one after another, each started only once its port is free and the one before
    it is gone: on the host network, two servers side by side could answer for each other. The daemon
    removes each container when it stops.
    """
    facts = image_facts(client, contract.image)
    checks = [Check("manifest", Result.PASS if contract.manifest.ok else Result.FAIL, contract.manifest.detail)]
    labelled = facts.labels.get(BIND_TO_PORT_LABEL) == "true"
    checks.append(
        Check(
            "label",
            Result.PASS if labelled else Result.FAIL,
            f"{BIND_TO_PORT_LABEL}=true"
            if labelled
            else f"no {BIND_TO_PORT_LABEL}=true: SageMaker never sets SAGEMAKER_BIND_TO_PORT for it, so it"
            " cannot join an inference pipeline",
        )
    )
    for port in {SAGEMAKER_PORT, contract.kubernetes_port}:
        _require_free(port)
    bind_port = _free_port()
    runs: dict[str, tuple[list[str] | None, dict[str, str], bool]] = {
        "sagemaker": (["serve"], {}, False),
        "bind-to-port": (["serve"], {"SAGEMAKER_BIND_TO_PORT": str(bind_port)}, False),
        "kubernetes": (None, server_environment(contract.kubernetes_port, contract.health_path), True),
    }
    with ThreadPoolExecutor(len(runs)) as pool:
        futures = {name: pool.submit(_Container.create, contract, *run) for name, run in runs.items()}
    created = {name: future.result() for name, future in futures.items() if future.exception() is None}
    try:
        for future in futures.values():
            future.result()  # a refused creation, once the others are in `created` to be removed
        checks += _sagemaker_run(created["sagemaker"], contract)
        created["sagemaker"].discard()
        checks += _bind_to_port_run(created["bind-to-port"], bind_port, contract)
        created["bind-to-port"].discard()
        checks += _kubernetes_run(created["kubernetes"], contract)
    finally:
        for container in created.values():
            container.discard()
    return checks


def _sagemaker_run(container: _Container, contract: Contract) -> list[Check]:
    run = _Run()
    if (taken := container.start_on(SAGEMAKER_PORT)) is not None:
        run.add("port", False, taken)
        return run.checks
    accepted = _await_port(container, SAGEMAKER_PORT, contract.readiness_timeout)
    if not run.add("port", accepted is None, accepted or f"{HOST}:{SAGEMAKER_PORT} accepts connections"):
        return run.checks
    problem, ready_after = _await_ready(container, SAGEMAKER_PORT, PING_PATH, contract.readiness_timeout)
    ready = f"/ping answered 200 {ready_after:.1f} s after start (SageMaker allows {READINESS_LIMIT_SECONDS:.0f} s)"
    if not run.add("readiness", problem is None, problem or ready):
        return run.checks
    status, body, seconds = _request(SAGEMAKER_PORT, "GET", PING_PATH)
    run.add(
        "ping",
        status == 200 and not body and seconds <= PING_LIMIT_SECONDS,
        f"{status}, {len(body)} bytes of body, in {seconds * 1000:.0f} ms (SageMaker: 200, empty, within 2 s)",
    )
    sent = _smoke(run, SAGEMAKER_PORT, contract.smoke)
    status, body, _ = _request(SAGEMAKER_PORT, "POST", "/invocations", MALFORMED_BODY, "application/json")
    alive, _, _ = _request(SAGEMAKER_PORT, "GET", PING_PATH)
    run.add(
        "bad input",
        400 <= status < 500 and alive == 200,
        f"a malformed JSON body got {status} ({_excerpt(body)}); /ping then answered {alive}"
        + ("" if 400 <= status < 500 else ": a client's mistake must be a 4xx, never a 5xx or a crash"),
    )
    run.checks.append(_metrics(SAGEMAKER_PORT, invocations=sent + 1))
    run.checks.append(_sigterm(container, contract.stop_timeout))
    return run.checks


def _bind_to_port_run(container: _Container, port: int, contract: Contract) -> list[Check]:
    # 8080 free before the start and taken after it, while the container runs: the container took it.
    default_port = None if _accepts(SAGEMAKER_PORT) else SAGEMAKER_PORT
    if (taken := container.start_on(port)) is not None:
        return [Check("bind-to-port", Result.FAIL, taken)]
    problem, _ = _await_ready(container, port, PING_PATH, contract.readiness_timeout, not_on=default_port)
    if problem is None:
        return [Check("bind-to-port", Result.PASS, f"/ping answered on SAGEMAKER_BIND_TO_PORT={port}")]
    return [Check("bind-to-port", Result.FAIL, f"SAGEMAKER_BIND_TO_PORT={port}: {problem}")]


def _kubernetes_run(container: _Container, contract: Contract) -> list[Check]:
    port, path = contract.kubernetes_port, contract.health_path
    restrictions = f"UID {NON_ROOT_ID}, read-only root, /tmp writable, no capabilities, no privilege escalation"
    if (taken := container.start_on(port)) is not None:
        return [Check("non-root", Result.FAIL, taken)]
    problem, ready_after = _await_ready(container, port, path, contract.readiness_timeout)
    if problem is not None:
        return [Check("non-root", Result.FAIL, f"{restrictions}: {problem}")]
    answered = []
    if contract.smoke is not None:
        smoke = contract.smoke
        status, body, _ = _request(port, "POST", "/invocations", smoke.body.encode(), smoke.content_type)
        if not 200 <= status < 300:
            return [Check("non-root", Result.FAIL, f"{restrictions}: the smoke request got {status}: {_excerpt(body)}")]
        answered.append(f"/invocations {status}")
    metrics_status, _, _ = _request(port, "GET", METRICS_PATH)
    answered.append(f"{METRICS_PATH} {metrics_status}")
    detail = f"{restrictions}: {path} 200 on port {port} after {ready_after:.1f} s, {', '.join(answered)}"
    return [Check("non-root", Result.PASS if metrics_status == 200 else Result.FAIL, detail)]


def _smoke(run: _Run, port: int, smoke: Smoke | None) -> int:
    """The endpoint's smoke request; the number of requests sent."""
    if smoke is None:
        run.skip("invocations", "no smoke request: give --stack/--config and --endpoint with a smoke_test")
        return 0
    status, body, seconds = _request(port, "POST", "/invocations", smoke.body.encode(), smoke.content_type)
    milliseconds = seconds * 1000
    if not 200 <= status < 300:
        run.add("invocations", False, f"the smoke request got {status}: {_excerpt(body)}")
    else:
        run.add(
            "invocations",
            milliseconds <= smoke.threshold_ms,
            f"{status} in {milliseconds:.0f} ms (p99 latency threshold {smoke.threshold_ms:g} ms): {_excerpt(body)}",
        )
    return 1


def _metrics(port: int, *, invocations: int) -> Check:
    """`http_requests_total{code}` counting exactly the requests to /invocations, and the latency histogram."""
    status, body, _ = _request(port, "GET", METRICS_PATH)
    if status != 200:
        return Check("metrics", Result.FAIL, f"GET {METRICS_PATH} on port {port} answered {status}")
    try:
        families = list(text_string_to_metric_families(body.decode("utf-8")))
    except (ValueError, UnicodeDecodeError) as error:
        return Check("metrics", Result.FAIL, f"{METRICS_PATH} is not Prometheus text: {error}")
    samples = [sample for family in families for sample in family.samples]
    requests = [sample for sample in samples if sample.name == REQUESTS_METRIC]
    histogram = {sample.name for sample in samples if sample.name.startswith(LATENCY_METRIC)}
    problems = []
    if not requests:
        problems.append(f"no {REQUESTS_METRIC}")
    elif any("code" not in sample.labels for sample in requests):
        problems.append(f"{REQUESTS_METRIC} without a `code` label")
    elif (counted := sum(sample.value for sample in requests)) != invocations:
        problems.append(
            f"{REQUESTS_METRIC} counts {counted:g} requests where {invocations} were sent to /invocations"
            " (health checks and scrapes must not count: compare takes them all for model traffic)"
        )
    missing = {f"{LATENCY_METRIC}{suffix}" for suffix in ("_bucket", "_sum", "_count")} - histogram
    if missing:
        problems.append(f"no histogram {LATENCY_METRIC} ({', '.join(sorted(missing))} missing)")
    clashing = sorted({label for sample in samples for label in sample.labels if label in TARGET_LABELS})
    if clashing:
        problems.append(f"labels {', '.join(clashing)} of its own: the ServiceMonitor sets those")
    if problems:
        return Check("metrics", Result.FAIL, "; ".join(problems))
    codes = sorted({sample.labels["code"] for sample in requests})
    return Check(
        "metrics",
        Result.PASS,
        f"{REQUESTS_METRIC} (codes {', '.join(codes)}) and the {LATENCY_METRIC} histogram on port {port}",
    )


def _sigterm(container: _Container, grace: float) -> Check:
    signalled = time.monotonic()
    if not container.signal("SIGTERM"):
        return Check("sigterm", Result.FAIL, f"it had stopped before SIGTERM: {container.exited()}")
    code = container.exit_code(grace)
    if code is None:
        return Check(
            "sigterm",
            Result.FAIL,
            f"still running {grace:g} s after SIGTERM: SageMaker and Kubernetes kill it then, dropping the"
            " requests in flight (is the server PID 1 without a SIGTERM handler, or started by a shell?)",
        )
    return Check("sigterm", Result.PASS, f"exited with code {code} {time.monotonic() - signalled:.1f} s after SIGTERM")


class _Container:
    """A container of the contract test: created stopped, its output collected from the start, removed by
    the daemon when it stops (`docker run --rm`)."""

    def __init__(self, container: Container) -> None:
        self._container = container
        self._output: list[str] = []
        self._exit_code: str | None = None
        self._removed = threading.Event()
        self._waiter_error: Exception | None = None
        self._discarded = False
        self.started = 0.0

    @classmethod
    def create(
        cls, contract: Contract, command: list[str] | None, environment: dict[str, str], restricted: bool
    ) -> _Container:
        options: dict[str, Any] = {
            "network_mode": "host",
            "environment": {"MODELPLANE_HOST": HOST, **environment},
            "name": f"modelplane-contract-{uuid.uuid4().hex[:12]}",
            "auto_remove": True,
        }
        if contract.model_dir is not None:
            options["volumes"] = {str(contract.model_dir): {"bind": MODEL_DIR, "mode": "ro"}}
        if restricted:
            options |= {
                "user": f"{NON_ROOT_ID}:{NON_ROOT_ID}",
                "read_only": True,
                "tmpfs": {"/tmp": "rw,nosuid,nodev,size=256m"},  # noqa: S108 - the pod's emptyDir
                "cap_drop": ["ALL"],
                "security_opt": ["no-new-privileges"],
            }
        client = connect()  # a client per thread
        with daemon_errors(f"creating a container of {contract.image}"):
            return cls(client.containers.create(contract.image, command, **options))

    def start_on(self, port: int) -> str | None:
        """Start it once `port` is free (None); else why it was not started."""
        if _accepts(port):
            return f"port {port} was taken before the container started (another process on this machine)"
        waiting = threading.Event()
        threading.Thread(target=self._await_removal, args=(waiting,), daemon=True).start()
        waiting.wait(timeout=5)
        with daemon_errors("starting the container"):
            self._container.start()
        self.started = time.monotonic()
        threading.Thread(target=self._collect, daemon=True).start()
        return None

    def _await_removal(self, waiting: threading.Event) -> None:
        """The exit code, which the daemon reports to a wait for removal, registered before the start."""
        client = connect()
        waiting.set()
        try:
            answer = client.api.wait(str(self._container.id), condition="removed")
            self._exit_code = str(answer.get("StatusCode"))
        except (APIError, RequestException) as error:
            self._waiter_error = error
        finally:
            self._removed.set()

    def _collect(self) -> None:
        with suppress(APIError, RequestException):
            for chunk in self._container.logs(stream=True, follow=True):
                self._output.append(chunk.decode("utf-8", errors="replace"))

    def exited(self) -> str | None:
        """None while it runs; else its exit code and its last lines of output."""
        with daemon_errors("inspecting the container"):
            try:
                self._container.reload()
                if self._container.status not in {"exited", "dead"}:
                    return None
                code = str(self._container.attrs.get("State", {}).get("ExitCode"))
            except NotFound:  # removed: the waiter has the code, or is about to
                code = self.exit_code(1.0) or "unknown"
        lines = "".join(self._output).strip().splitlines()[-6:]
        return f"the container exited with code {code}: {' | '.join(lines) or '(no output)'}"

    def signal(self, signal: str) -> bool:
        """Send `signal`; False when the container was gone already (it had stopped on its own)."""
        with daemon_errors(f"sending the container {signal}"):
            try:
                self._container.kill(signal=signal)
            except NotFound:
                return False
            except APIError as error:
                if error.status_code == 409:  # not running: stopped, not yet removed
                    return False
                raise
        return True

    def exit_code(self, timeout: float) -> str | None:
        """Its exit code once the daemon has removed it; None while it still runs after `timeout`."""
        if not self._removed.wait(timeout):
            return None
        if self._waiter_error is not None:
            raise ImageError(f"waiting for the container to stop: {self._waiter_error}") from self._waiter_error
        return self._exit_code

    def discard(self) -> None:
        """Gone for good, so that the next run may take the port: killed and removed by the daemon (never
        started: removed)."""
        if self._discarded:
            return
        self._discarded = True
        if not self.started:
            with daemon_errors("removing the container"), suppress(NotFound):
                self._container.remove(force=True)
            return
        self.signal("SIGKILL")
        if self.exit_code(STOP_GRACE_SECONDS) is None:
            raise ImageError(f"the container {self._container.name} still runs {STOP_GRACE_SECONDS:g} s after SIGKILL")


def _await_port(container: _Container, port: int, timeout: float) -> str | None:
    """None once the port accepts connections; else why not."""
    while time.monotonic() - container.started < timeout:
        with suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return container.exited()  # None: the port is the container's (it was free before the start)
        if (exited := container.exited()) is not None:
            return exited
        time.sleep(POLL_SECONDS)
    return (
        f"nothing accepted connections on {HOST}:{port} within {timeout:g} s; the container still runs:"
        " does it listen on another port?"
    )


def _await_ready(
    container: _Container, port: int, path: str, timeout: float, *, not_on: int | None = None
) -> tuple[str | None, float]:
    """(None, seconds since start) once `path` answers 200 and the container still runs; else (why not, …).

    `not_on`: a port that was free before the start and that the container must leave alone (SageMaker's
    8080 when told SAGEMAKER_BIND_TO_PORT): once it accepts connections, the server listens there and will
    not move, so that is the answer at once rather than after the whole timeout.
    """
    last = "no answer"
    while (elapsed := time.monotonic() - container.started) < timeout:
        status, body, _ = _request(port, "GET", path)
        if status == 200:  # from the container only while it runs
            return container.exited(), elapsed
        if status:
            last = f"{status} {_excerpt(body)}"
        if (exited := container.exited()) is not None:
            return exited, 0.0
        if not_on is not None and _accepts(not_on):
            return container.exited() or (
                f"it listens on port {not_on} instead (in an inference pipeline another container has that port)"
            ), 0.0
        time.sleep(POLL_SECONDS)
    return f"GET {path} on port {port} did not answer 200 within {timeout:g} s (last: {last})", 0.0


def _request(
    port: int, method: str, path: str, body: bytes | None = None, content_type: str | None = None
) -> tuple[int, bytes, float]:
    """(status, body, seconds); status 0 when nothing answered."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Content-Type": content_type} if content_type else {}
    started = time.perf_counter()
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - started
    except (OSError, http.client.HTTPException):
        return 0, b"", time.perf_counter() - started
    finally:
        connection.close()


def _accepts(port: int) -> bool:
    """Whether something on this machine accepts connections on `port`."""
    with suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
        return True
    return False


def _require_free(port: int) -> None:
    if _accepts(port):
        raise ImageError(f"port {port} is in use on this machine: the contract test runs the image on the host network")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _excerpt(body: bytes, limit: int = 120) -> str:
    text = " ".join(body.decode("utf-8", errors="replace").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
