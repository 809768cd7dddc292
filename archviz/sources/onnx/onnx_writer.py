"""A layer graph written as an ONNX model, with the ``onnx`` package alone (no torch, no TensorFlow).

Each layer's nodes come from its op's ONNX writer (:attr:`archviz.ops.Op.onnx_write`), named as torch
names them, after the layer's path (``/layer1/block1/conv1/Conv``), so that reading the file back gives
the same stages and blocks. Weights are untrained: zeros, a batch norm's scale and variance ones. Batch
norm is kept as ``BatchNormalization`` nodes (nothing is folded), so the file's params are the model's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archviz.core.analysis import analyze_graph
from archviz.core.graph import Graph
from archviz.errors import UnsupportedOpError
from archviz.ops import OPS
from archviz.sources.onnx.onnx_files import require_onnx

#: The opset archviz writes: torch's default for ``dynamo=False`` exports, read by every current runtime.
OPSET = 17
IR_VERSION = 8


def to_onnx(graph: Graph) -> Any:
    """The ``onnx.ModelProto`` of ``graph`` (one input, channels first)."""
    onnx = require_onnx("exporting to ONNX")
    from onnx import TensorProto, helper

    summary = analyze_graph(graph)
    shapes = {record.name: record.output_shape for record in summary.records}
    writer = _Writer(onnx)
    inputs, tensors = [], {}
    for node in graph:
        if node.op == "input":
            inputs.append(helper.make_tensor_value_info(node.name, TensorProto.FLOAT, _onnx_dims(shapes[node.name])))
            tensors[node.name] = node.name
            continue
        op = OPS.get(node.op)
        if op is None or op.onnx_write is None:
            raise UnsupportedOpError(f"layer {node.name!r}: op {node.op} has no ONNX form archviz writes")
        writer.prefix = "/" + "/".join(node.path)
        try:
            sources, sizes = [tensors[s] for s in node.inputs], [shapes[s] for s in node.inputs]
            tensors[node.name] = op.onnx_write(writer, node.attrs, sources, sizes, shapes[node.name])
        except UnsupportedOpError as error:
            raise UnsupportedOpError(f"layer {node.name!r}: {error}") from None
    outputs = [
        helper.make_tensor_value_info(tensors[name], TensorProto.FLOAT, _onnx_dims(shapes[name]))
        for name in graph.outputs
    ]
    body = helper.make_graph(writer.nodes, graph.name, inputs, outputs, initializer=writer.initializers)
    model = helper.make_model(
        body,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="archviz",
    )
    model.ir_version = IR_VERSION
    return model


def _onnx_dims(shape: Sequence[int]) -> list[int]:
    """A sample shape, channels last, as an ONNX tensor of a batch of 1, channels first."""
    return [1, shape[-1], *shape[:-1]]


class _Writer:
    """Collects the nodes and initializers of the layers (:class:`archviz.ops.base.OnnxOut`)."""

    def __init__(self, onnx: Any) -> None:
        self.onnx = onnx
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.prefix = ""
        self.used: set[str] = set()

    def _unique(self, name: str) -> str:
        found, index = name, 0
        while found in self.used:
            index += 1
            found = f"{name}_{index}"
        self.used.add(found)
        return found

    def node(self, op_type: str, inputs: list[str], **attrs: Any) -> str:
        name = self._unique(f"{self.prefix}/{op_type}")
        output = f"{name}_output_0"
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [output], name=name, **attrs))
        return output

    def weight(self, suffix: str, dims: Sequence[int], fill: float = 0.0) -> str:
        import numpy

        name = self._unique(f"{self.prefix[1:].replace('/', '.')}.{suffix}")
        values = numpy.full(tuple(dims), fill, dtype=numpy.float32)
        self.initializers.append(self.onnx.numpy_helper.from_array(values, name))
        return name

    def ints(self, suffix: str, values: Sequence[int]) -> str:
        import numpy

        name = self._unique(f"{self.prefix[1:].replace('/', '.')}.{suffix}")
        self.initializers.append(self.onnx.numpy_helper.from_array(numpy.array(values, dtype=numpy.int64), name))
        return name
