"""A stand-in for the Kubernetes API server, for `modelplane verify` on loopback.

No kube-apiserver can be had here (Debian ships etcd and kubectl, not the API server; no PyPI package
carries it), so this is an honest fake of the part verify reads: `GET
/apis/apps/v1/namespaces/{namespace}/deployments/{name}` with a bearer token. It keeps Deployments as
`kubectl apply` and the Deployment controller would leave them: the manifest given (what the component
renders), the fields the API server sets (`uid`, `generation`, `resourceVersion`, `creationTimestamp`) and a
`status` the test decides (a finished rollout, or one in progress). Every object it serves is first
validated against the strict schema of the Kubernetes OpenAPI document of the client's version
(`tests/manifests.py`); a missing one is answered with the API's `Status` (404 NotFound), a wrong token
with 401, as the real server does.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.manifests import integral, schema_problem
from tests.servers import serving

TOKEN = "verify-token"
DEPLOYMENT_PATH = re.compile(r"/apis/apps/v1/namespaces/(?P<namespace>[^/]+)/deployments/(?P<name>[^/?]+)")


class Cluster:
    """The Deployments the stand-in serves, by (namespace, name)."""

    def __init__(self) -> None:
        self.deployments: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()

    def apply(self, manifest: dict[str, Any], *, replicas: int | None = None, rolled_out: bool = True) -> None:
        """Create or update a Deployment from its manifest, at `replicas` (what its autoscaler holds, when the
        manifest leaves the count to one); its rollout finished, or not with `rolled_out=False`."""
        document = integral(copy.deepcopy(manifest))
        metadata = document.setdefault("metadata", {})
        key = (metadata["namespace"], metadata["name"])
        with self._lock:
            previous = self.deployments.get(key)
            generation = 1 if previous is None else previous["metadata"]["generation"] + 1
            metadata.update(
                uid=previous["metadata"]["uid"] if previous else str(uuid.uuid4()),
                generation=generation,
                resourceVersion=str(1000 + generation),
                creationTimestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
            count: int = replicas or document["spec"].get("replicas") or 1
            document["spec"]["replicas"] = count
            status = {
                "observedGeneration": generation,
                "replicas": count,
                "updatedReplicas": count if rolled_out else 0,
                "readyReplicas": count,
                "availableReplicas": count,
                "conditions": [
                    {
                        "type": "Progressing",
                        "status": "True",
                        "reason": "NewReplicaSetAvailable" if rolled_out else "ReplicaSetUpdated",
                        "message": f'ReplicaSet "{metadata["name"]}-5d4f8b7c9" has successfully progressed.',
                    }
                ],
            }
            if not rolled_out:
                status["replicas"] = count + 1  # the surge pod of the new ReplicaSet, maxSurge 1
            document["status"] = status
            problem = schema_problem(document)
            assert problem is None, f"the stand-in would serve what the API server never does: {problem}"
            self.deployments[key] = document

    def serve(self, path: str, authorization: str | None) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(path)
            if authorization != f"Bearer {TOKEN}":
                return 401, _status(401, "Unauthorized", "Unauthorized")
            match = DEPLOYMENT_PATH.fullmatch(path.split("?", 1)[0])
            if match is None:
                return 404, _status(404, "NotFound", "the server could not find the requested resource")
            found = self.deployments.get((match["namespace"], match["name"]))
            if found is None:
                message = f'deployments.apps "{match["name"]}" not found'
                return 404, _status(
                    404, "NotFound", message, {"name": match["name"], "group": "apps", "kind": "deployments"}
                )
            return 200, copy.deepcopy(found)


def _status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The API's `Status` object (meta/v1), as the API server answers a failed request."""
    status: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        status["details"] = details
    return status


@contextlib.contextmanager
def kubernetes_api(directory: Path, context: str = "stand-in") -> Iterator[tuple[Cluster, Path]]:
    """The stand-in on a free loopback port; yields the cluster and a kubeconfig whose `context` reaches it (its
    current context, `elsewhere`, names a port nothing listens on)."""
    cluster = Cluster()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code, body = cluster.serve(self.path, self.headers.get("Authorization"))
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    kubeconfig = directory / f"kubeconfig-{context}"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "elsewhere",
                "clusters": [
                    {"name": context, "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"}},
                    {"name": "elsewhere", "cluster": {"server": "http://127.0.0.1:9"}},
                ],
                "users": [{"name": "verifier", "user": {"token": TOKEN}}],
                "contexts": [
                    {"name": context, "context": {"cluster": context, "user": "verifier"}},
                    {"name": "elsewhere", "context": {"cluster": "elsewhere", "user": "verifier"}},
                ],
            }
        ),
        encoding="utf-8",
    )
    with serving(server):
        yield cluster, kubeconfig
