"""Graphviz diagrams of a summary: one node per stage, per block or per layer.

Built with the ``graphviz`` package and rendered by Graphviz's ``dot``. Every id, attribute and
label reaches the package through :mod:`archviz.render.dot_text`, so layer names with quotes,
braces, angle brackets, backslashes, control characters or any Unicode render as written and
can never add DOT of their own. Node ids are the hierarchical names (or a stable hash where a
name is not plain), so the same summary gives byte-identical DOT.

At layer depth, blocks and stages are clusters around their layers, and shortcuts are drawn
so a reader sees them at once: an identity shortcut is a dashed skip edge into the add, a
projection is its own 1x1 conv (and BN) node on a bold edge, option A's zero padding is a
labelled node. Nothing here computes a number: every figure comes from the summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archviz.core.summary import Summary, resolve_depth
from archviz.errors import RuntimeFailure, UsageError
from archviz.render.diagram_grouped import draw_grouped, grouped_rows
from archviz.render.diagram_layers import draw_layers
from archviz.render.diagram_style import (
    FAMILY_STYLE,
    FONT,
    GROUP,
    MAX_DRAWN_CLUSTERS,
    MAX_DRAWN_NODES,
    SHORTCUT_COLOR,
    SPINE,
    DiagramTooLarge,
)
from archviz.render.diagram_views import Shortcut, collapse_runs, fold_layer_runs
from archviz.render.diagram_words import title_numbers
from archviz.render.dot_text import HtmlLabel, anchor, attribute, attributes, caption_label, dot_id
from archviz.render.formats import DIAGRAM_FORMATS, RANKDIRS, output_format

__all__ = [
    "FAMILY_STYLE",
    "FONT",
    "GROUP",
    "MAX_DRAWN_CLUSTERS",
    "MAX_DRAWN_NODES",
    "DiagramOptions",
    "DiagramTooLarge",
    "build_dot",
    "dot_source",
    "render",
]


def format_for(path: str, fmt: str | None) -> str:
    """The diagram format: ``--format``, else the file's extension (they must agree)."""
    if fmt is not None and fmt.lower() not in DIAGRAM_FORMATS:
        raise UsageError(f"unknown diagram format {fmt!r}; choose from {', '.join(DIAGRAM_FORMATS)}")
    return output_format(DIAGRAM_FORMATS, fmt, path, default=None)


@dataclass(frozen=True)
class DiagramOptions:
    depth: Any = "blocks"
    rankdir: str = "TB"
    macs: bool = False
    collapse: bool = False
    legend: bool = False
    links: bool = False  # href to the report's table rows


class _Builder:
    def __init__(self, summary: Summary, options: DiagramOptions) -> None:
        import graphviz

        self.summary = summary
        self.options = options
        self.level = resolve_depth(options.depth, summary.max_depth)
        self.dot = graphviz.Digraph(
            name=attribute(dot_id(summary.name)),
            graph_attr=attributes(
                rankdir=options.rankdir,
                fontname=FONT,
                fontsize="11",
                nodesep="0.25",
                ranksep="0.3",
                labelloc="t",
                label=f"{summary.name} ({title_numbers(summary)})",
            ),
            node_attr=attributes(shape="plain", fontname=FONT),
            edge_attr=attributes(color="#555555", arrowsize="0.6", fontname=FONT, fontsize="9"),
        )
        self.families: list[str] = []
        self.count = 0
        self.adds: dict[str, str] = {}  # a residual block's name -> its add node's name

    def node_total(self) -> int:
        if self.level >= self.summary.max_depth > 1:
            return len(set(fold_layer_runs(self.summary, self.options.collapse)[0].values()))
        rows = grouped_rows(self.summary, self.level)
        return len(collapse_runs(rows)) if self.options.collapse else len(rows)

    def node(self, graph: Any, name: str, label: str, family: str, tooltip: str, *, spine: bool = False) -> None:
        """A node of ``graph``; with ``spine``, one of the main path's, which dot keeps on one straight line."""
        self.count += 1
        if self.count > MAX_DRAWN_NODES:
            raise DiagramTooLarge(
                f"{self.node_total():,} nodes at this depth; archviz draws at most {MAX_DRAWN_NODES:,} "
                f"(dot would take minutes): use a smaller --depth or --collapse"
            )
        if family not in self.families:
            self.families.append(family)
        attrs = {"label": label, "tooltip": tooltip, "id": f"node_{anchor(name)}"}
        if spine:
            attrs["group"] = SPINE
        if self.options.links:
            attrs["href"] = f"#row_{anchor(name)}"
        graph.node(attribute(dot_id(name)), **attributes(**attrs))

    def edge(self, source: str, target: str, **attrs: str) -> None:
        self.dot.edge(attribute(dot_id(source)), attribute(dot_id(target)), **attributes(**attrs))

    def shortcut_edge(self, source: str, target: str, shortcut: Shortcut, times: int = 1) -> None:
        """A residual block's shortcut beside its main path: dashed for an identity, bold otherwise."""
        label = " " + shortcut.text + (f" ×{times}" if times > 1 else "")
        style = "dashed" if shortcut.kind == "identity" else "bold"
        self.edge(source, target, style=style, color=SHORTCUT_COLOR, fontcolor=SHORTCUT_COLOR, label=label, weight="0")

    def add_node(self, graph: Any, block: str) -> None:
        """The add (⊕) that closes residual ``block``: its shortcut and its body meet there."""
        name = self.adds[block] = f"{block}+add"
        graph.node(
            attribute(dot_id(name)),
            **attributes(
                label="+",
                shape="circle",
                width="0.3",
                height="0.3",
                fixedsize="true",
                fontsize="14",
                color="#b33a3a",
                tooltip=f"{block}: add",
                id=f"add_{anchor(block)}",
                group=SPINE,
            ),
        )

    def exit_of(self, name: str) -> str:
        """The node a group's output leaves from: a residual block's add, else the group's node."""
        return self.adds.get(name, name)

    def caption(self, graph: Any, key: str, text: list[str], first: str, *, above: bool = False) -> None:
        """A cluster's caption (its title, then its lines) as a node of ``graph`` beside ``first`` on
        its rank, or with ``above`` on the rank before it (where ``first`` sits in a cluster inside
        ``graph``: a rank shared across clusters would take ``first`` out of its own). A cluster's own
        label is crossed by the edges into the cluster: dot routes edges around nodes, never labels."""
        import graphviz

        name, head = attribute(dot_id(f"{key}+caption")), attribute(dot_id(first))
        graph.node(
            name,
            **attributes(
                label=caption_label(text[0], text[1:]), shape="plain", id=f"caption_{anchor(key)}", tooltip=key
            ),
        )
        if above:
            self.dot.edge(name, head, **attributes(style="invis"))
            return
        same = graphviz.Digraph(graph_attr=attributes(rank="same"))
        same.node(name)
        same.node(head)
        if self.options.rankdir in ("TB", "BT"):  # the caption left of its node; left to right, an edge
            same.edge(name, head, **attributes(style="invis"))  # fixing their order would stack the chain
        graph.subgraph(same)

    def cluster(self, key: str, label: str, top: bool) -> Any:
        import graphviz

        return graphviz.Digraph(
            name=attribute(f"cluster_{dot_id(key)}"),
            graph_attr=attributes(
                label=label,
                style="rounded,filled",
                fillcolor="#fafafa" if top else "#ffffff",
                color="#bbbbbb",
                fontsize="10",
                labeljust="l",
                fontname=FONT,
            ),
        )

    def legend(self) -> None:
        """One compact key of the families this picture uses."""
        rows = "".join(
            f'<TR><TD BGCOLOR="{FAMILY_STYLE[f][0]}" COLOR="{FAMILY_STYLE[f][1]}" BORDER="1">'
            f'<FONT POINT-SIZE="9">{FAMILY_STYLE[f][2]}</FONT></TD></TR>'
            for f in self.families
        )
        self.dot.node(
            attribute("colour key"),
            label=HtmlLabel(
                f'<<TABLE BORDER="0" CELLSPACING="2" CELLPADDING="2">'
                f'<TR><TD><FONT POINT-SIZE="9">key</FONT></TD></TR>'
                f"{rows}</TABLE>>"
            ),
        )


def build(summary: Summary, options: DiagramOptions | None = None) -> _Builder:
    """The builder of a summary's diagram, drawn: its ``dot`` and how many nodes it drew (``count``)."""
    options = options or DiagramOptions()
    if options.rankdir not in RANKDIRS:
        raise UsageError(f"rankdir must be TB or LR (or BT, RL); got {options.rankdir!r}")
    builder = _Builder(summary, options)
    if builder.level >= summary.max_depth and summary.max_depth > 1:
        draw_layers(builder)
    else:
        draw_grouped(builder)
    if options.legend:
        builder.legend()
    return builder


def build_dot(summary: Summary, options: DiagramOptions | None = None) -> Any:
    """The ``graphviz.Digraph`` of a summary."""
    return build(summary, options).dot


def dot_source(summary: Summary, options: DiagramOptions | None = None) -> str:
    return build_dot(summary, options).source


def run_dot(source: str, fmt: str) -> tuple[bytes, list[str]]:
    """``source`` drawn by Graphviz's dot as ``fmt`` (svg, png or pdf), and dot's warnings, one line each."""
    import shutil
    import subprocess

    program = shutil.which("dot")
    if program is None:
        raise RuntimeFailure(
            "drawing needs Graphviz's dot program: install the Debian package graphviz "
            "(apt-get install graphviz), or write .dot"
        )
    # the whole source at once: a dot that stops reading early still says why on stderr
    done = subprocess.run([program, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True, check=False)
    message = [line.strip() for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    if done.returncode != 0:
        raise RuntimeFailure(f"dot failed: {message[-1] if message else f'exit status {done.returncode}'}")
    return done.stdout, message


def render(summary: Summary, fmt: str, options: DiagramOptions | None = None) -> bytes:
    """The diagram as bytes in ``fmt`` (svg, png, pdf or dot), drawn as asked whatever its size
    (:func:`archviz.render.diagram_fit.fitted` folds one too big to read)."""
    dot = build_dot(summary, options)
    if fmt == "dot":
        return dot.source.encode("utf-8")
    return run_dot(dot.source, fmt)[0]
