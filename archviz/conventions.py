"""The counting conventions, written once: the HTML reports quote them, and a test checks that
the README's "Counting conventions" section says the same. The rules that implement them are
the op table's (:mod:`archviz.ops`). Text is Markdown: ``**term**`` and ``code`` only.
"""

from __future__ import annotations

#: (term, Markdown sentence) pairs, in the order the README lists them.
CONVENTIONS: tuple[tuple[str, str], ...] = (
    ("Params",
     "**Params** follow Keras's accounting. BatchNormalization has 4 per channel: gamma and beta are "
     "trainable, the moving mean and variance non-trainable. Trainable params therefore equal "
     "torchvision's `num_params`, which keeps the moving statistics as buffers."),
    ("MACs",
     "**MACs** are the multiply-accumulates of convolutions (grouped and depthwise included) and dense "
     "layers: what the ResNet paper calls \"FLOPs (multiply-adds)\" and torchvision's GFLOPS column."),
    ("FLOPs",
     "**FLOPs** are the floating-point operations of the inference graph, counted as "
     "`tf.compat.v1.profiler` counts them on the frozen graph of the same Keras model: 2 per MAC; 1 per "
     "bias add; a batch norm 2 per element plus 6 per channel to fold its statistics (once per call, "
     "whatever the batch size); k x k per output of a pooling window; 1 per input element of a global "
     "average pool; n - 1 per element of an n-way add; softmax 5 and swish 2 per element. ReLU, "
     "ReLU6, sigmoid, padding, reshapes, concatenation and dropout cost nothing, as in the profiler. "
     "Exact against the profiler for keras.applications ResNet50/101/152 and ResNet50V2 (at batch 1 "
     "and 2). Two deliberate differences: the profiler counts nothing for a grouped convolution (it "
     "sees an opaque call) and counts padded SpaceToBatch blocks for a dilated one; archviz counts "
     "both as 2 per MAC."),
    ("Memory",
     "**Activation memory** is the bytes of every layer's output (the input included) for the batch "
     "size and dtype (float32 by default). **Parameter memory** is params x bytes per value."),
    ("Option A",
     "The **option A** shortcut (zero-padding identity) has no parameters and no FLOPs: a strided copy."),
)
