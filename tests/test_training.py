"""A training step's cost (archviz.core.training) without TensorFlow: memory by part, the optimizer's
slots, mixed precision, the largest batch, sizes, and the command line's one-line errors. The exactness
against TensorFlow's gradient graph is in test_training_tf.py."""

from __future__ import annotations

import json
import math

import pytest

import archviz
from archviz.core.analysis import DType
from archviz.core.training import Optimizer, Training
from archviz.errors import SpecError, UsageError
from archviz.limits import MAX_BATCH
from archviz.sources.zoo import REGISTRY
from archviz.units import parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("24GiB", 24 * 2**30),
        ("24 GB", 24 * 10**9),
        ("512MiB", 512 * 2**20),
        ("1.5MB", 1_500_000),
        ("64KiB", 65_536),
        ("2kB", 2_000),
        ("1TiB", 2**40),
        ("123", 123),
    ],
)
def test_sizes_take_binary_and_decimal_units(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["-1GiB", "0", "0.1B", "24 GiBs", "lots", "", "1e400GB"])
def test_a_bad_size_is_an_error_naming_the_option(text):
    with pytest.raises(SpecError, match="--max-memory"):
        parse_size(text, "--max-memory")


def test_optimizer_slots():
    assert {o.value: o.slots for o in Optimizer} == {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}


@pytest.mark.parametrize("optimizer", list(Optimizer))
def test_memory_parts_follow_the_params_and_the_optimizer(optimizer):
    summary = archviz.analyze("resnet18", batch_size=4, training=Training(optimizer))
    memory = summary.training.memory
    assert memory.weights == summary.params * 4
    assert memory.gradients == summary.trainable_params * 4
    assert memory.optimizer == Optimizer(optimizer).slots * summary.trainable_params * 4
    assert memory.total == memory.weights + memory.gradients + memory.optimizer + memory.activations
    record = summary.to_dict()["training"]
    assert record["memory"] == memory.to_dict() and record["memory"]["total"] == memory.total


def test_activations_grow_linearly_with_the_batch():
    one, eight = (archviz.analyze("resnet50", batch_size=b, training=Training("sgd")).training for b in (1, 8))
    assert one.memory.activations - one.kept_fixed == one.kept_per_sample
    assert eight.memory.activations == 8 * one.kept_per_sample + one.kept_fixed
    assert (one.memory.weights, one.memory.gradients) == (eight.memory.weights, eight.memory.gradients)
    forward_one, forward_eight = (archviz.analyze("resnet50", batch_size=b) for b in (1, 8))
    assert eight.macs == 8 * one.macs and eight.macs == 3 * forward_eight.macs - 8 * _stem_input_macs(forward_one)


def _stem_input_macs(summary):
    """The stem conv's MACs: its input gradient is not computed (nothing trainable lies upstream)."""
    return next(r.macs for r in summary.records if r.weighted)


def test_the_kept_tensors_of_a_small_net():
    """A conv keeps its input, a ReLU its output, a batch norm its input and 4 values per channel (its
    input's gradient is wanted: a conv lies before each), a max pool its input and output; each tensor once."""
    graph = archviz.load_graph("resnet20")
    summary = archviz.analyze(graph, training=Training("sgd"))
    records = {r.name: r for r in summary.records}
    assert records["stem.conv1"].op == "conv2d" and records["stem.bn1"].op == "batch_norm"
    # the input image (the stem conv's), the stem conv's output (its batch norm's), the stem ReLU's output
    # (the first block's conv's and the ReLU's own): 3 of the stem's tensors
    stem = 32 * 32 * 3 + 2 * 32 * 32 * 16
    assert summary.training.kept_per_sample > stem * 4
    channels = sum(r.output_shape[-1] for r in summary.records if r.op == "batch_norm")
    assert summary.training.kept_fixed == 4 * channels * 4


def test_mixed_precision_keeps_float32_weights_and_halves_the_activations():
    full = archviz.analyze("resnet50", batch_size=16, training=Training("adam")).training
    mixed = archviz.analyze("resnet50", batch_size=16, dtype="mixed_float16", training=Training("adam")).training
    bf16 = archviz.analyze("resnet50", batch_size=16, dtype="bfloat16", training=Training("adam")).training
    assert mixed.memory.weights == full.memory.weights and mixed.memory.gradients == full.memory.gradients
    assert mixed.memory.optimizer == full.memory.optimizer == 2 * bf16.memory.optimizer  # slots like the weights
    assert mixed.kept_per_sample == bf16.kept_per_sample < full.kept_per_sample
    # half of each kept tensor, but a batch norm keeps a float32 copy of its input (Keras upcasts it); in a
    # ResNet no other layer keeps a batch norm's input (a conv's output)
    summary = archviz.analyze("resnet50")
    bn_inputs = sum(
        math.prod(summary.records[i - 1].output_shape) for i, r in enumerate(summary.records) if r.op == "batch_norm"
    )
    assert all(
        summary.records[i - 1].name == r.inputs[0] for i, r in enumerate(summary.records) if r.op == "batch_norm"
    )
    assert mixed.kept_per_sample == full.kept_per_sample // 2 + 2 * bn_inputs
    assert mixed.kept_fixed == full.kept_fixed  # batch statistics stay float32
    assert bf16.memory.weights * 2 == full.memory.weights
    assert (mixed.macs, mixed.flops) == (full.macs, full.flops)
    assert DType("mixed_float16").variable_bytes == 4 and DType("mixed_float16").compute_bytes == 2


@pytest.mark.parametrize(("model", "budget"), [("resnet50", "24GiB"), ("resnet20", "100MB"), ("resnet152", "11GB")])
def test_max_batch_is_the_largest_that_fits(model, budget):
    summary = archviz.analyze(model, training=Training("adam", max_memory=budget))
    batch, limit = summary.training.max_batch, parse_size(budget)
    assert summary.training.max_memory == limit
    at = archviz.analyze(model, batch_size=batch, training=Training("adam")).training.memory.total
    after = archviz.analyze(model, batch_size=batch + 1, training=Training("adam")).training.memory.total
    assert at <= limit < after


def test_max_batch_stops_at_the_batch_limit():
    summary = archviz.analyze("resnet20", training=Training("sgd", max_memory="1000TiB"))
    assert summary.training.max_batch == MAX_BATCH


def test_a_budget_too_small_for_batch_one_is_an_error():
    with pytest.raises(UsageError, match="too small for batch 1"):
        archviz.analyze("resnet50", training=Training("adam", max_memory="100MiB"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"optimizer": "lamb"}, "--optimizer"),
        ({"max_memory": -5}, "--max-memory"),
        ({"max_memory": "-1GiB"}, "--max-memory"),
        ({"max_memory": True}, "--max-memory"),
    ],
)
def test_bad_training_options(options, message):
    with pytest.raises(UsageError, match=message):
        Training(**options)


def test_analyze_takes_only_a_training_object():
    with pytest.raises(UsageError, match="Training"):
        archviz.analyze("resnet20", training="adam")


def test_a_layer_without_a_training_rule_is_listed_and_the_totals_are_lower_bounds():
    graph = archviz.load_graph("resnet20")
    for node in graph:
        if node.op == "activation":
            node.attrs["fn"] = "mish"  # a forward rule, no training rule yet
    summary = archviz.analyze(graph, training=Training("sgd"))
    assert not summary.training.complete and "stem.relu1" in summary.training.uncounted
    assert summary.to_dict()["training"]["complete"] is False
    assert summary.value("training_macs").complete is False
    from archviz.render.text import render_markdown, render_table

    lines = render_table(summary).splitlines()
    heading = lines.index("Training step:")
    assert lines[heading + 1].startswith("Training MACs:") and lines[heading - 1].startswith("Activation memory:")
    note = (
        "Not counted in training: 19 layer(s) with no training rule"
        " (stem.relu1, layer1.block1.relu1, layer1.block1.relu, ...)"
    )
    assert note in lines
    assert "**Training step**" in render_markdown(summary) and note in render_markdown(summary)
    assert "Not counted in training" not in render_table(archviz.analyze("resnet20", training=Training("sgd")))


def test_the_summary_command_shows_a_training_section(run_cli):
    code, out, err = run_cli("summary", "resnet20", "--training", "--optimizer", "momentum", "--batch-size", "128")
    assert code == 0 and err == ""
    summary = archviz.analyze("resnet20", batch_size=128, training=Training("momentum"))
    assert f"Training MACs:     {summary.training.macs:,}" in out
    assert "(batch 128, momentum, float32)" in out
    assert "weights, " in out and " optimizer, " in out and "activations" in out
    assert "Max batch" not in out


def test_the_json_record_has_a_training_object(run_cli):
    code, out, _ = run_cli("summary", "resnet20", "--max-memory", "2GiB", "--format", "json", "--dtype", "bfloat16")
    assert code == 0
    record = json.loads(out)
    training = record["training"]
    assert training["optimizer"] == "adam" and training["dtype"] == "bfloat16"  # --max-memory implies --training
    assert set(training["memory"]) == {"weights", "gradients", "optimizer", "activations", "total"}
    assert training["max_memory"] == 2 * 2**30 and training["max_batch"] > 1
    assert "training_macs" not in record["totals"]
    code, out, _ = run_cli("summary", "resnet20", "--format", "json")
    assert "training" not in json.loads(out)


def test_compare_with_training(run_cli):
    code, out, _ = run_cli("compare", "resnet20", "resnet32", "--training", "--optimizer", "sgd")
    assert code == 0 and "Training MACs" in out and "Training memory" in out
    code, out, _ = run_cli("compare", "resnet20", "resnet32")
    assert code == 0 and "Training" not in out
    code, out, _ = run_cli("compare", "resnet20", "resnet32", "--training", "--format", "json")
    assert all(entry["training"]["optimizer"] == "adam" for entry in json.loads(out))


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--training", "--optimizer", "lamb"], "--optimizer"),
        (["--training", "--batch-size", "0"], "--batch-size"),
        (["--max-memory", "-1GiB"], "--max-memory"),
        (["--max-memory", "24 lightyears"], "--max-memory"),
        (["--training", "--dtype", "float8"], "--dtype"),
    ],
)
def test_bad_values_are_one_line_naming_the_option(run_cli, args, option):
    code, out, err = run_cli("summary", "resnet50", *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and option in err


def test_a_budget_too_small_is_one_line(run_cli):
    code, out, err = run_cli("summary", "resnet50", "--max-memory", "64MiB")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "too small for batch 1" in err and "resnet50 needs" in err


def test_the_report_shows_the_training_cards(run_cli, tmp_path):
    page = tmp_path / "r.html"
    code, _, _ = run_cli("report", "resnet20", "-o", page, "--training", "--max-memory", "1GiB")
    assert code == 0
    html = page.read_text()
    for label in ("Training MACs", "Training FLOPs", "Training memory", "Largest batch"):
        assert f'<div class="label">{label}</div>' in html
    code, _, _ = run_cli("report", "resnet20", "-o", page)
    assert '<div class="label">Training' not in page.read_text()


@pytest.mark.parametrize("name", [config.name for config in REGISTRY])
def test_fit_counts_a_training_step_by_parts_as_the_full_walk_does(name):
    """For every preset: every layer has a training rule, the step's MACs are three times the forward's but
    the stem's input gradient, and fit's parts add up to the full walk."""
    from archviz.api import load_config
    from archviz.studies.fit import training_by_parts

    for dtype, width in (("float32", 4), ("mixed_float16", 2)):
        summary = archviz.analyze(name, dtype=dtype, training=Training("sgd"))
        assert summary.training.complete
        # forward, weight gradients, input gradients but the first conv's (nothing trainable before it)
        first = next(r for r in summary.records if r.weighted)
        assert summary.training.macs == 3 * summary.macs - first.macs
        trainable, elements, kept_bytes, fixed = training_by_parts(load_config(name), dtype)
        assert trainable == summary.trainable_params
        assert elements * width + kept_bytes == summary.training.kept_per_sample
        assert fixed * 4 == summary.training.kept_fixed


def test_fit_bounds_the_training_memory(run_cli):
    args = ("fit", "--max-params", "2M", "--family", "cifar", "--max-train-memory", "1GiB", "--batch-size", "256")
    code, out, _ = run_cli(*args, "--optimizer", "momentum", "--format", "json", "--limit", "0")
    assert code == 0
    result = json.loads(out)
    assert result["training"] == {"max_memory": 2**30, "batch_size": 256, "optimizer": "momentum", "dtype": "float32"}
    assert result["variants"] and all(v["training_memory"] <= 2**30 for v in result["variants"])
    first = result["variants"][0]
    summary = archviz.analyze(
        first["base"],
        batch_size=256,
        training=Training("momentum"),
        **{k: tuple(v) if isinstance(v, list) else v for k, v in first["options"].items()},
    )
    assert summary.training.memory.total == first["training_memory"]
    words = first["command"].split()[1:]
    code, out, _ = run_cli(*words, "--format", "json")
    assert code == 0 and json.loads(out)["training"]["memory"]["total"] == first["training_memory"]
    code, out, _ = run_cli("fit", "--max-params", "2M", "--family", "cifar", "--format", "json", "--limit", "0")
    unbounded = json.loads(out)
    assert unbounded["within_budget"] > result["within_budget"] and "training" not in unbounded
    code, out, _ = run_cli(*args[:-2])
    assert code == 0 and "Training memory" in out and "to train at batch 1 (adam, float32)" in out


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--max-train-memory", "0GiB"], "--max-train-memory"),
        (["--max-train-memory", "1GiB", "--batch-size", "0"], "--batch-size"),
        (["--optimizer", "sgd"], "--max-train-memory"),
        (["--max-train-memory", "1GiB", "--optimizer", "rmsprop"], "--optimizer"),
    ],
)
def test_fit_bad_training_values(run_cli, args, option):
    code, out, err = run_cli("fit", "--max-params", "2M", *args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and option in err


def test_a_frozen_conv_computes_no_weight_gradient_and_a_frozen_batch_norm_runs_in_inference_mode():
    summary = archviz.analyze("resnet20", batch_size=2, training=Training("sgd"))
    frozen = archviz.analyze("resnet20", batch_size=2)
    records = frozen.records
    conv = next(i for i, r in enumerate(records) if r.name == "layer3.block3.conv2")
    records[conv] = records[conv].replace(trainable_params=0, non_trainable_params=records[conv].trainable_params)
    from archviz.core.training import training_cost

    step = training_cost(frozen, Training("sgd"))
    assert step.complete and step.macs == summary.training.macs - records[conv].macs
    bn = next(i for i, r in enumerate(records) if r.op == "batch_norm")
    records[bn] = records[bn].replace(trainable_params=0, non_trainable_params=records[bn].params)
    frozen_step = training_cost(frozen, Training("sgd"))
    assert frozen_step.complete
    # no batch statistics, no gamma and beta gradients: its input's gradient times a factor, 1 per element
    elements, channels = math.prod(records[bn].output_shape), records[bn].output_shape[-1]
    trained = 2 * (11 * elements + 3 * elements) + 10 * channels
    assert step.flops - frozen_step.flops == trained - 2 * elements
    # it keeps neither its input (the stem conv's output, which nothing else keeps) nor its batch statistics
    # (4 per channel), only its factor (1 per channel)
    assert step.memory.activations - frozen_step.memory.activations == 2 * 4 * elements + 3 * 4 * channels


# ---- after review: a forward that is a lower bound, the dtypes that train, sizes checked in the library ------


def _custom_op_file(tmp_path):
    """An ONNX file whose one op (a custom domain's) no rule counts, forward or backward."""
    pytest.importorskip("onnx")
    from onnx import helper
    from onnx_models import model, save

    node = helper.make_node("Foo", ["x"], ["y"], name="f", domain="com.example")
    built = model([node], [1, 3, 8, 8], domains=["com.example"])
    built.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", 1, [1, 3, 8, 8]))
    return save(built, tmp_path / "custom.onnx")


def test_a_forward_lower_bound_makes_the_training_step_incomplete_and_the_batch_an_upper_bound(run_cli, tmp_path):
    path = _custom_op_file(tmp_path)
    summary = archviz.analyze(path, training=Training("adam", max_memory="1MiB"))
    assert not summary.complete
    step = summary.training
    assert not step.complete and step.uncounted == ("f",)
    record = summary.to_dict()["training"]
    assert record["complete"] is False and record["uncounted"] == ["f"]
    code, out, _ = run_cli("summary", path, "--training", "--max-memory", "1MiB")
    assert code == 0
    (line,) = [line for line in out.splitlines() if line.startswith("Max batch:")]
    assert "at most 1,000,000" in line
    assert line.endswith("(upper bound: some layers not counted, so the memory per sample is a lower bound)")
    (line,) = [line for line in out.splitlines() if line.startswith("Training FLOPs:")]
    assert line.endswith("(lower bound: some layers not counted)")
    from archviz.core.metrics import METRICS_BY_KEY

    assert METRICS_BY_KEY["max_batch"].card(summary)["label"] == "Largest batch (upper bound)"
    assert METRICS_BY_KEY["training_memory"].card(summary)["label"] == "Training memory (lower bound)"
    code, out, _ = run_cli("compare", path, "resnet20", "--training", "--max-memory", "1GiB")
    assert code == 0 and "<=1.00 M" in out and "<= Max batch: an upper bound (at most)" in out


def test_a_complete_step_has_an_exact_max_batch(run_cli):
    code, out, _ = run_cli("summary", "resnet20", "--training", "--max-memory", "1GiB")
    (line,) = [line for line in out.splitlines() if line.startswith("Max batch:")]
    assert "at most" not in line and "bound" not in line


@pytest.mark.parametrize("dtype", ["float32", "mixed_float16", "bfloat16", "float16", "float64"])
def test_the_dtypes_that_train(dtype):
    summary = archviz.analyze("resnet20", dtype=dtype, training=Training("adam"))
    step, kind = summary.training, DType(dtype)
    assert step.complete
    assert step.memory.optimizer == 2 * step.memory.gradients  # slots made like the weights
    assert step.memory.gradients == summary.trainable_params * kind.variable_bytes


@pytest.mark.parametrize(
    "command", [["summary", "resnet20", "--training"], ["fit", "--max-params", "1M", "--max-train-memory", "1GiB"]]
)
def test_an_integer_dtype_does_not_train(run_cli, command):
    code, out, err = run_cli(*command, "--dtype", "int8")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--dtype" in err and "cannot train" in err
    with pytest.raises(UsageError, match=r"dtype \(--dtype\) 'int8' cannot train"):
        archviz.analyze("resnet20", dtype="int8", training=Training())


@pytest.mark.parametrize("size", [10**30, 0, -5, True, 2.5, "0GiB"])
def test_the_library_checks_a_budget_as_the_command_line_does(size):
    with pytest.raises(SpecError, match=r"^max_memory \(--max-memory\) must be"):
        Training(max_memory=size)
    assert Training(max_memory=2**40 * 10**6).max_memory == 2**40 * 10**6  # the largest the CLI takes too


def test_library_errors_name_the_parameter_and_the_option():
    with pytest.raises(UsageError, match=r"^optimizer \(--optimizer\) must be one of"):
        Training(optimizer="adagrad")
    with pytest.raises(UsageError, match=r"^max_memory \(--max-memory\) 1\.0 KiB is too small for batch 1"):
        archviz.analyze("resnet20", training=Training(max_memory=1024))
