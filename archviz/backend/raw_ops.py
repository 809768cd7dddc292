"""The TensorFlow functions and operators a subclassed model's ``call`` applies between its layers
(``x + y``, ``tf.nn.relu``; ``keras.ops`` calls end in them too), and a way to watch them for the
length of one traced call (:meth:`archviz.backend.keras_import._Importer.trace`)."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator


def raw_functions(tf: Any) -> list[tuple[Any, str, str, dict]]:
    """(owner, attribute, op, attrs) of the TensorFlow functions and operators a subclassed model's
    ``call`` uses between layers (``x + y``, ``tf.nn.relu``; ``keras.ops`` calls end in them too)."""
    from tensorflow.python.framework.tensor import Tensor

    table: list[tuple[Any, str, str, dict]] = []
    for op, names in (("add", ("__add__", "__radd__")), ("multiply", ("__mul__", "__rmul__")),
                      ("subtract", ("__sub__", "__rsub__")), ("divide", ("__truediv__", "__rtruediv__"))):
        table += [(Tensor, name, op, {}) for name in names]
        table += [(tf, op, op, {}), (tf.math, op, op, {})]
    for name, fn in (("relu", "relu"), ("relu6", "relu6"), ("sigmoid", "sigmoid"), ("silu", "swish"),
                     ("swish", "swish"), ("tanh", "tanh"), ("softmax", "softmax")):
        if hasattr(tf.nn, name):
            table.append((tf.nn, name, "activation", {"fn": fn}))
    return table


@contextlib.contextmanager
def patched(table: list[tuple[Any, str, str, dict]], wrap: Any) -> Iterator[None]:
    """Every function of ``table`` replaced by ``wrap(function, op, attrs)`` for the block."""
    originals = [(owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name))
                 for owner, name, _, _ in table]
    try:
        for (owner, name, op, attrs), (_, _, function) in zip(table, originals):
            setattr(owner, name, wrap(function, op, attrs))
        yield
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)
