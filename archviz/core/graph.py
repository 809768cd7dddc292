"""A framework-neutral layer graph.

A :class:`Graph` is an ordered set of :class:`Node` objects. Each node has an op
type (a key of the rule table in :mod:`archviz.ops`), attributes, the names of
its inputs and a stable hierarchical name such as ``layer3.block2.conv1``. The
dotted name is the hierarchy (model, stage, block, layer) that depth control,
diagram clusters and the HTML tree are made from.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from archviz.core.record import ModelRecord
from archviz.datarecord import RecordTuple
from archviz.errors import ModelError, UsageError
from archviz.limits import MAX_NAME_PARTS, short

_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(name: str) -> str:
    """``name`` with any lone surrogate (a JSON file's ``"\\ud800"``, which no encoder can write)
    spelled out as its escape, so every name can be printed, hashed and drawn."""
    if name.isascii():  # the common case, at C speed: no surrogate is ASCII
        return name
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", name)


Shape = tuple[int, ...]


class Declared(RecordTuple):
    """What an importer knows of a layer from its framework, handed to the core as data.

    The analysis treats any declaration alike, whatever framework made it: a declared output
    shape wins over the rule's (a disagreement is a warning), declared params win over the
    rule's, and a layer no rule can count keeps its declared numbers and is reported as not
    counted. ``kind`` is the framework's name of the layer class, for those reports.

    Params as a framework counts them: a frozen layer's weights are all non-trainable, and a layer
    called twice has its weights counted at its first call; ``shares`` names that first call's node
    (or, in an ONNX file, the layer that counted a weight this one shares with it).
    """

    kind: str
    output_shape: Shape | None = None
    input_shapes: tuple[Shape, ...] | None = None
    params: tuple[int, int] | None = None  # (trainable, non-trainable)
    shares: str | None = None  # a repeated call of a layer: the node that counts its weights
    reason: str | None = None  # why no rule counts it, where the importer knows better than "no rule"
    may_compute: bool = False  # not counted, it may have MACs (an operation the importer did not see)


class Node(RecordTuple):
    """One layer: an op applied to the outputs of other nodes."""

    name: str
    op: str
    inputs: tuple[str, ...] = ()
    attrs: Mapping[str, Any] = MappingProxyType({})
    declared: Declared | None = None
    scope: tuple[str, ...] | None = None  # its groups, where its name does not say them (imported layers)

    @property
    def path(self) -> tuple[str, ...]:
        """The hierarchical name split into its scopes, or the recovered scope and the name."""
        return tuple(self.name.split(".")) if self.scope is None else (*self.scope, self.name)


class Graph:
    """Nodes in topological order (a node's inputs are always added before it).

    ``groups`` names the kind of each group of the hierarchy (``layer2`` is a ``stage``,
    ``layer2.block1`` a ``bottleneck``); ``record`` is what is known of the model besides its layers
    (:class:`~archviz.core.record.ModelRecord`: its source, a preset's config, how a file was read),
    carried into its summary.
    """

    def __init__(
        self, name: str, *, groups: Mapping[str, str] | None = None, record: ModelRecord | None = None
    ) -> None:
        self.name = valid_text(name)
        self.groups: dict[str, str] = dict(groups or {})
        self.record = record or ModelRecord()
        self._nodes: dict[str, Node] = {}
        self._next: dict[str, int] = {}  # the next suffix :meth:`unique` tries for a name

    def add(
        self,
        name: str,
        op: str,
        inputs: tuple[str, ...] | list[str] | str = (),
        *,
        declared: Declared | None = None,
        **attrs: Any,
    ) -> str:
        """Add a node and return its name, so builders can chain calls."""
        if isinstance(inputs, str):
            inputs = (inputs,)
        name = valid_text(name)
        inputs = tuple(valid_text(source) for source in inputs)
        if name in self._nodes:
            raise ModelError(f"duplicate layer name {name!r} in graph {self.name!r}")
        if name.count(".") >= MAX_NAME_PARTS:  # each part is a level of clusters in a diagram and of the report's tree
            raise ModelError(
                f"layer name {short(name)} has {name.count('.') + 1:,} dotted parts; archviz reads at "
                f"most {MAX_NAME_PARTS}"
            )
        for source in inputs:
            if source not in self._nodes:
                raise ModelError(f"layer {name!r} takes input {source!r}, which is not defined before it")
        self._nodes[name] = Node(name=name, op=op, inputs=tuple(inputs), attrs=dict(attrs), declared=declared)
        return name

    def unique(self, name: str) -> str:
        """``name``, or ``name_1``, ``name_2``... if a node has it (a shared layer's second call). The
        search starts where the last one for ``name`` ended, so a layer called n times costs n steps, not n²."""
        name = valid_text(name)
        if name not in self._nodes:
            return name
        index = self._next.get(name, 1)
        while f"{name}_{index}" in self._nodes:
            index += 1
        self._next[name] = index + 1
        return f"{name}_{index}"

    def __iter__(self) -> Iterator[Node]:
        return iter(self._nodes.values())

    def __len__(self) -> int:
        return len(self._nodes)

    def __getitem__(self, name: str) -> Node:
        return self._nodes[name]

    def __contains__(self, name: object) -> bool:
        return name in self._nodes

    @property
    def nodes(self) -> list[Node]:
        return list(self._nodes.values())

    @property
    def outputs(self) -> list[str]:
        """Nodes that no other node consumes."""
        consumed = {source for node in self for source in node.inputs}
        return [node.name for node in self if node.name not in consumed]

    def consumers(self) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {name: [] for name in self._nodes}
        for node in self:
            for source in node.inputs:
                result[source].append(node.name)
        return result

    def set_scopes(self, scopes: Mapping[str, tuple[str, ...]], groups: Mapping[str, str]) -> None:
        """Place layers in groups their names do not spell (``conv2_block1_1_conv`` in ``conv2.block1``),
        with the kind of each group (``stage``, ``residual block``)."""
        for name, scope in scopes.items():
            self._nodes[name] = self._nodes[name]._replace(scope=tuple(scope))
        self.groups.update(groups)

    def set_input_shape(self, shape: Shape) -> None:
        """Give the input a size the model leaves open (a dimension of -1): the rules then size
        every layer after it. A size the model fixes cannot change."""
        inputs = [node for node in self if node.op == "input"]
        if len(inputs) != 1:
            raise UsageError(f"an input shape applies to a model with one input; {self.name!r} has {len(inputs)}")
        node, shape = inputs[0], tuple(int(d) for d in shape)
        current = tuple(node.attrs["shape"])
        if len(current) != len(shape) or any(have >= 0 and have != want for have, want in zip(current, shape)):
            text = "x".join("?" if d < 0 else str(d) for d in current)
            raise UsageError(
                f"the model's input is {text}; an input shape of {'x'.join(map(str, shape))} does not "
                f"fit it (only the ? dimensions can be chosen)"
            )
        declared = node.declared._replace(output_shape=shape) if node.declared is not None else None
        self._nodes[node.name] = node._replace(attrs={**node.attrs, "shape": shape}, declared=declared)
        self.record = self.record.with_input_shape(shape)

    @property
    def max_depth(self) -> int:
        return max((len(node.path) for node in self), default=0)
