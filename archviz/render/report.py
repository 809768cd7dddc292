"""The self-contained HTML report: jinja2 with autoescape, templates shipped in the package.

Everything is inline (styles, script, the diagrams as SVG, the charts as SVG), so the file
works offline and as an attachment. Names from a model are escaped by jinja2; the SVG comes
from Graphviz, which escapes its text itself.
"""

from __future__ import annotations

import re

from markupsafe import Markup

from archviz import __version__
from archviz.conventions import DILATED, GROUPED, KERAS, ONNX, TRAINING, conventions_for
from archviz.core.metrics import UNKNOWN, Metric, View, row_value, shown
from archviz.core.record import Source
from archviz.core.summary import Summary, resolve_depth
from archviz.errors import UsageError
from archviz.render.diagram import DiagramOptions, DiagramTooLarge, render
from archviz.render.dot_text import anchor
from archviz.render.templating import render_template
from archviz.render.text import shape_text

DEPTH_LABELS = {1: "Stages", 2: "Blocks", 3: "Layers"}


#: Above this many layers the report's diagrams fold runs of identical blocks (dot's time and the page's
#: size grow with every node; ResNet-1202 has about 4,200 layers, ResNet-152 about 500).
FOLD_ABOVE = 1_000
#: The layer table has a row per layer and per group. A model has fewer groups than layers (ResNet-1202:
#: 605 for 4,208 layers); more groups than layers plus this many come only from names built to multiply
#: them (2,000 layers of 64-part names make 126,000 rows of HTML), and are refused in one line.
EXTRA_GROUPS = 1_000


def _svg(summary: Summary, level: int) -> Markup:
    fold = len(summary.records) > FOLD_ABOVE
    try:
        text = render(summary, "svg", DiagramOptions(depth=level, links=True, collapse=fold)).decode("utf-8")
    except DiagramTooLarge as error:
        return Markup('<p class="note">') + f"Not drawn: {error}." + Markup("</p>")
    text = re.sub(r"^<\?xml[^>]*>\s*<!DOCTYPE[^>]*>\s*", "", text, flags=re.S)
    return Markup(text)  # produced by dot from escaped labels


def _cell(metric: Metric, number: int | None) -> dict[str, str]:
    """A number of the layer table: readable, with the exact value to hover (as the summary's table)."""
    return {"text": metric.cell(number), "exact": metric.tooltip(number)}


def _tree_rows(summary: Summary) -> list[dict]:
    deepest = summary.max_depth
    groups = {row.name: row for level in range(1, deepest) for row in summary.rows(level)}
    layers = {row.name: row for row in summary.rows(deepest)}
    metrics = shown(View.TABLE)
    ids: dict[str, str] = {}  # a group's row id, made once
    most = 2 * len(summary.records) + EXTRA_GROUPS
    rows = []
    for record in summary.records:
        path = record.path
        parent = ""
        for size in range(1, len(path) + 1):
            name = record.key(size)
            if name not in ids:
                if len(ids) == most:
                    raise UsageError(
                        f"{summary.name}: the dotted names of its {len(summary.records):,} layers make "
                        f"at least {most - len(summary.records):,} groups for the report's layer table "
                        f"(at most one per layer and {EXTRA_GROUPS:,}); archviz summary lists the layers"
                    )
                ids[name] = f"row_{anchor(name)}"
                row = layers[name] if size == len(path) else groups[name]
                rows.append(
                    {
                        "id": ids[name],
                        "name": path[size - 1] if size > 1 else name,
                        "level": size,
                        "group": size < len(path),
                        "op": row.op,
                        "detail": row.detail,  # its kernel, stride and width, as the summary's table shows them
                        "shape": shape_text(row.output_shape),
                        "cells": [_cell(metric, row_value(metric, row)) for metric in metrics],
                        "counted": row.counted,
                        "parent": parent,  # only the parent: the page walks up, so a row costs the same at any depth
                    }
                )
            parent = ids[name]
    return rows


def _charts(summary: Summary) -> tuple[list, list]:
    """A bar chart per stage metric (:data:`~archviz.core.metrics.View.STAGES`) over the model's parts
    (stem, stages, head); none for a metric whose total is unknown (an open input size)."""
    stages = [row for row in summary.rows(1) if summary.groups.get(row.name) in ("stem", "stage", "head", "post")]
    if not any(summary.groups.get(row.name) == "stage" for row in stages):
        return [], []
    charts = []
    for metric in shown(View.STAGES):
        total = metric.value(summary).number
        if total is None:
            continue
        values = [row_value(metric, row) for row in stages]
        largest = max((value or 0 for value in values), default=0) or 1
        bars = [
            {
                "name": row.name,
                "percent": round(100 * (value or 0) / largest, 2),
                "text": metric.cell(value) + ("" if value is None or not total else f" ({value / total:.0%})"),
                "exact": metric.tooltip(value),
            }
            for row, value in zip(stages, values)
        ]
        charts.append({"key": metric.key, "title": f"{metric.name} per stage", "bars": bars})
    return stages, charts


def features(summary: Summary) -> set[str]:
    """What the model's layers are, for the conventions that apply to it (:func:`archviz.conventions.
    conventions_for`): its op types, its activation functions (``activation:gelu``), whether a
    convolution is grouped or dilated, whether it came from Keras or ONNX, and whether a training
    step was counted."""
    present = (
        {KERAS} if summary.record.source is Source.KERAS else {ONNX} if summary.record.source is Source.ONNX else set()
    )
    if summary.training is not None:
        present.add(TRAINING)
    for record in summary.records:
        present.add(record.op)
        for key in ("fn", "activation"):
            if isinstance(record.attrs.get(key), str):
                present.add(f"activation:{record.attrs[key]}")
        groups = record.attrs.get("groups", 1)
        if isinstance(groups, int) and groups > 1:
            present.add(GROUPED)
        dilation = record.attrs.get("dilation", ())
        if isinstance(dilation, tuple | list) and any(isinstance(d, int) and d > 1 for d in dilation):
            present.add(DILATED)
    return present


def _options(summary: Summary) -> list[tuple[str, str]]:
    listed = []
    for key, value in summary.options.items():
        if key in ("name", "description", "source", "overrides", "head", "stem") or value in (None, "", [], ()):
            continue
        if summary.record.config.get("block") == "basic" and key in ("stride_on", "groups", "width_per_group"):
            continue  # bottleneck settings, with no effect on basic blocks
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, float):
            value = f"{value:.10f}".rstrip("0").rstrip(".")  # 1e-05 -> 0.00001, 1.0 -> 1
        elif isinstance(value, str):
            value = (
                {"first": "first 1x1", "middle": "3x3"}.get(value, value)
                if key == "stride_on"
                else value.replace("_", " ")
            )
        elif isinstance(value, list):
            value = "x".join(map(str, value)) if key == "input_shape" else ", ".join(map(str, value))
        listed.append((key.replace("_", " "), str(value)))
    listed.append(("batch size", str(summary.batch_size)))
    return listed


def render_report(summary: Summary, stage_blocks: list[dict] | None = None, depth: int | str = "blocks") -> str:
    """The report of ``summary``, its diagram first shown at ``depth`` (the others a click away);
    ``stage_blocks`` is the basic-block-versus-bottleneck arithmetic at each stage's width
    (:func:`archviz.studies.blocks.stage_comparison`), computed by the caller."""
    shown_level = resolve_depth(depth, summary.max_depth)
    rows = _tree_rows(summary)  # a table too long is refused before the diagrams are drawn
    levels = sorted({min(level, summary.max_depth) for level in (1, 2, 3)})
    diagrams = [
        {
            "key": str(level),
            "label": "Layers" if level == summary.max_depth else DEPTH_LABELS[level],
            "svg": _svg(summary, level),
            "shown": level == min(shown_level, levels[-1]),
        }
        for level in levels
    ]
    stages, charts = _charts(summary)
    cards = [metric.card(summary) for metric in shown(View.CARD, summary)]
    return render_template(
        "report.html.j2",
        version=__version__,
        summary=summary,
        description=summary.record.description,
        options=_options(summary),
        cards=cards,
        conventions=conventions_for(features(summary)),
        diagrams=diagrams,
        stages=stages,
        charts=charts,
        blocks=stage_blocks or [],
        rows=rows,
        folded=len(summary.records) > FOLD_ABOVE,
        uncounted=[]
        if summary.size_open
        else [(op, names, summary.reasons.get(op, "")) for op, names in sorted(summary.uncounted.items())],
        open_size=summary.size_open,
        unknown=UNKNOWN,
        columns=[metric.title for metric in shown(View.TABLE)],
    )
