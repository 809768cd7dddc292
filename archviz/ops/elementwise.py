"""Element-wise ``keras.ops`` functions of one tensor (``ops.exp``, ``ops.square``, ``-x``), a raised
power (``x ** 2``) and the reductions the profiler costs at 0 (``ops.min``, ``ops.prod``).

FLOPs per element are the profiler's for the TensorFlow op each one runs: a square, a log, a
reciprocal or a negation 1; a reciprocal square root 2; a clip 2 (a maximum and a minimum); a power 1
per output element; an exponential, a square root, an absolute value, erf, sine and cosine nothing
(the profiler has no rule for them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from archviz.ops.base import Attrs, Cost, Family, OnnxNode, Op, Shape, numel, same_shape
from archviz.ops.merging import _elementwise_op
from archviz.ops.tensor import _reduction_op, _write


def _unary_op(
    name: str,
    keys: tuple[str, ...],
    flops_per_element: int,
    read: Any = lambda config: {},
    onnx: Mapping[str, Any] | None = None,
) -> Op:
    def cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
        return Cost(flops=flops_per_element * numel(out))

    module, keras_class = keys[0].split(".")
    return Op(
        name,
        Family.ACTIVATION,
        same_shape,
        cost,
        label=lambda attrs: name,
        keras=dict.fromkeys(keys, read),
        write=_write(module, keras_class, lambda attrs: dict(attrs)),
        onnx=onnx or {},
    )


def _clip_read(config: Mapping[str, Any]) -> dict:
    return {"x_min": float(config["x_min"]), "x_max": float(config["x_max"])}


def _clip_from_onnx(node: OnnxNode) -> dict:
    """ONNX's Clip: its bounds inputs (attributes before opset 11); a missing bound is no bound."""
    attrs = {}
    for index, (key, old) in enumerate((("x_min", "min"), ("x_max", "max")), 1):
        bound = node.values[index] if index < len(node.values) else node.attrs.get(old)
        if isinstance(bound, list) and len(bound) == 1:
            bound = bound[0]
        if isinstance(bound, (int, float)) and math.isfinite(bound):  # JSON has no infinity
            attrs[key] = float(bound)
    return attrs


OPS = (
    _unary_op("exp", ("numpy.Exp",), 0, onnx={"Exp": lambda node: {}}),
    _unary_op("sqrt", ("numpy.Sqrt",), 0, onnx={"Sqrt": lambda node: {}}),
    _unary_op("rsqrt", ("math.Rsqrt",), 2),
    _unary_op("log", ("numpy.Log",), 1),
    _unary_op("square", ("numpy.Square",), 1),
    _unary_op("reciprocal", ("numpy.Reciprocal",), 1),
    _unary_op("negative", ("numpy.Negative",), 1),
    _unary_op("abs", ("numpy.Absolute", "numpy.Abs"), 0),
    _unary_op("erf", ("math.Erf",), 0),
    _unary_op("sin", ("numpy.Sin",), 0),
    _unary_op("cos", ("numpy.Cos",), 0),
    _unary_op("clip", ("numpy.Clip",), 2, _clip_read, {"Clip": _clip_from_onnx}),
    _elementwise_op("power", None, "numpy.Power"),
    _reduction_op("min", "Min", lambda inputs, outputs: 0),
    _reduction_op("prod", "Prod", lambda inputs, outputs: 0),
)
