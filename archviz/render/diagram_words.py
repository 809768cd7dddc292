"""The words of a diagram's nodes: an op in words, a title said once, numbers through the metric table.

>>> node_texts("input", "input")
('input', '')
>>> node_texts("layer2.block1.shortcut", "pad_shortcut", "option A: zero padding")
('layer2.block1.shortcut', 'option A: zero padding')
>>> node_texts("bn1", "batch_norm")
('bn1', 'batch norm')
>>> import archviz
>>> stage = archviz.analyze("resnet20").rows("stages")[2]
>>> numbers([stage], True)
['14.2 k params', '14.2 M MACs']
>>> caption_numbers(stage)
'14.2 k params, 14.2 M MACs'

"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archviz.core.metrics import NOT_COUNTED, Value, View, row_value, shown
from archviz.ops import OPS


def op_words(op: str, label: str = "") -> str:
    """An op in words, then its key attributes: ``conv2d 3x3/2, 128``, ``batch norm``,
    ``option A: zero padding`` (a group's kind, ``bottleneck``, as it is)."""
    known = OPS.get(op)
    word = known.word if known is not None and known.word is not None else op.replace("_", " ")
    return " ".join(part for part in (word, label) if part)


def node_texts(title: str, op: str, label: str = "") -> tuple[str, str]:
    """A node's title and subtitle, the subtitle dropped where it only repeats the title
    (``input``/``input``, ``add``/``add``, ``stem``/``stem``)."""
    subtitle = " ".join(op_words(op, label).split())
    return title, "" if subtitle == title or subtitle == title.rsplit(".", 1)[-1] else subtitle


def numbers(rows: Sequence[Any], macs_shown: bool, *, total_of: int = 1) -> list[str]:
    """The numbers of a node standing for ``rows`` (a layer, a group, or a run of blocks: their sum), each
    as the metric table reads and writes it (:attr:`View.DIAGRAM`): params, and MACs where asked for;
    a folded run's say they are its total."""
    lines = []
    for metric in shown(View.DIAGRAM):
        if metric.key == "macs" and not macs_shown:
            continue
        values = [row_value(metric, row) for row in rows]
        known = [value for value in values if value is not None]
        if len(known) < len(values):
            lines.append(f"{NOT_COUNTED} {metric.in_text}")
        elif sum(known):
            lines.append(f"{metric.short(Value(sum(known)))} {metric.in_text}")
    if lines and total_of > 1:
        lines.append(f"total of {total_of:,} blocks")
    return lines


def caption_numbers(row: Any) -> str:
    """``1.23 M params, 951 M MACs``: a stage's numbers in its caption, through the metric table."""
    parts = []
    for metric in shown(View.DIAGRAM):
        value = row_value(metric, row)
        parts.append(f"{metric.cell(value)} {metric.in_text}")
    return ", ".join(parts)


def title_numbers(summary: object) -> str:
    """``25.6 M params, 3.86 G MACs``: the model's totals, through the metric table."""
    parts = []
    for metric in shown(View.DIAGRAM):
        value = metric.value(summary)
        parts.append(f"{metric.short(value)} {metric.in_text}")
    return ", ".join(parts)
