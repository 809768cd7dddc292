"""A config resolved into plans: for each part of a network, everything its layers depend on.

:func:`plan` turns a :class:`ResNetConfig` into one :class:`BlockPlan` per residual block, stage
by stage; :func:`stem_plan` and :func:`tail_plan` resolve the layers before the first block and
after the last one. A plan holds resolved values (scaled widths, the shortcut's kind, the
classifier's units), and the builder's emitters read plans only, never the config: a part's
layers are a function of its plan and of the input it is given, so a choice a part depends on
has to be a field of its plan. That makes the plan the cache key of a part's cost
(:func:`archviz.studies.fit.cost_by_parts`). A block's name comes from its place in the network
(``layer2.block1``), not from its plan, so equal blocks at different places share a key.

Plans are named tuples rather than frozen dataclasses because they are keys: ``fit`` looks one
up for every block of every candidate, and a tuple hashes and compares in C (a dataclass's
``__hash__`` and ``__eq__`` are Python functions, a third slower over a search).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from archviz.datarecord import RecordTuple
from archviz.errors import SpecError
from archviz.limits import check
from archviz.sources.zoo.config import BlockType, ConvBias, HeadLayer, Padding, ResNetConfig


class LayerStyle(RecordTuple):
    """How convolutions and batch norms are written: padding style, which convolutions carry a
    bias (``unnormalized``: those not followed by a batch norm), and the batch norms' epsilon."""

    padding: Padding
    conv_bias: ConvBias
    bn_epsilon: float


class BlockStyle(RecordTuple):
    """The design every block of a network shares: block type, where the stride and the
    normalizations go, the 3x3's groups, dropout, and the conventions of its layers."""

    block: BlockType
    preact: bool
    groups: int
    stride_on: str  # the bottleneck's conv that carries the stride: first (1x1) or middle (3x3)
    projection_bn: bool
    dropout: float
    layers: LayerStyle


class BlockPlan(RecordTuple):
    """One residual block, resolved: what goes in, what comes out, how the shortcut is made."""

    in_channels: int
    mid_width: int
    out_channels: int
    stride: int
    shortcut: str  # identity, projection, zero_pad, max_pool, none
    style: BlockStyle


class StemPlan(RecordTuple):
    """The input and the stem: convolution widths (scaled), the first one's kernel and stride, the pool."""

    input_shape: tuple[int, int, int]
    widths: tuple[int, ...]
    kernel: int
    stride: int
    pool: bool
    pool_padding: bool
    norm: bool
    layers: LayerStyle  # with the stem's own padding


class TailPlan(RecordTuple):
    """What follows the last block: the final norm, then the head's layers (none without a top),
    dense layers resolved (``units`` set, the classifier's activation on the last one)."""

    final_norm: bool
    bn_epsilon: float
    head: tuple[HeadLayer, ...]


def scaled(width: int, multiplier: float) -> int:
    return max(1, int(round(width * multiplier)))


def grouped_width(planes: int, groups: int, width_per_group: int) -> int:
    """A bottleneck's inner width: ``planes`` scaled by ``width_per_group / 64``, per group, times the
    groups (torchvision's rule: ResNet 64 per group x 1 group, ResNeXt-50 32x4d, Wide ResNet 128)."""
    return int(planes * (width_per_group / 64.0)) * groups


def _layer_style(config: ResNetConfig, padding: Padding) -> LayerStyle:
    return LayerStyle(padding=padding, conv_bias=config.conv_bias, bn_epsilon=config.bn_epsilon)


def block_style(config: ResNetConfig) -> BlockStyle:
    """The style of a config's blocks."""
    return BlockStyle(
        block=config.block,
        preact=config.preact,
        groups=config.groups,
        stride_on=config.stride_on,
        projection_bn=config.projection_bn,
        dropout=config.dropout,
        layers=_layer_style(config, config.padding),
    )


def stem_plan(config: ResNetConfig) -> StemPlan:
    """Resolve the input and the stem."""
    stem = config.stem
    widths = tuple(scaled(width, config.width_multiplier) for width in stem.widths)
    for width in widths:
        check("channels", width, "stem width")
    return StemPlan(
        input_shape=config.input_shape,
        widths=widths,
        kernel=stem.kernel,
        stride=stem.stride,
        pool=stem.pool,
        pool_padding=stem.pool_padding,
        norm=stem.norm,
        layers=_layer_style(config, stem.padding),
    )


def tail_plan(config: ResNetConfig) -> TailPlan:
    """Resolve the final norm and the head."""
    head = config.head if config.include_top else ()
    last_dense = max((i for i, layer in enumerate(head) if layer.op == "dense"), default=-1)
    resolved = []
    for position, layer in enumerate(head):
        if layer.op == "dense" and layer.units is None:
            layer = replace(layer, units=config.classes)
        if position == last_dense and layer.activation is None:
            layer = replace(layer, activation=config.classifier_activation)
        resolved.append(layer)
    return TailPlan(final_norm=config.has_final_norm, bn_epsilon=config.bn_epsilon, head=tuple(resolved))


def _shortcut_kind(config: ResNetConfig, option: str, in_channels: int, out_channels: int, stride: int) -> str:
    changes_shape = in_channels != out_channels or stride != 1
    if option == "none":
        return "none"
    if option == "C":
        return "projection"
    if not changes_shape:
        return "identity"
    if option == "A":
        if out_channels < in_channels:
            raise SpecError("shortcut option A (zero padding) cannot reduce the number of channels")
        return "zero_pad"
    if in_channels == out_channels and config.subsample == "max_pool":
        return "max_pool"
    return "projection"


def plan(config: ResNetConfig) -> list[list[BlockPlan]]:
    """Resolve a config into its blocks, stage by stage, applying the overrides. The block at
    ``[s][i]`` is named ``layer{s + 1}.block{i + 1}``; the first one takes the stem's output."""
    style = block_style(config)
    stages: list[list[BlockPlan]] = []
    channels = stem_plan(config).widths[-1]
    for stage_number, (count, width, stage_stride) in enumerate(zip(config.layers, config.widths, config.strides), 1):
        planes = scaled(width, config.width_multiplier)
        if config.block == "bottleneck":
            mid = grouped_width(planes, config.groups, config.width_per_group)
        else:
            mid = planes
        out = planes * config.block_expansion
        stride_block = 1 if config.downsample_at == "first" else count
        blocks = []
        for index in range(1, count + 1):
            fields: dict[str, Any] = {
                "mid_width": mid,
                "out_width": out,
                "stride": stage_stride if index == stride_block else 1,
                "shortcut": config.shortcut,
            }
            for override in config.overrides:
                if override.stage == stage_number and override.block in (None, index):
                    fields.update({k: getattr(override, k) for k in fields if getattr(override, k) is not None})
            if config.block == "bottleneck" and fields["mid_width"] % config.groups:
                raise SpecError(
                    f"layer{stage_number}.block{index}: bottleneck width {fields['mid_width']} "
                    f"is not divisible by groups={config.groups}"
                )
            for key in ("mid_width", "out_width"):
                check("channels", fields[key], f"layer{stage_number}.block{index} {key.replace('_', ' ')}")
            kind = _shortcut_kind(config, fields["shortcut"], channels, fields["out_width"], fields["stride"])
            blocks.append(
                BlockPlan(
                    in_channels=channels,
                    mid_width=fields["mid_width"],
                    out_channels=fields["out_width"],
                    stride=fields["stride"],
                    shortcut=kind,
                    style=style,
                )
            )
            channels = fields["out_width"]
        stages.append(blocks)
    return stages
