"""Keras files read without TensorFlow (archviz.sources.keras.reader): the same record as loading them with
Keras, for every keras.applications model, the seeds' models, nested, frozen and shared layers, and
Keras 2 (tf.keras) .h5 files; safe by construction: a config that is not what Keras writes is one
line, exit 1, never a traceback; and TensorFlow is never imported on the way.
"""

from __future__ import annotations

import copy
import gc
import importlib.util
import io
import json
import os
import subprocess
import sys
import zipfile

import pytest
from conftest import ROOT, SPECS
from reference import SEED_FIGURES

import archviz
from archviz.sources.keras.reader import NotReadable

# ---- files written by hand: no TensorFlow needed -------------------------------------------------


def tensor(layer, shape, call=0):
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [None, *shape], "dtype": "float32", "keras_history": [layer, call, 0]},
    }


def dense(name, source, units=4, shape=(8,), call=0):
    return {
        "module": "keras.layers",
        "class_name": "Dense",
        "name": name,
        "registered_name": None,
        "config": {"name": name, "trainable": True, "units": units, "activation": "relu", "use_bias": True},
        "inbound_nodes": [{"args": [tensor(source, shape, call)], "kwargs": {}}],
    }


def tiny():
    """A Keras 3 functional model's config: an 8-vector input, Dense(4, relu)."""
    layers = [
        {
            "module": "keras.layers",
            "class_name": "InputLayer",
            "name": "x",
            "registered_name": None,
            "config": {"name": "x", "batch_shape": [None, 8], "dtype": "float32"},
            "inbound_nodes": [],
        },
        dense("fc", "x"),
    ]
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "registered_name": "Functional",
        "config": {
            "name": "tiny",
            "trainable": True,
            "layers": layers,
            "input_layers": [["x", 0, 0]],
            "output_layers": [["fc", 0, 0]],
        },
    }


TINY_WEIGHTS = {"layers/dense/vars/0": (8, 4), "layers/dense/vars/1": (4,)}


def write_keras(path, config, weights=TINY_WEIGHTS):
    """A .keras archive as Keras lays it out: config.json, and model.weights.h5 unless ``weights`` is None."""
    import h5py

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        if weights is not None:
            buffer = io.BytesIO()
            with h5py.File(buffer, "w") as handle:
                for name, shape in weights.items():
                    handle.create_dataset(name, shape=shape, dtype="float32")
            archive.writestr("model.weights.h5", buffer.getvalue())
    return path


def nested(depth):
    """``tiny`` inside a model inside a model ... ``depth`` times, and where its weights are then."""
    config = tiny()
    for level in range(depth):
        inner = copy.deepcopy(config)
        inner["config"]["name"] = f"m{level}"
        call = {**inner, "name": f"m{level}", "inbound_nodes": [{"args": [tensor("x", (8,))], "kwargs": {}}]}
        config = tiny()
        config["config"]["layers"][1] = call
        config["config"]["output_layers"] = [[f"m{level}", 1, 0]]  # Keras 3 counts a model's own node first
    return config, {
        "layers/" + "functional/layers/" * depth + name[len("layers/") :]: shape for name, shape in TINY_WEIGHTS.items()
    }


def mutate(change):
    config = tiny()
    change(config["config"])
    return config


def cycle(config):
    config["layers"][1] = dense("fc", "fc2")
    config["layers"].append(dense("fc2", "fc", shape=(4,)))


#: case -> (config, weights, a fragment of the one line it must produce)
HOSTILE = {
    "no layers": (mutate(lambda c: c.pop("layers")), TINY_WEIGHTS, "a model's config has no 'layers'"),
    "layers not a list": (mutate(lambda c: c.update(layers="fc")), TINY_WEIGHTS, "no 'layers' of the right type"),
    "a layer not an object": (mutate(lambda c: c["layers"].append(3)), TINY_WEIGHTS, "a layer is not an object"),
    "a layer without a class": (
        mutate(lambda c: c["layers"][1].pop("class_name")),
        TINY_WEIGHTS,
        "a layer has no 'class_name'",
    ),
    "inbound_nodes not a list": (
        mutate(lambda c: c["layers"][1].update(inbound_nodes=5)),
        TINY_WEIGHTS,
        "layer 'fc' has no 'inbound_nodes' of the right type",
    ),
    "an input from a layer not there": (
        mutate(lambda c: c["layers"].__setitem__(1, dense("fc", "ghost"))),
        TINY_WEIGHTS,
        "names layer 'ghost', which the model does not have",
    ),
    "a call that is not there": (
        mutate(lambda c: c["layers"].__setitem__(1, dense("fc", "x", call=5))),
        TINY_WEIGHTS,
        "names call 5 of layer 'x'",
    ),
    "a history that is not a triple": (
        mutate(lambda c: c["layers"][1]["inbound_nodes"][0]["args"][0]["config"].update(keras_history="x")),
        TINY_WEIGHTS,
        "is not [layer, node, tensor]",
    ),
    "a cycle": (
        mutate(cycle),
        {**TINY_WEIGHTS, "layers/dense_1/vars/0": (4, 4), "layers/dense_1/vars/1": (4,)},
        "waits for inputs that never come (a cycle?)",
    ),
    "a layer reading itself": (
        mutate(lambda c: c["layers"].__setitem__(1, dense("fc", "fc"))),
        TINY_WEIGHTS,
        "layer 'fc' waits for inputs that never come",
    ),
    "two layers of one name": (
        mutate(lambda c: c["layers"].append(dense("fc", "x"))),
        TINY_WEIGHTS,
        "two layers named 'fc'",
    ),
    "an input shape that is not one": (
        mutate(lambda c: c["layers"][0]["config"].update(batch_shape="8")),
        TINY_WEIGHTS,
        "input 'x' has no input shape",
    ),
    "no outputs": (mutate(lambda c: c.pop("output_layers")), TINY_WEIGHTS, "the model's outputs are not a list"),
    "models nested 40 deep": (*nested(40), "models nested more than 32 deep"),
    "weights that are not the rule's": (
        tiny(),
        {"layers/dense/vars/0": (8, 5), "layers/dense/vars/1": (5,)},
        "layer 'fc' (Dense) holds 45 weights in the file, but archviz's rule gives 36 params",
    ),
    "no weights": (tiny(), None, "the archive has no model.weights.h5"),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hostile_configs")
    for number, (config, weights, _) in enumerate(HOSTILE.values()):
        write_keras(directory / f"case{number}.keras", config, weights)
    return directory


@pytest.mark.parametrize("loader", ["config", "auto"])
@pytest.mark.parametrize("case", HOSTILE)
def test_a_config_not_as_keras_writes_it_is_one_line(run_cli, hostile, case, loader):
    path = hostile / f"case{list(HOSTILE).index(case)}.keras"
    code, out, err = run_cli("summary", path, "--loader", loader)
    assert (code, out) == (1, ""), err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("archviz: error: ") and HOSTILE[case][2] in lines[0], err


def test_nested_models_within_the_limit_are_read(tmp_path):
    summary = archviz.analyze(write_keras(tmp_path / "deep.keras", *nested(30)), loader="config")
    assert summary.params == 36 and summary.records[-1].name == ".".join(f"m{n}" for n in range(29, -1, -1)) + ".fc"


def test_an_unknown_class_is_named_in_config_mode(run_cli, tmp_path):
    config = mutate(lambda c: c["layers"][1].update(module="mypackage", class_name="Dense"))
    code, out, err = run_cli("summary", write_keras(tmp_path / "custom.keras", config), "--loader", "config")
    assert (code, out) == (1, "")
    assert err == (
        f"archviz: error: {tmp_path / 'custom.keras'}: archviz's config reader cannot read layer class "
        f"'mypackage>Dense'; --loader keras (or auto) loads the file with Keras\n"
    )


PROBE = """
import sys
from archviz.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="archviz")
except SystemExit as done:
    print(done.code, sorted({m.split('.')[0] for m in sys.modules} & {"tensorflow", "keras", "tf_keras"}),
          file=sys.stderr)
"""


def test_a_hand_written_file_is_read_without_tensorflow(tmp_path):
    write_keras(tmp_path / "tiny.keras", tiny())
    write_keras(tmp_path / "cycle.keras", mutate(cycle))
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "summary", "tiny.keras", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.stderr == "0 []\n"
    record = json.loads(result.stdout)
    assert record["totals"]["params"] == 36 and record["model"]["options"]["loader"] == "config"
    assert [layer["name"] for layer in record["layers"]] == ["x", "fc"]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "summary", "cycle.keras"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.stderr.splitlines()[-1] == "1 []" and "a cycle?" in result.stderr


def test_loader_is_an_option_of_keras_files_only(run_cli):
    code, _, err = run_cli("summary", "resnet20", "--loader", "config")
    assert code == 2 and "--loader config applies to Keras model files (.keras, .h5)" in err
    assert run_cli("summary", "resnet20", "--loader", "auto")[0] == 0
    with pytest.raises(archviz.UsageError, match="loader must be one of auto, config, keras"):
        archviz.analyze("resnet20", loader="tf")


# ---- files written by Keras ----------------------------------------------------------------------

tf = pytest.mark.tf


def keras_module():
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    return keras


def both(path, **options):
    """The JSON records of ``path`` read by archviz's config reader and loaded by Keras, without the one
    option that differs: the loader."""
    ours = archviz.analyze(path, loader="config", **options).to_dict()
    theirs = archviz.analyze(path, loader="keras", **options).to_dict()
    assert (ours["model"]["options"].pop("loader"), theirs["model"]["options"].pop("loader")) == ("config", "keras")
    return ours, theirs


def applications():
    from test_keras_applications import CONSTRUCTORS, QUICK

    return [pytest.param(n, marks=[tf] if n in QUICK else [tf, pytest.mark.slow]) for n in CONSTRUCTORS]


@pytest.mark.parametrize("name", applications() if importlib.util.find_spec("keras") else [])
def test_every_keras_application_reads_as_keras_loads_it(name, tmp_path):
    keras = keras_module()
    from test_keras_applications import build

    build(name).save(tmp_path / f"{name}.keras")
    keras.backend.clear_session()
    ours, theirs = both(tmp_path / f"{name}.keras")
    assert ours == theirs
    assert ours["warnings"] == [] and ours["uncounted"] == {}
    keras.backend.clear_session()
    gc.collect()


@pytest.fixture(scope="module")
def resnet50_file(tmp_path_factory):
    keras = keras_module()
    path = tmp_path_factory.mktemp("resnet50") / "ResNet50.keras"
    keras.applications.ResNet50(weights=None).save(path)
    keras.backend.clear_session()
    return path


@tf
def test_a_config_summary_never_imports_tensorflow(resnet50_file):
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "summary", resnet50_file.name, "--depth", "stages"],
        capture_output=True,
        text=True,
        cwd=resnet50_file.parent,
    )
    assert result.stderr == "0 []\n"
    assert "Params:            25,636,712 (25.6 M): 25,583,592 trainable, 53,120 non-trainable" in result.stdout


@tf
def test_the_loader_is_said_and_chosen(run_cli, resnet50_file, tmp_path):
    for loader in ("auto", "config", "keras"):
        code, out, err = run_cli("summary", resnet50_file, "--loader", loader, "--format", "json")
        assert (code, err) == (0, "")
        assert json.loads(out)["model"]["options"]["loader"] == ("keras" if loader == "keras" else "config")
    code, _, err = run_cli("bench", resnet50_file, "--loader", "config", "--steps", "1")
    assert code == 2 and "--loader config reads the file without Keras" in err


@tf
@pytest.mark.parametrize("corrected", [False, True])
def test_seed003_functional_resnet50(corrected, tmp_path):
    keras = keras_module()
    from seed_models import seed003

    model = seed003.resnet50(corrected=corrected)
    model.save(tmp_path / "seed003.keras")
    model.save(tmp_path / "seed003.h5")
    keras.backend.clear_session()
    spec = SPECS / f"seed003_resnet50_{'corrected' if corrected else 'as_written'}.toml"
    expected = archviz.analyze(spec)
    for name in ("seed003.keras", "seed003.h5"):
        ours, theirs = both(tmp_path / name)
        assert ours == theirs
        totals = ours["totals"]
        assert (totals["params"], totals["non_trainable_params"]) == SEED_FIGURES[spec.name]
        assert (totals["macs"], totals["flops"]) == (expected.macs, expected.flops)


@tf
def test_seed004_transfer_model_nested_and_frozen(tmp_path):
    keras = keras_module()
    from seed_models import seed004

    seed004.transfer_resnet50().save(tmp_path / "transfer.keras")
    base = keras.applications.ResNet50(include_top=False, weights=None)  # its input size left open
    base.trainable = False
    keras.Sequential([base, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)]).save(
        tmp_path / "open.keras"
    )
    keras.backend.clear_session()
    ours, theirs = both(tmp_path / "transfer.keras")
    assert ours == theirs
    assert ours["totals"]["params"] == 23_587_712 + 20_490 + 11 and ours["totals"]["non_trainable_params"] == 23_587_712
    assert any(layer["name"] == "resnet50.conv2_block1_1_conv" for layer in ours["layers"])
    ours, theirs = both(tmp_path / "open.keras")
    assert ours == theirs and ours["totals"]["macs"] is None
    assert ours["totals"]["trainable_params"] == 2048 * 10 + 10
    sized, sized_keras = both(tmp_path / "open.keras", input_shape=(160, 160, 3))
    assert sized == sized_keras and sized["totals"]["macs"] == 1_967_329_280


@tf
def test_shared_layers_raw_ops_and_a_model_called_twice(tmp_path):
    keras = keras_module()
    inputs = keras.Input((8, 8, 4), name="inp")
    conv = keras.layers.Conv2D(4, 3, padding="same", name="conv")
    first = conv(inputs)
    x = keras.ops.mean(first * 2.0 + conv(first), axis=[1, 2])
    fc = keras.layers.Dense(3, name="fc")
    inner_input = keras.Input((6,), name="inner_in")
    inner = keras.Model(inner_input, keras.layers.Dense(6, name="dd")(inner_input), name="inner")
    merged = keras.layers.Concatenate()([fc(x), fc(x)])
    keras.Model(inputs, [inner(inner(merged)), merged], name="shared").save(tmp_path / "shared.keras")
    keras.backend.clear_session()
    ours, theirs = both(tmp_path / "shared.keras")
    assert ours == theirs and ours["warnings"] == []
    names = [layer["name"] for layer in ours["layers"]]
    assert {"conv_1", "fc_1", "multiply", "inner.dd", "inner.dd_1"} <= set(names)
    assert ours["totals"]["params"] == 148 + 15 + 42


@tf
@pytest.mark.filterwarnings("ignore:`build\\(\\)` was called on layer:UserWarning")
def test_custom_and_subclassed_models_fall_back_to_keras(run_cli, tmp_path):
    keras = keras_module()
    import numpy as np
    from seed_models import seed000, seed004

    @keras.saving.register_keras_serializable(package="archviz_seed000")
    class SavedResNet(seed000.ResNet):
        """Seed 000's subclassed ResNet with the get_config that saving needs."""

        def __init__(self, layer_dims, num_classes=1000, **kwargs):
            super().__init__(layer_dims, num_classes, **kwargs)
            self.layer_dims, self.num_classes = list(layer_dims), num_classes

        def get_config(self):
            return {"layer_dims": self.layer_dims, "num_classes": self.num_classes, "name": self.name}

    model = SavedResNet([2, 2, 2, 2])
    model(np.zeros((1, 224, 224, 3), "float32"))
    model.save(tmp_path / "seed000.keras")
    seed004.mini_resnet().save(tmp_path / "mini.keras")
    keras.backend.clear_session()
    summary = archviz.analyze(tmp_path / "seed000.keras")
    assert (summary.params, summary.non_trainable_params) == (12_053_608, 7_808)
    assert summary.options["loader"] == "keras"
    assert summary.options["loader_reason"] == (
        "the config reader cannot read model class 'archviz_seed000>SavedResNet' (not a functional or Sequential model)"
    )
    summary = archviz.analyze(
        tmp_path / "mini.keras", custom_objects=str(ROOT / "tests/seed_models/seed004.py"), unsafe=True
    )
    assert (summary.params, summary.non_trainable_params) == SEED_FIGURES["seed004_mini_resnet.toml"]
    assert "'seed_models.seed004>ResidualBlock'" in summary.options["loader_reason"]
    code, out, err = run_cli("summary", tmp_path / "mini.keras", "--loader", "config")
    assert (code, out) == (1, "") and err.count("\n") == 1 and "layer class 'seed_models.seed004>ResidualBlock'" in err
    with pytest.raises(NotReadable):
        archviz.analyze(tmp_path / "mini.keras", loader="config")


TF_KERAS_SCRIPT = """
import json, os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tf_keras
sys.modules["keras"] = tf_keras  # the seeds' code, as the posts ran it: tf.keras
sys.path.insert(0, sys.argv[1])
from seed_models import seed003, seed004
figures = {}
for name, model in (("seed003", seed003.resnet50()), ("transfer", seed004.transfer_resnet50())):
    model.save(name + ".h5")
    loaded = tf_keras.models.load_model(name + ".h5", compile=False)
    figures[name] = [loaded.count_params(), int(sum(w.shape.num_elements() for w in loaded.non_trainable_weights))]
print(json.dumps(figures))
"""


@tf
@pytest.mark.skipif(importlib.util.find_spec("tf_keras") is None, reason="tf-keras writes Keras 2 files (make test)")
def test_keras2_h5_files_as_the_seed_posts_wrote_them(tmp_path):
    keras = keras_module()
    from seed_models import seed004

    result = subprocess.run(
        [sys.executable, "-c", TF_KERAS_SCRIPT, str(ROOT / "tests")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.splitlines()[-1])
    assert figures["seed003"] == list(SEED_FIGURES["seed003_resnet50_as_written.toml"])
    assert figures["transfer"] == [23_587_712 + 20_490 + 11, 23_587_712]
    seed003 = archviz.analyze(tmp_path / "seed003.h5", loader="config")
    expected = archviz.analyze(SPECS / "seed003_resnet50_as_written.toml")
    assert [seed003.params, seed003.non_trainable_params] == figures["seed003"]
    assert (seed003.macs, seed003.flops) == (expected.macs, expected.flops) and not seed003.warnings
    transfer = archviz.analyze(tmp_path / "transfer.h5")
    assert transfer.options["loader"] == "config"
    assert [transfer.params, transfer.non_trainable_params] == figures["transfer"]
    seed004.transfer_resnet50().save(tmp_path / "transfer.keras")
    keras.backend.clear_session()
    assert transfer.totals() == archviz.analyze(tmp_path / "transfer.keras").totals()
