"""From the layer graph to a functional ``keras.Model`` whose layer names are the graph's names.

Each op's entry in the op table (:mod:`archviz.ops`) builds its own Keras layer; only built-in
Keras layers are used, so an exported ``.keras`` file loads anywhere with safe mode on. Two ops
have no single Keras layer: explicit (torch-style) padding of a conv or pool becomes a
``ZeroPadding2D`` named ``<name>_pad`` before a ``valid`` one (for a max-pool after a ReLU,
zeros and minus infinity pad alike), and option A's zero-padding shortcut becomes a strided 1x1
``MaxPooling2D`` and a channel padding (see :mod:`archviz.ops.merging`).
"""

from __future__ import annotations

import re
from typing import Any

from archviz.backend import keras as _keras
from archviz.backend import recursion_limit
from archviz.core.analysis import analyze_graph
from archviz.core.graph import Graph
from archviz.errors import UnsupportedOpError
from archviz.ops import op_for


def to_keras(graph: Graph) -> Any:
    """A functional ``keras.Model`` (untrained weights) with the graph's layers and names."""
    keras = _keras()
    summary = analyze_graph(graph)  # shapes, and an error naming any op without a rule
    shapes = {record.name: record.output_shape for record in summary.records}
    tensors: dict[str, Any] = {}
    inputs = []
    keras_names = scope_names([node.name for node in graph])
    for node in graph:
        if node.op == "input":
            tensors[node.name] = keras.Input(shape=tuple(node.attrs["shape"]), name=keras_names[node.name])
            inputs.append(tensors[node.name])
            continue
        write = op_for(node.op).write
        if write is None:
            raise UnsupportedOpError(f"layer {node.name!r}: op {node.op!r} cannot be exported to Keras")
        tensors[node.name] = write(
            keras, keras_names[node.name], node.attrs, [tensors[source] for source in node.inputs], shapes[node.name]
        )
    outputs = [tensors[name] for name in graph.outputs]
    with recursion_limit(20 * len(graph) + 2000):  # Keras maps a functional graph recursively
        return keras.Model(
            inputs=inputs if len(inputs) > 1 else inputs[0],
            outputs=outputs if len(outputs) > 1 else outputs[0],
            name=model_name(graph.name),
        )


#: A name TensorFlow takes for a name scope inside another (Keras makes one per layer when a model
#: runs in a ``tf.function``), and for the outermost one, the model's (TensorFlow's patterns, less
#: the ``/`` and ``\\`` that Keras refuses or TensorFlow reads as a path).
_SCOPE = re.compile(r"[A-Za-z0-9_.>-]*")
_ROOT = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.>-]*")


def _scope_text(name: str) -> str:
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "_.-") else "_" for ch in name)


def scope_names(names: list[str]) -> dict[str, str]:
    """For each layer name, a name Keras and TensorFlow take: the name itself when it is one (every name
    archviz's zoo makes), else its characters outside ``A-Z a-z 0-9 _ . -`` as ``_``, with a number
    where that meets another layer's name (a Keras file's ``a b`` and ``a_b``)."""
    taken = set(names)
    given = {}
    for name in names:
        if _SCOPE.fullmatch(name):
            given[name] = name
            continue
        text = _scope_text(name) or "layer"
        candidate, number = text, 1
        while candidate in taken:
            number += 1
            candidate = f"{text}_{number}"
        taken.add(candidate)
        given[name] = candidate
    return given


def runnable(keras_model: Any) -> Any:
    """``keras_model`` (as Keras loaded it) renamed where TensorFlow would refuse its names as name
    scopes when it runs in a ``tf.function``: the model as :func:`model_name`, each layer as
    :func:`scope_names` (TensorFlow makes nested scopes unique itself)."""
    if not _ROOT.fullmatch(keras_model.name):
        keras_model.name = model_name(keras_model.name)
    layers = list(keras_model._flatten_layers(include_self=False, recursive=True))
    renamed = scope_names([layer.name for layer in layers])
    for layer in layers:
        layer.name = renamed[layer.name]
    return keras_model


def model_name(name: str) -> str:
    """A name Keras takes for a model: TensorFlow makes it a root name scope when the model runs, and
    refuses one that does not match ``[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*`` (a spec named ``_resnet20``).
    Other characters become ``_``; a name that cannot start a scope gets ``model`` in front."""
    text = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "_-.") else "_" for ch in name)
    return text if text[:1].isalnum() or text[:1] == "." else f"model{text}"
