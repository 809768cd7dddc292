"""The rule table: one entry per op type.

Each :class:`Rule` is a pair of pure functions: ``shape(attrs, in_shapes)``
gives the output shape and ``cost(attrs, in_shapes, out_shape)`` gives the
parameters (Keras's accounting), MACs and FLOPs. Shapes exclude the batch
dimension and are channels-last: ``(H, W, C)`` for feature maps, ``(C,)`` for
vectors. Costs are for one sample; the analysis multiplies by the batch size.

Families of similar ops are built by small factories (:func:`_pool_rule`,
:func:`_elementwise_rule`), so adding an op is one entry in :data:`RULES` and
one test. An op missing from the table is reported by name, never counted as
zero (see :func:`rule_for`).

Counting conventions (the README and the HTML report say the same):

* params: trainable and non-trainable as Keras counts them. BatchNormalization
  has gamma and beta (trainable) and the moving mean and variance
  (non-trainable) per channel.
* MACs: multiply-accumulates of convolutions (grouped and depthwise included)
  and dense layers, the paper's "FLOPs (multiply-adds)".
* FLOPs: floating-point operations of the inference graph, counted as
  ``tf.compat.v1.profiler`` counts them on the frozen graph of the same Keras
  model: 2 per MAC, 1 per bias add, 2 per element for an inference batch norm
  plus 6 per channel for folding its statistics (once per call, whatever the
  batch), k*k per output element of a k x k pooling window, 1 per input element
  of a global average pool, n - 1 per element of an n-way add, 5 per element of
  a softmax, 2 of a swish; ReLU, ReLU6, sigmoid, padding, reshapes and dropout
  are free. Two places where the profiler cannot be followed, by design: a
  grouped convolution (the profiler sees an opaque call and counts nothing) and
  a dilated one (it counts the padded SpaceToBatch blocks); archviz counts both
  as 2 per MAC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from archviz.errors import ModelError, UnsupportedOpError

Shape = tuple[int, ...]
Attrs = Mapping[str, Any]


class ShapeError(ModelError):
    """A rule cannot produce a valid output shape (the analysis adds the layer name)."""


@dataclass(frozen=True)
class Cost:
    """Costs of one sample; ``fixed_flops`` are spent once per call, whatever the batch size."""

    trainable: int = 0
    non_trainable: int = 0
    macs: int = 0
    flops: int = 0
    fixed_flops: int = 0

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(
            self.trainable + other.trainable,
            self.non_trainable + other.non_trainable,
            self.macs + other.macs,
            self.flops + other.flops,
            self.fixed_flops + other.fixed_flops,
        )


ZERO = Cost()


@dataclass(frozen=True)
class Rule:
    """How one op type transforms shapes and what it costs."""

    shape: Callable[[Attrs, Sequence[Shape]], Shape]
    cost: Callable[[Attrs, Sequence[Shape], Shape], Cost]
    family: str  # io, conv, norm, activation, pool, merge, dense, reshape, regularization
    weighted: bool = False  # a "weight layer" in the paper's sense (conv, dense)


# --------------------------------------------------------------------------
# Per-element costs of activations, as tf.profiler counts them.
# --------------------------------------------------------------------------

#: FLOPs per output element of each activation function (tf.profiler registers no cost
#: for Relu, Relu6, Sigmoid and Tanh; Softmax is 5 per element; swish is x * sigmoid(x)
#: with a scale, two multiplications).
ACTIVATION_FLOPS: dict[str, int] = {
    "linear": 0,
    "relu": 0,
    "relu6": 0,
    "sigmoid": 0,
    "tanh": 0,
    "swish": 2,
    "softmax": 5,
}


def activation_flops(name: str | None, elements: int) -> int:
    if name is None or name == "linear":
        return 0
    if name not in ACTIVATION_FLOPS:
        raise UnsupportedOpError(f"activation {name!r} has no counting rule")
    return ACTIVATION_FLOPS[name] * elements


# --------------------------------------------------------------------------
# Shape helpers
# --------------------------------------------------------------------------


def numel(shape: Shape) -> int:
    return math.prod(shape)


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    first, second = value
    return int(first), int(second)


def _padding_pairs(padding: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """Explicit padding as ((top, bottom), (left, right)) from an int, a pair or a pair of pairs."""
    if isinstance(padding, int):
        return (padding, padding), (padding, padding)
    rows, cols = padding
    return _pair(rows), _pair(cols)


def _spatial_out(size: int, kernel: int, stride: int, dilation: int, padding: Any, axis: int) -> int:
    span = dilation * (kernel - 1) + 1
    if padding == "same":
        return -(-size // stride)
    if padding == "valid":
        before = after = 0
    else:
        before, after = _padding_pairs(padding)[axis]
    return (size + before + after - span) // stride + 1


def _feature_map(shapes: Sequence[Shape], op: str) -> Shape:
    if len(shapes) != 1:
        raise ShapeError(f"{op} takes one input, got {len(shapes)}")
    shape = shapes[0]
    if len(shape) != 3:
        raise ShapeError(f"{op} needs a feature map (H, W, C), got shape {shape}")
    return shape


def _window_shape(attrs: Attrs, shape: Shape, channels: int, op: str) -> Shape:
    kh, kw = _pair(attrs["kernel"])
    sh, sw = _pair(attrs.get("strides", 1))
    dh, dw = _pair(attrs.get("dilation", 1))
    padding = attrs.get("padding", "valid")
    height = _spatial_out(shape[0], kh, sh, dh, padding, 0)
    width = _spatial_out(shape[1], kw, sw, dw, padding, 1)
    if height < 1 or width < 1:
        raise ShapeError(
            f"{op} with kernel {kh}x{kw} and stride {sh}x{sw} collapses its {shape[0]}x{shape[1]} input "
            f"to {max(height, 0)}x{max(width, 0)}: the input is too small for the network"
        )
    return (height, width, channels)


def _single(shapes: Sequence[Shape], op: str) -> Shape:
    if len(shapes) != 1:
        raise ShapeError(f"{op} takes one input, got {len(shapes)}")
    return shapes[0]


# --------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------


def _input_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = tuple(int(x) for x in attrs["shape"])
    if any(x < 1 for x in shape):
        raise ShapeError(f"input shape {shape} must be positive")
    return shape


def _no_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    return ZERO


def _conv_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = _feature_map(shapes, "conv2d")
    groups = attrs.get("groups", 1)
    filters = attrs["filters"]
    if shape[2] % groups or filters % groups:
        raise ShapeError(f"conv2d with {groups} groups needs input ({shape[2]}) and output ({filters}) channels divisible by it")
    return _window_shape(attrs, shape, filters, "conv2d")


def _conv_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    kh, kw = _pair(attrs["kernel"])
    cin = shapes[0][2]
    groups = attrs.get("groups", 1)
    weights = kh * kw * (cin // groups) * out[2]
    bias = out[2] if attrs.get("use_bias", True) else 0
    macs = numel(out) * kh * kw * (cin // groups)
    flops = 2 * macs + (numel(out) if bias else 0) + activation_flops(attrs.get("activation"), numel(out))
    return Cost(trainable=weights + bias, macs=macs, flops=flops)


def _depthwise_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = _feature_map(shapes, "depthwise_conv2d")
    return _window_shape(attrs, shape, shape[2] * attrs.get("depth_multiplier", 1), "depthwise_conv2d")


def _depthwise_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    kh, kw = _pair(attrs["kernel"])
    weights = kh * kw * out[2]
    bias = out[2] if attrs.get("use_bias", True) else 0
    macs = numel(out) * kh * kw
    flops = 2 * macs + (numel(out) if bias else 0) + activation_flops(attrs.get("activation"), numel(out))
    return Cost(trainable=weights + bias, macs=macs, flops=flops)


def _same_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    return _single(shapes, "layer")


def _batch_norm_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    """Inference BN is x * inv + (beta - mean * inv) with inv = gamma * rsqrt(var + eps):
    2 FLOPs per element, and per channel 6 (5 without gamma) to fold the statistics."""
    channels = out[-1]
    scale = bool(attrs.get("scale", True))
    trainable = channels * (int(scale) + int(attrs.get("center", True)))
    return Cost(trainable=trainable, non_trainable=2 * channels, flops=2 * numel(out),
                fixed_flops=(6 if scale else 5) * channels)


def _activation_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    return Cost(flops=activation_flops(attrs["fn"], numel(out)))


def _zero_pad_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = _feature_map(shapes, "zero_pad2d")
    (top, bottom), (left, right) = _padding_pairs(attrs["padding"])
    return (shape[0] + top + bottom, shape[1] + left + right, shape[2])


def _pool_rule(flops_per_window_element: int) -> Rule:
    """Max and average pooling: ``flops_per_window_element`` FLOPs per element of each output's window."""

    def shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
        feature_map = _feature_map(shapes, "pool")
        return _window_shape({**attrs, "kernel": attrs["pool"]}, feature_map, feature_map[2], "pooling")

    def cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
        ph, pw = _pair(attrs["pool"])
        return Cost(flops=flops_per_window_element * ph * pw * numel(out))

    return Rule(shape, cost, "pool")


def _global_pool_rule(flops_per_input_element: int) -> Rule:
    """Global pooling: a mean costs one FLOP per input element; tf.profiler counts a max as free."""
    def shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
        feature_map = _feature_map(shapes, "global pooling")
        if attrs.get("keepdims", False):
            return (1, 1, feature_map[2])
        return (feature_map[2],)

    def cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
        return Cost(flops=flops_per_input_element * numel(shapes[0]))

    return Rule(shape, cost, "pool")


def _flatten_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    return (numel(_single(shapes, "flatten")),)


def _dense_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = _single(shapes, "dense")
    return (*shape[:-1], attrs["units"])


def _dense_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    fan_in = shapes[0][-1]
    units = attrs["units"]
    bias = units if attrs.get("use_bias", True) else 0
    rows = numel(out) // units
    macs = rows * fan_in * units
    flops = 2 * macs + rows * bias + activation_flops(attrs.get("activation"), numel(out))
    return Cost(trainable=fan_in * units + bias, macs=macs, flops=flops)


def _elementwise_rule(flops_per_extra_input: int, family: str = "merge") -> Rule:
    """Add, multiply: n inputs of one shape; n - 1 operations per element."""

    def shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
        if len(shapes) < 2:
            raise ShapeError(f"a merge needs at least two inputs, got {len(shapes)}")
        if len(set(shapes)) != 1:
            raise ShapeError("cannot merge inputs of shapes " + ", ".join(str(s) for s in shapes))
        return shapes[0]

    def cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
        return Cost(flops=flops_per_extra_input * (len(shapes) - 1) * numel(out))

    return Rule(shape, cost, family)


def _concat_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    if len(shapes) < 2:
        raise ShapeError(f"concatenate needs at least two inputs, got {len(shapes)}")
    if len({s[:-1] for s in shapes}) != 1:
        raise ShapeError("cannot concatenate inputs of shapes " + ", ".join(str(s) for s in shapes))
    return (*shapes[0][:-1], sum(s[-1] for s in shapes))


def _reshape_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = _single(shapes, "reshape")
    target = list(attrs["target_shape"])
    if target.count(-1) > 1:
        raise ShapeError(f"reshape target {tuple(target)} has more than one unknown dimension")
    if -1 in target:
        known = math.prod(d for d in target if d != -1)
        target[target.index(-1)] = numel(shape) // known if known else 0
    if numel(tuple(target)) != numel(shape):
        raise ShapeError(f"cannot reshape {shape} ({numel(shape)} values) to {tuple(target)}")
    return tuple(target)


def _zero_pad3d_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = _single(shapes, "zero_pad3d")
    if len(shape) != 4:
        raise ShapeError(f"zero_pad3d needs a volume (D1, D2, D3, C), got shape {shape}")
    pads = [_pair(p) for p in attrs["padding"]]
    return (*(shape[i] + sum(pads[i]) for i in range(3)), shape[3])


def _pad_shortcut_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    """Option A: subsample by the stride and zero-pad the channels (no parameters)."""
    shape = _feature_map(shapes, "pad_shortcut")
    stride = attrs.get("strides", 1)
    channels = attrs["channels"]
    if channels < shape[2]:
        raise ShapeError(f"a zero-padding shortcut cannot reduce channels from {shape[2]} to {channels}")
    return (-(-shape[0] // stride), -(-shape[1] // stride), channels)


RULES: dict[str, Rule] = {
    "input": Rule(_input_shape, _no_cost, "io"),
    "conv2d": Rule(_conv_shape, _conv_cost, "conv", weighted=True),
    "depthwise_conv2d": Rule(_depthwise_shape, _depthwise_cost, "conv", weighted=True),
    "batch_norm": Rule(_same_shape, _batch_norm_cost, "norm"),
    "activation": Rule(_same_shape, _activation_cost, "activation"),
    "zero_pad2d": Rule(_zero_pad_shape, _no_cost, "reshape"),
    "zero_pad3d": Rule(_zero_pad3d_shape, _no_cost, "reshape"),
    "reshape": Rule(_reshape_shape, _no_cost, "reshape"),
    "max_pool2d": _pool_rule(1),
    "avg_pool2d": _pool_rule(1),
    "global_avg_pool2d": _global_pool_rule(1),
    "global_max_pool2d": _global_pool_rule(0),
    "flatten": Rule(_flatten_shape, _no_cost, "reshape"),
    "dense": Rule(_dense_shape, _dense_cost, "dense", weighted=True),
    "add": _elementwise_rule(1),
    "multiply": _elementwise_rule(1),
    "concat": Rule(_concat_shape, _no_cost, "merge"),
    "dropout": Rule(_same_shape, _no_cost, "regularization"),
    "pad_shortcut": Rule(_pad_shortcut_shape, _no_cost, "reshape"),
}


def rule_for(op: str) -> Rule:
    try:
        return RULES[op]
    except KeyError:
        raise UnsupportedOpError(f"op {op!r} has no counting rule") from None
