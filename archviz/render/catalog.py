"""The preset catalog as a terminal table, Markdown or CSV: its number columns are the metric table's
(:data:`~archviz.core.metrics.View.CATALOG_TABLE` for the readable ones, ``CATALOG`` for CSV)."""

from __future__ import annotations

from archviz.core.metrics import View, shown
from archviz.render.tables import csv_table, markdown_table, text_table
from archviz.render.text import shape_text
from archviz.studies.catalog import Catalog, Entry

_LEAD = ["Name", "Family", "Input"]
_HEADER = [*_LEAD, *(metric.title for metric in shown(View.CATALOG_TABLE)), "Description"]
#: The number columns of the readable table.
_NUMERIC = set(range(len(_LEAD), len(_HEADER) - 1))


def _body(entries: tuple[Entry, ...]) -> list[list[str]]:
    metrics = shown(View.CATALOG_TABLE)
    return [
        [e.name, e.family, shape_text(e.input_shape), *(m.short(e.totals[m.key]) for m in metrics), e.description]
        for e in entries
    ]


def _footer(catalog: Catalog) -> str:
    return f"{len(catalog.entries)} preset(s). Exact numbers: --format json or 'archviz summary NAME'."


#: The terminal table fits this many columns: a longer description wraps onto the next lines (JSON and
#: CSV keep it whole).
WIDTH = 100


def _wrapped(body: list[list[str]]) -> list[list[str]]:
    """The body with the last column (the description) wrapped so every line fits :data:`WIDTH`."""
    import textwrap

    before = [max(len(row[i]) for row in [_HEADER, *body]) for i in range(len(_HEADER) - 1)]
    room = max(24, WIDTH - sum(before) - 2 * (len(_HEADER) - 1))
    lines = []
    for row in body:
        first, *rest = textwrap.wrap(row[-1], room) or [""]
        lines.append([*row[:-1], first])
        lines += [[""] * (len(row) - 1) + [more] for more in rest]
    return lines


def render_table(catalog: Catalog) -> str:
    return "\n".join([*text_table(_HEADER, _wrapped(_body(catalog.entries)), _NUMERIC), _footer(catalog)]) + "\n"


def render_markdown(catalog: Catalog) -> str:
    return "\n".join([*markdown_table(_HEADER, _body(catalog.entries), _NUMERIC), _footer(catalog)]) + "\n"


def render_csv(catalog: Catalog) -> str:
    metrics = shown(View.CATALOG)
    return csv_table(
        ["name", "family", "input_shape", "classes", *(metric.key for metric in metrics), "description"],
        [
            [
                e.name,
                e.family,
                shape_text(e.input_shape),
                e.classes,
                *("" if e.totals[m.key].number is None else e.totals[m.key].number for m in metrics),
                e.description,
            ]
            for e in catalog.entries
        ],
    )
