"""What an op is: its family, its shape and cost rule, its label, and how it maps to Keras.

Shapes exclude the batch dimension and are channels-last: ``(H, W, C)`` for feature maps,
``(C,)`` for vectors. Costs are for one sample; the analysis multiplies by the batch size.
The Keras side of an op is plain data and functions that receive the ``keras`` module as an
argument, so nothing here imports TensorFlow.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol

from archviz.datarecord import RecordTuple
from archviz.errors import ModelError, UnsupportedOpError
from archviz.ops.backward import BackwardRule

Shape = tuple[int, ...]
Attrs = Mapping[str, Any]


class ShapeError(ModelError):
    """A rule cannot produce a valid output shape (the analysis adds the layer name)."""


class Family(enum.StrEnum):
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


class Cost(RecordTuple):
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
#: The modules of raw ``keras.ops`` operations (not layers): a functional graph's operation nodes and a
#: traced call's functions, keyed in the op table by module and class (``numpy.Mean``).
RAW_OPS = "keras.src.ops."
#: a Keras layer's config -> the op's attributes
KerasReader = Callable[[Mapping[str, Any]], dict]


class OnnxNode(RecordTuple):
    """An ONNX node as an op's ONNX reader sees it (:mod:`archviz.ops.onnx_attrs` has the helpers).

    ``attrs`` are its attributes as plain values; ``shapes`` the ONNX shapes of its inputs and
    ``outputs`` of its outputs (batch first, channels second, an open size -1; None where unknown or
    absent); ``constants`` which inputs are constants of the file (weights, settings); ``values`` the
    values of its small constant inputs (lists of numbers, None otherwise).
    """

    attrs: Mapping[str, Any]
    shapes: Sequence[tuple[int, ...] | None]
    outputs: Sequence[tuple[int, ...] | None]
    constants: Sequence[bool] = ()
    values: Sequence[Any] = ()


#: an ONNX node -> the op's attributes (a ValueError: a variant the op's rule does not take)
OnnxReader = Callable[[OnnxNode], dict]


class OnnxOut(Protocol):
    """What an op's ONNX writer writes with (:mod:`archviz.sources.onnx.onnx_writer`): nodes named after
    the layer's path, and the layer's initializers (untrained values)."""

    def node(self, op_type: str, inputs: list[str], **attrs: Any) -> str:
        """Add a node; returns its output tensor."""
        ...

    def weight(self, suffix: str, dims: Sequence[int], fill: float = 0.0) -> str:
        """A float initializer of the layer (``conv1.weight``); returns its name."""
        ...

    def ints(self, suffix: str, values: Sequence[int]) -> str:
        """An int64 initializer (a shape, pads): a setting, not a param."""
        ...


#: (out, attrs, input tensors, input shapes channels last, output shape) -> the output tensor
OnnxWriter = Callable[[OnnxOut, Mapping[str, Any], list[str], list[tuple[int, ...]], tuple[int, ...]], str]
#: (keras module, layer name, attrs, input tensors, output shape) -> output tensor
KerasWriter = Callable[[Any, str, Attrs, list, Shape], Any]


def _no_label(attrs: Attrs) -> str:
    return ""


def _no_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    return ZERO


class Op(RecordTuple):
    """Everything about one op type, in one place.

    * ``shape`` and ``cost``: the rule (pure functions of the attributes and input shapes);
    * ``family`` and ``weighted`` (a "weight layer" in the paper's sense: conv, dense);
    * ``label``: its key attributes as diagrams and tables show them (``3x3/2, 128``);
    * ``word``: the op in words in a diagram (None: its name with spaces, ``batch norm``; empty where
      its label says it all: option A's ``zero padding``);
    * ``keras``: each Keras class imported as this op, with the function that turns such a
      layer's config (``layer.get_config()``, or a model file's JSON) into attributes;
    * ``onnx``: each ONNX op type read as this op, with the function that turns such a node into
      attributes; an op type that is a different op by the rank of its input is keyed with it
      (``Conv/2d`` is conv2d, ``Conv/1d`` conv1d);
    * ``write``: builds the Keras layer on export; ``onnx_write`` writes its ONNX nodes;
    * ``activation``: whether its output is activation memory (False for a held weight, which is
      parameter memory);
    * ``field``: its receptive-field rule (:mod:`~archviz.ops.field`; None: its family's, if any).
    * ``backward``: its training rule (:mod:`archviz.ops.backward`); None where archviz has none (the
      training totals then leave the layer out and name it).
    """

    name: str
    family: Family
    shape: ShapeRule
    cost: CostRule = _no_cost
    weighted: bool = False
    label: Callable[[Attrs], str] = _no_label
    word: str | None = None
    keras: Mapping[str, KerasReader] = MappingProxyType({})
    write: KerasWriter | None = None
    onnx: Mapping[str, OnnxReader] = MappingProxyType({})
    onnx_write: OnnxWriter | None = None
    activation: bool = True
    field: Callable[..., Any] | None = None
    backward: BackwardRule | None = None


def with_constants(op: Op | None, attrs: dict, constants: int) -> dict:
    """``attrs`` with the scalar operands of an element-wise op (``x * 2.0`` has one: ``constants``), as
    every importer records them; another op's numbers are settings, not operands."""
    if constants and op is not None and op.family == Family.MERGE:
        attrs["constants"] = constants
    return attrs


# --------------------------------------------------------------------------
# Activations: one table for the rules, the zoo's choices and Keras's names
# --------------------------------------------------------------------------


class Activation(RecordTuple):
    flops: int  # per output element, as tf.profiler counts them
    keras: str | None  # the name Keras serializes it under (None: no Keras activation has this name)


#: tf.profiler registers no cost for Relu, Relu6, Sigmoid, Tanh, Elu, Selu, Softplus, Softsign, Exp,
#: LeakyRelu and LogSoftmax. The others are their graph's arithmetic ops: softmax 5 per element;
#: swish x * sigmoid(x) with a scale, 2 multiplications; hard_sigmoid an add and a divide; hard_silu
#: (alias hard_swish) those and a multiply; mish x * tanh(softplus(x)), 1 multiply; exact gelu
#: (Keras's default) a negation and 3 multiplications around an uncounted erfc; the tanh
#: approximation of gelu 7 (a power, 2 adds, 4 multiplies), which no Keras activation name selects
#: (``keras.ops.gelu(x, approximate=True)`` does).
ACTIVATIONS: dict[str, Activation] = {
    "linear": Activation(0, "linear"),
    "relu": Activation(0, "relu"),
    "relu6": Activation(0, "relu6"),
    "sigmoid": Activation(0, "sigmoid"),
    "tanh": Activation(0, "tanh"),
    "swish": Activation(2, "silu"),
    "softmax": Activation(5, "softmax"),
    "gelu": Activation(4, "gelu"),
    "gelu_approximate": Activation(7, None),
    "hard_silu": Activation(3, "hard_silu"),
    "hard_sigmoid": Activation(2, "hard_sigmoid"),
    "mish": Activation(1, "mish"),
    "elu": Activation(0, "elu"),
    "selu": Activation(0, "selu"),
    "softplus": Activation(0, "softplus"),
    "softsign": Activation(0, "softsign"),
    "exponential": Activation(0, "exponential"),
    "leaky_relu": Activation(0, "leaky_relu"),
    "log_softmax": Activation(0, "log_softmax"),
}
_FROM_KERAS = {activation.keras: name for name, activation in ACTIVATIONS.items() if activation.keras is not None}
_FROM_KERAS["hard_swish"] = "hard_silu"  # Keras's alias, saved as hard_silu


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
    if name in (None, "linear"):
        return None
    if name not in ACTIVATIONS:
        return name
    if ACTIVATIONS[name].keras is None:
        raise UnsupportedOpError(f"activation {name!r} has no Keras name: it cannot be exported to Keras")
    return ACTIVATIONS[name].keras


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


def ntuple(value: Any, n: int, what: str = "value") -> tuple[int, ...]:
    """An int (repeated) or a sequence of ``n`` ints, as a tuple of ``n`` ints."""
    if isinstance(value, int):
        return (value,) * n
    values = tuple(int(v) for v in value)
    if len(values) != n:
        raise ShapeError(f"{what} {values} needs {n} values, one per spatial dimension")
    return values


def explicit_pads(padding: Any, n: int) -> tuple[tuple[int, int], ...]:
    """Explicit padding as one (before, after) pair per spatial axis, from an int or per-axis ints or pairs."""
    if isinstance(padding, int):
        return ((padding, padding),) * n
    pads = tuple(pair(p) for p in padding)
    if len(pads) != n:
        raise ShapeError(f"padding {padding} needs {n} values, one per spatial dimension")
    return pads


def _spatial_out(size: int, kernel: int, stride: int, dilation: int, before: int, after: int, padding: Any) -> int:
    span = dilation * (kernel - 1) + 1
    if padding in ("same", "causal"):  # causal pads dilation * (kernel - 1) in front: the length of "same"
        return -(-size // stride)
    return (size + before + after - span) // stride + 1


def feature_map(shapes: Sequence[Shape], op: str) -> Shape:
    shape = single(shapes, op)
    if len(shape) != 3:
        raise ShapeError(f"{op} needs a feature map (H, W, C), got shape {shape}")
    return shape


def spatial_map(shapes: Sequence[Shape], rank: int, op: str) -> Shape:
    """The one input of an op over ``rank`` spatial dimensions, channels last."""
    shape = single(shapes, op)
    if len(shape) != rank + 1:
        layout = {1: "(L, C)", 2: "(H, W, C)", 3: "(D, H, W, C)"}.get(rank, f"{rank} spatial dims and channels")
        raise ShapeError(f"{op} needs an input {layout}, got shape {shape}")
    return shape


def window_shape(attrs: Attrs, shape: Shape, channels: int, op: str) -> Shape:
    """Output shape of a sliding window (conv, pool) over every axis of ``shape`` but the last."""
    n = len(shape) - 1
    kernel = ntuple(attrs["kernel"], n, "kernel")
    strides = ntuple(attrs.get("strides", 1), n, "strides")
    dilation = ntuple(attrs.get("dilation", 1), n, "dilation")
    padding = attrs.get("padding", "valid")
    pads = ((0, 0),) * n if padding in ("same", "valid", "causal") else explicit_pads(padding, n)
    for key, values in (("kernel", kernel), ("strides", strides), ("dilation", dilation)):
        if min(values) < 1:
            raise ShapeError(f"{op} with {key} {'x'.join(map(str, values))}: each must be at least 1")
    if any(min(pair) < 0 for pair in pads):
        raise ShapeError(f"{op} with padding {pads}: none may be negative")
    sizes = tuple(_spatial_out(shape[i], kernel[i], strides[i], dilation[i], *pads[i], padding) for i in range(n))
    if min(sizes) < 1:
        dims = "x".join
        raise ShapeError(
            f"{op} with kernel {dims(map(str, kernel))} and stride {dims(map(str, strides))} collapses its "
            f"{dims(map(str, shape[:n]))} input to {dims(str(max(s, 0)) for s in sizes)}: the input is too small "
            f"for the network"
        )
    return (*sizes, channels)


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


def nested_ints(value: Any) -> Any:
    """Lists (from JSON) and tuples of ints, as tuples."""
    if isinstance(value, (list, tuple)):
        return tuple(nested_ints(v) for v in value)
    return int(value)
