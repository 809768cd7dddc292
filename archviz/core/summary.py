"""The summary: per-layer records and totals. The only thing renderers read.

Aggregation at any depth sums the records of a group: a stage's row is the sum
of its blocks, a block's the sum of its layers.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from archviz.core.metrics import METRICS_BY_KEY, Value, View, row_value, shown
from archviz.core.record import ModelRecord
from archviz.datarecord import DataRecord
from archviz.errors import UsageError
from archviz.limits import short
from archviz.ops import OPS, Family
from archviz.ops.field import Field as FieldRecord

#: A receptive field "much larger" than the input: more than this many times its side, on every axis.
MUCH_LARGER = 4


class Depth(enum.StrEnum):
    """How deep a table or a diagram goes: the model's stages, its blocks, or every layer (levels 1, 2, 3)."""

    STAGES = "stages"
    BLOCKS = "blocks"
    LAYERS = "layers"

    @property
    def level(self) -> int:
        return list(Depth).index(self) + 1


class Counts(DataRecord, frozen=True, kw_only=True):
    """What a layer, or a group of layers summed, counts: params, MACs, FLOPs and activation bytes
    (for the whole batch); ``counted`` is False where archviz could not count a layer."""

    name: str
    op: str
    output_shape: tuple[int, ...]
    trainable_params: int
    non_trainable_params: int
    macs: int
    flops: int | None  # None: not counted (no rule for the op)
    activation_bytes: int
    counted: bool = True
    receptive_field: Any = None  # a Field, "global", or None: unknown (archviz.ops.field)

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params


class LayerRecord(Counts, frozen=True, kw_only=True):
    """The counts of one layer, with what the analysis knows of it."""

    family: str
    inputs: tuple[str, ...] = ()
    attrs: Mapping[str, Any] = {}
    weighted: bool = False
    computes: bool = False  # it has MACs (or would have, where not counted)
    scope: tuple[str, ...] | None = None  # the groups it belongs to, where its name does not say

    @cached_property  # (read for every row of every table: kept once made)
    def path(self) -> tuple[str, ...]:
        """Its groups and itself: a built layer's dotted name split (``layer2``, ``block1``, ``conv1``), or
        an imported layer's recovered scope and its own name (``conv2``, ``block1``, ``conv2_block1_1_conv``)."""
        return tuple(self.name.split(".")) if self.scope is None else (*self.scope, self.name)

    def label(self) -> str:
        """Its key attributes as its op labels them (``3x3/2, 128``); empty for an op archviz does not know."""
        op = OPS.get(self.op)
        return op.label(self.attrs) if op is not None else ""

    def key(self, level: int) -> str:
        """The name of its group at ``level`` (1 = stage, 2 = block), or its own name below its groups."""
        return self.name if level >= len(self.path) else ".".join(self.path[:level])


class Row(Counts, frozen=True, kw_only=True):
    """One line of a summary table: a layer, or a group of layers summed."""

    level: int
    layers: int
    weighted_layers: int
    detail: str = ""  # a layer's key attributes, as its op labels them (``3x3/2, 128``)

    def to_dict(self) -> dict[str, Any]:
        """The row in JSON: its name, op and shape, and every per-layer metric (None: not counted)."""
        record: dict[str, Any] = {"name": self.name, "op": self.op, "output_shape": list(self.output_shape)}
        record.update((metric.key, row_value(metric, self)) for metric in shown(View.LAYERS))
        return record


def resolve_depth(depth: int | str | None, max_depth: int) -> int:
    """Depth as a level: 1 stages, 2 blocks, 3 layers (or the deepest level the model has); anything else
    is a :class:`~archviz.errors.UsageError`."""
    if depth is None:
        return max_depth
    if isinstance(depth, str):
        words = {str(word.level): word.value for word in Depth}
        depth = words.get(depth, depth)  # "2" on the command line means what "blocks" means
        if depth in tuple(Depth):
            return min(Depth(depth).level, max_depth) if depth != Depth.LAYERS else max_depth
        if not (depth.isascii() and depth.isdigit()):
            raise UsageError(f"depth must be 1, 2, 3 or one of {', '.join(Depth)}; got {short(depth)}")
        depth = int(depth)
    if isinstance(depth, bool) or not isinstance(depth, int):
        raise UsageError(f"depth must be 1, 2, 3 or one of {', '.join(Depth)}; got {short(depth)}")
    if depth < 1:
        raise UsageError(f"depth must be at least 1, got {depth}")
    if depth > max_depth:
        raise UsageError(f"depth {depth} is beyond the model's {max_depth} levels")
    return depth


#: Reductions that pool a feature map as a global pooling does (a mean, max or sum over positions).
POOLING_REDUCTIONS = ("mean", "max", "sum")


class Summary(DataRecord):
    name: str
    records: list[LayerRecord]
    batch_size: int = 1
    dtype: str = "float32"
    bytes_per_param: int = 4
    record: ModelRecord = ModelRecord()  # immutable: one empty record serves every summary
    groups: dict[str, str] = {}
    uncounted: dict[str, list[str]] = {}  # label -> layer names
    reasons: dict[str, str] = {}  # label -> why those layers are not counted
    warnings: list[str] = []
    field_unknown: dict[str, list[str]] = {}  # op -> layers where the field becomes unknown
    field_notes: list[str] = []  # paths that merge without being aligned
    #: op -> why the field became unknown there: no rule for the op, or its rule refused the layer (and why)
    field_reasons: dict[str, str] = {}
    #: the cost of a training step (:class:`~archviz.core.training.TrainingCost`), where one was asked for
    training: Any = None

    @property
    def options(self) -> dict[str, Any]:
        """The model's options as the JSON record gives them (:meth:`ModelRecord.options`)."""
        return self.record.options()

    # ---- totals -------------------------------------------------------
    @property
    def trainable_params(self) -> int:
        return sum(r.trainable_params for r in self.records)

    @property
    def non_trainable_params(self) -> int:
        return sum(r.non_trainable_params for r in self.records)

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def macs(self) -> int:
        return sum(r.macs for r in self.records)

    @property
    def flops(self) -> int:
        """FLOPs of the counted layers: a lower bound when :attr:`complete` is False."""
        return sum(r.flops for r in self.records if r.flops is not None)

    @property
    def complete(self) -> bool:
        """Whether every layer's FLOPs are counted (else :attr:`flops` is a lower bound)."""
        return not self.uncounted

    @property
    def macs_complete(self) -> bool:
        """Whether no layer that would have MACs is uncounted (else :attr:`macs` is a lower bound)."""
        return not any(r.computes and not r.counted for r in self.records)

    @property
    def param_bytes(self) -> int:
        return self.params * self.bytes_per_param

    @property
    def activation_bytes(self) -> int:
        return sum(r.activation_bytes for r in self.records)

    @property
    def weighted_layers(self) -> int:
        return sum(1 for r in self.records if r.weighted)

    @property
    def max_depth(self) -> int:
        return max((len(r.path) for r in self.records), default=1)

    @property
    def size_open(self) -> bool:
        """Whether the model leaves its input size open (a ``?`` dimension): MACs, FLOPs and activation
        memory are then unknown, not zero, until an input shape is given."""
        return any(r.op == "input" and any(d < 0 for d in r.output_shape) for r in self.records)

    @property
    def last_spatial(self) -> LayerRecord | None:
        """The last layer whose output is a feature map of more than one position (for a classifier, the
        last one before pooling; an open size counts as more than one)."""
        return next((r for r in reversed(self.records) if any(d != 1 for d in r.output_shape[:-1])), None)

    @property
    def receptive_field(self) -> Any:
        """The receptive field of :attr:`last_spatial`: a Field, ``global`` (a squeeze-excite gate before it
        already saw the whole input), or None (unknown, or no spatial layer)."""
        last = self.last_spatial
        return None if last is None else last.receptive_field

    def value(self, key: str) -> Value:
        """A total as shown: unknown while the input size is open (for what depends on it), a lower
        bound where layers are not counted (:mod:`archviz.core.metrics`)."""
        return METRICS_BY_KEY[key].value(self)

    def totals(self) -> dict[str, Any]:
        """The totals of every metric (:data:`~archviz.core.metrics.METRICS`); those that depend on the input
        size are None while it is open, and a metric that can miss layers says whether it is complete
        (``macs_complete``)."""
        totals: dict[str, Any] = {}
        for metric in shown(View.TOTAL):
            value = metric.value(self)
            totals[metric.key] = value.number
            if metric.complete is not None:
                totals[f"{metric.key}_complete"] = value.complete
        return totals

    # ---- rows at a depth ----------------------------------------------
    def rows(self, depth: int | str | None = None) -> list[Row]:
        level = resolve_depth(depth, self.max_depth)
        order: list[str] = []
        members: dict[str, list[LayerRecord]] = {}
        for record in self.records:
            key = record.key(level)
            if key not in members:
                order.append(key)
                members[key] = []
            members[key].append(record)
        return [self._row(key, members[key], level) for key in order]

    def _row(self, key: str, records: list[LayerRecord], level: int) -> Row:
        first = records[0]
        if len(records) == 1 and first.name == key:
            op, detail = first.op, first.label()
        else:
            op, detail = self.groups.get(key, "group"), ""
        trainable = non_trainable = macs = flops = activation_bytes = weighted = 0
        counted = True
        for record in records:  # one pass: a table at layer depth makes a row of every layer
            trainable += record.trainable_params
            non_trainable += record.non_trainable_params
            macs += record.macs
            flops += record.flops or 0
            activation_bytes += record.activation_bytes
            weighted += record.weighted
            counted = counted and record.counted
        return Row.made(
            dict(
                name=key,
                op=op,
                level=min(level, len(first.path)),
                output_shape=records[-1].output_shape,
                trainable_params=trainable,
                non_trainable_params=non_trainable,
                macs=macs,
                flops=flops if counted else None,
                activation_bytes=activation_bytes,
                layers=len(records),
                weighted_layers=weighted,
                counted=counted,
                detail=detail,
                receptive_field=records[-1].receptive_field,
            )
        )

    def stage_rows(self) -> list[Row]:
        """Rows of the residual stages only (``layer1`` ...), for per-stage budgets."""
        return [row for row in self.rows(1) if self.groups.get(row.name) == "stage"]

    # ---- in a notebook --------------------------------------------------
    def html(self, depth: int | str | None = None) -> str:
        """The summary as an HTML table at ``depth`` (by default the deepest with at most 80 rows) and its
        totals: what a notebook shows (:mod:`archviz.core.summary_html`)."""
        from archviz.core.summary_html import summary_html

        return summary_html(self, None if depth is None else resolve_depth(depth, self.max_depth))

    def _repr_html_(self) -> str:
        """How Jupyter shows a summary: :meth:`html` at its default depth."""
        return self.html()

    # ---- the public record --------------------------------------------
    def to_dict(self, depth: int | str | None = None) -> dict[str, Any]:
        record = {
            "model": {"name": self.name, "batch_size": self.batch_size, "dtype": self.dtype, "options": self.options},
            "totals": self.totals(),
        }
        if self.training is not None:
            record["training"] = self.training.to_dict()
        return record | {
            "layers": [row.to_dict() for row in self.rows(depth)],
            "uncounted": {op: list(names) for op, names in self.uncounted.items()},
            "reasons": dict(self.reasons),
            "warnings": list(self.warnings),
            "receptive_field_unknown": {op: list(names) for op, names in self.field_unknown.items()},
            "receptive_field_reasons": dict(self.field_reasons),
            "receptive_field_notes": self.field_lines(),
        }

    def _pooled(self, last: LayerRecord) -> bool:
        """Whether ``last``'s map is pooled (a global pooling or a mean, max or sum over it: each feature is
        reduced without regard to where it is), not flattened into a dense layer (which weighs every
        position apart, so sees the whole image) nor the model's output (nothing pools it)."""
        readers = [record for record in self.records if last.name in record.inputs]
        return bool(readers) and all(
            record.family is Family.POOL or record.op in POOLING_REDUCTIONS for record in readers
        )

    def field_lines(self) -> list[str]:
        """Notes on the receptive field: paths merged without being aligned, and how the last spatial layer's
        field compares with the input (smaller, where that map is then pooled: the network cannot see the
        whole image before pooling; more than :data:`MUCH_LARGER` times larger: most of what a feature sees
        is padding). A map flattened into a dense layer gets no "smaller" note: the dense layer weighs each
        position apart, so the network sees the whole image."""
        lines = list(self.field_notes)
        last, field, shape = self.last_spatial, self.receptive_field, self.record.input_shape
        if (
            not isinstance(field, FieldRecord)
            or last is None
            or not shape
            or len(shape) - 1 != len(field.size)
            or min(shape) < 1
        ):
            return lines
        seen, sides = "x".join(map(str, field.size)), "x".join(map(str, shape[:-1]))
        if any(size < side for size, side in zip(field.size, shape)) and self._pooled(last):
            lines.append(
                f"Receptive field: {last.name} sees {seen} of the {sides} input: the network cannot see the whole "
                f"image before pooling"
            )
        elif all(size > MUCH_LARGER * side for size, side in zip(field.size, shape)):
            lines.append(
                f"Receptive field: {last.name} sees {seen}, more than {MUCH_LARGER} times the {sides} input: most "
                f"of what its features see is padding"
            )
        return lines
