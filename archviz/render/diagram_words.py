"""The words of a diagram's nodes: an op in words, a title said once, numbers through the metric table.

>>> node_texts("input", "input")
('input', '')
>>> node_texts("layer2.block1.shortcut", "pad_shortcut", "option A: zero padding")
('layer2.block1.shortcut', 'option A: zero padding')
>>> node_texts("bn1", "batch_norm")
('bn1', 'batch norm')
>>> numbers(213_504, 0, True, total_of=3)
['214 k params', 'total of 3 blocks']
"""

from __future__ import annotations

from archviz.core.metrics import Value, View, shown
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


def numbers(params: int | None, macs: int | None, macs_shown: bool, *, total_of: int = 1) -> list[str]:
    """A node's numbers, as the metric table writes them (:attr:`View.DIAGRAM`): its params, and its MACs
    where asked for; a folded run's say they are its total."""
    values = {"params": params, "macs": macs}
    lines = []
    for metric in shown(View.DIAGRAM):
        number = values.get(metric.key)
        if not number or (metric.key == "macs" and not macs_shown):
            continue
        lines.append(f"{metric.short(Value(number))} {metric.in_text}")
    if lines and total_of > 1:
        lines.append(f"total of {total_of:,} blocks")
    return lines


def title_numbers(summary: object) -> str:
    """``25.6 M params, 3.86 G MACs``: the model's totals, through the metric table."""
    parts = []
    for metric in shown(View.DIAGRAM):
        value = metric.value(summary)
        parts.append(f"{metric.short(value)} {metric.in_text}")
    return ", ".join(parts)
