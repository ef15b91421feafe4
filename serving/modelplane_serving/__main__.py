"""`python -m modelplane_serving serve`: the image's entry point.

SageMaker starts the container as `<image> serve`; Kubernetes runs the image's default command,
which is the same. SIGTERM (both platforms send it, then SIGKILL 30 s later) stops accepting
connections, lets in-flight requests finish within 20 s, and exits 0.

`fetch-model` is the init container of a Kubernetes variant pinned to a registered model version: it puts
the version's archive, verified, into the model directory (`modelplane_serving.fetch_model`).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from modelplane_serving.config import GRACEFUL_SHUTDOWN_SECONDS, ConfigError, Settings

EXIT_USAGE = 2
KEEP_ALIVE_SECONDS = 75


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="modelplane-serving", description="Serve the model in $MODELPLANE_MODEL_DIR (default /opt/ml/model)."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("serve", help="answer /ping and /invocations (SageMaker starts the image with `serve`)")
    commands.add_parser(
        "fetch-model",
        help="download a registered model archive ($MODELPLANE_MODEL_DATA_URL), check its sha256 "
        "($MODELPLANE_MODEL_SHA256) and unpack it into the model directory",
    )
    if parser.parse_args(argv).command == "fetch-model":
        from modelplane_serving.fetch_model import run

        return run(os.environ)
    try:
        settings = Settings.from_environ(os.environ)
    except ConfigError as error:
        print(f"modelplane-serving: {error}", file=sys.stderr)
        return EXIT_USAGE
    serve(settings)
    return 0


def serve(settings: Settings) -> None:
    import uvicorn

    from modelplane_serving.app import create_app

    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stdout
    )
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="asyncio",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        # Longer than the idle timeout of the proxies in front (60 s for SageMaker's and most load
        # balancers): the server must not close a connection the proxy is about to reuse.
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        server_header=False,
    )
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again so that the default
    # action ends the process; a shutdown the platform asked for is a clean exit (0), as PID 1 or not.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, _exit_cleanly)
    uvicorn.Server(config).run()


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
