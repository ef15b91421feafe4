"""A model server with one deliberate fault, chosen by $FAULT, for the contract test to catch.

Without a fault it keeps the contract: SageMaker's port (or $SAGEMAKER_BIND_TO_PORT), /ping, /invocations,
a 400 for a body that is not JSON, and the metrics contract. The faults:
- `port`: listens on 5000, whatever it is told;
- `sigterm`: no SIGTERM handler, so as PID 1 it never stops on SIGTERM;
- `root`: writes its pid file to /var/run, which only root can, on a writable root file system;
- `bind-to-port`: ignores $SAGEMAKER_BIND_TO_PORT and listens on 8080;
- `exit`: exits at once with code 3.
"""

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FAULT = os.environ.get("FAULT", "")
COUNTS: dict[str, int] = {}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path in {"/ping", os.environ.get("MODELPLANE_HEALTH_PATH", "/ping")}:
            self._answer(200, b"")
        elif self.path == "/metrics":
            lines = ["# TYPE http_requests_total counter"]
            lines += [f'http_requests_total{{code="{code}"}} {count}' for code, count in COUNTS.items()]
            total = sum(COUNTS.values())
            lines += ["# TYPE http_request_duration_seconds histogram"]
            lines += [f'http_request_duration_seconds_bucket{{le="+Inf"}} {total}']
            lines += [
                f"http_request_duration_seconds_sum {total * 0.001}",
                f"http_request_duration_seconds_count {total}",
            ]
            self._answer(200, ("\n".join(lines) + "\n").encode())
        else:
            self._answer(404, b"")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            json.loads(body)
            code, answer = 200, b'{"predictions": [1]}'
        except ValueError:
            code, answer = 400, b'{"error": "not JSON"}'
        COUNTS[str(code)] = COUNTS.get(str(code), 0) + 1
        self._answer(code, answer)

    def _answer(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


if FAULT == "exit":
    sys.exit(3)
if FAULT == "root":
    Path("/var/run/model-server.pid").write_text(str(os.getpid()), encoding="utf-8")
if FAULT != "sigterm":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
WRONG_PORT = 5000
port = int(os.environ.get("SAGEMAKER_BIND_TO_PORT") or os.environ.get("MODELPLANE_PORT") or 8080)
if FAULT == "bind-to-port":
    port = int(os.environ.get("MODELPLANE_PORT") or 8080)
host = os.environ.get("MODELPLANE_HOST", "0.0.0.0")  # noqa: S104 - a container's server
ThreadingHTTPServer((host, WRONG_PORT if FAULT == "port" else port), Handler).serve_forever()
