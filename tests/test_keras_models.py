"""Keras models people bring: open input sizes, layers archviz cannot count, code in files."""

from __future__ import annotations

import json

import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

import archviz  # noqa: E402

pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def open_resnet50(tmp_path_factory):
    """keras.applications ResNet50 without its top: the input's height and width are left open."""
    path = tmp_path_factory.mktemp("open") / "ResNet50_notop.keras"
    keras.applications.ResNet50(include_top=False, weights=None).save(path)
    keras.backend.clear_session()
    return path


def records(summary):
    """Every layer's numbers, without the name Keras happened to give the input."""
    return [{k: v for k, v in layer.items() if k != "name"} for layer in summary.to_dict()["layers"]]


def test_open_input_size_is_unknown_not_zero(open_resnet50, run_cli):
    summary = archviz.analyze(open_resnet50)
    totals = summary.to_dict()["totals"]
    assert totals["params"] == 23_587_712 and totals["non_trainable_params"] == 53_120
    assert totals["macs"] is None and totals["flops"] is None and totals["activation_bytes"] is None
    assert not totals["macs_complete"] and set(summary.reasons.values()) == {"input size unknown: pass --input-shape"}
    code, out, err = run_cli("summary", open_resnet50, "--depth", "stages")
    assert code == 0, err
    assert "MACs:              unknown: the input size is open, pass --input-shape H,W,C" in out
    assert "?x?x2048" in out and "Not counted" not in out


def test_input_shape_sizes_an_open_model(open_resnet50, run_cli):
    sized = archviz.analyze(open_resnet50, input_shape=(224, 224, 3))
    fixed = archviz.analyze(keras.applications.ResNet50(include_top=False, weights=None, input_shape=(224, 224, 3)))
    keras.backend.clear_session()
    assert sized.to_dict()["totals"] == fixed.to_dict()["totals"]
    assert records(sized) == records(fixed)
    assert sized.macs == 3_855_925_248 and sized.complete and sized.macs_complete
    code, out, _ = run_cli("summary", open_resnet50, "--input-shape", "160", "--format", "json")
    assert code == 0 and json.loads(out)["model"]["options"]["input_shape"] == [160, 160, 3]


def test_input_shape_cannot_change_a_fixed_size(tmp_path, run_cli):
    path = tmp_path / "fixed.keras"
    inputs = keras.Input((32, 32, 3))
    keras.Model(inputs, keras.layers.Conv2D(4, 3)(inputs)).save(path)
    code, out, err = run_cli("summary", path, "--input-shape", "64,64,3")
    assert code == 2 and err.count("\n") == 1
    assert "the model's input is 32x32x3; an input shape of 64x64x3 does not fit it" in err


class Kernel(keras.layers.Layer):
    """A custom layer with weights: archviz has no rule for it, so its MACs are unknown."""

    def build(self, shape):
        self.kernel = self.add_weight(shape=(shape[-1], 8))

    def call(self, x):
        return keras.ops.matmul(x, self.kernel)


def test_an_uncounted_layer_with_weights_makes_macs_a_lower_bound(run_cli):
    inputs = keras.Input((16,))
    model = keras.Model(inputs, keras.layers.Dense(4)(Kernel(name="custom")(inputs)))
    summary = archviz.analyze(model)
    assert not summary.macs_complete and not summary.complete
    assert summary.reasons == {"Kernel": "no rule for Kernel"}
    assert summary.to_dict()["layers"][1]["macs"] is None
    from archviz.render.text import render_table

    text = render_table(summary)
    assert "multiply-accumulates (lower bound: some layers not counted)" in text
    assert "Not counted: 1 layer(s) of type Kernel (custom): no rule for Kernel" in text


def test_an_uncounted_layer_without_weights_keeps_macs_exact():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3)(inputs)
    model = keras.Model(inputs, keras.layers.ActivityRegularization(name="regularized")(x))
    summary = archviz.analyze(model)
    assert summary.macs_complete and not summary.complete


def test_any_lambda_is_refused_in_one_line_before_keras_loads_it(tmp_path, run_cli):
    path = tmp_path / "closure.keras"
    inputs = keras.Input((4,))
    scale = 3.0
    keras.Model(inputs, keras.layers.Lambda(lambda x, k=scale: x * k)(inputs)).save(path)
    code, out, err = run_cli("summary", path)
    assert code == 1 and err.count("\n") == 1
    assert "contains a Lambda layer, whose code would run on loading" in err and "--unsafe" in err
    code, out, err = run_cli("summary", path, "--unsafe")  # Keras itself cannot rebuild this closure
    assert code == 1 and err.count("\n") == 1 and "cannot load the Keras model" in err
    plain = tmp_path / "plain.keras"
    keras.Model(inputs, keras.layers.Lambda(lambda x: x * 3.0)(inputs)).save(plain)
    assert "contains a Lambda layer" in run_cli("summary", plain)[2]
    code, out, err = run_cli("summary", plain, "--unsafe", "--format", "json")
    assert code == 0, err
    assert "Lambda" in json.loads(out)["uncounted"]


@pytest.fixture(scope="module")
def resnet50_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("resnet50") / "ResNet50.keras"
    keras.applications.ResNet50(weights=None).save(path)
    keras.backend.clear_session()
    return path


def test_structure_recovered_from_keras_applications_names(resnet50_file, run_cli):
    """A keras.applications ResNet50 file has the resnet50-keras preset's stem, stages and head."""
    imported, preset = archviz.analyze(resnet50_file), archviz.analyze("resnet50-keras")
    assert [(r.name, r.op) for r in imported.rows("stages")][1:] == [
        ("stem", "stem"),
        ("conv2", "stage"),
        ("conv3", "stage"),
        ("conv4", "stage"),
        ("conv5", "stage"),
        ("head", "head"),
    ]
    assert [r.params for r in imported.rows("stages")[1:]] == [r.params for r in preset.rows("stages")[1:]]
    assert [r.macs for r in imported.stage_rows()] == [r.macs for r in preset.stage_rows()]
    blocks = [r for r in imported.rows("blocks") if r.op == "block"]
    assert len(blocks) == 16 and blocks[0].name == "conv2.block1" and blocks[-1].name == "conv5.block3"
    code, out, _ = run_cli("compare", "resnet50-keras", resnet50_file, "--format", "json")
    stages = [entry["stages"] for entry in json.loads(out)]
    assert [s["params"] for s in stages[0]] == [s["params"] for s in stages[1]] and len(stages[1]) == 4


def test_structure_recovered_from_the_graph():
    """Residual blocks found from the graph itself: generic names, two stages by resolution."""
    x = inputs = keras.Input((16, 16, 8))
    for stride in (1, 1, 2, 1):
        y = keras.layers.Conv2D(8, 3, strides=stride, padding="same")(x)
        y = keras.layers.Conv2D(8, 3, padding="same")(keras.layers.ReLU()(y))
        shortcut = x if stride == 1 else keras.layers.Conv2D(8, 1, strides=2)(x)
        x = keras.layers.ReLU()(keras.layers.Add()([y, shortcut]))
    summary = archviz.analyze(keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x)))
    rows = summary.rows("blocks")
    assert [r.name for r in rows if r.op == "block"] == [
        "stage1.block1",
        "stage1.block2",
        "stage2.block3",
        "stage2.block4",
    ]
    assert [r.layers for r in rows if r.op == "block"] == [5, 5, 6, 5]
    assert [(r.name, r.op) for r in summary.rows("stages")][-1] == ("head", "head")


def test_depth_that_finds_nothing_says_so(run_cli, tmp_path):
    path = tmp_path / "plain.keras"
    keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Dense(2)]).save(path)
    code, out, _ = run_cli("summary", path, "--depth", "stages")
    assert code == 0
    assert "(--depth stages: archviz found no stages or blocks in this model, so every layer is shown)" in out


class Residual(keras.layers.Layer):
    """A residual block written as people write them: layers, and raw ops between them in call()."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = keras.layers.Conv2D(8, 3, padding="same")
        self.conv2 = keras.layers.Conv2D(8, 3, padding="same")

    def call(self, x):
        y = keras.ops.relu(self.conv1(x))
        return keras.ops.relu(self.conv2(y) + x)


class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.block = Residual()
        self.pool = keras.layers.GlobalAveragePooling2D()

    def call(self, x):
        return self.pool(self.block(x))


def test_ops_in_a_subclassed_call_are_captured():
    from archviz.backend.profiler import profiler_flops
    from archviz.render.diagram import DiagramOptions, dot_source

    model = Net()
    model.build((None, 16, 16, 8))
    summary = archviz.analyze(model)
    nodes = {r.name: r for r in summary.records}
    assert nodes["block.add"].op == "add" and nodes["block.add"].inputs == ("block.conv2", "input")
    assert nodes["block.add"].flops == 16 * 16 * 8 and summary.complete
    assert [r.op for r in summary.records].count("activation") == 2
    profiled, _ = profiler_flops(keras.Sequential([keras.Input((16, 16, 8)), model]))
    assert summary.flops == profiled
    dot = dot_source(summary, DiagramOptions(depth="layers"))
    assert 'input -> "block.add" [label=" identity"' in dot


# ---- the diagram of imported models: blocks read from the graph, as for presets ------------------


def _block_label(summary, name):
    from archviz.render.diagram import DiagramOptions, dot_source

    source = dot_source(summary, DiagramOptions(depth="blocks"))
    start = source.index(f'"{name}" [label=<')
    return source[start : source.index("\n", start)]


def test_imported_mobilenet_v2_blocks_show_their_inside_and_downsampling():
    """MobileNetV2's inverted residuals: expand, depthwise (strided where it downsamples), project; the
    stride-2 blocks, which have no shortcut, are marked as downsampling too."""
    model = keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3), alpha=0.35)
    summary = archviz.analyze(model)
    strided = _block_label(summary, "stage3.block_3")
    for text in ("downsamples /2", "1x1, 48", "3x3/2 depthwise, 48, one per channel", "1x1, 16", "expansion ×6"):
        assert text in strided, strided
    assert "downsamples" not in _block_label(summary, "stage3.block_4")


def test_imported_resnet50_blocks_read_as_the_presets():
    model = keras.applications.ResNet50(weights=None)
    label = _block_label(archviz.analyze(model), "conv3.block1")
    for text in ("downsamples /2", "1x1/2, 128", "3x3, 128", "1x1, 512", "expansion ×4"):
        assert text in label, label
