"""The record of a model read from an ONNX file (:mod:`~archviz.sources.onnx.onnx_reader`): its producer,
opset and layout, and whether the exporter folded batch norm into the convs."""

from __future__ import annotations

from typing import Any

from archviz.core.graph import Graph, Shape
from archviz.core.record import ModelRecord, Source

#: The domains of ONNX's own ops.
ONNX_DOMAINS = ("", "ai.onnx")


def model_record(model: Any, graph: Graph, samples: dict[str, Shape | None], shape_nodes: int) -> ModelRecord:
    """The record of a model read from an ONNX file: its producer, opset, layout and whether batch norm was folded."""
    ops = {node.op_type for node in model.graph.node}
    convs_with_bias = any(n.op_type == "Conv" and len(n.input) > 2 and n.input[2] for n in model.graph.node)
    folded = "BatchNormalization" not in ops and convs_with_bias
    opset = next((o.version for o in model.opset_import if o.domain in ONNX_DOMAINS), None)
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    file = {
        "format": "onnx",
        "producer": producer or None,
        "opset": opset,
        "layout": "NCHW, shown as HxWxC",
        "batch_norm_folded": folded,
        "shape_nodes": shape_nodes,
    }
    notes: tuple[str, ...] = ("ONNX file: its NCHW tensors are shown as HxWxC (channels last), per sample",)
    if folded:
        notes += (
            "batch norm folded into the convs by the exporter (no BatchNormalization node, conv biases "
            "present): 3 params per channel fewer than with its batch norms",
        )
    sample = next(s for layer, s in samples.items() if graph[layer].op == "input")
    description = (
        f"An ONNX file{f' of {producer}' if producer else ''}: its NCHW tensors are shown as HxWxC, per sample"
        + ("; batch norm folded into the convs by the exporter (3 params per channel fewer)." if folded else ".")
    )
    return ModelRecord(Source.ONNX, description=description, input_shape=sample, file=file, notes=notes)
