"""The op table: every op archviz knows, each declared once (:class:`~archviz.ops.base.Op`).

An op's entry holds its shape and cost rule, its training (backward) rule
(:mod:`~archviz.ops.backward`), its family, its diagram label, the Keras
classes it is imported from and exported to, and the ONNX op types it is read from and written as
(:data:`ONNX_TYPES`). Adding an op is one entry in
:mod:`~archviz.ops.layers` or :mod:`~archviz.ops.merging` plus its tests; the analysis, the
Keras importer and exporter, and the diagrams all read this table. An op missing from it is
reported by name, never counted as zero (see :func:`op_for`).

The counting conventions these rules implement are written once, in :mod:`archviz.conventions`.
May import: the shared modules (errors, limits, units) only.
"""

from __future__ import annotations

from archviz.errors import UnsupportedOpError
from archviz.ops import (
    attention,
    convolution,
    elementwise,
    indexing,
    layers,
    merging,
    moves,
    normalization,
    pooling,
    tensor,
)
from archviz.ops.base import ACTIVATIONS, Activation, Cost, Family, Op, Shape, ShapeError, activation_flops, numel

#: Every op by name.
OPS: dict[str, Op] = {
    op.name: op
    for op in (
        *layers.OPS,
        *merging.OPS,
        *tensor.OPS,
        *convolution.OPS,
        *normalization.OPS,
        *pooling.OPS,
        *moves.OPS,
        *attention.OPS,
        *elementwise.OPS,
        *indexing.OPS,
    )
}

#: The op each Keras class is imported as.
KERAS_CLASSES: dict[str, Op] = {}
for _op in OPS.values():
    for _class in _op.keras:
        if _class in KERAS_CLASSES:  # pragma: no cover (a table error, caught by the tests at once)
            raise ValueError(f"Keras class {_class} is claimed by {KERAS_CLASSES[_class].name} and {_op.name}")
        KERAS_CLASSES[_class] = _op


#: The op each ONNX op type is read as: ``Conv/2d`` (an op type keyed with its input's spatial rank) or ``Relu``.
ONNX_TYPES: dict[str, Op] = {}
for _op in OPS.values():
    for _type in _op.onnx:
        if _type in ONNX_TYPES:  # pragma: no cover (a table error, caught by the tests at once)
            raise ValueError(f"ONNX op type {_type} is claimed by {ONNX_TYPES[_type].name} and {_op.name}")
        ONNX_TYPES[_type] = _op


def onnx_op(op_type: str, spatial_rank: int | None) -> Op | None:
    """The op an ONNX node of ``op_type`` is, on an input of ``spatial_rank`` spatial axes; None: no op."""
    if spatial_rank is not None and f"{op_type}/{spatial_rank}d" in ONNX_TYPES:
        return ONNX_TYPES[f"{op_type}/{spatial_rank}d"]
    return ONNX_TYPES.get(op_type)


def op_for(name: str) -> Op:
    try:
        return OPS[name]
    except KeyError:
        raise UnsupportedOpError(f"op {name!r} has no counting rule") from None


__all__ = [
    "ACTIVATIONS",
    "Activation",
    "Cost",
    "Family",
    "KERAS_CLASSES",
    "ONNX_TYPES",
    "OPS",
    "Op",
    "Shape",
    "ShapeError",
    "activation_flops",
    "numel",
    "onnx_op",
    "op_for",
]
