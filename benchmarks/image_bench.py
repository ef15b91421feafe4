"""Benchmark of the model-serving image against its budgets (issue 24); a measurement, not a timed test.

`tools/with-dockerd .venv/bin/python -m benchmarks.image_bench [--seconds S]` builds the image on the test
base (Debian trixie from mmdebstrap, as the tests do) and measures in one run on this machine:

1. `modelplane image test` of the healthy image with the dev stack's fraud endpoint and a small ONNX
   model (wall time of the command, a fresh process);                      budget <= 20 s
2. readiness: from `docker start` to the first 200 from /ping;           budget <= 5 s
3. /invocations latency at a fixed 200 requests/s for S seconds (default 20) on loopback, sent by a
   load generator in another process (open loop: each latency counts from the request's scheduled
   time, so a slow answer delays no measurement), with the fraud model; p99 budget <= 10 ms
4. the size of the runtime layers above the base (`docker history`);     budget <= 150 MB
5. a warm rebuild after a code change (a copy of serving/ with one module edited): `image build`
   with the dependency layers and the wheels cached;                      budget <= 30 s

Prints a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import docker

from modelplane.images import build, daemon
from tests.images.harness import ensure_base_image
from tests.serving.harness import SMOKE_BODY, fraud_model, model_archive

REPOSITORY = Path(__file__).resolve().parent.parent

RATE = 200
CONNECTIONS = 4
MEGABYTE = 1024 * 1024
BUDGETS = {"image test": 20.0, "readiness": 5.0, "p99": 10.0, "layers": 150.0, "rebuild": 30.0}


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark of the model-serving image against its budgets.")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the 200 requests/s load")
    parser.add_argument("--load", metavar="PORT", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load is not None:
        _load(args.load, args.seconds)
        return
    client = daemon.connect()
    base = ensure_base_image(client)
    built = build.build(client, family="fraud-detector", base=base, log=lambda _: None)
    with tempfile.TemporaryDirectory(prefix="image-bench-") as directory:
        workspace = Path(directory)
        archive = model_archive(workspace / "model.tar.gz", fraud_model())
        model_dir = workspace / "model"
        model_dir.mkdir(mode=0o755)
        shutil.unpack_archive(archive, model_dir)
        rows = [
            _image_test(built.id, archive),
            *_serve(client, built.id, model_dir, args.seconds),
            ("runtime layers above the base", built.layers_above_base / MEGABYTE, "MB", BUDGETS["layers"]),
            _warm_rebuild(client, base, workspace),
        ]
    print(f"\nModel-serving image on {base}, {built.id[:19]}\n")
    print("| measure | value | budget |")
    print("|---|---|---|")
    for name, value, unit, budget in rows:
        verdict = "ok" if value <= budget else "OVER"
        print(f"| {name} | {value:.2f} {unit} | <= {budget:g} {unit} ({verdict}) |")


def _image_test(image: str, archive: Path) -> tuple[str, float, str, float]:
    command = [sys.executable, "-m", "modelplane", "image", "test", image, "--stack", "dev", "--endpoint", "fraud"]
    started = time.perf_counter()
    result = subprocess.run([*command, "--model-data", str(archive)], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"image test failed:\n{result.stdout}{result.stderr}")
    return "`modelplane image test` (healthy image)", seconds, "s", BUDGETS["image test"]


def _serve(
    client: docker.DockerClient, image: str, model_dir: Path, seconds: float
) -> list[tuple[str, float, str, float]]:
    """Readiness, then the latency under load, of one container as SageMaker runs it."""
    port = _free_port()
    container = client.containers.create(
        image,
        ["serve"],
        network_mode="host",
        environment={"MODELPLANE_HOST": "127.0.0.1", "SAGEMAKER_BIND_TO_PORT": str(port)},
        volumes={str(model_dir): {"bind": "/opt/ml/model", "mode": "ro"}},
    )
    try:
        container.start()
        started = time.perf_counter()
        while _status(port, "GET", "/ping") != 200:
            if time.perf_counter() - started > 60:
                raise SystemExit("the server was not ready within 60 s")
            time.sleep(0.01)
        ready = time.perf_counter() - started
        for _ in range(50):  # warm-up
            _status(port, "POST", "/invocations", SMOKE_BODY.encode())
        load = [sys.executable, "-m", "benchmarks.image_bench", "--load", str(port), "--seconds", str(seconds)]
        result = subprocess.run(load, capture_output=True, text=True, check=True, cwd=REPOSITORY)
        figures = json.loads(result.stdout)
    finally:
        container.remove(force=True)
    print(
        f"load: {figures['requests']} requests at {figures['rate']:.1f}/s, errors {figures['errors']},"
        f" p50 {figures['p50']:.2f} ms, p99 {figures['p99']:.2f} ms, max {figures['max']:.2f} ms",
        file=sys.stderr,
    )
    return [
        ("readiness (start to /ping 200)", ready, "s", BUDGETS["readiness"]),
        (f"/invocations p99 at {RATE} requests/s", figures["p99"], "ms", BUDGETS["p99"]),
    ]


def _load(port: int, seconds: float) -> None:
    """The load generator (its own process): RATE requests/s spread over CONNECTIONS keep-alive connections."""
    total = int(RATE * seconds)
    start = time.perf_counter() + 0.2
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker(offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for index in range(offset, total, CONNECTIONS):
            scheduled = start + index / RATE
            if (delay := scheduled - time.perf_counter()) > 0:
                time.sleep(delay)
            connection.request("POST", "/invocations", body=SMOKE_BODY, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - scheduled) * 1000
            with lock:
                latencies.append(elapsed)
                errors[0] += response.status != 200
        connection.close()

    threads = [threading.Thread(target=worker, args=(offset,)) for offset in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.perf_counter() - start
    ordered = sorted(latencies)
    print(
        json.dumps(
            {
                "requests": len(ordered),
                "rate": len(ordered) / duration,
                "errors": errors[0],
                "p50": statistics.median(ordered),
                "p99": ordered[math.ceil(len(ordered) * 0.99) - 1],
                "max": ordered[-1],
            }
        )
    )


def _warm_rebuild(client: docker.DockerClient, base: str, workspace: Path) -> tuple[str, float, str, float]:
    """`image build` after one module of a copy of serving/ changed (the original is never touched)."""
    source = workspace / "serving"
    shutil.copytree(build.serving_dir(), source, ignore=shutil.ignore_patterns("__pycache__"))
    module = source / build.PACKAGE / "errors.py"
    module.write_text(module.read_text(encoding="utf-8") + f"# edited at {time.time()}\n", encoding="utf-8")
    build.serving_dir = lambda: source  # the build reads the copy, with the project's lock
    started = time.perf_counter()
    build.build(client, family="fraud-detector", base=base, log=lambda _: None)
    return "warm rebuild after a code change", time.perf_counter() - started, "s", BUDGETS["rebuild"]


def _status(port: int, method: str, path: str, body: bytes | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        connection.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    main()
