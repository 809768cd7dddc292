"""One test per rule of the op table: output shape, params, MACs and FLOPs of small hand-made graphs."""

import pytest

from archviz.analysis import analyze_graph
from archviz.errors import ModelError, UnsupportedOpError
from archviz.graph import Graph
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
    r = one_layer("conv2d", input_shape=(224, 224, 3), filters=64, kernel=(7, 7), strides=(2, 2),
                  padding=((3, 3), (3, 3)), use_bias=False)
    assert r.output_shape == (112, 112, 64)
    assert r.macs == 118_013_952


def test_conv2d_dilation():
    r = one_layer("conv2d", filters=2, kernel=(3, 3), dilation=(2, 2), padding="valid", use_bias=False)
    assert r.output_shape == (5, 7, 2)


def test_grouped_conv_divides_weights_and_macs():
    dense = one_layer("conv2d", input_shape=(8, 8, 32), filters=32, kernel=(3, 3), padding="same", use_bias=False)
    grouped = one_layer("conv2d", input_shape=(8, 8, 32), filters=32, kernel=(3, 3), padding="same",
                        use_bias=False, groups=8)
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


@pytest.mark.parametrize("fn, per_element", [("relu", 0), ("relu6", 0), ("sigmoid", 0), ("tanh", 0),
                                              ("linear", 0), ("softmax", 5), ("swish", 2)])
def test_activations(fn, per_element):
    r = one_layer("activation", fn=fn)
    assert r.output_shape == (9, 11, 6)
    assert r.params == 0 and r.macs == 0
    assert r.flops == per_element * 9 * 11 * 6


def test_unknown_activation_is_reported():
    with pytest.raises(UnsupportedOpError, match="gelu"):
        one_layer("activation", fn="gelu")


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


def test_an_op_without_a_rule_is_an_error_naming_it():
    with pytest.raises(UnsupportedOpError, match="'layer'.*'fancy_attention'"):
        one_layer("fancy_attention")


def test_a_collapsing_input_names_the_layer():
    with pytest.raises(ModelError, match="'layer'.*too small"):
        one_layer("conv2d", input_shape=(2, 2, 3), filters=4, kernel=(3, 3), padding="valid")


def test_every_rule_has_a_test_here():
    import inspect, sys

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
