"""Summaries as a terminal table, Markdown, CSV and JSON. Nothing here computes a number."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archviz.core.metrics import View, row_value, shown
from archviz.core.summary import Row, Summary
from archviz.render.tables import csv_table, markdown_table, markdown_text, text_table, visible

#: The columns before the metrics: the layer's name, its op and its output shape.
_LEAD = ["Layer", "Op", "Output shape"]


def shape_text(shape: Sequence[int]) -> str:
    """``56x56x256``; a dimension the model leaves open (-1) is ``?``."""
    return "x".join("?" if d < 0 else str(d) for d in shape)


def _columns(rows: list[Row]) -> tuple[list[str], list[list[str]], set[int]]:
    """The readable layer table: name, op with its key attributes, shape, and each table metric (a layer
    that could not be counted reads ``n/c``); with the indices of the numeric columns."""
    metrics = shown(View.TABLE)
    header = [*_LEAD, *(metric.title for metric in metrics)]
    body = []
    for row in rows:
        op = f"{row.op} {row.detail}" if row.detail else row.op
        body.append(
            [row.name, op, shape_text(row.output_shape), *(metric.cell(row_value(metric, row)) for metric in metrics)]
        )
    return header, body, set(range(len(_LEAD), len(header)))


def totals_lines(summary: Summary) -> list[tuple[str, str]]:
    """The totals as (label, text) pairs, shared by the table and Markdown renderers."""
    return [(metric.title, metric.sentence(summary)) for metric in shown(View.LINE, summary)]


def totals_sections(summary: Summary) -> list[tuple[str, list[tuple[str, str]]]]:
    """The totals by section (:attr:`Metric.section`, "" first: the model's), each as (label, text) pairs."""
    sections: dict[str, list[tuple[str, str]]] = {}
    for metric in shown(View.LINE, summary):
        sections.setdefault(metric.section, []).append((metric.title, metric.sentence(summary)))
    return list(sections.items())


def _some(names: Sequence[str]) -> str:
    """The first three of ``names``, and ``...`` for the rest."""
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")


def training_note(summary: Summary) -> list[str]:
    """One line naming the layers a training step's totals leave out (none where it counted them all)."""
    names = summary.training.uncounted if summary.training is not None else ()
    if not names:
        return []
    return [visible(f"Not counted in training: {len(names)} layer(s) with no training rule ({_some(names)})")]


def _title(summary: Summary) -> str:
    record = summary.record
    parts = [summary.name]
    if record.input_shape:
        parts.append(f"input {shape_text(record.input_shape)}")
    if record.classes:
        parts.append(f"{record.classes} class" + ("" if record.classes == 1 else "es"))
    parts.append(f"batch {summary.batch_size}")
    if record.loader_reason:
        parts.append(f"loaded with Keras: {record.loader_reason}")
    return visible(", ".join(parts))


def depth_note(summary: Summary, depth: Any) -> list[str]:
    """One line when a depth was asked for that the model's structure cannot give."""
    if summary.max_depth == 1 and str(depth) in ("stages", "blocks", "1", "2"):
        return [f"(--depth {depth}: archviz found no stages or blocks in this model, so every layer is shown)"]
    return []


def render_table(summary: Summary, depth: Any = None) -> str:
    header, body, numeric = _columns(summary.rows(depth))
    notes = [visible(note) for note in summary.record.notes]
    out = [_title(summary), *notes, *depth_note(summary, depth), *text_table(header, body, numeric)]
    sections = totals_sections(summary)
    label_width = max(len(label) for _, totals in sections for label, _ in totals)
    for section, totals in sections:
        out += [f"{section}:"] if section else []
        out += [f"{label + ':':<{label_width + 1}} {text}" for label, text in totals]
    out += _warning_lines(summary) + model_warning_lines(summary) + training_note(summary) + field_note_lines(summary)
    return "\n".join(out) + "\n"


#: How many of a summary's warnings the table prints; the rest are counted in one line (JSON has them all).
MAX_WARNINGS = 5


def model_warning_lines(summary: Summary) -> list[str]:
    """The summary's warnings (a declared shape or params that differ from the rule's), one line each, at
    most :data:`MAX_WARNINGS` of them and a line saying how many more."""
    lines = [visible(f"Warning: {warning}") for warning in summary.warnings[:MAX_WARNINGS]]
    if len(summary.warnings) > MAX_WARNINGS:
        more = len(summary.warnings) - MAX_WARNINGS
        lines.append(f"Warning: {more:,} more (all of them in --format json)")
    return lines


def _warning_lines(summary: Summary) -> list[str]:
    if summary.size_open:  # every size-dependent layer is uncounted for that one reason
        return []
    lines = []
    for op, names in summary.uncounted.items():
        reason = summary.reasons.get(op, f"no rule for {op}")
        listed = f"{len(names)} layer(s) of type {op} ({_some(names)})"
        lines.append(visible(f"Not counted: {listed}: {reason}; params come from the model"))
    return lines


def field_note_lines(summary: Summary) -> list[str]:
    """The receptive field's notes (:meth:`Summary.field_lines`) and the layers after which it is unknown."""
    lines = [visible(line) for line in summary.field_lines()]
    for op, names in summary.field_unknown.items():
        reason = summary.field_reasons.get(op, "no receptive-field rule for it")
        lines.append(
            visible(f"Receptive field unknown after {len(names)} layer(s) of type {op} ({_some(names)}): {reason}")
        )
    return lines


def render_markdown(summary: Summary, depth: Any = None) -> str:
    header, body, numeric = _columns(summary.rows(depth))
    lines = [
        f"**{markdown_text(_title(summary))}**",
        *(markdown_text(visible(note)) for note in summary.record.notes),
        *map(markdown_text, depth_note(summary, depth)),
        "",
        *markdown_table(header, body, numeric),
        "",
    ]
    for section, totals in totals_sections(summary):
        lines += ["", f"**{markdown_text(section)}**", ""] if section else []
        lines += markdown_table(["Total", ""], totals)
    lines += ["", *(f"> {markdown_text(line)}" for line in _warning_lines(summary))] if summary.uncounted else []
    lines += ["", *(f"> {markdown_text(line)}" for line in training_note(summary))] if training_note(summary) else []
    notes = model_warning_lines(summary) + field_note_lines(summary)
    lines += ["", *(f"> {markdown_text(line)}" for line in notes)] if notes else []
    return "\n".join(lines) + "\n"


def render_csv(summary: Summary, depth: Any = None) -> str:
    metrics = shown(View.LAYERS)
    header = ["name", "op", "output_shape", *(metric.key for metric in metrics)]
    body = []
    for row in summary.rows(depth):
        values = [metric.plain(row_value(metric, row)) for metric in metrics]
        body.append([row.name, row.op, shape_text(row.output_shape), *values])
    return csv_table(header, body)
