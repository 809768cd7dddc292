"""Helpers of the ops' ONNX readers: ONNX's channel-first layout in archviz's channels-last terms.

An ONNX feature map is ``(N, C, H, W)`` (``(N, C, L)``, ``(N, C, D, H, W)``); archviz's shapes leave
the batch out and put the channels last, ``(H, W, C)``. A vector ``(N, C)`` is ``(C,)``. Axes are
moved alike: ONNX's axis 1 (the channels) is the last, axis 2 (H) the first of a sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archviz.errors import UnsupportedOpError
from archviz.ops.base import OnnxNode, OnnxOut, Shape


class InvalidNode(ValueError):
    """A node whose attributes or weights break ONNX's rules (a stride of 0, a negative dilation, a group
    that does not divide the channels, an empty weight): the file is refused, not the node left uncounted."""


def sample_shape(shape: Sequence[int]) -> Shape:
    """An ONNX tensor's shape as archviz's: without the batch, channels last."""
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(f"a tensor of shape {shape} has no batch and channel axes")
    return (*shape[2:], shape[1])


def keras_axis(axis: int, rank: int) -> int:
    """An axis of an ONNX tensor of ``rank`` dimensions as a Keras axis (the batch 0, the channels last)."""
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} of a tensor of {rank} dimensions")
    axis %= rank
    if axis == 0 or rank <= 2:
        return axis
    return rank - 1 if axis == 1 else axis - 1


def sample_axis(axis: int, rank: int) -> int:
    """An axis of an ONNX tensor as an axis of archviz's sample shape (the batch left out)."""
    moved = keras_axis(axis, rank)
    if moved == 0:
        raise ValueError("an operation across the batch")
    return moved - 1


def input_shape(node: OnnxNode, index: int = 0) -> Shape:
    """The ONNX shape of input ``index``, which must be known."""
    shape = node.shapes[index] if index < len(node.shapes) else None
    if shape is None:
        raise ValueError(f"the shape of input {index} is unknown")
    return shape


def output_shape(node: OnnxNode, index: int = 0) -> Shape:
    shape = node.outputs[index] if index < len(node.outputs) else None
    if shape is None or any(d < 0 for d in shape):
        raise ValueError("its output shape is unknown (shape inference could not give it)")
    return shape


def weight_shape(node: OnnxNode, index: int) -> Shape:
    """The ONNX shape of a weight input, every size at least 1 (an empty weight is refused)."""
    shape = input_shape(node, index)
    if any(d < 1 for d in shape):
        raise InvalidNode(f"its weight (input {index}) has shape {shape[:8]}: every size must be at least 1")
    return shape


def ints(node: OnnxNode, key: str, default: Any, rank: int, minimum: int = 1) -> tuple[int, ...]:
    """An attribute of one int per spatial axis (``strides``, ``dilations``, ``kernel_shape``), ``default``
    where absent; a value below ``minimum`` breaks ONNX's rules and is refused."""
    value = node.attrs.get(key)
    values = (default,) * rank if value is None else tuple(int(v) for v in value)
    if len(values) != rank:
        raise InvalidNode(f"{key} {values[:8]} needs {rank} values")
    if any(v < minimum for v in values):
        raise InvalidNode(f"{key} {values[:8]}: each must be at least {minimum}")
    return values


def group(node: OnnxNode, channels: int, filters: int) -> int:
    """A Conv's ``group``: at least 1, dividing its input and output channels."""
    groups = int(node.attrs.get("group", 1))
    if groups < 1 or channels % groups or filters % groups:
        raise InvalidNode(
            f"group {groups} must be at least 1 and divide its {channels} input and {filters} output channels"
        )
    return groups


def padding(node: OnnxNode, rank: int, kernel: Sequence[int] = ()) -> Any:
    """archviz's padding of a conv or pool: ``same`` (auto_pad SAME_UPPER: the extra pixel at the end,
    as Keras pads), ``valid``, or one (before, after) pair per spatial axis from ``pads``
    (``[x1_begin, x2_begin, x1_end, x2_end]``) or from auto_pad SAME_LOWER (the extra pixel at the start,
    computed from the input size, ``kernel``, strides and dilations)."""
    auto = node.attrs.get("auto_pad", "NOTSET")
    if auto == "SAME_UPPER":
        return "same"
    if auto == "SAME_LOWER":
        return _same_lower(node, rank, kernel)
    if auto == "VALID":
        return "valid"
    if auto != "NOTSET":
        raise InvalidNode(f"auto_pad {auto[:40]!r}")
    pads = tuple(int(v) for v in node.attrs.get("pads") or (0,) * (2 * rank))
    if len(pads) != 2 * rank or min(pads) < 0:
        raise InvalidNode(f"pads {pads[:16]} for {rank} spatial axes: 2 per axis, none negative")
    if not any(pads):
        return "valid"
    return tuple((pads[i], pads[i + rank]) for i in range(rank))


def _same_lower(node: OnnxNode, rank: int, kernel: Sequence[int]) -> Any:
    """The pads of auto_pad SAME_LOWER: ``ceil(size / stride)`` outputs, the odd pixel of padding first."""
    size = input_shape(node)[2:]
    strides, dilation = ints(node, "strides", 1, rank), ints(node, "dilations", 1, rank)
    if len(kernel) != rank or any(d < 1 for d in size):
        raise ValueError("auto_pad SAME_LOWER of an input of unknown size")
    pairs = []
    for i in range(rank):
        span = dilation[i] * (kernel[i] - 1) + 1
        total = max(0, (-(-size[i] // strides[i]) - 1) * strides[i] + span - size[i])
        pairs.append((total - total // 2, total // 2))
    return tuple(pairs) if any(map(any, pairs)) else "valid"


def spatial_rank(node: OnnxNode) -> int:
    """How many spatial axes the first input has (``(N, C, H, W)``: 2)."""
    return len(input_shape(node)) - 2


def value(node: OnnxNode, index: int, what: str) -> Any:
    """The value of the constant input ``index`` (a list, or a number for a scalar)."""
    found = node.values[index] if index < len(node.values) else None
    if found is None:
        raise ValueError(f"its {what} is not a constant of the file")
    return found


# ---- readers of ops with settings of their own (their entries name them) --------------------------

#: ONNX's Resize modes and archviz's interpolations.
_RESIZE_MODES = {"nearest": "nearest", "linear": "bilinear", "cubic": "bicubic"}


def read_pad(node: OnnxNode) -> dict:
    """ONNX's Pad (``[x1_begin, x2_begin, ..., x1_end, ...]`` over every axis, the batch's zero)."""
    rank = len(input_shape(node))
    if len(node.values) > 3 and node.values[3] is not None:
        raise ValueError("a Pad of chosen axes")
    found = node.attrs["pads"] if "pads" in node.attrs else value(node, 1, "pads")
    pads = [int(p) for p in found]
    if len(pads) != 2 * rank or pads[0] or pads[rank]:
        raise ValueError(f"pads {pads[:16]} of a tensor of {rank} dimensions")
    pairs = [(pads[i], pads[i + rank]) for i in range(rank)]
    order = [*range(2, rank), 1] if rank > 1 else []
    return {"pad_width": tuple(pairs[a] for a in order), "mode": str(node.attrs.get("mode", "constant"))}


def read_transpose(node: OnnxNode) -> dict:
    """ONNX's perm (batch first, channels second) as a permutation of archviz's channels-last sample."""
    rank = len(input_shape(node))
    perm = [int(a) for a in (node.attrs.get("perm") or range(rank)[::-1])]
    if sorted(perm) != list(range(rank)) or perm[0] != 0:
        raise ValueError("a transpose that moves the batch")
    onnx_axis = [*range(2, rank), 1]  # the ONNX axis of each sample axis
    return {"axes": tuple(sample_axis(perm[onnx_axis[i]], rank) for i in range(rank - 1))}


def read_mean(node: OnnxNode) -> dict:
    """ONNX's ReduceMean: its axes an attribute (before opset 18) or an input; none, every axis."""
    rank = len(input_shape(node))
    axes = node.attrs.get("axes") if "axes" in node.attrs else (node.values[1] if len(node.values) > 1 else None)
    if axes is None:
        raise ValueError("a mean over every axis, the batch's too")
    axes = [axes] if isinstance(axes, int) else axes
    return {
        "axis": tuple(sample_axis(int(a), rank) for a in axes),
        "keepdims": bool(node.attrs.get("keepdims", 1)),
    }


def read_split(node: OnnxNode) -> dict:
    """ONNX's Split into its outputs: equal parts, or the sizes of ``split`` (archviz keeps the first)."""
    rank = len(input_shape(node))
    axis = sample_axis(int(node.attrs.get("axis", 0)), rank)
    sizes = node.attrs.get("split") if "split" in node.attrs else (node.values[1] if len(node.values) > 1 else None)
    if sizes is None:
        return {"sections": int(node.attrs.get("num_outputs", len(node.outputs))), "axis": axis}
    return {"sections": tuple(int(s) for s in sizes[:1]), "axis": axis}


def read_pool(node: OnnxNode) -> dict:
    """ONNX's MaxPool and AveragePool (strides default to 1, not to the window). ``ceil_mode`` rounds the
    output size up, as torch does (a last window must start inside the input or its left padding):
    archviz's floor rule gets the same size from that much more padding at the end."""
    rank = spatial_rank(node)
    if "kernel_shape" not in node.attrs:
        raise InvalidNode("a pool without kernel_shape")
    pool = ints(node, "kernel_shape", 1, rank)
    strides = ints(node, "strides", 1, rank)
    dilation = ints(node, "dilations", 1, rank)
    mode = padding(node, rank, pool)
    if node.attrs.get("ceil_mode") and mode != "same":
        size = input_shape(node)[2:]
        pads = [list(p) for p in (((0, 0),) * rank if mode == "valid" else mode)]
        for i in range(rank):
            span, total = dilation[i] * (pool[i] - 1) + 1, size[i] + sum(pads[i])
            count = -(-(total - span) // strides[i]) + 1
            if (count - 1) * strides[i] >= size[i] + pads[i][0]:
                count -= 1
            pads[i][1] += max(0, (count - 1) * strides[i] + span - total)
        mode = tuple(tuple(p) for p in pads) if any(map(any, pads)) else "valid"
    attrs: dict = {"pool": pool, "strides": strides, "padding": mode}
    if any(d != 1 for d in dilation):
        attrs["dilation"] = dilation
    return attrs


def read_resize(node: OnnxNode) -> dict:
    """ONNX's Resize of a feature map by whole factors (read from its input and output sizes)."""
    x, out = input_shape(node), output_shape(node)
    if len(x) != 4 or x[:2] != out[:2] or any(o % i for i, o in zip(x[2:], out[2:])):
        raise ValueError("a Resize that is not an upsampling of a feature map by whole factors")
    mode = str(node.attrs.get("mode", "nearest"))
    if mode not in _RESIZE_MODES:
        raise ValueError(f"a Resize of mode {mode!r}")
    return {"size": (out[2] // x[2], out[3] // x[3]), "interpolation": _RESIZE_MODES[mode]}


# ---- writing -------------------------------------------------------------------------------------

#: ONNX's activation ops by archviz's names (HardSigmoid is ONNX's alpha * x + beta, clipped).
ACTIVATION_TYPES = {
    "relu": "Relu",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "hard_sigmoid": "HardSigmoid",
    "hard_silu": "HardSwish",
    "softplus": "Softplus",
    "softsign": "Softsign",
    "selu": "Selu",
    "mish": "Mish",
}


def onnx_padding(padding: Any, rank: int) -> dict:
    """The attributes of archviz's padding on an ONNX Conv or pool: ``same`` is SAME_UPPER (Keras pads
    the extra row at the end), pairs are ``pads`` (all begins, then all ends)."""
    if padding == "same":
        return {"auto_pad": "SAME_UPPER"}
    if padding == "valid":
        return {}
    pairs = [(padding, padding)] * rank if isinstance(padding, int) else [tuple(p) for p in padding]
    return {"pads": [int(p[0]) for p in pairs] + [int(p[1]) for p in pairs]}


def write_activation(out: OnnxOut, fn: str | None, x: str) -> str:
    """The node of an activation (none for ``linear``); softmax over the channels (ONNX's axis 1)."""
    if fn in (None, "linear"):
        return x
    if fn == "softmax":
        return out.node("Softmax", [x], axis=1)
    if fn not in ACTIVATION_TYPES:
        raise UnsupportedOpError(f"activation {fn!r} has no ONNX op archviz writes")
    return out.node(ACTIVATION_TYPES[fn], [x])
