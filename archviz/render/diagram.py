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

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from archviz.errors import RuntimeFailure, UsageError
from archviz.ops import OPS, Family
from archviz.render.dot_text import attribute, attributes, html_label
from archviz.render.text import shape_text
from archviz.summary import LayerRecord, Row, Summary, resolve_depth
from archviz.units import human

FORMATS = ("svg", "png", "pdf", "dot")
RANKDIRS = ("TB", "LR", "BT", "RL")
GROUP = "group"  # the style of a node that stands for a stage or a block
EXTENSIONS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}

#: Fill and border of each op family (colour-blind-safe hues, light fills).
#: Fill, border and legend name of each op family (colour-blind-safe hues, light fills), and of groups.
FAMILY_STYLE: dict[str, tuple[str, str, str]] = {
    Family.IO: ("#eeeeee", "#777777", "input"),
    Family.CONV: ("#dbe8f6", "#2f6aa3", "convolution"),
    Family.NORM: ("#fde7cf", "#c46a00", "normalization"),
    Family.ACTIVATION: ("#e1f2dc", "#3c8a2e", "activation"),
    Family.POOL: ("#ece1f0", "#7d4e91", "pooling"),
    Family.MERGE: ("#fbdcdc", "#b33a3a", "add / concat"),
    Family.DENSE: ("#d8f0ee", "#287c76", "dense"),
    Family.RESHAPE: ("#f3f3e6", "#8a8a55", "padding / reshape"),
    Family.REGULARIZATION: ("#f0f0f0", "#999999", "dropout"),
    Family.UNKNOWN: ("#ffffff", "#000000", "not counted"),
    GROUP: ("#f7f7fb", "#4a4a6a", "stage / block"),
}
SHORTCUT_COLOR = "#b33a3a"

#: Nodes one diagram may have: dot's layout time grows faster than the node count, and
#: ResNet-1202 drawn layer by layer has about 4,200.
MAX_DRAWN_NODES = 5_000


class DiagramTooLarge(UsageError):
    """A diagram with more nodes than :data:`MAX_DRAWN_NODES`."""


def anchor(name: str) -> str:
    """A stable, HTML-safe id for a layer or group name (used by the diagram and the report)."""
    safe = "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in name)[:60]
    return f"{safe}_{hashlib.sha1(name.encode('utf-8')).hexdigest()[:6]}"


_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


def dot_id(name: str) -> str:
    """The DOT id of a node: its hierarchical name when that is plain (letters, digits, ``_ . -``),
    else its anchor. The graphviz package reads ``<...>`` as an HTML string and ``a:b`` as a
    port, so a model's arbitrary names never become ids; labels always show them as written."""
    return name if _PLAIN.fullmatch(name) else f"id_{anchor(name)}"


def format_for(path: str, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise UsageError(f"unknown diagram format {fmt!r}; choose from {', '.join(FORMATS)}")
        return fmt
    for extension, name in EXTENSIONS.items():
        if str(path).lower().endswith(extension):
            return name
    raise UsageError(f"cannot tell the diagram format of {path!r}: use a .svg, .png, .pdf, .dot or .gv "
                     f"file name, or --format")


@dataclass(frozen=True)
class DiagramOptions:
    depth: Any = "blocks"
    rankdir: str = "TB"
    macs: bool = False
    collapse: bool = False
    legend: bool = True
    links: bool = False  # href to the report's table rows


def _key_attributes(record: LayerRecord) -> str:
    """The op's own label of its key attributes (``3x3/2, 128``), from the op table."""
    op = OPS.get(record.op)
    return op.label(record.attrs) if op is not None else ""


def _numbers(params: int, macs: int, options: DiagramOptions) -> list[str]:
    lines = [f"{human(params)} params" if params else ""]
    if options.macs and macs:
        lines.append(f"{human(macs)} MACs")
    return lines


class _Builder:
    def __init__(self, summary: Summary, options: DiagramOptions) -> None:
        import graphviz

        self.summary = summary
        self.options = options
        self.level = resolve_depth(options.depth, summary.max_depth)
        self.dot = graphviz.Digraph(name=attribute(dot_id(summary.name)), graph_attr=attributes(
            rankdir=options.rankdir, fontname="Helvetica", fontsize="11", nodesep="0.25", ranksep="0.3",
            labelloc="t", label=f"{summary.name}  ({human(summary.params)} params, {human(summary.macs)} MACs)",
        ), node_attr=attributes(shape="plain", fontname="Helvetica"), edge_attr=attributes(color="#555555",
                                                                                            arrowsize="0.6"))
        self.families: list[str] = []
        self.count = 0

    def node_total(self) -> int:
        if self.level >= self.summary.max_depth and not self.options.collapse:
            return len(self.summary.records)
        rows = self.summary.rows(self.level)
        return len(_collapse_runs(rows)) if self.options.collapse else len(rows)

    def node(self, graph: Any, name: str, label: str, family: str, tooltip: str) -> None:
        self.count += 1
        if self.count > MAX_DRAWN_NODES:
            raise DiagramTooLarge(
                f"{self.node_total():,} nodes at this depth; archviz draws at most {MAX_DRAWN_NODES:,} "
                f"(dot would take minutes): use a smaller --depth or --collapse")
        if family not in self.families:
            self.families.append(family)
        attrs = {"label": label, "tooltip": tooltip, "id": f"node_{anchor(name)}"}
        if self.options.links:
            attrs["href"] = f"#row_{anchor(name)}"
        graph.node(attribute(dot_id(name)), **attributes(**attrs))

    def edge(self, source: str, target: str, **attrs: str) -> None:
        self.dot.edge(attribute(dot_id(source)), attribute(dot_id(target)), **attributes(**attrs))

    # ---- one node per stage or block ----------------------------------
    def grouped(self) -> None:
        rows = self.summary.rows(self.level)
        rows = _collapse_runs(rows) if self.options.collapse else [(row, [row]) for row in rows]
        group_of = {record.name: record.key(self.level) for record in self.summary.records}
        family_of = {record.name: record.family for record in self.summary.records}
        representative = {}
        for row, members in rows:
            for member in members:
                representative[member.name] = row.name
            family = family_of.get(row.name, GROUP)  # a single layer keeps its colour; a group has its own
            fill, border, _ = FAMILY_STYLE[family]
            title = row.name if len(members) == 1 else f"{members[0].name} … {members[-1].name.split('.')[-1]}"
            subtitle = row.op + (f"  ×{len(members)}" if len(members) > 1 else "")
            lines = [shape_text(row.output_shape), *_numbers(sum(m.params for m in members),
                                                              sum(m.macs for m in members), self.options)]
            self.node(self.dot, row.name, html_label(title, subtitle, lines, fill, border), family,
                      f"{title}: {row.layers} layers")
        seen = set()
        for record in self.summary.records:
            for source in record.inputs:
                a = representative.get(group_of.get(source, source))
                b = representative.get(group_of[record.name])
                if a and b and a != b and (a, b) not in seen:
                    seen.add((a, b))
                    self.edge(a, b)

    # ---- every layer, clusters for blocks and stages ------------------
    def layers(self) -> None:
        records = self.summary.records
        clusters: dict[tuple[str, ...], Any] = {}
        import graphviz

        # open clusters for every group prefix (stage, block), in order
        order: list[tuple[str, ...]] = []
        for record in records:
            for size in range(1, len(record.path)):
                prefix = record.path[:size]
                if prefix not in clusters:
                    name = ".".join(prefix)
                    kind = self.summary.groups.get(name, "")
                    clusters[prefix] = graphviz.Digraph(
                        name=attribute(f"cluster_{dot_id(name)}"), graph_attr=attributes(
                        label=f"{name}" + (f"  ({kind})" if kind and kind != "group" else ""),
                        style="rounded,filled", fillcolor="#fafafa" if size == 1 else "#ffffff",
                        color="#bbbbbb", fontsize="10", labeljust="l"))
                    order.append(prefix)
        block_of = {r.name: r.path[:-1] for r in records}  # the group a layer sits in
        op_of = {r.name: r.op for r in records}
        shortcut_labels = {"conv2d": " projection", "batch_norm": " projection", "pad_shortcut": " zero-pad (A)",
                           "max_pool2d": " subsample"}
        for record in records:
            fill, border, _ = FAMILY_STYLE[record.family]
            title = record.path[-1] if len(record.path) > 1 else record.name
            subtitle = record.op + (f"  {_key_attributes(record)}" if _key_attributes(record) else "")
            lines = [shape_text(record.output_shape), *_numbers(record.params, record.macs, self.options)]
            if not record.counted:
                lines.append("FLOPs not counted")
            target = clusters[record.path[:-1]] if len(record.path) > 1 else self.dot
            self.node(target, record.name, html_label(title, subtitle, lines, fill, border), record.family,
                      record.name)
        # nest clusters, deepest first
        for prefix in sorted(order, key=len, reverse=True):
            parent = clusters[prefix[:-1]] if len(prefix) > 1 else self.dot
            parent.subgraph(clusters[prefix])
        for record in records:
            for source in record.inputs:
                attrs = {}
                if record.op == "add" and block_of.get(source) != block_of[record.name]:
                    attrs = {"style": "dashed", "color": SHORTCUT_COLOR, "label": " identity", "fontsize": "9",
                             "fontcolor": SHORTCUT_COLOR, "constraint": "false"}
                elif source.endswith((".shortcut", ".shortcut_bn")) and record.op == "add":
                    attrs = {"style": "bold", "color": SHORTCUT_COLOR, "fontsize": "9", "fontcolor": SHORTCUT_COLOR,
                             "label": shortcut_labels.get(op_of[source], " shortcut")}
                self.edge(source, record.name, **attrs)

    def legend(self) -> None:
        import graphviz

        legend = graphviz.Digraph(name=attribute("cluster_legend"), graph_attr=attributes(
            label="legend", fontsize="10", style="rounded", color="#cccccc"))
        for family in self.families:
            fill, border, name = FAMILY_STYLE[family]
            legend.node(attribute(f"legend_{family}"), label=html_label(name, "", [], fill, border))
        self.dot.subgraph(legend)


def _signature(row: Row) -> tuple:
    return row.name.rsplit(".", 1)[0], row.op, row.output_shape, row.params, row.macs, row.layers


def _collapse_runs(rows: list[Row]) -> list[tuple[Row, list[Row]]]:
    """Fold runs of identical consecutive blocks (same parent, kind, shape, params and MACs)."""
    result: list[tuple[Row, list[Row]]] = []
    for row in rows:
        if result and "." in row.name and _signature(result[-1][1][-1]) == _signature(row):
            result[-1][1].append(row)
        else:
            result.append((row, [row]))
    return result


def build_dot(summary: Summary, options: DiagramOptions | None = None) -> Any:
    """The ``graphviz.Digraph`` of a summary."""
    options = options or DiagramOptions()
    if options.rankdir not in RANKDIRS:
        raise UsageError(f"rankdir must be TB or LR (or BT, RL); got {options.rankdir!r}")
    builder = _Builder(summary, options)
    if builder.level >= summary.max_depth and summary.max_depth > 1 and not options.collapse:
        builder.layers()
    else:
        builder.grouped()
    if options.legend:
        builder.legend()
    return builder.dot


def dot_source(summary: Summary, options: DiagramOptions | None = None) -> str:
    return build_dot(summary, options).source


def render(summary: Summary, fmt: str, options: DiagramOptions | None = None) -> bytes:
    """The diagram as bytes in ``fmt`` (svg, png, pdf or dot)."""
    dot = build_dot(summary, options)
    if fmt == "dot":
        return dot.source.encode("utf-8")
    import graphviz

    try:
        return dot.pipe(format=fmt, quiet=True)
    except graphviz.ExecutableNotFound:
        raise RuntimeFailure("drawing needs Graphviz's dot program: install the Debian package graphviz "
                             "(apt-get install graphviz), or write .dot") from None
    except graphviz.CalledProcessError as error:
        message = (error.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise RuntimeFailure(f"dot failed: {message[-1] if message else error}") from None
