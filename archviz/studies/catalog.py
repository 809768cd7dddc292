"""The preset catalog behind ``archviz list``: each preset with its family, size and cost."""

from __future__ import annotations

from dataclasses import dataclass

from archviz.core.analysis import analyze_graph
from archviz.errors import UnknownModelError
from archviz.limits import short
from archviz.sources.zoo import REGISTRY, build


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
        return {
            "name": self.name,
            "family": self.family,
            "input_shape": list(self.input_shape),
            "classes": self.classes,
            "params": self.params,
            "trainable_params": self.trainable_params,
            "macs": self.macs,
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
                summary.params,
                summary.trainable_params,
                summary.macs,
                config.description,
                config.source,
            )
        )
    if not entries:
        raise UnknownModelError(f"no preset matches {short(pattern)}; run 'archviz list' to see them all")
    return Catalog(pattern, tuple(entries))
