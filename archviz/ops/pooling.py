"""More ops that pick or merge values: pooling in 1, 2 and 3 dimensions and more merges (Inception-ResNet's
scaled add from keras.applications); the padding pairs :mod:`~archviz.ops.moves` reads too.

FLOPs follow ``tf.compat.v1.profiler``: prod(window) per output of a pooling window, 1 per input
element of a global average pool (a global max pool is free); n - 1 per output element of an
n-way subtract, maximum or minimum (layers and raw ``keras.ops`` calls, by the rule of
:mod:`~archviz.ops.merging`'s add and multiply), n of an n-way average (n - 1 adds and a
divide), 2 of Inception-ResNet's scaled add (a multiply and an add), broadcast inputs costing the
output's elements.

One deliberate difference: the profiler has no statistic for ``MaxPool3D`` and ``AvgPool3D`` and
counts them as 0; archviz counts them as the 1-D and 2-D pools are counted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import archviz.ops.onnx_attrs as onnx_attrs
from archviz.errors import UnsupportedOpError
from archviz.ops.backward import INPUT, NO_BACKWARD, OUTPUT, Backward
from archviz.ops.base import (
    Attrs,
    Cost,
    Family,
    OnnxOut,
    Op,
    Shape,
    ShapeError,
    nested_ints,
    ntuple,
    numel,
    spatial_map,
    window_shape,
)
from archviz.ops.convolution import RANK_SUFFIX, channels_last, padded, window_label
from archviz.ops.field import whole, window
from archviz.ops.merging import _elementwise_op, _simple, broadcast

# ---- pooling -----------------------------------------------------------------------------------


def _pool_op(name: str, kind: str, rank: int) -> Op:
    keras_class = f"{kind}Pooling{RANK_SUFFIX[rank]}"

    def shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
        fmap = spatial_map(shapes, rank, name)
        return window_shape(
            {**attrs, "kernel": attrs["pool"], "strides": attrs.get("strides", attrs["pool"])}, fmap, fmap[-1], name
        )

    def cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
        return Cost(flops=math.prod(ntuple(attrs["pool"], rank)) * numel(out))

    def read(config: Mapping[str, Any]) -> dict:
        channels_last(config)
        pool = ntuple(nested_ints(config["pool_size"]), rank)
        strides = config.get("strides")
        return {
            "pool": pool,
            "strides": ntuple(nested_ints(strides), rank) if strides is not None else pool,
            "padding": config.get("padding", "valid"),
        }

    def backward(attrs: Attrs, shapes: Sequence[Shape], out: Shape, input_grad: bool, weights_grad: bool) -> Backward:
        """A max pool's gradient (``MaxPoolGrad``) routes each output's gradient to its window's maximum:
        1 per element of the (padded) input, reading the input and the output. Explicit padding pools a
        padded copy of the input, which it keeps instead. An average pool's (``AvgPoolGrad``) spreads each
        output's gradient over its window: the window's area per output element (the forward's rule),
        keeping nothing; 3D average pools have no training rule yet."""
        if not input_grad:
            return NO_BACKWARD
        if kind != "Max":
            if rank == 3:
                raise UnsupportedOpError(f"{name} has no training rule")
            return Backward(flops=math.prod(ntuple(attrs["pool"], rank)) * numel(out))
        padding = attrs.get("padding", "valid")
        if padding in ("same", "valid"):
            return Backward(flops=numel(shapes[0]), keeps=INPUT | OUTPUT)
        pads = ntuple_pairs(padding, rank)
        size = math.prod(shapes[0][i] + sum(pads[i]) for i in range(rank)) * shapes[0][-1]
        return Backward(flops=size, keeps=OUTPUT, kept=size)

    def write(keras: Any, layer: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
        x, mode = padded(keras, layer, inputs[0], attrs.get("padding", "valid"), rank)
        pool = ntuple(attrs["pool"], rank)
        return getattr(keras.layers, keras_class)(
            pool_size=pool, strides=ntuple(attrs.get("strides", pool), rank), padding=mode, name=layer
        )(x)

    def write_onnx(out: OnnxOut, attrs: Attrs, inputs: list[str], shapes: list[Shape], shape: Shape) -> str:
        pool = ntuple(attrs["pool"], rank)
        return out.node(
            f"{'Max' if kind == 'Max' else 'Average'}Pool",
            inputs[:1],
            kernel_shape=list(pool),
            strides=list(ntuple(attrs.get("strides", pool), rank)),
            **onnx_attrs.onnx_padding(attrs.get("padding", "valid"), rank),
        )

    return Op(
        name,
        Family.POOL,
        shape,
        cost,
        field=window("pool"),
        label=lambda attrs: window_label(attrs, "pool"),
        keras={keras_class: read},
        write=write,
        backward=backward,
        onnx_write=write_onnx,
        onnx={f"{'Max' if kind == 'Max' else 'Average'}Pool/{rank}d": onnx_attrs.read_pool},
    )


def _global_pool_op(name: str, kind: str, rank: int, flops_per_input_element: int) -> Op:
    keras_class = f"Global{kind}Pooling{RANK_SUFFIX[rank]}"

    def shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
        fmap = spatial_map(shapes, rank, name)
        return (*(1,) * rank, fmap[-1]) if attrs.get("keepdims", False) else (fmap[-1],)

    def cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
        return Cost(flops=flops_per_input_element * numel(shapes[0]))

    def read(config: Mapping[str, Any]) -> dict:
        channels_last(config)
        return {"keepdims": bool(config.get("keepdims"))}

    def backward(attrs: Attrs, shapes: Sequence[Shape], out: Shape, input_grad: bool, weights_grad: bool) -> Backward:
        """A global average pool's gradient broadcasts each channel's gradient and divides it by the count:
        1 per input element, keeping nothing. A global max pool's (the gradient of a maximum) compares each
        input element with its channel's maximum, counts the ties, divides the gradient among them and
        multiplies by the comparison: 4 per input element, reading the input and the output."""
        if not input_grad:
            return NO_BACKWARD
        if kind != "Average":
            return Backward(flops=4 * numel(shapes[0]), keeps=INPUT | OUTPUT)
        return Backward(flops=numel(shapes[0]))

    return Op(
        name,
        Family.POOL,
        shape,
        cost,
        field=whole,
        keras={keras_class: read},
        write=_simple(
            lambda k, layer, a: getattr(k.layers, keras_class)(keepdims=a.get("keepdims", False), name=layer)
        ),
        backward=backward,
        onnx={f"Global{'Max' if kind == 'Max' else 'Average'}Pool/{rank}d": lambda node: {"keepdims": True}},
        onnx_write=lambda out, attrs, inputs, shapes, shape: _global_pool_to_onnx(out, kind, attrs, inputs),
    )


def _global_pool_to_onnx(out: OnnxOut, kind: str, attrs: Attrs, inputs: list[str]) -> str:
    """ONNX's global pool keeps the spatial axes: a Flatten follows where archviz's does not."""
    y = out.node(f"Global{'Max' if kind == 'Max' else 'Average'}Pool", inputs[:1])
    return y if attrs.get("keepdims", False) else out.node("Flatten", [y], axis=1)


# ---- merges ---------------------------------------------------------------------------------------


def _average_op() -> Op:
    """Average: n tensors (broadcast together), n - 1 adds and a divide per output element."""

    def shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
        if len(shapes) < 2:
            raise ShapeError(f"average needs at least two inputs, got {len(shapes)}")
        return broadcast(shapes)

    def cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
        return Cost(flops=len(shapes) * numel(out))

    return Op(
        "average",
        Family.MERGE,
        shape,
        cost,
        keras={"Average": lambda config: {}},
        write=_simple(lambda k, layer, a: k.layers.Average(name=layer), many=True),
    )


def _scaled_add_op() -> Op:
    """keras.applications Inception-ResNet's ``CustomScaleLayer``: ``x + r * scale``, a multiply and an add
    per output element."""

    def shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
        if len(shapes) != 2:
            raise ShapeError(f"a scaled add takes two inputs, got {len(shapes)}")
        return broadcast(shapes)

    def cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
        return Cost(flops=2 * numel(out))

    def write(keras: Any, layer: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
        import importlib

        inception = importlib.import_module(f"{keras.__name__}.src.applications.inception_resnet_v2")
        return inception.CustomScaleLayer(attrs["scale"], name=layer)(inputs)

    return Op(
        "scaled_add",
        Family.MERGE,
        shape,
        cost,
        label=lambda attrs: f"x + {attrs['scale']:g} r",
        keras={"CustomScaleLayer": lambda config: {"scale": float(config["scale"])}},
        write=write,
    )


# ---- padding pairs -------------------------------------------------------------------------------


def _pad1d(value: Any) -> tuple[int, int]:
    """1-D padding: an int for both ends, or (before, after)."""
    if isinstance(value, int):
        return value, value
    before, after = ntuple(value, 2)
    return before, after


def ntuple_pairs(value: Any, n: int) -> tuple[tuple[int, int], ...]:
    """An int, one int per axis, or one (before, after) pair per axis, as pairs."""
    if isinstance(value, int):
        return ((value, value),) * n
    pairs = tuple(_pad1d(p) for p in value)
    if len(pairs) != n:
        raise ShapeError(f"{value} needs {n} values, one per spatial dimension")
    return pairs


OPS = (
    _pool_op("max_pool2d", "Max", 2),
    _pool_op("avg_pool2d", "Average", 2),
    _global_pool_op("global_avg_pool2d", "Average", 2, 1),
    _global_pool_op("global_max_pool2d", "Max", 2, 0),
    _pool_op("max_pool1d", "Max", 1),
    _pool_op("avg_pool1d", "Average", 1),
    _pool_op("max_pool3d", "Max", 3),
    _pool_op("avg_pool3d", "Average", 3),
    _global_pool_op("global_avg_pool1d", "Average", 1, 1),
    _global_pool_op("global_max_pool1d", "Max", 1, 0),
    _global_pool_op("global_avg_pool3d", "Average", 3, 1),
    _global_pool_op("global_max_pool3d", "Max", 3, 0),
    _elementwise_op("subtract", "Subtract", "numpy.Subtract", "Sub"),
    _elementwise_op("maximum", "Maximum", "numpy.Maximum", "Max"),
    _elementwise_op("minimum", "Minimum", "numpy.Minimum", "Min"),
    _average_op(),
    _scaled_add_op(),
)
