"""Receptive-field rules found wanting in review: pads, constant operands of a merge, ops over a spatial axis,
the note on the last spatial layer, and why a field is unknown; plus the warnings printed under a table."""

from __future__ import annotations

import numpy as np
import pytest

import archviz
from archviz.core.analysis import analyze_graph
from archviz.core.graph import Graph
from archviz.ops.field import GLOBAL, Field
from archviz.render.text import render_table

onnx = pytest.importorskip("onnx")
from onnx import helper  # noqa: E402
from onnx_models import model, save, weight  # noqa: E402


def _fields(summary) -> dict:
    return {record.name: record.receptive_field for record in summary.records}


def test_a_pad_shifts_the_field_by_what_it_adds_before():
    graph = Graph("pad")
    x = graph.add("x", "input", shape=(8, 8, 3))
    x = graph.add("pad", "pad", x, pad_width=((2, 1), (1, 0), (0, 0)))
    graph.add("conv", "conv2d", x, kernel=3, filters=4, padding="valid")
    summary = analyze_graph(graph)
    assert _fields(summary)["conv"] == Field((3, 3), (1, 1), (2, 1))
    assert summary.field_unknown == {}


def test_an_onnx_pad_read_back_keeps_the_field(tmp_path):
    nodes = [
        helper.make_node("Pad", ["x", "pads"], ["p"], name="pad"),
        helper.make_node("Conv", ["p", "w"], ["y"], name="conv"),
    ]
    pads = weight("pads", (8,), np.int64, [0, 0, 1, 2, 0, 0, 1, 2])
    path = save(model(nodes, [1, 3, 8, 8], initializers=[pads, weight("w", (4, 3, 3, 3))]), tmp_path / "pad.onnx")
    summary = archviz.analyze(path)
    assert summary.field_unknown == {} and "Receptive field unknown" not in render_table(summary)
    assert _fields(summary)["conv"] == Field((3, 3), (1, 1), (1, 2))


def test_the_option_a_shortcut_exported_to_onnx_has_a_field(tmp_path):
    path = tmp_path / "r20a.onnx"
    from archviz.api import export_onnx

    export_onnx("resnet20", path)
    summary = archviz.analyze(path)
    assert summary.field_unknown == {}
    assert summary.receptive_field == archviz.analyze("resnet20").receptive_field


def test_a_rule_that_refuses_a_layer_is_not_reported_as_a_missing_rule(monkeypatch):
    from archviz.ops import OPS

    def refuses(attrs, shapes, fields):
        raise ValueError("pad widths of 3 axes on a 2-D field")

    monkeypatch.setitem(OPS, "pad", OPS["pad"]._replace(field=refuses))
    graph = Graph("refused")
    graph.add("pad", "pad", graph.add("x", "input", shape=(8, 8, 3)), pad_width=((1, 1), (1, 1), (0, 0)))
    summary = analyze_graph(graph)
    assert summary.field_unknown == {"pad": ["pad"]}
    reason = "its receptive-field rule refused it: pad widths of 3 axes on a 2-D field"
    assert summary.field_reasons == {"pad": reason}
    assert summary.to_dict()["receptive_field_reasons"] == {"pad": reason}
    assert f"Receptive field unknown after 1 layer(s) of type pad (pad): {reason}" in render_table(summary)
    assert "no receptive-field rule" not in render_table(summary)


def test_an_op_with_no_rule_says_so():
    graph = Graph("norule")
    graph.add("up", "upsampling2d", graph.add("x", "input", shape=(8, 8, 3)), size=2)
    summary = analyze_graph(graph)
    assert summary.field_reasons == {"upsampling2d": "no receptive-field rule for it"}


# ---- a held operand, ops along an axis, the note on the last spatial layer -------------------------------


def _layerscale(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["c", "gamma"], ["m"], name="scale"),
        helper.make_node("Conv", ["m", "w2"], ["y"], name="conv2", pads=[1, 1, 1, 1]),
    ]
    inits = [weight("w", (4, 3, 3, 3)), weight("gamma", (4, 1, 1)), weight("w2", (4, 4, 3, 3))]
    return save(model(nodes, [1, 3, 8, 8], initializers=inits), tmp_path / "layerscale.onnx")


def test_a_held_operand_of_a_merge_has_no_field_and_leaves_the_other_path_s(tmp_path):
    summary = archviz.analyze(_layerscale(tmp_path))
    got = _fields(summary)
    assert got["scale"] == Field((3, 3), (1, 1), (1, 1))
    assert got["conv2"] == Field((5, 5), (1, 1), (2, 2))
    assert summary.field_unknown == {}


def test_a_held_weight_in_a_graph_is_left_out_of_the_merge():
    graph = Graph("scale")
    x = graph.add("x", "input", shape=(8, 8, 3))
    conv = graph.add("conv", "conv2d", x, kernel=3, filters=3, padding="same")
    gamma = graph.add("gamma", "weight", shape=(1, 1, 3), trainable=True)
    graph.add("scaled", "multiply", (gamma, conv))  # the held operand first
    summary = analyze_graph(graph)
    assert _fields(summary)["scaled"] == Field((3, 3), (1, 1), (1, 1))
    assert summary.field_unknown == {}


def _one_op(tmp_path, node, name):
    return save(model([node], [1, 3, 8, 8]), tmp_path / f"{name}.onnx")


@pytest.mark.parametrize(
    ("axis", "field", "along"),
    [(1, Field((1, 1), (1, 1), (0, 0)), None), (2, None, "height"), (3, None, "width"), (-1, None, "width")],
)
def test_a_softmax_over_a_spatial_axis_is_not_per_position(tmp_path, axis, field, along):
    """ONNX's NCHW axis read as channels last: 1 the channels, 2 the height, 3 and -1 the width."""
    path = _one_op(tmp_path, helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=axis), "sm")
    summary = archviz.analyze(path)
    assert _fields(summary)["sm"] == field
    if along:
        (reason,) = summary.field_reasons.values()
        assert reason.startswith(f"its receptive-field rule refused it: it acts along the whole {along} only")


def test_a_keras_softmax_over_the_height_and_a_mean_over_both_axes():
    graph = Graph("keras")
    x = graph.add("x", "input", shape=(8, 8, 3))
    graph.add("sm", "activation", x, fn="softmax", axis=1)  # Keras's axis 1: the height
    graph.add("mean", "mean", x, axis=(0, 1))  # keras.ops.mean over both spatial axes (the batch apart)
    summary = analyze_graph(graph)
    assert _fields(summary)["sm"] is None and "height" in summary.field_reasons["Activation(softmax)"]
    assert _fields(summary)["mean"] == GLOBAL


def test_a_matmul_along_the_width_is_not_a_per_position_dense(tmp_path):
    node = helper.make_node("MatMul", ["x", "a"], ["y"], name="mm")
    path = save(model([node], [1, 3, 8, 8], initializers=[weight("a", (8, 5))]), tmp_path / "mm.onnx")
    summary = archviz.analyze(path)
    assert _fields(summary)["mm"] is None  # its rules read it along the channels: never a guess
    (reason,) = summary.field_reasons.values()
    assert "the model declares" in reason


def test_no_small_field_note_when_a_dense_layer_reads_the_flattened_map(tmp_path):
    summary = archviz.analyze(_mismatched_gemm(tmp_path))
    assert summary.field_lines() == []
    graph = Graph("flat", record=archviz.core.record.ModelRecord(input_shape=(32, 32, 3)))
    x = graph.add("conv", "conv2d", graph.add("x", "input", shape=(32, 32, 3)), kernel=3, filters=2)
    graph.add("dense", "dense", graph.add("flat", "flatten", x), units=10)
    assert analyze_graph(graph).field_lines() == []
    graph = Graph("pooled", record=archviz.core.record.ModelRecord(input_shape=(32, 32, 3)))
    x = graph.add("conv", "conv2d", graph.add("x", "input", shape=(32, 32, 3)), kernel=3, filters=2)
    graph.add("dense", "dense", graph.add("gap", "global_avg_pool2d", x), units=10)
    (note,) = analyze_graph(graph).field_lines()
    assert note.endswith("conv sees 3x3 of the 32x32 input: the network cannot see the whole image before pooling")


# ---- warnings under the table ----------------------------------------------------------------------------


def _mismatched_gemm(tmp_path, name="gemm.onnx"):
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "w"], ["y"], name="g", transB=1),
    ]
    return save(model(nodes, [1, 3, 8, 8], initializers=[weight("w", (10, 191))]), tmp_path / name)


def test_warnings_are_printed_under_the_table(tmp_path, run_cli):
    path = _mismatched_gemm(tmp_path)
    summary = archviz.analyze(path)
    (warning,) = summary.warnings
    assert "1,920 trainable" in warning and "declares 1,910" in warning
    code, out, _ = run_cli("summary", path)
    assert code == 0 and f"Warning: {warning}" in out.splitlines()
    lines = out.splitlines()
    assert lines.index(f"Warning: {warning}") > max(i for i, line in enumerate(lines) if line.startswith("Params:"))
    code, out, _ = run_cli("summary", path, "--format", "markdown")
    assert f"> Warning: {warning}" in out


def test_many_warnings_are_capped_with_a_count(tmp_path):
    from archviz.render.text import MAX_WARNINGS

    summary = archviz.analyze(_mismatched_gemm(tmp_path))
    summary.warnings = [f"layer 'g{i}': a declared shape differs" for i in range(MAX_WARNINGS + 3)]
    lines = [line for line in render_table(summary).splitlines() if line.startswith("Warning:")]
    assert len(lines) == MAX_WARNINGS + 1
    assert lines[-1] == "Warning: 3 more (all of them in --format json)"
