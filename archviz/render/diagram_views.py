"""What a diagram shows of a summary: residual blocks with their shortcuts, runs of identical
blocks, stage captions and the key of colours. Pure functions of the summary; the drawing is
:mod:`archviz.render.diagram`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from archviz.core.summary import LayerRecord, Row, Summary
from archviz.render.diagram_words import caption_numbers
from archviz.render.text import shape_text


@dataclass(frozen=True)
class Shortcut:
    """How a residual block's input reaches its add: ``identity`` (dashed), or a ``projection``, option
    A's zero padding or a ``subsample`` (solid), with the key attributes of what does it."""

    kind: str
    detail: str = ""

    @property
    def text(self) -> str:
        return f"{self.detail} {self.kind}".strip()


_SHORTCUT_OPS = {"conv2d": "projection", "pad_shortcut": "option A: zero padding", "max_pool2d": "subsample"}


def shortcut_of(records: list[LayerRecord]) -> Shortcut | None:
    """The shortcut of a block made of ``records``: the zoo's ``shortcut`` layer, or else an add fed
    from outside the block (identity), or a second way into the block that ends in the add."""
    inside = {r.name for r in records}
    named = next((r for r in records if r.path[-1] == "shortcut"), None)
    if named is not None:
        kind = _SHORTCUT_OPS.get(named.op, "projection")
        return Shortcut(kind, "" if named.op == "pad_shortcut" else named.label())
    adds = [r for r in records if r.op == "add"]
    if not adds:
        return None
    if any(source not in inside for source in adds[-1].inputs):
        return Shortcut("identity")
    entries = [r for r in records if any(source not in inside for source in r.inputs)]
    if len(entries) > 1:
        return Shortcut("projection", entries[-1].label())
    return None


def block_records(summary: Summary, level: int) -> dict[str, list[LayerRecord]]:
    """The records of each row at ``level``, by the row's name."""
    members: dict[str, list[LayerRecord]] = {}
    for record in summary.records:
        members.setdefault(record.key(level), []).append(record)
    return members


def downsampling(row_input: tuple[int, ...] | None, row: Row) -> int:
    """By how much a block shrinks its input (1: not at all)."""
    if not row_input or len(row_input) != 3 or len(row.output_shape) != 3 or row.output_shape[0] < 1:
        return 1
    return max(1, row_input[0] // row.output_shape[0])


def _signature(row: Row) -> tuple:
    return row.name.rsplit(".", 1)[0], row.op, row.output_shape, row.params, row.macs, row.layers


def collapse_runs(rows: list[Row]) -> list[tuple[Row, list[Row]]]:
    """Fold runs of identical consecutive blocks (same parent, kind, shape, params and MACs)."""
    result: list[tuple[Row, list[Row]]] = []
    for row in rows:
        if result and "." in row.name and _signature(result[-1][1][-1]) == _signature(row):
            result[-1][1].append(row)
        else:
            result.append((row, [row]))
    return result


def fold_layer_runs(summary: Summary, collapse: bool) -> tuple[dict[str, str], dict[str, tuple[str, list[Row]]]]:
    """The node each layer is drawn as (itself, or with ``collapse`` the one node standing for a run of
    identical blocks after its first), and those run nodes: {node: (the first block's name, its rows)}."""
    node_of = {record.name: record.name for record in summary.records}
    folded: dict[str, tuple[str, list[Row]]] = {}
    if collapse and summary.max_depth >= 3:
        runs = {member.name: (row, run) for row, run in collapse_runs(summary.rows(2)) for member in run[1:]}
        for record in summary.records:
            if record.key(2) in runs:
                row, run = runs[record.key(2)]
                key = f"{run[1].name}+{len(run) - 1}"
                folded[key] = (row.name, run[1:])
                node_of[record.name] = key
    return node_of, folded


def stage_caption(summary: Summary, stage: Row, blocks: int) -> list[str]:
    """``layer2``, then ``4 blocks``, ``28x28x512``, ``1.22 M params, 1.04 G MACs``: a stage's caption."""
    return [stage.name, plural(blocks, "block"), shape_text(stage.output_shape), caption_numbers(stage)]


def blocks_per_group(summary: Summary) -> dict[str, int]:
    """How many blocks each stage holds."""
    blocks: dict[str, set[str]] = {}
    for record in summary.records:
        if len(record.path) > 2:
            blocks.setdefault(record.key(1), set()).add(record.key(2))
    return {stage: len(names) for stage, names in blocks.items()}


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")
