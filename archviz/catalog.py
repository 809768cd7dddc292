"""The preset catalog behind ``archviz list``: each preset with its family, size and cost."""

from __future__ import annotations

from dataclasses import dataclass

from archviz.analysis import analyze_graph
from archviz.render.tables import csv_table, markdown_table, text_table
from archviz.units import human
from archviz.zoo import REGISTRY, build


@dataclass(frozen=True)
class Entry:
    name: str
    family: str
    input_shape: tuple[int, ...]
    classes: int
    params: int
    trainable_params: int
    macs: int
    description: str
    source: str

    def to_dict(self) -> dict:
        return {"name": self.name, "family": self.family, "input_shape": list(self.input_shape),
                "classes": self.classes, "params": self.params, "trainable_params": self.trainable_params,
                "macs": self.macs, "description": self.description, "source": self.source}


def catalog(pattern: str = "*") -> list[Entry]:
    entries = []
    for config in REGISTRY.match(pattern):
        summary = analyze_graph(build(config))
        entries.append(Entry(config.name, config.family, config.input_shape, config.classes, summary.params,
                             summary.trainable_params, summary.macs, config.description, config.source))
    return entries


def render_catalog(entries: list[Entry], fmt: str = "table") -> str:
    if fmt == "json":
        import json

        return json.dumps([entry.to_dict() for entry in entries], indent=2) + "\n"
    if fmt == "csv":
        return csv_table(["name", "family", "input_shape", "classes", "params", "trainable_params", "macs",
                          "description"],
                         [[e.name, e.family, "x".join(map(str, e.input_shape)), e.classes, e.params,
                           e.trainable_params, e.macs, e.description] for e in entries])
    header = ["Name", "Family", "Input", "Params", "MACs", "Description"]
    body = [[e.name, e.family, "x".join(map(str, e.input_shape)), human(e.params), human(e.macs), e.description]
            for e in entries]
    table = markdown_table(header, body, {3, 4}) if fmt == "markdown" else text_table(header, body, {3, 4})
    footer = f"{len(entries)} preset(s). Exact numbers: --format json or 'archviz summary NAME'."
    return "\n".join([*table, footer]) + "\n"


__all__ = ["Entry", "catalog", "render_catalog"]
