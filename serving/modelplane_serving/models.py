"""Which model a directory holds, and how it answers a request.

In order: predict code named by `MODELPLANE_HANDLER` (a module baked into a derived image), predict
code shipped with the model as `code/inference.py` (as SageMaker's framework containers load it), or
an ONNX model (`model.onnx`, or the directory's only `.onnx` file).

Predict code defines, as SageMaker's inference toolkit names them:

- `model_fn(model_dir) -> model` (required): load once, at start-up;
- `predict_fn(data, model) -> predictions` (required): one list entry per row;
- `input_fn(body: bytes, content_type: str) -> data` (optional): by default the rows `modelplane drift`
  also reads, keyed by `FEATURE_NAMES` when the module defines it (else positional rows stay lists);
- `output_fn(predictions, accept: str) -> bytes | str | (body, content_type)` (optional): by default
  `{"predictions": [...]}` as JSON, or CSV.

Raise `modelplane_serving.ClientError` for input the model refuses (400); anything else is a 500.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from modelplane_serving import codec
from modelplane_serving.config import Settings
from modelplane_serving.errors import ModelLoadError

INFERENCE_SCRIPT = Path("code") / "inference.py"
ONNX_NAME = "model.onnx"


@dataclass(frozen=True)
class Answer:
    body: bytes
    content_type: str


class Model(Protocol):
    description: str

    def invoke(self, body: bytes, content_type: str, accept: str) -> Answer: ...


def load(settings: Settings) -> Model:
    """The model the settings and the model directory name; ModelLoadError says why there is none."""
    directory = settings.model_dir
    if settings.handler:
        return HookModel(_import_module(settings.handler), directory, f"predict code {settings.handler}")
    if not directory.is_dir():
        raise ModelLoadError(f"no model directory {directory} (SageMaker unpacks the model archive there)")
    script = directory / INFERENCE_SCRIPT
    if script.is_file():
        return HookModel(_import_script(script), directory, f"predict code {script}")
    onnx_files = sorted(directory.glob("*.onnx"))
    chosen = directory / ONNX_NAME if (directory / ONNX_NAME).is_file() else None
    if chosen is None and len(onnx_files) == 1:
        chosen = onnx_files[0]
    if chosen is None:
        found = ", ".join(path.name for path in sorted(directory.iterdir())[:10]) or "nothing"
        what = f"{len(onnx_files)} .onnx files and no {ONNX_NAME}" if onnx_files else f"found {found}"
        raise ModelLoadError(f"{directory}: expected {ONNX_NAME} or {INFERENCE_SCRIPT}; {what}")
    from modelplane_serving.onnx_model import OnnxModel

    return OnnxModel(chosen, threads=settings.onnx_threads)


class HookModel:
    """The user's predict code: SageMaker's `model_fn` / `input_fn` / `predict_fn` / `output_fn`."""

    def __init__(self, module: ModuleType, model_dir: Path, description: str) -> None:
        for required in ("model_fn", "predict_fn"):
            if not callable(getattr(module, required, None)):
                raise ModelLoadError(f"{description}: defines no {required}()")
        self.description = description
        self._module = module
        self._columns = getattr(module, "FEATURE_NAMES", None)
        try:
            self._model = module.model_fn(str(model_dir))
        except Exception as error:
            raise ModelLoadError(f"{description}: model_fn failed: {type(error).__name__}: {error}") from error

    def invoke(self, body: bytes, content_type: str, accept: str) -> Answer:
        module = self._module
        input_fn = getattr(module, "input_fn", None)
        data = input_fn(body, content_type) if input_fn else codec.decode_rows(body, content_type, self._columns)
        predictions = module.predict_fn(data, self._model)
        output_fn = getattr(module, "output_fn", None)
        if output_fn is None:
            return Answer(*codec.encode(predictions, accept))
        produced: Any = output_fn(predictions, accept)
        if isinstance(produced, tuple):
            body_out, kind = produced
        else:
            body_out, kind = produced, codec.response_type(accept)
        return Answer(body_out.encode() if isinstance(body_out, str) else bytes(body_out), str(kind))


def _import_module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except Exception as error:
        raise ModelLoadError(f"predict code {name}: cannot import: {type(error).__name__}: {error}") from error


def _import_script(script: Path) -> ModuleType:
    """`code/inference.py`, its folder first on sys.path so that modules beside it import."""
    sys.path.insert(0, str(script.parent))
    spec = importlib.util.spec_from_file_location("inference", script)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"{script}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise ModelLoadError(f"{script}: cannot import: {type(error).__name__}: {error}") from error
    return module
