"""From any Keras model to the layer graph.

Params and output shapes come from Keras itself, so they are exact for every layer; MACs
and FLOPs come from archviz's rule table. Keras layer classes map to graph ops through the op
table (:data:`archviz.ops.KERAS_CLASSES`), keyed by the exact class name, and each op reads its
attributes from the layer's config. A layer of any other class is
kept with its Keras params and shape and reported as not counted, unless it contains
other layers, in which case it is expanded:

* functional models and ``Sequential``: their static graph is walked;
* nested models (a keras.applications base inside a Sequential): walked in place, their
  layers named under the base's name (``resnet50.conv1_conv``);
* custom layers holding other layers (seed 004's ``Residual_Block``) and subclassed models
  (seed 000's ``ResNet``): a subclassed model has no static graph, so one call on a zero
  batch is traced (:mod:`archviz.backend.keras_trace`): every sublayer call, under the attribute
  names the code gives them (``layer1.basic_block.conv1``), every operation between them, and the
  container's own weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from archviz.backend import keras as _keras
from archviz.backend.keras_trace import Trace, flat, shape_of
from archviz.backend.keras_trace import class_key as _class_key
from archviz.backend.keras_trace import sublayers as _sublayers
from archviz.core.graph import Declared, Graph
from archviz.core.record import ModelRecord, Source
from archviz.errors import UsageError
from archviz.ops import KERAS_CLASSES, OPS
from archviz.ops.base import with_constants


def _op_and_attrs(layer: Any) -> tuple[str, dict]:
    """The op a Keras layer is imported as, with its attributes read from the layer's config by the
    op table's reader for that class; a class (or a variant) archviz cannot read keeps its class name."""
    kind = _class_key(layer)
    op = KERAS_CLASSES.get(kind)
    if op is None:
        return kind, {}
    try:
        return op.name, op.keras[kind](layer.get_config())
    except (KeyError, TypeError, ValueError, NotImplementedError):
        return kind, {}


def _weights(layer: Any, counted: dict[int, str]) -> tuple[int, int]:
    """(trainable, non-trainable) weights of a layer not counted already (a variable two layers share);
    a raw ``keras.ops`` operation has none."""
    trainable = sum(math.prod(w.shape) for w in getattr(layer, "trainable_weights", ()) if id(w) not in counted)
    non_trainable = sum(math.prod(w.shape) for w in getattr(layer, "non_trainable_weights", ()) if id(w) not in counted)
    return int(trainable), int(non_trainable)


def _constants(node: Any) -> int:
    """How many plain numbers a call passes as operands (``x * 2.0`` passes one)."""
    arguments = getattr(node, "arguments", None)
    values = list(getattr(arguments, "args", ()))
    return sum(1 for value in values if isinstance(value, (int, float)) and not isinstance(value, bool))


@dataclass
class _Importer:
    """Adds the layers of one Keras model to a graph, naming them under prefixes."""

    graph: Graph
    counted_layers: dict[int, str] = field(default_factory=dict)  # id of a layer -> the node counting its weights
    counted_weights: dict[int, str] = field(default_factory=dict)  # id of a variable -> the node counting it

    # ---- one leaf layer ------------------------------------------------
    def leaf(
        self, layer: Any, name: str, inputs: list[str], in_tensors: list, out_tensors: list, constants: int = 0
    ) -> str:
        kind = _class_key(layer)
        op, attrs = _op_and_attrs(layer)
        with_constants(OPS.get(op), attrs, constants)
        # Keras counts a shared layer's weights once: only its first call carries them
        shares = self.counted_layers.get(id(layer))
        trainable, non_trainable = (0, 0) if shares is not None else _weights(layer, self.counted_weights)
        if len(out_tensors) > 1:
            attrs["extra_outputs"] = len(out_tensors) - 1
        declared = Declared(
            kind,
            output_shape=shape_of(out_tensors[0]),
            input_shapes=tuple(shape_of(t) for t in in_tensors),
            params=(trainable, non_trainable),
            shares=shares,
        )
        node = self.graph.add(self.graph.unique(name), op, inputs, declared=declared, **attrs)
        self.counted_layers.setdefault(id(layer), node)
        for weight in getattr(layer, "weights", ()):
            self.counted_weights.setdefault(id(weight), node)
        return node

    # ---- functional models ---------------------------------------------
    def functional(self, model: Any, prefix: str, input_names: list[str] | None) -> list[str]:
        keras = _keras()
        fn = model._functional if isinstance(model, keras.Sequential) else model
        nodes_in_graph = {id(node) for nodes in fn._nodes_by_depth.values() for node in nodes}
        names: dict[int, str] = {}
        if input_names is not None:
            for tensor, name in zip(fn.inputs, input_names):
                names[id(tensor)] = name
        for operation in fn.operations:
            for node in operation._inbound_nodes:
                if id(node) not in nodes_in_graph:
                    continue
                outs = list(node.output_tensors)
                if isinstance(operation, keras.layers.InputLayer):
                    if input_names is None:
                        names[id(outs[0])] = self.graph.add(
                            self.graph.unique(prefix + operation.name),
                            "input",
                            shape=shape_of(outs[0]),
                            declared=Declared("InputLayer", shape_of(outs[0])),
                        )
                    continue
                ins = list(node.input_tensors)
                sources = [names[id(t)] for t in ins]
                produced = self.layer(operation, prefix + operation.name, sources, ins, outs, _constants(node))
                for tensor, name in zip(outs, produced):
                    names[id(tensor)] = name
        return [names[id(t)] for t in flat(fn.outputs)]

    # ---- any layer -------------------------------------------------------
    def layer(self, layer: Any, name: str, sources: list[str], ins: list, outs: list, constants: int = 0) -> list[str]:
        keras = _keras()
        kind = _class_key(layer)
        if kind not in KERAS_CLASSES and _is_functional(keras, layer):
            return self.functional(layer, name + ".", sources)
        if kind not in KERAS_CLASSES and _sublayers(layer):
            return self.trace(layer, name + ".", sources, ins)
        return [self.leaf(layer, name, sources, ins, outs, constants)] * max(1, len(outs))

    # ---- tracing subclassed models and custom layers ----------------------
    def trace(self, root: Any, prefix: str, sources: list[str], ins: list) -> list[str]:
        """Call ``root`` once on zeros and record its sublayers' calls and the operations between them."""
        return Trace(self, root, prefix, sources).run(ins)


def _is_functional(keras: Any, layer: Any) -> bool:
    if isinstance(layer, keras.Sequential):
        return getattr(layer, "_functional", None) is not None
    return hasattr(layer, "_nodes_by_depth") and bool(getattr(layer, "inputs", None))


def graph_from_keras(model: Any, *, input_shape: tuple[int, ...] | None = None, name: str | None = None) -> Graph:
    """The layer graph of a Keras model. ``input_shape`` (without the batch) sizes what Keras
    leaves open: a functional model's ``None`` height and width, or a subclassed model that was
    never built."""
    keras = _keras()
    if not isinstance(model, keras.layers.Layer):
        raise UsageError(f"not a Keras model: {type(model).__name__}")
    graph = Graph(name or model.name, record=ModelRecord(Source.KERAS, keras_class=type(model).__name__))
    importer = _Importer(graph)
    if _is_functional(keras, model):
        importer.functional(model, "", None)
        graph.record = graph.record.with_input_shape(next(iter(graph)).attrs["shape"])
        if input_shape is not None:
            graph.set_input_shape(tuple(input_shape))
    else:
        shape = tuple(input_shape) if input_shape is not None else _built_input_shape(model)
        if shape is None:
            raise UsageError(f"{model.name}: a subclassed model has no static input shape; give input_shape=(H, W, C)")
        graph.add("input", "input", shape=shape, declared=Declared("InputLayer", shape))
        probe = keras.ops.zeros((1, *shape))
        importer.trace(model, "", ["input"], [probe])
        graph.record = graph.record.with_input_shape(shape)
    return graph


def _built_input_shape(model: Any) -> tuple[int, ...] | None:
    for attribute in ("_build_shapes_dict", "_build_input_shape"):
        value = getattr(model, attribute, None)
        if isinstance(value, dict) and value:
            value = next(iter(value.values()))
        if value is not None:
            try:
                return tuple(int(d) for d in tuple(value)[1:])
            except (TypeError, ValueError):
                continue
    return None
