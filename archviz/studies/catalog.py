"""The preset catalog behind ``archviz list``: each preset with its family, and the totals the metric
table shows in a catalog (:data:`~archviz.core.metrics.View.CATALOG`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from archviz.core.analysis import analyze_graph
from archviz.core.metrics import Value, View, shown
from archviz.errors import UnknownModelError
from archviz.limits import short
from archviz.sources.zoo import REGISTRY, build


@dataclass(frozen=True)
class Entry:
    name: str
    family: str
    input_shape: tuple[int, ...]
    classes: int
    totals: Mapping[str, Value]  # each catalog metric's total, by key
    description: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "input_shape": list(self.input_shape),
            "classes": self.classes,
            **{key: value.number for key, value in self.totals.items()},
            "description": self.description,
            "source": self.source,
        }


@dataclass(frozen=True)
class Catalog:
    """The presets that match a pattern."""

    pattern: str
    entries: tuple[Entry, ...]

    def to_dict(self) -> list[dict]:
        return [entry.to_dict() for entry in self.entries]


def catalog(pattern: str = "*") -> Catalog:
    """Every preset whose name or family matches ``pattern`` (a glob); none is an error."""
    entries = []
    for config in REGISTRY.match(pattern):
        summary = analyze_graph(build(config))
        entries.append(
            Entry(
                config.name,
                config.family,
                config.input_shape,
                config.classes,
                {metric.key: metric.value(summary) for metric in shown(View.CATALOG)},
                config.description,
                config.source,
            )
        )
    if not entries:
        raise UnknownModelError(f"no preset matches {short(pattern)}; run 'archviz list' to see them all")
    return Catalog(pattern, tuple(entries))
