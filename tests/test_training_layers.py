"""Each elementwise layer's training rule (activations, pools, merges, a frozen batch norm) against what its
gradient computes in TensorFlow's training step, layer by layer, and keras.applications models whose
totals are complete and equal the gradient graph (MACs from its shapes, FLOPs at the per-op rules, the
activations as the bytes of the forward tensors the backward reads)."""

from __future__ import annotations

import gc

import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

import archviz  # noqa: E402
from archviz.backend.gradient import gradient_graph  # noqa: E402
from archviz.core.training import Training  # noqa: E402

pytestmark = pytest.mark.tf
L = keras.layers


def _gate(x):
    """A squeeze-excite style gate: a (1, 1, C) tensor from x, broadcast against x."""
    return L.Reshape((1, 1, x.shape[-1]))(L.Dense(x.shape[-1])(L.GlobalAveragePooling2D()(x)))


#: one layer (or a small merge) between two convolutions, so that its gradient runs
LAYERS = {
    **{name: lambda x, name=name: L.Activation(name)(x) for name in ("sigmoid", "tanh", "elu", "selu", "softplus")},
    **{name: lambda x, name=name: L.Activation(name)(x) for name in ("swish", "gelu", "hard_sigmoid", "hard_swish")},
    "relu6": lambda x: L.ReLU(max_value=6.0)(x),
    "conv_swish": lambda x: L.Conv2D(4, 3, padding="same", activation="swish")(x),
    "conv_hard_silu": lambda x: L.Conv2D(4, 3, padding="same", activation="hard_silu")(x),
    "dense_sigmoid": lambda x: L.Dense(4, activation="sigmoid")(x),
    "separable_conv": lambda x: L.SeparableConv2D(6, 3, strides=2, padding="same", depth_multiplier=2)(x),
    "separable_conv_relu": lambda x: L.SeparableConv2D(4, 3, activation="relu", use_bias=False)(x),
    "separable_conv1d": lambda x: L.Reshape((4, 4, 4))(L.SeparableConv1D(4, 3, padding="same")(L.Reshape((16, 16))(x))),
    "leaky_relu": lambda x: L.LeakyReLU(negative_slope=0.2)(x),
    "cropping_and_padding": lambda x: L.ZeroPadding2D(1)(L.Cropping2D(1)(x)),
    "permute_and_identity": lambda x: L.Identity()(L.Permute((2, 1, 3))(x)),
    "zero_pad1d": lambda x: L.Reshape((8, 9, 8))(L.ZeroPadding1D((4, 4))(L.Reshape((64, 8))(L.Conv2D(8, 1)(x)))),
    "upsampling": lambda x: L.UpSampling2D(2)(L.MaxPooling2D(2)(x)),
    "upsampling_3x2": lambda x: L.Cropping2D(((1, 0), (0, 0)))(L.UpSampling2D((3, 2))(L.MaxPooling2D(2)(x))),
    "elu_layer": lambda x: L.ELU()(x),
    "avg_pool": lambda x: L.AveragePooling2D(2)(x),
    "avg_pool_same": lambda x: L.AveragePooling2D(3, strides=1, padding="same")(x),
    "avg_pool1d": lambda x: L.Reshape((4, 8, 4))(L.AveragePooling1D(2, padding="same")(L.Reshape((32, 8))(x))),
    "global_max": lambda x: L.Reshape((1, 1, 4))(L.GlobalMaxPooling2D()(x)),
    "concat": lambda x: L.Concatenate()([x, L.Conv2D(2, 1)(x)]),
    "multiply": lambda x: L.Multiply()([x, L.Conv2D(4, 1)(x)]),
    "multiply_broadcast": lambda x: L.Multiply()([x, _gate(x)]),
    "add_broadcast": lambda x: L.Add()([x, _gate(x)]),
    "batch_norm": lambda x: L.BatchNormalization()(x),
    "batch_norm_axis_3": lambda x: L.BatchNormalization(axis=3)(x),
    "batch_norm_without_gamma_axis_3": lambda x: L.BatchNormalization(axis=3, scale=False)(x),
    "frozen_batch_norm_axis_3": lambda x: L.BatchNormalization(axis=3, trainable=False)(x),
    "frozen_batch_norm": lambda x: L.BatchNormalization(trainable=False)(x),
    "batch_norm_without_gamma": lambda x: L.BatchNormalization(scale=False)(x),
    "dropout": lambda x: L.Dropout(0.3)(x),
    "dropout_per_sample": lambda x: L.Dropout(0.3, noise_shape=(None, 1, 1, 1))(x),
    "spatial_dropout": lambda x: L.SpatialDropout2D(0.3)(x),
}
#: layers straight after the input: their input's gradient is pruned
FIRST = {
    "batch_norm_first": lambda x: L.BatchNormalization()(x),
    "batch_norm_without_gamma_first": lambda x: L.BatchNormalization(scale=False)(x),
    "batch_norm_axis_3_first": lambda x: L.BatchNormalization(axis=3)(x),
    "batch_norm_without_gamma_axis_3_first": lambda x: L.BatchNormalization(axis=3, scale=False)(x),
    "separable_conv_first": lambda x: L.SeparableConv2D(6, 3, padding="same")(x),
}


@pytest.mark.parametrize("name", [*LAYERS, *FIRST])
def test_each_rule_equals_what_its_gradient_computes(name):
    inputs = keras.Input((8, 8, 4))
    x = FIRST[name](inputs) if name in FIRST else LAYERS[name](L.Conv2D(4, 1, name="before")(inputs))
    outputs = L.Conv2D(3, 1, name="after")(x)
    model = keras.Model(inputs, outputs)
    try:
        summary = archviz.analyze(model, batch_size=2, training=Training("sgd"))
        assert summary.training.complete, summary.training.uncounted
        graph = gradient_graph(model, 2)
        assert graph.unknown == set()
        assert summary.training.macs == graph.total_macs
        assert summary.training.gradient_flops == sum(graph.backward_flops.values()), dict(graph.backward_flops)
        kept = sum(graph.kept.values())
        if name == "separable_conv1d":  # TensorFlow keeps its kernels expanded to 2D too: 448 bytes per step
            kept -= 448
        assert summary.training.memory.activations == kept, graph.kept
    finally:
        del model
        keras.backend.clear_session()
        gc.collect()


def test_a_product_with_an_input_whose_gradient_is_pruned_is_listed():
    """A product counts both inputs' gradients: where one is pruned (nothing trainable before it) the layer
    is listed, not guessed."""
    inputs = keras.Input((8, 8, 4))
    outputs = L.Multiply(name="mask")([L.Conv2D(4, 1)(inputs), inputs])
    summary = archviz.analyze(keras.Model(inputs, outputs), training=Training("sgd"))
    assert summary.training.uncounted == ("mask",)
    keras.backend.clear_session()


#: keras.applications models at small inputs (weights=None): ReLU6 (MobileNetV2); hard_swish, hard_sigmoid
#: written as ``x + 3.0`` and ``x * (1 / 6)``, squeeze-excite products and dropout (MobileNetV3Small);
#: swish, sigmoid gates, batch norms without gamma and per-sample dropout (EfficientNetB0); average pools and
#: concatenations (DenseNet121, InceptionV3, whose batch norms have no gamma); max pools and dense layers (VGG16);
#: separable convolutions (Xception)
APPLICATIONS = {
    "MobileNetV2": {"input_shape": (96, 96, 3)},
    "MobileNetV3Small": {"input_shape": (96, 96, 3)},
    "EfficientNetB0": {"input_shape": (96, 96, 3)},
    "DenseNet121": {"input_shape": (32, 32, 3), "classes": 10},
    "InceptionV3": {"input_shape": (75, 75, 3), "classes": 10},
    "VGG16": {"input_shape": (32, 32, 3), "classes": 10},
    "Xception": {"input_shape": (71, 71, 3), "classes": 10},
}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n == "DenseNet121" else n for n in APPLICATIONS]
)
def test_keras_applications_are_complete_and_equal_their_gradient_graph(name):
    model = getattr(keras.applications, name)(weights=None, **APPLICATIONS[name])
    try:
        summary = archviz.analyze(model, batch_size=2, training=Training("adam"))
        assert summary.training.complete, summary.training.uncounted
        graph = gradient_graph(model, 2)
        assert graph.unknown == set()
        assert summary.training.macs == graph.total_macs, dict(graph.macs)
        assert summary.training.gradient_flops == sum(graph.backward_flops.values()), dict(graph.backward_flops)
        assert summary.training.memory.activations == sum(graph.kept.values())
    finally:
        del model
        keras.backend.clear_session()
        gc.collect()
