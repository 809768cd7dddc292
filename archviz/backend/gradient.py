"""A Keras model's training step as TensorFlow builds it, counted from the graph's own shapes: the
reference archviz's training rules are checked against (tests, ``benchmarks/bench_training.py``).

The step is ``tf.function`` tracing of a ``GradientTape`` over ``reduce_sum(model(x, training=True))``
with respect to the trainable variables, returning the loss and the gradients, at a fixed batch size.
Only the ops the returned tensors depend on are counted (what freezing the graph keeps: TensorFlow
prunes the rest, such as the input gradient of a layer with nothing trainable upstream). The graph is
not frozen by ``convert_variables_to_constants_v2``: a training batch norm's moving-statistics updates
cannot be frozen; pruning to the outputs is what freezing would do.

* MACs of ``Conv2D``, ``Conv2DBackpropInput``, ``Conv2DBackpropFilter``, the ``DepthwiseConv2dNative``
  ops and ``MatMul`` / ``BatchMatMulV2`` from their tensor shapes (not from ``tf.compat.v1.profiler``,
  which takes a backward conv's input to be exactly stride x its output and overcounts one that
  follows explicit zero padding);
* the backward's other FLOPs: each op the loss does not depend on (the tape's ``gradient_tape/`` ops,
  each ``AddN`` summing a tensor's gradients, and the ops of a custom gradient such as swish's), at
  :data:`GRADIENT_FLOPS` per element;
* the activations the backward keeps: the forward tensors of values (floating point, or a dropout's
  bool mask) its ops read (not their shapes only), each once, the step's input included, variables and
  constants not.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from archviz.backend import tensorflow as _tensorflow

#: FLOPs per element of a gradient graph's ops: ("out", n) per output element, ("in", n) per element of
#: the first input, ("addn", 1) n - 1 per output element of an n-way sum. Ops that only move values
#: (tiles, slices, reshapes, pads, casts, constants, selections) cost 0, and so do a sigmoid and an
#: exponential (as in the forward count: tf.profiler has no rule for them); ``AvgPoolGrad`` its window's
#: area per element of the gradient it spreads (the forward's rule); an op of another type is reported.
GRADIENT_FLOPS: dict[str, tuple[str, int]] = {
    **{op: ("out", 1) for op in ("Mul", "RealDiv", "Sub", "AddV2", "Add", "Neg", "ReluGrad", "Relu6Grad")},
    **{op: ("out", 1) for op in ("SquaredDifference", "Maximum", "Minimum", "Square", "Equal")},
    "RsqrtGrad": ("out", 4),  # -0.5 x dy x y x y x y
    "SigmoidGrad": ("out", 3),  # dy x y x (1 - y)
    "TanhGrad": ("out", 3),  # dy x (1 - y x y)
    "EluGrad": ("out", 3),  # y < 0 ? dy x (y + 1) : dy
    "SeluGrad": ("out", 4),  # y < 0 ? dy x (y + scale x alpha) : dy x scale
    "LeakyReluGrad": ("out", 2),  # x > 0 ? dy : dy x alpha
    "AvgPoolGrad": ("window", 1),
    **{op: ("in", 1) for op in ("Sum", "Mean", "BiasAddGrad")},
    "MaxPoolGrad": ("out", 1),  # 1 per element of the pool's input
    "AddN": ("addn", 1),
    **{
        op: ("out", 0)
        for op in (
            "Tile",
            "Slice",
            "Pad",
            "Reshape",
            "Identity",
            "Squeeze",
            "ExpandDims",
            "Const",
            "Pack",
            "Shape",
            "ShapeN",
            "Cast",
            "Fill",
            "ZerosLike",
            "OnesLike",
            "BroadcastTo",
            "Transpose",
            "ConcatV2",
            "StridedSlice",
            "FloorDiv",
            "Prod",
            "Range",
            "Size",
            "DynamicStitch",
            "GatherV2",
            "BroadcastGradientArgs",
            "Placeholder",
            "ReadVariableOp",
            "ConcatOffset",
            "StridedSliceGrad",
            "InvertPermutation",
            "FloorMod",
            "SelectV2",
            "Sigmoid",
            "Exp",
            "IdentityN",
        )
    },
}
#: Ops whose multiply-accumulates are counted from their shapes.
MAC_OPS = (
    "Conv2D",
    "Conv2DBackpropInput",
    "Conv2DBackpropFilter",
    "DepthwiseConv2dNative",
    "DepthwiseConv2dNativeBackpropInput",
    "DepthwiseConv2dNativeBackpropFilter",
    "MatMul",
    "BatchMatMulV2",
)


@dataclass
class GradientGraph:
    """What a training step's graph computes: MACs by op type, backward FLOPs (besides the MACs) by op
    type, the elements of each op type, and the backward op types with no entry in :data:`GRADIENT_FLOPS`."""

    macs: Counter[str] = field(default_factory=Counter)
    backward_flops: Counter[str] = field(default_factory=Counter)
    elements: Counter[str] = field(default_factory=Counter)
    unknown: set[str] = field(default_factory=set)
    kept: dict[str, int] = field(default_factory=dict)  # bytes of each forward tensor the backward reads

    @property
    def total_macs(self) -> int:
        return sum(self.macs.values())


def training_step(model: Any, batch_size: int = 2) -> Any:
    """The concrete function of one training step (loss and gradients) of ``model``."""
    tf = _tensorflow()
    spec = tf.TensorSpec((batch_size, *tuple(model.inputs[0].shape[1:])), tf.float32)

    @tf.function
    def step(x: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model(x, training=True))
        return loss, tape.gradient(loss, model.trainable_variables)

    return step.get_concrete_function(spec)


def gradient_graph(model: Any, batch_size: int = 2) -> GradientGraph:
    """Count the training step of ``model`` at ``batch_size`` (see the module docstring)."""
    from archviz.backend.profiler import plain_grouped_convolutions

    with plain_grouped_convolutions():  # a grouped conv as TensorFlow's own op, whose shapes the graph shows
        function = training_step(model, batch_size)
    live: dict[str, Any] = {}
    stack = [tensor.op for tensor in function.outputs]
    while stack:
        op = stack.pop()
        if op.name not in live:
            live[op.name] = op
            stack.extend(tensor.op for tensor in op.inputs)
    forward: set[str] = set()  # the ops the loss depends on
    stack = [function.outputs[0].op]
    while stack:
        op = stack.pop()
        if op.name not in forward:
            forward.add(op.name)
            stack.extend(tensor.op for tensor in op.inputs)
    result = GradientGraph()
    for op in live.values():
        if op.type in MAC_OPS:
            result.macs[op.type] += _macs(op)
        elif op.name not in forward:
            flops = _flops(op)
            if flops is None:
                result.unknown.add(op.type)
            else:
                result.backward_flops[op.type] += flops
        if op.outputs and op.outputs[0].shape.rank is not None:
            result.elements[op.type] += math.prod(_shape(op.outputs[0]))
        if op.name not in forward and op.type not in _SHAPE_READERS:
            for tensor in op.inputs:
                data = tensor.dtype.is_floating or tensor.dtype.is_bool  # not shapes and indices
                if tensor.op.name in forward and tensor.op.type not in _NOT_KEPT and tensor.shape.rank and data:
                    result.kept[tensor.name] = math.prod(_shape(tensor)) * tensor.dtype.size
    return result


#: Backward ops that read only a tensor's shape, and forward ops whose tensors are not activations (the
#: step's input is: ``x``).
_SHAPE_READERS = ("Shape", "ShapeN", "BroadcastGradientArgs")
_NOT_KEPT = ("Const", "ReadVariableOp", "Shape", "ShapeN")


def _shape(tensor: Any) -> list[int]:
    return [int(d) for d in tensor.shape]


def _macs(op: Any) -> int:
    """Multiply-accumulates of one op: output elements x the reduced length (a conv's window x input
    channels per group; a matmul's inner dimension)."""
    if op.type.startswith("Conv2D"):
        kernel = _shape(op.outputs[0] if op.type == "Conv2DBackpropFilter" else op.inputs[1])
        grad = op.outputs[0] if op.type == "Conv2D" else op.inputs[2]
        return math.prod(_shape(grad)) * kernel[0] * kernel[1] * kernel[2]
    if op.type.startswith("DepthwiseConv2dNative"):
        kernel = _shape(op.outputs[0] if op.type.endswith("Filter") else op.inputs[1])
        grad = op.outputs[0] if op.type == "DepthwiseConv2dNative" else op.inputs[2]
        return math.prod(_shape(grad)) * kernel[0] * kernel[1]
    first = _shape(op.inputs[0])
    transposed = op.get_attr("transpose_a") if op.type == "MatMul" else op.get_attr("adj_x")
    inner = first[-2] if transposed else first[-1]
    return math.prod(_shape(op.outputs[0])) * inner


def _flops(op: Any) -> int | None:
    if op.type not in GRADIENT_FLOPS:
        return None
    where, per = GRADIENT_FLOPS[op.type]
    if per == 0 or not op.outputs:
        return 0
    if where == "in":
        return per * math.prod(_shape(op.inputs[0]))
    if where == "window":  # AvgPoolGrad(input shape, gradient): each gradient element over its window
        ksize = op.get_attr("ksize")
        return math.prod(ksize) * math.prod(_shape(op.inputs[1]))
    elements = math.prod(_shape(op.outputs[0]))
    return (len(op.inputs) - 1) * elements if where == "addn" else per * elements
