"""One test per rule of the op table: output shape, params, MACs and FLOPs of small hand-made graphs."""

import pytest

from archviz.core.analysis import analyze_graph
from archviz.core.graph import Graph
from archviz.errors import ModelError, UnsupportedOpError
from archviz.ops import OPS


def one_layer(op, input_shape=(9, 11, 6), inputs=1, **attrs):
    graph = Graph("test")
    sources = [graph.add(f"in{i}", "input", shape=input_shape) for i in range(inputs)]
    graph.add("layer", op, sources, **attrs)
    summary = analyze_graph(graph)
    return next(r for r in summary.records if r.name == "layer")


def test_conv2d_same_padding_with_bias():
    r = one_layer("conv2d", filters=8, kernel=(3, 3), strides=(2, 2), padding="same", use_bias=True)
    assert r.output_shape == (5, 6, 8)
    assert r.trainable_params == 3 * 3 * 6 * 8 + 8
    assert r.macs == 5 * 6 * 8 * 3 * 3 * 6
    assert r.flops == 2 * r.macs + 5 * 6 * 8


def test_conv2d_valid_padding_without_bias():
    r = one_layer("conv2d", filters=4, kernel=(3, 5), strides=(1, 1), padding="valid", use_bias=False)
    assert r.output_shape == (7, 7, 4)
    assert r.trainable_params == 3 * 5 * 6 * 4
    assert r.flops == 2 * r.macs


def test_conv2d_explicit_padding_like_torch():
    r = one_layer(
        "conv2d",
        input_shape=(224, 224, 3),
        filters=64,
        kernel=(7, 7),
        strides=(2, 2),
        padding=((3, 3), (3, 3)),
        use_bias=False,
    )
    assert r.output_shape == (112, 112, 64)
    assert r.macs == 118_013_952


def test_conv2d_dilation():
    r = one_layer("conv2d", filters=2, kernel=(3, 3), dilation=(2, 2), padding="valid", use_bias=False)
    assert r.output_shape == (5, 7, 2)


def test_grouped_conv_divides_weights_and_macs():
    dense = one_layer("conv2d", input_shape=(8, 8, 32), filters=32, kernel=(3, 3), padding="same", use_bias=False)
    grouped = one_layer(
        "conv2d", input_shape=(8, 8, 32), filters=32, kernel=(3, 3), padding="same", use_bias=False, groups=8
    )
    assert grouped.trainable_params * 8 == dense.trainable_params
    assert grouped.macs * 8 == dense.macs


def test_grouped_conv_needs_divisible_channels():
    with pytest.raises(ModelError, match="divisible"):
        one_layer("conv2d", filters=8, kernel=(1, 1), groups=4)


def test_depthwise_conv():
    r = one_layer("depthwise_conv2d", kernel=(3, 3), padding="same", depth_multiplier=2, use_bias=True)
    assert r.output_shape == (9, 11, 12)
    assert r.trainable_params == 3 * 3 * 12 + 12
    assert r.macs == 9 * 11 * 12 * 9


def test_batch_norm_params_follow_keras():
    r = one_layer("batch_norm", epsilon=1e-3)
    assert r.output_shape == (9, 11, 6)
    assert (r.trainable_params, r.non_trainable_params) == (12, 12)
    assert r.macs == 0
    # tf.profiler: x * inv + shift is 2 per element; rsqrt, scale and shift cost 6 per channel
    assert r.flops == 2 * 9 * 11 * 6 + 6 * 6
    no_scale = one_layer("batch_norm", scale=False)
    assert (no_scale.trainable_params, no_scale.flops) == (6, 2 * 9 * 11 * 6 + 5 * 6)


def test_batch_norm_per_channel_flops_do_not_scale_with_batch():
    graph = Graph("bn")
    graph.add("bn", "batch_norm", graph.add("x", "input", shape=(4, 4, 8)))
    one, three = analyze_graph(graph).records[-1], analyze_graph(graph, batch_size=3).records[-1]
    assert three.flops == 3 * 2 * 128 + 6 * 8 and one.flops == 2 * 128 + 6 * 8


@pytest.mark.parametrize(
    "fn, per_element",
    [
        ("relu", 0),
        ("relu6", 0),
        ("sigmoid", 0),
        ("tanh", 0),
        ("linear", 0),
        ("softmax", 5),
        ("swish", 2),
        ("gelu", 4),
        ("gelu_approximate", 7),
        ("hard_silu", 3),
        ("hard_sigmoid", 2),
        ("mish", 1),
        ("elu", 0),
        ("selu", 0),
        ("softplus", 0),
        ("softsign", 0),
        ("exponential", 0),
        ("leaky_relu", 0),
        ("log_softmax", 0),
    ],
)
def test_activations(fn, per_element):
    r = one_layer("activation", fn=fn)
    assert r.output_shape == (9, 11, 6)
    assert r.params == 0 and r.macs == 0
    assert r.flops == per_element * 9 * 11 * 6


def test_unknown_activation_is_reported():
    with pytest.raises(UnsupportedOpError, match="fancy_gelu"):
        one_layer("activation", fn="fancy_gelu")


def test_zero_padding():
    assert one_layer("zero_pad2d", padding=((1, 2), (3, 4))).output_shape == (12, 18, 6)
    assert one_layer("zero_pad2d", padding=3).output_shape == (15, 17, 6)


@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
def test_pooling(op):
    r = one_layer(op, pool=(3, 3), strides=(2, 2), padding="valid")
    assert r.output_shape == (4, 5, 6)
    assert r.flops == 3 * 3 * 4 * 5 * 6  # one per window element of every output
    assert one_layer(op, pool=(3, 3), strides=(2, 2), padding="same").output_shape == (5, 6, 6)
    assert one_layer(op, pool=(3, 3), strides=(2, 2), padding=((1, 1), (1, 1))).output_shape == (5, 6, 6)


@pytest.mark.parametrize("op, flops", [("global_avg_pool2d", 9 * 11 * 6), ("global_max_pool2d", 0)])
def test_global_pooling(op, flops):
    assert one_layer(op).output_shape == (6,)
    assert one_layer(op, keepdims=True).output_shape == (1, 1, 6)
    assert one_layer(op).flops == flops


def test_dense_with_softmax():
    r = one_layer("dense", input_shape=(2048,), units=1000, activation="softmax")
    assert r.flops == 2 * 2048 * 1000 + 1000 + 5 * 1000


def test_flatten_and_dense():
    assert one_layer("flatten").output_shape == (9 * 11 * 6,)
    r = one_layer("dense", input_shape=(512,), units=1000, use_bias=True)
    assert r.output_shape == (1000,)
    assert r.trainable_params == 513_000
    assert r.macs == 512_000
    assert r.flops == 2 * 512_000 + 1000


def test_add_and_its_shape_check():
    r = one_layer("add", inputs=3)
    assert r.output_shape == (9, 11, 6)
    assert r.flops == 2 * 9 * 11 * 6
    graph = Graph("bad")
    a = graph.add("a", "input", shape=(4, 4, 2))
    b = graph.add("b", "input", shape=(4, 4, 3))
    graph.add("sum", "add", (a, b))
    with pytest.raises(ModelError, match="'sum'.*cannot combine inputs of shapes"):
        analyze_graph(graph)


def test_elementwise_ops_broadcast_and_count_constants():
    """As keras.ops and the profiler do: (H, W, C) x (1, 1, C) is one op per output element; so is x * 2.0."""
    graph = Graph("broadcast")
    x = graph.add("x", "input", shape=(4, 4, 8))
    gate = graph.add("gate", "input", shape=(1, 1, 8))
    graph.add("excite", "multiply", (x, gate))
    graph.add("scaled", "multiply", x, constants=1)
    graph.add("shifted", "add", x, constants=2)
    graph.add("halved", "divide", (x, gate))
    records = {r.name: r for r in analyze_graph(graph).records}
    assert records["excite"].output_shape == (4, 4, 8) and records["excite"].flops == 128
    assert records["scaled"].flops == 128 and records["shifted"].flops == 256
    assert records["halved"].flops == 128
    lone = Graph("lone")
    graph_input = lone.add("x", "input", shape=(4,))
    lone.add("alone", "add", graph_input)
    with pytest.raises(ModelError, match="at least two operands"):
        analyze_graph(lone)


def test_raw_tensor_ops():
    graph = Graph("tensor")
    x = graph.add("x", "input", shape=(6, 6, 4))
    graph.add("padded", "pad", x, pad_width=((1, 1), (2, 0), (0, 0)))
    graph.add("swapped", "transpose", x, axes=(2, 0, 1))
    graph.add("pooled", "mean", x, axis=(0, 1), keepdims=True)
    graph.add("total", "sum", x, axis=(2,), keepdims=False)
    graph.add("peak", "max", x, axis=None, keepdims=False)
    m = graph.add("m", "input", shape=(5, 3))
    n = graph.add("n", "input", shape=(3, 7))
    graph.add("product", "matmul", (m, n))
    records = {r.name: r for r in analyze_graph(graph).records}
    assert records["padded"].output_shape == (8, 8, 4) and records["padded"].flops == 0
    assert records["swapped"].output_shape == (4, 6, 6)
    assert records["pooled"].output_shape == (1, 1, 4) and records["pooled"].flops == 144
    assert records["total"].output_shape == (6, 6) and records["total"].flops == 144 - 36
    assert records["peak"].output_shape == () and records["peak"].flops == 0
    assert records["product"].output_shape == (5, 7) and records["product"].macs == 105
    assert records["product"].flops == 210


def test_multiply():
    r = one_layer("multiply", inputs=2)
    assert (r.output_shape, r.flops) == ((9, 11, 6), 9 * 11 * 6)


def test_concat():
    assert one_layer("concat", inputs=2).output_shape == (9, 11, 12)


def test_dropout_is_free():
    r = one_layer("dropout", rate=0.5)
    assert (r.output_shape, r.params, r.macs, r.flops) == ((9, 11, 6), 0, 0, 0)


def test_reshape_and_zero_pad3d():
    assert one_layer("reshape", target_shape=(9, 11, 6, 1)).output_shape == (9, 11, 6, 1)
    assert one_layer("reshape", target_shape=(-1, 6)).output_shape == (99, 6)
    with pytest.raises(ModelError, match="cannot reshape"):
        one_layer("reshape", target_shape=(5, 5))
    r = one_layer("zero_pad3d", input_shape=(4, 4, 6, 1), padding=((0, 0), (0, 0), (3, 5)))
    assert (r.output_shape, r.flops) == ((4, 4, 14, 1), 0)


def test_option_a_shortcut_has_no_params():
    r = one_layer("pad_shortcut", input_shape=(32, 32, 16), strides=2, channels=32)
    assert r.output_shape == (16, 16, 32)
    assert (r.params, r.macs, r.flops) == (0, 0, 0)


# ---- the rules of ops/convolution.py, ops/normalization.py, ops/pooling.py -----------------
# (checked against Keras and tf.profiler in test_ops_keras.py; here, the formulas by hand)

E = 6 * 6 * 4  # elements of a (6, 6, 4) map

#: (op, input shapes, attrs, output shape, (trainable, non-trainable, MACs, FLOPs per sample, fixed FLOPs))
NEW_RULES = [
    ("conv1d", [(10, 4)], dict(filters=8, kernel=(3,)), (8, 8), (3 * 4 * 8 + 8, 0, 64 * 12, 2 * 64 * 12 + 64, 0)),
    (
        "conv1d",
        [(10, 4)],
        dict(filters=8, kernel=(3,), padding="causal", dilation=(2,), use_bias=False),
        (10, 8),
        (96, 0, 80 * 12, 2 * 80 * 12, 0),
    ),
    (
        "conv3d",
        [(4, 4, 4, 4)],
        dict(filters=8, kernel=(3, 3, 3), padding="same", groups=2),
        (4, 4, 4, 8),
        (27 * 2 * 8 + 8, 0, 512 * 54, 2 * 512 * 54 + 512, 0),
    ),
    (
        "depthwise_conv1d",
        [(10, 4)],
        dict(kernel=(3,), strides=(2,), padding="same", depth_multiplier=2),
        (5, 8),
        (3 * 8 + 8, 0, 40 * 3, 2 * 40 * 3 + 40, 0),
    ),
    (
        "separable_conv1d",
        [(10, 4)],
        dict(filters=8, kernel=(3,), depth_multiplier=2),
        (8, 8),
        (3 * 8 + 8 * 8 + 8, 0, 8 * 8 * 3 + 8 * 8 * 8, 2 * (192 + 512) + 64, 0),
    ),
    (
        "separable_conv2d",
        [(6, 6, 4)],
        dict(filters=8, kernel=(3, 3), padding="same"),
        (6, 6, 8),
        (36 + 32 + 8, 0, 36 * 4 * 9 + 36 * 4 * 8, 2 * (1296 + 1152) + 288, 0),
    ),
    # MACs: input positions x kernel x Cin x Cout; FLOPs: the profiler's 2 x output positions x ... / strides
    (
        "conv2d_transpose",
        [(5, 5, 4)],
        dict(filters=8, kernel=(3, 3), strides=(2, 2)),
        (11, 11, 8),
        (9 * 32 + 8, 0, 25 * 9 * 32, 2 * 121 * 9 * 32 // 4 + 121 * 8, 0),
    ),
    (
        "conv1d_transpose",
        [(10, 4)],
        dict(filters=8, kernel=(3,), strides=(2,), padding="same"),
        (20, 8),
        (3 * 32 + 8, 0, 10 * 3 * 32, 2 * 10 * 3 * 32 + 160, 0),
    ),
    (
        "conv3d_transpose",
        [(3, 3, 3, 4)],
        dict(filters=8, kernel=(2, 2, 2), strides=(2, 2, 2)),
        (6, 6, 6, 8),
        (8 * 32 + 8, 0, 27 * 8 * 32, 2 * 27 * 8 * 32 + 216 * 8, 0),
    ),
    ("rescaling", [(6, 6, 4)], dict(scale=1 / 255, offset=0.0), (6, 6, 4), (0, 0, 0, 2 * E, 0)),
    (
        "normalization",
        [(6, 6, 4)],
        dict(axis=(1, 2), invert=False, stats="weights"),
        (6, 6, 4),
        (0, 2 * 36 + 1, 0, 2 * E, 36),
    ),
    ("normalization", [(6, 6, 4)], dict(axis=(-1,), stats="constants"), (6, 6, 4), (0, 0, 0, 2 * E, 4)),
    ("layer_norm", [(6, 6, 4)], dict(axis=(-1,)), (6, 6, 4), (8, 0, 0, 9 * E + 4 * 36, 0)),
    ("layer_norm", [(6, 6, 4)], dict(axis=(1, 2, 3), center=False), (6, 6, 4), (E, 0, 0, 8 * E + 4, 0)),
    ("layer_norm", [(5, 8)], dict(axis=(-1,), rms_scaling=True), (5, 8), (8, 0, 0, 6 * 40 + 3 * 5, 0)),
    ("group_norm", [(6, 6, 4)], dict(groups=2), (6, 6, 4), (8, 0, 0, 6 * E + 4 * 2 + 3 * 4, 0)),
    ("group_norm", [(6, 6, 4)], dict(groups=-1, center=False, scale=False), (6, 6, 4), (0, 0, 0, 6 * E + 5 * 4, 0)),
    ("unit_norm", [(6, 6, 4)], dict(axis=(1, 2)), (6, 6, 4), (0, 0, 0, 3 * E + 2 * 4, 0)),
    ("layer_scale", [(6, 6, 4)], dict(projection_dim=4), (6, 6, 4), (4, 0, 0, E, 0)),
    ("prelu", [(6, 6, 4)], dict(shared_axes=(1, 2)), (6, 6, 4), (4, 0, 0, 3 * E, 4)),
    ("prelu", [(6, 6, 4)], {}, (6, 6, 4), (E, 0, 0, 3 * E, E)),
    ("leaky_relu", [(6, 6, 4)], dict(negative_slope=0.3), (6, 6, 4), (0, 0, 0, 0, 0)),
    ("elu", [(6, 6, 4)], dict(alpha=1.0), (6, 6, 4), (0, 0, 0, 0, 0)),
    ("max_pool1d", [(10, 4)], dict(pool=(3,), strides=(1,)), (8, 4), (0, 0, 0, 3 * 32, 0)),
    ("avg_pool1d", [(10, 4)], dict(pool=(3,), strides=(2,), padding="same"), (5, 4), (0, 0, 0, 3 * 20, 0)),
    ("max_pool3d", [(4, 4, 4, 4)], dict(pool=(2, 2, 2)), (2, 2, 2, 4), (0, 0, 0, 8 * 32, 0)),
    (
        "avg_pool3d",
        [(4, 4, 4, 4)],
        dict(pool=(3, 3, 3), strides=(1, 1, 1), padding="same"),
        (4, 4, 4, 4),
        (0, 0, 0, 27 * 256, 0),
    ),
    ("global_avg_pool1d", [(5, 4)], {}, (4,), (0, 0, 0, 20, 0)),
    ("global_max_pool1d", [(5, 4)], dict(keepdims=True), (1, 4), (0, 0, 0, 0, 0)),
    ("global_avg_pool3d", [(3, 3, 3, 4)], dict(keepdims=True), (1, 1, 1, 4), (0, 0, 0, 108, 0)),
    ("global_max_pool3d", [(3, 3, 3, 4)], {}, (4,), (0, 0, 0, 0, 0)),
    ("subtract", [(6, 6, 4), (1, 1, 4)], {}, (6, 6, 4), (0, 0, 0, E, 0)),
    ("maximum", [(6, 6, 4)] * 3, {}, (6, 6, 4), (0, 0, 0, 2 * E, 0)),
    ("minimum", [(6, 6, 4), (4,)], {}, (6, 6, 4), (0, 0, 0, E, 0)),
    ("average", [(6, 6, 4), (1, 1, 4), (6, 6, 4)], {}, (6, 6, 4), (0, 0, 0, 3 * E, 0)),
    ("scaled_add", [(6, 6, 4), (6, 6, 4)], dict(scale=0.17), (6, 6, 4), (0, 0, 0, 2 * E, 0)),
    ("concat", [(6, 6, 4), (6, 2, 4)], dict(axis=2), (6, 8, 4), (0, 0, 0, 0, 0)),
    ("concat", [(6, 6, 4), (6, 6, 3)], dict(axis=3), (6, 6, 7), (0, 0, 0, 0, 0)),
    ("cropping2d", [(6, 6, 4)], dict(cropping=((1, 0), (2, 1))), (5, 3, 4), (0, 0, 0, 0, 0)),
    ("permute", [(6, 6, 4)], dict(dims=(3, 1, 2)), (4, 6, 6), (0, 0, 0, 0, 0)),
    ("zero_pad1d", [(10, 4)], dict(padding=(1, 2)), (13, 4), (0, 0, 0, 0, 0)),
    ("upsampling2d", [(6, 6, 4)], dict(size=(3, 2), interpolation="nearest"), (18, 12, 4), (0, 0, 0, 0, 2)),
    ("upsampling2d", [(6, 6, 4)], dict(size=(2, 2), interpolation="bilinear"), (12, 12, 4), (0, 0, 0, 0, 0)),
    ("identity", [(6, 6, 4)], {}, (6, 6, 4), (0, 0, 0, 0, 0)),
    ("stochastic_depth", [(6, 6, 4)], dict(rate=0.1), (6, 6, 4), (0, 0, 0, 0, 0)),
    ("matmul", [(3, 6, 8), (3, 5, 8)], dict(transpose_b=True), (3, 6, 5), (0, 0, 90 * 8, 2 * 90 * 8, 0)),
    ("matmul", [(8, 6), (8, 5)], dict(transpose_a=True), (6, 5), (0, 0, 30 * 8, 2 * 30 * 8, 0)),
    ("activation", [(3, 4)], dict(fn="softmax", axis=1), (3, 4), (0, 0, 0, 60, 2)),
    ("activation", [(3, 4)], dict(fn="softmax", axis=-2), (3, 4), (0, 0, 0, 60, 5)),
    ("activation", [(3, 4)], dict(fn="softmax", axis=2), (3, 4), (0, 0, 0, 60, 0)),
]


@pytest.mark.parametrize("op, inputs, attrs, shape, cost", NEW_RULES)
def test_new_rules(op, inputs, attrs, shape, cost):
    graph = Graph("test")
    sources = [graph.add(f"in{i}", "input", shape=s) for i, s in enumerate(inputs)]
    graph.add("layer", op, sources, **attrs)
    one, two = (analyze_graph(graph, batch_size=b).records[-1] for b in (1, 2))
    trainable, non_trainable, macs, flops, fixed = cost
    assert one.output_shape == shape
    assert (one.trainable_params, one.non_trainable_params, one.macs) == (trainable, non_trainable, macs)
    assert (one.flops, two.flops, two.macs) == (flops + fixed, 2 * flops + fixed, 2 * macs)


@pytest.mark.parametrize(
    "op, inputs, attrs, message",
    [
        ("minimum", [(4, 4, 2)], {}, "at least two"),
        ("average", [(4, 4, 2), (4, 4, 3)], {}, "cannot combine"),
        ("conv3d", [(4, 4, 4, 3)], dict(filters=4, kernel=(3, 3, 3), groups=2), "divisible"),
        ("conv1d", [(4, 4, 3)], dict(filters=4, kernel=(3,)), r"\(L, C\)"),
        (
            "conv3d",
            [(2, 5, 5, 3)],
            dict(filters=4, kernel=(3, 3, 3)),
            "kernel 3x3x3 .* collapses its 2x5x5 input to 0x3x3",
        ),
        ("conv2d_transpose", [(4, 4, 3)], dict(filters=4, kernel=(3, 3), padding=1), "'valid' or 'same'"),
        ("group_norm", [(4, 4, 6)], dict(groups=4), "divisible"),
        ("layer_scale", [(4, 4, 6)], dict(projection_dim=4), "cannot scale"),
        ("permute", [(4, 4, 6)], dict(dims=(1, 1, 2)), "permutation"),
        ("cropping2d", [(4, 4, 6)], dict(cropping=((2, 2), (0, 0))), "leaves nothing"),
        ("layer_norm", [(4, 4, 6)], dict(axis=(4,)), "out of range"),
        ("matmul", [(6, 8), (5, 8)], {}, "cannot multiply"),
    ],
)
def test_new_rules_refuse_bad_shapes(op, inputs, attrs, message):
    graph = Graph("bad")
    sources = [graph.add(f"in{i}", "input", shape=s) for i, s in enumerate(inputs)]
    graph.add("layer", op, sources, **attrs)
    with pytest.raises(ModelError, match=message):
        analyze_graph(graph)


def test_upsampling_with_an_unknown_interpolation_is_reported():
    with pytest.raises(UnsupportedOpError, match="gaussian"):
        one_layer("upsampling2d", size=(2, 2), interpolation="gaussian")


def test_an_op_without_a_rule_is_an_error_naming_it():
    with pytest.raises(UnsupportedOpError, match="'layer'.*'fancy_attention'"):
        one_layer("fancy_attention")


def test_a_collapsing_input_names_the_layer():
    with pytest.raises(ModelError, match="'layer'.*too small"):
        one_layer("conv2d", input_shape=(2, 2, 3), filters=4, kernel=(3, 3), padding="valid")


def test_every_rule_has_a_test_here():
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    untested = [op for op in OPS if f'"{op}"' not in source]
    assert not untested, f"ops without a test: {untested}"


def test_graph_refuses_duplicates_and_forward_references():
    graph = Graph("g")
    graph.add("x", "input", shape=(1, 1, 1))
    with pytest.raises(ModelError, match="duplicate"):
        graph.add("x", "input", shape=(1, 1, 1))
    with pytest.raises(ModelError, match="not defined"):
        graph.add("y", "activation", "z", fn="relu")


def test_ops_that_move_values_are_free():
    graph = Graph("moves")
    x = graph.add("x", "input", shape=(6, 6, 4))
    graph.add("halves", "split", x, sections=2, axis=-1)
    graph.add("at_index", "split", x, sections=(1, 4), axis=0)
    graph.add("stacked", "stack", (x, x), axis=0)
    graph.add("wider", "expand_dims", x, axis=-1)
    one = graph.add("one", "input", shape=(1, 6, 1))
    graph.add("narrower", "squeeze", one, axis=None)
    graph.add("tiled", "tile", one, repeats=(2, 1, 3))
    records = {r.name: r for r in analyze_graph(graph).records}
    assert records["halves"].output_shape == (6, 6, 2) and records["at_index"].output_shape == (1, 6, 4)
    assert records["stacked"].output_shape == (2, 6, 6, 4) and records["wider"].output_shape == (6, 6, 4, 1)
    assert records["narrower"].output_shape == (6,) and records["tiled"].output_shape == (2, 6, 3)
    assert all(r.flops == 0 and r.macs == 0 for r in records.values())
    with pytest.raises(ModelError, match="equal parts"):
        one_layer("split", sections=5, axis=-1)


def test_einsum_costs_one_mac_per_combination_of_its_indices():
    graph = Graph("einsum")
    q = graph.add("q", "input", shape=(5, 2, 8))  # (T, N, H) of a sample
    k = graph.add("k", "input", shape=(7, 2, 8))
    graph.add("logits", "einsum", (q, k), equation="btnh,bsnh->bnts")  # b: the batch, in no sample's shape
    r = next(r for r in analyze_graph(graph).records if r.name == "logits")
    assert r.output_shape == (2, 5, 7) and r.macs == 5 * 7 * 2 * 8 and r.flops == 2 * r.macs


def test_einsum_dense_embedding_and_attention():
    r = one_layer(
        "einsum_dense", input_shape=(10, 16), equation="abc,cde->abde", output_shape=(-1, 2, 8), bias_axes="de"
    )
    assert r.output_shape == (10, 2, 8) and r.macs == 10 * 16 * 16 and r.trainable_params == 16 * 16 + 16
    assert r.flops == 2 * r.macs + 10 * 16
    r = one_layer("embedding", input_shape=(7,), input_dim=50, output_dim=4)
    assert (r.output_shape, r.trainable_params, r.flops) == ((7, 4), 200, 14)
    graph = Graph("attention")
    q = graph.add("q", "input", shape=(5, 2, 8))
    kv = graph.add("kv", "input", shape=(7, 2, 8))
    graph.add("attention", "dot_product_attention", (q, kv, kv))
    graph.add("scaled", "dot_product_attention", (q, kv, kv), scaled=True)
    records = {r.name: r for r in analyze_graph(graph, batch_size=2).records}
    logits = 2 * 5 * 7
    r = records["scaled"]
    assert r.output_shape == (5, 2, 8) and r.macs == 2 * 2 * logits * 8 and r.flops == 2 * r.macs + 2 * 6 * logits
    assert records["attention"].flops == r.flops + 1  # 1 / sqrt(8) once per call


def test_a_weight_node_carries_its_params():
    graph = Graph("weights")
    graph.add("gamma", "weight", shape=(8,), trainable=True)
    graph.add("steps", "weight", shape=(), trainable=False)
    records = {r.name: r for r in analyze_graph(graph).records}
    assert (records["gamma"].trainable_params, records["steps"].non_trainable_params) == (8, 1)


@pytest.mark.parametrize(
    "op, per_element",
    [
        ("exp", 0),
        ("sqrt", 0),
        ("rsqrt", 2),
        ("log", 1),
        ("square", 1),
        ("reciprocal", 1),
        ("negative", 1),
        ("abs", 0),
        ("erf", 0),
        ("sin", 0),
        ("cos", 0),
    ],
)
def test_elementwise_functions_cost_what_the_profiler_counts(op, per_element):
    r = one_layer(op)
    assert (r.output_shape, r.flops) == ((9, 11, 6), per_element * 9 * 11 * 6)


def test_clip_power_min_and_prod():
    assert one_layer("clip", x_min=0.0, x_max=1.0).flops == 2 * 9 * 11 * 6
    assert one_layer("power", inputs=2).flops == 9 * 11 * 6
    r = one_layer("min", axis=(2,), keepdims=False)
    assert (r.output_shape, r.flops) == ((9, 11), 0)
    assert one_layer("prod", axis=None, keepdims=False).output_shape == ()


def test_index_takes_numpys_shape_at_no_cost():
    r = one_layer("index", input_shape=(17, 16), key=(("index", 0),))
    assert (r.output_shape, r.flops) == ((16,), 0)
    r = one_layer("index", key=(("...",), ("slice", None, 3, None)))
    assert r.output_shape == (9, 11, 3)
    r = one_layer("index", key=(("new",), ("slice", 2, None, 2)))
    assert r.output_shape == (1, 4, 11, 6)
    with pytest.raises(ModelError, match="cannot index"):
        one_layer("index", key=(("index", 20),))
