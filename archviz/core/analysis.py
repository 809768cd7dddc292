"""Walk a graph once, in topological order, applying the rule table.

The result is a :class:`~archviz.core.summary.Summary`: one record per layer plus
totals. Renderers read the summary and never recompute a number.
"""

from __future__ import annotations

import enum

from archviz.core.graph import Declared, Graph, Node
from archviz.core.summary import LayerRecord, Summary
from archviz.errors import ModelError, UnsupportedOpError
from archviz.limits import MAX_DIMENSION, MAX_RANK, check, short
from archviz.ops import ACTIVATIONS, OPS, Cost, Family, ShapeError, numel, op_for
from archviz.ops.field import Misaligned, field_rule
from archviz.ops.field import Value as FieldValue

#: Ops whose output is not computed from an image: the model's input, and held values (a weight, a
#: constant), which have no spatial field of their own and are left out of a merge's.
HELD = ("input", "weight")


class DType(enum.StrEnum):
    """The type of the values memory is counted in; its bytes are the bits its name says, over 8.
    ``mixed_float16`` is Keras's mixed precision policy: it computes in float16 and keeps its variables
    in float32.

    >>> DType("bfloat16").bytes
    2
    >>> DType("mixed_float16").compute_bytes, DType("mixed_float16").variable_bytes
    (2, 4)
    """

    FLOAT32 = "float32"
    FLOAT16 = "float16"
    BFLOAT16 = "bfloat16"
    MIXED_FLOAT16 = "mixed_float16"
    FLOAT64 = "float64"
    INT8 = "int8"

    @property
    def bytes(self) -> int:
        """The bytes of a value computed with (an activation)."""
        return int("".join(ch for ch in self.value if ch.isdigit())) // 8

    @property
    def compute_bytes(self) -> int:
        return self.bytes

    @property
    def variable_bytes(self) -> int:
        """The bytes of a weight: float32 under mixed precision, else the dtype's."""
        return 4 if self is DType.MIXED_FLOAT16 else self.bytes


def analyze_graph(graph: Graph, *, batch_size: int = 1, dtype: str = "float32") -> Summary:
    """Count every layer of ``graph``.

    A node the rule table cannot count is an error naming it, unless the node carries a
    :class:`~archviz.core.graph.Declared` (an imported layer): then its declared shape and params
    are kept, it is marked not counted and listed in ``summary.uncounted`` with the reason.
    Declared shapes and params win over the rules' (the rules still give MACs and FLOPs).
    """
    check("batch_size", batch_size, "batch size")
    if dtype not in tuple(DType):
        raise ModelError(f"unknown dtype {dtype!r}; choose from {', '.join(DType)}")
    width = DType(dtype).compute_bytes
    shapes: dict[str, tuple[int, ...]] = {}
    records: list[LayerRecord] = []
    uncounted: dict[str, list[str]] = {}
    reasons: dict[str, str] = {}
    warnings: list[str] = []
    fields: dict[str, FieldValue] = {}
    field_unknown: dict[str, list[str]] = {}
    field_notes: list[str] = []
    field_reasons: dict[str, str] = {}
    held: set[str] = set()  # the layers that are held values (weights, constants): no spatial field
    for node in graph:
        declared = node.declared
        if declared is not None and declared.input_shapes is not None and all(map(known, declared.input_shapes)):
            in_shapes = [tuple(s) for s in declared.input_shapes]
        else:
            in_shapes = [shapes[source] for source in node.inputs]
        declared_shape = declared.output_shape if declared is not None else None
        op = OPS.get(node.op)
        try:
            rule = op_for(node.op) if op is None else op
            if not all(map(known, in_shapes)):
                raise _UnknownSize("the size of its input is unknown")
            out = rule.shape(node.attrs, in_shapes)
            cost = rule.cost(node.attrs, in_shapes, out)
            family, counted, ruled = rule.family, True, True
        except ArithmeticError as error:  # a rule's arithmetic on settings its checks let through
            raise ModelError(f"layer {node.name!r} ({node.op}): its settings break its rule ({error})") from None
        except (UnsupportedOpError, ShapeError, _UnknownSize) as error:
            if declared_shape is None:
                if isinstance(error, ShapeError):
                    raise ModelError(f"layer {node.name!r} ({node.op}): {error}") from None
                raise UnsupportedOpError(f"layer {node.name!r}: {error}") from None
            label = _uncounted_label(node)
            uncounted.setdefault(label, []).append(node.name)
            reasons.setdefault(label, (declared and declared.reason) or _reason(label, error, declared_shape))
            out, cost, family, counted = declared_shape, Cost(), Family.UNKNOWN, False
            # its rules hold where only the size is open (an input of ?x?x3, what follows it)
            ruled = isinstance(error, _UnknownSize) or (isinstance(error, ShapeError) and not known(declared_shape))
        refused: list[str] = []
        if declared_shape is not None and known(declared_shape) and declared_shape != out:
            # the rules read the layer otherwise than the model does (an axis they do not see): no field
            ruled = False
            refused.append(f"its rules give the shape {out}, the model declares {declared_shape}")
            warnings.append(
                f"layer {node.name!r}: archviz's shape rule gives {out}, the model declares "
                f"{declared_shape}; using the declared shape"
            )
            out = declared_shape
        if declared is not None and declared.params is not None:
            trainable, non_trainable = declared.params
            if counted and not _params_agree(cost, declared):
                warnings.append(
                    f"layer {node.name!r}: archviz's rule gives {cost.trainable:,} trainable and "
                    f"{cost.non_trainable:,} non-trainable params, the model declares {trainable:,} and "
                    f"{non_trainable:,}; using the declared params"
                )
        else:
            trainable, non_trainable = cost.trainable, cost.non_trainable
        _check_size(node, out)
        shapes[node.name] = out
        field = _field(node, in_shapes if node.inputs else [out], fields, ruled, field_notes, refused, held)
        if node.op in HELD[1:]:
            held.add(node.name)
        fields[node.name] = field
        if field is None and node.op not in HELD and all(fields[s] is not None for s in node.inputs):
            label = _uncounted_label(node)
            field_unknown.setdefault(label, []).append(node.name)  # where it becomes unknown
            field_reasons.setdefault(label, refused[0] if refused else "no receptive-field rule for it")
        records.append(
            LayerRecord.made(
                dict(
                    name=node.name,
                    op=node.op,
                    family=family,
                    inputs=node.inputs,
                    attrs=dict(node.attrs),
                    scope=node.scope,
                    output_shape=out,
                    trainable_params=trainable,
                    non_trainable_params=non_trainable,
                    macs=cost.macs * batch_size,
                    flops=cost.flops * batch_size + cost.fixed_flops if counted else None,
                    activation_bytes=max(numel(out), 0) * batch_size * width
                    if known(out) and (op is None or op.activation)
                    else 0,
                    weighted=op is not None and op.weighted,  # a weight layer, counted or not
                    counted=counted,
                    computes=cost.macs > 0 if counted else _may_compute(node, trainable),
                    receptive_field=field,
                )
            )
        )
    return Summary(
        name=graph.name,
        records=records,
        batch_size=batch_size,
        dtype=dtype,
        bytes_per_param=DType(dtype).variable_bytes,
        record=graph.record,
        groups=dict(graph.groups),
        uncounted=uncounted,
        reasons=reasons,
        warnings=warnings,
        field_unknown=field_unknown,
        field_notes=field_notes,
        field_reasons=field_reasons,
    )


def _field(
    node: Node,
    shapes: list[tuple[int, ...]],
    fields: dict[str, FieldValue],
    ruled: bool,
    notes: list[str],
    refused: list[str],
    held: set[str],
) -> FieldValue:
    """The receptive field of ``node``'s output by its op's rule (:mod:`archviz.ops.field`), also where an
    open input size left the layer uncounted (only a ``same`` padding may then be unknown); None where its
    op has no rule, or where the rule cannot read its attributes (then ``refused`` gets why: never reported
    as a missing rule). A merge of paths that are not aligned keeps its value and adds a note. An operand
    that is a held value (``held``: a LayerScale's gamma, a constant) has no spatial field: the rule sees
    the other operands only."""
    rule = field_rule(OPS[node.op]) if ruled else None
    if rule is None:
        return None
    operands = [i for i, source in enumerate(node.inputs) if source not in held] if len(node.inputs) > 1 else []
    if operands and len(operands) < len(node.inputs) and len(shapes) == len(node.inputs):
        shapes = [shapes[i] for i in operands]
        sources = [node.inputs[i] for i in operands]
    else:
        sources = list(node.inputs)
    try:
        return rule(node.attrs, shapes, [fields[source] for source in sources])
    except Misaligned as error:
        notes.append(f"layer {short(node.name)}: {error}; the receptive field is the largest path's")
        return error.value
    except (ShapeError, KeyError, TypeError, ValueError, ArithmeticError) as error:
        detail = f"missing attribute {error}" if isinstance(error, KeyError) else str(error) or type(error).__name__
        refused.append(f"its receptive-field rule refused it: {detail[:200]}")
        return None


def _check_size(node: Node, shape: tuple[int, ...]) -> None:
    """A tensor has at most :data:`~archviz.limits.MAX_RANK` dimensions of at most
    :data:`~archviz.limits.MAX_DIMENSION` (an UpSampling2D by 10**200 is refused here, in one line, so
    that every count derived from shapes stays a number that prints)."""
    if len(shape) > MAX_RANK - 1:  # and the batch
        raise ModelError(
            f"layer {short(node.name)} ({node.op}): an output of {len(shape):,} dimensions; a tensor has "
            f"at most {MAX_RANK}"
        )
    if shape and max(shape) > MAX_DIMENSION:
        raise ModelError(
            f"layer {short(node.name)} ({node.op}): an output dimension of "
            f"{short(max(shape), 24)} is over the limit of 2**63 - 1"
        )


class _UnknownSize(Exception):
    """An input of a layer has a dimension the model leaves open (``None``)."""


def known(shape: tuple[int, ...] | None) -> bool:
    """A shape whose every dimension is known (an imported model marks an open one as -1)."""
    return shape is not None and min(shape, default=0) >= 0


def _params_agree(cost: Cost, declared: Declared) -> bool:
    """Whether a rule's params are the declared ones: a repeated call of a layer declares none (its
    first call counts them), an ONNX layer sharing an initializer with a layer before it fewer than the
    rule's, a frozen layer declares all its weights non-trainable."""
    if declared.shares is not None:
        return declared.params == (0, 0) or sum(declared.params or (0, 0)) <= cost.params
    trainable, non_trainable = declared.params or (0, 0)
    if trainable == 0:
        return cost.params == non_trainable
    return (cost.trainable, cost.non_trainable) == (trainable, non_trainable)


def _reason(label: str, error: Exception, declared_shape: tuple[int, ...]) -> str:
    if isinstance(error, _UnknownSize) or not known(declared_shape):
        return "input size unknown: pass --input-shape"
    if isinstance(error, UnsupportedOpError):
        return f"no rule for {label}"
    return f"archviz's shape rule failed: {error}"


def _may_compute(node: Node, trainable: int) -> bool:
    """Whether a layer archviz could not count would have MACs: a convolution or a dense product, or
    any layer with weights (a custom layer's kernels)."""
    try:
        return op_for(node.op).family in (Family.CONV, Family.DENSE)
    except UnsupportedOpError:
        return trainable > 0 or (node.declared is not None and node.declared.may_compute)


def _uncounted_label(node: Node) -> str:
    """How a not-counted layer is listed: its declared kind, with the activation no rule knows."""
    label = node.declared.kind if node.declared is not None else node.op
    if node.op == "activation":
        return f"Activation({node.attrs.get('fn')})"
    if node.attrs.get("activation") not in (None, *ACTIVATIONS):
        return f"{label}(activation={node.attrs['activation']})"
    return label
