"""The diagram at layer depth: every layer a node, blocks and stages clusters around their layers.

An identity shortcut is a dashed skip edge into the add, a projection its own 1x1 conv (and BN)
node on a bold edge, option A's zero padding a labelled node. Drawn through the builder of
:mod:`archviz.render.diagram`, which owns the node, edge and cluster attributes.
"""

from __future__ import annotations

from typing import Any

from archviz.render.diagram_blocks import side_branches
from archviz.render.diagram_style import (
    FAMILY_STYLE,
    GROUP,
    MAX_DRAWN_CLUSTERS,
    SHORTCUT_COLOR,
    SPINE_WEIGHT,
    DiagramTooLarge,
)
from archviz.render.diagram_views import blocks_per_group, fold_layer_runs, plural, shortcut_of, stage_caption
from archviz.render.diagram_words import node_texts, numbers
from archviz.render.dot_text import html_label
from archviz.render.text import shape_text


def draw_layers(builder: Any) -> None:
    """Every layer of ``builder.summary`` (runs of identical blocks folded with ``collapse``)."""
    summary, options = builder.summary, builder.options
    node_of, folded = fold_layer_runs(summary, options.collapse)
    stages = {row.name: row for row in summary.rows(1)}
    blocks_in = blocks_per_group(summary)
    records = [r for r in summary.records if node_of[r.name] == r.name]
    block_of = {r.name: r.path[:-1] for r in summary.records}  # the group a layer sits in
    side = _side_layers(summary, block_of)
    clusters: dict[tuple[str, ...], Any] = {}
    order: list[tuple[str, ...]] = []  # clusters for every group prefix (stage, block), in order
    lifted: dict[str, int] = {}  # a layer -> how many captions are stacked on the ranks above it
    # a group's captions sit beside its first layer on the main path (not its projection shortcut's conv)
    for record in [r for r in records if r.name not in side] + [r for r in records if r.name in side]:
        known = len(record.path) - 1
        while known >= 1 and record.path[:known] not in clusters:  # a known group's groups are known
            known -= 1
        for size in range(known + 1, len(record.path)):
            prefix = record.path[:size]
            name = ".".join(prefix)
            kind = summary.groups.get(name, "")
            if size == 1 and kind == "stage":
                caption = stage_caption(summary, stages[name], blocks_in.get(name, 0))
            else:
                caption = [name, kind if kind and kind not in ("group", name) else ""]
            clusters[prefix] = builder.cluster(name, "", top=size == 1)
            inner = size < len(record.path) - 1  # the first node sits in a cluster inside this one
            first = ".".join(record.path[: size + 1]) + "+caption" if inner else record.name
            builder.caption(clusters[prefix], name, caption, first, above=inner)
            lifted[record.name] = lifted.get(record.name, 0) + inner
            order.append(prefix)
        if len(clusters) > MAX_DRAWN_CLUSTERS:
            raise DiagramTooLarge(
                f"more than {MAX_DRAWN_CLUSTERS:,} groups to draw as clusters (dot would take "
                f"minutes): use a smaller --depth"
            )
    for record in records:
        fill, border, _ = FAMILY_STYLE[record.family]
        own = record.path[-1] if len(record.path) > 1 else record.name
        title, subtitle = node_texts(own, record.op, record.label())
        lines = [shape_text(record.output_shape), *numbers([record], options.macs)]
        if not record.counted:
            lines.append("FLOPs not counted")
        target = clusters[record.path[:-1]] if len(record.path) > 1 else builder.dot
        label = html_label(title, subtitle, lines, fill, border)
        builder.node(target, record.name, label, record.family, record.name, spine=record.name not in side)
    for key, (first, run) in folded.items():  # runs of identical blocks, one node each
        stage = clusters.get(tuple(key.split(".")[:1]), builder.dot)
        fill, border, _ = FAMILY_STYLE[GROUP]
        title = f"{run[0].name} … {run[-1].name.split('.')[-1]}"
        lines = [
            f"{plural(len(run), 'more block')} like {first.split('.')[-1]}",
            shape_text(run[-1].output_shape),
            *numbers(run, options.macs, total_of=len(run)),
        ]
        builder.node(
            stage,
            key,
            html_label(title, node_texts(title, run[0].op)[1] + f" ×{len(run)}", lines, fill, border),
            GROUP,
            f"{title}: folded, archviz diagram --depth layers without --collapse draws them",
            spine=True,
        )
    builder.dot.body.extend(_nested(clusters, order))
    _layer_edges(builder, node_of, block_of, side, lifted)


def _side_layers(summary: Any, block_of: dict[str, tuple[str, ...]]) -> set[str]:
    """The layers off the main path: each block's projection shortcut (or side branch)."""
    by_name = {r.name: r for r in summary.records}
    groups: dict[tuple[str, ...], list[Any]] = {}
    for record in summary.records:
        if block_of[record.name]:
            groups.setdefault(block_of[record.name], []).append(record)
    side: set[str] = set()
    for members in groups.values():
        side |= side_branches(members, by_name)
    return side


def _layer_edges(builder: Any, node_of: dict[str, str], block_of: dict, side: set[str], lifted: dict[str, int]) -> None:
    """Every edge between drawn layers. An edge into a layer with captions stacked above it spans their
    ranks too: a caption on the rank of the layer before would set its cluster beside that layer's
    cluster (two clusters sharing a rank sit side by side), and the main path would step sideways."""
    summary = builder.summary
    seen = set()
    for record in summary.records:
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
                        "weight": "0",
                    }
                elif source.endswith((".shortcut", ".shortcut_bn")):
                    block = [r for r in summary.records if r.path[:-1] == block_of[record.name]]
                    shortcut = shortcut_of(block)
                    attrs = {"style": "bold", "color": SHORTCUT_COLOR, "fontcolor": SHORTCUT_COLOR}
                    if shortcut is None or shortcut.kind in ("projection", "subsample"):  # else its node says it
                        attrs["label"] = " " + (shortcut.kind if shortcut else "shortcut")
            if not attrs and origin not in side and target not in side:
                attrs["weight"] = SPINE_WEIGHT  # along the main path: straight
            if lifted.get(target) and attrs.get("constraint") != "false":
                attrs["minlen"] = str(1 + lifted[target])
            builder.edge(origin, target, **attrs)


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
