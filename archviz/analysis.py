"""Walk a graph once, in topological order, applying the rule table.

The result is a :class:`~archviz.summary.Summary`: one record per layer plus
totals. Renderers read the summary and never recompute a number.
"""

from __future__ import annotations

from typing import Any, Mapping

from archviz.errors import ModelError, UnsupportedOpError
from archviz.graph import Graph
from archviz.ops import ACTIVATION_FLOPS, Cost, ShapeError, numel, rule_for
from archviz.summary import LayerRecord, Summary

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}


def analyze_graph(graph: Graph, *, batch_size: int = 1, dtype: str = "float32",
                  options: Mapping[str, Any] | None = None, strict: bool | None = None) -> Summary:
    """Count every layer of ``graph``.

    ``strict`` (the default for built graphs) makes an op without a rule an error naming
    it. Imported graphs are not strict: their nodes carry Keras's own ``output_shape``,
    ``input_shapes`` and ``keras_params``, which win over the rules' (the rules still give
    MACs and FLOPs); a layer no rule can count keeps its Keras numbers, is marked not
    counted, and is listed in ``summary.uncounted``.
    """
    if strict is None:
        strict = graph.meta.get("source") != "keras"
    if batch_size < 1:
        raise ModelError(f"batch size must be a positive integer, got {batch_size}")
    if dtype not in DTYPE_BYTES:
        raise ModelError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPE_BYTES)}")
    shapes: dict[str, tuple[int, ...]] = {}
    records: list[LayerRecord] = []
    uncounted: dict[str, list[str]] = {}
    warnings: list[str] = []
    for node in graph:
        in_shapes = [tuple(s) for s in node.attrs.get("input_shapes", [shapes[source] for source in node.inputs])]
        declared = node.attrs.get("output_shape")
        declared = tuple(declared) if declared is not None else None
        try:
            rule = rule_for(node.op)
            out = rule.shape(node.attrs, in_shapes)
            cost = rule.cost(node.attrs, in_shapes, out)
            family, counted = rule.family, True
        except (UnsupportedOpError, ShapeError) as error:
            if strict or declared is None:
                if isinstance(error, ShapeError):
                    raise ModelError(f"layer {node.name!r} ({node.op}): {error}") from None
                raise UnsupportedOpError(f"layer {node.name!r}: {error}") from None
            label = node.attrs.get("keras_class", node.op)
            if node.op == "activation":
                label = f"Activation({node.attrs.get('fn')})"
            elif node.attrs.get("activation") not in (None, *ACTIVATION_FLOPS):
                label = f"{label}(activation={node.attrs['activation']})"
            uncounted.setdefault(label, []).append(node.name)
            out, cost, family, counted = declared, Cost(), "unknown", False
        if declared is not None and declared != out:
            if strict:
                raise ModelError(f"layer {node.name!r}: computed output shape {out} differs from declared {declared}")
            warnings.append(f"layer {node.name!r}: archviz's shape rule gives {out}, Keras {declared}; using Keras's")
            out = declared
        if "keras_params" in node.attrs:
            trainable, non_trainable = node.attrs["keras_params"]
        else:
            trainable, non_trainable = cost.trainable, cost.non_trainable
        shapes[node.name] = out
        records.append(LayerRecord(
            name=node.name, op=node.op, family=family, inputs=node.inputs, attrs=dict(node.attrs),
            output_shape=out, trainable_params=trainable, non_trainable_params=non_trainable,
            macs=cost.macs * batch_size, flops=cost.flops * batch_size + cost.fixed_flops if counted else None,
            activation_bytes=max(numel(out), 0) * batch_size * DTYPE_BYTES[dtype],
            weighted=bool(counted and rule.weighted), counted=counted,
        ))
    return Summary(
        name=graph.name, records=records, batch_size=batch_size, dtype=dtype,
        bytes_per_param=DTYPE_BYTES[dtype], options=dict(options or {}),
        groups=dict(graph.meta.get("groups", {})), uncounted=uncounted, warnings=warnings,
    )
