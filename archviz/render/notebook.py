"""The diagram as an object, for notebooks and scripts: ``archviz.diagram(model, depth=..., collapse=...)``.

In Jupyter it shows itself as SVG (``_repr_svg_``); ``.save(path)`` writes it as the command line does
(atomically, the format from the file's extension). A diagram too long to read is folded as
``archviz diagram`` folds it (:mod:`archviz.render.diagram_fit`), and :attr:`Diagram.note` says so;
``full=True`` draws it as asked.

>>> picture = diagram("resnet20", depth="stages")
>>> picture._repr_svg_().startswith("<?xml")
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archviz.core.summary import Summary
from archviz.render.diagram import DiagramOptions, format_for
from archviz.render.diagram_fit import Drawing, fitted


@dataclass
class Diagram:
    """A model's diagram: its summary, the options it is drawn with, and the drawings made so far."""

    summary: Summary
    options: DiagramOptions
    full: bool = False
    _drawings: dict[str, Drawing] = field(default_factory=dict, repr=False)

    def drawing(self, fmt: str) -> Drawing:
        """The drawing in ``fmt`` (svg, png, pdf or dot), made once."""
        if fmt not in self._drawings:
            self._drawings[fmt] = fitted(self.summary, fmt, self.options, full=self.full)
        return self._drawings[fmt]

    @property
    def note(self) -> str:
        """What was drawn instead of what was asked (a folded view), in one line; empty if as asked."""
        return self.drawing("svg").note

    @property
    def source(self) -> str:
        """The DOT text of the view shown."""
        return self.drawing("dot").data.decode("utf-8")

    def _repr_svg_(self) -> str:
        return self.drawing("svg").data.decode("utf-8")

    def save(self, path: str | Path, format: str | None = None) -> Path:
        """Write the diagram to ``path``, atomically, in the format its extension names (``.svg``, ``.png``,
        ``.pdf``, ``.dot``/``.gv``) or ``format``; returns the path."""
        from archviz.fileio import check_writable, write_atomic

        kind = format_for(str(path), format)
        check_writable(path)
        return write_atomic(path, self.drawing(kind).data)


def diagram(
    model: Any,
    *,
    depth: str | int = "blocks",
    collapse: bool = False,
    rankdir: str = "TB",
    macs: bool = False,
    legend: bool = False,
    full: bool = False,
    **options: Any,
) -> Diagram:
    """The diagram of MODEL (a preset name, a spec or Keras file, a Keras model, a config, or a
    :class:`~archviz.core.summary.Summary`), with the options of ``archviz diagram``; the model's
    options (``input_shape``, ``shortcut``, ...) as :func:`archviz.analyze` takes them."""
    from archviz.api import analyze
    from archviz.core.summary import resolve_depth

    summary = model if isinstance(model, Summary) else analyze(model, **options)
    resolve_depth(depth, summary.max_depth)  # a UsageError for a depth the model does not have
    drawn = DiagramOptions(depth=depth, rankdir=rankdir.upper(), macs=macs, collapse=collapse, legend=legend)
    return Diagram(summary, drawn, full)
