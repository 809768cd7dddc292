"""The block comparison as text: one line per conv with its formula."""

from __future__ import annotations

from archviz.studies.blocks import BlockComparison
from archviz.units import human


def render_table(comparison: BlockComparison) -> str:
    basic, bottleneck, ratio = comparison.basic, comparison.bottleneck, comparison.ratio
    lines = [
        f"Blocks at {basic.channels} channels in and out, on a {basic.spatial}x{basic.spatial} input, stride 1",
        "",
    ]
    for cost in comparison.costs:
        lines.append(cost.description)
        width = max(len(c.formula) for c in cost.convs)
        for conv in cost.convs:
            lines.append(
                f"  {conv.name:<6} {conv.formula:<{width}} = {conv.weights:>11,} weights  {human(conv.macs):>7} MACs"
            )
        lines.append(f"  {'total':<6} {'':<{width}}   {cost.weights:>11,} weights  {human(cost.macs):>7} MACs")
        lines.append(
            f"  {'':<6} {'':<{width}}   {cost.params_with_bn:>11,} params with BN, "
            f"{cost.params_with_bn_and_bias:,} with BN and conv bias"
        )
        lines.append("")
    lines += [
        f"The bottleneck has {ratio['weights']:.1f}x fewer weights than the basic block "
        f"({bottleneck.weights:,} vs {basic.weights:,}) and {ratio['macs']:.1f}x fewer MACs "
        f"({human(bottleneck.macs)} vs {human(basic.macs)}).",
        "",
        "weights: conv kernels only, the paper's count (3x3x256x256 + 3x3x256x256 = 1,179,648).",
        "params with BN: plus 4 per channel for each BatchNormalization (gamma, beta trainable; moving mean",
        "  and variance non-trainable), as Keras counts them.",
        "with BN and conv bias: plus a bias per output channel of every conv, as keras.applications' v1 has.",
        f"MACs: multiply-accumulates at {basic.spatial}x{basic.spatial}; FLOPs as tf.profiler counts them are "
        "in --format json.",
    ]
    return "\n".join(lines) + "\n"
