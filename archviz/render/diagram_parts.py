"""What a part of a network that is not a block holds (its stem, its head, a pre-activation model's
post-norm), as the paper's Table 1 writes it: one row per layer, in the words the block boxes use.

``conv1: 7x7, 64, stride 2`` and ``3x3 max pool, stride 2`` are ``7x7/2, 64``, ``batch norm, relu`` and
``3x3/2 max pool``; ``average pool, 1000-d fc, softmax`` is ``global average pool`` and ``fc, 1000``.
An activation joins the row before it; padding and reshapes (part of the layer they serve) have no row.
Read from the graph's groups, so a preset, an imported Keras model or an ONNX file show the same.

>>> import archviz
>>> summary = archviz.analyze("resnet50")
>>> sorted(parts_of(summary))
['head', 'stem']
>>> part_rows([r for r in summary.records if r.key(1) == "stem"], {r.name: r for r in summary.records})
('7x7/2, 64', 'batch norm, relu', '3x3/2 max pool')
>>> part_rows([r for r in summary.records if r.key(1) == "head"], {r.name: r for r in summary.records})
('global average pool', 'fc, 1000')
"""

from __future__ import annotations

from archviz.core.summary import LayerRecord, Summary
from archviz.ops import Family
from archviz.render.diagram_blocks import CONVS, conv_row
from archviz.render.diagram_words import op_words

#: Layers with no row of their own: a conv's or a pool's explicit padding, and reshapes that only
#: change how the same numbers are laid out (a flatten after a global pool).
_SILENT = frozenset(
    {"zero_pad1d", "zero_pad2d", "zero_pad3d", "pad", "flatten", "reshape", "squeeze", "expand_dims", "identity"}
)
#: The most rows a part's box lists; the rest are counted in one more row.
MAX_ROWS = 10


def parts_of(summary: Summary) -> set[str]:
    """The top-level groups drawn as one box at block depth: every group but a stage whose layers sit
    directly in it (no block inside), as a stem, a head or a post-norm."""
    tops: dict[str, bool] = {}  # a top-level group -> whether all its layers sit directly in it
    for record in summary.records:
        top = record.path[0]
        tops[top] = tops.get(top, True) and len(record.path) == 2  # a layer of the group's name: not a part
    return {top for top, flat in tops.items() if flat and summary.groups.get(top, "group") != "stage"}


def _words(record: LayerRecord, channels_in: int) -> str:
    attrs, op = record.attrs, record.op
    if op in CONVS:
        return conv_row(record, channels_in)
    if op == "activation":
        return record.label() or "activation"
    if op.startswith(("max_pool", "avg_pool")):
        kind = "max pool" if op.startswith("max") else "average pool"
        return f"{record.label()} {kind}".strip()
    if op.startswith(("global_avg_pool", "global_max_pool")):
        return "global average pool" if "avg" in op else "global max pool"
    if op == "dense":
        activation = attrs.get("activation")
        return f"fc, {attrs.get('units', '?')}" + (f", {activation}" if activation and activation != "linear" else "")
    if op == "dropout":
        return f"dropout {attrs.get('rate', 0)}"
    return " ".join(op_words(op, record.label()).split())


def part_rows(records: list[LayerRecord], by_name: dict[str, LayerRecord]) -> tuple[str, ...]:
    """The rows of a part made of ``records`` (``by_name``: every layer of the model), in order; at most
    :data:`MAX_ROWS`, the last then saying how many layers it leaves out."""
    rows: list[str] = []
    for record in records:
        if record.op in _SILENT:
            continue
        source = by_name.get(record.inputs[0]) if record.inputs else None
        text = _words(record, source.output_shape[-1] if source and source.output_shape else 0)
        if record.family == Family.ACTIVATION and rows:
            rows[-1] += f", {text}"
        else:
            rows.append(text)
    if len(rows) > MAX_ROWS:
        rest = len(rows) - MAX_ROWS + 1
        rows[MAX_ROWS - 1 :] = [f"… {rest} more rows"]
    return tuple(rows)
