"""Real servers on loopback for the tests: moto's AWS emulator, Prometheus and a Docker registry (Debian packages);
and `serving`, for the tests' own scripted HTTP servers.

Each runs as a subprocess on a free port, is awaited until it answers, and is stopped by its own pid
at the end. The Makefile installs Prometheus (`make tools`, part of `make unit`) where it is missing;
a test that needs it fails, never skips, when it is not there.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STARTUP_SECONDS = 30
# How often a scripted server's loop looks for `shutdown()`: socketserver's default of 0.5 s is what every
# test that stops one would wait, for nothing.
SHUTDOWN_POLL_SECONDS = 0.02


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[None]:
    """Serve `server` on a thread; at exit stop it, close its socket and join the thread."""
    thread = threading.Thread(target=server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _await(url: str, server: subprocess.Popen[bytes], what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback URL built here
                return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                detail = f"; its log:\n{log.read_text(errors='replace')}" if log and log.exists() else ""
                raise RuntimeError(f"{what} did not start on {url}{detail}") from None
            time.sleep(0.1)


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """`moto_server -H 127.0.0.1 -p <free port>`; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={key: value for key, value in os.environ.items() if not key.startswith("AWS_")},
    )
    try:
        _await(f"{url}/moto-api/", server, "moto_server")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def reset_moto(url: str) -> None:
    """Empty every service of a running moto server."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback URL built here
        pass


def prometheus_binaries() -> tuple[str, str]:
    """The `prometheus` and `promtool` executables; `make tools` installs them."""
    found = shutil.which("prometheus"), shutil.which("promtool")
    if found[0] is None or found[1] is None:
        raise RuntimeError("prometheus/promtool are not installed: run `make tools` (or `make unit`)")
    return found[0], found[1]


def load_openmetrics(text: str, data_dir: Path) -> None:
    """Write historical series into a TSDB directory: `promtool tsdb create-blocks-from openmetrics`."""
    _, promtool = prometheus_binaries()
    source = data_dir.parent / "series.om"
    source.write_text(text, encoding="utf-8")
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data_dir)],
        check=True,
        capture_output=True,
    )


@contextlib.contextmanager
def prometheus_server(data_dir: Path, scrape_configs: list[dict[str, Any]] | None = None) -> Iterator[str]:
    """A Prometheus serving `data_dir` on loopback, scraping `scrape_configs` (none by default); yields its URL."""
    prometheus, _ = prometheus_binaries()
    config = data_dir.parent / "prometheus.yml"
    # JSON is YAML: the configuration as Prometheus reads it.
    document = {"global": {"scrape_interval": "15s"}, "scrape_configs": scrape_configs or []}
    config.write_text(json.dumps(document), encoding="utf-8")
    log = data_dir.parent / "prometheus.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={data_dir}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=30d",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _await(f"{url}/-/ready", server, "prometheus", log)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextlib.contextmanager
def docker_registry(storage: Path) -> Iterator[str]:
    """Debian's `docker-registry` (distribution 2.8) on loopback, storing in `storage`; yields `127.0.0.1:<port>`.

    `make tools` installs it; a daemon pushes to a loopback registry over plain HTTP without configuration.
    """
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RuntimeError("docker-registry is not installed: run `make tools` (or `make unit`)")
    port = free_port()
    storage.mkdir(parents=True, exist_ok=True)
    config = storage.parent / "registry.yml"
    document = {
        "version": 0.1,
        "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}"},
    }
    config.write_text(json.dumps(document), encoding="utf-8")
    log = storage.parent / "registry.log"
    with log.open("wb") as output:
        server = subprocess.Popen([binary, "serve", str(config)], stdout=output, stderr=subprocess.STDOUT)
    try:
        _await(f"http://127.0.0.1:{port}/v2/", server, "docker-registry", log)
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)
