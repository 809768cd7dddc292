"""Comparisons as tables (text, Markdown, CSV, JSON), a grouped bar chart (SVG) and an HTML page."""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup

from archviz import __version__
from archviz.conventions import conventions_for
from archviz.core.metrics import LOWER_BOUND_MARK, UPPER_BOUND_MARK, Value, View, row_value, shown
from archviz.core.summary import Summary
from archviz.render.tables import csv_table, markdown_table, text_table
from archviz.render.templating import render_template
from archviz.studies.compare import Comparison, Entry
from archviz.units import human

STAGE_COLORS = ["#2f6aa3", "#c46a00", "#3c8a2e", "#b33a3a", "#7d4e91", "#287c76", "#8a8a55", "#555555"]
METRIC_COLORS = {"params": "#2f6aa3", "macs": "#c46a00"}


def _summaries(entries: list[Entry]) -> list[tuple[Entry, Summary]]:
    """The entries that were summarized, each with its summary."""
    return [(entry, entry.summary) for entry in entries if entry.summary is not None]


def display_name(entry: Entry) -> str:
    return entry.name


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _main_table(entries: list[Entry], readable: bool) -> tuple[list[str], list[list[Any]]]:
    """One row per model: each compared metric (readable, or exact where ``readable`` is False, an unknown
    value empty), then the ratios to the baseline where there is one."""
    ok = [e for e in entries if e.summary is not None]
    first = ok[0].summary if ok else None
    metrics, ratios = shown(View.COMPARE, first), shown(View.RATIO, first) if any(e.ratios for e in ok) else ()
    header = ["Model", *(metric.title for metric in metrics), *(f"x {metric.title}" for metric in ratios)]
    body = []
    for e in ok:
        values = [e.summary.value(metric.key) for metric in metrics]  # type: ignore[union-attr]
        cells: list[Any] = [
            metric.short(value) if readable else metric.plain(value.number) for metric, value in zip(metrics, values)
        ]
        body.append([display_name(e), *cells, *(_ratio(e.ratios.get(metric.key)) for metric in ratios)])
    return header, body


def _stage_table(entries: list[Entry], readable: bool) -> tuple[list[str], list[list[Any]]]:
    """One row per model, one column per stage any model has: its budget in each stage metric (readable,
    ``params / MACs``; or exact, a column per stage and metric)."""
    ok = _summaries(entries)
    metrics = shown(View.STAGES)
    names: list[str] = []
    for _, summary in ok:
        for row in summary.stage_rows():
            if row.name not in names:
                names.append(row.name)
    if not names:
        return [], []
    body = []
    for e, summary in ok:
        stages = {row.name: row for row in summary.stage_rows()}
        cells: list[Any] = [display_name(e)]
        for name in names:
            stage = stages.get(name)
            values = [row_value(metric, stage) if stage else None for metric in metrics]
            if readable:
                cells.append(" / ".join(metric.cell(v) for metric, v in zip(metrics, values)) if stage else "")
            else:
                cells += ["" if v is None else v for v in values]
        body.append(cells)
    header = ["Model"] + (names if readable else [f"{n}_{metric.key}" for n in names for metric in metrics])
    return header, body


def _bounded(value: Value) -> bool:
    """Whether a value is shown with the lower-bound mark: known, and missing layers."""
    return value.number is not None and not value.complete


def stage_heading() -> str:
    """What the per-stage table is headed with: ``Per stage (params / MACs)``."""
    return f"Per stage ({' / '.join(metric.in_text for metric in shown(View.STAGES))})"


def render_csv(comparison: Comparison, by_stage: bool = False) -> str:
    header, body = _main_table(comparison.entries, readable=False)
    stage_header, stage_body = _stage_table(comparison.entries, readable=False)
    if stage_header:
        header = header + stage_header[1:]
        body = [row + stage_row[1:] for row, stage_row in zip(body, stage_body)]
    return csv_table(header, body)


def render_table(comparison: Comparison, by_stage: bool = False) -> str:
    return _render_text(comparison.entries, "table")


def render_markdown(comparison: Comparison, by_stage: bool = False) -> str:
    return _render_text(comparison.entries, "markdown")


def _render_text(entries: list[Entry], fmt: str) -> str:
    header, body = _main_table(entries, readable=True)
    stage_header, stage_body = _stage_table(entries, readable=True)
    table = markdown_table if fmt == "markdown" else text_table
    right = set(range(1, len(header)))
    lines = [*table(header, [[str(c) for c in row] for row in body], right)]
    if stage_header:
        lines += ["", f"**{stage_heading()}**" if fmt == "markdown" else f"{stage_heading()}:", ""]
        lines += table(stage_header, stage_body, set(range(1, len(stage_header))))
    bounded = [
        metric
        for metric in shown(View.COMPARE)
        if any(e.summary is not None and _bounded(e.summary.value(metric.key)) for e in entries)
    ]
    lower = [metric.title for metric in bounded if not metric.upper]
    upper = [metric.title for metric in bounded if metric.upper]
    lines += [""] if bounded else []
    if lower:
        lines.append(
            f"{LOWER_BOUND_MARK} {' and '.join(lower)}: a lower bound, some layers not counted (see archviz summary)."
        )
    if upper:
        lines.append(
            f"{UPPER_BOUND_MARK} {' and '.join(upper)}: an upper bound (at most), some layers not counted "
            f"(see archviz summary)."
        )
    return "\n".join(lines) + "\n"


#: The bar of a model's layers outside any part (a Keras model with no recognised stages, say).
OTHER = "other layers"
#: Colors of the parts that are not stages: the stem, the head, and layers outside any part.
PART_COLORS = {"stem": "#8c8c8c", "head": "#3d3d3d", OTHER: "#c9c9c9"}


def nice_ticks(largest: float, most: int = 6) -> list[int]:
    """Round axis ticks from 0 past ``largest``: steps of 1, 2, 2.5 or 5 times a power of ten, at most
    ``most`` steps (``41_000_000`` -> 0, 10 M, ..., 50 M)."""
    if largest <= 0:
        return [0, 1]
    magnitude = 10 ** max(0, math.floor(math.log10(largest / most)))
    steps = [int(m * magnitude) for m in (1, 2, 2.5, 5, 10) if float(m * magnitude).is_integer()]
    step = next(step for step in steps if largest / step <= most)
    count = math.ceil(largest / step)
    return [i * step for i in range(count + 1)]


def tick_text(value: int, top: int) -> str:
    """An axis tick in the unit of the axis's top: ``0``, ``10 M``, ``2.5 G`` (below 10,000 as it is)."""
    if value == 0 or top < 10**4:
        return f"{value:,}"
    scale, suffix = next(
        (scale, suffix) for scale, suffix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")) if top >= scale
    )
    return f"{value / scale:g} {suffix}"


def _chart_bars(summary: Summary, metric: str, by_stage: bool) -> list[tuple[str, int]]:
    """A model's bars for one metric: its total, or its parts; none where the total is unknown (an open
    input size), so no bar ever stands for a number archviz does not know."""
    total = summary.value(metric).number
    if total is None:
        return []
    return chart_parts(summary, metric) if by_stage else [("total", total)]


def chart_parts(summary: Summary, metric: str) -> list[tuple[str, int]]:
    """The bars of a model in a per-stage chart: each part at depth 1 (stem, stages, head, ...) with its
    own value, then whatever layers belong to no part, so the bars always add up to the total."""
    parts = [
        (row.name, getattr(row, metric))
        for row in summary.rows(1)
        if summary.groups.get(row.name) not in (None, "input")
    ]
    rest = getattr(summary, metric) - sum(value for _, value in parts)
    return parts + ([(OTHER, rest)] if rest or not parts else [])


#: The widths the chart's text is laid out with, in px per character (DejaVu Sans, generously: a
#: narrower fallback font only leaves more room): names at 11 px, the heading at 15 px bold, notes at 10 px.
NAME_CHAR, HEADING_CHAR, NOTE_CHAR = 7.0, 10.0, 6.2


def name_lines(name: str, chars: int) -> list[str]:
    """A model's name in lines of about ``chars`` characters, broken only after ``-``, ``_`` or ``.``
    (``wide_`` / ``resnet50_2``), never inside a word: a part longer than ``chars`` stays whole.

    >>> name_lines("resnet50-torchvision", 12)
    ['resnet50-', 'torchvision']
    >>> name_lines("wide_resnet50_2", 9)
    ['wide_', 'resnet50_2']
    >>> name_lines("resnet18", 4)
    ['resnet18']
    """
    import re

    parts = [part for part in re.split(r"(?<=[-_.])", name) if part]
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + len(part) <= chars:
            lines[-1] += part
        else:
            lines.append(part)
    if len(lines) > 1 and len(lines[-1]) <= 2:  # no line of a lone digit: ``resnet50_2`` stays whole
        lines[-2:] = [lines[-2] + lines[-1]]
    return lines or [name]


def _note_lines(text: str, width: float) -> list[str]:
    import textwrap

    return textwrap.wrap(text, max(20, int(width / NOTE_CHAR)), break_long_words=False) or [text]


def render_chart(comparison: Comparison, by_stage: bool = False) -> str:
    """A bar chart of params and MACs per model (per part with ``by_stage``: stem, each stage, head), as
    SVG: each bar labelled with its own value, a y axis with round ticks and gridlines, each model's
    totals under its name."""
    ok = comparison.ok
    metrics = shown(View.CHART)
    bars_of = {metric.key: [_chart_bars(s, metric.key, by_stage) for _, s in _summaries(ok)] for metric in metrics}
    part_names: list[str] = []
    kinds: dict[str, str | None] = {}
    for (_, summary), bars in zip(_summaries(ok), bars_of["params"]):
        part_names += [name for name, _ in bars if name not in part_names]
        kinds.update({name: summary.groups.get(name) for name, _ in bars if kinds.get(name) is None})
    order = {"stem": 0, "stage": 1, "head": 3}  # then anything else (a final norm, say) before the head
    part_names.sort(key=lambda name: 4 if name == OTHER else order.get(kinds.get(name) or "", 2))
    colors, stage_index = {}, 0
    for name in part_names:
        if name in PART_COLORS:
            colors[name] = PART_COLORS[name]
        else:
            colors[name] = STAGE_COLORS[stage_index % len(STAGE_COLORS)]
            stage_index += 1
    slot = 18 if by_stage else 46
    axis_left, gap, plot_height = 76, 26, 220
    headroom = 48 if by_stage else 20
    widths = [max(len(part_names) * slot if by_stage else slot, 64) for _ in ok]
    names = [name_lines(display_name(e), int(widths[i] / NAME_CHAR)) for i, e in enumerate(ok)]
    # a name's longest line decides its group's width where the bars are narrower than it
    widths = [max(width, round(NAME_CHAR * max(map(len, lines))) + 6) for width, lines in zip(widths, names)]
    ratios = bool(comparison.baseline) and any(e.ratios for e in ok)
    label_lines = max((len(lines) for lines in names), default=1) + (1 if by_stage else 0) + (1 if ratios else 0)
    plot_width = sum(w + gap for w in widths) + gap
    panel_height = 26 + headroom + plot_height + 10 + 14 * label_lines + 16
    panels = []
    for index, chart_metric in enumerate(metrics):
        metric = chart_metric.key
        title = chart_metric.name + (f" ({chart_metric.words})" if chart_metric.words else "")
        largest = max((v for bars in bars_of[metric] for _, v in bars), default=0)
        ticks = nice_ticks(largest)
        top = ticks[-1]
        scale = plot_height / top if top else 0
        groups, x = [], gap
        for position, e in enumerate(ok):
            values = dict(bars_of[metric][position])
            slots = part_names if by_stage else ["total"]
            offset = (widths[position] - len(slots) * slot) / 2
            drawn = []
            for i, part in enumerate(slots):
                if part not in values:
                    continue
                value = values[part]
                height = round(value * scale, 1)
                drawn.append(
                    {
                        "x": round(offset + i * slot + 1, 1),
                        "width": slot - 2,
                        "height": height,
                        "center": round(offset + i * slot + slot / 2, 1),
                        "part": part,
                        "value": value,
                        "label": human(value),
                        "exact": f"{value:,}",
                        "color": colors[part] if by_stage else METRIC_COLORS[metric],
                    }
                )
            total = e.summary.value(metric)  # type: ignore[union-attr]
            text = chart_metric.short(total)
            ratio = e.ratios.get(metric) if ratios else None
            groups.append(
                {
                    "x": x,
                    "width": widths[position],
                    "name": display_name(e),
                    "lines": names[position],
                    "total": f"total {text}" if by_stage else text if total.number is None else "",
                    "total_exact": "" if total.number is None else f"{total.number:,}",
                    "ratio": "" if not ratios else "ratio n/a" if ratio is None else f"{ratio:.2f}x",
                    "bars": drawn,
                }
            )
            x += widths[position] + gap
        panels.append(
            {
                "y": 34 + index * panel_height,
                "title": title + (" per part" if by_stage else ""),
                "unit": chart_metric.in_text,
                "groups": groups,
                "ticks": [{"y": round(plot_height - t * scale, 1), "label": tick_text(t, top)} for t in ticks],
            }
        )
    heading = "Parameters and MACs" + (" per part: stem, stages, head" if by_stage else " per model")
    plot_width = max(plot_width, 300, round(HEADING_CHAR * len(heading)) + 20 - axis_left)
    per_row = max(1, (plot_width - 10) // 96)
    legend = (
        [
            {"name": name, "color": colors[name], "x": 96 * (i % per_row), "y": 18 * (i // per_row)}
            for i, name in enumerate(part_names)
        ]
        if by_stage
        else []
    )
    legend_height = 18 * math.ceil(len(legend) / per_row) + 6 if legend else 0
    note = (
        "Each bar is a part of the model with its own value; the parts add up to the total under its name."
        if by_stage
        else "Each bar is the model's total."
    )
    if ratios:
        note += f" Under each name: its ratio to {comparison.baseline} (1.00x: as large)."
    width = axis_left + plot_width + 10
    notes = _note_lines(note, width - axis_left - 10)
    height = 34 + 2 * panel_height + legend_height + 8 + 14 * len(notes)
    title = heading + ": " + ", ".join(display_name(e) for e in ok)
    return render_template(
        "compare_chart.svg.j2",
        width=width,
        height=height,
        panels=panels,
        legend=legend,
        plot_height=plot_height,
        plot_width=plot_width,
        headroom=headroom,
        axis_left=axis_left,
        rotate=by_stage,
        title=title,
        heading=heading,
        notes=notes,
        legend_y=height - 8 - 14 * len(notes) - legend_height,
    )


def render_png(comparison: Comparison, by_stage: bool = False) -> bytes:
    """The chart as PNG, drawn by cairosvg (at twice the SVG's size, for sharp text)."""
    return _cairo("svg2png", render_chart(comparison, by_stage=by_stage), scale=2)


def render_pdf(comparison: Comparison, by_stage: bool = False) -> bytes:
    """The chart as a one-page vector PDF, drawn by cairosvg."""
    return _cairo("svg2pdf", render_chart(comparison, by_stage=by_stage))


def _cairo(function: str, svg: str, **options: Any) -> bytes:
    try:
        import cairosvg
    except (ImportError, OSError) as error:  # OSError: the cairo library itself is missing
        from archviz.errors import RuntimeFailure

        raise RuntimeFailure(
            f"PNG and PDF charts need cairosvg and the cairo library "
            f"(pip install 'archviz[charts]'; Debian: apt-get install libcairo2): {error}"
        ) from None
    return getattr(cairosvg, function)(bytestring=svg.encode("utf-8"), unsafe=False, **options)


def render_html(comparison: Comparison, by_stage: bool = False) -> str:
    from archviz.render.report import features

    entries, ok = comparison.entries, comparison.ok
    header, body = _main_table(entries, readable=True)
    stage_header, stage_body = _stage_table(entries, readable=True)
    chart = render_chart(comparison, by_stage=by_stage)
    return render_template(
        "compare.html.j2",
        version=__version__,
        title=" vs ".join(display_name(e) for e in ok) or "comparison",
        baseline=comparison.baseline,
        batch_size=comparison.batch_size,
        dtype=comparison.dtype,
        header=header,
        body=body,
        stage_header=stage_header,
        stage_body=stage_body,
        stage_heading=stage_heading(),
        chart=Markup(chart),
        conventions=conventions_for(set().union(*(features(summary) for _, summary in _summaries(ok)))),
        failures=[{"name": e.label, "error": str(e.error)} for e in comparison.failures],
    )
