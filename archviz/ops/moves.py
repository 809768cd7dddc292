"""Ops that move values without pooling them: cropping, permuting, 1-D padding, upsampling, identity and
stochastic depth (the last from keras.applications).

FLOPs follow ``tf.compat.v1.profiler``: a nearest-neighbour (or Lanczos) upsampling 2 once per call,
whatever the batch (the scalar arithmetic of its repeat), other interpolations nothing. Cropping,
permuting, padding, identity and stochastic depth (at inference) are free.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import archviz.ops.onnx_attrs as onnx_attrs
from archviz.errors import UnsupportedOpError
from archviz.ops.backward import NO_BACKWARD, Backward, free_backward
from archviz.ops.base import (
    Attrs,
    Cost,
    Family,
    Op,
    Shape,
    ShapeError,
    nested_ints,
    ntuple,
    numel,
    same_shape,
    single,
    spatial_map,
)
from archviz.ops.convolution import channels_last
from archviz.ops.field import passthrough, shift
from archviz.ops.merging import _simple
from archviz.ops.pooling import _pad1d, ntuple_pairs

# ---- cropping, permute, padding, upsampling --------------------------------------------------------


def _crop_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    fmap = spatial_map(shapes, 2, "cropping2d")
    (top, bottom), (left, right) = ntuple_pairs(attrs["cropping"], 2)
    out = (fmap[0] - top - bottom, fmap[1] - left - right, fmap[2])
    if min(out) < 1:
        raise ShapeError(f"cropping {attrs['cropping']} leaves nothing of a {fmap[0]}x{fmap[1]} input")
    return out


def _permute_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = single(shapes, "permute")
    dims = tuple(attrs["dims"])
    if sorted(dims) != list(range(1, len(shape) + 1)):
        raise ShapeError(f"permute dims {dims} are not a permutation of the axes 1..{len(shape)} of {shape}")
    return tuple(shape[d - 1] for d in dims)


def _zero_pad1d_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    length, channels = spatial_map(shapes, 1, "zero_pad1d")
    before, after = _pad1d(attrs["padding"])
    return (length + before + after, channels)


#: FLOPs once per call of UpSampling2D by interpolation: the profiler sees the scalar arithmetic of
#: nearest's repeat and Lanczos's kernel scale, and no statistic for the resize ops themselves.
UPSAMPLING_FIXED_FLOPS = {"nearest": 2, "bilinear": 0, "bicubic": 0, "area": 0, "lanczos3": 2, "lanczos5": 2}


def _upsampling_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    height, width, channels = spatial_map(shapes, 2, "upsampling2d")
    sh, sw = ntuple(attrs["size"], 2)
    return (height * sh, width * sw, channels)


def _upsampling_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    interpolation = attrs.get("interpolation", "nearest")
    if interpolation not in UPSAMPLING_FIXED_FLOPS:
        raise UnsupportedOpError(f"upsampling2d interpolation {interpolation!r} has no counting rule")
    return Cost(fixed_flops=UPSAMPLING_FIXED_FLOPS[interpolation])


def _upsampling_backward(
    attrs: Attrs, shapes: Sequence[Shape], out: Shape, input_grad: bool, weights_grad: bool
) -> Backward:
    """Keras's nearest upsampling repeats rows, then columns: its gradient sums the output's over the
    repeated columns (1 per output element), then over the repeated rows (1 per element of that sum).
    Keeps nothing. Other interpolations, and a factor of 1, have no training rule yet."""
    sh, sw = ntuple(attrs["size"], 2)
    if attrs.get("interpolation", "nearest") != "nearest" or min(sh, sw) < 2:
        raise UnsupportedOpError("this upsampling has no training rule")
    return Backward(flops=numel(out) + numel(out) // sw) if input_grad else NO_BACKWARD


def _upsampling_read(config: Mapping[str, Any]) -> dict:
    channels_last(config)
    interpolation = config.get("interpolation", "nearest")
    if interpolation not in UPSAMPLING_FIXED_FLOPS:
        raise ValueError(f"interpolation {interpolation!r} has no counting rule")
    return {"size": ntuple(nested_ints(config.get("size", 2)), 2), "interpolation": interpolation}


def _from_config(key: str, convert: Callable[[Any], Any]) -> Callable[[Mapping[str, Any]], dict]:
    def read(config: Mapping[str, Any]) -> dict:
        channels_last(config)
        return {key: convert(config[key])}

    return read


def _stochastic_depth_write(keras: Any, name: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
    """keras.applications' own class (it loads in safe mode: Keras finds it by its module)."""
    import importlib

    convnext = importlib.import_module(f"{keras.__name__}.src.applications.convnext")
    return convnext.StochasticDepth(attrs.get("rate", 0.0), name=name)(inputs[0])


OPS = (
    Op(
        "cropping2d",
        Family.RESHAPE,
        _crop_shape,
        field=shift("cropping", sign=-1),
        keras={"Cropping2D": _from_config("cropping", lambda v: ntuple_pairs(nested_ints(v), 2))},
        write=_simple(lambda k, name, a: k.layers.Cropping2D(ntuple_pairs(a["cropping"], 2), name=name)),
        backward=free_backward,  # a pad of the gradient
    ),
    Op(
        "permute",
        Family.RESHAPE,
        _permute_shape,
        label=lambda attrs: "dims " + ",".join(map(str, attrs["dims"])),
        keras={"Permute": _from_config("dims", nested_ints)},
        write=_simple(lambda k, name, a: k.layers.Permute(tuple(a["dims"]), name=name)),
        backward=free_backward,  # a transpose of the gradient
    ),
    Op(
        "zero_pad1d",
        Family.RESHAPE,
        _zero_pad1d_shape,
        field=shift("padding"),
        keras={"ZeroPadding1D": _from_config("padding", lambda v: _pad1d(nested_ints(v)))},
        write=_simple(lambda k, name, a: k.layers.ZeroPadding1D(_pad1d(a["padding"]), name=name)),
        backward=free_backward,  # a slice of the gradient
    ),
    Op(
        "upsampling2d",
        Family.RESHAPE,
        _upsampling_shape,
        _upsampling_cost,
        label=lambda attrs: f"{'x'.join(map(str, ntuple(attrs['size'], 2)))} {attrs.get('interpolation', 'nearest')}",
        keras={"UpSampling2D": _upsampling_read},
        write=_simple(
            lambda k, name, a: k.layers.UpSampling2D(
                ntuple(a["size"], 2), interpolation=a.get("interpolation", "nearest"), name=name
            )
        ),
        onnx={"Resize/2d": onnx_attrs.read_resize},
        backward=_upsampling_backward,
    ),
    Op(
        "identity",
        Family.RESHAPE,
        same_shape,
        field=passthrough,
        keras={"Identity": lambda config: {}},
        write=_simple(lambda k, name, a: k.layers.Identity(name=name)),
        onnx={"Identity": lambda node: {}},
        onnx_write=lambda out, attrs, inputs, shapes, shape: out.node("Identity", inputs[:1]),
        backward=free_backward,  # the gradient itself
    ),
    Op(
        "stochastic_depth",
        Family.REGULARIZATION,
        same_shape,
        label=lambda attrs: f"rate {attrs.get('rate', 0)}",
        keras={
            "StochasticDepth": lambda config: {"rate": float(config.get("drop_path_rate", 0.0))},
            "DropPath": lambda config: {"rate": float(config.get("rate", 0.0))},
        },
        write=_stochastic_depth_write,
    ),
)
