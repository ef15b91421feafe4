"""The model server as the image runs it: `python -m modelplane_serving serve` in its own process, on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers import free_port

STARTUP_SECONDS = 20


def environment(**variables: str) -> dict[str, str]:
    """This process's environment without the server's own settings, plus `variables`, on loopback."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("MODELPLANE_", "SAGEMAKER_"))}
    return {**inherited, "MODELPLANE_HOST": "127.0.0.1", **variables}


@contextmanager
def server(model_dir: Path, log: Path, **variables: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The server on a free port given as SAGEMAKER_BIND_TO_PORT, with `variables` set; yields its URL once
    /ping answers 200."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = environment(SAGEMAKER_BIND_TO_PORT=str(port), MODELPLANE_MODEL_DIR=str(model_dir), **variables)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "modelplane_serving", "serve"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=settings,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while get(f"{url}/ping")[0] != 200:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.05)
        yield url, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback URL built here
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def invoke(url: str, body: str, content_type: str = "text/csv") -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback URL built here
        f"{url}/invocations", data=body.encode(), headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
