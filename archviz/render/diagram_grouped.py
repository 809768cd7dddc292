"""The diagram at stage or block depth: one node per stage or per block, blocks inside their stages.

At block depth a residual block is drawn as the paper draws it: its body (a box listing its convs
as the rows of Table 1) and an add node (⊕); the shortcut leaves the block's input and joins the
add beside the body, dashed for an identity, bold and labelled for a projection, option A's zero
padding or a subsample. A part that is no block (the stem, the head, a post-norm) is one box too,
its layers as rows (:mod:`archviz.render.diagram_parts`). A stage's caption is a node of its own
beside its first block, so no edge runs through it. Drawn through the builder of :mod:`archviz.render.diagram`.
"""

from __future__ import annotations

from typing import Any

from archviz.render.diagram_blocks import Inside, inside_of
from archviz.render.diagram_parts import part_rows, parts_of
from archviz.render.diagram_style import FAMILY_STYLE, GROUP, SPINE_WEIGHT
from archviz.render.diagram_views import (
    block_records,
    blocks_per_group,
    collapse_runs,
    downsampling,
    plural,
    stage_caption,
)
from archviz.render.diagram_words import node_texts, numbers
from archviz.render.dot_text import html_label
from archviz.render.text import shape_text

#: The kinds of group that are never a block, whatever their depth.
_NOT_BLOCKS = frozenset({"input", "stem", "post", "post-activation", "head", "stage", "group"})


def draw_grouped(builder: Any) -> None:
    """One node per row of ``builder.level`` (runs of identical blocks folded with ``collapse``)."""
    summary, options, level = builder.summary, builder.options, builder.level
    parts = parts_of(summary) if level == 2 else set()
    rows = grouped_rows(summary, level, parts)
    runs = collapse_runs(rows) if options.collapse else [(row, [row]) for row in rows]
    members = block_records(summary, level)
    for part in parts:
        members[part] = [record for record in summary.records if record.key(1) == part]
    family_of = {record.name: record.family for record in summary.records}
    by_name = {record.name: record for record in summary.records}
    blocks_in = blocks_per_group(summary)
    stages = {row.name: row for row in summary.rows(1)}
    clusters: dict[str, Any] = {}
    firsts: dict[str, str] = {}  # each stage's first node, its caption beside it
    representative: dict[str, str] = {}
    insides: dict[str, tuple[Inside, int]] = {}
    for row, run in runs:
        for member in run:
            representative[member.name] = row.name
        kind = summary.groups.get(row.name, "")
        family = family_of.get(row.name, GROUP)  # a single layer keeps its colour; a group has its own
        fill, border, _ = FAMILY_STYLE[family]
        is_block = level == 2 and "." in row.name and bool(kind) and kind not in _NOT_BLOCKS
        title = row.name if len(run) == 1 else f"{run[0].name} … {run[-1].name.split('.')[-1]}"
        _, subtitle = node_texts(row.name.rsplit(".", 1)[-1], row.op, row.detail)
        if len(run) > 1:
            subtitle += f" ×{len(run)}"
        if kind == "stage" and row.name in blocks_in:
            subtitle += f", {plural(blocks_in[row.name], 'block')}"
        lines: list[str] = list(part_rows(members[row.name], by_name)) if row.name in parts else []
        if is_block:
            inside = inside_of(members[row.name], by_name)
            first_input = members[row.name][0].inputs
            stride = downsampling(by_name[first_input[0]].output_shape if first_input else None, row)
            if stride > 1:
                subtitle += f", downsamples /{stride}"
            lines += inside.rows
            if inside.expansion > 1:
                lines.append(f"expansion ×{inside.expansion}")
            if inside.residual:
                insides[row.name] = (inside, len(run))
        lines += [
            shape_text(row.output_shape),
            *numbers(run, options.macs, total_of=len(run) if is_block else 1),
        ]
        stage = row.name.split(".")[0] if "." in row.name else None
        target = builder.dot
        if level == 2 and stage is not None and stage in stages and summary.groups.get(stage) == "stage":
            if stage not in clusters:
                clusters[stage] = builder.cluster(stage, "", top=True)
                firsts[stage] = row.name
            target = clusters[stage]
        tooltip = f"{title}: {plural(sum(m.layers for m in run), 'layer')}"
        builder.node(target, row.name, html_label(title, subtitle, lines, fill, border), family, tooltip, spine=True)
        if row.name in insides:
            builder.add_node(target, row.name)
    for stage, cluster in clusters.items():
        builder.caption(cluster, stage, stage_caption(summary, stages[stage], blocks_in.get(stage, 0)), firsts[stage])
        builder.dot.subgraph(cluster)
    _grouped_edges(builder, representative, insides, parts)


def grouped_rows(summary: Any, level: int, parts: set[str] | None = None) -> list[Any]:
    """The rows drawn at ``level``: each of ``parts`` (by default, at block depth, every part that is no
    block: :func:`~archviz.render.diagram_parts.parts_of`) as its one row of depth 1, where its first layer is."""
    if parts is None:
        parts = parts_of(summary) if level == 2 else set()
    whole = {row.name: row for row in summary.rows(1) if row.name in parts}
    part_of = {record.key(level): record.key(1) for record in summary.records if record.key(1) in parts}
    rows, done = [], set()
    for row in summary.rows(level):
        part = part_of.get(row.name)
        if part is None:
            rows.append(row)
        elif part not in done:
            done.add(part)
            rows.append(whole[part])
    return rows


def _grouped_edges(
    builder: Any, representative: dict[str, str], insides: dict[str, tuple[Inside, int]], parts: set[str]
) -> None:
    """The main path between nodes (out of a block's add, into its body), then each residual block's
    body into its add and its shortcut from the block's input to its add."""
    summary, level = builder.summary, builder.level
    group_of = {r.name: r.key(1) if r.key(1) in parts else r.key(level) for r in summary.records}
    seen: dict[tuple[str, str], None] = {}  # in order
    for record in summary.records:
        for source in record.inputs:
            a = representative.get(group_of.get(source, source))
            b = representative.get(group_of[record.name])
            if a and b and a != b:
                seen.setdefault((a, b))
    entry: dict[str, str] = {}
    for a, b in seen:
        builder.edge(builder.exit_of(a), b, weight=SPINE_WEIGHT)
        entry.setdefault(b, a)
    for name, (inside, times) in insides.items():
        builder.edge(name, builder.exit_of(name), weight=SPINE_WEIGHT)
        if name in entry and inside.shortcut is not None:
            builder.shortcut_edge(builder.exit_of(entry[name]), builder.exit_of(name), inside.shortcut, times)
