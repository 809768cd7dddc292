"""Files that tf-keras (Keras 2) writes, read by archviz's config reader without TensorFlow: its
``.keras`` archives (functional, Sequential, nested; ``tf_keras.src...`` module paths) and ``.h5``
files with ``TFOpLambda`` layers (keras_tf_ops.FUNCTIONS). The files are written by tf-keras in a
subprocess (tf-keras and Keras 3 share TensorFlow's global state badly), which also reports
tf-keras's own counts and the profiler's FLOPs; params must equal tf-keras's, FLOPs the profiler's
plus the batch norms' (the profiler costs tf.keras's FusedBatchNormV3 at 0, see the conventions).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest
from conftest import ROOT

import archviz
from archviz.conventions import CONVENTIONS
from archviz.sources.keras.reader import NotReadable
from archviz.sources.keras.tf_ops import FUNCTIONS

pytestmark = [
    pytest.mark.tf,
    pytest.mark.skipif(
        importlib.util.find_spec("tf_keras") is None, reason="tf-keras writes Keras 2 files (make test)"
    ),
]

WRITER = """
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
import tf_keras as k
from archviz.backend.profiler import profiler_flops

def block(inp):
    x = k.layers.Conv2D(4, 3, padding="same", name="conv")(inp)
    return k.layers.BatchNormalization(name="bn")(x)

inp = k.Input((8, 8, 3), name="image")
x = block(inp)
y = tf.nn.relu(x)
z = (x + y) * 2.0
z = 3.0 - z
z = z / 4.0
z = tf.math.multiply(z, tf.nn.sigmoid(y))
z = tf.compat.v1.nn.relu6(tf.nn.silu(z))
z = tf.nn.gelu(z) + tf.nn.gelu(z, approximate=True)
w = tf.math.reduce_mean(z, axis=[1, 2], keepdims=True)
z = tf.math.maximum(z * w, 0.5)
s = tf.compat.v1.reduce_sum(z, axis=-1, keep_dims=False)
m = tf.reshape(z, (-1, 64, 4))
a = tf.compat.v1.nn.softmax(tf.matmul(m, tf.transpose(m, perm=[0, 2, 1])), axis=-1)
c = tf.concat([tf.reshape(a, (-1, 4096)), tf.reshape(s, (-1, 64))], axis=-1)
ops = k.Model(inp, k.layers.Dense(5, name="fc")(tf.math.add_n([c, c, c])), name="ops")

inner_in = k.Input((8, 8, 3), name="inner_in")
inner = k.Model(inner_in, k.layers.GlobalAveragePooling2D(name="gap")(tf.nn.relu(block(inner_in))), name="inner")
outer_in = k.Input((8, 8, 3), name="outer_in")
inner.trainable = False
nested = k.Model(outer_in, k.layers.Dense(3, name="head")(inner(outer_in)), name="nested")

sequential = k.Sequential([k.layers.Conv2D(4, 3, input_shape=(8, 8, 3)), k.layers.BatchNormalization(),
                           k.layers.ReLU(), k.layers.Flatten(), k.layers.Dense(2)], name="sequential")
batch_norm = k.Sequential([k.layers.Conv2D(4, 3, input_shape=(8, 8, 3)), k.layers.BatchNormalization()],
                          name="batch_norm")

cumsum = k.Input((8, 3), name="series")
uncounted = k.Model(cumsum, k.layers.Dense(2, name="fc")(tf.math.cumsum(cumsum, axis=1)[:, 2:, :]), name="uncounted")
cumprod = k.Model(cumsum, k.layers.Dense(2, name="fc")(tf.math.cumprod(cumsum, axis=1)), name="unknown")

series = k.Input((6, 8), name="tokens")
q, kk = k.layers.Dense(8, name="q")(series), k.layers.Dense(8, name="k")(series)
h = tf.nn.softmax(tf.matmul(q, kk, transpose_b=True) / 2.0)
h = tf.matmul(h, q)[:, 1:, :]
h = tf.math.rsqrt(tf.square(h) + 1.0) * tf.math.pow(tf.math.abs(h), 2.0) - tf.math.negative(h)
h = tf.math.reciprocal(tf.math.sqrt(tf.math.exp(h)) + 1.0) + tf.math.log(tf.math.erf(h) + 2.0)
more = k.Model(series, tf.math.reduce_min(h, axis=1) + tf.math.reduce_prod(h, axis=1), name="more")
axis = k.Model(series, tf.nn.softmax(k.layers.Dense(8, name="fc")(series), axis=1), name="axis")

regnet = k.applications.RegNetX002(weights=None)
figures = {}
for name, model in (("ops", ops), ("nested", nested), ("sequential", sequential), ("uncounted", uncounted),
                    ("unknown", cumprod), ("regnet", regnet), ("batch_norm", batch_norm), ("more", more),
                    ("axis", axis)):
    for suffix in (".keras", ".h5"):
        model.save(name + suffix)
    functions = [layer["config"]["function"] for layer in model.get_config()["layers"]
                 if layer["class_name"] in ("TFOpLambda", "SlicingOpLambda")]
    entry = {"params": model.count_params(), "functions": functions,
             "non_trainable": int(sum(w.shape.num_elements() for w in model.non_trainable_weights))}
    if name in ("ops", "nested", "sequential", "batch_norm", "more"):
        entry["profiler"] = [profiler_flops(model, batch)[0] for batch in (1, 2)]
        entry["by_type"] = profiler_flops(model, 1)[1]
    figures[name] = entry
print(json.dumps(figures))
"""


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """(directory of the files, tf-keras's figures for each model)."""
    where = tmp_path_factory.mktemp("tf_keras")
    result = subprocess.run(
        [sys.executable, "-c", WRITER],
        capture_output=True,
        text=True,
        cwd=where,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return where, json.loads(result.stdout.splitlines()[-1])


def batch_norm_flops(summary):
    return sum(record.flops for record in summary.records if record.op == "batch_norm")


@pytest.mark.parametrize("name", ["ops", "nested", "sequential"])
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_params_exact_and_flops_the_profilers_plus_batch_norms(written, name, suffix):
    where, figures = written
    for batch, profiled in zip((1, 2), figures[name]["profiler"]):
        summary = archviz.analyze(where / f"{name}{suffix}", batch_size=batch)
        assert summary.options["loader"] == "config" and summary.complete and not summary.warnings
        assert (summary.params, summary.non_trainable_params) == (
            figures[name]["params"],
            figures[name]["non_trainable"],
        )
        assert batch_norm_flops(summary) > 0
        assert summary.flops - batch_norm_flops(summary) == profiled
    assert "FusedBatchNormV3" not in figures[name]["by_type"]


def test_every_function_of_the_model_is_its_op(written):
    where, figures = written
    summary = archviz.analyze(where / "ops.h5")
    ops = {record.name: record.op for record in summary.records}
    assert set(figures["ops"]["functions"]) <= set(FUNCTIONS)
    assert {"compat.v1.nn.softmax", "compat.v1.transpose", "__operators__.add", "math.reduce_sum"} <= set(
        figures["ops"]["functions"]
    )  # tf.compat.v1.reduce_sum(keep_dims=...) is recorded as math.reduce_sum
    assert (
        ops["tf.__operators__.add"],
        ops["tf.math.subtract"],
        ops["tf.math.truediv"],
        ops["tf.math.maximum"],
        ops["tf.linalg.matmul"],
        ops["tf.math.add_n"],
        ops["tf.concat"],
        ops["tf.math.reduce_mean"],
    ) == ("add", "subtract", "divide", "maximum", "matmul", "add", "concat", "mean")
    fns = {record.name: record.attrs.get("fn") for record in summary.records if record.op == "activation"}
    assert fns == {
        "tf.nn.relu": "relu",
        "tf.math.sigmoid": "sigmoid",
        "tf.nn.silu": "swish",
        "tf.nn.relu6": "relu6",
        "tf.nn.gelu": "gelu",
        "tf.nn.gelu_1": "gelu_approximate",
        "tf.compat.v1.nn.softmax": "softmax",
    }
    constants = {
        record.name: record.attrs.get("constants")
        for record in summary.records
        if record.op in ("multiply", "subtract", "divide", "maximum")
    }
    assert constants == {
        "tf.math.multiply": 1,
        "tf.math.subtract": 1,
        "tf.math.truediv": 1,
        "tf.math.multiply_1": None,
        "tf.math.multiply_2": None,
        "tf.math.maximum": 1,
    }
    assert summary.macs == 8 * 8 * 4 * 27 + 64 * 64 * 4 + 4160 * 5


def test_regnet_with_tf_op_lambdas_reads_with_tf_keras_params(written):
    where, figures = written
    assert figures["regnet"]["functions"] == ["__operators__.add"] * 13
    for suffix in (".h5", ".keras"):
        summary = archviz.analyze(where / f"regnet{suffix}")
        assert summary.options["loader"] == "config" and summary.complete and not summary.warnings
        assert (summary.params, summary.non_trainable_params) == (
            figures["regnet"]["params"],
            figures["regnet"]["non_trainable"],
        )
        assert sum(record.op == "add" for record in summary.records) == 13
        adds = [record.path for record in summary.records if record.op == "add"]
        assert all(path[0].startswith("stage") for path in adds), adds  # in RegNet's blocks, not in a group "tf"


def test_transposed_matmul_indexing_and_element_wise_functions_are_their_ops(written):
    """tf.matmul(q, k, transpose_b=True), x[:, 1:], tf.square, rsqrt, pow, reduce_min/prod: each the op
    the traced call records (one rule each), counted (the totals against the profiler above)."""
    where, figures = written
    for batch, profiled in zip((1, 2), figures["more"]["profiler"]):
        for suffix in (".h5", ".keras"):
            summary = archviz.analyze(where / f"more{suffix}", batch_size=batch)
            assert summary.complete and not summary.warnings and summary.flops == profiled
            assert summary.params == figures["more"]["params"]
    summary = archviz.analyze(where / "more.h5")
    ops: dict = {}  # names as tf-keras numbers them in its process (tf.linalg.matmul_1): the first of each
    for record in summary.records:
        ops.setdefault(re.sub(r"_\d+$", "", record.name), (record.op, record.output_shape))
    assert ops["tf.linalg.matmul"] == ("matmul", (6, 6)) and ops["tf.__operators__.getitem"] == ("index", (5, 8))
    assert {
        ops[f"tf.math.{fn}"][0]
        for fn in (
            "square",
            "rsqrt",
            "pow",
            "abs",
            "negative",
            "sqrt",
            "reciprocal",
            "log",
            "erf",
            "reduce_min",
            "reduce_prod",
        )
    } == {"square", "rsqrt", "power", "abs", "negative", "sqrt", "reciprocal", "log", "erf", "min", "prod"}
    assert summary.macs == 2 * 6 * 8 * 8 + 6 * 6 * 8 + 6 * 6 * 8


def test_a_softmax_over_another_axis_is_listed_not_counted(written):
    summary = archviz.analyze(written[0] / "axis.h5")
    assert list(summary.uncounted) == ["TFOpLambda(tf.nn.softmax)"] and not summary.complete
    assert summary.records[-1].output_shape == (6, 8) and summary.params == written[1]["axis"]["params"]


def test_a_function_without_a_rule_is_listed_not_counted(written, run_cli):
    where, figures = written
    assert figures["uncounted"]["functions"] == ["math.cumsum", "__operators__.getitem"]
    summary = archviz.analyze(where / "uncounted.h5")
    assert summary.params == figures["uncounted"]["params"] and not summary.complete
    assert summary.uncounted == {"TFOpLambda(tf.math.cumsum)": ["tf.math.cumsum"]}
    assert [r.output_shape for r in summary.records if not r.counted] == [(8, 3)]
    assert [(r.op, r.output_shape) for r in summary.records if r.name == "tf.__operators__.getitem"] == [
        ("index", (6, 3))
    ]
    code, out, err = run_cli("summary", where / "uncounted.keras")
    assert code == 0 and "lower bound" in out and "TFOpLambda(tf.math.cumsum)" in out


def test_hints_name_a_loader_only_when_it_reads_the_file(written, run_cli):
    where, _ = written
    for name in ("ops.keras", "ops.h5", "nested.keras", "sequential.keras", "regnet.h5"):
        code, out, err = run_cli("summary", where / name, "--loader", "keras")
        assert (code, out) == (1, "") and err.count("\n") == 1
        assert err.endswith("which Keras 3 cannot load; --loader config (or auto) reads it without Keras\n")
        assert run_cli("summary", where / name, "--loader", "config")[0] == 0  # the hint works
    code, out, err = run_cli("bench", where / "ops.h5", "--steps", "1")
    last = err.splitlines()[-1]  # after bench's progress line
    assert code == 1 and "--loader" not in last and last.endswith("which Keras 3 cannot load, so archviz cannot run it")
    unknown = where / "unknown.h5"
    for loader in ("auto", "config"):
        code, out, err = run_cli("summary", unknown, "--loader", loader)
        assert (code, out) == (1, "") and err.count("\n") == 1 and "--loader" not in err
        assert "TFOpLambda(tf.math.cumprod)" in err and "nor can Keras 3 load it" in err
    code, out, err = run_cli("summary", unknown, "--loader", "keras")
    assert (code, err.count("\n")) == (1, 1) and "--loader" not in err and "nor can archviz's config reader" in err
    with pytest.raises(NotReadable) as error:
        archviz.analyze(unknown)
    assert not error.value.keras_loads


def test_a_function_without_a_rule_in_a_keras_archive_takes_its_consumers_built_shape(written):
    """A .keras archive records the input shape its consumer was built for (an .h5 does not: refused above)."""
    where, figures = written
    summary = archviz.analyze(where / "unknown.keras")
    assert summary.uncounted == {"TFOpLambda(tf.math.cumprod)": ["tf.math.cumprod"]} and not summary.complete
    assert [(r.op, r.output_shape) for r in summary.records][1:] == [("TFOpLambda", (8, 3)), ("dense", (8, 2))]
    assert summary.params == figures["unknown"]["params"]


def test_the_conventions_quote_the_measured_fused_batch_norm(written):
    where, figures = written
    summary = archviz.analyze(where / "batch_norm.keras")
    profiled = figures["batch_norm"]["profiler"][0]
    assert (summary.flops, profiled) == (8_232, 7_920)  # the numbers the conventions quote
    assert summary.flops - profiled == batch_norm_flops(summary) == 2 * 6 * 6 * 4 + 6 * 4
    text = dict(CONVENTIONS)["Keras 2"]
    assert f"{summary.flops:,} against the profiler's {profiled:,}" in text and "FusedBatchNormV3" in text


def test_tf_keras_files_are_read_without_tensorflow(written):
    from test_keras_config import PROBE

    where, _ = written
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "summary", "regnet.h5"],
        capture_output=True,
        text=True,
        cwd=where,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.stderr == "0 []\n"
    assert "Params:            2,705,640" in result.stdout


# ---- TF op layers written by hand: hostile calls are one line --------------------------------------


def tf_keras_config(function="math.multiply", call=None):
    """A tf-keras .keras config: an 8-vector input, one TF op layer calling ``function``, Dense(4)."""
    call = [["x", 0, 0, {"y": 2.0, "name": None}]] if call is None else call
    layers = [
        {
            "module": "keras.layers",
            "class_name": "InputLayer",
            "name": "x",
            "registered_name": None,
            "config": {"name": "x", "batch_input_shape": [None, 8], "dtype": "float32"},
            "inbound_nodes": [],
        },
        {
            "module": "tf_keras.src.layers.core.tf_op_layer",
            "class_name": "TFOpLambda",
            "name": "op",
            "registered_name": "TFOpLambda",
            "config": {"name": "op", "function": function},
            "inbound_nodes": call,
        },
        {
            "module": "keras.layers",
            "class_name": "Dense",
            "name": "fc",
            "registered_name": None,
            "config": {"name": "fc", "units": 4, "activation": "linear", "use_bias": True},
            "inbound_nodes": [[["op", 0, 0, {}]]],
        },
    ]
    return {
        "module": "tf_keras.src.engine.functional",
        "class_name": "Functional",
        "registered_name": "Functional",
        "config": {"name": "tiny", "layers": layers, "input_layers": [["x", 0, 0]], "output_layers": [["fc", 0, 0]]},
    }


TF_OP_CASES = {
    "a function that is not a name": (tf_keras_config(function=3), "layer 'op' has no 'function'"),
    "an unknown function": (tf_keras_config("math.bessel_i0"), "TFOpLambda(tf.math.bessel_i0): archviz has no rule"),
    "an empty call": (tf_keras_config(call=[[]]), "a call without arguments"),
    "a call of a number": (tf_keras_config(call=[[5]]), "5 is not [layer, node, tensor]"),
    "a constant only": (tf_keras_config(call=[["_CONSTANT_VALUE", -1, 2.0, {}]]), "a call without an input tensor"),
    "a tensor from nowhere": (tf_keras_config(call=[["x", 0, 0, {"y": ["ghost", 0, 0]}]]), "names layer 'ghost'"),
    "a constant that is not a number": (
        tf_keras_config(call=[["x", 0, 0, {"y": "two"}]]),
        "a constant operand that is not a number",
    ),
    "a tensor where a setting goes": (
        tf_keras_config("math.reduce_mean", [["x", 0, 0, {"axis": ["x", 0, 0]}]]),
        "a tensor as its argument 'axis'",
    ),
    "an axis that is not one": (tf_keras_config("math.reduce_mean", [["x", 0, 0, {"axis": "a"}]]), "reduce_mean"),
    "a reshape across the batch": (tf_keras_config("reshape", [["x", 0, 0, {"shape": [2, 4]}]]), "a reshape to [2, 4]"),
    "a slice that is not one": (
        tf_keras_config("__operators__.getitem", [["x", 0, 0, {"slice_spec": [1, 2]}]]),
        "an index into the batch",
    ),
    "a huge slice": (
        tf_keras_config(
            "__operators__.getitem",
            [
                [
                    "x",
                    0,
                    0,
                    {
                        "slice_spec": [
                            {"start": None, "stop": None, "step": None},
                            {"start": 10**400, "stop": None, "step": 0},
                        ]
                    },
                ]
            ],
        ),
        "op",
    ),
}


@pytest.mark.parametrize("case", TF_OP_CASES)
def test_a_hostile_tf_op_call_is_one_line(run_cli, tmp_path, case):
    from test_keras_config import write_keras

    config, fragment = TF_OP_CASES[case]
    path = write_keras(tmp_path / "op.keras", config)
    for loader in ("auto", "config", "keras"):
        code, out, err = run_cli("summary", path, "--loader", loader)
        assert (code, out, err.count("\n")) == (1, "", 1), err
        assert fragment in err and "--loader keras" not in err and "Traceback" not in err


def test_a_hand_written_tf_op_call_is_read(run_cli, tmp_path):
    from test_keras_config import write_keras

    path = write_keras(tmp_path / "op.keras", tf_keras_config())
    summary = archviz.analyze(path)
    assert [(r.op, r.flops) for r in summary.records] == [("input", 0), ("multiply", 8), ("dense", 68)]
    assert summary.params == 36 and summary.complete
