"""The counting conventions, written once: the HTML reports quote them, and a test checks that
docs/conventions.md says the same, word for word. The rules that implement them are
the op table's (:mod:`archviz.ops`). Text is Markdown: ``**term**`` and ``code`` only.
"""

from __future__ import annotations

#: (term, Markdown sentence) pairs, in the order docs/conventions.md lists them.
CONVENTIONS: tuple[tuple[str, str], ...] = (
    (
        "Params",
        "**Params** follow Keras's accounting. BatchNormalization has 4 per channel: gamma and beta are "
        "trainable, the moving mean and variance non-trainable. Trainable params therefore equal "
        "torchvision's `num_params`, which keeps the moving statistics as buffers. Every weight a model "
        "holds is counted once, where it lives: a container's own weights (a custom layer's or a subclassed "
        "model's `add_weight` next to its sublayers) on a row of their own, a variable two layers share once.",
    ),
    (
        "MACs",
        "**MACs** are the multiply-accumulates of convolutions (grouped and depthwise included; a separable "
        "one's depthwise and pointwise parts; a transposed one's input positions x kernel x input x output "
        "channels), dense layers, matmuls and einsums (one per combination of their indices: `EinsumDense`, "
        'attention\'s products): for a CNN, what the ResNet paper calls "FLOPs (multiply-adds)" and '
        "torchvision's GFLOPS column.",
    ),
    (
        "FLOPs",
        "**FLOPs** are the floating-point operations of the inference graph, counted as "
        "`tf.compat.v1.profiler` counts them on the frozen graph of the same Keras model: 2 per MAC; 1 per "
        "bias add; a batch norm 2 per element plus 6 per channel to fold its statistics (once per call, "
        "whatever the batch size); k x k per output of a pooling window; 1 per input element of a global "
        "average pool; n - 1 per element of an n-way add; softmax 5 and swish 2 per element (a softmax over "
        "another axis than the last 2 more per call, 5 for a negative axis: TensorFlow's axis swap). ReLU, "
        "ReLU6, sigmoid, padding, reshapes, concatenation and dropout cost nothing, as in the profiler. "
        "Per output element also: Rescaling and Normalization 2 (Normalization plus 1 per statistic once "
        "per call), LayerNormalization 9 plus 4 per normalized row (6 plus 3 with `rms_scaling`, less "
        "without center or scale), GroupNormalization 6 plus 4 per group and 3 per channel, "
        "UnitNormalization 3 plus 2 per row, LayerScale 1, PReLU 3 (plus 1 per alpha once per call), "
        "gelu 4 (7 approximated), hard_silu 3, hard_sigmoid 2, mish 1, an n-way average n, and a "
        "transposed convolution 2 x output positions x kernel x input x output channels / strides, as "
        "the profiler counts it (2 per MAC with `same` padding); a nearest upsampling costs 2 once per "
        "call. Exact against the profiler for keras.applications ResNet50/101/152 and ResNet50V2 (at "
        "batch 1 and 2). Deliberate differences: the profiler counts nothing for a grouped convolution "
        "(it sees an opaque call, and loses the shape of the per-element layers after it until a reshape), "
        "a Conv3DTranspose or a 3-D pooling (no statistic for them) and counts "
        "padded SpaceToBatch blocks for a dilated convolution; archviz counts the convolutions as 2 per "
        "MAC and the pooling by its windows. Between a traced call's layers: a mean 1 per input element, a "
        "sum 1 per input element not kept, an embedding lookup 2 per index (Keras wraps negative "
        "indices); per element a square, a log, a reciprocal, a negation or a power 1, a reciprocal square "
        "root 2, a clip 2; splits, stacks, tiles, transposes, added or removed axes, a minimum or a product "
        "over axes, and exp, sqrt, abs, erf, sin and cos cost nothing, as in the profiler. The profiler "
        "has no rule for TensorFlow's `Einsum` and counts 0 for it (TensorFlow runs some einsums, such as "
        "`EinsumDense`'s, as matmuls, which it counts); archviz counts every einsum as 2 per MAC, so for a "
        "model with einsums (`dot_product_attention`'s) its total is the profiler's plus 2 per einsum MAC.",
    ),
    (
        "Keras 2",
        "**Keras 2 graphs** (models of tf-keras, tf.keras) differ from the profiler in one op: tf.keras runs an "
        "inference batch norm as one `FusedBatchNormV3`, for which the profiler registers no cost, so it counts 0 "
        "where archviz counts a batch norm as above. For a tf-keras model, archviz's FLOPs are the profiler's "
        "plus the batch norms' (a 3x3 convolution of 4 filters on 8x8x3 with its batch norm: 8,232 against the "
        'profiler\'s 7,920); "equals the profiler" holds as written for Keras 3 graphs. Everything else in a '
        "tf-keras graph, its `TFOpLambda` operations included, costs what the rules above say.",
    ),
    (
        "ONNX",
        "**ONNX files** are counted by the same rules, op by op; an ONNX feature map `(N, C, H, W)` is shown "
        "as `H x W x C` (channels last, per sample). Params are the elements of the floating-point "
        "initializers the layers use, each counted once however many nodes read it (an exporter's `Identity` "
        "of an initializer is that initializer); a `Constant`'s value, an integer initializer (a shape, axes) "
        "and a setting (a Clip's bounds, a Resize's scales) are no params. Shape arithmetic (`Shape`, "
        "`Gather`, `Unsqueeze`, `Concat` of shapes: any standard op on constants alone) is evaluated once and "
        "costs nothing. An exporter that folds each batch norm into the convolution before it (torch's, in "
        "eval mode) leaves 3 params per channel fewer: the batch norm's 4 gone, a conv bias of 1 come; MACs "
        "are unchanged. A node no rule maps (a custom domain, `Loop`, `If`) is not counted and makes the "
        "totals incomplete.",
    ),
    (
        "Memory",
        "**Activation memory** is the bytes of every layer's output (the input included) for the batch "
        "size and dtype (float32 by default). **Parameter memory** is params x bytes per value.",
    ),
    ("Option A", "The **option A** shortcut (zero-padding identity) has no parameters and no FLOPs: a strided copy."),
)
