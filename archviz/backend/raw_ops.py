"""What a traced ``call`` may apply between its layers, and a way to watch it for the length of one call
(:mod:`archviz.backend.keras_trace`).

Two levels are watched, each named by the op table's key of a raw Keras operation (``numpy.Mean``), so
a traced call and a functional graph count an operation by the same rule:

* every ``keras.ops`` function, at the TensorFlow backend's function it dispatches to
  (``keras.src.backend.tensorflow.numpy.mean``): the public ``keras.ops.mean``, ``keras.src.ops.mean``
  and a layer's ``from keras.src import ops`` are different names of one function that all look its
  backend function up at call time, so the backend module is the one place every caller passes;
* TensorFlow's tensor operators and the ``tf`` functions a ``call`` may use directly (``x + y``,
  ``q @ k``, ``x[:, 0]``, ``tf.nn.relu``), and a Keras variable's operators (``self.gamma * x``).

The keras.ops functions end in TensorFlow functions and call each other (``ops.gelu`` in ``tf.nn.gelu``
in a tanh); the watcher records the outermost call only.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from typing import Any

Watched = tuple[Any, str, str]  # (owner: module or class, attribute, op table key)

#: keras.ops modules and their TensorFlow backend modules (keras.src.backend.<name> is the backend's).
_MODULES = ("numpy", "nn", "core", "math", "linalg", "image")
#: Not operations on tensors: they return shapes, types or Python values, or run functions.
_NOT_OPS = frozenset(
    {
        "shape",
        "is_tensor",
        "convert_to_numpy",
        "dtype",
        "result_type",
        "cond",
        "while_loop",
        "fori_loop",
        "scan",
        "map",
        "switch",
        "associative_scan",
        "custom_gradient",
        "vectorized_map",
        "unstack",
        "size",
        "ndim",
    }
)


def operation_key(module: str, class_name: str) -> str:
    """The op table's key of a Keras operation class: its module's last part and its name (``numpy.Add``)."""
    return f"{module}.{class_name}"


def function_key(module: str, function: str) -> str:
    """The key of the Keras operation class a keras.ops function makes: ``expand_dims`` is ``numpy.ExpandDims``."""
    return operation_key(module, "".join(part.capitalize() for part in function.split("_")))


def keras_functions(keras: Any) -> list[Watched]:
    """Every keras.ops function, as the backend function it dispatches to."""
    table: list[Watched] = []
    for module in _MODULES:
        ops_module = getattr(keras.src.ops, module, None)
        backend_module = getattr(keras.src.backend, module, None)
        if ops_module is None or backend_module is None:
            continue
        for name, function in vars(backend_module).items():
            if (
                name.startswith("_")
                or name in _NOT_OPS
                or not inspect.isfunction(function)
                or function.__module__ != backend_module.__name__
                or not callable(getattr(ops_module, name, None))
            ):
                continue
            table.append((backend_module, name, function_key(module, name)))
    return table


def tensorflow_functions(tf: Any, keras: Any) -> list[Watched]:
    """TensorFlow's tensor operators and functions a ``call`` uses between layers, and Keras variables'
    operators (``self.gamma * x`` runs TensorFlow's operator on the variable's value, out of sight)."""
    from keras.src.backend.common.variables import Variable
    from tensorflow.python.framework.tensor import Tensor

    table: list[Watched] = []
    for key, dunders, functions in (
        ("numpy.Add", ("__add__", "__radd__"), ("add",)),
        ("numpy.Multiply", ("__mul__", "__rmul__"), ("multiply",)),
        ("numpy.Subtract", ("__sub__", "__rsub__"), ("subtract",)),
        ("numpy.TrueDivide", ("__truediv__", "__rtruediv__"), ("divide", "truediv")),
        ("numpy.Matmul", ("__matmul__", "__rmatmul__"), ("matmul",)),
        ("numpy.Negative", ("__neg__",), ()),
        ("numpy.Power", ("__pow__",), ("pow",)),
    ):
        for owner in (Tensor, Variable):
            table += [(owner, name, key) for name in dunders if name in owner.__dict__]
        for owner in (tf, tf.math, tf.linalg):
            table += [(owner, name, key) for name in functions if hasattr(owner, name)]
    table.append((Tensor, "__getitem__", "numpy.GetItem"))
    for name, key in (
        ("relu", "nn.Relu"),
        ("relu6", "nn.Relu6"),
        ("sigmoid", "nn.Sigmoid"),
        ("silu", "nn.Silu"),
        ("swish", "nn.Silu"),
        ("tanh", "numpy.Tanh"),
        ("softmax", "nn.Softmax"),
        ("gelu", "nn.Gelu"),
    ):
        if hasattr(tf.nn, name):
            table.append((tf.nn, name, key))
    return table


def setup_functions(keras: Any) -> list[Watched]:
    """What a layer runs to make its weights (its ``build``, a variable's initializer): not the call's ops."""
    from keras.src.backend.common.variables import Variable

    table: list[Watched] = [(keras.layers.Layer, "_maybe_build", "")]
    for owner in {Variable, type(keras.Variable(0.0))}:
        if "_initialize_with_initializer" in owner.__dict__:
            table.append((owner, "_initialize_with_initializer", ""))
    return table


@contextlib.contextmanager
def patched(table: list[Watched], wrap: Any) -> Iterator[None]:
    """Every function of ``table`` replaced by ``wrap(function, key)`` for the block."""
    originals = [
        (owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name))
        for owner, name, _ in table
    ]
    try:
        for (owner, name, key), (_, _, function) in zip(table, originals):
            setattr(owner, name, wrap(function, key))
        yield
    finally:
        for owner, name, function in reversed(originals):
            setattr(owner, name, function)
