"""Keras model files read without TensorFlow: a file's config becomes the layer graph that
:func:`archviz.backend.keras_import.graph_from_keras` makes of the loaded model, node for node.

The config (a ``.keras`` archive's ``config.json``, a legacy ``.h5`` file's ``model_config``) is
data, and is only read (:mod:`archviz.sources.keras.entries`): functional and ``Sequential`` models, as
Keras 3 and Keras 2 (tf.keras) write them; models nested in models, their layers named
``outer.inner``; layers called more than once (a later call is ``name_1``, its weights counted at
the first call); raw ``keras.ops`` calls (``x * 2.0``). Each layer's attributes come from the op
table's reader for its class, its output shape from the op's rule, its params from the file's
weights (:mod:`archviz.sources.keras.weights`): a frozen layer's weights are all non-trainable. Where the
weights, or the input shapes a Keras 3 file records, are not what the rules give, that is an
error naming the layer, never a silent pick.

Keras 2 files of tf-keras (``.keras`` archives with ``tf_keras.src...`` classes, ``TFOpLambda``
layers, whose functions :mod:`archviz.sources.keras.tf_ops` maps to ops) are read alike. A class with no op
(a custom layer, a ``Lambda``, a subclassed model), or a variant that an op's reader or rule cannot
take, raises :class:`NotReadable`: Keras can load such a file, unless tf-keras wrote it
(:func:`keras_refusal` says so). A config that
is not what Keras writes (a missing key, a wrong type, an input from a layer that is not there, a
cycle, models nested deeper than :data:`~archviz.sources.keras.entries.MAX_NESTING`) is one line.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

from archviz.core.graph import Declared, Graph, Shape
from archviz.core.record import ModelRecord, Source
from archviz.errors import ArchvizError, RuntimeFailure
from archviz.ops import KERAS_CLASSES, Family, Op
from archviz.ops.base import with_constants
from archviz.sources.keras.entries import (
    CONTAINERS,
    Entries,
    NotReadable,
    Reference,
    is_frozen,
    is_raw_op,
    keras_refuses,
    recorded_shape,
)
from archviz.sources.keras.tf_ops import FUNCTIONS, TF_OP_CLASSES, resolve
from archviz.sources.keras.weights import Place, Weights, open_weights

#: Two sizes an open (``None``) input dimension takes: an output dimension that differs between them is open too.
PROBES = (512, 544)
_RULE_ERRORS = (
    ArchvizError,
    KeyError,
    TypeError,
    ValueError,
    IndexError,
    AttributeError,
    ZeroDivisionError,
    OverflowError,
)

__all__ = ["NotReadable", "graph_from_config", "keras_refusal"]


def graph_from_config(
    path: str | Path, config: dict, *, input_shape: Shape | None = None, name: str | None = None
) -> Graph:
    """The layer graph of the model file ``path`` whose config (checked by
    :func:`archviz.sources.keras.files.read_config`) is ``config``; ``input_shape`` sizes what the model leaves open."""
    path = Path(path)
    reader = _Reader(path)
    kind = reader.class_key(config)
    if kind not in CONTAINERS:
        raise NotReadable(path, f"model class {kind!r} (not a functional or Sequential model)")
    keras_class = "Sequential" if kind == "Sequential" else "Functional"
    graph = Graph(name or path.stem, record=ModelRecord(Source.KERAS, keras_class=keras_class))
    reader.keras_loads = not keras_refuses(path, config)
    try:
        reader.check_classes(config)  # before anything else is read
        with open_weights(path) as weights:
            reader.graph, reader.weights = graph, weights
            reader.model(config, "", None, weights.root, False)
    except NotReadable as error:
        if error.keras_loads and not reader.keras_loads:
            raise NotReadable(path, error.reason, keras_loads=False) from None
        raise
    graph.record = graph.record.with_input_shape(next(iter(graph)).attrs["shape"])
    if input_shape is not None:
        graph.set_input_shape(tuple(input_shape))
    return graph


def keras_refusal(path: Path, config: dict, *, runs: bool = False) -> str | None:
    """Why Keras 3 cannot load a file tf-keras wrote (None: it may), naming ``--loader config`` only
    where the config reader does read the file and the command does not run the model (``runs``)."""
    if not keras_refuses(path, config):
        return None
    if runs:
        return f"{path}: a file of tf-keras (Keras 2), which Keras 3 cannot load, so archviz cannot run it"
    try:
        graph_from_config(path, config)
    except NotReadable as error:
        hint = f"nor can archviz's config reader ({error.reason})"
    else:
        hint = "--loader config (or auto) reads it without Keras"
    return f"{path}: a file of tf-keras (Keras 2), which Keras 3 cannot load; {hint}"


class _Reader(Entries):
    """Adds a config's layers to a graph, in the order the Keras importer walks them."""

    graph: Graph
    weights: Weights
    keras_loads: bool  # whether Keras 3 can load the file (one tf-keras wrote may not be)

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.shapes: dict[str, tuple[Shape, ...]] = {}  # node -> its output shape under each probe size
        self.counted: dict[int, str] = {}  # id of a layer's place -> the node that counts its weights
        self.consumed: dict[str, Shape] = {}  # TF op layer -> the input shape its one consumer was built for

    # ---- models ------------------------------------------------------------------------------
    def model(
        self, entry: dict, prefix: str, sources: list[str] | None, place: Place | None, frozen: bool
    ) -> list[str]:
        """Add a model's layers (a nested model's when ``sources`` feed its inputs); returns its outputs.
        Its nesting is bounded: :meth:`check_classes` has walked it."""
        frozen = frozen or is_frozen(entry)
        if place is None:  # every layer of a model has a place in its weights; only a raw op has none
            raise self.bad(f"a nested model {prefix.rstrip('.')!r} that is not a layer of its model")
        if self.class_key(entry) == "Sequential":
            return self.sequential(entry, prefix, sources, place, frozen)
        return self.functional(entry, prefix, sources, place, frozen)

    def places(self, parent: Place, layers: list[dict]) -> None:
        """Each layer's place in the weights, in the model's layer order (once for a model called twice)."""
        if parent.children is None:
            parent.children = {}
            for layer in layers:
                if not is_raw_op(layer):
                    name = self.name_of(layer)
                    parent.children[name] = self.weights.child(parent, layer["class_name"], name)

    def sequential(self, entry: dict, prefix: str, sources: list[str] | None, place: Place, frozen: bool) -> list[str]:
        layers = self.layers_of(entry)
        if not layers:
            raise self.bad("a Sequential model without layers")
        has_input_layer = self.class_key(layers[0]) == "InputLayer"
        rest = layers[1:] if has_input_layer else layers
        self.places(place, rest)
        if sources is None:
            if not self.has_input(entry):
                raise NotReadable(self.path, "a Sequential model that was never built (it has no input shape)")
            # Keras 2 names the input it adds for a first layer's batch_input_shape after that layer
            name = self.name_of(layers[0]) + ("" if has_input_layer else "_input")
            sources = [self.add_input(prefix + name, self.input_shape(layers[0], f"layer {name!r}"))]
        for layer in rest:
            if self.class_key(layer) == "InputLayer":
                raise self.bad("a Sequential model with an input layer after its first layer")
            sources = self.call(layer, prefix, sources, 0, place, frozen)
        return sources

    def functional(self, entry: dict, prefix: str, sources: list[str] | None, place: Place, frozen: bool) -> list[str]:
        config, layers = self.get(entry, "config", dict, "a model"), self.layers_of(entry)
        by_name: dict[str, dict] = {}
        for layer in layers:
            if by_name.setdefault(self.name_of(layer), layer) is not layer:
                raise self.bad(f"two layers named {self.name_of(layer)!r}")
            self.get(layer, "inbound_nodes", list, f"layer {self.name_of(layer)!r}", [])
        self.places(place, layers)
        self.note_consumed(by_name, prefix)
        legacy = any(isinstance(call, list) for layer in layers for call in layer.get("inbound_nodes", []))
        produced: dict[str, list[list[str]]] = {name: [] for name in by_name}  # each call's output nodes
        inputs = self.references(config.get("input_layers"), "the model's inputs")
        if sources is not None:
            if len(sources) != len(inputs) or any(name not in by_name for name, _, _ in inputs):
                raise self.bad(f"model {prefix[:-1]!r} is called with {len(sources)} inputs for its {len(inputs)}")
            for (name, _, _), source in zip(inputs, sources):
                produced[name] = [[source]]
        for name, layer in by_name.items():
            if sources is None and self.class_key(layer) == "InputLayer":
                produced[name] = [[self.add_input(prefix + name, self.input_shape(layer, f"input {name!r}"))]]
        self.run_calls(by_name, produced, legacy, prefix, place, frozen)
        outputs = [
            self.node_of(self.slot(ref, by_name, legacy, True), produced)
            for ref in self.references(config.get("output_layers"), "the model's outputs")
        ]
        return self.computed(outputs, "an output of the model is never computed")

    def computed(self, nodes: list[str | None], problem: str) -> list[str]:
        """``nodes``, every one of which must have been computed (else the file is refused)."""
        found = [node for node in nodes if node is not None]
        if len(found) != len(nodes):
            raise self.bad(problem)
        return found

    def note_consumed(self, by_name: dict, prefix: str) -> None:
        """The shape a tf-keras ``.keras`` file records for a TF op layer's output: the ``build_config``
        input shape of a layer called once on that output alone (a function without a rule keeps it)."""
        for name, layer in by_name.items():
            calls, built = layer.get("inbound_nodes"), layer.get("build_config")
            shape = built.get("input_shape") if isinstance(built, dict) else None
            if not (
                isinstance(calls, list)
                and len(calls) == 1
                and isinstance(shape, list)
                and shape
                and all(type(d) is int and d > 0 for d in shape[1:])
            ):
                continue
            try:
                refs, _, _ = self.arguments(calls[0], f"layer {name!r}'s inputs")
            except NotReadable:
                continue
            source = by_name.get(refs[0][0]) if len(refs) == 1 and refs[0][1:] == (0, 0) else None
            if source is not None and self.class_key(source) in TF_OP_CLASSES:
                self.consumed[prefix + refs[0][0]] = tuple(shape[1:])

    def run_calls(self, by_name: dict, produced: dict, legacy: bool, prefix: str, place: Place, frozen: bool) -> None:
        """Every call of a model's layers, in the order they are listed; a call whose input is not made
        yet waits for the very call that makes it (as Keras's loader allows), so a call is tried once,
        and once more per input it waited for: never a pass over the model per call."""
        pending = {
            name: deque(layer.get("inbound_nodes", []))
            for name, layer in by_name.items()
            if self.class_key(layer) != "InputLayer"
        }
        waiting: dict[tuple[str, int], list[str]] = {}  # (layer, calls it must have made) -> layers waiting
        for start in pending:
            stack = [start]
            while stack:
                name = stack.pop()
                while pending[name]:
                    refs, recorded, constants = self.arguments(pending[name][0], f"layer {name!r}'s inputs")
                    slots = [self.slot(ref, by_name, legacy, False) for ref in refs]
                    missing = next((slot for slot in slots if slot[1] >= len(produced[slot[0]])), None)
                    if missing is not None:
                        waiting.setdefault((missing[0], missing[1] + 1), []).append(name)
                        break
                    nodes = self.computed([self.node_of(slot, produced) for slot in slots], f"an input of {name!r}")
                    for node, shape in zip(nodes, recorded):
                        self.check_recorded(name, node, recorded_shape(shape))
                    produced[name].append(
                        self.call(by_name[name], prefix, nodes, constants, place, frozen, pending[name][0])
                    )
                    pending[name].popleft()
                    stack.extend(waiting.pop((name, len(produced[name])), []))
        stuck = next((name for name, calls in pending.items() if calls), None)
        if stuck is not None:
            raise self.bad(f"layer {stuck!r} waits for inputs that never come (a cycle?)")

    def slot(self, ref: Reference, by_name: dict, legacy: bool, output: bool) -> Reference:
        """(layer, call, output) of a referenced tensor, its call counted from the layer's first call in
        this model. A nested model counts its own construction as call 0 where Keras's format says so:
        a functional model in Keras 2 files and in Keras 3's outputs, a Sequential model with an input
        in Keras 2 files."""
        name, index, position = ref
        if name not in by_name:
            raise self.bad(f"an input or output names layer {name!r}, which the model does not have")
        layer, kind = by_name[name], self.class_key(by_name[name])
        first = int(
            kind in ("Functional", "Model")
            and (legacy or output)
            or kind == "Sequential"
            and legacy
            and self.has_input(layer)
        )
        calls = 1 if kind == "InputLayer" else len(layer.get("inbound_nodes", []))
        if not 0 <= index - first < calls:
            raise self.bad(f"an input or output names call {index} of layer {name!r}, which it does not have")
        return name, index - first, position

    def node_of(self, slot: Reference, produced: dict) -> str | None:
        """The node holding a tensor, or None while its call has not run."""
        name, call, position = slot
        if call >= len(produced[name]):
            return None
        if position >= len(produced[name][call]):
            raise NotReadable(self.path, f"output {position} of layer {name!r} (a layer with several outputs)")
        return produced[name][call][position]

    def check_recorded(self, consumer: str, node: str, recorded: Shape | None) -> None:
        """The input shape a Keras 3 file records for a call must be the one the rules give."""
        declared = self.graph[node].declared
        ours = declared.output_shape if declared is not None else None
        if recorded is not None and recorded != ours:
            raise RuntimeFailure(
                f"{self.path}: layer {consumer!r}: the file records its input from {node!r} as "
                f"{recorded}, archviz's rules give {ours}"
            )

    def call(
        self,
        entry: dict,
        prefix: str,
        sources: list[str],
        constants: int,
        parent: Place,
        frozen: bool,
        arguments: Any = None,
    ) -> list[str]:
        """One call of a layer (its ``arguments`` as the config writes them): a leaf node, or a nested
        model's layers under its name."""
        name, kind = self.name_of(entry), self.class_key(entry)
        place = (parent.children or {}).get(name)  # a raw op has none
        if kind in CONTAINERS:
            return self.model(entry, f"{prefix}{name}.", sources, place, frozen)
        frozen = frozen or is_frozen(entry)
        if kind in TF_OP_CLASSES:
            node = self.tf_op(entry, kind, prefix + name, sources, arguments, place, frozen)
        else:
            node = self.leaf(entry, kind, prefix + name, sources, constants, place, frozen)
        if kind in TF_OP_CLASSES and "." in name:  # tf-keras names a TF op layer tf.math.add: its groups are
            # its model's, not tf and math (any other dotted name, an exported archviz model's, is its hierarchy)
            self.graph.set_scopes({node: tuple(prefix.split(".")[:-1])}, {})
        return [node]

    def tf_op(
        self, entry: dict, kind: str, name: str, sources: list[str], arguments: Any, place: Place | None, frozen: bool
    ) -> str:
        """A Keras 2 ``TFOpLambda``: the op its function is (:mod:`archviz.sources.keras.tf_ops`), or a node
        listed as not counted where the function has no cost rule."""
        function = self.get(self.get(entry, "config", dict, f"layer {name!r}"), "function", str, f"layer {name!r}")
        label = f"{kind}(tf.{function})"
        try:
            op, attrs = resolve(function, arguments)
        except (ValueError, TypeError, KeyError) as error:
            if function in FUNCTIONS or name not in self.consumed:
                raise NotReadable(self.path, f"layer {name!r}, {label}: {error}", keras_loads=False) from None
            shape = self.consumed[name]  # no rule, but the file says what its consumer was built for
            op, attrs = Op("TFOpLambda", Family.UNKNOWN, lambda attrs, shapes: shape), {}
        return self.node(name, label, op, attrs, sources, place, frozen)

    # ---- nodes ---------------------------------------------------------------------------------
    def add_input(self, name: str, shape: Shape) -> str:
        node = self.graph.add(self.graph.unique(name), "input", shape=shape, declared=Declared("InputLayer", shape))
        self.shapes[node] = tuple(tuple(probe if d < 0 else d for d in shape) for probe in PROBES)
        return node

    def leaf(
        self, entry: dict, kind: str, name: str, sources: list[str], constants: int, place: Place | None, frozen: bool
    ) -> str:
        """A layer's node: attributes from its config, shape and params from the rules, params checked
        against the file's weights (a later call of a layer shares its first call's)."""
        op, config = KERAS_CLASSES[kind], self.get(entry, "config", dict, f"layer {name!r}")
        try:
            attrs = dict(op.keras[kind](config))
        except _RULE_ERRORS as error:
            raise NotReadable(self.path, f"layer {name!r} ({kind}): {error}") from None
        return self.node(name, kind, op, with_constants(op, attrs, constants), sources, place, frozen)

    def node(
        self, name: str, kind: str, op: Op, attrs: dict, sources: list[str], place: Place | None, frozen: bool
    ) -> str:
        """A leaf's node, as the op ``op`` with ``attrs``: shape and params from the rules."""
        try:
            ins = [self.shapes[source] for source in sources]
            first = op.shape(attrs, [pair[0] for pair in ins])
            second = first if all(a == b for a, b in ins) else op.shape(attrs, [pair[1] for pair in ins])
            cost = op.cost(attrs, [pair[0] for pair in ins], first)
        except _RULE_ERRORS as error:
            raise NotReadable(self.path, f"layer {name!r} ({kind}): {error}") from None
        if len(first) != len(second):
            raise NotReadable(self.path, f"layer {name!r} ({kind}): its rank depends on the input's size")
        shares = self.counted.get(id(place)) if place is not None else None
        params = (0, 0)
        if shares is None:
            stored = self.weights.size(place) if place is not None else 0
            if stored != cost.params:
                raise RuntimeFailure(
                    f"{self.path}: layer {name!r} ({kind}) holds {stored:,} weights in the file, "
                    f"but archviz's rule gives {cost.params:,} params"
                    + ("; --loader keras counts it with Keras" if self.keras_loads else "")
                )
            params = (0, stored) if frozen else (cost.trainable, cost.non_trainable)
        shape = tuple(a if a == b else -1 for a, b in zip(first, second))
        declared = Declared(kind, shape, params=params, shares=shares)
        node = self.graph.add(self.graph.unique(name), op.name, sources, declared=declared, **attrs)
        if place is not None:
            self.counted.setdefault(id(place), node)
        self.shapes[node] = (first, second)
        return node
