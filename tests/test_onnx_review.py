"""ONNX files that break ONNX's rules or archviz's counting, found in review: each is refused in one line
(exit 1, no traceback, bounded time and memory) or counted exactly; never a wrong total shown as complete."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402
from onnx_models import model, save, weight  # noqa: E402
from test_resource_bounds import archviz as limited_cli  # noqa: E402
from test_resource_bounds import one_line  # noqa: E402

import archviz  # noqa: E402
from archviz.errors import ArchvizError  # noqa: E402
from archviz.sources.onnx import load_onnx  # noqa: E402

N = helper.make_node


def one_line_failure(run_cli, *args, code=1):
    status, out, err = run_cli("summary", *args)
    assert status == code, (status, out, err)
    assert err.count("\n") == 1 and err.startswith("archviz: error: ") and "Traceback" not in err, err
    return err


def conv(tmp_path, w_shape=(4, 3, 3, 3), x_shape=(1, 3, 8, 8), name="m.onnx", **attrs):
    nodes = [N("Conv", ["x", "w"], ["y"], name="c", **attrs)]
    return save(model(nodes, list(x_shape), initializers=[weight("w", w_shape)]), tmp_path / name)


# ---- 1, 2: bounded before the slow part ------------------------------------------------------------------


def test_nested_model_local_functions_are_refused_at_once(tmp_path):
    """15 functions, each calling the one before 3 times: 14 million Relus from a 2 KB file."""
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("evil", 1)]
    functions = [helper.make_function("evil", "F0", ["a"], ["b"], [N("Relu", ["a"], ["b"])], opsets[:1])]
    for level in range(1, 15):
        calls = [N(f"F{level - 1}", [a], [b], domain="evil") for a, b in (("a", "m"), ("m", "n"), ("n", "b"))]
        functions.append(helper.make_function("evil", f"F{level}", ["a"], ["b"], calls, opsets))
    graph = helper.make_graph(
        [N("F14", ["x"], ["y"], domain="evil", name="top")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    built = helper.make_model(graph, opset_imports=opsets, functions=functions)
    built.ir_version = 8
    path = save(built, tmp_path / "functions.onnx")
    assert path.stat().st_size < 4000
    assert "model-local functions" in one_line(limited_cli("summary", path, cwd=tmp_path), 1)


def test_a_node_name_of_100000_path_parts_is_one_line_in_little_memory(tmp_path):
    nodes = [N("Relu", ["x"], ["y"], name="/a" * 100_000 + "/Relu")]
    path = save(model(nodes, [1, 3, 8, 8]), tmp_path / "deep.onnx")
    assert "path parts" in one_line(limited_cli("summary", path, cwd=tmp_path), 1)


# ---- 3-5, 7, 17: a conv's and a pool's settings ----------------------------------------------------------

small = st.integers(-2, 4)


@settings(max_examples=60, deadline=None)
@given(
    stride=small,
    dilation=small,
    group=st.sampled_from([-3, 0, 1, 2, 3, 4]),
    pad=st.integers(-1, 2),
    kernel=st.integers(0, 3),
)
def test_conv_settings_are_counted_exactly_or_refused_naming_the_node(
    tmp_path_factory, stride, dilation, group, pad, kernel
):
    """Strides, dilations, kernel below 1, a group below 1 or not dividing the channels, negative pads: one
    line naming the node. Valid ones: MACs exactly out size x filters x fan-in, never negative."""
    channels, filters = 4, 4
    valid = min(stride, dilation, kernel, pad + 1) >= 1 and group >= 1 and channels % group == 0
    w_shape = (filters, channels // group if group >= 1 and channels % group == 0 else 1, kernel, kernel)
    try:
        path = conv(
            tmp_path_factory.mktemp("conv"),
            w_shape=w_shape,
            x_shape=(1, channels, 9, 9),
            strides=[stride] * 2,
            dilations=[dilation] * 2,
            group=group,
            pads=[pad] * 4,
        )
        summary = archviz.analyze(path)
    except ArchvizError as error:
        message = str(error)
        assert message and "\n" not in message
        if valid:  # the only valid settings refused are those whose window does not fit the input
            assert "collapses" in message or "shape inference failed" in message, message
        else:
            assert "'c'" in message or "shape inference failed" in message, message
        return
    assert valid, (stride, dilation, group, pad, kernel)
    out = summary.records[-1].output_shape
    assert summary.macs == math.prod(out) * (channels // group) * kernel * kernel >= 0
    assert summary.params == math.prod(w_shape)


@pytest.mark.parametrize(
    "attrs, found",
    [
        ({"strides": [0, 0]}, "strides (0, 0)"),
        ({"dilations": [-1, -1]}, "dilations (-1, -1)"),
        ({"dilations": [0, 0]}, "dilations (0, 0)"),
        ({"group": 0}, "group 0"),
        ({"group": -3}, "group -3"),
        ({"pads": [-1, -1, -1, -1]}, "pads (-1, -1, -1, -1)"),
    ],
)
def test_bad_conv_settings_are_one_line(run_cli, tmp_path, attrs, found):
    w_shape = (3, 1, 3, 3) if attrs.get("group") == -3 else (4, 3, 3, 3)
    err = one_line_failure(run_cli, conv(tmp_path, w_shape=w_shape, **attrs))
    assert "node 'c' (Conv)" in err and found in err


@pytest.mark.parametrize("attrs", [{"kernel_shape": [0, 0]}, {"kernel_shape": [2, 2], "strides": [0, 0]}])
def test_bad_pool_settings_are_one_line(run_cli, tmp_path, attrs):
    nodes = [N("MaxPool", ["x"], ["y"], name="p", **attrs)]
    path = save(model(nodes, [1, 3, 8, 8]), tmp_path / "m.onnx")
    assert "node 'p' (MaxPool)" in one_line_failure(run_cli, path)


def test_an_empty_gemm_weight_is_one_line(run_cli, tmp_path):
    nodes = [N("Flatten", ["x"], ["f"], name="f"), N("Gemm", ["f", "w"], ["y"], name="g", transB=1)]
    built = model(nodes, [1, 3, 1, 1], initializers=[weight("w", (5, 0))])
    assert "node 'g' (Gemm)" in one_line_failure(run_cli, save(built, tmp_path / "m.onnx"))


def test_a_kernel_larger_than_its_input_is_one_line(run_cli, tmp_path):
    err = one_line_failure(run_cli, conv(tmp_path, w_shape=(4, 3, 20, 20)))
    assert "collapses its 8x8 input" in err
    pool = [N("MaxPool", ["x"], ["y"], name="p", kernel_shape=[100, 100])]
    err = one_line_failure(run_cli, save(model(pool, [1, 3, 8, 8]), tmp_path / "pool.onnx"))
    assert "node 'p' (MaxPool)" in err and "collapses its 8x8 input" in err


def _same_lower_pads(tmp_path, op, x_shape, kernel, **attrs):
    """(archviz's padding, the output of the SAME_LOWER node and of the node with those explicit pads, by
    onnx.reference)."""
    inits = [weight("w", (2, x_shape[1], kernel, kernel))] if op == "Conv" else []
    inputs = ["x", "w"] if op == "Conv" else ["x"]
    extra = {} if op == "Conv" else {"kernel_shape": [kernel, kernel]}
    built = model(
        [N(op, inputs, ["y"], name="n", auto_pad="SAME_LOWER", **extra, **attrs)], list(x_shape), initializers=inits
    )
    path = save(built, tmp_path / "lower.onnx")
    summary = archviz.analyze(path)
    padding = load_onnx(path)["n"].attrs["padding"]
    pads = [p[0] for p in padding] + [p[1] for p in padding]
    explicit = model([N(op, inputs, ["y"], name="n", pads=pads, **extra, **attrs)], list(x_shape), initializers=inits)
    x = np.random.default_rng(0).standard_normal(x_shape).astype(np.float32)
    run = [ReferenceEvaluator(m).run(None, {"x": x})[0] for m in (built, explicit)]
    return padding, run, summary


def test_same_lower_puts_the_odd_pixel_first(tmp_path):
    padding, (lower, explicit), summary = _same_lower_pads(
        tmp_path, "Conv", (1, 3, 8, 8), 3, strides=[2, 2], dilations=[2, 2]
    )
    assert padding == ((2, 1), (2, 1)) and np.allclose(lower, explicit)
    assert summary.records[-1].output_shape == (4, 4, 2)
    # onnx.reference's pools ignore SAME_LOWER (its 3x3 output contradicts ONNX's shape inference, 4x4):
    # the explicit pads' output is checked against numpy's max over the windows, the odd pixel first
    padding, (_, explicit), summary = _same_lower_pads(tmp_path, "MaxPool", (1, 3, 7, 7), 2, strides=[2, 2])
    x = np.random.default_rng(0).standard_normal((1, 3, 7, 7)).astype(np.float32)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 0), (1, 0)), constant_values=-np.inf)
    windows = padded.reshape(1, 3, 4, 2, 4, 2).max(axis=(3, 5))
    assert padding == ((1, 0), (1, 0)) and np.array_equal(explicit, windows)
    assert summary.records[-1].output_shape == (4, 4, 3)


# ---- 6, 8: values and dims of constants ---------------------------------------------------------------


def test_a_clip_bound_of_an_unknown_data_type_is_no_traceback(tmp_path):
    bound = numpy_helper.from_array(np.array(0.0, dtype=np.float32), "lo")
    bound.data_type = 99
    nodes = [N("Clip", ["x", "lo"], ["y"], name="cl")]
    path = save(model(nodes, [1, 3, 8, 8], initializers=[bound]), tmp_path / "m.onnx")
    try:
        summary = archviz.analyze(path)
    except ArchvizError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert summary.params == 0


@pytest.mark.parametrize("consumer", ["Conv", "Add"])
def test_constant_nodes_with_negative_dims_are_one_line(run_cli, tmp_path, consumer):
    dims = (-4, 3, 3, 3) if consumer == "Conv" else (1, -3, -8, -8)
    value = helper.make_tensor("k", TensorProto.FLOAT, [1], [0.0])
    value.ClearField("dims")
    value.dims.extend(dims)
    nodes = [N("Constant", [], ["k"], name="k", value=value), N(consumer, ["x", "k"], ["y"], name="a")]
    path = save(model(nodes, [1, 3, 8, 8]), tmp_path / "m.onnx")
    err = one_line_failure(run_cli, path)
    assert "negative dimension" in err


# ---- 9-12: what counts as params and MACs ------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(sizes=st.lists(st.integers(1, 4), min_size=2, max_size=4), pick=st.integers(0, 3))
def test_each_output_of_an_uneven_split_has_its_own_shape(tmp_path_factory, sizes, pick):
    """A Conv on any piece of Split [s0, s1, ...] counts that piece's channels."""
    pick %= len(sizes)
    pieces = [f"p{i}" for i in range(len(sizes))]
    split = numpy_helper.from_array(np.array(sizes, dtype=np.int64), "sizes")
    nodes = [
        N("Split", ["x", "sizes"], pieces, name="s", axis=1),
        N("Conv", [pieces[pick], "w"], ["y"], name="c", pads=[1, 1, 1, 1]),
    ]
    w = weight("w", (4, sizes[pick], 3, 3))
    built = model(nodes, [1, sum(sizes), 8, 8], initializers=[split, w], outputs=["y"], opset=18)
    summary = archviz.analyze(save(built, tmp_path_factory.mktemp("split") / "m.onnx"))
    assert summary.macs == 8 * 8 * 4 * sizes[pick] * 9 and summary.macs_complete
    assert summary.params == 4 * sizes[pick] * 9 + 0


def _through(kind):
    """A Conv whose weight reaches it through a node: Cast of float16, DequantizeLinear of int8, Identity."""
    if kind == "Cast":
        stored = weight("w16", (4, 3, 3, 3), np.float16)
        return [stored], [N("Cast", ["w16"], ["w"], name="cast", to=TensorProto.FLOAT)]
    if kind == "DequantizeLinear":
        stored = weight("wq", (4, 3, 3, 3), np.int8, values=[1] * 108)
        scale = numpy_helper.from_array(np.array(0.1, dtype=np.float32), "scale")
        return [stored, scale], [N("DequantizeLinear", ["wq", "scale"], ["w"], name="dq")]
    stored = weight("w0", (4, 3, 3, 3))
    return [stored], [N("Identity", ["w0"], ["w1"], name="i1"), N("Identity", ["w1"], ["w"], name="i2")]


@pytest.mark.parametrize("kind", ["Cast", "DequantizeLinear", "Identity"])
def test_a_weight_reached_through_a_node_is_counted_once(tmp_path, kind):
    inits, chain = _through(kind)
    nodes = [
        *chain,
        N("Conv", ["x", "w"], ["a"], name="c1", pads=[1, 1, 1, 1]),
        N("Conv", ["a", "w"], ["y"], name="c2", pads=[1, 1, 1, 1], strides=[2, 2]),  # the same weight again
    ]
    built = model(nodes, [1, 3, 8, 8], initializers=inits)
    summary = archviz.analyze(save(built, tmp_path / "m.onnx"))
    assert summary.params == 108
    assert summary.macs == 8 * 8 * 4 * 27 + 4 * 4 * 4 * 27 * 4 // 3


def test_a_refused_resize_counts_no_settings_as_params(tmp_path):
    scales = numpy_helper.from_array(np.array([1, 1, 1.5, 1.5], dtype=np.float32), "scales")
    nodes = [N("Resize", ["x", "", "scales"], ["y"], name="rs")]
    summary = archviz.analyze(save(model(nodes, [1, 3, 8, 8], initializers=[scales], opset=13), tmp_path / "m.onnx"))
    assert summary.params == 0 and not summary.complete


def test_an_if_with_convs_in_its_branches_is_a_lower_bound_with_their_params(run_cli, tmp_path):
    def branch(name):
        nodes = [N("Conv", ["x", f"w{name}"], [name], name=f"c{name}", pads=[1, 1, 1, 1])]
        out = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, 4, 8, 8])]
        return helper.make_graph(nodes, name, [], out, initializer=[weight(f"w{name}", (4, 3, 3, 3))])

    cond = numpy_helper.from_array(np.array(True), "cond")
    nodes = [N("If", ["cond"], ["y"], name="if", then_branch=branch("t"), else_branch=branch("e"))]
    built = model(nodes, [1, 3, 8, 8], initializers=[cond])
    built.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8]))
    path = save(built, tmp_path / "m.onnx")
    summary = archviz.analyze(path)
    assert summary.params == 2 * 108 and not summary.macs_complete and not summary.complete
    status, out, _ = run_cli("summary", path)
    assert status == 0 and "lower bound" in out.split("MACs:")[1].splitlines()[0]


# ---- 25: ONNX's rules, and inputs of 1 and 3 spatial axes -------------------------------------------------


def test_two_nodes_writing_one_tensor_are_one_line(run_cli, tmp_path):
    nodes = [
        N("Relu", ["x"], ["a"], name="r1"),
        N("Sigmoid", ["x"], ["a"], name="r2"),
        N("Relu", ["a"], ["y"], name="r3"),
    ]
    path = save(model(nodes, [1, 3, 8, 8]), tmp_path / "m.onnx")
    assert "node 'r2' writes 'a'" in one_line_failure(run_cli, path)


@pytest.mark.parametrize("rank, given, shown", [(1, "16,3", "16x3"), (3, "6,8,8,3", "6x8x8x3"), (2, "8,8", "8x8x3")])
def test_input_shape_sizes_files_of_every_rank(run_cli, tmp_path, rank, given, shown):
    w = weight("w", (4, 3, *(3,) * rank))
    nodes = [N("Conv", ["x", "w"], ["y"], name="c")]
    path = save(model(nodes, [1, 3, *("n",) * rank], initializers=[w]), tmp_path / "m.onnx")
    status, out, err = run_cli("summary", path, "--input-shape", given, "--format", "json")
    assert status == 0, err
    assert "x".join(map(str, json.loads(out)["model"]["options"]["input_shape"])) == shown


# ---- 27: the command line names .onnx ------------------------------------------------------------------


def test_export_to_another_suffix_names_onnx_too(run_cli):
    status, _, err = run_cli("export", "resnet18", "-o", "x.txt")
    assert status == 2 and err.count("\n") == 1 and ".keras or .h5 or .onnx" in err


def test_summary_help_names_onnx_files(run_cli):
    status, out, _ = run_cli("summary", "--help")
    assert status == 0 and ".onnx" in out and "archviz summary resnet50.onnx" in out
