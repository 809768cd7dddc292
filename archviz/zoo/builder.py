"""The one builder: a :class:`ResNetConfig` in, a :class:`Graph` out.

Names follow torchvision's hierarchy with 1-based blocks: ``stem.conv1``,
``layer2.block1.conv1``, ``layer2.block1.shortcut``, ``post.bn``, ``head.fc``.
Building happens in two steps: :func:`plan` resolves the config into one
:class:`BlockPlan` per residual block (widths, stride, shortcut kind), then
:func:`build` emits the layers of every block.
"""

from __future__ import annotations

from dataclasses import dataclass

from archviz.errors import SpecError
from archviz.graph import Graph
from archviz.limits import check
from archviz.zoo.config import HeadLayer, ResNetConfig


@dataclass(frozen=True)
class BlockPlan:
    """One residual block, resolved: what goes in, what comes out, and how the shortcut is made."""

    stage: int
    index: int
    in_channels: int
    mid_width: int
    out_channels: int
    stride: int
    shortcut: str  # identity, projection, zero_pad, max_pool, none

    @property
    def name(self) -> str:
        return f"layer{self.stage}.block{self.index}"


def scaled(width: int, multiplier: float) -> int:
    return max(1, int(round(width * multiplier)))


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
    """Resolve a config into its blocks, stage by stage, applying the overrides."""
    stages: list[list[BlockPlan]] = []
    for width in config.stem.widths:
        check("channels", scaled(width, config.width_multiplier), "stem width")
    channels = scaled(config.stem.widths[-1], config.width_multiplier)
    for stage_number, (count, width, stage_stride) in enumerate(zip(config.layers, config.widths, config.strides), 1):
        planes = scaled(width, config.width_multiplier)
        if config.block == "bottleneck":
            mid = int(planes * (config.width_per_group / 64.0)) * config.groups
        else:
            mid = planes
        out = planes * config.block_expansion
        stride_block = 1 if config.downsample_at == "first" else count
        blocks = []
        for index in range(1, count + 1):
            fields = {"mid_width": mid, "out_width": out, "stride": stage_stride if index == stride_block else 1,
                      "shortcut": config.shortcut}
            for override in config.overrides:
                if override.stage == stage_number and override.block in (None, index):
                    fields.update({k: getattr(override, k) for k in fields if getattr(override, k) is not None})
            if config.block == "bottleneck" and fields["mid_width"] % config.groups:
                raise SpecError(f"layer{stage_number}.block{index}: bottleneck width {fields['mid_width']} "
                                f"is not divisible by groups={config.groups}")
            for key in ("mid_width", "out_width"):
                check("channels", fields[key], f"layer{stage_number}.block{index} {key.replace('_', ' ')}")
            kind = _shortcut_kind(config, fields["shortcut"], channels, fields["out_width"], fields["stride"])
            blocks.append(BlockPlan(stage_number, index, channels, fields["mid_width"], fields["out_width"],
                                    fields["stride"], kind))
            channels = fields["out_width"]
        stages.append(blocks)
    return stages


class _Emitter:
    """Adds conv / norm / activation layers to a graph, following the config's conventions."""

    def __init__(self, graph: Graph, config: ResNetConfig) -> None:
        self.graph = graph
        self.config = config

    def bias(self, normalized: bool) -> bool:
        mode = self.config.conv_bias
        return mode == "all" or (mode == "unnormalized" and not normalized)

    def conv(self, name: str, x: str, filters: int, kernel: int, stride: int = 1, *, normalized: bool,
             padding: str | None = None, groups: int = 1) -> str:
        style = padding or self.config.padding
        pad = kernel // 2
        if kernel == 1 or pad == 0:
            conv_padding: object = "valid"
        elif style == "same":
            conv_padding = "same"
        elif style == "explicit":
            conv_padding = ((pad, pad), (pad, pad))
        else:  # zeropad: a ZeroPadding2D layer, then a valid convolution (keras.applications)
            x = self.graph.add(f"{name}_pad", "zero_pad2d", x, padding=((pad, pad), (pad, pad)))
            conv_padding = "valid"
        attrs = {"filters": filters, "kernel": (kernel, kernel), "strides": (stride, stride),
                 "padding": conv_padding, "use_bias": self.bias(normalized)}
        if groups != 1:
            attrs["groups"] = groups
        return self.graph.add(name, "conv2d", x, **attrs)

    def bn(self, name: str, x: str) -> str:
        return self.graph.add(name, "batch_norm", x, epsilon=self.config.bn_epsilon)

    def relu(self, name: str, x: str) -> str:
        return self.graph.add(name, "activation", x, fn="relu")

    def conv_bn_relu(self, prefix: str, suffix: str, x: str, filters: int, kernel: int, stride: int = 1, *,
                     relu: bool = True, padding: str | None = None, groups: int = 1) -> str:
        x = self.conv(f"{prefix}.conv{suffix}", x, filters, kernel, stride, normalized=True, padding=padding,
                      groups=groups)
        x = self.bn(f"{prefix}.bn{suffix}", x)
        return self.relu(f"{prefix}.relu{suffix}", x) if relu else x


def _stem(emit: _Emitter, x: str) -> str:
    config, stem = emit.config, emit.config.stem
    for index, width in enumerate(stem.widths, 1):
        stride = stem.stride if index == 1 else 1
        filters = scaled(width, config.width_multiplier)
        if stem.norm:
            x = emit.conv_bn_relu("stem", str(index), x, filters, stem.kernel, stride, padding=stem.padding)
        else:
            x = emit.conv(f"stem.conv{index}", x, filters, stem.kernel, stride, normalized=False, padding=stem.padding)
    if stem.pool:
        pool = {"pool": (3, 3), "strides": (2, 2)}
        if not stem.pool_padding:
            pool["padding"] = "valid"
        elif stem.padding == "same":
            pool["padding"] = "same"
        elif stem.padding == "explicit":
            pool["padding"] = ((1, 1), (1, 1))
        else:
            x = emit.graph.add("stem.pool_pad", "zero_pad2d", x, padding=((1, 1), (1, 1)))
            pool["padding"] = "valid"
        x = emit.graph.add("stem.pool", "max_pool2d", x, **pool)
    return x


def _shortcut(emit: _Emitter, block: BlockPlan, x: str, preactivated: str) -> str | None:
    prefix = block.name
    if block.shortcut == "identity":
        return x
    if block.shortcut == "none":
        return None
    if block.shortcut == "zero_pad":
        return emit.graph.add(f"{prefix}.shortcut", "pad_shortcut", x, strides=block.stride,
                              channels=block.out_channels)
    if block.shortcut == "max_pool":
        return emit.graph.add(f"{prefix}.shortcut", "max_pool2d", x, pool=(1, 1),
                              strides=(block.stride, block.stride), padding="valid")
    source = preactivated if emit.config.preact else x
    with_bn = emit.config.projection_bn and not emit.config.preact
    y = emit.conv(f"{prefix}.shortcut", source, block.out_channels, 1, block.stride, normalized=with_bn)
    if with_bn:
        y = emit.bn(f"{prefix}.shortcut_bn", y)
    return y


def _block(emit: _Emitter, block: BlockPlan, x: str) -> str:
    config, p = emit.config, block.name
    preactivated = x
    if config.preact:
        preactivated = emit.relu(f"{p}.preact_relu", emit.bn(f"{p}.preact_bn", x))
    shortcut = _shortcut(emit, block, x, preactivated)
    y = preactivated
    if config.block == "basic":
        y = emit.conv_bn_relu(p, "1", y, block.mid_width, 3, block.stride)
        if config.dropout:
            y = emit.graph.add(f"{p}.dropout", "dropout", y, rate=config.dropout)
        if config.preact:
            y = emit.conv(f"{p}.conv2", y, block.out_channels, 3, normalized=False)
        else:
            y = emit.conv_bn_relu(p, "2", y, block.out_channels, 3, relu=False)
    else:
        first_stride = block.stride if config.stride_on == "first" else 1
        middle_stride = block.stride if config.stride_on == "middle" else 1
        y = emit.conv_bn_relu(p, "1", y, block.mid_width, 1, first_stride)
        y = emit.conv_bn_relu(p, "2", y, block.mid_width, 3, middle_stride, groups=config.groups)
        if config.dropout:
            y = emit.graph.add(f"{p}.dropout", "dropout", y, rate=config.dropout)
        if config.preact:
            y = emit.conv(f"{p}.conv3", y, block.out_channels, 1, normalized=False)
        else:
            y = emit.conv_bn_relu(p, "3", y, block.out_channels, 1, relu=False)
    if shortcut is not None:
        y = emit.graph.add(f"{p}.add", "add", (y, shortcut))
    if not config.preact:
        y = emit.relu(f"{p}.relu", y)
    return y


_HEAD_OPS = {
    "global_avg_pool": ("pool", "global_avg_pool2d"),
    "global_max_pool": ("pool", "global_max_pool2d"),
    "avg_pool": ("pool", "avg_pool2d"),
    "max_pool": ("pool", "max_pool2d"),
    "flatten": ("flatten", "flatten"),
    "dense": ("fc", "dense"),
    "dropout": ("dropout", "dropout"),
}


def _head(emit: _Emitter, x: str) -> str:
    config = emit.config
    counts: dict[str, int] = {}
    for layer in config.head:
        counts[_HEAD_OPS[layer.op][0]] = counts.get(_HEAD_OPS[layer.op][0], 0) + 1
    seen: dict[str, int] = {}
    last_dense = max((i for i, layer in enumerate(config.head) if layer.op == "dense"), default=-1)
    for position, layer in enumerate(config.head):
        stem_name, op = _HEAD_OPS[layer.op]
        seen[stem_name] = seen.get(stem_name, 0) + 1
        name = f"head.{stem_name}" + (str(seen[stem_name]) if counts[stem_name] > 1 else "")
        x = emit.graph.add(name, op, x, **_head_attrs(config, layer, position == last_dense))
    return x


def _head_attrs(config: ResNetConfig, layer: HeadLayer, is_classifier: bool) -> dict:
    if layer.op == "dense":
        activation = layer.activation
        if activation is None and is_classifier:
            activation = config.classifier_activation
        attrs = {"units": layer.units if layer.units is not None else config.classes, "use_bias": True}
        if activation not in (None, "linear"):
            attrs["activation"] = activation
        return attrs
    if layer.op in ("avg_pool", "max_pool"):
        return {"pool": (layer.pool, layer.pool), "strides": (layer.pool, layer.pool), "padding": "valid"}
    if layer.op == "dropout":
        return {"rate": layer.rate}
    return {}


def _group_kinds(config: ResNetConfig, stages: list[list[BlockPlan]]) -> dict[str, str]:
    kind = ("pre-activation " if config.preact else "") + ("bottleneck" if config.block == "bottleneck" else "basic block")
    if config.shortcut == "none":
        kind = "plain " + ("bottleneck" if config.block == "bottleneck" else "block")
    groups = {"input": "input", "stem": "stem"}
    for stage in stages:
        groups[f"layer{stage[0].stage}"] = "stage"
        for block in stage:
            groups[block.name] = kind
    groups["post"] = "post-activation"
    groups["head"] = "head"
    return groups


def build(config: ResNetConfig) -> Graph:
    """Build the layer graph of a config."""
    stages = plan(config)
    graph = Graph(config.name, groups=_group_kinds(config, stages), options=config.options())
    emit = _Emitter(graph, config)
    x = graph.add("input", "input", shape=tuple(config.input_shape))
    x = _stem(emit, x)
    for stage in stages:
        for block in stage:
            x = _block(emit, block, x)
    if config.has_final_norm:
        x = emit.relu("post.relu", emit.bn("post.bn", x))
    if config.include_top:
        _head(emit, x)
    return graph


def stem_graph(config: ResNetConfig) -> Graph:
    """The input and the stem alone."""
    graph = Graph(f"{config.name}-stem")
    _stem(_Emitter(graph, config), graph.add("input", "input", shape=tuple(config.input_shape)))
    return graph


def tail_graph(config: ResNetConfig, shape: tuple[int, ...]) -> Graph:
    """What follows the last block (final norm, head) on an input of ``shape``, without the input's cost."""
    graph = Graph(f"{config.name}-tail")
    x = graph.add("input", "input", shape=shape)
    if config.has_final_norm:
        emit = _Emitter(graph, config)
        x = emit.relu("post.relu", emit.bn("post.bn", x))
    if config.include_top:
        _head(_Emitter(graph, config), x)
    return graph


def block_graph(config: ResNetConfig, block: BlockPlan, spatial: int | tuple[int, int]) -> Graph:
    """One residual block alone, on a ``spatial`` x ``spatial`` input: for comparing block designs."""
    height, width = (spatial, spatial) if isinstance(spatial, int) else spatial
    graph = Graph(f"{config.name}-block")
    x = graph.add("input", "input", shape=(height, width, block.in_channels))
    _block(_Emitter(graph, config), block, x)
    return graph
