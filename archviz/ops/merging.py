"""Ops that move, pick or merge values: inputs, padding, pooling, reshapes, merges, dropout.

FLOPs follow ``tf.compat.v1.profiler``: k*k per output element of a k x k pooling window, 1 per
input element of a global average pool (a global max pool is free), n - 1 per element of an
n-way add or multiply; padding, reshapes, concatenation and dropout are free.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import archviz.ops.onnx_attrs as onnx_attrs
from archviz.errors import UnsupportedOpError
from archviz.ops.backward import INPUT, NO_BACKWARD, Backward, free_backward
from archviz.ops.base import (
    Attrs,
    Cost,
    Family,
    KerasReader,
    OnnxNode,
    OnnxOut,
    Op,
    Shape,
    ShapeError,
    feature_map,
    keras_padding,
    nested_ints,
    numel,
    padding_pairs,
    pair,
    same_shape,
    single,
)
from archviz.ops.field import keeps_global, shift, start, subsample, whole


def _input_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = tuple(int(x) for x in attrs["shape"])
    if any(x < 1 for x in shape):
        raise ShapeError(f"input shape {shape} must be positive")
    return shape


# ---- padding and reshapes ---------------------------------------------------------------


def _zero_pad_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = feature_map(shapes, "zero_pad2d")
    (top, bottom), (left, right) = padding_pairs(attrs["padding"])
    return (shape[0] + top + bottom, shape[1] + left + right, shape[2])


def _zero_pad3d_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = single(shapes, "zero_pad3d")
    if len(shape) != 4:
        raise ShapeError(f"zero_pad3d needs a volume (D1, D2, D3, C), got shape {shape}")
    pads = [pair(p) for p in attrs["padding"]]
    return (*(shape[i] + sum(pads[i]) for i in range(3)), shape[3])


def _reshape_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = single(shapes, "reshape")
    target = list(attrs["target_shape"])
    if target.count(-1) > 1:
        raise ShapeError(f"reshape target {tuple(target)} has more than one unknown dimension")
    if -1 in target:
        known = math.prod(d for d in target if d != -1)
        target[target.index(-1)] = numel(shape) // known if known else 0
    if numel(tuple(target)) != numel(shape):
        raise ShapeError(f"cannot reshape {shape} ({numel(shape)} values) to {tuple(target)}")
    return tuple(target)


def _flatten_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    return (numel(single(shapes, "flatten")),)


def _pad_shortcut_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    """Option A: subsample by the stride and zero-pad the channels (no parameters)."""
    shape = feature_map(shapes, "pad_shortcut")
    stride = attrs.get("strides", 1)
    channels = attrs["channels"]
    if channels < shape[2]:
        raise ShapeError(f"a zero-padding shortcut cannot reduce channels from {shape[2]} to {channels}")
    return (-(-shape[0] // stride), -(-shape[1] // stride), channels)


def _pad_shortcut_write(keras: Any, name: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
    """A 1x1 ``MaxPooling2D`` with the stride (``<name>_subsample``), then ``Reshape``/``ZeroPadding3D``/
    ``Reshape`` padding the channels: option A in built-in layers only."""
    x = inputs[0]
    stride = attrs.get("strides", 1)
    if stride != 1:
        x = keras.layers.MaxPooling2D(pool_size=1, strides=stride, name=f"{name}_subsample")(x)
    height, width, channels = out
    before = (channels - x.shape[-1]) // 2
    after = channels - x.shape[-1] - before
    x = keras.layers.Reshape((height, width, x.shape[-1], 1), name=f"{name}_expand")(x)
    x = keras.layers.ZeroPadding3D(((0, 0), (0, 0), (before, after)), name=f"{name}_zeros")(x)
    return keras.layers.Reshape((height, width, channels), name=name)(x)


# ---- merges -------------------------------------------------------------------------------


def broadcast(shapes: Sequence[Shape]) -> Shape:
    """The shape of an elementwise result, NumPy's broadcasting rules (per sample: the batch is apart)."""
    rank = max(len(shape) for shape in shapes)
    result = []
    for dims in zip(*((1,) * (rank - len(shape)) + tuple(shape) for shape in shapes)):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise ShapeError("cannot combine inputs of shapes " + ", ".join(str(s) for s in shapes))
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def _elementwise_op(name: str, layer_class: str | None, raw_class: str, onnx_type: str | None = None) -> Op:
    """Add, multiply, divide: n tensors (broadcast together) and ``constants`` scalars, one operation per
    output element for each operand after the first. A Keras layer merges a list of tensors; the raw
    ``keras.ops`` call (``x * 2.0``, ``x + y``) takes tensors and constants."""

    def shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
        if len(shapes) + attrs.get("constants", 0) < 2:
            raise ShapeError(f"{name} needs at least two operands, got {len(shapes)}")
        return broadcast(shapes)

    def cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
        return Cost(flops=(len(shapes) + attrs.get("constants", 0) - 1) * numel(out))

    def write(keras: Any, layer: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
        if attrs.get("constants"):  # their values are not kept
            raise UnsupportedOpError(f"layer {layer!r}: a {name} with constant operands cannot be exported")
        if layer_class is not None:
            return getattr(keras.layers, layer_class)(name=layer)(inputs)
        module, raw = raw_class.split(".")
        return getattr(getattr(keras.src.ops, module), raw)(name=layer)(*inputs)

    readers: dict[str, KerasReader] = {raw_class: lambda config: {}}
    if layer_class is not None:
        readers[layer_class] = lambda config: {}
    onnx: dict[str, Callable[[OnnxNode], dict]] = {onnx_type: lambda node: {}} if onnx_type is not None else {}

    def write_onnx(out: OnnxOut, attrs: Attrs, inputs: list[str], shapes: list[Shape], shape: Shape) -> str:
        """A chain of binary ONNX nodes: ``a + b + c`` is ``Add(Add(a, b), c)``."""
        if onnx_type is None or attrs.get("constants") or len(inputs) < 2:
            raise UnsupportedOpError(f"a {name} of constants or of one input has no ONNX form archviz writes")
        y = inputs[0]
        for other in inputs[1:]:
            y = out.node(onnx_type, [y, other])
        return y

    writer = write_onnx if onnx_type is not None else None
    return Op(
        name,
        Family.MERGE,
        shape,
        cost,
        keras=readers,
        write=write,
        onnx=onnx,
        onnx_write=writer,
        backward={"add": _add_backward, "multiply": _multiply_backward}.get(name),
    )


def _add_backward(attrs: Attrs, shapes: Sequence[Shape], out: Shape, input_grad: bool, weights_grad: bool) -> Backward:
    """An add hands its gradient to each input unchanged; a broadcast input's is summed over the axes it was
    broadcast along: 1 per output element (``Sum``); a constant added (``x + 3.0``) changes nothing. Nothing
    kept."""
    if attrs.get("constants") and len(shapes) != 1:
        raise UnsupportedOpError("an add of tensors and constants has no training rule")
    if not input_grad:
        return NO_BACKWARD
    broadcasts = sum(tuple(shape) != tuple(out) for shape in shapes)
    return Backward(flops=broadcasts * numel(out), every_input=broadcasts > 0)


def _multiply_backward(
    attrs: Attrs, shapes: Sequence[Shape], out: Shape, input_grad: bool, weights_grad: bool
) -> Backward:
    """A product of two tensors: each input's gradient is the output's times the other input, 1 per output
    element, and a broadcast input's is then summed over the axes it was broadcast along, 1 per output
    element more (``Sum``). It keeps both inputs. A tensor times a constant (``x * (1 / 6)``): the gradient
    times it, 1 per element, keeping nothing. Products of more tensors, or of tensors and constants, have no
    training rule yet."""
    if not input_grad:
        return NO_BACKWARD
    if attrs.get("constants") == 1 and len(shapes) == 1:
        return Backward(flops=numel(out))
    if attrs.get("constants") or len(shapes) != 2:
        raise UnsupportedOpError("a product of other than two tensors has no training rule")
    broadcasts = sum(tuple(shape) != tuple(out) for shape in shapes)
    return Backward(flops=(2 + broadcasts) * numel(out), keeps=INPUT, every_input=True)


def _pad_shortcut_backward(
    attrs: Attrs, shapes: Sequence[Shape], out: Shape, input_grad: bool, weights_grad: bool
) -> Backward:
    """As exported: with a stride, the strided 1x1 max pool's gradient (``MaxPoolGrad``, 1 per input
    element), which keeps the input and the subsampled tensor; the channel padding's gradient is a slice."""
    if attrs.get("strides", 1) == 1 or not input_grad:
        return NO_BACKWARD
    return Backward(flops=numel(shapes[0]), keeps=INPUT, kept=out[0] * out[1] * shapes[0][-1])


def _concat_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    """Concatenation along ``axis``, counted as Keras counts it (0 is the batch; the default -1, the channels)."""
    if len(shapes) < 2:
        raise ShapeError(f"concatenate needs at least two inputs, got {len(shapes)}")
    axis = int(attrs.get("axis", -1))
    index = axis - 1 if axis > 0 else len(shapes[0]) + axis
    if axis == 0 or not 0 <= index < len(shapes[0]):
        raise ShapeError(f"cannot concatenate along axis {axis} of inputs of shape {shapes[0]}")
    if len({(*s[:index], *s[index + 1 :]) for s in shapes}) != 1 or len({len(s) for s in shapes}) != 1:
        raise ShapeError("cannot concatenate inputs of shapes " + ", ".join(str(s) for s in shapes))
    return (*shapes[0][:index], sum(s[index] for s in shapes), *shapes[0][index + 1 :])


def _simple(factory: Callable[[Any, str, Attrs], Any], many: bool = False) -> Callable:
    """A writer that calls one Keras layer on the input (or on all inputs)."""

    def write(keras: Any, name: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
        return factory(keras, name, attrs)(inputs if many else inputs[0])

    return write


def _concat_read(config: Mapping[str, Any]) -> dict:
    axis = int(config.get("axis", -1))
    return {} if axis == -1 else {"axis": axis}


def _concat_from_onnx(node: OnnxNode) -> dict:
    rank = len(onnx_attrs.input_shape(node))
    axis = onnx_attrs.keras_axis(int(node.attrs["axis"]), rank)
    return {} if axis == rank - 1 else {"axis": axis}


def _flatten_from_onnx(node: OnnxNode) -> dict:
    if int(node.attrs.get("axis", 1)) != 1:
        raise ValueError("a Flatten into a matrix other than (batch, values)")
    return {}


def _zero_pad_to_onnx(out: OnnxOut, attrs: Attrs, inputs: list[str], shapes: list[Shape], shape: Shape) -> str:
    (top, bottom), (left, right) = padding_pairs(attrs["padding"])
    return out.node("Pad", [inputs[0], out.ints("pads", [0, 0, top, left, 0, 0, bottom, right])])


def _pad_shortcut_to_onnx(out: OnnxOut, attrs: Attrs, inputs: list[str], shapes: list[Shape], shape: Shape) -> str:
    """Option A: a 1x1 max pool with the stride (the subsampling), then a Pad of the channels."""
    x, stride = inputs[0], attrs.get("strides", 1)
    if stride != 1:
        x = out.node("MaxPool", [x], kernel_shape=[1, 1], strides=[stride, stride])
    before = (shape[-1] - shapes[0][-1]) // 2
    after = shape[-1] - shapes[0][-1] - before
    return out.node("Pad", [x, out.ints("pads", [0, before, 0, 0, 0, after, 0, 0])])


def _dropout_read(config: Mapping[str, Any]) -> dict:
    attrs: dict[str, Any] = {"rate": float(config["rate"])}
    noise = config.get("noise_shape")
    if isinstance(noise, (list, tuple)) and noise and all(d is None or isinstance(d, int) for d in noise):
        attrs["noise_shape"] = [d if d is None else int(d) for d in noise[1:]]  # per sample, None: the input's
    return attrs


def _spatial_dropout_read(config: Mapping[str, Any]) -> dict:
    """Keras's SpatialDropout2D drops whole channels: its mask is one value per channel."""
    return {"rate": float(config["rate"]), "noise_shape": [1, 1, None]}


def _dropout_backward(
    attrs: Attrs, shapes: Sequence[Shape], out: Shape, input_grad: bool, weights_grad: bool
) -> Backward:
    """Keras's dropout in training (``tf.nn.dropout``) keeps a random mask (a bool per mask element: per
    element, or per ``noise_shape`` value) and scales the kept values: its gradient selects the output's
    gradient through the mask (a selection, 0) and scales it, 1 per element. A rate of 0 is the identity."""
    if not input_grad or not attrs.get("rate"):
        return NO_BACKWARD
    noise = attrs.get("noise_shape")
    if noise is not None and len(noise) != len(out):
        raise UnsupportedOpError("a dropout whose noise shape does not match its input has no training rule")
    mask = numel(out) if noise is None else math.prod(size if d is None else d for d, size in zip(noise, out))
    return Backward(flops=numel(out), kept_bytes=mask)


OPS = (
    Op("input", Family.IO, _input_shape, field=start, backward=free_backward),
    Op(
        "zero_pad2d",
        Family.RESHAPE,
        _zero_pad_shape,
        field=shift("padding"),
        keras={"ZeroPadding2D": lambda config: {"padding": nested_ints(config["padding"])}},
        write=_simple(lambda k, name, a: k.layers.ZeroPadding2D(keras_padding(a["padding"])[1], name=name)),
        backward=free_backward,
        onnx_write=_zero_pad_to_onnx,
    ),
    Op(
        "zero_pad3d",
        Family.RESHAPE,
        _zero_pad3d_shape,
        field=shift("padding"),
        keras={"ZeroPadding3D": lambda config: {"padding": nested_ints(config["padding"])}},
        write=_simple(lambda k, name, a: k.layers.ZeroPadding3D(nested_ints(a["padding"]), name=name)),
        backward=free_backward,
    ),
    Op(
        "reshape",
        Family.RESHAPE,
        _reshape_shape,
        field=keeps_global,
        keras={
            "Reshape": lambda config: {"target_shape": nested_ints(config["target_shape"])},
            "numpy.Reshape": lambda config: {"target_shape": nested_ints(config["newshape"])[1:]},
        },
        write=_simple(lambda k, name, a: k.layers.Reshape(tuple(a["target_shape"]), name=name)),
        backward=free_backward,
        onnx={"Reshape": lambda node: {"target_shape": onnx_attrs.sample_shape(onnx_attrs.output_shape(node))}},
    ),
    Op(
        "flatten",
        Family.RESHAPE,
        _flatten_shape,
        field=whole,
        keras={"Flatten": lambda config: {}},
        write=_simple(lambda k, name, a: k.layers.Flatten(name=name)),
        backward=free_backward,
        onnx={"Flatten": _flatten_from_onnx},
        onnx_write=lambda out, attrs, inputs, shapes, shape: out.node("Flatten", inputs[:1], axis=1),
    ),
    _elementwise_op("add", "Add", "numpy.Add", "Add"),
    _elementwise_op("multiply", "Multiply", "numpy.Multiply", "Mul"),
    _elementwise_op("divide", None, "numpy.TrueDivide", "Div"),
    Op(
        "concat",
        Family.MERGE,
        _concat_shape,
        keras={"Concatenate": _concat_read, "numpy.Concatenate": _concat_read},
        write=_simple(lambda k, name, a: k.layers.Concatenate(axis=a.get("axis", -1), name=name), many=True),
        onnx={"Concat": _concat_from_onnx},
        backward=free_backward,  # each input's gradient is a slice of the output's
    ),
    Op(
        "dropout",
        Family.REGULARIZATION,
        same_shape,
        label=lambda attrs: f"rate {attrs.get('rate', 0)}",
        keras={"Dropout": _dropout_read, "SpatialDropout2D": _spatial_dropout_read},
        write=_simple(lambda k, name, a: k.layers.Dropout(a.get("rate", 0.0), name=name)),
        onnx={"Dropout": lambda node: {}},
        onnx_write=lambda out, attrs, inputs, shapes, shape: out.node("Identity", inputs[:1]),
        backward=_dropout_backward,
    ),
    Op(
        "pad_shortcut",
        Family.RESHAPE,
        _pad_shortcut_shape,
        field=subsample,
        label=lambda attrs: "option A: zero padding",
        word="",
        write=_pad_shortcut_write,
        backward=_pad_shortcut_backward,
        onnx_write=_pad_shortcut_to_onnx,
    ),
)
