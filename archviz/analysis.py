"""Walk a graph once, in topological order, applying the rule table.

The result is a :class:`~archviz.summary.Summary`: one record per layer plus
totals. Renderers read the summary and never recompute a number.
"""

from __future__ import annotations

from typing import Any, Mapping

from archviz.errors import ModelError, UnsupportedOpError
from archviz.graph import Graph
from archviz.ops import Cost, ShapeError, numel, rule_for
from archviz.summary import LayerRecord, Summary

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}


def analyze_graph(graph: Graph, *, batch_size: int = 1, dtype: str = "float32",
                  options: Mapping[str, Any] | None = None, strict: bool = True) -> Summary:
    """Count every layer of ``graph``.

    With ``strict`` (the zoo), an op without a rule is an error naming it. Without
    (imported models), its record is marked not counted and the summary warns;
    its shape must then be given in the node's ``output_shape`` attribute.
    """
    if batch_size < 1:
        raise ModelError(f"batch size must be a positive integer, got {batch_size}")
    if dtype not in DTYPE_BYTES:
        raise ModelError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPE_BYTES)}")
    shapes: dict[str, tuple[int, ...]] = {}
    records: list[LayerRecord] = []
    uncounted: dict[str, list[str]] = {}
    for node in graph:
        in_shapes = [shapes[source] for source in node.inputs]
        counted = True
        try:
            rule = rule_for(node.op)
        except UnsupportedOpError:
            if strict or "output_shape" not in node.attrs:
                raise UnsupportedOpError(f"layer {node.name!r}: op {node.op!r} has no counting rule") from None
            rule, counted = None, False
            uncounted.setdefault(node.op, []).append(node.name)
        try:
            if rule is None:
                out = tuple(node.attrs["output_shape"])
                cost = Cost(trainable=node.attrs.get("trainable_params", 0),
                            non_trainable=node.attrs.get("non_trainable_params", 0))
                family = "unknown"
            else:
                out = rule.shape(node.attrs, in_shapes)
                cost = rule.cost(node.attrs, in_shapes, out)
                family = rule.family
        except ShapeError as error:
            raise ModelError(f"layer {node.name!r} ({node.op}): {error}") from None
        declared = node.attrs.get("output_shape")
        if declared is not None and rule is not None and tuple(declared) != out:
            raise ModelError(f"layer {node.name!r}: computed output shape {out} differs from declared {tuple(declared)}")
        shapes[node.name] = out
        records.append(LayerRecord(
            name=node.name, op=node.op, family=family, inputs=node.inputs, attrs=dict(node.attrs),
            output_shape=out, trainable_params=cost.trainable, non_trainable_params=cost.non_trainable,
            macs=cost.macs * batch_size, flops=cost.flops * batch_size + cost.fixed_flops if counted else None,
            activation_bytes=numel(out) * batch_size * DTYPE_BYTES[dtype],
            weighted=bool(rule and rule.weighted), counted=counted,
        ))
    return Summary(
        name=graph.name, records=records, batch_size=batch_size, dtype=dtype,
        bytes_per_param=DTYPE_BYTES[dtype], options=dict(options or {}),
        groups=dict(graph.meta.get("groups", {})), uncounted=uncounted,
    )
