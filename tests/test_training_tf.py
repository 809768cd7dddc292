"""A training step's cost against TensorFlow: MACs and backward FLOPs against the training step's own
graph (:mod:`archviz.backend.gradient`, counted from its shapes), the optimizer's state against the
variables Keras's optimizers build, the weights and mixed precision against the exported model."""

from __future__ import annotations

import gc
import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

import archviz  # noqa: E402
from archviz.backend.gradient import gradient_graph  # noqa: E402
from archviz.core.training import Optimizer, Training  # noqa: E402
from tests.reference import GRADIENT_GRAPH, TRAINING_MACS  # noqa: E402

pytestmark = pytest.mark.tf


def _on_gradient_path(summary, op, fn=None):
    """The output elements (whole batch) of the layers of ``op`` (and activation ``fn``) whose backward runs."""
    wanted, total = set(), 0
    for record in summary.records:
        if record.trainable_params or any(source in wanted for source in record.inputs):
            wanted.add(record.name)
            if record.op == op and (fn is None or record.attrs.get("fn") == fn) and record.inputs[0] in wanted:
                total += math.prod(record.output_shape) * summary.batch_size
    return total


def _check_step(model, summary):
    """archviz's training step of ``summary`` equals the gradient graph of ``model`` at the same batch."""
    graph = gradient_graph(model, summary.batch_size)
    assert graph.unknown == set()
    assert summary.training.macs == graph.total_macs, (summary.training.macs, dict(graph.macs))
    assert summary.training.gradient_flops == sum(graph.backward_flops.values()), dict(graph.backward_flops)
    # rule by rule: a ReLU's backward is one ReluGrad element per output element on the gradient path
    assert graph.elements["ReluGrad"] == _on_gradient_path(summary, "activation", "relu")
    return graph


@pytest.mark.parametrize(
    "name",
    [
        "resnet20",
        pytest.param("resnet18-keras", marks=pytest.mark.slow),
        pytest.param("resnet50-keras", marks=pytest.mark.slow),
    ],
)
def test_training_macs_and_flops_equal_the_gradient_graph(name):
    """The reference (GRADIENT_GRAPH): forward + weight gradients + input gradients, the stem conv's input
    gradient pruned; the backward's other FLOPs at the per-op rules."""
    model = archviz.build_keras(name)
    try:
        summary = archviz.analyze(name, batch_size=2, training=Training("sgd"))
        assert summary.training.complete
        assert summary.training.macs == TRAINING_MACS[name], GRADIENT_GRAPH
        graph = _check_step(model, summary)
        assert graph.total_macs == TRAINING_MACS[name]
        stem = next(r for r in summary.records if r.weighted)
        assert graph.macs["Conv2DBackpropInput"] == graph.macs["Conv2D"] - stem.macs  # pruned: nothing upstream
    finally:
        del model
        keras.backend.clear_session()
        gc.collect()


@pytest.mark.slow
def test_grouped_and_torch_style_padded_nets_equal_the_gradient_graph():
    """ResNeXt's grouped 3x3 convs follow the rule per group; a torchvision-style net pads explicitly
    before its stem conv and max pool (the padded copies are what the backward reads)."""
    cases = (("resnext50_32x4d", {"layers": (1, 1, 1, 1), "input_shape": (64, 64, 3)}, 34), ("resnet18", {}, 114))
    for name, options, padded in cases:
        model = archviz.build_keras(name, **options)
        try:
            summary = archviz.analyze(name, batch_size=2, training=Training("sgd"), **options)
            graph = _check_step(model, summary)
            assert graph.elements["MaxPoolGrad"] == 2 * padded * padded * 64  # 1 per padded input element
        finally:
            del model
            keras.backend.clear_session()
            gc.collect()


def test_depthwise_convolutions_and_a_softmax_head():
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", use_bias=False, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.ReLU(name="relu")(x)
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2, name="dw")(x)
    x = keras.layers.ReLU(max_value=6.0, name="relu6")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(5, activation="softmax", name="fc")(x)
    model = keras.Model(inputs, outputs)
    summary = archviz.analyze(model, batch_size=3, training=Training("sgd"))
    assert summary.training.complete
    graph = _check_step(model, summary)
    assert graph.macs["DepthwiseConv2dNativeBackpropFilter"] == graph.macs["DepthwiseConv2dNative"] > 0


@pytest.fixture(scope="module")
def resnet20():
    model = archviz.build_keras("resnet20")
    yield model
    del model
    keras.backend.clear_session()
    gc.collect()


#: each optimizer as Keras builds it
KERAS_OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(),
    "momentum": lambda: keras.optimizers.SGD(momentum=0.9),
    "adam": lambda: keras.optimizers.Adam(),
    "adamw": lambda: keras.optimizers.AdamW(),
}


@pytest.mark.parametrize("optimizer", list(Optimizer))
def test_optimizer_state_equals_the_variables_keras_builds(resnet20, optimizer):
    """The slots Keras's optimizer builds for the model's trainable variables, float32; its iteration
    counter and learning rate (scalars, not per parameter) are left out."""
    keras_optimizer = KERAS_OPTIMIZERS[optimizer]()
    keras_optimizer.build(resnet20.trainable_variables)
    scalars = {"iteration", "learning_rate"}
    slots = [v for v in keras_optimizer.variables if v.name not in scalars]
    assert all(v.dtype == "float32" for v in slots)
    assert len(keras_optimizer.variables) - len(slots) == len(scalars & {v.name for v in keras_optimizer.variables})
    memory = archviz.analyze("resnet20", training=Training(optimizer)).training.memory
    assert memory.optimizer == sum(math.prod(v.shape) * 4 for v in slots)


@pytest.mark.parametrize("policy", ["mixed_float16", "bfloat16", "float16", "float64"])
def test_optimizer_state_is_in_the_variables_dtype_under_each_policy(policy):
    """Keras makes each slot like its variable: bfloat16 or float16 under those policies, float64 under
    float64, float32 under mixed_float16 (whose variables are float32); weights and gradients likewise."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = archviz.build_keras("resnet20")
        keras_optimizer = keras.optimizers.Adam()
        keras_optimizer.build(model.trainable_variables)
        slots = [v for v in keras_optimizer.variables if v.name not in {"iteration", "learning_rate"}]
        expected = "float32" if policy == "mixed_float16" else policy
        assert {str(v.dtype) for v in slots} == {expected}
        memory = archviz.analyze("resnet20", dtype=policy, training=Training("adam")).training.memory
        assert memory.optimizer == sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in slots)
        assert memory.weights == sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in model.variables)
        trainable = model.trainable_variables
        assert memory.gradients == sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in trainable)
    finally:
        keras.config.set_dtype_policy(previous)
        keras.backend.clear_session()
        gc.collect()


def test_weights_and_gradients_equal_the_model_variables(resnet20):
    memory = archviz.analyze("resnet20", training=Training("sgd")).training.memory
    assert memory.weights == sum(math.prod(v.shape) * 4 for v in resnet20.variables)
    assert memory.gradients == sum(math.prod(v.shape) * 4 for v in resnet20.trainable_variables)


def test_mixed_precision_keeps_float32_variables_and_computes_in_float16():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = archviz.build_keras("resnet20")
        assert {v.dtype for v in model.variables} == {"float32"}
        assert {layer.compute_dtype for layer in model.layers if layer.weights} == {"float16"}
        memory = archviz.analyze("resnet20", dtype="mixed_float16", training=Training("adam")).training.memory
        assert memory.weights == sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in model.variables)
        # a batch norm computes in float32: it casts its float16 input up, and that copy is what it keeps
        import tensorflow as tf

        graph = (
            tf.function(lambda x: model(x, training=True))
            .get_concrete_function(tf.TensorSpec((2, 32, 32, 3), tf.float32))
            .graph
        )
        upcast = {
            op.name.split("/")[1].rsplit("_", 1)[0]
            for op in graph.get_operations()
            if op.type == "Cast" and op.inputs[0].dtype == tf.float16 and op.outputs[0].dtype == tf.float32
        }
        norms = {layer.name for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)}
        assert norms and norms <= upcast
    finally:
        keras.config.set_dtype_policy(previous)
        keras.backend.clear_session()
        gc.collect()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ResNet50", "ResNet50V2"])
def test_imported_keras_applications_equal_their_gradient_graph(name):
    """A Keras model as people bring it (keras.applications, imported with its ZeroPadding2D layers): the
    same rules, the same exactness; ResNet50 as imported equals the resnet50-keras preset."""
    model = getattr(keras.applications, name)(weights=None)
    try:
        summary = archviz.analyze(model, batch_size=2, training=Training("adam"))
        assert summary.training.complete
        _check_step(model, summary)
        if name == "ResNet50":
            assert summary.training.macs == TRAINING_MACS["resnet50-keras"]
    finally:
        del model
        keras.backend.clear_session()
        gc.collect()
