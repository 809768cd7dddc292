"""The one builder: a :class:`ResNetConfig` in, a :class:`Graph` out.

Names follow torchvision's hierarchy with 1-based blocks: ``stem.conv1``,
``layer2.block1.conv1``, ``layer2.block1.shortcut``, ``post.bn``, ``head.fc``.
Building happens in two steps: :mod:`archviz.sources.zoo.plans` resolves the config into plans (the
stem's, one per residual block, the tail's), then :func:`build` emits the layers of each part.
The emitters (:func:`_stem`, :func:`_block`, :func:`_tail`) read plans only, never the config,
so the layers of a part are a function of its plan: :func:`stem_graph`, :func:`block_graph`
and :func:`tail_graph` build one part alone, for costing it (:mod:`archviz.studies.fit`) or comparing
block designs (:mod:`archviz.studies.blocks`).
"""

from __future__ import annotations

from typing import Any

from archviz.core.graph import Graph
from archviz.core.record import ModelRecord, Source
from archviz.sources.zoo.config import HeadLayer, ResNetConfig
from archviz.sources.zoo.plans import BlockPlan, LayerStyle, StemPlan, TailPlan, plan, stem_plan, tail_plan


class _Emitter:
    """Adds conv / norm / activation layers to a graph, following a :class:`LayerStyle`."""

    def __init__(self, graph: Graph, style: LayerStyle) -> None:
        self.graph = graph
        self.style = style

    def bias(self, normalized: bool) -> bool:
        mode = self.style.conv_bias
        return mode == "all" or (mode == "unnormalized" and not normalized)

    def conv(
        self, name: str, x: str, filters: int, kernel: int, stride: int = 1, *, normalized: bool, groups: int = 1
    ) -> str:
        pad = kernel // 2
        if kernel == 1 or pad == 0:
            conv_padding: object = "valid"
        elif self.style.padding == "same":
            conv_padding = "same"
        elif self.style.padding == "explicit":
            conv_padding = ((pad, pad), (pad, pad))
        else:  # zeropad: a ZeroPadding2D layer, then a valid convolution (keras.applications)
            x = self.graph.add(f"{name}_pad", "zero_pad2d", x, padding=((pad, pad), (pad, pad)))
            conv_padding = "valid"
        attrs: dict[str, Any] = {
            "filters": filters,
            "kernel": (kernel, kernel),
            "strides": (stride, stride),
            "padding": conv_padding,
            "use_bias": self.bias(normalized),
        }
        if groups != 1:
            attrs["groups"] = groups
        return self.graph.add(name, "conv2d", x, **attrs)

    def bn(self, name: str, x: str) -> str:
        return self.graph.add(name, "batch_norm", x, epsilon=self.style.bn_epsilon)

    def relu(self, name: str, x: str) -> str:
        return self.graph.add(name, "activation", x, fn="relu")

    def conv_bn_relu(
        self,
        prefix: str,
        suffix: str,
        x: str,
        filters: int,
        kernel: int,
        stride: int = 1,
        *,
        relu: bool = True,
        groups: int = 1,
    ) -> str:
        x = self.conv(f"{prefix}.conv{suffix}", x, filters, kernel, stride, normalized=True, groups=groups)
        x = self.bn(f"{prefix}.bn{suffix}", x)
        return self.relu(f"{prefix}.relu{suffix}", x) if relu else x


def _stem(graph: Graph, stem: StemPlan) -> str:
    """The input and the stem; returns the stem's output."""
    emit = _Emitter(graph, stem.layers)
    x = graph.add("input", "input", shape=stem.input_shape)
    for index, filters in enumerate(stem.widths, 1):
        stride = stem.stride if index == 1 else 1
        if stem.norm:
            x = emit.conv_bn_relu("stem", str(index), x, filters, stem.kernel, stride)
        else:
            x = emit.conv(f"stem.conv{index}", x, filters, stem.kernel, stride, normalized=False)
    if stem.pool:
        pool: dict[str, Any] = {"pool": (3, 3), "strides": (2, 2)}
        if not stem.pool_padding:
            pool["padding"] = "valid"
        elif stem.layers.padding == "same":
            pool["padding"] = "same"
        elif stem.layers.padding == "explicit":
            pool["padding"] = ((1, 1), (1, 1))
        else:
            x = graph.add("stem.pool_pad", "zero_pad2d", x, padding=((1, 1), (1, 1)))
            pool["padding"] = "valid"
        x = graph.add("stem.pool", "max_pool2d", x, **pool)
    return x


def _shortcut(emit: _Emitter, prefix: str, block: BlockPlan, x: str, preactivated: str) -> str | None:
    if block.shortcut == "identity":
        return x
    if block.shortcut == "none":
        return None
    if block.shortcut == "zero_pad":
        return emit.graph.add(
            f"{prefix}.shortcut", "pad_shortcut", x, strides=block.stride, channels=block.out_channels
        )
    if block.shortcut == "max_pool":
        return emit.graph.add(
            f"{prefix}.shortcut", "max_pool2d", x, pool=(1, 1), strides=(block.stride, block.stride), padding="valid"
        )
    source = preactivated if block.style.preact else x
    with_bn = block.style.projection_bn and not block.style.preact
    y = emit.conv(f"{prefix}.shortcut", source, block.out_channels, 1, block.stride, normalized=with_bn)
    if with_bn:
        y = emit.bn(f"{prefix}.shortcut_bn", y)
    return y


def _block(graph: Graph, p: str, block: BlockPlan, x: str) -> str:
    """One residual block named ``p`` (``layer2.block1``) on ``x``; returns its output."""
    style, emit = block.style, _Emitter(graph, block.style.layers)
    preactivated = x
    if style.preact:
        preactivated = emit.relu(f"{p}.preact_relu", emit.bn(f"{p}.preact_bn", x))
    shortcut = _shortcut(emit, p, block, x, preactivated)
    y = preactivated
    if style.block == "basic":  # 3x3, then a 3x3 that closes the block
        inner, closing_kernel = [(3, block.stride, 1)], 3
    else:  # 1x1, 3x3 (grouped for ResNeXt), then a 1x1 that closes the block
        first, middle = (block.stride, 1) if style.stride_on == "first" else (1, block.stride)
        inner, closing_kernel = [(1, first, 1), (3, middle, style.groups)], 1
    for index, (kernel, stride, groups) in enumerate(inner, 1):
        y = emit.conv_bn_relu(p, str(index), y, block.mid_width, kernel, stride, groups=groups)
    if style.dropout:
        y = graph.add(f"{p}.dropout", "dropout", y, rate=style.dropout)
    closing = str(len(inner) + 1)
    if style.preact:
        y = emit.conv(f"{p}.conv{closing}", y, block.out_channels, closing_kernel, normalized=False)
    else:
        y = emit.conv_bn_relu(p, closing, y, block.out_channels, closing_kernel, relu=False)
    if shortcut is not None:
        y = graph.add(f"{p}.add", "add", (y, shortcut))
    if not style.preact:
        y = emit.relu(f"{p}.relu", y)
    return y


def _tail(graph: Graph, tail: TailPlan, x: str) -> None:
    """The final norm, then the head, on the last block's output ``x``."""
    if tail.final_norm:
        x = graph.add("post.bn", "batch_norm", x, epsilon=tail.bn_epsilon)
        x = graph.add("post.relu", "activation", x, fn="relu")
    counts: dict[str, int] = {}
    for layer in tail.head:
        counts[layer.op.layer_name] = counts.get(layer.op.layer_name, 0) + 1
    seen: dict[str, int] = {}
    for layer in tail.head:
        stem_name, op = layer.op.layer_name, layer.op.graph_op
        seen[stem_name] = seen.get(stem_name, 0) + 1
        name = f"head.{stem_name}" + (str(seen[stem_name]) if counts[stem_name] > 1 else "")
        x = graph.add(name, op, x, **_head_attrs(layer))


def _head_attrs(layer: HeadLayer) -> dict[str, Any]:
    if layer.op == "dense":
        attrs: dict[str, Any] = {"units": layer.units, "use_bias": True}
        if layer.activation not in (None, "linear"):
            attrs["activation"] = layer.activation
        return attrs
    if layer.op in ("avg_pool", "max_pool"):
        return {"pool": (layer.pool, layer.pool), "strides": (layer.pool, layer.pool), "padding": "valid"}
    if layer.op == "dropout":
        return {"rate": layer.rate}
    return {}


def _group_kinds(config: ResNetConfig, stages: list[list[BlockPlan]]) -> dict[str, str]:
    kind = ("pre-activation " if config.preact else "") + (
        "bottleneck" if config.block == "bottleneck" else "basic block"
    )
    if config.shortcut == "none":
        kind = "plain " + ("bottleneck" if config.block == "bottleneck" else "block")
    groups = {"input": "input", "stem": "stem"}
    for stage_number, stage in enumerate(stages, 1):
        groups[f"layer{stage_number}"] = "stage"
        for index in range(1, len(stage) + 1):
            groups[f"layer{stage_number}.block{index}"] = kind
    groups["post"] = "post-activation"
    groups["head"] = "head"
    return groups


def build(config: ResNetConfig) -> Graph:
    """Build the layer graph of a config."""
    stem, stages, tail = stem_plan(config), plan(config), tail_plan(config)
    record = ModelRecord(
        Source.ZOO,
        description=config.description,
        input_shape=config.input_shape,
        classes=config.classes if config.include_top else None,
        config=config.options(),
    )
    graph = Graph(config.name, groups=_group_kinds(config, stages), record=record)
    x = _stem(graph, stem)
    for stage_number, stage in enumerate(stages, 1):
        for index, block in enumerate(stage, 1):
            x = _block(graph, f"layer{stage_number}.block{index}", block, x)
    _tail(graph, tail, x)
    return graph


def stem_graph(stem: StemPlan) -> Graph:
    """The input and the stem alone."""
    graph = Graph("stem")
    _stem(graph, stem)
    return graph


def block_graph(block: BlockPlan, spatial: int | tuple[int, int]) -> Graph:
    """One residual block alone (named ``block``), on a ``spatial`` x ``spatial`` input."""
    height, width = (spatial, spatial) if isinstance(spatial, int) else spatial
    graph = Graph("block")
    _block(graph, "block", block, graph.add("input", "input", shape=(height, width, block.in_channels)))
    return graph


def tail_graph(tail: TailPlan, shape: tuple[int, ...]) -> Graph:
    """What follows the last block (final norm, head) on an input of ``shape``, without the input's cost."""
    graph = Graph("tail")
    _tail(graph, tail, graph.add("input", "input", shape=shape))
    return graph
