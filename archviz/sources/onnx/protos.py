"""Reading the protobuf messages of an ONNX model: a value's inferred shape, a Constant's tensor, a
node's plain attributes (bounded: a list attribute of more than :data:`MAX_VALUE_ELEMENTS` values is
not read)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from archviz.core.graph import Shape
from archviz.errors import RuntimeFailure

#: Constant inputs up to this many elements are read as values (a Clip's bounds, a Pad's widths).
MAX_VALUE_ELEMENTS = 64
#: TensorProto data types of floating point: float, float16, double, bfloat16, the float8s, float4.
FLOAT_TYPES = frozenset({1, 10, 11, 16, 17, 18, 19, 20, 23})


def shape_of(value: Any) -> Shape | None:
    """A value's inferred shape (an open size -1), None where it has none."""
    kind = value.type
    if not kind.HasField("tensor_type") or not kind.tensor_type.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else -1 for d in kind.tensor_type.shape.dim)


def constant_tensor(node: Any) -> Any:
    """A Constant node's value as a tensor proto (its ``value``), or None (value_float, value_ints...)."""
    for attribute in node.attribute:
        if attribute.name == "value" and attribute.HasField("t"):
            return attribute.t
    return None


#: AttributeProto types read as values: FLOAT, INT, STRING, FLOATS, INTS, STRINGS (others are skipped).
_ATTRIBUTE_FIELDS = {1: "f", 2: "i", 3: "s", 6: "floats", 7: "ints", 8: "strings"}


def attributes(node: Any) -> dict[str, Any]:
    """A node's plain attributes (a string decoded, a list of at most :data:`MAX_VALUE_ELEMENTS` values)."""
    attrs: dict[str, Any] = {}
    for attribute in node.attribute:
        field = _ATTRIBUTE_FIELDS.get(attribute.type)
        if field is None:
            continue
        value = getattr(attribute, field)
        if field == "s":
            value = value.decode("utf-8", "replace")
        elif field in ("floats", "ints", "strings"):
            if len(value) > MAX_VALUE_ELEMENTS:
                continue
            value = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
        attrs[attribute.name] = value
    return attrs


def check_dims(path: Path, what: str, name: str, tensor: Any) -> None:
    """Refuse a tensor (an initializer, a Constant's value) with a negative dimension, as ONNX does."""
    if tensor is not None and any(d < 0 for d in tensor.dims):
        raise RuntimeFailure(f"{path}: {what} {name[:80]!r} has a negative dimension {tuple(tensor.dims)[:8]}")


def subgraph_params(node: Any, path: Path) -> int:
    """The elements of the floating-point initializers of a node's subgraphs (an If's branches, a Loop's
    body), nested ones included (the nesting is bounded by the file's scan): each branch's, as stored."""
    total, graphs = 0, [a.g for a in node.attribute if a.HasField("g")]
    graphs += [g for a in node.attribute for g in a.graphs]
    while graphs:
        graph = graphs.pop()
        for tensor in graph.initializer:
            check_dims(path, "initializer", tensor.name, tensor)
            total += math.prod(tensor.dims) if tensor.data_type in FLOAT_TYPES else 0
        for inner in graph.node:
            graphs += [a.g for a in inner.attribute if a.HasField("g")]
            graphs += [g for a in inner.attribute for g in a.graphs]
    return total
