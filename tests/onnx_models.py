"""ONNX models built with onnx.helper for the tests (the onnx package is a test dependency)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FIXTURES = Path(__file__).parent.parent / "examples" / "onnx"


def weight(name: str, shape: tuple[int, ...], dtype: type = np.float32, values: list | None = None) -> onnx.TensorProto:
    """An initializer: ``values``, or distinct numbers (so no two initializers are alike)."""
    if values is not None:
        array = np.array(values, dtype=dtype).reshape(shape)
    else:
        start = sum(map(ord, name)) % 97
        array = (np.arange(int(np.prod(shape)), dtype=np.float64) * 0.01 + start).astype(dtype).reshape(shape)
    return numpy_helper.from_array(array, name)


def model(
    nodes: list,
    x_shape: list,
    *,
    initializers: list | None = None,
    outputs: list[str] | None = None,
    opset: int = 20,
    name: str = "m",
    input_name: str = "x",
    value_info: list | None = None,
    domains: list | None = None,
) -> onnx.ModelProto:
    inputs = [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, x_shape)]
    out = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs or [nodes[-1].output[0]]]
    graph = helper.make_graph(nodes, name, inputs, out, initializer=initializers or [], value_info=value_info or [])
    opsets = [helper.make_opsetid("", opset), *(helper.make_opsetid(d, 1) for d in domains or [])]
    built = helper.make_model(graph, opset_imports=opsets, producer_name="tests")
    built.ir_version = 10
    return built


def save(built: onnx.ModelProto, path: Path) -> Path:
    onnx.save(built, str(path))
    return path


def initializer_elements(path: Path) -> int:
    loaded = onnx.load(str(path), load_external_data=False)
    return sum(int(np.prod(t.dims)) for t in loaded.graph.initializer if t.data_type == TensorProto.FLOAT)
