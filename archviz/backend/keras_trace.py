"""One call of a subclassed model or a custom layer that holds layers, recorded as graph nodes.

A subclassed model has no static graph, so it is called once on zeros and every sublayer call,
every ``keras.ops`` function and every tensor operator its code applies between layers is recorded
(:mod:`archviz.backend.raw_ops` says what is watched). Each tensor is wired to the node that made it
by its identity, never guessed: a tensor the trace did not see made (a TensorFlow function outside the
watched ones) becomes an ``unseen`` node that no rule counts, so the totals say they are incomplete and
the summary lists it. Tensors that existed before the call (a position index built in ``build``) and
those made from constants alone are constants.

Weights are counted once, where they live: a leaf layer's on its node, and a container's own weights
(``self.add_weight`` next to its sublayers: ViT's class token, a learned scale) as a ``weight`` node
each, named under the container (``block.gamma``) and wired to the operations that use them. Which
weights are a container's own is Keras's accounting: its weights minus its sublayers', by identity.
"""

from __future__ import annotations

import functools
import inspect
import re
from typing import Any

from archviz.backend import keras as _keras
from archviz.backend.raw_ops import keras_functions, operation_key, patched, setup_functions, tensorflow_functions
from archviz.core.graph import Declared
from archviz.ops import KERAS_CLASSES, OPS
from archviz.ops.base import RAW_OPS, with_constants

#: Operations that return their operand unchanged for counting (the profiler costs a Cast at 0).
_ALIASES = frozenset({"core.Cast", "core.ConvertToTensor", "core.StopGradient", "numpy.Copy"})
#: Operations whose result depends on their operand's shape alone (``ops.zeros_like``): constants.
_CONSTANT_MAKERS = frozenset({"numpy.ZerosLike", "numpy.OnesLike", "numpy.FullLike", "numpy.EmptyLike"})
#: Call arguments that say what an operation does, where its Keras class takes them at call time.
_CALL_CONFIG = {
    "numpy.GetItem": frozenset({"slice_spec"}),  # the index of x[...]
    "nn.DotProductAttention": frozenset({"scale"}),
}
UNSEEN = "unseen"


def shape_of(tensor: Any) -> tuple[int, ...]:
    return tuple(int(d) if d is not None else -1 for d in tuple(tensor.shape)[1:])


def flat(value: Any) -> list:
    return [v for v in _keras().tree.flatten(value) if hasattr(v, "shape")]


class Trace:
    """Records one call of ``root`` into ``importer``'s graph, names under ``prefix``."""

    def __init__(self, importer: Any, root: Any, prefix: str, sources: list[str]) -> None:
        import tensorflow as tf
        from tensorflow.python.framework import ops as tf_ops

        self.importer, self.graph, self.root, self.tf = importer, importer.graph, root, tf
        self.names: dict[int, str] = {}  # id of a tensor or variable -> the node that made it
        self.constants: set[int] = set()
        self.keep_alive: list = []  # the tensors named, so that no id is reused during the call
        self.scope, self.parents = [prefix], [root]
        self.sources = sources
        self.inside_leaf = self.inside_op = 0
        self.first_id = tf_ops.uid()  # tensors made before the call carry a smaller id
        self.containers: list[tuple[Any, str]] = [(root, prefix)]  # the containers called, with their prefixes
        self.weight_nodes: set[str] = set()

    # ---- the call --------------------------------------------------------------
    def run(self, ins: list) -> list[str]:
        keras = _keras()
        import numpy as np

        inputs = [keras.ops.convert_to_tensor(np.zeros((1, *shape_of(t)), dtype="float32")) for t in ins]
        for tensor, source in zip(inputs, self.sources):
            self.name(tensor, source)
        original = keras.layers.Layer.__call__

        def hooked(layer: Any, *args: Any, **kwargs: Any) -> Any:
            return self.layer_call(original, layer, args, kwargs)

        keras.layers.Layer.__call__ = hooked
        try:
            with (
                patched(keras_functions(keras) + tensorflow_functions(self.tf, keras), self.watch),
                patched(setup_functions(keras), self.quiet),
            ):
                # training=False only where call() takes it: retrying after a TypeError would record twice
                training = {"training": False} if getattr(self.root, "_call_has_training_arg", True) else {}
                output = self.root(inputs[0] if len(inputs) == 1 else inputs, **training)
        finally:
            keras.layers.Layer.__call__ = original
        for container, prefix in self.containers:  # own weights the call did not use
            self.own_weights(container, prefix)
        self.uncalled_weights()
        return [self.source(t) for t in flat(output)]

    def name(self, tensor: Any, node: str) -> None:
        self.names[id(tensor)] = node
        self.keep_alive.append(tensor)

    def source(self, tensor: Any) -> str:
        """The node that made ``tensor``; an ``unseen`` node when the trace did not see it made."""
        if id(tensor) not in self.names:
            declared = Declared(
                "tensor made by an operation the trace does not watch",
                shape_of(tensor),
                params=(0, 0),
                reason="made by an operation archviz's trace does not watch",
                may_compute=True,
            )
            self.name(tensor, self.graph.add(self.graph.unique(self.scope[-1] + UNSEEN), UNSEEN, declared=declared))
        return self.names[id(tensor)]

    def is_constant(self, value: Any) -> bool:
        return (
            id(value) in self.constants
            or not hasattr(value, "shape")
            or not hasattr(value, "_id")
            or value._id < self.first_id
        )

    # ---- layers ------------------------------------------------------------------
    def layer_call(self, original: Any, layer: Any, args: tuple, kwargs: dict) -> Any:
        keras = _keras()
        if self.inside_leaf or self.inside_op or layer is self.root:
            return original(layer, *args, **kwargs)
        if not self.tf.executing_eagerly() or any(isinstance(t, keras.KerasTensor) for t in flat((args, kwargs))):
            return original(layer, *args, **kwargs)  # Keras building a sublayer symbolically: not the real call
        label = self.scope[-1] + _attribute_name(self.parents[-1], layer)
        if class_key(layer) not in KERAS_CLASSES and sublayers(layer):
            self.scope.append(label + ".")
            self.parents.append(layer)
            self.containers.append((layer, label + "."))
            try:
                return original(layer, *args, **kwargs)
            finally:
                self.scope.pop()
                self.parents.pop()
        in_tensors = flat(args[0] if args else next(iter(kwargs.values())))
        self.inside_leaf += 1
        try:
            result = original(layer, *args, **kwargs)
        finally:
            self.inside_leaf -= 1
        outs = flat(result)
        known = [t for t in in_tensors if not self.is_constant(t) or id(t) in self.names]
        node = self.importer.leaf(layer, label, [self.source(t) for t in known], in_tensors, outs)
        for tensor in outs:
            self.name(tensor, node)
        return result

    def own_weights(self, layer: Any, prefix: str, only: Any = None) -> bool:
        """A ``weight`` node for each weight of ``layer`` that none of its sublayers holds (or for
        ``only``, if it is one); whether there was one."""
        held = {id(w) for sublayer in sublayers(layer) for w in sublayer.weights}
        trainable = {id(w) for w in layer.trainable_weights}
        found = False
        own = [weight for weight in layer.weights if id(weight) not in held]
        for index, weight in enumerate(own):
            if only is None or weight is only:
                self.weight(weight, prefix + _weight_name(layer, weight, index), id(weight) in trainable)
                found = True
        return found

    def adopt(self, variable: Any) -> bool:
        """Whether ``variable`` is the own weight of a container being called (made its node if so)."""
        return any(self.own_weights(layer, prefix, only=variable) for layer, prefix in reversed(self.containers))

    def weight(self, weight: Any, name: str, trainable: bool) -> None:
        counted = self.importer.counted_weights
        if id(weight) in counted:
            self.names.setdefault(id(weight), counted[id(weight)])
            return
        shape = tuple(int(d) for d in weight.shape)
        size = 1
        for d in shape:
            size *= d
        declared = Declared("own weight", shape, params=(size, 0) if trainable else (0, size))
        node = self.graph.add(self.graph.unique(name), "weight", declared=declared, shape=shape, trainable=trainable)
        counted[id(weight)] = node
        self.weight_nodes.add(node)
        self.name(weight, node)

    def uncalled_weights(self) -> None:
        """The weights of layers the call reached without calling them (a sublayer's method called
        directly): each counted once, under the root, so that the params stay Keras's."""
        counted = self.importer.counted_weights
        trainable = {id(w) for w in self.root.trainable_weights}
        for weight in self.root.weights:
            if id(weight) not in counted:
                self.weight(weight, self.scope[0] + weight.path.replace("/", "."), id(weight) in trainable)

    # ---- operations between layers ---------------------------------------------------
    def watch(self, function: Any, key: str) -> Any:
        def recording(*args: Any, **kwargs: Any) -> Any:
            if self.inside_leaf or self.inside_op or not self.tf.executing_eagerly():
                return function(*args, **kwargs)  # inside a layer or an operation: theirs
            self.inside_op += 1
            try:
                result = function(*args, **kwargs)
            finally:
                self.inside_op -= 1
            self.record(function, key, args, kwargs, result)
            return result

        return recording

    def quiet(self, function: Any, key: str) -> Any:
        """``function`` (a build, an initializer) with nothing it runs recorded."""

        def running(*args: Any, **kwargs: Any) -> Any:
            self.inside_op += 1
            try:
                return function(*args, **kwargs)
            finally:
                self.inside_op -= 1

        return running

    def record(self, function: Any, key: str, args: tuple, kwargs: dict, result: Any) -> None:
        outs = flat(result)
        if not outs:
            return  # a shape, a Python value
        arguments = _arguments(function, args, kwargs)
        parameters = _config_parameters(key)
        inputs: list[str] = []
        shapes: list[tuple[int, ...]] = []
        constants = 0
        for value in flat([v for k, v in arguments.items() if k not in parameters and k != "name"]) + [
            v
            for k, v in arguments.items()
            if k not in parameters and isinstance(v, (int, float)) and not isinstance(v, bool)
        ]:
            if id(value) in self.names or (isinstance(value, _keras().Variable) and self.adopt(value)):
                inputs.append(self.names[id(value)])
                shapes.append(_sample_shape(value, outs[0]) if inputs[-1] in self.weight_nodes else shape_of(value))
            elif self.is_constant(value):
                constants += 1
            else:
                inputs.append(self.source(value))
                shapes.append(shape_of(value))
        if not inputs or key in _CONSTANT_MAKERS:  # made from constants alone (ops.arange, ops.ones): a constant
            self.constants.update(id(t) for t in outs)
            self.keep_alive.extend(outs)
            return
        if key in _ALIASES and len(inputs) == 1:
            for tensor in outs:
                self.name(tensor, inputs[0])
            return
        op, attrs = _read(key, {k: v for k, v in arguments.items() if k in parameters})
        with_constants(OPS.get(op), attrs, constants)
        if len(outs) > 1:
            attrs["extra_outputs"] = len(outs) - 1
        function_name = re.sub(r"(?<!^)(?=[A-Z])", "_", key.split(".", 1)[1]).lower()  # ExpandDims: expand_dims
        declared = Declared(f"keras.ops {key}", shape_of(outs[0]), tuple(shapes), (0, 0), may_compute=op not in OPS)
        node = self.graph.add(
            self.graph.unique(self.scope[-1] + (op if op in OPS else function_name)),
            op,
            inputs,
            declared=declared,
            **attrs,
        )
        for tensor in outs:
            self.name(tensor, node)


def class_key(operation: Any) -> str:
    """How the op table knows a Keras class: a layer by its class name (``Add``), a raw ``keras.ops``
    operation by its module and class (``numpy.Add``), since the two share names."""
    cls = type(operation)
    if cls.__module__.startswith(RAW_OPS):
        return operation_key(cls.__module__.rsplit(".", 1)[-1], cls.__name__)
    return cls.__name__


def sublayers(layer: Any) -> list:
    try:
        return list(layer._layers)
    except AttributeError:
        return []


def _arguments(function: Any, args: tuple, kwargs: dict) -> dict:
    try:
        bound = inspect.signature(function).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return {f"arg{i}": value for i, value in enumerate(args)} | kwargs
    bound.apply_defaults()
    return dict(bound.arguments)


@functools.cache
def _config_parameters(key: str) -> frozenset[str]:
    """The config of the Keras operation class ``key`` names (``numpy.Mean``: axis, keepdims)."""
    module, name = key.split(".", 1)
    operation = getattr(getattr(_keras().src.ops, module, None), name, None)
    if operation is None:
        return _CALL_CONFIG.get(key, frozenset())
    return frozenset(
        p for p in inspect.signature(operation.__init__).parameters if p not in ("self", "name", "args", "kwargs")
    ) | _CALL_CONFIG.get(key, frozenset())


def _read(key: str, config: dict) -> tuple[str, dict]:
    op = KERAS_CLASSES.get(key)
    if op is None:
        return key, {}
    try:
        return op.name, op.keras[key](config)
    except (KeyError, TypeError, ValueError, NotImplementedError, AttributeError):
        return key, {}


def _sample_shape(weight: Any, result: Any) -> tuple[int, ...]:
    """A weight's shape as one sample sees it: without a leading 1 where it stands for the batch."""
    shape = tuple(int(d) for d in weight.shape)
    if len(shape) == len(result.shape) and shape and shape[0] == 1:
        return shape[1:]
    return shape


def _attribute_name(parent: Any, layer: Any) -> str:
    """The attribute a subclassed model keeps a layer in (``self.conv1``), else its Keras name."""
    return _attribute(parent, layer) or layer.name


def _attribute(parent: Any, value: Any) -> str | None:
    for key, held in vars(parent).items():
        if held is value and not key.startswith("_"):
            return key
    return None


#: The name Keras gives a weight made without one: numbered by a counter of the whole process.
_UNNAMED = re.compile(r"variable(_\d+)?")


def _weight_name(layer: Any, weight: Any, index: int) -> str:
    """A container's own weight by the attribute that holds it (``self.gamma``), else its own name,
    else its place among the container's own weights (``weight_1``): never Keras's process-wide
    ``variable_6``, which depends on what was built before."""
    name = _attribute(layer, weight) or weight.name
    return f"weight_{index}" if _UNNAMED.fullmatch(name) else name
