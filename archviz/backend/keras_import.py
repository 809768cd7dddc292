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
  batch is traced and every sublayer call recorded, under the attribute names the code
  gives them (``layer1.basic_block.conv1``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from archviz.backend import keras as _keras
from archviz.backend.raw_ops import patched, raw_functions
from archviz.errors import UsageError
from archviz.graph import Declared, Graph
from archviz.keras_entries import RAW_OPS
from archviz.ops import KERAS_CLASSES, OPS, Family

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


def _shape(tensor: Any) -> tuple[int, ...]:
    return tuple(int(d) if d is not None else -1 for d in tuple(tensor.shape)[1:])


def _weights(layer: Any) -> tuple[int, int]:
    """(trainable, non-trainable) weights of a layer; a raw ``keras.ops`` operation has none."""
    trainable = sum(math.prod(w.shape) for w in getattr(layer, "trainable_weights", ()))
    non_trainable = sum(math.prod(w.shape) for w in getattr(layer, "non_trainable_weights", ()))
    return int(trainable), int(non_trainable)


def _class_key(operation: Any) -> str:
    """How the op table knows a Keras class: a layer by its class name (``Add``), a raw ``keras.ops``
    operation by its module and class (``numpy.Add``), since the two share names."""
    cls = type(operation)
    if cls.__module__.startswith(RAW_OPS):
        return f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}"
    return cls.__name__


def _constants(node: Any) -> int:
    """How many plain numbers a call passes as operands (``x * 2.0`` passes one)."""
    arguments = getattr(node, "arguments", None)
    values = list(getattr(arguments, "args", ()))
    return sum(1 for value in values if isinstance(value, (int, float)) and not isinstance(value, bool))


def _flat(value: Any) -> list:
    keras = _keras()
    return [v for v in keras.tree.flatten(value) if hasattr(v, "shape")]


@dataclass
class _Importer:
    """Adds the layers of one Keras model to a graph, naming them under prefixes."""

    graph: Graph
    counted_layers: dict[int, str] = field(default_factory=dict)  # id of a layer -> the node counting its weights

    # ---- one leaf layer ------------------------------------------------
    def leaf(self, layer: Any, name: str, inputs: list[str], in_tensors: list, out_tensors: list,
             constants: int = 0) -> str:
        kind = _class_key(layer)
        op, attrs = _op_and_attrs(layer)
        if constants and op in OPS and OPS[op].family == Family.MERGE:
            attrs["constants"] = constants  # x * 2.0: a scalar operand of an elementwise op
        # Keras counts a shared layer's weights once: only its first call carries them
        shares = self.counted_layers.get(id(layer))
        trainable, non_trainable = (0, 0) if shares is not None else _weights(layer)
        if len(out_tensors) > 1:
            attrs["extra_outputs"] = len(out_tensors) - 1
        declared = Declared(kind, output_shape=_shape(out_tensors[0]),
                            input_shapes=tuple(_shape(t) for t in in_tensors), params=(trainable, non_trainable),
                            shares=shares)
        node = self.graph.add(self.graph.unique(name), op, inputs, declared=declared, **attrs)
        self.counted_layers.setdefault(id(layer), node)
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
                        names[id(outs[0])] = self.graph.add(self.graph.unique(prefix + operation.name), "input",
                                                            shape=_shape(outs[0]),
                                                            declared=Declared("InputLayer", _shape(outs[0])))
                    continue
                ins = list(node.input_tensors)
                sources = [names[id(t)] for t in ins]
                produced = self.layer(operation, prefix + operation.name, sources, ins, outs, _constants(node))
                for tensor, name in zip(outs, produced):
                    names[id(tensor)] = name
        return [names[id(t)] for t in _flat(fn.outputs)]

    # ---- any layer -------------------------------------------------------
    def layer(self, layer: Any, name: str, sources: list[str], ins: list, outs: list,
              constants: int = 0) -> list[str]:
        keras = _keras()
        kind = _class_key(layer)
        if kind not in KERAS_CLASSES and _is_functional(keras, layer):
            return self.functional(layer, name + ".", sources)
        if kind not in KERAS_CLASSES and _sublayers(layer):
            return self.trace(layer, name + ".", sources, ins)
        return [self.leaf(layer, name, sources, ins, outs, constants)] * max(1, len(outs))

    # ---- tracing subclassed models and custom layers ----------------------
    def trace(self, root: Any, prefix: str, sources: list[str], ins: list) -> list[str]:
        """Call ``root`` once on zeros and record the calls of its sublayers."""
        keras = _keras()
        import numpy as np
        import tensorflow as tf

        names: dict[int, str] = {}
        keep_alive: list = []
        recorded: list[tuple[str, tuple[int, ...]]] = []  # (name, output shape) in call order
        scope: list[str] = [prefix]
        parents: list[Any] = [root]
        inside_leaf = [0]
        original = keras.layers.Layer.__call__

        def source_of(tensor: Any) -> str:
            if id(tensor) in names:
                return names[id(tensor)]
            # produced by a raw TensorFlow op between layers (tf.nn.relu): the latest layer with its shape
            shape = _shape(tensor)
            for name, out_shape in reversed(recorded):
                if out_shape == shape:
                    return name
            return recorded[-1][0] if recorded else sources[0]

        def hooked(layer: Any, *args: Any, **kwargs: Any) -> Any:
            if inside_leaf[0] or layer is root:
                return original(layer, *args, **kwargs)
            if not tf.executing_eagerly() or any(isinstance(t, keras.KerasTensor) for t in _flat((args, kwargs))):
                return original(layer, *args, **kwargs)  # Keras building a sublayer symbolically: not the real call
            label = scope[-1] + _attribute_name(parents[-1], layer)
            kind = type(layer).__name__
            if kind not in KERAS_CLASSES and _sublayers(layer):
                scope.append(label + ".")
                parents.append(layer)
                try:
                    return original(layer, *args, **kwargs)
                finally:
                    scope.pop()
                    parents.pop()
            in_tensors = _flat(args[0] if args else next(iter(kwargs.values())))
            inside_leaf[0] += 1
            try:
                result = original(layer, *args, **kwargs)
            finally:
                inside_leaf[0] -= 1
            out_tensors = _flat(result)
            name = self.leaf(layer, label, [source_of(t) for t in in_tensors], in_tensors, out_tensors)
            keep_alive.extend(out_tensors)
            for tensor in out_tensors:
                names[id(tensor)] = name
            recorded.append((name, _shape(out_tensors[0])))
            return result

        def raw(function: Any, op: str, attrs: dict) -> Any:
            """``function`` (``x + y``, ``tf.nn.relu``) recording its call as a node, when a container
            layer's own ``call`` makes it on traced tensors (a leaf layer's insides are its own)."""

            def recording(*args: Any, **kwargs: Any) -> Any:
                if inside_leaf[0] or in_raw[0] or not tf.executing_eagerly():  # not the real call
                    return function(*args, **kwargs)
                in_raw[0] += 1
                try:
                    result = function(*args, **kwargs)
                finally:
                    in_raw[0] -= 1
                operands = [a for a in args if hasattr(a, "shape") or isinstance(a, (int, float))]
                known = [a for a in operands if id(a) in names]
                if known and hasattr(result, "shape"):
                    extra = {"constants": len(operands) - len(known)} if len(operands) > len(known) else {}
                    declared = Declared(f"tf.{getattr(function, '__name__', op)}", _shape(result),
                                        tuple(_shape(t) for t in known), (0, 0))
                    name = self.graph.add(self.graph.unique(scope[-1] + op), op, [names[id(t)] for t in known],
                                          declared=declared, **attrs, **extra)
                    keep_alive.append(result)
                    names[id(result)] = name
                    recorded.append((name, _shape(result)))
                return result

            return recording

        in_raw = [0]
        zeros = [np.zeros((1, *_shape(t)), dtype="float32") for t in ins]
        for array, source in zip(zeros, sources):
            recorded.append((source, array.shape[1:]))
        inputs = [keras.ops.convert_to_tensor(z) for z in zeros]
        for tensor, source in zip(inputs, sources):
            names[id(tensor)] = source
        keras.layers.Layer.__call__ = hooked
        try:
            with patched(raw_functions(tf), raw):
                try:
                    output = root(inputs[0] if len(inputs) == 1 else inputs, training=False)
                except TypeError:
                    output = root(inputs[0] if len(inputs) == 1 else inputs)
        finally:
            keras.layers.Layer.__call__ = original
        return [source_of(t) for t in _flat(output)]


def _is_functional(keras: Any, layer: Any) -> bool:
    if isinstance(layer, keras.Sequential):
        return getattr(layer, "_functional", None) is not None
    return hasattr(layer, "_nodes_by_depth") and bool(getattr(layer, "inputs", None))


def _sublayers(layer: Any) -> list:
    try:
        return list(layer._layers)
    except AttributeError:
        return []


def _attribute_name(parent: Any, layer: Any) -> str:
    """The attribute a subclassed model keeps a layer in (``self.conv1``), else its Keras name."""
    for key, value in vars(parent).items():
        if value is layer and not key.startswith("_"):
            return key
    return layer.name


def graph_from_keras(model: Any, *, input_shape: tuple[int, ...] | None = None, name: str | None = None) -> Graph:
    """The layer graph of a Keras model. ``input_shape`` (without the batch) sizes what Keras
    leaves open: a functional model's ``None`` height and width, or a subclassed model that was
    never built."""
    keras = _keras()
    if not isinstance(model, keras.layers.Layer):
        raise UsageError(f"not a Keras model: {type(model).__name__}")
    graph = Graph(name or model.name, options={"keras_class": type(model).__name__})
    importer = _Importer(graph)
    if _is_functional(keras, model):
        importer.functional(model, "", None)
        graph.options["input_shape"] = list(next(iter(graph)).attrs["shape"])
        if input_shape is not None:
            graph.set_input_shape(tuple(input_shape))
    else:
        shape = tuple(input_shape) if input_shape is not None else _built_input_shape(model)
        if shape is None:
            raise UsageError(f"{model.name}: a subclassed model has no static input shape; give input_shape=(H, W, C)")
        graph.add("input", "input", shape=shape, declared=Declared("InputLayer", shape))
        probe = keras.ops.zeros((1, *shape))
        importer.trace(model, "", ["input"], [probe])
        graph.options["input_shape"] = list(shape)
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
