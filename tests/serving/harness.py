"""Small ONNX models built here with onnx's helper API (nothing is downloaded), model archives of them, and
the model server in-process over a model directory (`serving`).

`fraud_model`: one input per feature (`amount` float, `merchant` and `country` strings), the layout
skl2onnx gives mixed-type tables; outputs `label` (int64) and `score` (float), like a classifier.
`linear_model`: one `[N, 3]` float input, features by position (named through metadata or not).

onnx and Starlette's TestClient are imported where they are used: every pytest worker imports this module when
it collects the tests, and onnx alone (its ml_dtypes) costs 0.6 s, wasted in a worker that runs no test of it.
"""

from __future__ import annotations

import math
import tarfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from prometheus_client import CollectorRegistry

from modelplane_serving.app import create_app
from modelplane_serving.config import Settings

if TYPE_CHECKING:
    import onnx
    from starlette.testclient import TestClient

OPSET_VERSIONS = {"": 17, "ai.onnx.ml": 3}
"""The opsets the models import: ONNX's own (every model) and ONNX-ML's (the fraud model's LabelEncoder)."""
IR_VERSION = 9
MERCHANTS = {"m-204": 0, "m-310": 1, "m-999": 2}
COUNTRIES = {"IE": 0, "FR": 1, "BR": 2}
FRAUD_WEIGHTS = (0.004, 0.5, 0.8)
FRAUD_BIAS = -1.5
LINEAR_WEIGHTS = (1.0, 2.0, 3.0)
LINEAR_BIAS = 0.5
SMOKE_BODY = '{"amount": 120.5, "merchant": "m-204", "country": "IE"}'
LOAD_SECONDS = 10

Serve = Callable[..., AbstractContextManager["TestClient"]]
"""`with serve(model_dir, **settings) as client:` (the `serve` fixture is `serving`)."""


@contextmanager
def serving(model_dir: Path, **settings: Any) -> Iterator[TestClient]:
    """The server in-process (Starlette's TestClient, lifespan included), once the model has loaded or failed to."""
    from starlette.testclient import TestClient

    app = create_app(Settings(model_dir=model_dir, **settings), registry=CollectorRegistry())
    with TestClient(app) as client:
        deadline = time.monotonic() + LOAD_SECONDS
        while "still loading" in client.get("/ping").text and time.monotonic() < deadline:
            time.sleep(0.02)
        yield client


def fraud_model() -> onnx.ModelProto:
    """score = sigmoid(w . [amount, merchant code, country code] + b); label = score > 0.5."""
    from onnx import TensorProto, helper, numpy_helper

    def encoder(feature: str, codes: Mapping[str, int]) -> list[onnx.NodeProto]:
        return [
            helper.make_node(
                "LabelEncoder",
                [feature],
                [f"{feature}_code"],
                domain="ai.onnx.ml",
                keys_strings=list(codes),
                values_int64s=list(codes.values()),
                default_int64=-1,
            ),
            helper.make_node("Cast", [f"{feature}_code"], [f"{feature}_value"], to=TensorProto.FLOAT),
        ]

    nodes = [
        *encoder("merchant", MERCHANTS),
        *encoder("country", COUNTRIES),
        helper.make_node("Concat", ["amount", "merchant_value", "country_value"], ["features"], axis=1),
        helper.make_node("MatMul", ["features", "weights"], ["weighted"]),
        helper.make_node("Add", ["weighted", "bias"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["score_column"]),
        helper.make_node("Squeeze", ["score_column", "squeeze_axes"], ["score"]),
        helper.make_node("Greater", ["score", "half"], ["positive"]),
        helper.make_node("Cast", ["positive"], ["label"], to=TensorProto.INT64),
    ]
    initializers = [
        numpy_helper.from_array(np.array(FRAUD_WEIGHTS, dtype=np.float32).reshape(3, 1), "weights"),
        numpy_helper.from_array(np.array([FRAUD_BIAS], dtype=np.float32), "bias"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "squeeze_axes"),
        numpy_helper.from_array(np.array(0.5, dtype=np.float32), "half"),
    ]
    graph = helper.make_graph(
        nodes,
        "fraud",
        [
            helper.make_tensor_value_info("amount", TensorProto.FLOAT, ["N", 1]),
            helper.make_tensor_value_info("merchant", TensorProto.STRING, ["N", 1]),
            helper.make_tensor_value_info("country", TensorProto.STRING, ["N", 1]),
        ],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
            helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N"]),
        ],
        initializers,
    )
    return _checked(helper.make_model(graph, opset_imports=_opsets("", "ai.onnx.ml"), ir_version=IR_VERSION))


def fraud_score(amount: float, merchant: str, country: str) -> float:
    """What `fraud_model` answers, computed here independently."""
    logit = (
        FRAUD_WEIGHTS[0] * amount
        + FRAUD_WEIGHTS[1] * MERCHANTS.get(merchant, -1)
        + FRAUD_WEIGHTS[2] * COUNTRIES.get(country, -1)
        + FRAUD_BIAS
    )
    return 1 / (1 + math.exp(-logit))


def linear_model(feature_names: Sequence[str] | None = ("a", "b", "c"), batch: str | int = "N") -> onnx.ModelProto:
    """y = [a, b, c] . (1, 2, 3) + 0.5, one `[batch, 3]` input; `feature_names` as metadata when given."""
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["features", "weights"], ["weighted"]),
            helper.make_node("Add", ["weighted", "bias"], ["y"]),
        ],
        "linear",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [batch, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 1])],
        [
            numpy_helper.from_array(np.array(LINEAR_WEIGHTS, dtype=np.float32).reshape(3, 1), "weights"),
            numpy_helper.from_array(np.array([LINEAR_BIAS], dtype=np.float32), "bias"),
        ],
    )
    model = helper.make_model(graph, opset_imports=_opsets(""), ir_version=IR_VERSION)
    if feature_names is not None:
        helper.set_model_props(model, {"feature_names": ",".join(feature_names)})
    return _checked(model)


def linear_value(values: Sequence[float]) -> float:
    return sum(weight * value for weight, value in zip(LINEAR_WEIGHTS, values, strict=True)) + LINEAR_BIAS


def typed_model() -> onnx.ModelProto:
    """One `[N, 1]` input of each element type (`numeric`, and `name`, a string): outputs `values`, the
    numbers as doubles side by side, and `name` as given, so a test reads back what the server fed."""
    from onnx import TensorProto, helper

    numeric = {
        "flag": TensorProto.BOOL,
        "count": TensorProto.INT64,
        "small": TensorProto.UINT8,
        "ratio": TensorProto.FLOAT,
        "half": TensorProto.FLOAT16,
    }
    casts = [helper.make_node("Cast", [name], [f"{name}_double"], to=TensorProto.DOUBLE) for name in numeric]
    graph = helper.make_graph(
        [
            *casts,
            helper.make_node("Concat", [f"{name}_double" for name in numeric], ["values"], axis=1),
            helper.make_node("Identity", ["name"], ["name_out"]),
        ],
        "typed",
        [
            *(helper.make_tensor_value_info(name, kind, ["N", 1]) for name, kind in numeric.items()),
            helper.make_tensor_value_info("name", TensorProto.STRING, ["N", 1]),
        ],
        [
            helper.make_tensor_value_info("values", TensorProto.DOUBLE, ["N", len(numeric)]),
            helper.make_tensor_value_info("name_out", TensorProto.STRING, ["N", 1]),
        ],
    )
    return _checked(helper.make_model(graph, opset_imports=_opsets(""), ir_version=IR_VERSION))


def write_model(directory: Path, model: onnx.ModelProto, name: str = "model.onnx") -> Path:
    """The model in a model directory (as SageMaker unpacks the archive), readable by any user."""
    import onnx

    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    path = directory / name
    onnx.save_model(model, path)
    path.chmod(0o644)
    return path


def model_archive(path: Path, model: onnx.ModelProto) -> Path:
    """`model.tar.gz` holding `model.onnx` at its root, the layout `modelplane register` uploads."""
    source = write_model(path.parent / f"{path.name}.contents", model)
    with tarfile.open(path, "w:gz") as archive:
        archive.add(source, arcname="model.onnx")
    return path


def _opsets(*domains: str) -> list[onnx.OperatorSetIdProto]:
    from onnx import helper

    return [helper.make_opsetid(domain, OPSET_VERSIONS[domain]) for domain in domains]


def _checked(model: onnx.ModelProto) -> onnx.ModelProto:
    import onnx

    onnx.checker.check_model(model, full_check=True)
    return model
