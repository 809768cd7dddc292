"""TensorFlow functions in Keras 2 (tf.keras) graphs: the ``TFOpLambda`` and ``SlicingOpLambda``
layers tf-keras records for ``x + y``, ``tf.nn.relu(x)``, ``x[:, 1:]``, read without TensorFlow.

Such a layer's config names its function (``"function": "math.multiply"``, TensorFlow's canonical
name without ``tf.``); its call, in the model's ``inbound_nodes``, holds the first argument (a
tensor ``[layer, node, tensor, kwargs]``, a constant ``["_CONSTANT_VALUE", -1, value, kwargs]``,
or a list of them for ``tf.concat``) and every other argument by name in ``kwargs`` (a tensor
as ``[layer, node, tensor]``: ``{"y": ["tf.nn.relu", 0, 0], "name": null}``; ``3.0 - x`` is
``["_CONSTANT_VALUE", -1, 3.0, {"y": [...]}]``).

:data:`FUNCTIONS` is the one table: function name -> the archviz op it is and how its keyword
arguments become the op's attributes (the op's own Keras reader where it has one). A function
whose output shape is known but has no cost rule (``op=None``) is kept, listed as not counted
(``TFOpLambda(tf.math.cumsum)``), and so is a variant a reader raises :class:`NotCounted` for; a
function not in the table is kept the same way only where a ``.keras`` archive records its
consumer's built input shape (:mod:`archviz.sources.keras.reader`); else, like a variant its reader refuses,
it cannot be read: archviz cannot tell its output shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from archviz.ops import KERAS_CLASSES, OPS, Family, Op, Shape
from archviz.ops.merging import broadcast

#: The Keras 2 layer classes that wrap one TensorFlow function.
TF_OP_CLASSES = ("TFOpLambda", "SlicingOpLambda")
#: How tf-keras marks a first argument that is a constant, not a tensor.
CONSTANT = "_CONSTANT_VALUE"


def is_node_data(value: Any) -> bool:
    """A tensor reference as tf-keras writes it: ``[layer, node, tensor]`` (plus ``kwargs`` in a call)."""
    return isinstance(value, list) and len(value) in (3, 4) and isinstance(value[0], str)


@dataclass(frozen=True)
class Function:
    """One TensorFlow function: ``op`` (None: its shape is known, its cost is not); ``operands``, the
    keyword arguments that are operands after the first (a tensor there is an input, a number a
    constant operand); ``read`` turns the other keyword arguments into the op's attributes (raising
    ValueError for a variant the op does not take); ``shape`` gives an uncosted function's shape."""

    op: str | None
    operands: tuple[str, ...] = ()
    read: Callable[[Mapping[str, Any]], dict] = lambda kwargs: {}
    shape: Callable[[Mapping[str, Any], Sequence[Shape]], Shape] | None = None


def _op_reader(keras_class: str, config: Callable[[Mapping[str, Any]], dict]) -> Callable[[Mapping[str, Any]], dict]:
    """The attributes the op of ``keras_class`` reads from a Keras config made of the keyword arguments."""
    return lambda kwargs: dict(KERAS_CLASSES[keras_class].keras[keras_class](config(kwargs)))


def _reduction(keras_class: str) -> Function:
    return Function(
        KERAS_CLASSES[keras_class].name,
        read=_op_reader(
            keras_class,
            lambda kw: {
                "axis": kw.get("axis", kw.get("reduction_indices")),
                "keepdims": bool(kw.get("keepdims", kw.get("keep_dims")) or False),
            },
        ),
    )


class NotCounted(ValueError):
    """A variant of a function whose output shape the table knows (``Function.shape``) but whose cost the
    op's rule does not give: the call is kept, listed as not counted."""


def _activation(fn: str, axis: str | None = None) -> Function:
    """An activation; a softmax over another axis than the last is not counted: TensorFlow transposes
    around it, and the scalar arithmetic the profiler costs there is not the same in a tf-keras graph
    (none measured) as in a Keras 3 one (:data:`archviz.ops.layers.SOFTMAX_SWAP_FLOPS`)."""

    def read(kwargs: Mapping[str, Any]) -> dict:
        if axis is not None and kwargs.get(axis, kwargs.get("dim", -1)) not in (-1, None):
            raise NotCounted(f"a {fn} over axis {kwargs.get(axis, kwargs.get('dim'))}, not the last")
        return {"fn": fn}

    return Function("activation", read=read, shape=_same_shape if axis is not None else None)


def _gelu(kwargs: Mapping[str, Any]) -> dict:
    return {"fn": "gelu_approximate" if kwargs.get("approximate") else "gelu"}


def _matmul(kwargs: Mapping[str, Any]) -> dict:
    """``transpose_a``/``transpose_b`` as the matmul op takes them (an adjoint is a transpose of real values)."""
    return {
        f"transpose_{side}": True for side in "ab" if kwargs.get(f"transpose_{side}") or kwargs.get(f"adjoint_{side}")
    }


def _index(kwargs: Mapping[str, Any]) -> dict:
    """``x[...]`` as the index op reads it: tf-keras writes each slice as ``{"start", "stop", "step"}``."""
    spec = kwargs.get("slice_spec")
    items = spec if isinstance(spec, list) else [spec]
    key: list[Any] = []
    for item in items:
        if isinstance(item, dict) and set(item) == {"start", "stop", "step"}:
            bounds = [item["start"], item["stop"], item["step"]]
            if not all(v is None or type(v) is int for v in bounds):
                raise ValueError("a slice with bounds that are not integers")
            key.append(slice(*bounds))
        elif type(item) is int or item is None:
            key.append(item)
        else:
            raise ValueError(f"an index {str(item)[:40]} that is not a slice, an integer or a new axis")
    return dict(KERAS_CLASSES["numpy.GetItem"].keras["numpy.GetItem"]({"slice_spec": tuple(key)}))


def _reshape(kwargs: Mapping[str, Any]) -> dict:
    shape = kwargs.get("shape")
    if not isinstance(shape, list) or not shape or shape[0] not in (-1, None):
        raise ValueError(f"a reshape to {str(shape)[:40]} (not [-1, ...]: the batch kept)")
    return {"target_shape": tuple(int(d) for d in shape[1:])}


def _same_shape(attrs: Mapping[str, Any], shapes: Sequence[Shape]) -> Shape:
    return broadcast(shapes)


_BINARY = ("y",)

#: function name (as tf-keras records it) -> the op it is. Extend here.
FUNCTIONS: dict[str, Function] = {
    **{name: Function("add", _BINARY) for name in ("__operators__.add", "math.add")},
    "math.add_n": Function("add"),
    "math.subtract": Function("subtract", _BINARY),
    "math.multiply": Function("multiply", _BINARY),
    **{name: Function("divide", _BINARY) for name in ("math.truediv", "math.divide", "realdiv")},
    "math.maximum": Function("maximum", _BINARY),
    "math.minimum": Function("minimum", _BINARY),
    "linalg.matmul": Function("matmul", ("b",), _matmul),
    **{
        f"{prefix}{name}": _reduction(keras_class)
        for prefix in ("math.", "compat.v1.math.")
        for name, keras_class in (
            ("reduce_mean", "numpy.Mean"),
            ("reduce_sum", "numpy.Sum"),
            ("reduce_max", "numpy.Max"),
            ("reduce_min", "numpy.Min"),
            ("reduce_prod", "numpy.Prod"),
        )
    },
    "nn.relu": _activation("relu"),
    "nn.relu6": _activation("relu6"),
    "math.sigmoid": _activation("sigmoid"),
    "math.tanh": _activation("tanh"),
    "nn.silu": _activation("swish"),
    "nn.elu": _activation("elu"),
    "nn.selu": _activation("selu"),
    "math.softplus": _activation("softplus"),
    "nn.softsign": _activation("softsign"),
    "nn.leaky_relu": _activation("leaky_relu"),
    "math.exp": _activation("exponential"),
    "nn.gelu": Function("activation", read=_gelu),
    "nn.softmax": _activation("softmax", "axis"),
    "compat.v1.nn.softmax": _activation("softmax", "axis"),
    "nn.log_softmax": _activation("log_softmax", "axis"),
    "compat.v1.nn.log_softmax": _activation("log_softmax", "axis"),
    "concat": Function("concat", read=_op_reader("Concatenate", lambda kw: {"axis": kw.get("axis", -1)})),
    "reshape": Function("reshape", read=_reshape),
    **{
        name: Function("transpose", read=_op_reader("numpy.Transpose", lambda kw: {"axes": kw.get("perm")}))
        for name in ("transpose", "compat.v1.transpose")
    },
    "math.pow": Function("power", _BINARY),
    **{
        f"math.{name}": Function(name)
        for name in ("abs", "square", "sqrt", "rsqrt", "negative", "log", "erf", "reciprocal")
    },
    **{name: Function(None, _BINARY, shape=_same_shape) for name in ("math.squared_difference",)},
    "math.cumsum": Function(None, shape=_same_shape),
    "__operators__.getitem": Function("index", read=_index),
}


def resolve(function: str, call: Any) -> tuple[Op, dict]:
    """The op of one call of ``function`` (a stand-in without a cost rule, listed as not counted, where
    the table has none) and its attributes (``constants``: the number operands, ``x * 2.0``); ValueError
    says why archviz cannot read it."""
    entry = FUNCTIONS.get(function)
    if entry is None:
        raise ValueError("archviz has no rule for this function and cannot tell its output shape")
    leaves = first_argument(call)
    kwargs = leaves[0][3] if len(leaves[0]) == 4 and isinstance(leaves[0][3], dict) else {}
    constants = [leaf[2] for leaf in leaves if leaf[0] == CONSTANT]
    constants += [kwargs[name] for name in entry.operands if name in kwargs and not is_node_data(kwargs[name])]
    if not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in constants):
        raise ValueError("a constant operand that is not a number")
    rest = {key: value for key, value in kwargs.items() if key not in entry.operands and key != "name"}
    if any(is_node_data(value) for value in rest.values()):
        raise ValueError(f"a tensor as its argument {next(k for k, v in rest.items() if is_node_data(v))!r}")
    try:
        attrs = entry.read(rest)
    except NotCounted:
        if entry.shape is None:
            raise
        return Op("TFOpLambda", Family.UNKNOWN, entry.shape), {}
    if entry.op is not None:
        op = OPS[entry.op]
        if constants and op.family != Family.MERGE:
            raise ValueError("a constant operand")
        return op, attrs | ({"constants": len(constants)} if constants else {})
    assert entry.shape is not None
    return Op("TFOpLambda", Family.UNKNOWN, entry.shape), attrs


def first_argument(call: Any) -> list[list]:
    """The tensors and constants of a call's first argument, in order (a list of them for ``tf.concat``)."""
    if is_node_data(call):
        return [call]
    leaves, stack = [], [call]
    while stack:
        item = stack.pop()
        if is_node_data(item):
            leaves.append(item)
        elif isinstance(item, list):
            stack.extend(reversed(item))
        else:
            raise ValueError(f"{str(item)[:40]} is not [layer, node, tensor]")
    if not leaves:
        raise ValueError("a call without arguments")
    return leaves
