"""The preset catalog as a terminal table, Markdown or CSV."""

from __future__ import annotations

from archviz.studies.catalog import Catalog, Entry
from archviz.render.tables import csv_table, markdown_table, text_table
from archviz.render.text import shape_text
from archviz.units import human

_HEADER = ["Name", "Family", "Input", "Params", "MACs", "Description"]


def _body(entries: tuple[Entry, ...]) -> list[list[str]]:
    return [[e.name, e.family, shape_text(e.input_shape), human(e.params), human(e.macs), e.description]
            for e in entries]


def _footer(catalog: Catalog) -> str:
    return f"{len(catalog.entries)} preset(s). Exact numbers: --format json or 'archviz summary NAME'."


def render_table(catalog: Catalog) -> str:
    return "\n".join([*text_table(_HEADER, _body(catalog.entries), {3, 4}), _footer(catalog)]) + "\n"


def render_markdown(catalog: Catalog) -> str:
    return "\n".join([*markdown_table(_HEADER, _body(catalog.entries), {3, 4}), _footer(catalog)]) + "\n"


def render_csv(catalog: Catalog) -> str:
    return csv_table(["name", "family", "input_shape", "classes", "params", "trainable_params", "macs",
                      "description"],
                     [[e.name, e.family, shape_text(e.input_shape), e.classes, e.params, e.trainable_params, e.macs,
                       e.description] for e in catalog.entries])
