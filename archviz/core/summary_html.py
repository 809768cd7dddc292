"""A summary as Jupyter shows it: :meth:`Summary._repr_html_ <archviz.core.summary.Summary._repr_html_>`.

An HTML table of the rows (each name, op with its key attributes, output shape, and every metric of the
table view, :data:`~archviz.core.metrics.View.TABLE`) under a caption, and the totals as the summary's
table says them (:data:`~archviz.core.metrics.View.LINE`). jinja2 writes it with autoescape on, and
every text is :func:`~archviz.limits.visible`, so a layer's name shows as itself and never as markup;
jinja2 is imported when a notebook asks for the table, never when a summary is made.
"""

from __future__ import annotations

from typing import Any

from archviz.core.metrics import View, row_value, shown
from archviz.limits import visible

#: A :class:`~archviz.core.summary.Summary`, read by attribute (it calls this module).
Summary = Any

#: The most rows a notebook shows without being asked for a depth: the deepest level (layers, blocks,
#: stages) that has at most this many (ResNet-50: its blocks; ResNet-18: every layer).
MOST_ROWS = 80

_TEMPLATE = """\
<div class="archviz-summary">
<table>
<caption style="text-align: left; font-weight: bold">{{ caption }}</caption>
<thead><tr><th style="text-align: left">Layer</th><th style="text-align: left">Op</th>\
<th style="text-align: right">Output shape</th>\
{% for title in columns %}<th style="text-align: right">{{ title }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in rows %}<tr><td style="text-align: left">{{ row.name }}</td><td style="text-align: left">{{ row.op }}</td>\
<td style="text-align: right">{{ row.shape }}</td>\
{% for cell in row.cells %}<td style="text-align: right" title="{{ cell.exact }}">{{ cell.text }}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
<table>
{% for title, text in totals %}<tr><th style="text-align: left">{{ title }}</th>\
<td style="text-align: left">{{ text }}</td></tr>
{% endfor %}
</table>
{% for line in notes %}<p>{{ line }}</p>
{% endfor %}
</div>
"""


def _depth(summary: Summary) -> int:
    """The deepest level whose table has at most :data:`MOST_ROWS` rows (the stages, at least)."""
    for level in range(summary.max_depth, 1, -1):
        if len(summary.rows(level)) <= MOST_ROWS:
            return level
    return 1


def summary_html(summary: Summary, level: int | None = None) -> str:
    """``summary`` as an HTML table at ``level`` (1 stages, 2 blocks, 3 layers; by default the deepest
    with at most :data:`MOST_ROWS` rows)."""
    import jinja2

    level = _depth(summary) if level is None else level
    metrics = shown(View.TABLE)
    rows = []
    for row in summary.rows(level):
        values = [row_value(metric, row) for metric in metrics]
        rows.append(
            {
                "name": row.name,
                "op": f"{row.op} {row.detail}" if row.detail else row.op,
                "shape": "x".join("?" if d < 0 else str(d) for d in row.output_shape),
                "cells": [
                    {"text": metric.cell(value), "exact": metric.tooltip(value)}
                    for metric, value in zip(metrics, values)
                ],
            }
        )
    record = summary.record
    caption = ", ".join(
        filter(
            None,
            (
                summary.name,
                "input " + "x".join(map(str, record.input_shape)) if record.input_shape else "",
                f"batch {summary.batch_size}",
                {1: "by stage", 2: "by block"}.get(level, "every layer") if summary.max_depth > 1 else "",
            ),
        )
    )
    notes = [f"Not counted: {len(names)} layer(s) of type {op}" for op, names in summary.uncounted.items()]
    if level < summary.max_depth:
        notes.append("summary.html(depth='layers') shows every layer.")
    environment = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, finalize=_shown, trim_blocks=True, lstrip_blocks=True
    )
    return environment.from_string(_TEMPLATE).render(
        caption=caption,
        columns=[metric.title for metric in metrics],
        rows=rows,
        totals=[(metric.title, metric.sentence(summary)) for metric in shown(View.LINE, summary)],
        notes=notes,
    )


def _shown(value: Any) -> Any:
    """Every text a template writes, visible (no control or bidirectional character acts); autoescape
    then writes it as text."""
    return visible(value) if isinstance(value, str) else value
