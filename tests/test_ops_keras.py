"""The rules of ops/convolution.py, ops/normalization.py and ops/pooling.py against Keras and
tf.profiler: each case is a one-layer Keras model (untrained, nothing downloaded), imported by
``archviz.analyze``. Its output shape and params must be Keras's (the analysis warns when a rule
disagrees with what Keras declares), and its FLOPs, at batch 1 and 2, the profiler's total.

A few cases carry ``gap``: FLOPs the profiler is known not to count (no statistic for the TF op,
or a grouped conv hidden in an XLA call), documented in the conventions. For those the test
checks that the profiler counts exactly archviz's figure minus that gap.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

import archviz  # noqa: E402
from archviz.backend.profiler import profiler_flops  # noqa: E402
from archviz.ops import convolution, normalization, pooling  # noqa: E402

pytestmark = [pytest.mark.tf, pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`:UserWarning")]

L = keras.layers
IMAGE = (6, 6, 4)
SEQUENCE = (10, 4)
VOLUME = (4, 4, 4, 4)


def convnext(name: str, *args: Any) -> Any:
    """keras.applications ConvNeXt's own LayerScale and StochasticDepth."""
    return getattr(importlib.import_module("keras.src.applications.convnext"), name)(*args)


@dataclass(frozen=True)
class Case:
    id: str
    op: str  # the op the layer is imported as
    layer: Callable[[], Any]  # a layer, or a function of the input tensors
    inputs: tuple = IMAGE  # one shape, or a list of shapes
    gap: Callable[[Any], int] | None = None  # FLOPs of the record the profiler misses


def everything(record: Any) -> int:
    return record.flops


def the_conv(record: Any) -> int:
    return 2 * record.macs


CASES = [
    # ---- convolution.py
    Case("conv1d", "conv1d", lambda: L.Conv1D(8, 3), SEQUENCE),
    Case(
        "conv1d-causal-dilated-gelu",
        "conv1d",
        lambda: L.Conv1D(8, 3, padding="causal", dilation_rate=2, activation="gelu"),
        SEQUENCE,
    ),
    Case("conv1d-strided-same", "conv1d", lambda: L.Conv1D(8, 3, strides=2, padding="same", use_bias=False), SEQUENCE),
    Case("conv1d-groups", "conv1d", lambda: L.Conv1D(8, 3, groups=2), SEQUENCE, gap=everything),
    Case("conv3d", "conv3d", lambda: L.Conv3D(8, 3, padding="same"), VOLUME),
    Case("conv3d-strided", "conv3d", lambda: L.Conv3D(8, (3, 2, 1), strides=2, use_bias=False), (5, 5, 5, 4)),
    Case("conv3d-groups", "conv3d", lambda: L.Conv3D(8, 3, padding="same", groups=2), VOLUME, gap=everything),
    Case("depthwise_conv1d", "depthwise_conv1d", lambda: L.DepthwiseConv1D(3, padding="same"), SEQUENCE),
    Case(
        "depthwise_conv1d-multiplier",
        "depthwise_conv1d",
        lambda: L.DepthwiseConv1D(3, strides=2, depth_multiplier=2, padding="same"),
        SEQUENCE,
    ),
    Case("separable_conv1d", "separable_conv1d", lambda: L.SeparableConv1D(8, 3, padding="same"), SEQUENCE),
    Case(
        "separable_conv1d-multiplier",
        "separable_conv1d",
        lambda: L.SeparableConv1D(8, 3, strides=2, depth_multiplier=2, use_bias=False),
        SEQUENCE,
    ),
    Case("separable_conv2d", "separable_conv2d", lambda: L.SeparableConv2D(8, 3, padding="same")),
    Case(
        "separable_conv2d-multiplier",
        "separable_conv2d",
        lambda: L.SeparableConv2D(8, 3, strides=2, padding="same", depth_multiplier=2),
    ),
    Case("separable_conv2d-swish", "separable_conv2d", lambda: L.SeparableConv2D(8, 3, activation="swish"), (7, 7, 4)),
    Case("conv2d_transpose-same", "conv2d_transpose", lambda: L.Conv2DTranspose(8, 3, strides=2, padding="same")),
    Case("conv2d_transpose-valid", "conv2d_transpose", lambda: L.Conv2DTranspose(8, 2, strides=2, use_bias=False)),
    Case("conv2d_transpose-valid-overlap", "conv2d_transpose", lambda: L.Conv2DTranspose(8, 3, strides=2), (5, 5, 4)),
    Case(
        "conv2d_transpose-uneven",
        "conv2d_transpose",
        lambda: L.Conv2DTranspose(8, (3, 2), strides=(2, 3), padding="same", use_bias=False),
        (5, 5, 4),
    ),
    Case(
        "conv2d_transpose-output-padding",
        "conv2d_transpose",
        lambda: L.Conv2DTranspose(8, 3, strides=2, padding="same", output_padding=0),
    ),
    Case("conv1d_transpose", "conv1d_transpose", lambda: L.Conv1DTranspose(8, 3, strides=2, padding="same"), SEQUENCE),
    Case("conv1d_transpose-valid", "conv1d_transpose", lambda: L.Conv1DTranspose(8, 4, strides=3), SEQUENCE),
    Case(
        "conv3d_transpose", "conv3d_transpose", lambda: L.Conv3DTranspose(8, 2, strides=2), (3, 3, 3, 4), gap=the_conv
    ),
    # ---- normalization.py
    Case("rescaling", "rescaling", lambda: L.Rescaling(1 / 255.0)),
    Case("rescaling-offset", "rescaling", lambda: L.Rescaling(1 / 127.5, offset=-1.0)),
    Case("rescaling-per-channel", "rescaling", lambda: L.Rescaling([1.0, 2.0, 3.0, 4.0])),
    Case(
        "normalization-constants",
        "normalization",
        lambda: L.Normalization(mean=[1.0, 2.0, 3.0, 4.0], variance=[1.0, 2.0, 3.0, 4.0]),
    ),
    Case("normalization-weights", "normalization", lambda: L.Normalization()),
    Case("normalization-one-statistic", "normalization", lambda: L.Normalization(axis=None)),
    Case("normalization-per-pixel-invert", "normalization", lambda: L.Normalization(axis=(1, 2), invert=True)),
    Case("layer_norm", "layer_norm", lambda: L.LayerNormalization()),
    Case("layer_norm-no-center", "layer_norm", lambda: L.LayerNormalization(center=False)),
    Case("layer_norm-no-scale", "layer_norm", lambda: L.LayerNormalization(scale=False)),
    Case("layer_norm-neither", "layer_norm", lambda: L.LayerNormalization(center=False, scale=False)),
    Case("layer_norm-all-axes", "layer_norm", lambda: L.LayerNormalization(axis=(1, 2, 3))),
    Case("layer_norm-sequence", "layer_norm", lambda: L.LayerNormalization(axis=[-2, -1]), (5, 8)),
    Case("layer_norm-rms", "layer_norm", lambda: L.LayerNormalization(rms_scaling=True), (5, 8)),
    Case("group_norm", "group_norm", lambda: L.GroupNormalization(2)),
    Case("group_norm-one-group", "group_norm", lambda: L.GroupNormalization(1)),
    Case("group_norm-per-channel", "group_norm", lambda: L.GroupNormalization(-1)),
    Case("group_norm-no-affine", "group_norm", lambda: L.GroupNormalization(2, center=False, scale=False)),
    Case("group_norm-center-only", "group_norm", lambda: L.GroupNormalization(4, scale=False), (5, 8)),
    Case("group_norm-scale-only", "group_norm", lambda: L.GroupNormalization(4, center=False), (5, 8)),
    Case("unit_norm", "unit_norm", lambda: L.UnitNormalization()),
    Case("unit_norm-spatial", "unit_norm", lambda: L.UnitNormalization(axis=(1, 2))),
    Case("layer_scale", "layer_scale", lambda: convnext("LayerScale", 1e-6, 4)),
    Case("prelu", "prelu", lambda: L.PReLU()),
    Case("prelu-shared", "prelu", lambda: L.PReLU(shared_axes=[1, 2])),
    Case("prelu-vector", "prelu", lambda: L.PReLU(), (10,)),
    Case("leaky_relu", "leaky_relu", lambda: L.LeakyReLU(negative_slope=0.1)),
    Case("elu", "elu", lambda: L.ELU()),
    *(
        Case(f"activation-{fn}", "activation", functools.partial(L.Activation, fn))
        for fn in (
            "gelu",
            "hard_swish",
            "hard_silu",
            "hard_sigmoid",
            "mish",
            "elu",
            "selu",
            "softplus",
            "softsign",
            "exponential",
            "leaky_relu",
            "log_softmax",
        )
    ),
    Case("activation-gelu-approximate", "activation", lambda: lambda x: keras.ops.gelu(x, approximate=True)),
    Case("dense-gelu", "dense", lambda: L.Dense(8, activation="gelu"), (5, 4)),
    # ---- pooling.py
    Case("max_pool2d-same", "max_pool2d", lambda: L.MaxPooling2D(3, 2, padding="same"), IMAGE),
    Case("avg_pool2d", "avg_pool2d", lambda: L.AveragePooling2D(2), IMAGE),
    Case("global_avg_pool2d-keepdims", "global_avg_pool2d", lambda: L.GlobalAveragePooling2D(keepdims=True), IMAGE),
    Case("global_max_pool2d", "global_max_pool2d", lambda: L.GlobalMaxPooling2D(), IMAGE),
    Case("max_pool1d", "max_pool1d", lambda: L.MaxPooling1D(3, 1), SEQUENCE),
    Case("avg_pool1d", "avg_pool1d", lambda: L.AveragePooling1D(3, 2, padding="same"), SEQUENCE),
    Case("max_pool3d", "max_pool3d", lambda: L.MaxPooling3D(2), VOLUME, gap=everything),
    Case("avg_pool3d", "avg_pool3d", lambda: L.AveragePooling3D(3, 1, padding="same"), VOLUME, gap=everything),
    Case("global_avg_pool1d", "global_avg_pool1d", lambda: L.GlobalAveragePooling1D(), (5, 4)),
    Case("global_max_pool1d", "global_max_pool1d", lambda: L.GlobalMaxPooling1D(keepdims=True), (5, 4)),
    Case("global_avg_pool3d", "global_avg_pool3d", lambda: L.GlobalAveragePooling3D(keepdims=True), (3, 3, 3, 4)),
    Case("global_max_pool3d", "global_max_pool3d", lambda: L.GlobalMaxPooling3D(), (3, 3, 3, 4)),
    Case("subtract-broadcast", "subtract", lambda: L.Subtract(), [IMAGE, (1, 1, 4)]),
    Case("subtract-raw-constant", "subtract", lambda: lambda x: 2.0 - x),
    Case("maximum-three", "maximum", lambda: L.Maximum(), [IMAGE] * 3),
    Case("maximum-raw-constant", "maximum", lambda: lambda x: keras.ops.maximum(x, 0.0)),
    Case("minimum-lower-rank", "minimum", lambda: L.Minimum(), [IMAGE, (4,)]),
    Case("average", "average", lambda: L.Average(), [IMAGE, (1, 1, 4)]),
    Case("average-three", "average", lambda: L.Average(), [IMAGE, (1, 1, 4), IMAGE]),
    Case("cropping2d", "cropping2d", lambda: L.Cropping2D(((1, 0), (2, 1)))),
    Case("permute", "permute", lambda: L.Permute((3, 1, 2))),
    Case("zero_pad1d", "zero_pad1d", lambda: L.ZeroPadding1D((1, 2)), SEQUENCE),
    Case("upsampling2d-nearest", "upsampling2d", lambda: L.UpSampling2D((3, 2))),
    Case("upsampling2d-bilinear", "upsampling2d", lambda: L.UpSampling2D(2, interpolation="bilinear")),
    Case("upsampling2d-lanczos3", "upsampling2d", lambda: L.UpSampling2D(2, interpolation="lanczos3")),
    Case("identity", "identity", lambda: L.Identity()),
    Case("stochastic_depth", "stochastic_depth", lambda: convnext("StochasticDepth", 0.1)),
    Case(
        "scaled_add",
        "scaled_add",
        lambda: importlib.import_module("keras.src.applications.inception_resnet_v2").CustomScaleLayer(0.17),
        [IMAGE, IMAGE],
    ),
    Case("concat-axis", "concat", lambda: L.Concatenate(axis=2), [IMAGE, (6, 2, 4)]),
]


def one_layer_model(case: Case) -> Any:
    shapes = case.inputs if isinstance(case.inputs, list) else [case.inputs]
    inputs = [keras.Input(shape) for shape in shapes]
    layer = case.layer()
    output = layer(inputs if len(inputs) > 1 else inputs[0])
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], output)


def test_every_new_op_has_a_case():
    ops = {op.name for module in (convolution, normalization, pooling) for op in module.OPS}
    assert ops <= {case.op for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_rule_matches_keras_and_the_profiler(case):
    keras.backend.clear_session()
    model = one_layer_model(case)
    for batch in (1, 2):
        summary = archviz.analyze(model, batch_size=batch)
        record = summary.records[-1]
        assert record.op == case.op and record.counted, (record.op, summary.reasons)
        assert not summary.warnings  # the rule's shape and params are Keras's
        assert record.output_shape == tuple(model.outputs[0].shape[1:])
        assert summary.params == model.count_params()
        profiled, by_type = profiler_flops(model, batch)
        expected = summary.flops - (case.gap(record) if case.gap else 0)
        assert profiled == expected, (batch, by_type)


def test_transposed_conv_flops_truncate_as_the_profiler_does():
    """The profiler's Conv2DBackpropInput statistic, 2 x out x k x Cin x Cout / stride, is a float
    truncated per node, for the whole batch: 2 * 16 * 4 / 3 = 42.7 is 42 at batch 1 and 85 at batch 2.
    archviz counts 42 per sample, so it is under by less than the batch size."""
    keras.backend.clear_session()
    model = one_layer_model(
        Case("t", "conv1d_transpose", lambda: L.Conv1DTranspose(1, 4, strides=3, use_bias=False), (5, 1))
    )
    assert archviz.analyze(model).flops == profiler_flops(model, 1)[0] == 42
    assert archviz.analyze(model, batch_size=2).flops == 84 and profiler_flops(model, 2)[0] == 85


def test_transposed_conv_macs_are_the_input_positions_times_the_kernel():
    keras.backend.clear_session()
    model = one_layer_model(Case("t", "conv2d_transpose", lambda: L.Conv2DTranspose(8, 3, strides=2), (5, 5, 4)))
    record = archviz.analyze(model).records[-1]
    assert record.output_shape == (11, 11, 8)
    assert record.macs == 5 * 5 * 3 * 3 * 4 * 8
    # the profiler's formula: 2 * 11 * 11 * 9 * 32 / 4, more than 2 per MAC where the windows overlap
    assert record.flops == 2 * 11 * 11 * 9 * 32 // 4 + 11 * 11 * 8 > 2 * record.macs


def test_relu_with_a_threshold_is_reported_not_counted_as_zero():
    keras.backend.clear_session()
    model = one_layer_model(Case("t", "activation", lambda: L.ReLU(threshold=0.5)))
    summary = archviz.analyze(model)
    assert not summary.records[-1].counted and summary.uncounted


# ---- examples for tests/test_design.py's export / import round trip ----------------------------

#: attributes of each op, exactly as its Keras reader gives them back
ROUND_TRIP = {
    "einsum_dense": {"equation": "abc,cde->abde", "output_shape": (8, 2, 4), "bias_axes": "de"},
    "embedding": {"input_dim": 10, "output_dim": 4},
    "conv1d": {
        "filters": 4,
        "kernel": (3,),
        "strides": (2,),
        "padding": "causal",
        "dilation": (1,),
        "use_bias": False,
        "activation": "gelu",
    },
    "conv3d": {
        "filters": 6,
        "kernel": (3, 3, 1),
        "strides": (1, 1, 1),
        "padding": "same",
        "dilation": (1, 1, 1),
        "use_bias": True,
        "groups": 3,
    },
    "depthwise_conv1d": {
        "kernel": (3,),
        "strides": (1,),
        "padding": "valid",
        "dilation": (2,),
        "use_bias": True,
        "depth_multiplier": 2,
    },
    "separable_conv1d": {
        "filters": 5,
        "kernel": (3,),
        "strides": (1,),
        "padding": "same",
        "dilation": (1,),
        "use_bias": True,
        "depth_multiplier": 1,
        "activation": "hard_silu",
    },
    "separable_conv2d": {
        "filters": 5,
        "kernel": (3, 3),
        "strides": (2, 2),
        "padding": "valid",
        "dilation": (1, 1),
        "use_bias": False,
        "depth_multiplier": 2,
    },
    "conv1d_transpose": {
        "filters": 4,
        "kernel": (3,),
        "strides": (2,),
        "padding": "same",
        "dilation": (1,),
        "use_bias": True,
    },
    "conv2d_transpose": {
        "filters": 4,
        "kernel": (3, 3),
        "strides": (2, 2),
        "padding": "valid",
        "dilation": (1, 1),
        "use_bias": False,
        "output_padding": (1, 1),
    },
    "conv3d_transpose": {
        "filters": 4,
        "kernel": (2, 2, 2),
        "strides": (2, 2, 2),
        "padding": "same",
        "dilation": (1, 1, 1),
        "use_bias": True,
    },
    "rescaling": {"scale": 0.5, "offset": -1.0},
    "normalization": {"axis": (-1,), "invert": False, "stats": "constants"},
    "layer_norm": {"axis": (-2, -1), "epsilon": 1e-6, "center": False, "scale": True},
    "group_norm": {"groups": 3, "epsilon": 1e-3, "center": True, "scale": False},
    "unit_norm": {"axis": (1, 2)},
    "layer_scale": {"projection_dim": 3, "init_values": 1e-6},
    "prelu": {"shared_axes": (1, 2)},
    "leaky_relu": {"negative_slope": 0.1},
    "elu": {"alpha": 0.5},
    "max_pool1d": {"pool": (3,), "strides": (2,), "padding": "same"},
    "avg_pool1d": {"pool": (2,), "strides": (2,), "padding": "valid"},
    "max_pool3d": {"pool": (2, 2, 2), "strides": (1, 1, 1), "padding": "valid"},
    "avg_pool3d": {"pool": (2, 2, 2), "strides": (2, 2, 2), "padding": "same"},
    "global_avg_pool1d": {"keepdims": True},
    "global_max_pool1d": {"keepdims": False},
    "global_avg_pool3d": {"keepdims": False},
    "global_max_pool3d": {"keepdims": True},
    "subtract": {},
    "maximum": {},
    "minimum": {},
    "average": {},
    "cropping2d": {"cropping": ((1, 0), (2, 3))},
    "permute": {"dims": (2, 3, 1)},
    "zero_pad1d": {"padding": (1, 2)},
    "upsampling2d": {"size": (2, 3), "interpolation": "bilinear"},
    "identity": {},
    "stochastic_depth": {"rate": 0.1},
    "scaled_add": {"scale": 0.17},
}
#: the input each example takes, when not (8, 8, 3)
ROUND_TRIP_INPUTS = {
    "einsum_dense": (8, 3),
    "embedding": (8,),
    **dict.fromkeys(
        [
            "conv1d",
            "depthwise_conv1d",
            "separable_conv1d",
            "conv1d_transpose",
            "max_pool1d",
            "avg_pool1d",
            "global_avg_pool1d",
            "global_max_pool1d",
            "zero_pad1d",
        ],
        (8, 3),
    ),
    **dict.fromkeys(
        ["conv3d", "conv3d_transpose", "max_pool3d", "avg_pool3d", "global_avg_pool3d", "global_max_pool3d"],
        (4, 4, 4, 3),
    ),
}
