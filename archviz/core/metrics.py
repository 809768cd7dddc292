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
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


class Unit(enum.StrEnum):
    """How a metric's numbers are written: counts with k, M, G; bytes in binary units."""

    COUNT = "count"
    BYTES = "bytes"


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
    DIAGRAM = "diagram"  # a line of a diagram's node (MACs only with ``--macs``) and of its title


@dataclass(frozen=True)
class Value:
    """A number as shown: ``None`` is unknown; ``complete`` False marks a lower bound."""

    number: int | None
    complete: bool = True


def _nothing(summary: Summary) -> str:
    return ""


@dataclass(frozen=True)
class Metric:
    """One metric: its names, its unit, how it is read, and where it is shown."""

    key: str  # the JSON key, the CSV column, what --sort takes
    title: str  # a table's header: ``MACs``
    name: str  # a card's name: ``Parameters``
    unit: Unit
    total: Callable[[Summary], int]
    views: frozenset[View]
    row: Callable[[Counts], int | None] | None = None  # a layer's or a group's value (None: not counted)
    sized: bool = False  # depends on the input size: unknown while it is open
    complete: Callable[[Summary], bool] | None = None  # whether the total counts every layer
    words: str = ""  # what the number counts, after it: ``multiply-accumulates``
    condition: Callable[[Summary], str] = _nothing  # what it was counted for: ``batch 1, float32``
    breakdown: Callable[[Summary], str] = _nothing  # its parts: ``11,689,512 trainable, 9,600 non-trainable``
    word: str = ""  # the metric in running text (``params``, ``MACs``); its title where empty

    @property
    def in_text(self) -> str:
        return self.word or self.title

    def value(self, summary: Summary) -> Value:
        """The total of ``summary``: unknown while its input size is open if the metric depends on it."""
        complete = self.complete(summary) if self.complete is not None else True
        if self.sized and summary.size_open:
            return Value(None, complete)
        return Value(self.total(summary), complete)

    def format(self, number: int) -> str:
        """A number in this metric's unit, for people: ``25.6 M``, ``98.0 MiB``."""
        return human_bytes(number) if self.unit is Unit.BYTES else human(number)

    def cell(self, number: int | None) -> str:
        """A layer's or a group's number in a readable table: :data:`NOT_COUNTED` where it is None."""
        return NOT_COUNTED if number is None else self.format(number)

    def short(self, value: Value) -> str:
        """A value in a table's cell: ``unknown``, or readable with ``+`` where it is a lower bound."""
        if value.number is None:
            return UNKNOWN
        return self.format(value.number) + ("" if value.complete else LOWER_BOUND_MARK)

    def sentence(self, summary: Summary) -> str:
        """The total as a line under the table says it, exact first for counts: ``1,814,073,344 (1.81 G)
        multiply-accumulates``; unknown with the reason while the input size is open."""
        value = self.value(summary)
        if value.number is None:
            return f"{UNKNOWN}: {OPEN_SIZE}"
        number = (
            f"{exact(value.number)} ({human(value.number)})" if self.unit is Unit.COUNT else human_bytes(value.number)
        )
        words, condition, breakdown = self.words, self.condition(summary), self.breakdown(summary)
        text = number + (f" {words}" if words else "") + (f" ({condition})" if condition else "")
        return text + (f": {breakdown}" if breakdown else "") + ("" if value.complete else f" ({LOWER_BOUND})")

    def card(self, summary: Summary) -> dict[str, str]:
        """The total as a card of the report: its name (marked where a lower bound), the readable number,
        the exact one, and a line under it (its parts, what it was counted for, or the exact number)."""
        value = self.value(summary)
        label = self.name + ("" if value.complete or value.number is None else " (lower bound)")
        if value.number is None:
            return {"label": label, "value": UNKNOWN, "exact": UNKNOWN, "detail": OPEN_SIZE}
        detail = (
            self.breakdown(summary)
            or self.condition(summary)
            or " ".join(filter(None, (exact(value.number), self.words)))
        )
        return {"label": label, "value": self.format(value.number), "exact": exact(value.number), "detail": detail}


def _params_breakdown(summary: Summary) -> str:
    return f"{exact(summary.trainable_params)} trainable, {exact(summary.non_trainable_params)} non-trainable"


def _activation_bytes(counts: Counts) -> int | None:
    """A layer's (or a group's) activation bytes; unknown where its output size is open."""
    return None if any(d < 0 for d in counts.output_shape) else int(counts.activation_bytes)


_EVERYWHERE = frozenset(View)
_SIZED_TOTAL = frozenset({View.LAYERS, View.TOTAL, View.LINE, View.COMPARE, View.CARD})
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
        frozenset({View.LAYERS, View.TOTAL, View.COMPARE}),
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
        _NO_CHART - {View.STAGES},
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
)

#: The metrics by key.
METRICS_BY_KEY: dict[str, Metric] = {metric.key: metric for metric in METRICS}


def shown(view: View) -> tuple[Metric, ...]:
    """The metrics shown in ``view``, in order."""
    return tuple(metric for metric in METRICS if view in metric.views)


def row_value(metric: Metric, counts: Counts) -> int | None:
    """``metric`` of a layer or a group (None: not counted)."""
    if metric.row is None:
        raise ValueError(f"{metric.key} is not a per-layer metric")
    return metric.row(counts)
