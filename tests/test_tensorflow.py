"""Cross-checks against TensorFlow itself: export, import, tf.profiler FLOPs, the seed models, files.

Big Keras models are built once per session; the slowest tests are marked ``slow`` (they run in CI).
"""

import gc
import json
import re

import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

from conftest import SPECS  # noqa: E402
from reference import KERAS_FIGURES, SEED_FIGURES  # noqa: E402
from seed_models import seed000, seed003, seed004  # noqa: E402

import archviz  # noqa: E402
from archviz.backend.keras_export import to_keras  # noqa: E402
from archviz.backend.profiler import profiler_flops  # noqa: E402
from archviz.sources.zoo import REGISTRY  # noqa: E402

pytestmark = pytest.mark.tf

BIG = {
    "preact-resnet1001",
    "resnet1202",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "wide_resnet101_2",
    "resnet152",
    "resnet152-torchvision",
    "resnet152-keras",
    "resnet152v2",
    "resnet101",
    "resnet101-torchvision",
    "resnet101-keras",
    "resnet101v2",
    "preact-resnet164",
    "resnet110",
    "plain-110",
}


def weights(model, trainable):
    import math

    return sum(math.prod(w.shape) for w in (model.trainable_weights if trainable else model.non_trainable_weights))


def assert_export_matches(model_name, **options):
    graph = archviz.load_graph(model_name, **options)
    summary = archviz.analyze(graph)
    model = to_keras(graph)
    try:
        assert model.count_params() == summary.params
        assert weights(model, True) == summary.trainable_params
        assert weights(model, False) == summary.non_trainable_params
        shapes = {layer.name: tuple(layer.output.shape[1:]) for layer in model.layers}
        for record in summary.records:
            assert shapes[record.name] == record.output_shape, record.name
    finally:
        del model
        keras.backend.clear_session()
        gc.collect()


# --------------------------------------------------------------------------
# Export: every preset, exported, agrees with archviz
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", [pytest.param(c.name, marks=pytest.mark.slow) if c.name in BIG else c.name for c in REGISTRY]
)
def test_every_preset_exports_with_the_same_params_and_shapes(name):
    assert_export_matches(name)


@pytest.mark.parametrize("spec", sorted(SEED_FIGURES))
def test_every_example_spec_exports(spec):
    assert_export_matches(str(SPECS / spec))


def test_build_keras_api_for_training():
    model = archviz.build_keras(SPECS / "seed004_mini_resnet.toml")
    assert model.output.shape[-1] == 1
    assert model.layers[-1].activation.__name__ == "sigmoid"
    base = archviz.build_keras("resnet50-keras", include_top=False, input_shape=(96, 96, 3))
    assert tuple(base.output.shape[1:]) == (3, 3, 2048)
    assert base.get_layer("layer4.block3.conv3").filters == 2048
    model.compile(optimizer="adam", loss="binary_crossentropy")  # a real, trainable model
    import numpy as np

    history = model.fit(np.zeros((2, 224, 224, 3)), np.zeros((2, 1)), epochs=1, verbose=0)
    assert "loss" in history.history


# --------------------------------------------------------------------------
# keras.applications, imported, equal the keras-flavor presets layer by layer
# --------------------------------------------------------------------------

APPLICATIONS = {
    "resnet50-keras": "ResNet50",
    "resnet101-keras": "ResNet101",
    "resnet152-keras": "ResNet152",
    "resnet50v2": "ResNet50V2",
    "resnet101v2": "ResNet101V2",
    "resnet152v2": "ResNet152V2",
}


@pytest.fixture(scope="session")
def applications():
    cache = {}

    def get(preset):
        if preset not in cache:
            cache[preset] = getattr(keras.applications, APPLICATIONS[preset])(weights=None)
        return cache[preset]

    yield get
    cache.clear()
    keras.backend.clear_session()


def keras_name(name, preact=False):
    """archviz's name of a keras-flavor layer -> the name keras.applications gives it (a v2 block
    ends with its add, named ``_out``; a v1 block with a ReLU named ``_out``)."""
    fixed = {
        "stem.conv1_pad": "conv1_pad",
        "stem.conv1": "conv1_conv",
        "stem.bn1": "conv1_bn",
        "stem.relu1": "conv1_relu",
        "stem.pool_pad": "pool1_pad",
        "stem.pool": "pool1_pool",
        "post.bn": "post_bn",
        "post.relu": "post_relu",
        "head.pool": "avg_pool",
        "head.fc": "predictions",
    }
    if name in fixed:
        return fixed[name]
    match = re.fullmatch(r"layer(\d+)\.block(\d+)\.(\w+)", name)
    if not match:
        return None
    stage, block, layer = int(match.group(1)) + 1, match.group(2), match.group(3)
    suffix = {
        "shortcut": "0_conv",
        "shortcut_bn": "0_bn",
        "add": "out" if preact else "add",
        "relu": "out",
        "preact_bn": "preact_bn",
        "preact_relu": "preact_relu",
    }.get(layer)
    if suffix is None:
        kind, index = re.fullmatch(r"(conv|bn|relu)(\d)(_pad)?", layer).group(1, 2)
        suffix = f"{index}_{kind}" + ("_pad" if layer.endswith("_pad") else "")
        suffix = suffix.replace(f"{index}_conv_pad", f"{index}_pad")
    return f"conv{stage}_block{block}_{suffix}"


def row(record):
    return (
        record.op,
        record.output_shape,
        record.trainable_params,
        record.non_trainable_params,
        record.macs,
        record.flops,
    )


@pytest.mark.parametrize(
    "preset",
    [p if p in ("resnet50-keras", "resnet50v2") else pytest.param(p, marks=pytest.mark.slow) for p in APPLICATIONS],
)
def test_keras_applications_equal_the_presets_layer_by_layer(applications, preset):
    imported = archviz.analyze(applications(preset))
    ours = archviz.analyze(preset)
    assert (imported.params, imported.non_trainable_params) == KERAS_FIGURES[preset]
    assert (imported.params, imported.macs, imported.flops) == (ours.params, ours.macs, ours.flops)
    assert imported.complete and not imported.warnings
    by_name = {r.name: r for r in imported.records}
    unmatched_ours, matched = [], set()
    for record in ours.records:
        name = keras_name(record.name, preact=REGISTRY.get(preset).preact)
        if name in by_name:
            assert row(by_name[name]) == row(record), (record.name, name)
            matched.add(name)
        else:
            unmatched_ours.append(row(record))
    # the input layer and v2's unnamed 1x1 max-pool shortcuts: compared as a multiset
    unmatched_theirs = [row(r) for r in imported.records if r.name not in matched]
    assert sorted(unmatched_ours) == sorted(unmatched_theirs)
    assert len(unmatched_ours) <= 4


# --------------------------------------------------------------------------
# FLOPs against tf.compat.v1.profiler on the frozen inference graph, measured here
# --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["resnet50-keras", "resnet50v2"])
def test_flops_equal_tf_profiler_for_keras_applications(applications, preset):
    model = applications(preset)
    total, by_type = profiler_flops(model)
    assert archviz.analyze(model).flops == total
    assert archviz.analyze(preset).flops == total
    assert by_type["Conv2D"] == 2 * sum(r.macs for r in archviz.analyze(preset).records if r.op == "conv2d")


@pytest.mark.parametrize(
    "model_name, options",
    [
        ("resnet50-torchvision", {"input_shape": (112, 112, 3)}),  # explicit padding: ZeroPadding2D + valid conv/pool
        (str(SPECS / "seed004_mini_resnet.toml"), {"input_shape": (64, 64, 3)}),  # dense relu, one sigmoid unit
        ("resnet20", {"shortcut": "B"}),
        ("resnext50_32x4d", {"groups": 1, "input_shape": (64, 64, 3)}),
    ],
)
def test_flops_equal_tf_profiler_for_exported_presets(model_name, options):
    summary = archviz.analyze(model_name, **options)
    total, _ = profiler_flops(archviz.build_keras(model_name, **options))
    assert summary.flops == total


def test_flops_at_batch_three_equal_tf_profiler():
    options = {"shortcut": "B"}
    total, _ = profiler_flops(archviz.build_keras("resnet20", **options), batch_size=3)
    assert archviz.analyze("resnet20", batch_size=3, **options).flops == total


def test_documented_difference_option_a_subsampling():
    """Option A's shortcut is a strided copy (0 FLOPs); the exported Keras model subsamples with a
    1x1 max-pool, which the profiler counts once per output element: exactly that difference."""
    summary = archviz.analyze("resnet20")
    total, _ = profiler_flops(archviz.build_keras("resnet20"))
    subsampled = sum(r.activation_bytes // 4 for r in summary.records if r.op == "pad_shortcut")
    assert total - summary.flops == (16 * 16 * 16 + 8 * 8 * 32)
    assert subsampled == 16 * 16 * 32 + 8 * 8 * 64  # the padded outputs are twice as wide


def test_documented_difference_grouped_convolution():
    """tf.profiler cannot see into Keras's grouped convolution; archviz counts it as 2 per MAC."""
    summary = archviz.analyze("resnext50_32x4d", input_shape=(32, 32, 3))
    total, _ = profiler_flops(archviz.build_keras("resnext50_32x4d", input_shape=(32, 32, 3)))
    assert total < summary.flops / 2


# --------------------------------------------------------------------------
# The seed models, built in Keras as each post describes
# --------------------------------------------------------------------------


def test_seed000_subclassed_resnets():
    for layers, spec in (([2, 2, 2, 2], "seed000_resnet18.toml"), ([3, 4, 6, 3], "seed000_resnet34.toml")):
        model = seed000.resnet(layers)
        imported = archviz.analyze(model)  # traces one call: a subclassed model has no static graph
        model_params = model.count_params()
        expected = archviz.analyze(SPECS / spec)
        assert (model_params, weights(model, False)) == SEED_FIGURES[spec]
        assert (imported.params, imported.non_trainable_params) == SEED_FIGURES[spec]
        assert (imported.macs, imported.flops) == (expected.macs, expected.flops)
        names = [r.name for r in imported.records]
        assert names[0] == "input" and names[-1] == "fc"
        assert any(n.startswith("layer1.basic_block") and n.endswith(".conv1") for n in names)
        assert {n.split(".")[0] for n in names} == {
            "input",
            "stem",
            "layer1",
            "layer2",
            "layer3",
            "layer4",
            "avgpool",
            "fc",
        }


@pytest.mark.parametrize(
    "corrected, spec", [(False, "seed003_resnet50_as_written.toml"), (True, "seed003_resnet50_corrected.toml")]
)
def test_seed003_functional_resnet50(corrected, spec):
    model = seed003.resnet50(corrected=corrected)
    assert (model.count_params(), weights(model, False)) == SEED_FIGURES[spec]
    imported, expected = archviz.analyze(model), archviz.analyze(SPECS / spec)
    assert (imported.params, imported.macs, imported.flops) == (expected.params, expected.macs, expected.flops)


def test_seed004_mini_resnet_with_custom_layers():
    model = seed004.mini_resnet()
    spec = "seed004_mini_resnet.toml"
    assert (model.count_params(), weights(model, False)) == SEED_FIGURES[spec]
    imported, expected = archviz.analyze(model), archviz.analyze(SPECS / spec)
    assert (imported.params, imported.macs, imported.flops) == (expected.params, expected.macs, expected.flops)
    # the custom Residual_Block layers are expanded into their sublayers
    assert any(r.name.startswith("residual_block") and r.name.endswith(".conv2") for r in imported.records)
    assert not any(r.op == "ResidualBlock" for r in imported.records)


def test_seed004_transfer_learning_nested_and_frozen():
    model = seed004.transfer_resnet50()
    summary = archviz.analyze(model)
    base = model.layers[0]
    assert summary.params == model.count_params() == 23_587_712 + 20_490 + 11
    assert summary.non_trainable_params == 23_587_712  # the frozen base
    assert summary.trainable_params == 2048 * 10 + 10 + 10 + 1
    assert any(r.name == f"{base.name}.conv2_block1_1_conv" for r in summary.records)
    assert summary.macs == archviz.analyze("resnet50-keras", include_top=False).macs + 2048 * 10 + 10


# --------------------------------------------------------------------------
# Import of other kinds of models
# --------------------------------------------------------------------------


def test_sequential_and_uncounted_layers_are_reported():
    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Conv2D(8, 3, name="conv"),
            keras.layers.RMSNormalization(name="norm"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(4, activation="celu", name="fc"),
        ]
    )
    summary = archviz.analyze(model)
    assert summary.params == model.count_params()
    assert set(summary.uncounted) == {"RMSNormalization", "Dense(activation=celu)"}
    assert not summary.complete
    norm = next(r for r in summary.records if r.name == "norm")
    assert norm.flops is None and norm.params == 8 and norm.output_shape == (14, 14, 8)
    assert summary.to_dict()["totals"]["flops_complete"] is False


def test_subclassed_model_needs_an_input_shape():
    class Tiny(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(4, 3, padding="same")
            self.pool = keras.layers.GlobalAveragePooling2D()

        def call(self, x):
            return self.pool(self.conv(x))

    with pytest.raises(archviz.UsageError, match="input_shape"):
        archviz.analyze(Tiny())
    summary = archviz.analyze(Tiny(), input_shape=(8, 8, 3))
    assert [r.name for r in summary.records] == ["input", "conv", "pool"]
    assert summary.macs == 8 * 8 * 4 * 9 * 3


def test_import_refuses_zoo_options():
    with pytest.raises(archviz.UsageError, match="classes"):
        archviz.analyze(keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten()]), classes=3)


# --------------------------------------------------------------------------
# Model files: safe mode, errors, atomic export
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    model = archviz.build_keras("resnet20")
    model.save(root / "resnet20.keras")
    model.save(root / "resnet20.h5")
    inputs = keras.Input((8, 8, 3))
    lam = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2, name="double")(inputs))
    lam.save(root / "lambda.keras")
    lam.save(root / "lambda.h5")

    @keras.saving.register_keras_serializable(package="archviz_test")
    class Twice(keras.layers.Layer):
        def call(self, x):
            return x * 2

    custom = keras.Model(inputs, Twice(name="twice")(keras.layers.Conv2D(2, 1)(inputs)))
    custom.save(root / "custom.keras")
    (root / "twice.py").write_text(
        "import keras\n\nclass Twice(keras.layers.Layer):\n    def call(self, x):\n        return x * 2\n"
    )
    (root / "garbage.keras").write_bytes(b"not a zip file at all")
    data = (root / "resnet20.keras").read_bytes()
    (root / "truncated.keras").write_bytes(data[: len(data) // 3])
    return root


def test_summary_of_keras_files(run_cli, files):
    for name in ("resnet20.keras", "resnet20.h5"):
        code, out, err = run_cli("summary", files / name, "--format", "json")
        assert code == 0, err
        record = __import__("json").loads(out)
        assert record["totals"]["params"] == archviz.analyze("resnet20").params
        assert record["totals"]["macs"] == archviz.analyze("resnet20").macs


@pytest.mark.parametrize("name", ["lambda.keras", "lambda.h5"])
def test_lambda_layer_needs_unsafe(run_cli, files, name):
    code, out, err = run_cli("summary", files / name)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "Lambda" in err and "--unsafe" in err
    code, out, err = run_cli("summary", files / name, "--unsafe", "--format", "json")
    assert code == 0
    assert "Lambda" in __import__("json").loads(out)["uncounted"]


def test_unknown_custom_layer(run_cli, files):
    keras.saving.get_custom_objects().clear()
    code, out, err = run_cli("summary", files / "custom.keras")
    assert code == 1 and err.count("\n") == 1 and "--custom-objects" in err
    code, out, err = run_cli("summary", files / "custom.keras", "--custom-objects", files / "twice.py")
    assert code == 0, err
    assert "Not counted: 1 layer(s) of type Twice" in out


@pytest.mark.parametrize(
    "name, message",
    [
        ("garbage.keras", "neither a zip archive (.keras) nor HDF5 (.h5)"),
        ("truncated.keras", "neither a zip archive (.keras) nor HDF5 (.h5)"),
        ("absent.keras", "no such file"),
    ],
)
def test_bad_model_files_are_one_line(run_cli, files, name, message):
    code, out, err = run_cli("summary", files / name)
    assert code == 1 and out == ""
    assert err.startswith("archviz: error: ") and err.count("\n") == 1 and message in err


def test_export_command(run_cli, tmp_path):
    target = tmp_path / "mini.keras"
    code, _, err = run_cli("export", SPECS / "seed004_mini_resnet.toml", "-o", target)
    assert code == 0, err
    loaded = keras.saving.load_model(target, safe_mode=True)
    assert loaded.count_params() == 1_603_861
    assert loaded.get_layer("layer2.block1.shortcut_bn") is not None
    # failures leave nothing behind and keep an existing file
    before = target.read_bytes()
    assert run_cli("export", "resnet20", "-o", tmp_path / "model.txt")[0] == 2
    assert run_cli("export", "resnet20", "-o", tmp_path / "missing" / "m.keras")[0] == 1
    assert run_cli("export", "resnet20", "--classes", "0", "-o", target)[0] == 2
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mini.keras"]


def test_bench_command(run_cli):
    code, out, err = run_cli(
        "bench", "resnet20", "--batch-size", "4", "--steps", "3", "--warmup", "1", "--format", "json"
    )
    assert code == 0, err
    result = __import__("json").loads(out)
    assert result["steps"] == 3 and len(result["times"]) == 3
    assert result["flops_per_batch"] == archviz.analyze("resnet20", batch_size=4).flops
    assert result["images_per_second"] == pytest.approx(4 / result["seconds_per_batch"])
    assert result["device"].startswith(("CPU", "GPU"))
    code, out, _ = run_cli("bench", "resnet20", "--batch-size", "2", "--steps", "2", "--warmup", "0")
    assert "images/s" in out and "GFLOP/s achieved" in out


# --------------------------------------------------------------------------
# Random variants: archviz and Keras agree (hypothesis)
# --------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def variants(draw):
    stages = draw(st.integers(1, 3))
    block = draw(st.sampled_from(["basic", "bottleneck"]))
    groups = draw(st.sampled_from([1, 2, 4])) if block == "bottleneck" else 1
    options = {
        "block": block,
        "layers": tuple(draw(st.integers(1, 2)) for _ in range(stages)),
        "widths": tuple(
            sorted(draw(st.sampled_from([16, 24, 32])) for _ in range(stages))
        ),  # A cannot shrink (stem: 16)
        "strides": tuple([1] + [draw(st.sampled_from([1, 2])) for _ in range(stages - 1)]),
        "groups": groups,
        "width_per_group": 64,
        "shortcut": draw(st.sampled_from(["A", "B", "C"])) if block == "basic" else draw(st.sampled_from(["B", "C"])),
        "stride_on": draw(st.sampled_from(["first", "middle"])),
        "preact": draw(st.booleans()),
        "conv_bias": draw(st.sampled_from(["none", "all", "unnormalized"])),
        "padding": draw(st.sampled_from(["explicit", "same", "zeropad"])),
        "input_shape": (draw(st.integers(12, 40)), draw(st.integers(12, 40)), draw(st.sampled_from([1, 3]))),
        "classes": draw(st.integers(2, 20)),
        "include_top": draw(st.booleans()),
    }
    return REGISTRY.get("resnet20").replace(name="random", stem=REGISTRY.get("resnet20").stem, **options)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variants())
def test_random_variants_agree_with_keras(config):
    assert_export_matches(config)


def test_keras_layer_names_that_break_markup(tmp_path):
    """Quotes, braces, angle brackets, backslashes and non-ASCII in Keras layer names: the DOT parses,
    dot renders it, the SVG and the report show the names as text."""
    import html

    import pydot

    from archviz.render.diagram import DiagramOptions, dot_source, render
    from archviz.render.report import render_report

    names = ['in "quoted"', "braces {x}", "<img src=x onerror=alert(1)>", "back\\slash\\", "ünïcödé 残差", "a:b"]
    inputs = keras.Input((8, 8, 3), name=names[0])
    x = keras.layers.Conv2D(4, 3, padding="same", name=names[1])(inputs)
    x = keras.layers.BatchNormalization(name=names[2])(x)
    x = keras.layers.Activation("relu", name=names[3])(x)
    x = keras.layers.GlobalAveragePooling2D(name=names[4])(x)
    model = keras.Model(inputs, keras.layers.Dense(2, name=names[5])(x))
    summary = archviz.analyze(model)
    assert [r.name for r in summary.records] == names
    for depth in ("layers", "stages"):
        (parsed,) = pydot.graph_from_dot_data(dot_source(summary, DiagramOptions(depth=depth)))
        assert len(parsed.get_edges()) == 5
    svg = render(summary, "svg", DiagramOptions(depth="layers")).decode("utf-8")
    page = render_report(summary)
    for name in names:
        assert name in html.unescape(svg)
        assert name in html.unescape(page)
    assert "<img" not in svg and "<img" not in page  # Keras forbids "/" in names, so no </script> here


def test_compare_mixes_presets_specs_and_keras_files(run_cli, files):
    code, out, err = run_cli(
        "compare", "resnet20", files / "resnet20.keras", str(SPECS / "seed004_mini_resnet.toml"), "--format", "json"
    )
    assert code == 0, err
    records = json.loads(out)
    assert [r["name"] for r in records] == [
        "resnet20",
        "resnet20.keras",
        "seed004-mini-resnet",
    ]  # two models of one name: told apart by their files
    assert records[0]["params"] == records[1]["params"] and records[0]["macs"] == records[1]["macs"]
