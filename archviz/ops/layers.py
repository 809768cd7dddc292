"""Ops that compute: conv2d and depthwise_conv2d (from :mod:`archviz.ops.convolution`'s factories),
dense layers, batch norm and activations.

FLOPs follow ``tf.compat.v1.profiler`` on the frozen inference graph: 2 per MAC, 1 per bias
add, the activation's own cost (see :data:`~archviz.ops.base.ACTIVATIONS`), and for a batch
norm 2 per element plus 6 per channel (5 without gamma) to fold its statistics, once per call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import archviz.ops.onnx_attrs as onnx_attrs
from archviz.errors import UnsupportedOpError
from archviz.ops.backward import INPUT, NO_BACKWARD, Backward, activation_backward
from archviz.ops.base import (
    Attrs,
    Cost,
    Family,
    OnnxNode,
    OnnxOut,
    Op,
    Shape,
    activation_flops,
    activation_from_keras,
    activation_to_keras,
    numel,
    same_shape,
    single,
)
from archviz.ops.convolution import conv_op, weighted_backward
from archviz.ops.field import along_axis, per_position


def _with_activation(attrs: dict, config: Mapping[str, Any]) -> dict:
    activation = activation_from_keras(config.get("activation"))
    if activation:
        attrs["activation"] = activation
    return attrs


# ---- batch_norm -------------------------------------------------------------------


def _batch_norm_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    """Inference BN is x * inv + (beta - mean * inv) with inv = gamma * rsqrt(var + eps):
    2 FLOPs per element, and per channel 6 (5 without gamma) to fold the statistics."""
    channels = out[-1]
    scale = bool(attrs.get("scale", True))
    trainable = channels * (int(scale) + int(attrs.get("center", True)))
    return Cost(
        trainable=trainable,
        non_trainable=2 * channels,
        flops=2 * numel(out),
        fixed_flops=(6 if scale else 5) * channels,
    )


def _batch_norm_backward(
    attrs: Attrs, shapes: Sequence[Shape], out: Shape, input_grad: bool, weights_grad: bool
) -> Backward:
    """Keras's training batch norm, y = x * m + (beta - mean * m) with m = gamma * rsqrt(var + eps) over the
    batch's moments, differentiated as TensorFlow does: 11 per element and 10 per channel (per element: 2
    reductions and 2 products for gamma and beta, 2 broadcasts divided by the count, 3 products and
    differences through the variance, and the 3-way sum of x's gradients; per channel 6 products and
    sums and a reciprocal-square-root gradient of 4); without the input's gradient only gamma's and
    beta's: 3 per element and 4 per channel. Its forward pass computes the batch statistics too (two
    means and a squared difference: 3 per element). It keeps its input (a float32 copy of it under a
    16-bit dtype: Keras computes a batch norm in float32), and per channel the batch mean and the
    inverse standard deviation, and where its input's gradient is wanted the mean's second copy (before
    it is squeezed) and gamma times the inverse standard deviation: 4 per channel (5 where its axis is
    written other than -1, as keras.applications write 3: Keras reshapes the mean and gamma). Without gamma
    (``scale=False``) 11 per element and 8 per channel, keeping its input and 3 per channel, or where its
    input's gradient is not wanted only beta's, a sum (1 per element), keeping nothing. A frozen batch norm
    (no trainable weights) runs in inference mode, as Keras runs it: its input's gradient is the output's
    times a per-channel factor, 1 per element, and it keeps that factor (1 per channel)."""
    if not weights_grad:
        return Backward(flops=numel(out), kept_fixed=out[-1]) if input_grad else NO_BACKWARD
    if not attrs.get("center", True):
        raise UnsupportedOpError("a batch norm without beta has no training rule")
    elements, channels = numel(out), out[-1]
    if not attrs.get("scale", True):  # no gamma: 2 products less per channel; alone, beta's gradient, a sum
        if not input_grad:
            return Backward(flops=elements, forward_flops=3 * elements)
        return Backward(
            flops=11 * elements,
            fixed_flops=8 * channels,
            forward_flops=3 * elements,
            keeps=INPUT,
            kept_fixed=3 * channels,
            upcast=True,
        )
    if input_grad:
        flops, fixed = 11 * elements, 10 * channels
    else:
        flops, fixed = 3 * elements, 4 * channels
    kept_fixed = (4 + ("axis" in attrs) if input_grad else 2) * channels
    return Backward(
        flops=flops, fixed_flops=fixed, forward_flops=3 * elements, keeps=INPUT, kept_fixed=kept_fixed, upcast=True
    )


def _activation_backward(
    attrs: Attrs, shapes: Sequence[Shape], out: Shape, input_grad: bool, weights_grad: bool
) -> Backward:
    """:data:`~archviz.ops.backward.BACKWARD_ACTIVATIONS`' rule, where the input's gradient is wanted."""
    flops, keeps, inside = activation_backward(attrs["fn"], numel(out))
    return Backward(flops=flops, keeps=keeps, kept=inside) if input_grad else Backward()


def _batch_norm_read(config: Mapping[str, Any]) -> dict:
    attrs: dict[str, Any] = {
        "epsilon": float(config["epsilon"]),
        "center": bool(config.get("center", True)),
        "scale": bool(config.get("scale", True)),
    }
    axis = config.get("axis", -1)
    axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    if isinstance(axis, int) and not isinstance(axis, bool) and axis != -1:
        attrs["axis"] = axis  # written as a positive axis (keras.applications' 3): Keras reshapes its statistics
    return attrs


def _batch_norm_write(keras: Any, name: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
    return keras.layers.BatchNormalization(
        axis=attrs.get("axis", -1),
        epsilon=attrs.get("epsilon", 1e-3),
        center=attrs.get("center", True),
        scale=attrs.get("scale", True),
        name=name,
    )(inputs[0])


# ---- activation -------------------------------------------------------------------


#: tf.nn.softmax over an axis that is not the last transposes around it and works out the permutation
#: with scalar arithmetic the profiler counts, once per call whatever the shape or batch: two ``Sub``,
#: and three ``AddV2`` more to make a negative axis positive.
SOFTMAX_SWAP_FLOPS = {"positive": 2, "negative": 5}


def _activation_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    axis = attrs.get("axis")  # Keras's, the batch 0
    fixed = 0
    if axis is not None and axis % (len(out) + 1) != len(out):
        fixed = SOFTMAX_SWAP_FLOPS["negative" if axis < 0 else "positive"]
    return Cost(flops=activation_flops(attrs["fn"], numel(out)), fixed_flops=fixed)


def _softmax_read(config: Mapping[str, Any]) -> dict:
    """A softmax over one axis (Keras's number, the batch 0; kept where it is not the last)."""
    axis = config.get("axis", -1)
    axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    axis = -1 if axis is None else axis
    if type(axis) is not int:
        raise ValueError(f"a softmax over the axes {str(axis)[:40]}")
    return {"fn": "softmax"} | ({"axis": axis} if axis != -1 else {})


def _relu_read(config: Mapping[str, Any]) -> dict:
    if float(config.get("threshold") or 0) != 0:  # a comparison per element: no rule, reported as not counted
        return {"fn": "relu_threshold"}
    if float(config.get("negative_slope") or 0) != 0:
        return {"fn": "leaky_relu"}
    limit = config.get("max_value")
    if limit is None:
        return {"fn": "relu"}
    return {"fn": "relu6" if float(limit) == 6.0 else f"relu_max{limit}"}


def _activation_read(config: Mapping[str, Any]) -> dict:
    return {"fn": activation_from_keras(config["activation"]) or "linear"}


#: Raw ``keras.ops`` activation functions and archviz's names for them.
_RAW_ACTIVATIONS = {
    "nn.Relu": "relu",
    "nn.Relu6": "relu6",
    "nn.Sigmoid": "sigmoid",
    "nn.Silu": "swish",
    "nn.HardSigmoid": "hard_sigmoid",
    "nn.HardSilu": "hard_silu",
    "numpy.Tanh": "tanh",
}


def _activation_write(keras: Any, name: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
    if attrs.get("axis") is not None:
        return keras.layers.Softmax(axis=attrs["axis"], name=name)(inputs[0])
    return keras.layers.Activation(activation_to_keras(attrs["fn"]) or "linear", name=name)(inputs[0])


def _softmax_from_onnx(node: OnnxNode) -> dict:
    rank = len(onnx_attrs.input_shape(node))
    axis = onnx_attrs.keras_axis(int(node.attrs.get("axis", -1)), rank)
    return {"fn": "softmax"} | ({"axis": axis} if axis != rank - 1 else {})


def _fixed_onnx(fn: str) -> Callable[[OnnxNode], dict[str, Any]]:
    return lambda node: {"fn": fn}


#: ONNX's activation ops and archviz's names for them.
_ONNX_ACTIVATIONS = {kind: fn for fn, kind in onnx_attrs.ACTIVATION_TYPES.items()}


def _batch_norm_from_onnx(node: OnnxNode) -> dict:
    if node.attrs.get("training_mode"):
        raise ValueError("a batch norm in training mode")
    return {"epsilon": float(node.attrs.get("epsilon", 1e-5))}


def _batch_norm_to_onnx(out: OnnxOut, attrs: Attrs, inputs: list[str], shapes: list[Shape], shape: Shape) -> str:
    if not (attrs.get("center", True) and attrs.get("scale", True)):
        raise UnsupportedOpError("a batch norm without center or scale has no ONNX form (its 4 tensors are required)")
    channels = shape[-1]
    parts = (("weight", 1), ("bias", 0), ("mean", 0), ("var", 1))
    stats = [out.weight(part, (channels,), fill) for part, fill in parts]
    return out.node("BatchNormalization", [inputs[0], *stats], epsilon=float(attrs.get("epsilon", 1e-3)))


def _activation_to_onnx(out: OnnxOut, attrs: Attrs, inputs: list[str], shapes: list[Shape], shape: Shape) -> str:
    if attrs.get("axis") is not None:
        raise UnsupportedOpError("a softmax over another axis than the channels has no ONNX form archviz writes")
    return onnx_attrs.write_activation(out, attrs["fn"], inputs[0])


def _dense_to_onnx(out: OnnxOut, attrs: Attrs, inputs: list[str], shapes: list[Shape], shape: Shape) -> str:
    """A Gemm as torch's Linear writes it (weight ``(units, fan_in)``, transB=1), then its activation."""
    if len(shapes[0]) != 1:
        raise UnsupportedOpError("a dense layer on more than a vector has no ONNX Gemm form")
    weights = [out.weight("weight", (attrs["units"], shapes[0][0]))]
    if attrs.get("use_bias", True):
        weights.append(out.weight("bias", (attrs["units"],)))
    y = out.node("Gemm", [inputs[0], *weights], transB=1)
    return onnx_attrs.write_activation(out, attrs.get("activation"), y)


# ---- dense ------------------------------------------------------------------------


def _dense_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    return (*single(shapes, "dense")[:-1], attrs["units"])


def _dense_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    fan_in, units = shapes[0][-1], attrs["units"]
    bias = units if attrs.get("use_bias", True) else 0
    rows = numel(out) // units
    macs = rows * fan_in * units
    flops = 2 * macs + rows * bias + activation_flops(attrs.get("activation"), numel(out))
    return Cost(trainable=fan_in * units + bias, macs=macs, flops=flops)


def _dense_backward(
    attrs: Attrs, shapes: Sequence[Shape], out: Shape, input_grad: bool, weights_grad: bool
) -> Backward:
    return weighted_backward(attrs, _dense_cost(attrs, shapes, out).macs, out, input_grad)


def _dense_label(attrs: Attrs) -> str:
    return f"{attrs['units']} units" + (f", {attrs['activation']}" if attrs.get("activation") else "")


def _dense_write(keras: Any, name: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
    return keras.layers.Dense(
        attrs["units"],
        use_bias=attrs.get("use_bias", True),
        activation=activation_to_keras(attrs.get("activation")),
        name=name,
    )(inputs[0])


def _dense_read(config: Mapping[str, Any]) -> dict:
    return _with_activation({"units": int(config["units"]), "use_bias": bool(config["use_bias"])}, config)


def _gemm_from_onnx(node: OnnxNode) -> dict:
    """ONNX's Gemm as torch's Linear writes it: ``x @ B.T + C`` (transB=1), or ``x @ B + C``."""
    if node.attrs.get("transA") or len(onnx_attrs.input_shape(node)) != 2:
        raise ValueError("a Gemm of a transposed input")
    weight = onnx_attrs.weight_shape(node, 1)
    units = weight[0] if node.attrs.get("transB") else weight[1]
    return {"units": units, "use_bias": len(node.shapes) > 2 and node.shapes[2] is not None}


def _matmul_from_onnx(node: OnnxNode) -> dict:
    """ONNX's MatMul by a weight matrix of the file (a Linear without bias); a product of two computed
    tensors is not read."""
    weight = onnx_attrs.weight_shape(node, 1)
    if len(node.constants) < 2 or not node.constants[1] or node.constants[0] or len(weight) != 2:
        raise ValueError("a MatMul that is not by a weight matrix")
    return {"units": weight[1], "use_bias": False}


def _fixed_activation(fn: str) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """The reader of a raw ``keras.ops`` activation, whose function its class names (``nn.Relu``)."""
    return lambda config: {"fn": fn}


OPS = (
    conv_op("conv2d", 2),
    conv_op("depthwise_conv2d", 2, depthwise=True),
    Op(
        "batch_norm",
        Family.NORM,
        same_shape,
        _batch_norm_cost,
        keras={"BatchNormalization": _batch_norm_read},
        write=_batch_norm_write,
        backward=_batch_norm_backward,
        onnx={"BatchNormalization": _batch_norm_from_onnx},
        onnx_write=_batch_norm_to_onnx,
    ),
    Op(
        "activation",
        Family.ACTIVATION,
        same_shape,
        _activation_cost,
        field=along_axis,
        label=lambda attrs: str(attrs.get("fn", "")),
        keras={
            "Activation": _activation_read,
            "ReLU": _relu_read,
            "Softmax": _softmax_read,
            "nn.Softmax": _softmax_read,
            **{raw: _fixed_activation(fn) for raw, fn in _RAW_ACTIVATIONS.items()},
            "nn.Gelu": lambda config: {"fn": "gelu_approximate" if config.get("approximate", True) else "gelu"},
        },
        write=_activation_write,
        backward=_activation_backward,
        onnx={
            **{kind: _fixed_onnx(fn) for kind, fn in _ONNX_ACTIVATIONS.items()},
            "Softmax": _softmax_from_onnx,
            "Gelu": lambda node: {"fn": "gelu_approximate" if node.attrs.get("approximate") == "tanh" else "gelu"},
        },
        onnx_write=_activation_to_onnx,
    ),
    Op(
        "dense",
        Family.DENSE,
        _dense_shape,
        _dense_cost,
        field=per_position,
        weighted=True,
        label=_dense_label,
        keras={"Dense": _dense_read},
        write=_dense_write,
        backward=_dense_backward,
        onnx={"Gemm": _gemm_from_onnx, "MatMul": _matmul_from_onnx},
        onnx_write=_dense_to_onnx,
    ),
)
