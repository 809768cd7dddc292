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
from archviz.ops import Family
from archviz.render.diagram_views import (
    Shortcut,
    block_records,
    blocks_per_group,
    collapse_runs,
    downsampling,
    fold_layer_runs,
    plural,
    shortcut_of,
    stage_caption,
)
from archviz.render.dot_text import HtmlLabel, anchor, attribute, attributes, dot_id, html_label
from archviz.render.formats import DIAGRAM_FORMATS, RANKDIRS, output_format
from archviz.render.text import shape_text
from archviz.units import human

GROUP = "group"  # the style of a node that stands for a stage or a block

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
#: The most clusters (groups) a diagram draws: dot lays out each like a node; ResNet-1202 has 603,
#: and 64-part names on 80 layers make 5,000.
MAX_DRAWN_CLUSTERS = 5_000


class DiagramTooLarge(UsageError):
    """A diagram with more nodes than :data:`MAX_DRAWN_NODES` or more clusters than :data:`MAX_DRAWN_CLUSTERS`."""


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


def _numbers(params: int, macs: int, options: DiagramOptions) -> list[str]:
    return [f"{human(params)} params" if params else "", f"{human(macs)} MACs" if options.macs and macs else ""]


FONT = "DejaVu Sans"  # installed with Graphviz on Debian; the report's CSS names it too


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
                label=f"{summary.name}  ({human(summary.params)} params, {human(summary.macs)} MACs)",
            ),
            node_attr=attributes(shape="plain", fontname=FONT),
            edge_attr=attributes(color="#555555", arrowsize="0.6", fontname=FONT, fontsize="9"),
        )
        self.families: list[str] = []
        self.count = 0

    def node_total(self) -> int:
        if self.level >= self.summary.max_depth > 1:
            return len(set(fold_layer_runs(self.summary, self.options.collapse)[0].values()))
        rows = self.summary.rows(self.level)
        return len(collapse_runs(rows)) if self.options.collapse else len(rows)

    def node(self, graph: Any, name: str, label: str, family: str, tooltip: str) -> None:
        self.count += 1
        if self.count > MAX_DRAWN_NODES:
            raise DiagramTooLarge(
                f"{self.node_total():,} nodes at this depth; archviz draws at most {MAX_DRAWN_NODES:,} "
                f"(dot would take minutes): use a smaller --depth or --collapse"
            )
        if family not in self.families:
            self.families.append(family)
        attrs = {"label": label, "tooltip": tooltip, "id": f"node_{anchor(name)}"}
        if self.options.links:
            attrs["href"] = f"#row_{anchor(name)}"
        graph.node(attribute(dot_id(name)), **attributes(**attrs))

    def edge(self, source: str, target: str, **attrs: str) -> None:
        self.dot.edge(attribute(dot_id(source)), attribute(dot_id(target)), **attributes(**attrs))

    def shortcut_edge(self, source: str, target: str, shortcut: Shortcut, times: int = 1) -> None:
        """A residual block's shortcut beside its main path: dashed for an identity, bold otherwise."""
        label = " " + shortcut.text + (f" ×{times}" if times > 1 else "")
        style = "dashed" if shortcut.kind == "identity" else "bold"
        side = "e" if self.options.rankdir in ("TB", "BT") else "s"  # around the block, not over its edge
        self.edge(
            source,
            target,
            style=style,
            color=SHORTCUT_COLOR,
            fontcolor=SHORTCUT_COLOR,
            label=label,
            tailport=side,
            headport=side,
        )

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

    # ---- one node per stage or block, blocks inside their stages -------------------
    def grouped(self) -> None:
        summary = self.summary
        rows = summary.rows(self.level)
        runs = collapse_runs(rows) if self.options.collapse else [(row, [row]) for row in rows]
        members = block_records(summary, self.level)
        family_of = {record.name: record.family for record in summary.records}
        by_name = {record.name: record for record in summary.records}
        blocks_in = blocks_per_group(summary)
        stages = {row.name: row for row in summary.rows(1)}
        clusters: dict[str, Any] = {}
        representative, shape_of = {}, {}
        for row, run in runs:
            for member in run:
                representative[member.name] = row.name
            shape_of[row.name] = run[-1].output_shape
            kind = summary.groups.get(row.name, "")
            family = family_of.get(row.name, GROUP)  # a single layer keeps its colour; a group has its own
            fill, border, _ = FAMILY_STYLE[family]
            title = row.name if len(run) == 1 else f"{run[0].name} … {run[-1].name.split('.')[-1]}"
            subtitle = row.op + (f" {row.detail}" if row.detail else "") + (f"  ×{len(run)}" if len(run) > 1 else "")
            if kind == "stage" and row.name in blocks_in:
                subtitle += f", {plural(blocks_in[row.name], 'block')}"
            lines = [
                shape_text(row.output_shape),
                *_numbers(sum(m.params for m in run), sum(m.macs for m in run), self.options),
            ]
            shortcut = shortcut_of(members[row.name]) if self.level == 2 and row.name in summary.groups else None
            if shortcut is not None:
                lines.append(f"shortcut: {shortcut.text}")
                first_input = members[row.name][0].inputs
                stride = downsampling(by_name[first_input[0]].output_shape if first_input else None, row)
                if stride > 1:
                    subtitle += f", downsamples /{stride}"
            stage = row.name.split(".")[0] if "." in row.name else None
            target = self.dot
            if self.level == 2 and stage in stages and summary.groups.get(stage) == "stage":
                if stage not in clusters:
                    clusters[stage] = self.cluster(
                        stage, stage_caption(summary, stages[stage], blocks_in.get(stage, 0)), top=True
                    )
                target = clusters[stage]
            tooltip = f"{title}: {plural(sum(m.layers for m in run), 'layer')}"
            self.node(target, row.name, html_label(title, subtitle, lines, fill, border), family, tooltip)
        for cluster in clusters.values():
            self.dot.subgraph(cluster)
        self._grouped_edges(runs, members, representative, shape_of)

    def _grouped_edges(self, runs: list, members: dict, representative: dict, shape_of: dict) -> None:
        group_of = {record.name: record.key(self.level) for record in self.summary.records}
        seen = set()
        for record in self.summary.records:
            for source in record.inputs:
                a = representative.get(group_of.get(source, source))
                b = representative.get(group_of[record.name])
                if a and b and a != b and (a, b) not in seen:
                    seen.add((a, b))
                    self.edge(a, b)
        if self.level != 2:
            return
        entry = {b: a for a, b in seen}
        for row, run in runs:
            shortcut = shortcut_of(members[row.name]) if row.name in self.summary.groups else None
            if shortcut is not None and row.name in entry:
                self.shortcut_edge(entry[row.name], row.name, shortcut, len(run))

    # ---- every layer, clusters for blocks and stages ------------------
    def layers(self) -> None:
        node_of, folded = fold_layer_runs(self.summary, self.options.collapse)
        records = [r for r in self.summary.records if node_of[r.name] == r.name]
        clusters: dict[tuple[str, ...], Any] = {}
        order: list[tuple[str, ...]] = []  # clusters for every group prefix (stage, block), in order
        for record in records:
            known = len(record.path) - 1
            while known >= 1 and record.path[:known] not in clusters:  # a known group's groups are known
                known -= 1
            for size in range(known + 1, len(record.path)):
                prefix = record.path[:size]
                name = ".".join(prefix)
                kind = self.summary.groups.get(name, "")
                label = name + (f"  ({kind})" if kind and kind != "group" else "")
                clusters[prefix] = self.cluster(name, label, top=size == 1)
                order.append(prefix)
            if len(clusters) > MAX_DRAWN_CLUSTERS:
                raise DiagramTooLarge(
                    f"more than {MAX_DRAWN_CLUSTERS:,} groups to draw as clusters (dot would take "
                    f"minutes): use a smaller --depth"
                )
        block_of = {r.name: r.path[:-1] for r in self.summary.records}  # the group a layer sits in
        for record in records:
            fill, border, _ = FAMILY_STYLE[record.family]
            title = record.path[-1] if len(record.path) > 1 else record.name
            subtitle = record.op + (f"  {record.label()}" if record.label() else "")
            lines = [shape_text(record.output_shape), *_numbers(record.params, record.macs, self.options)]
            if not record.counted:
                lines.append("FLOPs not counted")
            target = clusters[record.path[:-1]] if len(record.path) > 1 else self.dot
            self.node(target, record.name, html_label(title, subtitle, lines, fill, border), record.family, record.name)
        for key, (first, run) in folded.items():  # runs of identical blocks, one node each
            stage = clusters.get(tuple(key.split(".")[:1]), self.dot)
            fill, border, _ = FAMILY_STYLE[GROUP]
            title = f"{run[0].name} … {run[-1].name.split('.')[-1]}"
            lines = [
                f"{plural(len(run), 'more block')} like {first.split('.')[-1]}",
                shape_text(run[-1].output_shape),
                *_numbers(sum(r.params for r in run), sum(r.macs for r in run), self.options),
            ]
            self.node(
                stage,
                key,
                html_label(title, run[0].op + f"  ×{len(run)}", lines, fill, border),
                GROUP,
                f"{title}: folded, archviz diagram --depth layers without --collapse draws them",
            )
        self.dot.body.extend(_nested(clusters, order))
        self._layer_edges(node_of, block_of)

    def _layer_edges(self, node_of: dict[str, str], block_of: dict) -> None:
        seen = set()
        for record in self.summary.records:
            target = node_of[record.name]
            for source in record.inputs:
                origin = node_of[source]
                if origin == target or (origin, target) in seen:
                    continue
                seen.add((origin, target))
                attrs = {}
                if record.op == "add" and target == record.name and origin == source:
                    if block_of[source] != block_of[record.name]:
                        attrs = {
                            "style": "dashed",
                            "color": SHORTCUT_COLOR,
                            "label": " identity",
                            "fontcolor": SHORTCUT_COLOR,
                            "constraint": "false",
                        }
                    elif source.endswith((".shortcut", ".shortcut_bn")):
                        block = [r for r in self.summary.records if r.path[:-1] == block_of[record.name]]
                        shortcut = shortcut_of(block)
                        attrs = {
                            "style": "bold",
                            "color": SHORTCUT_COLOR,
                            "fontcolor": SHORTCUT_COLOR,
                            "label": " " + (shortcut.kind if shortcut else "shortcut"),
                        }
                self.edge(origin, target, **attrs)

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


def _nested(clusters: dict[tuple[str, ...], Any], order: list[tuple[str, ...]]) -> list[str]:
    """The DOT lines of ``clusters`` nested by their keys' prefixes, as ``parent.subgraph(child)`` from
    the deepest up would write them, but each line written once: graphviz copies a subgraph's lines
    into its parent, so nesting by it costs the square of the depth in lines (and the cube in bytes)."""
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for prefix in order:
        children.setdefault(prefix[:-1], []).append(prefix)
    lines: list[str] = []
    stack: list[tuple[tuple[str, ...], bool]] = [(prefix, True) for prefix in reversed(children.get((), []))]
    while stack:
        prefix, opening = stack.pop()
        indent = "\t" * len(prefix)
        if not opening:
            lines.append(indent + "}\n")
            continue
        *head, _ = clusters[prefix].__iter__(subgraph=True)  # its header, attributes and own nodes
        lines.extend(indent + line for line in head)
        stack.append((prefix, False))
        stack.extend((child, True) for child in reversed(children.get(prefix, [])))
    return lines


def build_dot(summary: Summary, options: DiagramOptions | None = None) -> Any:
    """The ``graphviz.Digraph`` of a summary."""
    options = options or DiagramOptions()
    if options.rankdir not in RANKDIRS:
        raise UsageError(f"rankdir must be TB or LR (or BT, RL); got {options.rankdir!r}")
    builder = _Builder(summary, options)
    if builder.level >= summary.max_depth and summary.max_depth > 1:
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

    try:  # the whole source at once: a dot that stops reading early still says why on stderr
        return graphviz.pipe("dot", fmt, dot.source.encode("utf-8"), quiet=True)
    except graphviz.ExecutableNotFound:
        raise RuntimeFailure(
            "drawing needs Graphviz's dot program: install the Debian package graphviz "
            "(apt-get install graphviz), or write .dot"
        ) from None
    except graphviz.CalledProcessError as error:
        message = (error.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise RuntimeFailure(f"dot failed: {message[-1] if message else error}") from None
