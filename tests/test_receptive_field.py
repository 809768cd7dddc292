"""Receptive fields: cases computed by hand, the published figures of Araujo, Norris and Sim, and every
layer of six keras.applications models against their library run on the frozen graph of the same model.

The library (tests/receptive_field_library, copied unchanged) walks a TF1 GraphDef backwards from one
output node. Its parser expects TF1 names: a conv's kernel read as ``<name>/read`` from a variable or a
constant, a pad's widths in a constant named ``<name>/paddings``. ``tf1_names`` gives the frozen Keras 3
graph those names and nothing else: it keeps the nodes that depend on the image (the data path), links
each conv to a constant of its kernel's shape and each pad to a copy of its widths, and drops the other
constant operands (biases, batch-norm factors), which carry no receptive field.
"""

from __future__ import annotations

import collections
import gc
import re
import sys

import pytest
from reference import RF_FIGURES, RF_PRESET_STAGES

import archviz
from archviz.core.analysis import analyze_graph
from archviz.core.graph import Graph
from archviz.ops.field import GLOBAL, Field

# ---- cases computed by hand -------------------------------------------------------------------------


def fields(graph: Graph) -> dict:
    summary = analyze_graph(graph)
    return {record.name: record.receptive_field for record in summary.records}


def test_dilation_3x3_rate_2_sees_5():
    graph = Graph("dilated")
    graph.add(
        "conv", "conv2d", graph.add("x", "input", shape=(32, 32, 3)), kernel=3, dilation=2, filters=8, padding="same"
    )
    assert fields(graph)["conv"] == Field((5, 5), (1, 1), (2, 2))


@pytest.mark.parametrize(
    "size, before",
    [
        (7, 1),  # odd: total (4 - 1) * 2 + 3 - 7 = 2, one pixel on each side
        (8, 0),  # even: total 1, the extra pixel at the end (TensorFlow's rule)
    ],
)
def test_same_padding_depends_on_the_input_size(size, before):
    graph = Graph("same")
    x = graph.add("x", "input", shape=(size, size + 1, 3))
    graph.add("conv", "conv2d", x, kernel=3, strides=2, filters=4, padding="same")
    other = 1 if before == 0 else 0  # the width is the other parity
    assert fields(graph)["conv"] == Field((3, 3), (2, 2), (before, other))


def test_even_kernel_same_padding_puts_the_extra_pixel_at_the_end():
    graph = Graph("even")
    graph.add("pool", "max_pool2d", graph.add("x", "input", shape=(6, 6, 1)), pool=2, strides=1, padding="same")
    assert fields(graph)["pool"] == Field((2, 2), (1, 1), (0, 0))


def test_explicit_and_valid_padding_and_cropping():
    graph = Graph("pads")
    x = graph.add("x", "input", shape=(16, 16, 3))
    x = graph.add("pad", "zero_pad2d", x, padding=((3, 1), (2, 2)))
    x = graph.add("conv", "conv2d", x, kernel=(7, 5), strides=2, filters=4, padding="valid")
    x = graph.add("pool", "avg_pool2d", x, pool=3, strides=2, padding=((1, 1), (1, 1)))
    graph.add("crop", "cropping2d", x, cropping=((1, 0), (0, 0)))
    got = fields(graph)
    assert got["pad"] == Field((1, 1), (1, 1), (3, 2))
    assert got["conv"] == Field((7, 5), (2, 2), (3, 2))
    assert got["pool"] == Field((11, 9), (4, 4), (5, 4))  # 7 + 2 * 2; padding 3 + 1 * 2
    assert got["crop"] == Field((11, 9), (4, 4), (1, 4))  # one row of stride 4 cropped before


def _projection_block(size: int) -> Graph:
    """A strided residual block: 3x3/2 and 3x3 'same' convs, a strided 1x1 projection shortcut."""
    graph = Graph("projection")
    x = graph.add("x", "input", shape=(size, size, 8))
    a = graph.add("conv1", "conv2d", x, kernel=3, strides=2, filters=16, padding="same")
    a = graph.add("relu", "activation", a, fn="relu")
    a = graph.add("conv2", "conv2d", a, kernel=3, filters=16, padding="same")
    s = graph.add("shortcut", "conv2d", x, kernel=1, strides=2, filters=16, padding="valid")
    graph.add("add", "add", (a, s))
    return graph


def test_a_strided_1x1_projection_shortcut_is_aligned_on_an_odd_input():
    # main: 3 + 2 * 2 = 7, stride 2, padding 1 + 1 * 2 = 3 (centre 0); shortcut: 1, stride 2, padding 0 (centre 0)
    summary = analyze_graph(_projection_block(7))
    got = {r.name: r.receptive_field for r in summary.records}
    assert got["shortcut"] == Field((1, 1), (2, 2), (0, 0))
    assert got["add"] == Field((7, 7), (2, 2), (3, 3))
    assert summary.field_notes == []


def test_paths_not_aligned_get_the_largest_value_and_a_note():
    # on an even input 'same' pads the 3x3/2 conv at the end only: the main path is centred on pixel 1
    summary = analyze_graph(_projection_block(8))
    assert summary.records[-1].receptive_field == Field((7, 7), (2, 2), (2, 2))
    (note,) = summary.field_notes
    assert "'add'" in note and "centred on different input pixels" in note and "height and width: 0 and 1" in note


def test_paths_with_different_strides_get_a_note_not_an_exception():
    graph = Graph("strides")
    x = graph.add("x", "input", shape=(8, 8, 2))
    a = graph.add("a", "max_pool2d", x, pool=2, padding="valid")
    b = graph.add("b", "max_pool2d", x, pool=(2, 1), strides=(2, 1), padding="valid")
    graph.add("sum", "concat", (a, graph.add("b_cut", "cropping2d", b, cropping=((0, 0), (0, 4)))))
    summary = analyze_graph(graph)
    assert summary.records[-1].receptive_field == Field((2, 2), (2, 2), (0, 0))
    assert "different effective strides (2 and 2x1)" in summary.field_notes[0]


def test_global_after_pooling_flatten_and_squeeze_excite():
    graph = Graph("global")
    x = graph.add("x", "input", shape=(8, 8, 4))
    x = graph.add("conv", "conv2d", x, kernel=3, filters=4, padding="same")
    pooled = graph.add("gap", "global_avg_pool2d", x)
    gate = graph.add("fc", "dense", pooled, units=4)
    gate = graph.add("gate", "reshape", gate, target_shape=(1, 1, 4))
    graph.add("excite", "multiply", (x, gate))
    graph.add("flat", "flatten", x)
    graph.add("per_position", "dense", x, units=2)  # a dense layer on a feature map is a 1x1 conv
    got = fields(graph)
    assert got["conv"] == Field((3, 3), (1, 1), (1, 1))
    assert got["gap"] == got["fc"] == got["gate"] == got["excite"] == got["flat"] == GLOBAL
    assert got["per_position"] == got["conv"]


def test_the_model_s_field_is_its_last_feature_map_s():
    graph = Graph("gated", record=archviz.core.record.ModelRecord(input_shape=(8, 8, 4)))
    x = graph.add("conv", "conv2d", graph.add("x", "input", shape=(8, 8, 4)), kernel=3, filters=4, padding="same")
    last = graph.add("last", "conv2d", x, kernel=3, filters=4, padding="same")
    pooled = graph.add("gap", "global_avg_pool2d", last, keepdims=True)  # 1x1: not a feature map of positions
    graph.add("head", "conv2d", pooled, kernel=1, filters=2)
    assert analyze_graph(graph).receptive_field == Field((5, 5), (1, 1), (2, 2))
    excited = graph.add("excite", "multiply", (last, pooled))  # a squeeze-excite gate: the map sees everything
    graph.add("pool2", "global_avg_pool2d", excited)
    summary = analyze_graph(graph)
    assert summary.last_spatial.name == "excite" and summary.receptive_field == GLOBAL
    assert summary.field_lines() == []


def test_an_op_with_no_rule_makes_what_follows_unknown_and_is_listed():
    graph = Graph("unknown")
    x = graph.add("x", "input", shape=(8, 8, 4))
    x = graph.add("up", "upsampling2d", x, size=2)
    x = graph.add("conv", "conv2d", x, kernel=3, filters=4, padding="same")
    graph.add("bn", "batch_norm", x)
    summary = analyze_graph(graph)
    assert [r.receptive_field for r in summary.records[1:]] == [None, None, None]
    assert summary.field_unknown == {"upsampling2d": ["up"]}  # where it became unknown, once
    assert summary.to_dict()["layers"][-1]["receptive_field"] is None
    assert summary.to_dict()["receptive_field_unknown"] == {"upsampling2d": ["up"]}


def test_every_op_has_a_rule_or_is_known_to_have_none():
    """An op without a rule is a deliberate gap, listed here; a new op must choose."""
    from archviz.ops import OPS
    from archviz.ops.field import field_rule

    missing = {name for name, op in OPS.items() if field_rule(op) is None}
    assert missing == {
        *("transpose", "permute", "matmul", "einsum", "einsum_dense", "dot_product_attention", "embedding"),
        *("split", "expand_dims", "squeeze", "tile", "index", "weight", "upsampling2d"),
        *("conv1d_transpose", "conv2d_transpose", "conv3d_transpose"),
    }


@pytest.mark.parametrize("kernel", range(1, 8))
@pytest.mark.parametrize("stride", range(1, 5))
def test_same_padding_of_an_open_size_is_known_only_where_every_size_gives_it(kernel, stride):
    from archviz.ops.field import window

    def padding(size):
        start = Field((1,), (1,), (0,))
        return window("kernel")({"kernel": kernel, "strides": stride, "padding": "same"}, [(size, 1)], [start]).padding

    every = {padding(size) for size in range(kernel, 64)}
    assert padding(-1) == (every.pop() if len(every) == 1 else None)
    assert padding(-1) is not None or stride > 1  # a stride of 1 always pads (k - 1) // 2 first


@pytest.mark.tf
def test_an_open_input_size_leaves_only_the_padding_unknown():
    keras = pytest.importorskip("keras")
    x = keras.Input((None, None, 3))
    y = keras.layers.Conv2D(4, 3, padding="same", name="flat")(x)  # pads 1 whatever the size
    y = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="down")(y)  # pads by the size's parity
    y = keras.layers.GlobalAveragePooling2D(name="gap")(y)
    summary = archviz.analyze(keras.Model(x, y))
    got = {record.name: record.receptive_field for record in summary.records}
    assert got["flat"] == Field((3, 3), (1, 1), (1, 1))
    assert got["down"] == Field((5, 5), (2, 2), None)
    assert got["gap"] == GLOBAL
    assert summary.to_dict()["layers"][2]["receptive_field"] == {"size": [5, 5], "stride": [2, 2], "padding": None}


# ---- the zoo, the JSON record, the table, the notes ---------------------------------------------------------


@pytest.mark.parametrize("preset", sorted(RF_PRESET_STAGES))
def test_preset_stage_ends_at_224(preset):
    summary = archviz.analyze(preset)
    got = [(r.receptive_field.size, r.receptive_field.stride) for r in summary.stage_rows()]
    assert got == [((size, size), (stride, stride)) for size, stride in RF_PRESET_STAGES[preset]]


def test_input_shape_changes_the_padding(run_cli):
    import json

    spec = "examples/specs/seed000_resnet18.toml"  # 'same' padding everywhere
    records = {}
    for size in (224, 225):
        code, out, _ = run_cli(
            "summary", spec, "--input-shape", f"{size},{size},3", "--depth", "stages", "--format", "json"
        )
        assert code == 0
        records[size] = {layer["name"]: layer["receptive_field"] for layer in json.loads(out)["layers"]}
    assert records[224]["stem"] == {"size": [11, 11], "stride": [4, 4], "padding": [2, 2]}
    assert records[225]["stem"] == {"size": [11, 11], "stride": [4, 4], "padding": [5, 5]}  # 3 + 1 * 2
    assert records[224]["head"] == "global"


def test_the_summary_shows_an_rf_column_and_the_json_record(run_cli):
    import json

    code, out, _ = run_cli("summary", "resnet50", "--depth", "stages")
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("Layer"))
    assert header.split()[-1] == "RF"
    layer4 = next(line for line in out.splitlines() if line.startswith("layer4"))
    assert layer4.split()[-1] == "483"
    assert next(line for line in out.splitlines() if line.startswith("head")).split()[-1] == "global"
    code, out, _ = run_cli("summary", "resnet50", "--format", "json")
    record = json.loads(out)
    assert record["totals"]["receptive_field"] == {"size": [483, 483], "stride": [32, 32], "padding": [241, 241]}
    conv = next(layer for layer in record["layers"] if layer["name"] == "stem.conv1")
    assert conv["receptive_field"] == {"size": [7, 7], "stride": [2, 2], "padding": [3, 3]}
    code, out, _ = run_cli("summary", "resnet50", "--format", "csv", "--depth", "stages")
    assert out.splitlines()[0].endswith(",receptive_field") and out.splitlines()[-2].endswith(",483")


def test_height_and_width_that_differ_read_h_x_w():
    from archviz.render.text import render_table

    graph = Graph("wide")
    graph.add("conv", "conv2d", graph.add("x", "input", shape=(40, 120, 3)), kernel=(3, 9), filters=2)
    row = next(line for line in render_table(analyze_graph(graph)).splitlines() if line.startswith("conv"))
    assert row.split()[-1] == "3x9"


def test_compare_shows_each_model_s_last_stage_field(run_cli):
    code, out, _ = run_cli("compare", "resnet18", "resnet50")
    assert code == 0
    header, *rows = [line for line in out.splitlines() if line.startswith(("Model", "resnet"))][:3]
    assert header.split()[-1] == "RF"
    assert [row.split()[-1] for row in rows] == ["435", "483"]


def test_notes_when_the_field_is_smaller_or_much_larger_than_the_input(run_cli):
    code, out, _ = run_cli("summary", "resnet152")
    assert "layer4.block3.relu sees 1507x1507, more than 4 times the 224x224 input" in out
    code, out, _ = run_cli("summary", "resnet50")
    assert "Receptive field:" not in out  # 483 at 224: larger, not much larger
    graph = Graph("small", record=archviz.core.record.ModelRecord(input_shape=(32, 32, 3)))
    x = graph.add("conv", "conv2d", graph.add("x", "input", shape=(32, 32, 3)), kernel=3, filters=2)
    graph.add("gap", "global_avg_pool2d", x)
    (note,) = analyze_graph(graph).field_lines()
    assert (
        note
        == "Receptive field: conv sees 3x3 of the 32x32 input: the network cannot see the whole image before pooling"
    )


# ---- keras.applications: the published figures and the library, layer by layer ---------------------------

MODELS = ["ResNet50", "ResNet50V2", "MobileNetV2", "VGG16", "InceptionV3", "DenseNet121"]


def _clean(name: str) -> str:
    return name.lstrip("^").split(":")[0]


def tf1_names(graph_def):
    """The data path of a frozen graph, with the names the library's parser expects (module docstring)."""
    import tensorflow as tf

    nodes = {n.name: n for n in graph_def.node}
    placeholder = next(n.name for n in graph_def.node if n.op == "Placeholder")
    consumers = collections.defaultdict(list)
    for node in graph_def.node:
        for name in node.input:
            consumers[_clean(name)].append(node.name)
    data, queue = {placeholder}, [placeholder]
    while queue:
        for consumer in consumers[queue.pop()]:
            if consumer not in data:
                data.add(consumer)
                queue.append(consumer)
    out = tf.compat.v1.GraphDef()
    for node in graph_def.node:
        if node.name not in data:
            continue
        copy = out.node.add()
        copy.CopyFrom(node)
        del copy.input[:]
        for index, name in enumerate(node.input):
            source = _clean(name)
            if source in data:
                copy.input.append(source)
            elif index == 1 and node.op in ("Conv2D", "DepthwiseConv2dNative"):
                kernel = nodes[source]
                while kernel.op != "Const":  # the frozen variable, behind its reads
                    kernel = nodes[_clean(kernel.input[0])]
                weights = out.node.add(name=f"{node.name}/weights", op="Const")
                weights.attr["value"].tensor.tensor_shape.CopyFrom(kernel.attr["value"].tensor.tensor_shape)
                out.node.add(name=f"{node.name}/weights/read", op="Identity", input=[weights.name])
                copy.input.append(f"{node.name}/weights/read")
            elif index == 1 and node.op == "Pad":
                widths = out.node.add()
                widths.CopyFrom(nodes[source])
                widths.name = f"{node.name}/paddings"
                copy.input.append(widths.name)
    return out, placeholder


@pytest.fixture(scope="module", params=MODELS)
def keras_model(request):
    """(name, archviz's summary, the library's graph and input node, each Keras layer's output node, size)."""
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    from archviz.backend.profiler import frozen_graph

    model = getattr(keras.applications, request.param)(weights=None)
    summary = archviz.analyze(model)
    graph_def, placeholder = tf1_names(frozen_graph(model).as_graph_def())
    scope = next(n.name for n in graph_def.node if "/" in n.name).split("/")[0]
    outputs = {}  # a Keras layer -> the last node of its name scope on the data path
    for node in graph_def.node:
        found = re.match(re.escape(scope) + r"/(.+)_\d+/", node.name)
        if found and node.op != "Const" and not node.name.endswith("/weights/read"):
            outputs[found.group(1)] = node.name
    size = list(model.input_shape[1:3])
    del model
    keras.backend.clear_session()
    gc.collect()
    yield request.param, summary, graph_def, placeholder, outputs, size


@pytest.mark.tf
@pytest.mark.slow
def test_published_figures(keras_model):
    name, summary, *_ = keras_model
    figures = RF_FIGURES.get(name, {})
    records = {record.name: record.receptive_field for record in summary.records}
    for layer, (_, size, stride, padding) in figures.items():
        field = records[layer]
        assert field.size == (size, size) and field.stride == (stride, stride), layer
        if padding is not None:
            assert field.padding == (padding, padding), layer


@pytest.mark.tf
@pytest.mark.slow
def test_every_layer_equals_the_library_on_the_frozen_graph(keras_model):
    from receptive_field_library import receptive_field_computation

    name, summary, graph_def, placeholder, outputs, size = keras_model
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))  # the library orders the graph recursively (DenseNet is deep)
    checked, after_pooling = 0, 0
    try:
        for record in summary.records:
            field = record.receptive_field
            if record.name not in outputs:  # no node of its own: the input, an identity at inference
                continue
            if field == GLOBAL:  # the library stops at global pooling; archviz goes on
                after_pooling += 1
                continue
            assert isinstance(field, Field), f"{name}: {record.name} has no receptive field"
            got = receptive_field_computation.compute_receptive_field_from_graph_def(
                graph_def, placeholder, outputs[record.name], input_resolution=size
            )
            width, height, stride_x, stride_y, padding_x, padding_y = got
            expected = Field((height, width), (stride_y, stride_x), (padding_y, padding_x))
            assert field == expected, f"{name}: {record.name}"
            checked += 1
    finally:
        sys.setrecursionlimit(limit)
    assert checked > 0.8 * len(summary.records) - after_pooling - 2
    assert after_pooling >= 1
