"""Option handling found wanting in review: Keras-file options given for other models, --optimizer in
summary and fit, sorting by a training metric without a training step, models that share a name, and
a bad depth from Python."""

from __future__ import annotations

import shutil

import pytest

import archviz
from archviz.errors import UsageError

onnx = pytest.importorskip("onnx")
from onnx import helper  # noqa: E402
from onnx_models import model, save, weight  # noqa: E402


@pytest.fixture
def onnx_file(tmp_path):
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[1, 1, 1, 1])
    return save(model([node], [1, 3, 8, 8], initializers=[weight("w", (4, 3, 3, 3))]), tmp_path / "r18.onnx")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--unsafe"], "unsafe (--unsafe) applies to Keras model files"),
        (["--custom-objects", "layers.py"], "custom_objects (--custom-objects) applies to Keras model files"),
    ],
)
@pytest.mark.parametrize("which", ["onnx", "preset"])
def test_keras_file_options_are_refused_for_other_models(run_cli, onnx_file, args, words, which):
    target = onnx_file if which == "onnx" else "resnet20"
    code, out, err = run_cli("summary", target, *args)
    assert code == 2 and out == "" and err.count("\n") == 1 and words in err


def test_optimizer_implies_a_step_in_summary_and_needs_a_budget_in_fit(run_cli):
    code, out, _ = run_cli("summary", "resnet20", "--optimizer", "sgd")
    assert code == 0 and "Training memory:" in out
    code, out, err = run_cli("fit", "--max-params", "1M", "--optimizer", "sgd")
    assert code == 2 and err.count("\n") == 1 and "--max-train-memory" in err


@pytest.mark.parametrize(("sort", "needs"), [("training_macs", "--training"), ("max_batch", "--max-memory")])
def test_sorting_by_a_training_metric_needs_a_training_step(run_cli, sort, needs):
    args = ["--training"] if sort == "max_batch" else []
    code, out, err = run_cli("compare", "resnet20", "resnet32", "--sort", sort, *args)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"sort (--sort) {sort}" in err and err.rstrip().endswith(f"needs {needs}")
    code, out, _ = run_cli("compare", "resnet32", "resnet20", "--sort", "training_macs", "--training")
    rows = [line.split()[0] for line in out.splitlines() if line.startswith("resnet")]
    assert code == 0 and rows[:2] == ["resnet20", "resnet32"]  # then the per-stage table


def test_models_that_share_a_name_are_told_apart(run_cli, onnx_file, tmp_path, monkeypatch):
    (tmp_path / "d2").mkdir()
    shutil.copy(onnx_file, tmp_path / "d2" / "r18.onnx")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli("compare", "r18.onnx", "d2/r18.onnx", "--baseline", "d2/r18.onnx")
    rows = [line.split()[0] for line in out.splitlines() if "r18" in line]
    assert code == 0 and rows == ["r18.onnx", "d2/r18.onnx"]
    code, out, _ = run_cli("compare", tmp_path / "r18.onnx", tmp_path / "d2" / "r18.onnx")
    rows = [line.split()[0] for line in out.splitlines() if "r18" in line]  # the shortest ends that differ
    assert code == 0 and rows == [f"{tmp_path.name}/r18.onnx", "d2/r18.onnx"]
    code, _, err = run_cli("compare", "r18.onnx", "d2/r18.onnx", "--baseline", "r18")
    assert code == 2 and "baseline (--baseline) 'r18' names 2 models: r18.onnx, d2/r18.onnx" in err
    code, out, _ = run_cli("compare", "resnet20", "resnet20", "--format", "json")
    assert code == 0 and [e["name"] for e in __import__("json").loads(out)] == ["resnet20 (1)", "resnet20 (2)"]


@pytest.mark.parametrize("depth", ["bogus", 0, 9, 2.5])
def test_a_bad_depth_from_python_is_a_usage_error(depth):
    with pytest.raises(UsageError, match="depth"):
        archviz.analyze("resnet20").html(depth=depth)
