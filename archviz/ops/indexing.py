"""Indexing a tensor between layers (``x[:, 0]``, ``x[..., :3]``), as a traced call records it.

TensorFlow runs an index as a strided slice, which the profiler costs at 0. The index comes from the
call (Keras's ``GetItem`` takes it at call time, so a functional graph's config does not hold it and
a functional ``x[:, 0]`` stays not counted). The output shape is numpy's, computed on a view with
zero strides, so no shape costs memory.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any

from archviz.ops.base import Attrs, Family, Op, Shape, ShapeError, single


def _index_read(config: Mapping[str, Any]) -> dict:
    """The index of ``x[...]`` as data (``("slice", 0, 3, None)``, ``("index", 0)``, ``("...",)``,
    ``("new",)``), without the batch's ``:``; an index into the batch, or by a tensor, is not read."""
    spec = config["slice_spec"]
    items = spec if isinstance(spec, tuple) else (spec,)
    if not items or not (items[0] is Ellipsis or items[0] == slice(None)):
        raise ValueError("an index into the batch")
    key: list[tuple] = []
    for item in items[1:] if items[0] is not Ellipsis else items:
        if item is Ellipsis:
            key.append(("...",))
        elif item is None:
            key.append(("new",))
        elif isinstance(item, slice):
            key.append(
                ("slice", *(None if v is None else operator.index(v) for v in (item.start, item.stop, item.step)))
            )
        else:
            key.append(("index", operator.index(item)))
    return {"key": tuple(key)}


def _index_key(attrs: Attrs) -> tuple:
    parts = {"...": lambda *_: Ellipsis, "new": lambda *_: None, "slice": lambda *v: slice(*v), "index": lambda v: v}
    return tuple(parts[item[0]](*item[1:]) for item in attrs["key"])


def _index_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    import numpy as np

    shape = single(shapes, "index")
    try:  # a view with zero strides: no memory, whatever the shape
        return tuple(int(d) for d in np.broadcast_to(np.empty((), bool), shape)[_index_key(attrs)].shape)
    except (IndexError, TypeError, ValueError) as error:
        raise ShapeError(f"cannot index a shape {shape}: {error}") from None


def _index_write(keras: Any, name: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
    key = _index_key(attrs)
    key = key if key[:1] == (Ellipsis,) else (slice(None), *key)
    return keras.src.ops.numpy.GetItem(name=name)(inputs[0], key)


OPS = (Op("index", Family.RESHAPE, _index_shape, keras={"numpy.GetItem": _index_read}, write=_index_write),)
