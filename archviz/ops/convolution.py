"""Convolutions beyond conv2d: 1-D and 3-D, depthwise 1-D, separable and transposed.

One factory per kind, each over 1, 2 or 3 spatial dimensions (channels last). FLOPs follow
``tf.compat.v1.profiler`` on the frozen graph: 2 per MAC, 1 per bias add, plus the activation.

* A separable conv's MACs are its depthwise part's plus its pointwise part's.
* A transposed conv's MACs are its real work, ``input spatial size x prod(kernel) x Cin x Cout``
  (each input value meets the whole kernel). Its FLOPs are what the profiler's
  ``Conv2DBackpropInput`` statistic gives, ``2 x output spatial size x prod(kernel) x Cin x Cout /
  prod(strides)`` rounded down: 2 per MAC for ``same`` padding, more for ``valid`` padding with a
  kernel larger than the stride. The profiler has no statistic for the 3-D op (it counts only the
  bias); archviz counts 2 per MAC there, as for grouped convolutions, which the profiler also misses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import archviz.ops.onnx_attrs as onnx_attrs
from archviz.errors import UnsupportedOpError
from archviz.ops.backward import INPUT, OUTPUT, Backward, activation_backward
from archviz.ops.base import (
    Attrs,
    Cost,
    Family,
    OnnxNode,
    OnnxOut,
    Op,
    Shape,
    ShapeError,
    activation_flops,
    activation_from_keras,
    activation_to_keras,
    explicit_pads,
    nested_ints,
    ntuple,
    numel,
    spatial_map,
    window_shape,
)
from archviz.ops.field import window

#: the suffix of Keras class names by number of spatial dimensions (``Conv1D``, ``MaxPooling3D``)
RANK_SUFFIX = {1: "1D", 2: "2D", 3: "3D"}


def window_label(attrs: Attrs, key: str = "kernel") -> str:
    """``3x3/2`` of a window's size and stride (``3/2`` in 1-D, ``3x3x3`` in 3-D). A conv's stride is
    shown unless 1; a pool's (``key="pool"``, its stride defaulting to its window) always, as in 2-D."""
    window = attrs[key]
    rank = 1 if isinstance(window, int) else len(window)
    stride = ntuple(attrs.get("strides", 1 if key == "kernel" else window), rank)[0]
    return "x".join(map(str, ntuple(window, rank))) + (f"/{stride}" if stride != 1 or key != "kernel" else "")


def _filters_label(attrs: Attrs) -> str:
    text = f"{window_label(attrs)}, {attrs['filters']}"
    return text + (f", groups {attrs['groups']}" if attrs.get("groups", 1) != 1 else "")


def channels_last(config: Mapping[str, Any]) -> None:
    """Refuse (as a ValueError, so an importer reports the layer as not counted) a channels-first layer:
    every shape rule here is channels last."""
    if config.get("data_format", "channels_last") not in (None, "channels_last"):
        raise ValueError(f"data_format {config['data_format']!r} is not supported")


def _window_read(config: Mapping[str, Any], rank: int, *, filters: bool, multiplier: bool) -> dict:
    channels_last(config)
    attrs: dict = {"filters": int(config["filters"])} if filters else {}
    attrs.update(
        kernel=ntuple(nested_ints(config["kernel_size"]), rank),
        strides=ntuple(nested_ints(config.get("strides", 1)), rank),
        padding=config.get("padding", "valid"),
        dilation=ntuple(nested_ints(config.get("dilation_rate", 1)), rank),
        use_bias=bool(config.get("use_bias", True)),
    )
    if multiplier:
        attrs["depth_multiplier"] = int(config.get("depth_multiplier", 1))
    if int(config.get("groups", 1)) != 1:
        attrs["groups"] = int(config["groups"])
    if config.get("output_padding") is not None:
        attrs["output_padding"] = ntuple(nested_ints(config["output_padding"]), rank)
    activation = activation_from_keras(config.get("activation"))
    if activation:
        attrs["activation"] = activation
    return attrs


def padded(keras: Any, name: str, x: Any, padding: Any, rank: int) -> tuple[Any, str]:
    """Explicit padding becomes a ``ZeroPadding{rank}D`` named ``<name>_pad`` before a valid layer."""
    if padding in ("same", "valid", "causal"):
        return x, padding
    pads = ((padding, padding),) * rank if isinstance(padding, int) else tuple(ntuple(p, 2) for p in padding)
    if any(any(p) for p in pads):
        x = getattr(keras.layers, f"ZeroPadding{rank}D")(pads[0] if rank == 1 else pads, name=f"{name}_pad")(x)
    return x, "valid"


def _common(attrs: Attrs, rank: int) -> dict:
    """Keyword arguments every Keras conv layer takes, from the attributes."""
    return {
        "kernel_size": ntuple(attrs["kernel"], rank),
        "strides": ntuple(attrs.get("strides", 1), rank),
        "dilation_rate": ntuple(attrs.get("dilation", 1), rank),
        "use_bias": attrs.get("use_bias", True),
        "activation": activation_to_keras(attrs.get("activation")),
    }


def weighted_backward(attrs: Attrs, macs: int, out: Shape, input_grad: bool) -> Backward:
    """The backward of a conv or dense layer of ``macs``: its weight gradient costs its forward MACs, and so
    does its input gradient where that is wanted; 1 per output element for the bias gradient, and the
    activation's backward. It keeps its input (and what its activation's gradient reads: its output, or
    its input, the layer's output before the activation, kept inside the layer)."""
    flops, keeps, inside = activation_backward(attrs.get("activation"), numel(out))
    bias = numel(out) if attrs.get("use_bias", True) else 0
    return Backward(
        weight_macs=macs,
        input_macs=macs if input_grad else 0,
        flops=bias + flops,
        weight_flops=bias,
        keeps=INPUT | (keeps & OUTPUT),
        kept=inside + (numel(out) if "input" in keeps else 0),
    )


def _flops(attrs: Attrs, macs_flops: int, out: Shape) -> int:
    bias = numel(out) if attrs.get("use_bias", True) else 0
    return macs_flops + bias + activation_flops(attrs.get("activation"), numel(out))


# ---- convolutions: plain, grouped and depthwise ------------------------------------------


def _conv_from_onnx(node: OnnxNode) -> dict:
    """ONNX's Conv: its weight is ``(filters, channels / groups, *kernel)``; a depthwise conv is the
    grouped conv with a group per channel."""
    weight = onnx_attrs.weight_shape(node, 1)
    rank = len(weight) - 2
    groups = onnx_attrs.group(node, onnx_attrs.input_shape(node)[1], weight[0])
    attrs: dict = {
        "filters": weight[0],
        "kernel": tuple(weight[2:]),
        "strides": onnx_attrs.ints(node, "strides", 1, rank),
        "padding": onnx_attrs.padding(node, rank, weight[2:]),
        "dilation": onnx_attrs.ints(node, "dilations", 1, rank),
        "use_bias": len(node.shapes) > 2 and node.shapes[2] is not None,
    }
    if groups != 1:
        attrs["groups"] = groups
    return attrs


def conv_op(name: str, rank: int, *, depthwise: bool = False) -> Op:
    """A convolution of ``rank`` spatial dimensions. A depthwise convolution is the grouped convolution
    with one group per input channel and ``depth_multiplier`` filters per group: one rule for both."""
    keras_class = f"{'Depthwise' if depthwise else ''}Conv{RANK_SUFFIX[rank]}"

    def grouping(attrs: Attrs, channels: int) -> tuple[int, int]:
        """(groups, filters) of the convolution on ``channels`` input channels."""
        if depthwise:
            return channels, channels * attrs.get("depth_multiplier", 1)
        return attrs.get("groups", 1), attrs["filters"]

    def shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
        fmap = spatial_map(shapes, rank, name)
        groups, filters = grouping(attrs, fmap[-1])
        if groups < 1 or filters < 1 or fmap[-1] % groups or filters % groups:
            raise ShapeError(
                f"{name} with {groups} groups needs input ({fmap[-1]}) and output ({filters}) channels divisible by it"
            )
        return window_shape(attrs, fmap, filters, name)

    def cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
        groups, _ = grouping(attrs, shapes[0][-1])
        fan_in = math.prod(ntuple(attrs["kernel"], rank)) * (shapes[0][-1] // groups)
        macs = numel(out) * fan_in
        bias = out[-1] if attrs.get("use_bias", True) else 0
        return Cost(trainable=fan_in * out[-1] + bias, macs=macs, flops=_flops(attrs, 2 * macs, out))

    def backward(attrs: Attrs, shapes: Sequence[Shape], out: Shape, input_grad: bool, weights_grad: bool) -> Backward:
        """Per group as for a plain conv: the weight and input gradients each cost the forward MACs. Explicit
        padding convolves a padded copy of the input, which it keeps instead of the input."""
        rule = weighted_backward(attrs, cost(attrs, shapes, out).macs, out, input_grad)
        padding = attrs.get("padding", "valid")
        if padding in ("same", "valid", "causal"):
            return rule
        pads = explicit_pads(padding, rank)
        size = math.prod(shapes[0][i] + sum(pads[i]) for i in range(rank)) * shapes[0][-1]
        return rule._replace(keeps=rule.keeps - INPUT, kept=size)

    def write(keras: Any, layer: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
        x, mode = padded(keras, layer, inputs[0], attrs.get("padding", "valid"), rank)
        own = (
            {"depth_multiplier": attrs.get("depth_multiplier", 1)}
            if depthwise
            else {"filters": attrs["filters"], "groups": attrs.get("groups", 1)}
        )
        return getattr(keras.layers, keras_class)(padding=mode, name=layer, **own, **_common(attrs, rank))(x)

    def read(config: Mapping[str, Any]) -> dict:
        return _window_read(config, rank, filters=not depthwise, multiplier=depthwise)

    def write_onnx(out: OnnxOut, attrs: Attrs, inputs: list[str], shapes: list[Shape], shape: Shape) -> str:
        """An ONNX Conv (weight ``(filters, channels / groups, *kernel)``), then its activation."""
        groups, filters = grouping(attrs, shapes[0][-1])
        weights = [out.weight("weight", (filters, shapes[0][-1] // groups, *ntuple(attrs["kernel"], rank)))]
        if attrs.get("use_bias", True):
            weights.append(out.weight("bias", (filters,)))
        y = out.node(
            "Conv",
            [inputs[0], *weights],
            kernel_shape=list(ntuple(attrs["kernel"], rank)),
            strides=list(ntuple(attrs.get("strides", 1), rank)),
            dilations=list(ntuple(attrs.get("dilation", 1), rank)),
            group=groups,
            **onnx_attrs.onnx_padding(attrs.get("padding", "valid"), rank),
        )
        return onnx_attrs.write_activation(out, attrs.get("activation"), y)

    return Op(
        name,
        Family.CONV,
        shape,
        cost,
        field=window("kernel"),
        weighted=True,
        label=window_label if depthwise else _filters_label,
        keras={keras_class: read},
        write=write,
        backward=backward,
        onnx={} if depthwise else {f"Conv/{rank}d": _conv_from_onnx},
        onnx_write=write_onnx,
    )


# ---- separable_conv1d, separable_conv2d ----------------------------------------------------


def _separable_op(name: str, rank: int) -> Op:
    """A depthwise conv (``depth_multiplier`` per input channel), then a 1x1 conv to ``filters``."""
    keras_class = f"SeparableConv{RANK_SUFFIX[rank]}"

    def shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
        return window_shape(attrs, spatial_map(shapes, rank, name), attrs["filters"], name)

    def cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
        window = math.prod(ntuple(attrs["kernel"], rank))
        middle = shapes[0][-1] * attrs.get("depth_multiplier", 1)  # channels between the two parts
        positions = numel(out) // out[-1]
        macs = positions * middle * window + positions * middle * out[-1]
        bias = out[-1] if attrs.get("use_bias", True) else 0
        return Cost(trainable=window * middle + middle * out[-1] + bias, macs=macs, flops=_flops(attrs, 2 * macs, out))

    def backward(attrs: Attrs, shapes: Sequence[Shape], out: Shape, input_grad: bool, weights_grad: bool) -> Backward:
        """Each part as a conv of its own: the weight gradients cost the forward MACs of both parts; the
        pointwise part's input gradient (the depthwise output's) is computed wherever the depthwise weights
        train, the depthwise part's where the input's gradient is wanted. It keeps its input and the
        depthwise output between the parts. Explicit padding has no training rule yet."""
        if attrs.get("padding", "valid") not in ("same", "valid"):
            raise UnsupportedOpError(f"{name} with explicit padding has no training rule")
        middle = shapes[0][-1] * attrs.get("depth_multiplier", 1)
        between = numel(out) // out[-1] * middle
        pointwise = between * out[-1]
        depthwise = cost(attrs, shapes, out).macs - pointwise
        rule = weighted_backward(attrs, depthwise + pointwise, out, input_grad)
        return rule._replace(input_macs=pointwise + (depthwise if input_grad else 0), kept=rule.kept + between)

    def write(keras: Any, layer: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
        x, mode = padded(keras, layer, inputs[0], attrs.get("padding", "valid"), rank)
        return getattr(keras.layers, keras_class)(
            attrs["filters"],
            padding=mode,
            name=layer,
            depth_multiplier=attrs.get("depth_multiplier", 1),
            **_common(attrs, rank),
        )(x)

    return Op(
        name,
        Family.CONV,
        shape,
        cost,
        field=window("kernel"),
        weighted=True,
        label=_filters_label,
        keras={keras_class: lambda c: _window_read(c, rank, filters=True, multiplier=True)},
        write=write,
        backward=backward,
    )


# ---- conv1d_transpose, conv2d_transpose, conv3d_transpose ---------------------------------------


def _transpose_length(size: int, kernel: int, stride: int, dilation: int, padding: str, extra: int | None) -> int:
    """Keras's output length (``compute_conv_transpose_output_shape``)."""
    span = dilation * (kernel - 1) + 1
    if padding == "valid":
        return (size - 1) * stride + (max(span, stride) if extra is None else span + extra)
    if padding == "same":
        return size * stride if extra is None else (size - 1) * stride + span % 2 + extra
    raise ShapeError(f"a transposed convolution takes padding 'valid' or 'same', not {padding!r}")


def _transpose_from_onnx(node: OnnxNode) -> dict:
    """ONNX's ConvTranspose (weight ``(channels, filters, *kernel)``, one group): its output size, whatever
    pads and output_padding made it, as Keras's valid padding with an output padding."""
    weight, x, out = onnx_attrs.weight_shape(node, 1), onnx_attrs.input_shape(node), onnx_attrs.output_shape(node)
    rank = len(weight) - 2
    if onnx_attrs.group(node, x[1], weight[1] * int(node.attrs.get("group", 1))) != 1:
        raise ValueError("a grouped transposed convolution")
    kernel, strides = tuple(weight[2:]), onnx_attrs.ints(node, "strides", 1, rank)
    dilation = onnx_attrs.ints(node, "dilations", 1, rank)
    extra = tuple(out[2 + i] - (x[2 + i] - 1) * strides[i] - (dilation[i] * (kernel[i] - 1) + 1) for i in range(rank))
    if min(extra) < 0:
        raise ValueError("a transposed convolution whose pads crop its output")
    return {
        "filters": weight[1],
        "kernel": kernel,
        "strides": strides,
        "dilation": dilation,
        "padding": "valid",
        "output_padding": extra,
        "use_bias": len(node.shapes) > 2 and node.shapes[2] is not None,
    }


def _transpose_op(name: str, rank: int, *, profiler_counts_it: bool) -> Op:
    keras_class = f"Conv{RANK_SUFFIX[rank]}Transpose"

    def shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
        fmap = spatial_map(shapes, rank, name)
        kernel, strides = ntuple(attrs["kernel"], rank), ntuple(attrs.get("strides", 1), rank)
        dilation = ntuple(attrs.get("dilation", 1), rank)
        extra = attrs.get("output_padding")
        extra = ntuple(extra, rank) if extra is not None else (None,) * rank
        sizes = tuple(
            _transpose_length(fmap[i], kernel[i], strides[i], dilation[i], attrs.get("padding", "valid"), extra[i])
            for i in range(rank)
        )
        if min(sizes) < 1:
            raise ShapeError(f"{name} gives an empty output {sizes}")
        return (*sizes, attrs["filters"])

    def cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
        weights = math.prod(ntuple(attrs["kernel"], rank)) * shapes[0][-1] * out[-1]
        macs = numel(shapes[0][:-1]) * weights
        if profiler_counts_it:  # Conv2DBackpropInput's statistic, truncated to an integer as the profiler does
            conv = 2 * numel(out[:-1]) * weights // math.prod(ntuple(attrs.get("strides", 1), rank))
        else:
            conv = 2 * macs
        bias = out[-1] if attrs.get("use_bias", True) else 0
        return Cost(trainable=weights + bias, macs=macs, flops=_flops(attrs, conv, out))

    def write(keras: Any, layer: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
        return getattr(keras.layers, keras_class)(
            attrs["filters"],
            padding=attrs.get("padding", "valid"),
            output_padding=attrs.get("output_padding"),
            name=layer,
            **_common(attrs, rank),
        )(inputs[0])

    return Op(
        name,
        Family.CONV,
        shape,
        cost,
        weighted=True,
        label=lambda attrs: f"{_filters_label(attrs)}, up",
        keras={keras_class: lambda c: _window_read(c, rank, filters=True, multiplier=False)},
        write=write,
        onnx={f"ConvTranspose/{rank}d": _transpose_from_onnx},
    )


OPS = (
    conv_op("conv1d", 1),
    conv_op("conv3d", 3),
    conv_op("depthwise_conv1d", 1, depthwise=True),
    _separable_op("separable_conv1d", 1),
    _separable_op("separable_conv2d", 2),
    _transpose_op("conv1d_transpose", 1, profiler_counts_it=True),
    _transpose_op("conv2d_transpose", 2, profiler_counts_it=True),
    _transpose_op("conv3d_transpose", 3, profiler_counts_it=False),
)
