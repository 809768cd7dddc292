"""From the layer graph to a functional ``keras.Model`` whose layer names are the graph's names.

Each op's entry in the op table (:mod:`archviz.ops`) builds its own Keras layer; only built-in
Keras layers are used, so an exported ``.keras`` file loads anywhere with safe mode on. Two ops
have no single Keras layer: explicit (torch-style) padding of a conv or pool becomes a
``ZeroPadding2D`` named ``<name>_pad`` before a ``valid`` one (for a max-pool after a ReLU,
zeros and minus infinity pad alike), and option A's zero-padding shortcut becomes a strided 1x1
``MaxPooling2D`` and a channel padding (see :mod:`archviz.ops.structure`).
"""

from __future__ import annotations

from typing import Any

from archviz.analysis import analyze_graph
from archviz.backend import keras as _keras
from archviz.backend import recursion_limit
from archviz.errors import UnsupportedOpError
from archviz.graph import Graph
from archviz.ops import op_for


def to_keras(graph: Graph) -> Any:
    """A functional ``keras.Model`` (untrained weights) with the graph's layers and names."""
    keras = _keras()
    summary = analyze_graph(graph)  # shapes, and an error naming any op without a rule
    shapes = {record.name: record.output_shape for record in summary.records}
    tensors: dict[str, Any] = {}
    inputs = []
    for node in graph:
        if node.op == "input":
            tensors[node.name] = keras.Input(shape=tuple(node.attrs["shape"]), name=node.name)
            inputs.append(tensors[node.name])
            continue
        write = op_for(node.op).write
        if write is None:
            raise UnsupportedOpError(f"layer {node.name!r}: op {node.op!r} cannot be exported to Keras")
        tensors[node.name] = write(keras, node.name, node.attrs, [tensors[source] for source in node.inputs],
                                   shapes[node.name])
    outputs = [tensors[name] for name in graph.outputs]
    with recursion_limit(20 * len(graph) + 2000):  # Keras maps a functional graph recursively
        return keras.Model(inputs=inputs if len(inputs) > 1 else inputs[0],
                           outputs=outputs if len(outputs) > 1 else outputs[0], name=_model_name(graph.name))


def _model_name(name: str) -> str:
    """A name Keras takes for a model: TensorFlow makes it a root name scope when the model runs, and
    refuses one that does not match ``[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*`` (a spec named ``_resnet20``).
    Other characters become ``_``; a name that cannot start a scope gets ``model`` in front."""
    text = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "_-.") else "_" for ch in name)
    return text if text[:1].isalnum() or text[:1] == "." else f"model{text}"
