"""ONNX files read with the ``onnx`` package alone (no runtime, no torch, no TensorFlow): checked and
parsed (:mod:`~archviz.sources.onnx.onnx_files`), turned into the layer graph through the op table's ONNX
mapping (:mod:`~archviz.sources.onnx.onnx_reader`; the tensors the file holds in
:mod:`~archviz.sources.onnx.held`, its record in :mod:`~archviz.sources.onnx.onnx_record`), stages and
blocks from the exporter's module paths
(:mod:`~archviz.sources.onnx.module_paths`). Nothing in a file is ever run."""

from __future__ import annotations

from pathlib import Path

from archviz.core.graph import Graph


def load_onnx(path: str | Path, *, input_shape: tuple[int, ...] | None = None) -> Graph:
    """The layer graph of the ONNX file ``path`` (``input_shape``, channels last, sizes an open input)."""
    from archviz.sources.onnx.onnx_files import read_model
    from archviz.sources.onnx.onnx_reader import graph_from_model

    path = Path(path)
    return graph_from_model(path, read_model(path, input_shape=input_shape))
