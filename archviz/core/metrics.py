"""The metrics archviz reports, each described once.

A :class:`Metric` says what a number is called (its JSON key and its titles), its unit, how it is
read from a layer's or a group's :class:`~archviz.core.summary.Counts` and from a whole
:class:`~archviz.core.summary.Summary`, whether it depends on the input size, and where it is shown
(:class:`View`). Totals, table rows, JSON, CSV, Markdown, text, ``compare`` and the report all
iterate :data:`METRICS`: adding a metric is one entry here, plus the rule that computes it.

A number is shown through a :class:`Value`: ``None`` is *unknown* (the model leaves its input size
open, or a layer could not be counted), and a value that misses uncounted layers is a *lower
bound*; both read the same way in every format.

>>> value = Value(3_635_727_976, complete=False)
>>> METRICS_BY_KEY["flops"].short(value)
'3.64 G+'
>>> METRICS_BY_KEY["activation_bytes"].short(Value(None))
'unknown'
>>> METRICS_BY_KEY["receptive_field"].short(Value({"size": [35, 99], "stride": [8, 8], "padding": [15, 47]}))
'35x99'
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from archviz.datarecord import RecordTuple
from archviz.units import exact, human, human_bytes

#: A :class:`~archviz.core.summary.Summary` and a layer's or group's :class:`~archviz.core.summary.Counts`, as the
#: table reads them (by attribute: this module sits below the summary, which imports it).
Summary = Any
Counts = Any

#: What a total that depends on the input size reads while the model leaves that size open.
UNKNOWN = "unknown"
#: Why, and what to do about it.
OPEN_SIZE = "the input size is open, pass --input-shape H,W,C"
#: What a layer's cell reads where archviz could not count the layer.
NOT_COUNTED = "n/c"
#: A lower bound, in a table's cell and in a sentence.
LOWER_BOUND_MARK = "+"
LOWER_BOUND = "lower bound: some layers not counted"
#: An upper bound (a largest batch found with a memory that is a lower bound), before the number in a cell.
UPPER_BOUND_MARK = "<="
UPPER_BOUND = "upper bound: some layers not counted, so the memory per sample is a lower bound"


class Unit(enum.StrEnum):
    """How a metric's numbers are written: counts with k, M, G; bytes in binary units."""

    COUNT = "count"
    BYTES = "bytes"
    FIELD = "field"  # a receptive field as the JSON record has it: {"size", "stride", "padding"}, "global" or None


class View(enum.StrEnum):
    """Where a metric is shown."""

    LAYERS = "layers"  # a column of every layer's (and group's) record: JSON, CSV
    TABLE = "table"  # a column of the readable layer table (text, Markdown, the report's tree)
    TOTAL = "total"  # a total of the JSON record
    LINE = "line"  # a line of the totals under the readable table
    COMPARE = "compare"  # a column of ``archviz compare``
    RATIO = "ratio"  # a ratio to ``compare --baseline``
    CARD = "card"  # a card at the top of the report
    STAGES = "stages"  # a stage's budget in ``compare`` and its JSON
    CHART = "chart"  # a panel of ``compare``'s bar chart
    CATALOG = "catalog"  # a column of ``archviz list``'s JSON and CSV
    CATALOG_TABLE = "catalog_table"  # a column of ``archviz list``'s readable table and Markdown
    FIT = "fit"  # a column of ``archviz fit`` (summed over a network's parts: the metric must add up)
    DIAGRAM = "diagram"  # a line of a diagram's node (MACs only with ``--macs``) and of its title


class Value(RecordTuple):
    """A number as shown: ``None`` is unknown; ``complete`` False marks a lower bound."""

    number: Any  # an int (a receptive field's record for Unit.FIELD); None: unknown
    complete: bool = True


def _nothing(summary: Summary) -> str:
    return ""


class Metric(RecordTuple):
    """One metric: its names, its unit, how it is read, and where it is shown."""

    key: str  # the JSON key, the CSV column, what --sort takes
    title: str  # a table's header: ``MACs``
    name: str  # a card's name: ``Parameters``
    unit: Unit
    total: Callable[[Summary], Any]
    views: frozenset[View]
    row: Callable[[Counts], Any] | None = None  # a layer's or a group's value (None: not counted)
    sized: bool = False  # depends on the input size: unknown while it is open
    complete: Callable[[Summary], bool] | None = None  # whether the total counts every layer
    words: str = ""  # what the number counts, after it: ``multiply-accumulates``
    condition: Callable[[Summary], str] = _nothing  # what it was counted for: ``batch 1, float32``
    breakdown: Callable[[Summary], str] = _nothing  # its parts: ``11,689,512 trainable, 9,600 non-trainable``
    word: str = ""  # the metric in running text (``params``, ``MACs``); its title where empty
    applies: Callable[[Summary], bool] | None = None  # whether a summary has it (None: every summary)
    section: str = ""  # the heading its total's line sits under in the readable table ("": the model's)
    upper: bool = False  # where not complete, the value is an upper bound (at most), not a lower one

    @property
    def in_text(self) -> str:
        return self.word or self.title

    def value(self, summary: Summary) -> Value:
        """The total of ``summary``: unknown while its input size is open if the metric depends on it."""
        if not self.holds(summary):
            return Value(None)
        complete = self.complete(summary) if self.complete is not None else True
        if self.sized and summary.size_open:
            return Value(None, complete)
        return Value(self.total(summary), complete)

    @property
    def numeric(self) -> bool:
        """Whether its values are numbers (that sort, sum and divide): not a receptive field."""
        return self.unit is not Unit.FIELD

    def holds(self, summary: Summary) -> bool:
        """Whether ``summary`` has this metric (a training step's, only where one was counted)."""
        return self.applies is None or self.applies(summary)

    def format(self, number: Any) -> str:
        """A number in this metric's unit, for people: ``25.6 M``, ``98.0 MiB``; a receptive field's size
        (``35``, ``35x99`` where height and width differ, ``global``)."""
        if self.unit is Unit.FIELD:
            return field_text(number)
        return human_bytes(number) if self.unit is Unit.BYTES else human(number)

    def cell(self, number: Any) -> str:
        """A layer's or a group's number in a readable table: :data:`NOT_COUNTED` where it is None (a
        receptive field: :data:`FIELD_UNKNOWN`)."""
        if number is None:
            return FIELD_UNKNOWN if self.unit is Unit.FIELD else NOT_COUNTED
        return self.format(number)

    def tooltip(self, number: Any) -> str:
        """A layer's number in full, as the report's tooltips show it: ``1,234,567``; a receptive field's
        size, stride and padding."""
        if self.unit is Unit.FIELD:
            return field_words(number)
        return "not counted" if number is None else exact(number)

    def plain(self, number: Any) -> Any:
        """A value for a CSV cell: the number itself, a receptive field as its table cell (empty where unknown)."""
        if number is None:
            return ""
        return self.format(number) if self.unit is Unit.FIELD else number

    def short(self, value: Value) -> str:
        """A value in a table's cell: ``unknown``, or readable with ``+`` where it is a lower bound."""
        if value.number is None:
            return UNKNOWN
        if not value.complete and self.upper:
            return UPPER_BOUND_MARK + self.format(value.number)
        return self.format(value.number) + ("" if value.complete else LOWER_BOUND_MARK)

    def sentence(self, summary: Summary) -> str:
        """The total as a line under the table says it, exact first for counts: ``1,814,073,344 (1.81 G)
        multiply-accumulates``; unknown with the reason while the input size is open."""
        value = self.value(summary)
        if value.number is None:
            return f"{UNKNOWN}: {OPEN_SIZE}"
        readable = human(value.number)
        number = (
            (exact(value.number) + (f" ({readable})" if readable != exact(value.number) else ""))
            if self.unit is Unit.COUNT
            else human_bytes(value.number)
        )
        words, condition, breakdown = self.words, self.condition(summary), self.breakdown(summary)
        text = number + (f" {words}" if words else "") + (f" ({condition})" if condition else "")
        if not value.complete and self.upper:
            return f"at most {text}" + (f": {breakdown}" if breakdown else "") + f" ({UPPER_BOUND})"
        return text + (f": {breakdown}" if breakdown else "") + ("" if value.complete else f" ({LOWER_BOUND})")

    def card(self, summary: Summary) -> dict[str, str]:
        """The total as a card of the report: its name (marked where a lower bound), the readable number,
        the exact one, and a line under it (its parts, what it was counted for, or the exact number)."""
        value = self.value(summary)
        bound = " (upper bound)" if self.upper else " (lower bound)"
        label = self.name + ("" if value.complete or value.number is None else bound)
        if value.number is None:
            return {"label": label, "value": UNKNOWN, "exact": UNKNOWN, "detail": OPEN_SIZE}
        detail = (
            self.breakdown(summary)
            or self.condition(summary)
            or " ".join(filter(None, (exact(value.number), self.words)))
        )
        return {"label": label, "value": self.format(value.number), "exact": exact(value.number), "detail": detail}


#: A layer's receptive field where archviz cannot tell it (a layer after an op with no receptive-field rule).
FIELD_UNKNOWN = "?"


def field_text(value: Any) -> str:
    """A receptive field (its JSON record) in a table's cell: ``35``, ``35x99``, ``global``, ``?``."""
    if value is None:
        return FIELD_UNKNOWN
    if isinstance(value, str):
        return value
    return _per_axis(value["size"])


def field_words(value: Any) -> str:
    """A receptive field in words: ``35x35 pixels, stride 8, padding 15``."""
    if value is None:
        return "receptive field unknown"
    if isinstance(value, str):
        return "global: depends on the whole input"
    padding = value["padding"]
    pad = "unknown (the input size is open)" if padding is None else _per_axis(padding)
    return f"{'x'.join(map(str, value['size']))} pixels, stride {_per_axis(value['stride'])}, padding {pad}"


def _per_axis(values: list[int]) -> str:
    """``8`` where every axis has the same value, else ``8x16``."""
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def _field_record(value: Any) -> Any:
    """A layer's receptive field (a :class:`~archviz.ops.field.Field`, ``global`` or None) as JSON has it."""
    return value.to_dict() if hasattr(value, "to_dict") else value


def _params_breakdown(summary: Summary) -> str:
    return f"{exact(summary.trainable_params)} trainable, {exact(summary.non_trainable_params)} non-trainable"


def _activation_bytes(counts: Counts) -> int | None:
    """A layer's (or a group's) activation bytes; unknown where its output size is open."""
    return None if any(d < 0 for d in counts.output_shape) else int(counts.activation_bytes)


_EVERYWHERE = frozenset(View)
_SIZED_TOTAL = frozenset({View.LAYERS, View.TOTAL, View.LINE, View.COMPARE, View.CARD})


#: The readable table's heading over a training step's totals.
TRAINING_SECTION = "Training step"


def _training(summary: Summary) -> bool:
    return summary.training is not None


def _max_batch(summary: Summary) -> bool:
    return summary.training is not None and summary.training.max_batch is not None


_TRAINING = frozenset({View.LINE, View.COMPARE, View.CARD})


def _training_metric(key: str, title: str, unit: Unit, total: Callable[[Summary], Any], **settings: Any) -> Metric:
    """A training step's metric: on the total lines (under :data:`TRAINING_SECTION`), the cards and
    ``compare``, where a step was counted; complete only where the step is."""
    defaults: dict[str, Any] = {
        "name": title,
        "sized": True,
        "complete": lambda s: s.training is not None and s.training.complete,
        "condition": lambda s: s.training.condition(),
        "applies": _training,
        "section": TRAINING_SECTION,
    }
    settings = defaults | settings
    return Metric(key, title, settings.pop("name"), unit, total, _TRAINING, **settings)


_NO_CHART = _EVERYWHERE - {View.CHART, View.DIAGRAM}

#: Every metric, in the order columns and totals list them.
METRICS: tuple[Metric, ...] = (
    Metric("layers", "Layers", "Layers", Unit.COUNT, lambda s: len(s.records), frozenset({View.TOTAL})),
    Metric(
        "weighted_layers",
        "Weighted layers",
        "Weighted layers",
        Unit.COUNT,
        lambda s: s.weighted_layers,
        frozenset({View.TOTAL, View.COMPARE}),
    ),
    Metric(
        "params",
        "Params",
        "Parameters",
        Unit.COUNT,
        lambda s: s.params,
        _EVERYWHERE,
        row=lambda r: r.params,
        breakdown=_params_breakdown,
        word="params",
    ),
    Metric(
        "trainable_params",
        "Trainable",
        "Trainable parameters",
        Unit.COUNT,
        lambda s: s.trainable_params,
        frozenset({View.LAYERS, View.TOTAL, View.COMPARE, View.CATALOG}),
        row=lambda r: r.trainable_params,
    ),
    Metric(
        "non_trainable_params",
        "Non-trainable",
        "Non-trainable parameters",
        Unit.COUNT,
        lambda s: s.non_trainable_params,
        frozenset({View.LAYERS, View.TOTAL}),
        row=lambda r: r.non_trainable_params,
    ),
    Metric(
        "macs",
        "MACs",
        "MACs",
        Unit.COUNT,
        lambda s: s.macs,
        _EVERYWHERE,
        row=lambda r: r.macs if r.counted else None,
        sized=True,
        complete=lambda s: s.macs_complete,
        words="multiply-accumulates",
    ),
    Metric(
        "flops",
        "FLOPs",
        "FLOPs",
        Unit.COUNT,
        lambda s: s.flops,
        _EVERYWHERE - {View.CHART, View.DIAGRAM, View.STAGES, View.CATALOG, View.CATALOG_TABLE, View.FIT},
        row=lambda r: r.flops,
        sized=True,
        complete=lambda s: s.complete,
        words="floating-point operations",
    ),
    Metric(
        "param_bytes",
        "Param memory",
        "Parameter memory",
        Unit.BYTES,
        lambda s: s.param_bytes,
        frozenset({View.TOTAL, View.LINE, View.COMPARE, View.CARD}),
        condition=lambda s: s.dtype,
    ),
    Metric(
        "activation_bytes",
        "Activation memory",
        "Activation memory",
        Unit.BYTES,
        lambda s: s.activation_bytes,
        _SIZED_TOTAL,
        row=_activation_bytes,
        sized=True,
        condition=lambda s: f"batch {s.batch_size}, {s.dtype}",
    ),
    Metric(
        "receptive_field",
        "RF",
        "Receptive field",
        Unit.FIELD,
        lambda s: _field_record(s.receptive_field),
        frozenset({View.LAYERS, View.TABLE, View.TOTAL, View.COMPARE}),
        row=lambda r: _field_record(r.receptive_field),
        words="input pixels reach one feature of the last spatial layer",
    ),
    # a training step's (summary.training, where one was asked for: archviz.core.training)
    _training_metric(
        "training_macs", "Training MACs", Unit.COUNT, lambda s: s.training.macs, words="multiply-accumulates"
    ),
    _training_metric(
        "training_flops", "Training FLOPs", Unit.COUNT, lambda s: s.training.flops, words="floating-point operations"
    ),
    _training_metric(
        "training_memory",
        "Training memory",
        Unit.BYTES,
        lambda s: s.training.memory.total,
        breakdown=lambda s: s.training.memory.parts(),
    ),
    _training_metric(
        "max_batch",
        "Max batch",
        Unit.COUNT,
        lambda s: s.training.max_batch,
        name="Largest batch",
        words="samples",
        condition=lambda s: f"training within {human_bytes(s.training.max_memory)}",
        applies=_max_batch,
        upper=True,
    ),
)

#: The metrics by key.
METRICS_BY_KEY: dict[str, Metric] = {metric.key: metric for metric in METRICS}


def shown(view: View, summary: Summary | None = None) -> tuple[Metric, ...]:
    """The metrics shown in ``view``, in order; with ``summary``, those it has."""
    return tuple(metric for metric in METRICS if view in metric.views and (summary is None or metric.holds(summary)))


def row_value(metric: Metric, counts: Counts) -> int | None:
    """``metric`` of a layer or a group (None: not counted)."""
    if metric.row is None:
        raise ValueError(f"{metric.key} is not a per-layer metric")
    return metric.row(counts)
