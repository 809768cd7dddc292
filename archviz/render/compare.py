"""Comparisons as tables (text, Markdown, CSV, JSON), a grouped bar chart (SVG) and an HTML page."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from archviz import __version__
from archviz.studies.compare import Comparison, Entry
from archviz.conventions import CONVENTIONS
from archviz.render.tables import csv_table, markdown_table, text_table
from archviz.render.templating import render_template
from archviz.units import human, human_bytes

STAGE_COLORS = ["#2f6aa3", "#c46a00", "#3c8a2e", "#b33a3a", "#7d4e91", "#287c76", "#8a8a55", "#555555"]
METRIC_COLORS = {"params": "#2f6aa3", "macs": "#c46a00"}


def display_name(entry: Entry) -> str:
    return entry.summary.name if entry.summary is not None else entry.label


def _main_table(entries: list[Entry], readable: bool) -> tuple[list[str], list[list[Any]]]:
    ok = [e for e in entries if e.ok]
    baseline = any(e.ratios for e in ok)
    header = ["Model", "Weighted layers", "Params", "Trainable", "MACs", "FLOPs", "Param memory",
              "Activation memory"] + (["x Params", "x MACs", "x FLOPs"] if baseline else [])
    body = []
    for e in ok:
        s = e.summary
        if readable:
            row = [display_name(e), s.weighted_layers, human(s.params), human(s.trainable_params), human(s.macs),
                   human(s.flops) + ("" if s.complete else "+"), human_bytes(s.param_bytes),
                   human_bytes(s.activation_bytes)]
        else:
            row = [display_name(e), s.weighted_layers, s.params, s.trainable_params, s.macs, s.flops,
                   s.param_bytes, s.activation_bytes]
        if baseline:
            row += [f"{e.ratios['params']:.2f}", f"{e.ratios['macs']:.2f}", f"{e.ratios['flops']:.2f}"]
        body.append(row)
    return header, body


def _stage_table(entries: list[Entry], readable: bool) -> tuple[list[str], list[list[Any]]]:
    ok = [e for e in entries if e.ok]
    names: list[str] = []
    for e in ok:
        for row in e.summary.stage_rows():
            if row.name not in names:
                names.append(row.name)
    if not names:
        return [], []
    body = []
    for e in ok:
        stages = {row.name: row for row in e.summary.stage_rows()}
        cells: list[Any] = [display_name(e)]
        for name in names:
            row = stages.get(name)
            if readable:
                cells.append(f"{human(row.params)} / {human(row.macs)}" if row else "")
            else:
                cells += [row.params if row else "", row.macs if row else ""]
        body.append(cells)
    header = ["Model"] + (names if readable else [f"{n}_{k}" for n in names for k in ("params", "macs")])
    return header, body


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
        lines += ["", "Per stage (params / MACs):" if fmt == "table" else "**Per stage (params / MACs)**", ""]
        lines += table(stage_header, stage_body, set(range(1, len(stage_header))))
    if any(e.summary is not None and not e.summary.complete for e in entries):
        lines += ["", "+ FLOPs are a lower bound: some layers have no FLOP rule (see archviz summary)."]
    return "\n".join(lines) + "\n"


def render_chart(comparison: Comparison, by_stage: bool = False) -> str:
    """A grouped bar chart of params and MACs per model (per stage with ``by_stage``), as SVG."""
    ok = comparison.ok
    stage_names: list[str] = []
    if by_stage:
        for e in ok:
            for row in e.summary.stage_rows():
                if row.name not in stage_names:
                    stage_names.append(row.name)
    plot_height, group_width, gap = 220, 90 if by_stage else 60, 18
    panel_width = max(240, len(ok) * (group_width + gap))
    panels = []
    for index, (metric, title) in enumerate((("params", "Parameters"), ("macs", "MACs"))):
        values = []
        for e in ok:
            if by_stage:
                stages = {row.name: getattr(row, metric) for row in e.summary.stage_rows()}
                values.append((e, [(name, stages.get(name, 0)) for name in stage_names]))
            else:
                values.append((e, [("", getattr(e.summary, metric))]))
        largest = max((v for _, bars in values for _, v in bars), default=0) or 1
        groups = []
        for position, (e, bars) in enumerate(values):
            bar_width = group_width / max(1, len(bars))
            drawn = [{"x": round(i * bar_width, 1), "width": round(bar_width - 2, 1),
                      "height": round(plot_height * value / largest, 1), "name": stage, "exact": f"{value:,}",
                      "color": STAGE_COLORS[i % len(STAGE_COLORS)] if by_stage else METRIC_COLORS[metric]}
                     for i, (stage, value) in enumerate(bars)]
            groups.append({"x": position * (group_width + gap) + gap / 2, "width": group_width,
                           "name": display_name(e), "bars": drawn, "value": human(getattr(e.summary, metric)),
                           "top": max(b["height"] for b in drawn)})
        panels.append({"x": 20 + index * (panel_width + 40), "width": panel_width,
                       "title": title + (" per stage" if by_stage else ""), "groups": groups})
    legend = [{"name": name, "color": STAGE_COLORS[i % len(STAGE_COLORS)]} for i, name in enumerate(stage_names)]
    width = 40 + 2 * panel_width + 40
    height = 40 + plot_height + 24 + 40 + (30 if legend else 0)
    title = "Parameters and MACs" + (" per stage" if by_stage else "") + ": " + ", ".join(display_name(e) for e in ok)
    return render_template("compare_chart.svg.j2", width=width, height=height, panels=panels, legend=legend,
                           plot_height=plot_height, title=title)


def render_html(comparison: Comparison, by_stage: bool = False) -> str:
    entries, ok = comparison.entries, comparison.ok
    header, body = _main_table(entries, readable=True)
    stage_header, stage_body = _stage_table(entries, readable=True)
    chart = render_chart(comparison, by_stage=by_stage)
    return render_template(
        "compare.html.j2", version=__version__, title=" vs ".join(display_name(e) for e in ok) or "comparison",
        baseline=comparison.baseline, batch_size=comparison.batch_size, dtype=comparison.dtype, header=header, body=body, stage_header=stage_header,
        stage_body=stage_body, chart=Markup(chart), conventions=CONVENTIONS,
        failures=[{"name": e.label, "error": str(e.error)} for e in comparison.failures],
    )
