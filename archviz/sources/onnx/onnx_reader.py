"""An ONNX model's graph (parsed and shape-inferred by :mod:`~archviz.sources.onnx.onnx_files`) as archviz's
layer graph, node for node.

* Each node's op comes from the op table's ONNX mapping (:data:`archviz.ops.ONNX_TYPES`), its
  attributes from the op's ONNX reader; its output shape is the inferred one, channels last (an ONNX
  ``(N, C, H, W)`` tensor is archviz's ``H x W x C``), and the op's rule checks it.
* Tensors held in the file: an initializer, a ``Constant``'s value, and what the exporters compute
  from them and from shapes alone (``Shape``, ``Gather``, ``Unsqueeze``, ``Concat`` of shapes, an
  ``Identity`` of an initializer): these nodes are evaluated once, not per sample, and are no layers.
* Params are the elements of the floating-point initializers the layers use, each counted once at
  the first layer that uses it (an initializer an exporter shares through ``Identity`` nodes is one,
  and so is one reached through ``Cast`` or ``DequantizeLinear``: :mod:`~archviz.sources.onnx.held`).
  A node with subgraphs (``If``, ``Loop``) is never folded: its branches may read any tensor; their
  float initializers are its params, and its MACs make the totals a lower bound.
* A node that breaks ONNX's rules (a stride of 0, a group not dividing the channels, two writers of one
  tensor, a kernel larger than its known input) is refused in one line naming it.
* Each output of a node with several has its own shape: a Split's pieces are layers of their own.
  A ``Constant``'s value is not a param, nor an integer initializer (a shape, axes, indices), nor an
  operand of a node that reads it as a setting (a Clip's bounds, a Resize's scales).
* A node of another domain (a custom op), or one no op maps (``Loop``, ``If``) or whose variant its
  op's reader refuses, is a layer not counted, with its params and inferred shape: the totals are
  then incomplete, and say so.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from archviz.core.graph import Declared, Graph, Shape
from archviz.errors import ArchvizError, RuntimeFailure, UsageError
from archviz.ops import Family, Op, onnx_op
from archviz.ops.base import OnnxNode, ShapeError
from archviz.ops.onnx_attrs import InvalidNode, sample_shape
from archviz.sources.onnx.held import SHAPE_OF, Constants
from archviz.sources.onnx.module_paths import layer_names, set_structure
from archviz.sources.onnx.onnx_record import ONNX_DOMAINS, model_record
from archviz.sources.onnx.protos import attributes, check_dims, constant_tensor, shape_of, subgraph_params

_READ_ERRORS = (ArchvizError, KeyError, TypeError, ValueError, IndexError, AttributeError, ZeroDivisionError)


def graph_from_model(path: Path, model: Any, *, name: str | None = None) -> Graph:
    """The layer graph of a shape-inferred ``onnx.ModelProto`` read from ``path``."""
    reader = _Reader(path, model, Graph(name or path.stem))
    reader.read()
    set_structure(reader.graph, reader.onnx_names)
    return reader.graph


class _Reader:
    def __init__(self, path: Path, model: Any, graph: Graph) -> None:
        self.path, self.model, self.graph = path, model, graph
        body = model.graph
        self.shapes: dict[str, Shape | None] = {}
        for value in (*body.input, *body.value_info, *body.output):
            self.shapes[value.name] = shape_of(value)
        self.constants = Constants(path, body.initializer, self.shapes)
        self.held = self.constants.held
        self.produced: dict[str, str] = {}  # tensor -> the layer that makes it
        self.samples: dict[str, Shape | None] = {}  # layer -> its output shape, channels last
        self.onnx_names: dict[str, str] = {}  # layer -> the ONNX node's name
        self.folded = 0
        self.names = layer_names([node.name for node in body.node if node.name])

    def read(self) -> None:
        self.inputs()
        for node in self.model.graph.node:
            self.node(node)
        if not self.produced:
            raise RuntimeFailure(f"{self.path}: no layer computes from the model's input")
        self.graph.record = model_record(self.model, self.graph, self.samples, self.folded)

    # ---- inputs ------------------------------------------------------------------------------
    def inputs(self) -> None:
        inputs = [value for value in self.model.graph.input if value.name not in self.held]
        if not inputs:
            raise RuntimeFailure(f"{self.path}: the model has no input")
        for value in inputs:
            shape = self.shapes.get(value.name)
            if shape is None or len(shape) < 2:
                raise RuntimeFailure(f"{self.path}: input {value.name[:80]!r} is not a batch of tensors")
            sample = sample_shape(shape)
            if any(d < 0 for d in sample):
                text = "x".join("?" if d < 0 else str(d) for d in sample)
                raise UsageError(f"{self.path.name}'s input is {text} (H x W x C): pass --input-shape to size it")
            layer = self.graph.add(self.graph.unique(value.name or "input"), "input", shape=sample)
            self.graph.set_scopes({layer: ()}, {})  # torch's input.1 is one name, not a group
            self.produced[value.name] = layer
            self.samples[layer] = sample

    # ---- nodes -------------------------------------------------------------------------------
    def node(self, node: Any) -> None:
        names = list(node.input)
        for tensor in names:
            if tensor and tensor not in self.produced and tensor not in self.held:
                raise RuntimeFailure(
                    f"{self.path}: node {node.name[:80]!r} reads {tensor[:80]!r}, which no node before it makes"
                )
        for tensor in node.output:
            if tensor and (tensor in self.produced or tensor in self.held):
                raise RuntimeFailure(
                    f"{self.path}: node {node.name[:80]!r} writes {tensor[:80]!r}, which another node or initializer "
                    f"already makes (each tensor has one writer in ONNX)"
                )
        standard = node.domain in ONNX_DOMAINS
        if standard and node.op_type == "Constant":
            tensor = constant_tensor(node)
            check_dims(self.path, "Constant", node.name or (node.output[0] if node.output else ""), tensor)
            self.constants.hold(node, tensor)
            return
        subgraphs = any(attribute.type in (5, 10) for attribute in node.attribute)  # GRAPH, GRAPHS: If, Loop, Scan
        if standard and not subgraphs and (node.op_type in SHAPE_OF or all(t in self.held for t in names if t)):
            self.folded += 1
            self.constants.hold(node, None)
            return
        self.layer(node, names, standard)

    def layer(self, node: Any, names: list[str], standard: bool) -> None:
        activations = [t for t in names if t in self.produced]
        first = self.shapes.get(activations[0]) if activations else None
        rank = len(first) - 2 if first is not None and len(first) >= 3 else None
        op = onnx_op(node.op_type, rank) if standard else None
        kind = node.op_type if standard else f"{node.domain}.{node.op_type}"
        onnx_node = OnnxNode(
            attrs=attributes(node),
            shapes=[self.constants.shape_of(t) for t in names],
            outputs=[self.shapes.get(t) for t in node.output],
            constants=[t in self.held for t in names],
            values=[self.constants.value_of(t) for t in names],
        )
        out = self.shapes.get(node.output[0]) if node.output else None
        try:
            sample = sample_shape(out) if out is not None else None
        except ValueError:
            sample = None
        attrs: dict[str, Any] = {}
        reason, rule = None, op
        if op is None:
            reason = f"no rule for ONNX op {kind}" + ("" if standard else " (a custom domain)")
        else:
            try:
                attrs = dict(op.onnx[_key(op, node.op_type, rank)](onnx_node))
            except InvalidNode as error:
                raise RuntimeFailure(f"{self.path}: node {node.name[:80]!r} ({kind}): {error}") from None
            except _READ_ERRORS as error:
                reason, op = f"{kind}: {error}", None
        if op is not None and sample is not None and any(d < 1 for d in sample):
            self.check_collapse(node, op, attrs, [self.samples[self.produced[t]] for t in activations], kind)
        sources = [self.produced[t] for t in activations]
        weights = [t for t in names if t and t in self.held]
        if op is not None and op.family == Family.MERGE:
            sources, constants = self.operands(names, first)
            if constants:
                attrs["constants"] = constants
            weights = []
        elif rule is not None and not (rule.weighted or rule.family == Family.NORM or rule.name == "prelu"):
            weights = []  # its held inputs are settings (a Reshape's shape, a Clip's bounds, a Resize's scales)
        name = self.graph.unique(self.names.get(node.name) or (node.output[0] if node.output else kind) or kind)
        params, shares = self.constants.params(weights, name)
        params += subgraph_params(node, self.path)
        if op is None and sample is None:
            raise RuntimeFailure(
                f"{self.path}: node {node.name[:80]!r} ({kind[:80]}) has no rule and the file does not say its "
                f"output shape, so archviz cannot size the layers after it"
            )
        declared = Declared(
            kind,
            sample,
            params=self.split(op, attrs, sources, sample, params),
            shares=shares,
            reason=reason,
            may_compute=op is None and (bool(params) or any(a.type in (5, 10) for a in node.attribute)),
        )
        layer = self.graph.add(name, op.name if op is not None else f"onnx:{kind}", sources, declared=declared, **attrs)
        self.onnx_names[layer] = node.name
        self.samples[layer] = sample
        for output in node.output:
            if output:
                self.produced[output] = layer
        self.other_outputs(node, layer, op, attrs, kind)

    def other_outputs(self, node: Any, layer: str, op: Op | None, attrs: dict, kind: str) -> None:
        """Each output of a node with several, of another shape than its first, is a layer of its own fed by
        the node's: a piece of a Split (its size, at no cost), else a layer not counted of the inferred shape."""
        first = self.shapes.get(node.output[0]) if node.output else None
        for index, output in enumerate(node.output[1:], 1):
            shape = self.shapes.get(output)
            if not output or shape == first:
                continue
            try:
                sample = sample_shape(shape) if shape is not None else None
            except ValueError:
                sample = None
            name = self.graph.unique(f"{layer}_{index}")
            if op is not None and op.name == "split" and sample is not None and "axis" in attrs:
                piece = {"sections": (sample[attrs["axis"]],), "axis": attrs["axis"]}
                extra = self.graph.add(name, "split", [layer_input(self.graph, layer)], **piece)
            else:
                if sample is None:
                    raise RuntimeFailure(
                        f"{self.path}: output {index} of node {node.name[:80]!r} ({kind[:80]}) has no inferred shape, "
                        f"so archviz cannot size the layers after it"
                    )
                declared = Declared(kind, sample, params=(0, 0), reason=f"output {index} of {kind}", may_compute=True)
                extra = self.graph.add(name, f"onnx:{kind}", [layer], declared=declared)
            self.onnx_names[extra] = node.name
            self.samples[extra] = sample
            self.produced[output] = extra

    def operands(self, names: list[str], first: Shape | None) -> tuple[list[str], int]:
        """A merge's inputs: its computed tensors, a held tensor as a ``weight`` layer (an initializer's
        elements its params, a Constant's none), and how many scalar Constants it takes."""
        sources, constants = [], 0
        rank = len(first) if first is not None else 0
        for tensor in names:
            if tensor in self.produced:
                sources.append(self.produced[tensor])
                continue
            held = self.held.get(tensor)
            if held is None or held.dims is None:
                continue
            if not held.origins and math.prod(held.dims) == 1:
                constants += 1
                continue
            dims = (1,) * (rank - len(held.dims)) + tuple(held.dims)
            if len(dims) < 2 or dims[0] != 1:
                raise RuntimeFailure(
                    f"{self.path}: a held operand {tensor[:80]!r} of shape {held.dims} spans the batch"
                )
            name = self.graph.unique(held.initializer or tensor)
            params, _ = self.constants.params([tensor], name)
            shape = sample_shape(dims)
            kind = "Constant" if not held.origins else "initializer"
            attrs: dict[str, Any] = {"shape": shape, "constant" if not held.origins else "trainable": True}
            declared = Declared(kind, shape, params=(params, 0))
            layer = self.graph.add(name, "weight", [], declared=declared, **attrs)
            self.samples[layer] = shape
            sources.append(layer)
        return sources, constants

    def check_collapse(self, node: Any, op: Op, attrs: dict, inputs: list[Shape | None], kind: str) -> None:
        """Refuse a node whose output shape inference left open though its inputs are known, when its rule
        says why (a kernel larger than its input): the file cannot run, and no size makes it."""
        if not inputs or any(s is None or any(d < 0 for d in s) for s in inputs):
            return
        try:
            op.shape(attrs, [s for s in inputs if s is not None])
        except ShapeError as error:
            raise RuntimeFailure(f"{self.path}: node {node.name[:80]!r} ({kind}): {error}") from None
        except _READ_ERRORS:
            return

    def split(self, op: Op | None, attrs: dict, sources: list[str], out: Shape | None, params: int) -> tuple[int, int]:
        """(trainable, non-trainable) of a layer's initializers: as its rule splits them (a batch norm's
        moving statistics are non-trainable) where the rule's count is theirs, else all trainable."""
        if op is None:
            return params, 0
        try:
            shapes = [self.samples[s] for s in sources]
            if all(s is not None for s in shapes):
                known = [s for s in shapes if s is not None]
                cost = op.cost(attrs, known, out if out is not None else op.shape(attrs, known))
                if cost.params == params:
                    return cost.trainable, cost.non_trainable
        except _READ_ERRORS:
            pass
        return params, 0


def layer_input(graph: Graph, layer: str) -> str:
    """The input of a one-input layer (a Split's pieces are cut from the same tensor)."""
    return graph[layer].inputs[0]


def _key(op: Op, op_type: str, rank: int | None) -> str:
    ranked = f"{op_type}/{rank}d"
    return ranked if ranked in op.onnx else op_type
