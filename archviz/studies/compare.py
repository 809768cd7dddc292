"""Parameter and compute budgets of several models, side by side.

Each model is summarized exactly as ``archviz summary`` would; a model that fails is kept as a
failure naming it, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from archviz.core.metrics import METRICS_BY_KEY, View, row_value, shown
from archviz.core.summary import Summary
from archviz.errors import ArchvizError, UsageError
from archviz.limits import short

#: The metrics a comparison shows, sorts by (``--sort``) and divides by the baseline's (``--baseline``).
COLUMNS: tuple[str, ...] = tuple(metric.key for metric in shown(View.COMPARE) if metric.numeric)
#: What ``--sort`` takes.
SORT_KEYS = ("name", *COLUMNS)


@dataclass
class Entry:
    """One model of a comparison: its summary, or the error that stopped it."""

    label: str
    summary: Summary | None = None
    error: ArchvizError | None = None
    ratios: dict[str, float | None] = field(default_factory=dict)  # None: unknown, or the baseline's is 0
    shown_as: str | None = None  # the name shown where two models share one (:func:`distinct_names`)

    @property
    def ok(self) -> bool:
        return self.summary is not None

    @property
    def name(self) -> str:
        """What a row is headed with: the model's name, or (where models share it) the shortest end of the
        path that tells them apart."""
        if self.shown_as is not None:
            return self.shown_as
        return self.summary.name if self.summary is not None else self.label

    def to_dict(self) -> dict[str, Any]:
        if self.summary is None:
            return {"name": self.label, "model": self.label, "error": str(self.error)}
        record: dict[str, Any] = {"name": self.name, "model": self.label, **self.summary.totals()}
        if self.summary.training is not None:
            record["training"] = self.summary.training.to_dict()
        record["stages"] = [
            {"name": row.name, **{metric.key: row_value(metric, row) for metric in shown(View.STAGES)}}
            for row in self.summary.stage_rows()
        ]
        if self.ratios:
            record["ratios"] = dict(self.ratios)
        return record


@dataclass
class Comparison:
    """Several models' budgets side by side: one entry per model, in the order asked for (or sorted)."""

    entries: list[Entry]
    baseline: str | None = None
    batch_size: int = 1
    dtype: str = "float32"

    @property
    def ok(self) -> list[Entry]:
        return [entry for entry in self.entries if entry.ok]

    @property
    def failures(self) -> list[Entry]:
        return [entry for entry in self.entries if not entry.ok]

    def to_dict(self, by_stage: bool = False) -> list[dict[str, Any]]:
        return [entry.to_dict() for entry in self.entries]


def compare(
    models: list[str],
    *,
    baseline: str | None = None,
    sort: str | None = None,
    analyze: Callable[[str], Summary],
    batch_size: int = 1,
    dtype: str = "float32",
) -> Comparison:
    """Summarize each model with ``analyze``; add ratios to the baseline; sort by a column."""
    if not models:
        raise UsageError("give at least one model to compare")
    if sort is not None and sort not in SORT_KEYS:
        raise UsageError(f"cannot sort by {sort!r}; choose from {', '.join(SORT_KEYS)}")
    entries = []
    for model in models:
        try:
            entries.append(Entry(model, summary=analyze(model)))
        except ArchvizError as error:
            entries.append(Entry(model, error=error))
    distinct_names(entries)
    if sort is not None and sort != "name":
        metric = METRICS_BY_KEY[sort]
        if not any(metric.holds(entry.summary) for entry in entries if entry.summary is not None):
            needs = "--max-memory" if sort == "max_batch" else "--training"
            raise UsageError(f"sort (--sort) {sort}: the models have no {metric.title}, which needs {needs}")
    if baseline is not None:
        matches = [e for e in entries if e.label == baseline] or [
            e for e in entries if baseline in (e.name, e.summary and e.summary.name)
        ]
        if len(matches) > 1:
            names = ", ".join(e.name for e in matches)
            raise UsageError(f"baseline (--baseline) {short(baseline)} names {len(matches)} models: {names}")
        base = matches[0] if matches else None
        if base is None:
            raise UsageError(f"baseline {baseline!r} is not one of the compared models")
        if base.summary is not None:
            for entry in entries:
                if entry.summary is not None:
                    entry.ratios = {column: _ratio(entry.summary, base.summary, column) for column in COLUMNS}
    if sort == "name":
        entries.sort(key=lambda e: e.label)
    elif sort is not None:  # failures last, then unknown values (an open input size)
        entries.sort(key=lambda e: _sort_key(e, sort))
    return Comparison(entries, baseline=baseline, batch_size=batch_size, dtype=dtype)


def distinct_names(entries: list[Entry]) -> None:
    """Give the entries that share a model name (``r18.onnx`` and ``d2/r18.onnx``) the shortest end of their
    paths that tells them apart, and the same model given twice its position (``r18 (2)``)."""
    by_name: dict[str, list[Entry]] = {}
    for entry in entries:
        by_name.setdefault(entry.name, []).append(entry)
    for shared in (group for group in by_name.values() if len(group) > 1):
        parts = [PurePath(entry.label).parts for entry in shared]
        for count in range(1, max(map(len, parts)) + 1):
            ends = ["/".join(p[-count:]) for p in parts]
            if len(set(ends)) == len(ends):
                break
        for index, (entry, end) in enumerate(zip(shared, ends)):
            entry.shown_as = end if len(set(ends)) == len(ends) else f"{entry.name} ({index + 1})"


def _sort_key(entry: Entry, column: str) -> tuple[bool, bool, int]:
    number = entry.summary.value(column).number if entry.summary is not None else None
    return entry.summary is None, number is None, number or 0


def _ratio(summary: Summary, base: Summary, column: str) -> float | None:
    """``summary``'s value over ``base``'s for a column; None where either is unknown (an open input size)
    or the baseline's is 0."""
    value, reference = summary.value(column).number, base.value(column).number
    return None if value is None or not reference else value / reference
