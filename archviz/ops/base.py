"""What an op is: its family, its shape and cost rule, its label, and how it maps to Keras.

Shapes exclude the batch dimension and are channels-last: ``(H, W, C)`` for feature maps,
``(C,)`` for vectors. Costs are for one sample; the analysis multiplies by the batch size.
The Keras side of an op is plain data and functions that receive the ``keras`` module as an
argument, so nothing here imports TensorFlow.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from archviz.errors import ModelError, UnsupportedOpError

Shape = tuple[int, ...]
Attrs = Mapping[str, Any]


class ShapeError(ModelError):
    """A rule cannot produce a valid output shape (the analysis adds the layer name)."""


class Family(str, enum.Enum):
    """What kind of work an op does: the diagram's colours and legend, the report's groups."""

    IO = "io"
    CONV = "conv"
    NORM = "norm"
    ACTIVATION = "activation"
    POOL = "pool"
    MERGE = "merge"
    DENSE = "dense"
    RESHAPE = "reshape"
    REGULARIZATION = "regularization"
    UNKNOWN = "unknown"  # a layer no rule counts (imported models only)

    def __str__(self) -> str:
        return self.value


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


ZERO = Cost()

ShapeRule = Callable[[Attrs, Sequence[Shape]], Shape]
CostRule = Callable[[Attrs, Sequence[Shape], Shape], Cost]
#: a Keras layer's config -> the op's attributes
KerasReader = Callable[[Mapping[str, Any]], dict]
#: (keras module, layer name, attrs, input tensors, output shape) -> output tensor
KerasWriter = Callable[[Any, str, Attrs, list, Shape], Any]


def _no_label(attrs: Attrs) -> str:
    return ""


def _no_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    return ZERO


@dataclass(frozen=True)
class Op:
    """Everything about one op type, in one place.

    * ``shape`` and ``cost``: the rule (pure functions of the attributes and input shapes);
    * ``family`` and ``weighted`` (a "weight layer" in the paper's sense: conv, dense);
    * ``label``: its key attributes as diagrams and tables show them (``3x3/2, 128``);
    * ``keras``: each Keras class imported as this op, with the function that turns such a
      layer's config (``layer.get_config()``, or a model file's JSON) into attributes;
    * ``write``: builds the Keras layer on export.
    """

    name: str
    family: Family
    shape: ShapeRule
    cost: CostRule = _no_cost
    weighted: bool = False
    label: Callable[[Attrs], str] = _no_label
    keras: Mapping[str, KerasReader] = field(default_factory=dict)
    write: KerasWriter | None = None


# --------------------------------------------------------------------------
# Activations: one table for the rules, the zoo's choices and Keras's names
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Activation:
    flops: int  # per output element, as tf.profiler counts them
    keras: str  # the name Keras serializes it under


#: tf.profiler registers no cost for Relu, Relu6, Sigmoid and Tanh; Softmax is 5 per element; swish
#: is x * sigmoid(x) with a scale, two multiplications.
ACTIVATIONS: dict[str, Activation] = {
    "linear": Activation(0, "linear"),
    "relu": Activation(0, "relu"),
    "relu6": Activation(0, "relu6"),
    "sigmoid": Activation(0, "sigmoid"),
    "tanh": Activation(0, "tanh"),
    "swish": Activation(2, "silu"),
    "softmax": Activation(5, "softmax"),
}
_FROM_KERAS = {activation.keras: name for name, activation in ACTIVATIONS.items()}


def activation_flops(name: str | None, elements: int) -> int:
    if name is None or name == "linear":
        return 0
    if name not in ACTIVATIONS:
        raise UnsupportedOpError(f"activation {name!r} has no counting rule")
    return ACTIVATIONS[name].flops * elements


def activation_from_keras(value: Any) -> str | None:
    """archviz's name of a Keras activation as a config holds it (a name, or a serialized function)."""
    if isinstance(value, Mapping):  # {"class_name": "function", "config": "relu", ...}
        value = value.get("config") if isinstance(value.get("config"), str) else value.get("class_name")
    name = getattr(value, "__name__", None) or str(value)
    name = _FROM_KERAS.get(name, name)
    return None if name == "linear" else name


def activation_to_keras(name: str | None) -> str | None:
    return None if name in (None, "linear") else ACTIVATIONS[name].keras if name in ACTIVATIONS else name


# --------------------------------------------------------------------------
# Shape helpers
# --------------------------------------------------------------------------


def numel(shape: Shape) -> int:
    return math.prod(shape)


def pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    first, second = value
    return int(first), int(second)


def padding_pairs(padding: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """Explicit padding as ((top, bottom), (left, right)) from an int, a pair or a pair of pairs."""
    if isinstance(padding, int):
        return (padding, padding), (padding, padding)
    rows, cols = padding
    return pair(rows), pair(cols)


def _spatial_out(size: int, kernel: int, stride: int, dilation: int, padding: Any, axis: int) -> int:
    span = dilation * (kernel - 1) + 1
    if padding == "same":
        return -(-size // stride)
    if padding == "valid":
        before = after = 0
    else:
        before, after = padding_pairs(padding)[axis]
    return (size + before + after - span) // stride + 1


def feature_map(shapes: Sequence[Shape], op: str) -> Shape:
    shape = single(shapes, op)
    if len(shape) != 3:
        raise ShapeError(f"{op} needs a feature map (H, W, C), got shape {shape}")
    return shape


def window_shape(attrs: Attrs, shape: Shape, channels: int, op: str) -> Shape:
    kh, kw = pair(attrs["kernel"])
    sh, sw = pair(attrs.get("strides", 1))
    dh, dw = pair(attrs.get("dilation", 1))
    padding = attrs.get("padding", "valid")
    height = _spatial_out(shape[0], kh, sh, dh, padding, 0)
    width = _spatial_out(shape[1], kw, sw, dw, padding, 1)
    if height < 1 or width < 1:
        raise ShapeError(
            f"{op} with kernel {kh}x{kw} and stride {sh}x{sw} collapses its {shape[0]}x{shape[1]} input "
            f"to {max(height, 0)}x{max(width, 0)}: the input is too small for the network"
        )
    return (height, width, channels)


def single(shapes: Sequence[Shape], op: str) -> Shape:
    if len(shapes) != 1:
        raise ShapeError(f"{op} takes one input, got {len(shapes)}")
    return shapes[0]


def same_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    return single(shapes, "layer")


# --------------------------------------------------------------------------
# Keras helpers shared by the ops' readers and writers
# --------------------------------------------------------------------------


def keras_padding(padding: Any) -> tuple[str, Any]:
    """(Keras padding mode, explicit ((t, b), (l, r)) or None) of an op's padding."""
    if padding in ("same", "valid"):
        return padding, None
    if isinstance(padding, int):
        padding = ((padding, padding), (padding, padding))
    return "valid", tuple(tuple(int(v) for v in p) for p in padding)


def keras_padded(keras: Any, name: str, x: Any, padding: Any) -> tuple[Any, str]:
    """Explicit (torch-style) padding becomes a ``ZeroPadding2D`` named ``<name>_pad`` before a valid layer."""
    mode, explicit = keras_padding(padding)
    if explicit is not None and any(any(p) for p in explicit):
        x = keras.layers.ZeroPadding2D(padding=explicit, name=f"{name}_pad")(x)
    return x, mode


def nested_ints(value: Any) -> Any:
    """Lists (from JSON) and tuples of ints, as tuples."""
    if isinstance(value, (list, tuple)):
        return tuple(nested_ints(v) for v in value)
    return int(value)
