"""Block designs compared at the same width: the paper's bottleneck arithmetic, and more.

A basic block (two 3x3 convs, C -> C) against a bottleneck (1x1 C -> C/4, 3x3, 1x1 C/4 -> C)
at the same input and output width, plus the ResNeXt grouped bottleneck and the
pre-activation blocks. Each block is built by the zoo's builder and counted by the rule
table, so the numbers are the ones ``archviz summary`` gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archviz.core.analysis import analyze_graph
from archviz.core.summary import LayerRecord, Summary
from archviz.errors import SpecError
from archviz.limits import check
from archviz.sources.zoo import BlockPlan, ResNetConfig
from archviz.sources.zoo.builder import block_graph
from archviz.sources.zoo.config import BlockType, ConvBias
from archviz.sources.zoo.plans import block_style, grouped_width


@dataclass(frozen=True)
class Conv:
    name: str
    kernel: tuple[int, int]
    in_channels: int
    out_channels: int
    groups: int
    weights: int
    macs: int

    @property
    def formula(self) -> str:
        """``3x3x256x256 = 589,824`` (grouped: ``3x3x(128/32)x128``)."""
        cin = f"({self.in_channels}/{self.groups})" if self.groups > 1 else str(self.in_channels)
        return f"{self.kernel[0]}x{self.kernel[1]}x{cin}x{self.out_channels}"


@dataclass(frozen=True)
class BlockCost:
    name: str
    description: str
    channels: int
    spatial: int
    convs: list[Conv] = field(default_factory=list)
    params_with_bn_and_bias: int = 0
    params_with_bn: int = 0
    macs: int = 0
    flops: int = 0

    @property
    def weights(self) -> int:
        """Convolution weights only: the paper's convention (no BN, no bias)."""
        return sum(conv.weights for conv in self.convs)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "channels": self.channels,
            "spatial": self.spatial,
            "weights": self.weights,
            "params_with_bn": self.params_with_bn,
            "params_with_bn_and_bias": self.params_with_bn_and_bias,
            "macs": self.macs,
            "flops": self.flops,
            "convs": [{"name": c.name, "formula": c.formula, "weights": c.weights, "macs": c.macs} for c in self.convs],
        }


def _cost(name: str, description: str, config: ResNetConfig, channels: int, mid: int, spatial: int) -> BlockCost:
    """A config's block from ``channels`` through ``mid`` back to ``channels``, with an identity shortcut."""
    graph = block_graph(_identity(config, channels, mid), spatial)
    with_bias = block_graph(_identity(config.replace(conv_bias="all"), channels, mid), spatial)
    summary, biased = analyze_graph(graph), analyze_graph(with_bias)
    shapes = {r.name: r.output_shape for r in summary.records}
    convs = [_conv(r, shapes) for r in summary.records if r.op == "conv2d"]
    return BlockCost(
        name,
        description,
        channels,
        spatial,
        convs,
        params_with_bn_and_bias=biased.params,
        params_with_bn=summary.params,
        macs=summary.macs,
        flops=summary.flops,
    )


def _conv(record: LayerRecord, shapes: dict) -> Conv:
    kernel = tuple(record.attrs["kernel"])
    groups = record.attrs.get("groups", 1)
    in_channels = shapes[record.inputs[0]][-1]
    return Conv(
        record.name.rsplit(".", 1)[-1],
        kernel,
        in_channels,
        record.attrs["filters"],
        groups,
        record.trainable_params,
        record.macs,
    )


_BASIC = ResNetConfig(name="basic", block=BlockType.BASIC, conv_bias=ConvBias.NONE)
_BOTTLENECK = ResNetConfig(name="bottleneck", block=BlockType.BOTTLENECK, conv_bias=ConvBias.NONE)


def _identity(config: ResNetConfig, channels: int, mid: int) -> BlockPlan:
    return BlockPlan(
        in_channels=channels,
        mid_width=mid,
        out_channels=channels,
        stride=1,
        shortcut="identity",
        style=block_style(config),
    )


def basic_and_bottleneck(channels: int, inner: int, spatial: int) -> tuple[BlockCost, BlockCost]:
    """The paper's comparison: two 3x3 convs C -> C against 1x1 C -> inner, 3x3, 1x1 inner -> C."""
    return (
        _cost("basic", f"basic block: two 3x3 convs, {channels} -> {channels}", _BASIC, channels, channels, spatial),
        _cost(
            "bottleneck",
            f"bottleneck: 1x1 {channels} -> {inner}, 3x3 {inner} -> {inner}, 1x1 {inner} -> {channels}",
            _BOTTLENECK,
            channels,
            inner,
            spatial,
        ),
    )


@dataclass(frozen=True)
class BlockComparison:
    """Block designs at one width: the basic block and the bottleneck first, then the variants."""

    costs: tuple[BlockCost, ...]

    @property
    def basic(self) -> BlockCost:
        return self.costs[0]

    @property
    def bottleneck(self) -> BlockCost:
        return self.costs[1]

    @property
    def ratio(self) -> dict[str, float]:
        """How many times the basic block's weights and MACs the bottleneck's are."""
        return {"weights": self.basic.weights / self.bottleneck.weights, "macs": self.basic.macs / self.bottleneck.macs}

    def to_dict(self) -> dict:
        return {
            "channels": self.basic.channels,
            "bottleneck_channels": self.bottleneck.convs[0].out_channels,
            "spatial": self.basic.spatial,
            "blocks": [cost.to_dict() for cost in self.costs],
            "basic_over_bottleneck": self.ratio,
        }


def compare(
    channels: int = 256,
    bottleneck_channels: int | None = None,
    spatial: int = 56,
    *,
    groups: int | None = None,
    width_per_group: int | None = None,
) -> BlockComparison:
    """Basic block, bottleneck, ResNeXt bottleneck and pre-activation blocks at ``channels`` wide.

    The ResNeXt block is 32x4d (32 groups, 4 channels per group per 64 inner channels) unless
    ``groups`` or ``width_per_group`` say otherwise; where the bottleneck is too narrow for 32x4d
    and neither is given, it keeps 32x4d's doubled inner width with fewer, wider groups."""
    check("channels", channels)
    check("spatial", spatial)
    inner = bottleneck_channels if bottleneck_channels is not None else channels // 4
    if inner < 1:
        raise SpecError(
            f"a bottleneck of {channels} channels has {channels} // 4 = 0 inner channels: "
            f"give --bottleneck-channels, or --channels 4 or more"
        )
    check("channels", inner, "bottleneck channels")
    if groups is None and width_per_group is None and inner * 4 < 64:
        groups = 32
        while groups > 1 and (2 * inner) % groups:
            groups //= 2
        width_per_group = 128 // groups
    groups = check("groups", 32 if groups is None else groups)
    width_per_group = check("width_per_group", 4 if width_per_group is None else width_per_group)
    grouped = grouped_width(inner, groups, width_per_group)
    if grouped < groups:
        raise SpecError(
            f"a grouped bottleneck at {inner} channels with {width_per_group} per group is empty: "
            f"raise --width-per-group or --bottleneck-channels"
        )
    resnext = _BOTTLENECK.replace(name="resnext", groups=groups, width_per_group=width_per_group)
    return BlockComparison(
        (
            *basic_and_bottleneck(channels, inner, spatial),
            _cost(
                "resnext",
                f"ResNeXt bottleneck: 1x1 {channels} -> {grouped}, 3x3 in {groups} groups, 1x1 {grouped} -> {channels}",
                resnext,
                channels,
                grouped,
                spatial,
            ),
            _cost(
                "preact-basic",
                "pre-activation basic block: BN-ReLU-conv twice (no BN after the last conv)",
                _BASIC.replace(name="preact-basic", preact=True),
                channels,
                channels,
                spatial,
            ),
            _cost(
                "preact-bottleneck",
                "pre-activation bottleneck: BN-ReLU before each conv",
                _BOTTLENECK.replace(name="preact-bottleneck", preact=True),
                channels,
                inner,
                spatial,
            ),
        )
    )


#: The narrowest bottleneck the report compares against: 16 channels, the inner width of the CIFAR
#: bottleneck (ResNet-164's first stage, 64 -> 16 -> 64); below it (ResNet-1202's 16-channel stage
#: against a bottleneck of 4) the comparison describes a design nobody builds.
MIN_BOTTLENECK = 16


def block_kind(records: list[LayerRecord]) -> str | None:
    """``basic`` (two 3x3 convs, and perhaps a 1x1 projection), ``bottleneck`` (one spatial conv between
    1x1 convs) or None (any other block: depthwise, a 5x5, a single conv), from a block's convolutions."""
    convs = [record for record in records if record.op.startswith(("conv", "depthwise", "separable"))]
    if any(record.op != "conv2d" for record in convs):
        return None
    kernels = [tuple(record.attrs.get("kernel", ())) for record in convs]
    spatial = [kernel for kernel in kernels if kernel != (1, 1)]
    pointwise = len(kernels) - len(spatial)
    if spatial == [(3, 3), (3, 3)] and pointwise <= 1:
        return "basic"
    if len(spatial) == 1 and spatial[0] == (3, 3) and pointwise in (2, 3):
        return "bottleneck"
    return None


def residual_blocks(summary: Summary) -> dict[str, str | None]:
    """Each block of the model's residual stages and its kind (:func:`block_kind`)."""
    members: dict[str, list[LayerRecord]] = {}
    for record in summary.records:
        if len(record.path) >= 3 and summary.groups.get(record.path[0]) == "stage":
            members.setdefault(record.key(2), []).append(record)
    return {name: block_kind(records) for name, records in members.items()}


def stage_comparison(summary: Summary) -> list[dict[str, Any]]:
    """For each residual stage of a model made of basic blocks or bottlenecks: a basic block and a
    bottleneck at that stage's width and resolution (for the report); MACs are None where the model
    leaves its input size open. Nothing for a model of other blocks (MobileNetV2's inverted residuals),
    and no stage where the bottleneck would be narrower than :data:`MIN_BOTTLENECK`."""
    kinds = residual_blocks(summary)
    if not kinds or None in kinds.values():
        return []
    rows = []
    for stage in summary.stage_rows():
        shape = stage.output_shape
        if len(shape) != 3:
            continue
        height, width, channels = shape
        if channels // 4 < MIN_BOTTLENECK:
            continue
        sized = height > 0 and width > 0  # an open input size leaves the MACs unknown, not the weights
        basic, bottleneck = basic_and_bottleneck(channels, channels // 4, height if sized else 1)
        rows.append(
            {
                "stage": stage.name,
                "channels": channels,
                "bottleneck_channels": channels // 4,
                "spatial": f"{height}x{width}" if sized else "?x?",
                "basic_weights": basic.weights,
                "bottleneck_weights": bottleneck.weights,
                "basic_macs": basic.macs if sized else None,
                "bottleneck_macs": bottleneck.macs if sized else None,
                "ratio": basic.weights / bottleneck.weights,
            }
        )
    return rows
