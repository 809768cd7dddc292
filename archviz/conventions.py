"""The counting conventions, written once: the HTML reports quote them, and a test checks that
docs/conventions.md says the same, word for word. The rules that implement them are
the op table's (:mod:`archviz.ops`). Text is Markdown: ``**term**`` and ``code`` only.
"""

from __future__ import annotations

from collections.abc import Collection

#: What makes a part of the conventions apply to a model: an op type of :mod:`archviz.ops` (``conv2d``),
#: an activation function (``activation:gelu``), or one of these words for what an op's attributes say.
GROUPED, DILATED, KERAS, ONNX, TRAINING = "grouped", "dilated", "keras", "onnx", "training"

#: The FLOPs sentence's opening, true of every model.
_FLOPS_RULES = (
    "**FLOPs** are the floating-point operations of the inference graph, counted as "
    "`tf.compat.v1.profiler` counts them on the frozen graph of the same Keras model: 2 per MAC; 1 per "
    "bias add; a batch norm 2 per element plus 6 per channel to fold its statistics (once per call, "
    "whatever the batch size); k x k per output of a pooling window; 1 per input element of a global "
    "average pool; n - 1 per element of an n-way add; softmax 5 and swish 2 per element (a softmax over "
    "another axis than the last 2 more per call, 5 for a negative axis: TensorFlow's axis swap). ReLU, "
    "ReLU6, sigmoid, padding, reshapes, concatenation and dropout cost nothing, as in the profiler."
)
#: The per-element costs of less common layers, each with what makes it apply.
_PER_ELEMENT: tuple[tuple[frozenset[str], str], ...] = (
    (
        frozenset({"rescaling", "normalization"}),
        "Rescaling and Normalization 2 (Normalization plus 1 per statistic once per call)",
    ),
    (
        frozenset({"layer_norm"}),
        "LayerNormalization 9 plus 4 per normalized row (6 plus 3 with `rms_scaling`, less without center or scale)",
    ),
    (frozenset({"group_norm"}), "GroupNormalization 6 plus 4 per group and 3 per channel"),
    (frozenset({"unit_norm"}), "UnitNormalization 3 plus 2 per row"),
    (frozenset({"layer_scale"}), "LayerScale 1"),
    (frozenset({"prelu"}), "PReLU 3 (plus 1 per alpha once per call)"),
    (frozenset({"activation:gelu"}), "gelu 4 (7 approximated)"),
    (frozenset({"activation:hard_silu", "activation:hard_swish"}), "hard_silu 3"),
    (frozenset({"activation:hard_sigmoid"}), "hard_sigmoid 2"),
    (frozenset({"activation:mish"}), "mish 1"),
    (frozenset({"average"}), "an n-way average n"),
    (
        frozenset({"conv1d_transpose", "conv2d_transpose", "conv3d_transpose"}),
        "a transposed convolution 2 x output positions x kernel x input x output channels / strides, as "
        "the profiler counts it (2 per MAC with `same` padding)",
    ),
)
_UPSAMPLING = (frozenset({"upsampling2d"}), "a nearest upsampling costs 2 once per call")
#: The sentences after the per-element costs, each with what makes it apply (empty: every model).
_FLOPS_NOTES: tuple[tuple[frozenset[str], str], ...] = (
    (
        frozenset(),
        "Exact against the profiler for keras.applications ResNet50/101/152 and ResNet50V2 (at batch 1 and 2).",
    ),
    (
        frozenset({GROUPED, DILATED, "conv3d_transpose", "avg_pool3d", "max_pool3d"}),
        "Deliberate differences: the profiler counts nothing for a grouped convolution "
        "(it sees an opaque call, and loses the shape of the per-element layers after it until a reshape), "
        "a Conv3DTranspose or a 3-D pooling (no statistic for them) and counts "
        "padded SpaceToBatch blocks for a dilated convolution; archviz counts the convolutions as 2 per "
        "MAC and the pooling by its windows.",
    ),
    (
        frozenset(
            "mean sum embedding square log reciprocal negative power rsqrt clip split stack tile transpose "
            "expand_dims squeeze min prod exp sqrt abs erf sin cos".split()
        ),
        "Between a traced call's layers: a mean 1 per input element, a "
        "sum 1 per input element not kept, an embedding lookup 2 per index (Keras wraps negative "
        "indices); per element a square, a log, a reciprocal, a negation or a power 1, a reciprocal square "
        "root 2, a clip 2; splits, stacks, tiles, transposes, added or removed axes, a minimum or a product "
        "over axes, and exp, sqrt, abs, erf, sin and cos cost nothing, as in the profiler.",
    ),
    (
        frozenset({"einsum", "einsum_dense", "dot_product_attention"}),
        "The profiler "
        "has no rule for TensorFlow's `Einsum` and counts 0 for it (TensorFlow runs some einsums, such as "
        "`EinsumDense`'s, as matmuls, which it counts); archviz counts every einsum as 2 per MAC, so for a "
        "model with einsums (`dot_product_attention`'s) its total is the profiler's plus 2 per einsum MAC.",
    ),
)


def _applies(tags: Collection[str], present: Collection[str] | None) -> bool:
    return present is None or not tags or any(tag in present for tag in tags)


def flops_sentence(present: Collection[str] | None = None) -> str:
    """The FLOPs convention: every rule (``present`` None), or the parts that apply to a model whose ops
    (and :data:`GROUPED`, ``activation:gelu``, ...) are ``present``."""
    items = [text for tags, text in _PER_ELEMENT if _applies(tags, present)]
    listed = ", ".join(items[:-1]) + (", and " if len(items) > 1 else "") + items[-1] if items else ""
    upsampling = _applies(_UPSAMPLING[0], present)
    parts = [_FLOPS_RULES]
    if listed:
        parts.append(f"Per output element also: {listed}" + (f"; {_UPSAMPLING[1]}." if upsampling else "."))
    elif upsampling:
        parts.append(_UPSAMPLING[1][0].upper() + _UPSAMPLING[1][1:] + ".")
    parts += [text for tags, text in _FLOPS_NOTES if _applies(tags, present)]
    return " ".join(parts)


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
    ("FLOPs", flops_sentence()),
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
        "size and dtype (float32 by default). **Parameter memory** is params x bytes per value (float32 "
        "under `mixed_float16`, Keras's mixed precision, which computes in float16).",
    ),
    ("Option A", "The **option A** shortcut (zero-padding identity) has no parameters and no FLOPs: a strided copy."),
    (
        "Receptive field",
        "**Receptive field** (the `RF` column; `receptive_field` in JSON) follows Araujo, Norris and Sim, "
        '"Computing Receptive Fields of Convolutional Neural Networks" (Distill 2019): for each layer\'s '
        "output, its size (how many input pixels reach one feature), effective stride (how far apart "
        "neighbouring features are in the input) and effective padding (how far before the image the first "
        "feature's field starts), for height and width; the table shows the size (`35`, `35x99` where height "
        "and width differ). A window of kernel k, stride s and dilation d that pads q pixels before the first "
        "one turns (r, j, p) into (r + d(k - 1)j, js, p + qj); `same` padding is TensorFlow's (max((ceil(n/s) "
        "- 1)s + d(k - 1) + 1 - n, 0) in all on an input of n pixels, the extra pixel at the end), so the "
        "padding follows `--input-shape`. Activations, normalizations, dropout and dense layers on a feature "
        "map pass the field through; where paths merge (add, concatenate, multiply) the size is the largest "
        "path's, with its stride and padding, and paths whose strides or centres differ keep that value and "
        "get a note. After a global pooling, a flatten, a mean over spatial axes or a group normalization the "
        "field is `global`, and so is a feature map multiplied by a squeeze-excite gate; after an op with no "
        "rule (upsampling, transposed convolutions, reshapes of feature maps, attention) it is unknown (`?`, "
        "null in JSON) and that op is listed, as is a layer whose rule refuses it, with the reason (a softmax "
        "or a mean along the width only: a field whole along one axis is not a size). A weight or constant "
        "operand (a LayerScale's gamma) has no field: a merge takes its other operands'. `summary` notes a "
        "last spatial layer whose field is smaller than the input where a pooling then reduces it (it cannot "
        "see the whole image before pooling; a flatten into a dense layer weighs each position apart, so "
        "gets no note) or more than 4 times its side (most of what it sees is padding). Exact, layer by "
        "layer, against the authors' library "
        "(github.com/google-research/receptive_field, copied unchanged into the tests) run on the frozen "
        "graph of keras.applications ResNet50, ResNet50V2, MobileNetV2, VGG16, InceptionV3 and DenseNet121 "
        "(the test renames the graph's nodes the way the library's TF1 parser expects; the library is not "
        "changed), and against its published table: ResNet-v2-50's block ends 35, 99, 291 and 483 with "
        "strides 8, 16, 32 and 32, VGG-16's `pool5` 212/32/90, Inception v3's `Mixed_6e` 927/16/442 and "
        "`Mixed_7c` 1311/32/618 (size/stride/padding).",
    ),
    (
        "Training MACs",
        "**Training MACs** are those of one training step (`--training`) as TensorFlow computes it for the "
        "exported Keras model: the forward pass, and for every convolution and dense layer (grouped and "
        "depthwise ones per group, a separable one as its depthwise and pointwise parts) a weight gradient of "
        "its forward MACs (none for a frozen layer) and an input gradient of its forward MACs, except where no "
        "trainable layer lies upstream (TensorFlow prunes that gradient: in a ResNet, the stem conv's). Exact "
        "against the `Conv2D`, `Conv2DBackpropInput`, `Conv2DBackpropFilter`, `DepthwiseConv2dNative` and "
        "`MatMul` ops of the training step's graph (a `GradientTape` over the sum of the outputs, pruned to the "
        "loss and the gradients), counted from the graph's own tensor shapes: resnet50-keras at batch 2 makes "
        "22,911,811,584. Not from `tf.compat.v1.profiler`: it takes a backward convolution's output positions to"
        " be its input's over the stride, and overcounts one that follows explicit zero padding (the 7x7 stem "
        "after its 3-pixel pad).",
    ),
    (
        "Training FLOPs",
        "**Training FLOPs** are the inference FLOPs above, 2 per gradient MAC, and what TensorFlow's gradient of"
        " each layer computes besides: a bias gradient 1 per output element; per element of an activation, ReLU "
        "and ReLU6 1 (`ReluGrad`), leaky ReLU 2, sigmoid and tanh 3 (`SigmoidGrad`, `TanhGrad`), elu 3, selu 4, "
        "softplus 1, softmax 4, swish 7 (its custom gradient recomputes the sigmoid), hard_sigmoid 2, hard_silu "
        "(hard_swish) 5, exact gelu 10; a batch norm in training 11 per element and 10 per channel (3 and 4 "
        "where its input's gradient is not wanted; without gamma 11 and 8, or beta's sum alone, 1 per element), "
        "and 3 per element more in its forward pass (the batch's mean and variance); a frozen batch norm (Keras "
        "runs it in inference mode) 1 per element; a max pool 1 per element of its (padded) input "
        "(`MaxPoolGrad`); an average pool its window's area per output element (`AvgPoolGrad`, the forward's "
        "rule); a global average pool 1 per input element, a global max pool 4 (a comparison with the maximum, "
        "the count of ties, a quotient and a product); an option A shortcut with a stride 1 per input element "
        "(it is exported as a strided 1x1 max pool); a product of two tensors 1 per output element for each "
        "input, a tensor times a constant 1; an add, a concatenation, a pad, a crop, a permutation or a reshape "
        "nothing, a nearest upsampling 1 per output element and 1 per output element over its width factor (the "
        "sums over the repeated columns, then rows), and a broadcast input of an add or a product 1 per output "
        "element more (the sum over the axes it was broadcast along); a dropout in training 1 per element (its "
        "random draws and forward scaling are not counted); and where a tensor feeds k layers whose gradients "
        "flow back into it, k - 1 per element to sum them (`AddN`). Each rule is checked against the training "
        "step's graph, whose backward ops (every op the loss does not depend on, a custom gradient's included) "
        "are counted per element: a product, quotient, difference, sum, negation, square, squared difference, "
        "comparison or `ReluGrad` 1 per output element, `LeakyReluGrad` 2, `SigmoidGrad`, `TanhGrad` and "
        "`EluGrad` 3, `SeluGrad` 4, a reduction or `BiasAddGrad` 1 per input element, `RsqrtGrad` 4, "
        "`MaxPoolGrad` 1 per output element, `AvgPoolGrad` its window's area per element of the gradient it "
        "spreads, an n-way `AddN` n - 1; tiles, slices (and their gradients), pads, reshapes, transposes and "
        "selections 0, and a sigmoid or an exponential 0, as in the forward count. keras.applications "
        "MobileNetV2, MobileNetV3Small, EfficientNetB0, DenseNet121, InceptionV3, VGG16, Xception, ResNet50 and "
        "ResNet50V2 equal it exactly. Layers with no training rule yet (the mish, softsign, exponential and "
        "log_softmax activations, the tanh approximation of gelu, 3D average pools, an ELU layer of alpha other "
        "than 1, an upsampling other than nearest by factors of 2 or more, a separable convolution with explicit"
        " padding, a batch norm without beta, a product of more than two tensors, a product or a broadcast add "
        "of which only some inputs' gradients are wanted, among others) are left out of the training totals, "
        "which say so, naming them.",
    ),
    (
        "Training memory",
        "**Training memory** is the sum of four parts, in bytes. Weights: every parameter in its dtype "
        "(`mixed_float16` keeps float32 variables, as Keras's mixed precision does). Gradients: one per "
        "trainable parameter, in the same dtype. Optimizer state: slots per trainable parameter, sgd 0, "
        "momentum 1, adam and adamw 2 (the two moments), in the weights' dtype (float32 under `mixed_float16`, 2 "
        "bytes under `bfloat16` and `float16`, 8 under `float64`: Keras makes each slot like its variable), "
        "equal to the slot variables Keras's optimizer builds "
        "for the exported model (its iteration counter and learning rate, scalars, left out). Activations: the "
        "tensors the backward pass reads, at the batch size in the compute dtype (2 bytes under `mixed_float16` "
        "and `bfloat16`): a convolution's and a dense layer's input (with explicit padding, its padded copy; a "
        "separable convolution's depthwise output too), the output of a ReLU, softmax, sigmoid, tanh, elu or "
        "selu, the input of a leaky ReLU, softplus or swish (fused into a convolution: the convolution's output "
        "before it), a hard_sigmoid's inner relu6, a hard_silu's input, hard_sigmoid and inner relu6, an exact "
        "gelu's 3 tensors inside it, a product's two inputs, a global max pool's input and output, a dropout's "
        "mask (1 byte per mask element whatever the dtype), a batch norm's input (a float32 copy under a 16-bit "
        "dtype: Keras computes a batch norm in float32) plus, per channel (float32, once per step), its batch "
        "mean and inverse standard deviation, and where its input's gradient is wanted a second copy of the mean"
        " and gamma times the inverse standard deviation (4 values; 5 where its axis is written other than -1, "
        "as keras.applications write 3, since Keras then reshapes the mean and gamma; 3 without gamma; none for "
        "a batch norm without gamma whose input's gradient is not wanted), a frozen batch norm its per-channel "
        "factor, a max pool's input and output, an option A shortcut's input and its subsampled copy (average "
        "pools, adds and concatenations keep nothing); each tensor once, however many layers read it, and none "
        "for a layer whose backward does not run. Checked against the forward tensors the training step's "
        "backward ops read, layer by layer and for the keras.applications models above (a 1D convolution's "
        "kernels, which TensorFlow keeps expanded to 2D, aside). Not counted: the labels and the loss, gradients"
        " while they flow, TensorFlow's workspace and allocator. With `--max-memory`, the largest batch whose "
        "total fits (the activations grow linearly with the batch, the rest does not), checked by recomputing "
        "the total at that batch and the next.",
    ),
)

#: What makes each convention other than the FLOPs one apply (missing: every model).
_APPLIES: dict[str, frozenset[str]] = {
    "Keras 2": frozenset({KERAS}),
    "ONNX": frozenset({ONNX}),
    "Option A": frozenset({"pad_shortcut"}),
    **{term: frozenset({TRAINING}) for term in ("Training MACs", "Training FLOPs", "Training memory")},
}


def conventions_for(present: Collection[str]) -> list[tuple[str, str]]:
    """The conventions that apply to a model whose ops (and features: :data:`GROUPED`, :data:`DILATED`,
    :data:`KERAS`, :data:`ONNX`, :data:`TRAINING` where a training step was counted, ``activation:NAME``) are
    ``present``: the FLOPs rules of its layers only.

    >>> [term for term, _ in conventions_for({"conv2d", "add"})]
    ['Params', 'MACs', 'FLOPs', 'Memory', 'Receptive field']
    >>> [term for term, _ in conventions_for({"conv2d", "add", TRAINING})][-3:]
    ['Training MACs', 'Training FLOPs', 'Training memory']
    >>> "LayerNormalization" in dict(conventions_for({"conv2d"}))["FLOPs"]
    False
    """
    chosen = []
    for term, text in CONVENTIONS:
        if term == "FLOPs":
            chosen.append((term, flops_sentence(present)))
        elif _applies(_APPLIES.get(term, frozenset()), present):
            chosen.append((term, text))
    return chosen
