"""ONNX files as models: the torch-exported fixtures (examples/onnx, made by
scripts/make_onnx_fixtures.py) against the zoo's presets, params from initializers, shape arithmetic,
ops without a rule, the structure, and every command on a .onnx file."""

from __future__ import annotations

import json

import pytest

onnx = pytest.importorskip("onnx")

from onnx import helper  # noqa: E402
from onnx_models import FIXTURES, initializer_elements, model, save, weight  # noqa: E402

import archviz  # noqa: E402

N = helper.make_node

#: fixture -> (preset, its options for the same tiny network: width 4 for 64, 64x64 input, 10 classes)
TINY = {
    "tiny_resnet18": ("resnet18-torchvision", {}),
    "tiny_resnet50": ("resnet50-torchvision", {}),
    "tiny_resnext50": ("resnext50_32x4d", {"groups": 4, "width_per_group": 32}),
}


def preset(name: str, **options):
    return archviz.analyze(name, width_multiplier=4 / 64, input_shape=(64, 64, 3), classes=10, **options)


@pytest.mark.parametrize("fixture", sorted(TINY))
def test_fixture_macs_equal_the_preset_and_params_the_initializers(fixture):
    """MACs equal the zoo's for the same network; params are the file's float initializers, each once.
    The trained-like fixtures' params are the preset's minus 1.5x its non-trainable count (the folded
    batch norm: 4 per channel gone, a conv bias of 1 per channel come); the untrained ResNet-18's
    folded biases are zeros its exporter stores once and shares through Identity nodes."""
    path = FIXTURES / f"{fixture}.onnx"
    name, options = TINY[fixture]
    summary, reference = archviz.analyze(path), preset(name, **options)
    assert summary.complete and not summary.warnings and not summary.uncounted
    assert summary.macs == reference.macs
    assert summary.params == initializer_elements(path)
    folded = reference.params - 3 * reference.non_trainable_params // 2
    if fixture == "tiny_resnet18":
        assert summary.params < folded
    else:
        assert summary.params == folded
        stages = {row.name: row for row in summary.rows("stages")}
        for row in reference.rows("stages"):
            if reference.groups.get(row.name) == "stage":
                assert stages[row.name].params == row.params - 3 * row.non_trainable_params // 2
                assert stages[row.name].macs == row.macs


def test_fixture_structure_stages_and_blocks():
    summary = archviz.analyze(FIXTURES / "tiny_resnet50.onnx")
    stages = [row.name for row in summary.rows("stages")]
    assert stages == ["input.1", "stem", "layer1", "layer2", "layer3", "layer4", "head"]
    blocks = [row.name for row in summary.rows("blocks") if summary.groups.get(row.name) == "block"]
    assert blocks == [f"layer{s}.{b}" for s, n in zip(range(1, 5), (3, 4, 6, 3)) for b in range(n)]
    layers = {row.name for row in summary.rows("layers")}
    assert {"conv1", "layer1.0.conv1", "layer1.0.downsample.0", "layer1.0.Add", "fc"} <= layers


def test_summary_says_layout_and_folded_batch_norm(run_cli):
    code, out, err = run_cli("summary", FIXTURES / "tiny_resnet18.onnx", "--depth", "stages")
    assert code == 0, err
    assert "NCHW tensors are shown as HxWxC" in out
    assert out.count("batch norm folded into the convs") == 1
    code, out, _ = run_cli("summary", FIXTURES / "tiny_resnet18.onnx", "--format", "json")
    options = json.loads(out)["model"]["options"]
    assert options["format"] == "onnx" and options["batch_norm_folded"] is True
    assert options["input_shape"] == [64, 64, 3] and options["opset"] == 17


def test_every_command_takes_an_onnx_file(run_cli, tmp_path):
    path = FIXTURES / "tiny_resnet50.onnx"
    code, out, err = run_cli("diagram", path, "-o", tmp_path / "d.svg")
    assert code == 0, err
    svg = (tmp_path / "d.svg").read_text()
    assert "layer4" in svg
    code, out, err = run_cli("report", path, "-o", tmp_path / "r.html")
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert "layer1.0.conv1" in page and "batch norm folded into the convs" in page
    code, out, err = run_cli("compare", path, "--format", "json")
    assert code == 0, err


def test_compare_with_the_preset_shows_equal_macs(run_cli, tmp_path):
    """compare resnet50-torchvision (sized as the fixture) against the torch export: the same MACs."""
    spec = tmp_path / "tiny.toml"
    spec.write_text(
        'base = "resnet50-torchvision"\nwidth_multiplier = 0.0625\ninput_shape = [64, 64, 3]\nclasses = 10\n'
    )
    code, out, err = run_cli("compare", spec, FIXTURES / "tiny_resnet50.onnx", "--format", "json")
    assert code == 0, err
    models = json.loads(out)
    assert len(models) == 2 and models[0]["macs"] == models[1]["macs"] == 1_869_056


def test_file_named_otherwise_is_read_by_its_bytes(tmp_path):
    copy = tmp_path / "resnet.model"
    copy.write_bytes((FIXTURES / "tiny_resnet18.onnx").read_bytes())
    assert archviz.analyze(copy).macs == archviz.analyze(FIXTURES / "tiny_resnet18.onnx").macs


# ---- params, constants, shape arithmetic -------------------------------------------------------------------


def test_an_initializer_shared_through_identity_is_counted_once(tmp_path):
    nodes = [
        N("Identity", ["b"], ["b1"]),
        N("Identity", ["b"], ["b2"]),
        N("Conv", ["x", "w1", "b1"], ["c1"], name="/conv1/Conv", pads=[1, 1, 1, 1]),
        N("Conv", ["c1", "w2", "b2"], ["c2"], name="/conv2/Conv", pads=[1, 1, 1, 1]),
    ]
    inits = [weight("w1", (4, 4, 3, 3)), weight("w2", (4, 4, 3, 3)), weight("b", (4,))]
    summary = archviz.analyze(save(model(nodes, [1, 4, 8, 8], initializers=inits), tmp_path / "m.onnx"))
    assert summary.params == 2 * 144 + 4
    assert not summary.warnings and summary.complete


def test_shape_arithmetic_is_no_layer_and_costs_nothing(tmp_path):
    """x.view(x.size(0), -1) as the exporters write it: Shape, Gather, Unsqueeze, Concat of shapes."""
    nodes = [
        N("Relu", ["x"], ["r"], name="/relu/Relu"),
        N("Shape", ["r"], ["s"]),
        N("Gather", ["s", "zero"], ["n"], axis=0),
        N("Unsqueeze", ["n", "axes"], ["n1"]),
        N("Concat", ["n1", "minus"], ["shape"], axis=0),
        N("Reshape", ["r", "shape"], ["y"], name="/Reshape"),
    ]
    inits = [weight("zero", (), "int64", 0), weight("axes", (1,), "int64", [0]), weight("minus", (1,), "int64", [-1])]
    summary = archviz.analyze(save(model(nodes, [1, 4, 3, 3], initializers=inits), tmp_path / "m.onnx"))
    assert [r.op for r in summary.records] == ["input", "activation", "reshape"]
    assert summary.records[-1].output_shape == (36,)
    assert summary.params == 0 and summary.flops == 0 and summary.complete
    assert summary.options["shape_nodes"] == 4


@pytest.mark.parametrize("domain", ["com.example", ""])
def test_an_op_without_rule_is_listed_and_the_rest_counts(domain, tmp_path):
    """A custom op (its shape from the file's value_info) or a standard op no rule maps (Erf here)."""
    kind = "Frobnicate" if domain else "Erf"
    nodes = [
        N("Conv", ["x", "w"], ["c"], name="/conv/Conv"),
        N(kind, ["c"], ["u"], name="/odd/Op", domain=domain),
        N("Conv", ["u", "w2"], ["y"], name="/conv2/Conv"),
    ]
    info = [helper.make_tensor_value_info("u", onnx.TensorProto.FLOAT, [1, 4, 6, 6])]
    built = model(nodes, [1, 3, 8, 8], initializers=[weight("w", (4, 3, 3, 3)), weight("w2", (2, 4, 1, 1))],
                  value_info=info, domains=[domain] if domain else None)  # fmt: skip
    summary = archviz.analyze(save(built, tmp_path / "m.onnx"))
    assert not summary.complete
    assert list(summary.uncounted) == [f"{domain}.{kind}" if domain else kind]
    assert summary.macs == 6 * 6 * 4 * 27 + 6 * 6 * 2 * 4


def test_batch_norm_present_is_counted_and_not_called_folded(tmp_path):
    nodes = [
        N("Conv", ["x", "w"], ["c"], name="/conv/Conv"),
        N("BatchNormalization", ["c", "s", "b", "m", "v"], ["y"], name="/bn/BatchNormalization"),
    ]
    inits = [weight("w", (4, 3, 3, 3)), *(weight(n, (4,)) for n in "sbmv")]
    summary = archviz.analyze(save(model(nodes, [1, 3, 8, 8], initializers=inits), tmp_path / "m.onnx"))
    assert (summary.trainable_params, summary.non_trainable_params) == (108 + 8, 8)
    assert summary.options["batch_norm_folded"] is False
    assert not any("folded" in note for note in summary.record.notes)


def test_blocks_without_module_paths_come_from_the_graph(tmp_path):
    nodes, x = [], "x"
    for block in range(3):
        nodes += [
            N("Conv", [x, "w"], [f"a{block}"], name=f"conv_a{block}", pads=[1, 1, 1, 1]),
            N("Relu", [f"a{block}"], [f"r{block}"], name=f"relu{block}"),
            N("Conv", [f"r{block}", "w"], [f"b{block}"], name=f"conv_b{block}", pads=[1, 1, 1, 1]),
            N("Add", [f"b{block}", x], [f"s{block}"], name=f"add{block}"),
        ]
        x = f"s{block}"
    built = model(nodes, [1, 4, 8, 8], initializers=[weight("w", (4, 4, 3, 3))])
    summary = archviz.analyze(save(built, tmp_path / "m.onnx"))
    blocks = [row.name for row in summary.rows("blocks") if summary.groups.get(row.name) == "block"]
    assert len(blocks) == 3


def test_open_input_size_asks_for_an_input_shape(run_cli, tmp_path):
    nodes = [N("Conv", ["x", "w"], ["y"], name="/conv/Conv")]
    path = save(model(nodes, [1, 3, "h", "w"], initializers=[weight("w", (4, 3, 3, 3))]), tmp_path / "m.onnx")
    code, out, err = run_cli("summary", path)
    assert code == 2 and err.count("\n") == 1 and "--input-shape" in err
    code, out, err = run_cli("summary", path, "--input-shape", "10,10,3", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["totals"]["macs"] == 8 * 8 * 4 * 27
    code, out, err = run_cli("summary", FIXTURES / "tiny_resnet18.onnx", "--input-shape", "32,32,3")
    assert code == 2 and err.count("\n") == 1 and "fixes a size of 64" in err
