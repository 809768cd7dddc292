"""Normalizations, scales and activation layers with parameters.

FLOPs follow ``tf.compat.v1.profiler`` on the frozen graph (measured on one-layer models at
batch 1 and 2). E is the output's elements, C its channels, R its "rows": E divided by the size
of the normalized axes. Per sample:

* Rescaling and Normalization: 2E (a multiply and an add, or a subtract and a divide), whatever
  the scale, offset or axes; Normalization also ``max(variance, epsilon)`` once per call, 1 per
  statistic (the sqrt is free);
* LayerNormalization: 6E + 5R, plus 2E - R with gamma and E with beta (9E + 4R with both);
  with ``rms_scaling`` 6E + 3R;
* GroupNormalization with G groups: 6E + 5G, plus 2C - G with gamma and C with beta;
* UnitNormalization: 3E + 2R;
* LayerScale (keras.applications ConvNeXt): E;
* PReLU: 3E, plus the negation of alpha once per call (1 per alpha value); LeakyReLU, ELU: 0.

Axes are written as Keras writes them: the batch is axis 0, negative axes count from the end.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from archviz.errors import UnsupportedOpError
from archviz.ops.backward import NO_BACKWARD, Backward, activation_backward
from archviz.ops.base import Attrs, Cost, Family, Op, Shape, ShapeError, numel, same_shape, single
from archviz.ops.field import over_axes, whole
from archviz.ops.merging import _simple


def feature_axes(axis: Any, shape: Shape, op: str) -> tuple[int, ...]:
    """Keras axes (the batch is axis 0; negatives from the end) as indices into ``shape`` (no batch)."""
    values = (axis,) if isinstance(axis, int) else tuple(axis)
    indices = set()
    for value in values:
        index = value - 1 if value > 0 else len(shape) + value
        if value == 0 or not 0 <= index < len(shape):
            raise ShapeError(f"{op}: axis {value} is out of range for an input of shape {shape}")
        indices.add(index)
    return tuple(sorted(indices))


def _axis_read(value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    return (int(value),) if isinstance(value, (int, float)) else tuple(int(v) for v in value)


def _floats(value: Any) -> Any:
    """A number, or (nested) lists of numbers as tuples of floats."""
    return tuple(_floats(v) for v in value) if isinstance(value, (list, tuple)) else float(value)


def _lists(value: Any) -> Any:
    return [_lists(v) for v in value] if isinstance(value, tuple) else value


# ---- rescaling, normalization ----------------------------------------------------------------


def _normalization_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    """(x - mean) / max(sqrt(var), eps) per element; the max once per call, on every statistic."""
    kept = math.prod(out[i] for i in feature_axes(attrs.get("axis", (-1,)), out, "normalization"))
    weights = 2 * kept + 1 if attrs.get("stats", "weights") == "weights" else 0  # mean, variance, count
    return Cost(non_trainable=weights, flops=2 * numel(out), fixed_flops=kept)


def _normalization_read(config: Mapping[str, Any]) -> dict:
    return {
        "axis": _axis_read(config.get("axis", -1)),
        "invert": bool(config.get("invert", False)),
        "stats": "weights" if config.get("mean") is None else "constants",
    }


def _normalization_write(keras: Any, name: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
    """Given statistics are written as mean 0 and variance 1 (archviz keeps the rule, not the values)."""
    constants = {"mean": 0.0, "variance": 1.0} if attrs.get("stats", "weights") == "constants" else {}
    return keras.layers.Normalization(
        axis=tuple(attrs.get("axis", (-1,))), invert=attrs.get("invert", False), name=name, **constants
    )(inputs[0])


def _rescaling_label(attrs: Attrs) -> str:
    scale, offset = attrs.get("scale", 1.0), attrs.get("offset", 0.0)
    if isinstance(scale, tuple) or isinstance(offset, tuple):
        return "per channel"
    return f"x{scale:.4g}" + (f" {'+' if offset >= 0 else '-'} {abs(offset):g}" if offset else "")


# ---- layer_norm, group_norm, unit_norm -----------------------------------------------------------


def _layer_norm_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    normalized = math.prod(out[i] for i in feature_axes(attrs.get("axis", (-1,)), out, "layer_norm"))
    elements = numel(out)
    rows = elements // normalized
    rms, center, scale = attrs.get("rms_scaling", False), attrs.get("center", True), attrs.get("scale", True)
    if rms:  # Keras keeps gamma only, whatever center and scale say
        return Cost(trainable=normalized, flops=6 * elements + 3 * rows)
    flops = 6 * elements + 5 * rows + (2 * elements - rows if scale else 0) + (elements if center else 0)
    return Cost(trainable=normalized * (int(scale) + int(center)), flops=flops)


def _layer_norm_read(config: Mapping[str, Any]) -> dict:
    attrs = {
        "axis": _axis_read(config.get("axis", -1)),
        "epsilon": float(config.get("epsilon", 1e-3)),
        "center": bool(config.get("center", True)),
        "scale": bool(config.get("scale", True)),
    }
    if config.get("rms_scaling"):
        attrs["rms_scaling"] = True
    return attrs


def _layer_norm_write(keras: Any, name: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
    return keras.layers.LayerNormalization(
        axis=list(attrs.get("axis", (-1,))),
        epsilon=attrs.get("epsilon", 1e-3),
        center=attrs.get("center", True),
        scale=attrs.get("scale", True),
        rms_scaling=attrs.get("rms_scaling", False),
        name=name,
    )(inputs[0])


def _groups(attrs: Attrs, channels: int) -> int:
    groups = attrs["groups"]
    return channels if groups == -1 else groups


def _group_norm_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = single(shapes, "group_norm")
    groups = _groups(attrs, shape[-1])
    if groups < 1 or shape[-1] % groups:
        raise ShapeError(f"group_norm with {groups} groups needs channels ({shape[-1]}) divisible by it")
    return shape


def _group_norm_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    channels, elements = out[-1], numel(out)
    groups = _groups(attrs, channels)
    center, scale = attrs.get("center", True), attrs.get("scale", True)
    flops = 6 * elements + 5 * groups + (2 * channels - groups if scale else 0) + (channels if center else 0)
    return Cost(trainable=channels * (int(center) + int(scale)), flops=flops)


def _group_norm_read(config: Mapping[str, Any]) -> dict:
    if int(config.get("axis", -1)) != -1:
        raise ValueError("group_norm over an axis other than the last is not supported")
    return {
        "groups": int(config.get("groups", 32)),
        "epsilon": float(config.get("epsilon", 1e-3)),
        "center": bool(config.get("center", True)),
        "scale": bool(config.get("scale", True)),
    }


def _unit_norm_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    normalized = math.prod(out[i] for i in feature_axes(attrs.get("axis", (-1,)), out, "unit_norm"))
    return Cost(flops=3 * numel(out) + 2 * (numel(out) // normalized))


# ---- layer_scale (ConvNeXt) -----------------------------------------------------------------------


def _layer_scale_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = single(shapes, "layer_scale")
    if shape[-1] != attrs["projection_dim"]:
        raise ShapeError(f"layer_scale of {attrs['projection_dim']} values cannot scale {shape[-1]} channels")
    return shape


def _layer_scale_write(keras: Any, name: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
    """keras.applications' own class (it loads in safe mode: Keras finds it by its module)."""
    import importlib

    convnext = importlib.import_module(f"{keras.__name__}.src.applications.convnext")
    return convnext.LayerScale(attrs.get("init_values", 1e-6), attrs["projection_dim"], name=name)(inputs[0])


# ---- prelu, leaky_relu, elu ------------------------------------------------------------------------


def _prelu_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    """max(x, 0) - alpha * relu(-x): a negation, a multiply and an add per element; -alpha once per call."""
    shared = set(feature_axes(attrs.get("shared_axes", ()), out, "prelu"))
    alphas = math.prod(1 if i in shared else size for i, size in enumerate(out))
    return Cost(trainable=alphas, flops=3 * numel(out), fixed_flops=alphas)


def _prelu_read(config: Mapping[str, Any]) -> dict:
    shared = config.get("shared_axes")
    return {"shared_axes": _axis_read(shared)} if shared else {}


def _prelu_write(keras: Any, name: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
    shared = attrs.get("shared_axes")
    return keras.layers.PReLU(shared_axes=list(shared) if shared else None, name=name)(inputs[0])


def _unit_backward(name: str, out: Shape, input_grad: bool) -> Backward:
    """The backward of activation ``name`` (:data:`~archviz.ops.backward.BACKWARD_ACTIVATIONS`)."""
    flops, keeps, inside = activation_backward(name, numel(out))
    return Backward(flops=flops, keeps=keeps, kept=inside) if input_grad else NO_BACKWARD


def _elu_backward(attrs: Attrs, shapes: Sequence[Shape], out: Shape, input_grad: bool, weights_grad: bool) -> Backward:
    """An ELU layer of alpha 1 is TensorFlow's ``Elu`` (``EluGrad``); another alpha scales its negative part
    in a selection archviz has no training rule for yet."""
    if attrs.get("alpha", 1.0) != 1.0:
        raise UnsupportedOpError("an ELU of alpha other than 1 has no training rule")
    return _unit_backward("elu", out, input_grad)


OPS = (
    Op(
        "rescaling",
        Family.NORM,
        same_shape,
        lambda attrs, shapes, out: Cost(flops=2 * numel(out)),
        label=_rescaling_label,
        keras={"Rescaling": lambda c: {"scale": _floats(c.get("scale", 1.0)), "offset": _floats(c.get("offset", 0.0))}},
        write=_simple(
            lambda k, name, a: k.layers.Rescaling(_lists(a.get("scale", 1.0)), _lists(a.get("offset", 0.0)), name=name)
        ),
    ),
    Op(
        "normalization",
        Family.NORM,
        same_shape,
        _normalization_cost,
        keras={"Normalization": _normalization_read},
        write=_normalization_write,
    ),
    Op(
        "layer_norm",
        Family.NORM,
        same_shape,
        _layer_norm_cost,
        field=over_axes("axis", batch_counted=True),
        label=lambda attrs: "rms scaling" if attrs.get("rms_scaling") else "",
        keras={"LayerNormalization": _layer_norm_read},
        write=_layer_norm_write,
    ),
    Op(
        "group_norm",
        Family.NORM,
        _group_norm_shape,
        _group_norm_cost,
        field=whole,
        label=lambda attrs: f"{attrs['groups']} groups" if attrs["groups"] != -1 else "per channel",
        keras={"GroupNormalization": _group_norm_read},
        write=_simple(
            lambda k, name, a: k.layers.GroupNormalization(
                a["groups"],
                epsilon=a.get("epsilon", 1e-3),
                center=a.get("center", True),
                scale=a.get("scale", True),
                name=name,
            )
        ),
    ),
    Op(
        "unit_norm",
        Family.NORM,
        same_shape,
        _unit_norm_cost,
        field=over_axes("axis", batch_counted=True),
        keras={"UnitNormalization": lambda c: {"axis": _axis_read(c.get("axis", -1))}},
        write=_simple(lambda k, name, a: k.layers.UnitNormalization(list(a.get("axis", (-1,))), name=name)),
    ),
    Op(
        "layer_scale",
        Family.NORM,
        _layer_scale_shape,
        lambda attrs, shapes, out: Cost(trainable=attrs["projection_dim"], flops=numel(out)),
        keras={
            "LayerScale": lambda c: {
                "projection_dim": int(c["projection_dim"]),
                "init_values": float(c.get("init_values", 1e-6)),
            }
        },
        write=_layer_scale_write,
    ),
    Op("prelu", Family.ACTIVATION, same_shape, _prelu_cost, keras={"PReLU": _prelu_read}, write=_prelu_write),
    Op(
        "leaky_relu",
        Family.ACTIVATION,
        same_shape,
        label=lambda attrs: f"slope {attrs.get('negative_slope', 0.3):g}",
        keras={"LeakyReLU": lambda c: {"negative_slope": float(c.get("negative_slope", c.get("alpha", 0.3)))}},
        write=_simple(lambda k, name, a: k.layers.LeakyReLU(negative_slope=a.get("negative_slope", 0.3), name=name)),
        onnx={"LeakyRelu": lambda node: {"negative_slope": float(node.attrs.get("alpha", 0.01))}},
        backward=lambda attrs, shapes, out, input_grad, weights_grad: _unit_backward("leaky_relu", out, input_grad),
    ),
    Op(
        "elu",
        Family.ACTIVATION,
        same_shape,
        keras={"ELU": lambda c: {"alpha": float(c.get("alpha", 1.0))}},
        write=_simple(lambda k, name, a: k.layers.ELU(alpha=a.get("alpha", 1.0), name=name)),
        onnx={"Elu": lambda node: {"alpha": float(node.attrs.get("alpha", 1.0))}},
        backward=_elu_backward,
    ),
)
