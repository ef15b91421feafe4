"""modelplane's model server: one container image that serves a model on SageMaker and on Kubernetes.

`payloads` (the request parser `modelplane drift` shares) needs only the standard library; the server
(`app`, `__main__`) needs the `server` extra, ONNX models the `onnx` extra. See docs/containers.md.
"""

from modelplane_serving.errors import ClientError

__all__ = ["ClientError"]
