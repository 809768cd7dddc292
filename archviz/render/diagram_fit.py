"""A diagram of any size as a usable picture.

Drawn as asked, a deep network is a page tens of metres long, or a PNG that Graphviz's cairo scales
down to 32,767 pixels with 3-pixel text. Past :data:`MAX_SIDE` points on its longer side (a PDF past
:data:`MAX_PDF_SIDE`, the largest page PDF readers open) the asked drawing is replaced by the first
folded view that fits: identical blocks collapsed ×N at the same depth, then blocks collapsed, then
stages only, and :attr:`Drawing.note` says so in one line, naming ``--full`` (DOT is folded as its SVG
would be, where Graphviz is installed to tell). A drawing that is
clearly too big (its nodes in a row alone would pass the limit) is folded before dot runs. With
``full`` the asked drawing is made whatever its size, and dot's own warnings (its scaling of a PNG)
are in the note.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, replace

from archviz.core.summary import Summary, resolve_depth
from archviz.render.diagram import DiagramOptions, DiagramTooLarge, build, run_dot

#: The longest side, in points, of a drawing text can be read on: 20,000 pt (7 m) is the length of
#: a page past which nobody scrolls, and keeps a PNG (at 96 px per inch) under cairo's 32,767 px, so
#: its 9-point text stays 12 px.
MAX_SIDE = 20_000
#: The largest page a PDF reader opens (200 inches, the PDF specification's limit).
MAX_PDF_SIDE = 14_400
#: The least length each node adds along a chain (a one-line node and the gap to the next): a
#: drawing with this many points per node over the limit is folded without running dot.
NODE_LENGTH = 30
#: What PNG pixels are in points: Graphviz draws at 96 px per inch.
PX_TO_PT = 72 / 96

_DEPTH_WORDS = {1: "stage", 2: "block", 3: "layer"}


@dataclass(frozen=True)
class Drawing:
    """A diagram as bytes, the options it was drawn with, and a line for the user where it is not
    what was asked (a folded view, dot's warnings), else empty."""

    data: bytes
    fmt: str
    options: DiagramOptions
    note: str = ""


def limit(fmt: str) -> int:
    return MAX_PDF_SIDE if fmt == "pdf" else MAX_SIDE


def side(data: bytes, fmt: str) -> float | None:
    """The longer side of a drawn SVG, PNG or PDF in points (None where it cannot be read)."""
    if fmt == "svg":
        found = re.search(rb'<svg width="([0-9.]+)pt" height="([0-9.]+)pt"', data[:2000])
        return max(float(found.group(1)), float(found.group(2))) if found else None
    if fmt == "png" and data[12:16] == b"IHDR":
        return max(int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) * PX_TO_PT
    if fmt == "pdf":
        sizes = re.findall(rb"/MediaBox \[\s*[0-9.]+\s+[0-9.]+\s+([0-9.]+)\s+([0-9.]+)\s*\]", data)
        return max((max(float(w), float(h)) for w, h in sizes), default=None)
    return None


def folds(summary: Summary, options: DiagramOptions) -> list[DiagramOptions]:
    """The asked view, then smaller ones: collapsed at its depth, blocks collapsed, stages."""
    level = resolve_depth(options.depth, summary.max_depth)
    views = [options]
    if not options.collapse and summary.max_depth >= 2 and level >= 2:
        views.append(replace(options, collapse=True))
    if level > 2:
        views.append(replace(options, depth="blocks", collapse=True))
    if level > 1:
        views.append(replace(options, depth="stages", collapse=False))
    return views


def describe(summary: Summary, options: DiagramOptions) -> str:
    level = resolve_depth(options.depth, summary.max_depth)
    words = f"--depth {['stages', 'blocks', 'layers'][min(level, 3) - 1]}"
    return words + (" --collapse" if options.collapse else "")


def fitted(summary: Summary, fmt: str, options: DiagramOptions | None = None, *, full: bool = False) -> Drawing:
    """The diagram in ``fmt``: as asked where it is readable (or with ``full``), else the first folded
    view that is (see the module docstring)."""
    options = options or DiagramOptions()
    views = [options] if full else folds(summary, options)
    most = limit(fmt)
    why = ""
    for index, view in enumerate(views):
        last = index == len(views) - 1
        try:
            builder = build(summary, view)
        except DiagramTooLarge as error:
            if last:
                raise
            why = why or "has " + str(error).split(":")[0].split(";")[0].removesuffix(" at this depth")
            continue
        nodes = builder.count + len(builder.adds)
        estimate = nodes * NODE_LENGTH
        if estimate > most and not (last or full):
            why = why or f"would be at least {estimate:,} pt long ({nodes:,} nodes), too big to read"
            continue
        source = builder.dot.source
        if fmt == "dot" and (full or shutil.which("dot") is None):  # DOT is written without Graphviz too
            return Drawing(source.encode("utf-8"), fmt, view, _note(summary, options, view, why))
        data, warnings = run_dot(source, "svg" if fmt == "dot" else fmt)  # DOT: the view its SVG would be
        length = side(data, "svg" if fmt == "dot" else fmt)
        if fmt == "dot":
            data, warnings = source.encode("utf-8"), []
        if length is not None and length > most and not (last or full):
            why = why or f"would be {length:,.0f} pt long, too big to read"
            continue
        note = _note(summary, options, view, why)
        if warnings:  # dot's own words (a PNG scaled down to fit cairo), never swallowed
            note = "; ".join(filter(None, [note, "dot: " + warnings[0].removeprefix("dot: ")]))
        if length is not None and length > most:
            note = "; ".join(filter(None, [note, _too_long(summary, view, length)]))
        return Drawing(data, fmt, view, note)
    raise AssertionError("the last view is always drawn")  # pragma: no cover


def _too_long(summary: Summary, drawn: DiagramOptions, length: float) -> str:
    """What a drawing past the limit is, and only the folds this model has (none for a flat model)."""
    smaller = [describe(summary, view) for view in folds(summary, drawn)[1:]]
    advice = (
        f": {' or '.join(smaller)} folds it"
        if smaller
        else ": archviz found no stages or blocks in this model to fold it by"
    )
    return f"the diagram of {summary.name} is {length:,.0f} pt long, hard to read" + advice


def _note(summary: Summary, asked: DiagramOptions, drawn: DiagramOptions, why: str) -> str:
    if drawn == asked:
        return ""
    level = resolve_depth(asked.depth, summary.max_depth)
    return (
        f"{summary.name} at {_DEPTH_WORDS.get(level, 'layer')} depth {why}: "
        f"drew {describe(summary, drawn)} instead; --full draws it as asked"
    )
