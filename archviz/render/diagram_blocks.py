"""What a residual block holds, as the paper's Table 1 writes it: its body's convolutions (kernel,
width, groups and width per group, stride where it downsamples), its expansion, and its shortcut.

Read from the block's layers in the graph (never from a preset's config), so a built preset, an
imported Keras model or any other source shows the same rows where its block's layers are known.
"""

from __future__ import annotations

from dataclasses import dataclass

from archviz.core.summary import LayerRecord
from archviz.render.diagram_views import Shortcut, shortcut_of

#: The ops drawn as a row of a block's inside, and the word each is written with ("" for a plain conv).
CONVS = {
    "conv1d": "",
    "conv2d": "",
    "conv3d": "",
    "depthwise_conv1d": "depthwise",
    "depthwise_conv2d": "depthwise",
    "separable_conv1d": "separable",
    "separable_conv2d": "separable",
}


@dataclass(frozen=True)
class Inside:
    """A block's inside: one row per conv of its body, its expansion (1: none) and its shortcut."""

    rows: tuple[str, ...] = ()
    expansion: int = 1
    shortcut: Shortcut | None = None

    @property
    def residual(self) -> bool:
        return self.shortcut is not None


def _size(value: object) -> str:
    sizes = (value,) if isinstance(value, int) else tuple(value) if isinstance(value, (tuple, list)) else ()
    return "x".join(str(v) for v in sizes)


def conv_row(record: LayerRecord, channels_in: int) -> str:
    """``3x3/2, 128, 32 groups of 4`` (``/2`` only where it strides): a conv as a row of Table 1."""
    attrs = record.attrs
    kernel = _size(attrs.get("kernel", ()))
    strides = attrs.get("strides", 1)
    stride = strides if isinstance(strides, int) else max(strides, default=1)
    width = record.output_shape[-1] if record.output_shape else 0
    word = CONVS[record.op]
    text = kernel + (f"/{stride}" if stride != 1 else "") + (f" {word}" if word else "") + f", {width}"
    groups = int(attrs.get("groups", 1))
    if groups > 1 and width:
        text += f", {groups} groups of {width // groups}"
    elif word == "depthwise" and channels_in > 1:
        text += ", one per channel"
    return text


def _branch(start: str, by_name: dict[str, LayerRecord], inside: set[str]) -> set[str]:
    """The block's layers that ``start`` depends on (``start`` included), within the block."""
    seen: set[str] = set()
    stack = [start] if start in inside else []
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(source for source in by_name[name].inputs if source in inside)
    return seen


def inside_of(records: list[LayerRecord], by_name: dict[str, LayerRecord]) -> Inside:
    """The inside of a block made of ``records`` (``by_name``: every layer of the model).

    The body is the branch into the block's last add with the most convs, less the layers the other
    branch (the shortcut) also depends on; a block with no add has all its convs as its body."""
    names = {r.name for r in records}
    order = {r.name: i for i, r in enumerate(records)}
    adds = [r for r in records if r.op in ("add", "scaled_add") and len(r.inputs) >= 2]
    body = names
    if adds:
        branches = [_branch(source, by_name, names) for source in adds[-1].inputs]
        counts = [sum(by_name[n].op in CONVS for n in branch) for branch in branches]
        main = counts.index(max(counts))
        others: set[str] = set().union(*(b for i, b in enumerate(branches) if i != main))
        body = branches[main] - others
    convs = sorted((by_name[n] for n in body if by_name[n].op in CONVS), key=lambda r: order[r.name])
    rows = []
    for record in convs:
        source = by_name.get(record.inputs[0]) if record.inputs else None
        rows.append(conv_row(record, source.output_shape[-1] if source and source.output_shape else 0))
    return Inside(tuple(rows), _expansion(convs, by_name), shortcut_of(records) if adds else None)


def _expansion(convs: list[LayerRecord], by_name: dict[str, LayerRecord]) -> int:
    """A bottleneck's (its last conv's width over its first's: 4 in ResNet-50) or an inverted
    residual's (its first conv's width over the block's input: 6 in MobileNetV2); 1 for neither."""
    if len(convs) < 3:
        return 1
    widths = [r.output_shape[-1] if r.output_shape else 0 for r in convs]
    first, last = widths[0], widths[-1]
    if first and last > first and last % first == 0:
        return last // first
    source = by_name.get(convs[0].inputs[0]) if convs[0].inputs else None
    channels = source.output_shape[-1] if source and source.output_shape else 0
    if channels and first > channels and first > last and first % channels == 0:
        return first // channels
    return 1


def side_branches(records: list[LayerRecord], by_name: dict[str, LayerRecord]) -> set[str]:
    """The layers of a block that are off its main path: every branch into its last merge (an add, or a
    concatenation) but the one with the most convs, less what that one depends on (a projection
    shortcut's conv and BN; a side tower). Drawn beside the main path, which runs straight."""
    names = {r.name for r in records}
    merges = [r for r in records if r.op in ("add", "scaled_add", "concat") and len(r.inputs) >= 2]
    if not merges:
        return set()
    branches = [_branch(source, by_name, names) for source in merges[-1].inputs]
    counts = [sum(by_name[n].op in CONVS for n in branch) for branch in branches]
    main = branches[counts.index(max(counts))]
    others: set[str] = set().union(*branches)
    return others - main
