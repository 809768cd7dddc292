"""Traced calls and own weights: every weight counted once, every op of a ``call`` seen.

Params, trainable and non-trainable are checked against Keras's own counts for keras-hub backbones
built from small configs (never ``from_preset``: no network, no weights) and for custom layers that
hold sublayers and weights of their own. FLOPs and MACs marked complete are checked against
``tf.compat.v1.profiler`` on the frozen graph, MACs against its convolution and matmul FLOPs over 2.
The profiler has no rule for TensorFlow's ``Einsum`` (it costs 0 for it), so for ViT, whose attention
runs two einsums, the reference is the profiler's total plus twice the einsums' MACs, read from the
frozen graph's Einsum nodes here.
"""

from __future__ import annotations

import contextlib
import math

import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")
keras_hub = pytest.importorskip("keras_hub")

import archviz  # noqa: E402
from archviz.backend.profiler import frozen_graph, plain_grouped_convolutions, profiler_flops  # noqa: E402

ops = keras.ops
pytestmark = [pytest.mark.tf]

#: the profiler's op types that are multiply-accumulates, 2 FLOPs each
MAC_OPS = ("Conv2D", "DepthwiseConv2dNative", "MatMul", "BatchMatMulV2")

SMALL = (32, 32, 3)
CONFIGS = {
    "vit": ("ViTBackbone", dict(image_shape=SMALL, patch_size=8, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32)),
    "mit": (
        "MiTBackbone",
        dict(
            layerwise_depths=[1, 1],
            num_layers=2,
            layerwise_num_heads=[1, 2],
            layerwise_sr_ratios=[4, 2],
            max_drop_path_rate=0.1,
            layerwise_patch_sizes=[7, 3],
            layerwise_strides=[4, 2],
            image_shape=SMALL,
            hidden_dims=[8, 16],
        ),
    ),
    "resnet_v1": (
        "ResNetBackbone",
        dict(
            input_conv_filters=[64],
            input_conv_kernel_sizes=[7],
            stackwise_num_filters=[64, 16],
            stackwise_num_blocks=[1, 1],
            stackwise_num_strides=[1, 2],
            block_type="bottleneck_block",
            image_shape=SMALL,
        ),
    ),
    "resnet_v2": (
        "ResNetBackbone",
        dict(
            input_conv_filters=[64],
            input_conv_kernel_sizes=[7],
            stackwise_num_filters=[64, 16],
            stackwise_num_blocks=[1, 1],
            stackwise_num_strides=[1, 2],
            block_type="basic_block",
            use_pre_activation=True,
            image_shape=SMALL,
        ),
    ),
    "resnet_vd": (
        "ResNetBackbone",
        dict(
            input_conv_filters=[8, 8, 8],
            input_conv_kernel_sizes=[3, 3, 3],
            stackwise_num_filters=[64, 16],
            stackwise_num_blocks=[1, 1],
            stackwise_num_strides=[1, 2],
            block_type="bottleneck_block_vd",
            image_shape=SMALL,
        ),
    ),
    "efficientnet": (
        "EfficientNetBackbone",
        dict(
            stackwise_width_coefficients=[0.25] * 3,
            stackwise_depth_coefficients=[0.5] * 3,
            stackwise_kernel_sizes=[3, 3, 3],
            stackwise_num_repeats=[1, 2, 2],
            stackwise_input_filters=[16, 16, 24],
            stackwise_output_filters=[16, 24, 32],
            stackwise_expansion_ratios=[1, 4, 4],
            stackwise_squeeze_and_excite_ratios=[0.0, 0.25, 0.25],
            stackwise_strides=[1, 2, 2],
            stackwise_block_types=["fused", "unfused", "unfused"],
            input_shape=SMALL,
            num_features=64,
        ),
    ),
    "mobilenet": (
        "MobileNetBackbone",
        dict(
            stackwise_expansion=[[16, 24], [32]],
            stackwise_num_blocks=[2, 1],
            stackwise_num_filters=[[8, 8], [16]],
            stackwise_kernel_size=[[3, 3], [5]],
            stackwise_num_strides=[[2, 1], [2]],
            stackwise_se_ratio=[[None, 0.25], [0.25]],
            stackwise_activation=[["relu", "relu"], ["hard_swish"]],
            stackwise_padding=[[1, 1], [2]],
            output_num_filters=32,
            depthwise_filters=8,
            depthwise_stride=2,
            depthwise_residual=False,
            last_layer_filter=32,
            squeeze_and_excite=0.5,
            image_shape=SMALL,
            input_num_filters=8,
        ),
    ),
    "densenet": ("DenseNetBackbone", dict(stackwise_num_repeats=[1, 2], growth_rate=8, image_shape=SMALL)),
    "cspnet": (
        "CSPNetBackbone",
        dict(
            stem_filters=8,
            stem_kernel_size=3,
            stem_strides=2,
            stackwise_depth=[1, 1],
            stackwise_strides=[1, 2],
            stackwise_num_filters=[16, 32],
            block_type="bottleneck_block",
            stage_type="csp",
            expand_ratio=[2.0],
            bottle_ratio=[0.5],
            block_ratio=[1.0],
            image_shape=SMALL,
        ),
    ),
    "vgg": ("VGGBackbone", dict(stackwise_num_repeats=[1, 1], stackwise_num_filters=[8, 16], image_shape=SMALL)),
}


@pytest.fixture(scope="module")
def backbones():
    built: dict = {}

    def get(key: str):
        if key not in built:
            cls, config = CONFIGS[key]
            model = getattr(keras_hub.models, cls)(**config)
            built[key] = (model, archviz.analyze(model))
        return built[key]

    return get


def keras_params(model) -> tuple[int, int, int]:
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    non_trainable = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    return model.count_params(), trainable, non_trainable


def archviz_params(summary) -> tuple[int, int, int]:
    rows = sum(r.trainable_params + r.non_trainable_params for r in summary.records)
    assert rows == summary.params  # the rows sum to the totals
    return summary.params, summary.trainable_params, summary.non_trainable_params


def profiled(model, grouped: bool = False, batch_size: int = 1) -> tuple[int, int]:
    """(FLOPs, MACs) as the profiler counts them."""
    with plain_grouped_convolutions() if grouped else contextlib.nullcontext():
        total, by_type = profiler_flops(model, batch_size=batch_size)
    return total, sum(by_type.get(op, 0) for op in MAC_OPS) // 2


def einsum_macs(model) -> int:
    """Multiply-accumulates of the frozen graph's Einsum nodes: one per combination of their indices."""
    macs = 0
    for operation in frozen_graph(model).get_operations():
        if operation.type == "Einsum":
            subscripts = operation.get_attr("equation").decode().split("->")[0].split(",")
            sizes: dict[str, int] = {}
            for subscript, tensor in zip(subscripts, operation.inputs):
                sizes.update(zip(subscript, tensor.shape.as_list()))
            macs += math.prod(sizes.values())
    return macs


# ---- params ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_params_of_keras_hub_backbones_are_keras_s(backbones, key):
    model, summary = backbones(key)
    assert archviz_params(summary) == keras_params(model)


class Scaled(keras.layers.Layer):
    """A conv and a learned scale of its own: ``conv(x) * self.gamma``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv2D(8, 3, padding="same")

    def build(self, shape):
        self.gamma = self.add_weight(shape=(8,), initializer="ones", name="gamma")
        self.steps = self.add_weight(shape=(), initializer="zeros", name="steps", trainable=False)  # never used

    def call(self, x):
        return self.conv(x) * self.gamma


class Stack(keras.Model):
    """A subclassed model holding a container with own weights, a weight of its own and a frozen one."""

    def __init__(self):
        super().__init__()
        self.scaled = Scaled()
        self.frozen = Scaled()
        self.frozen.trainable = False
        self.pool = keras.layers.GlobalAveragePooling2D()

    def build(self, shape):
        self.bias = self.add_weight(shape=(8,), initializer="zeros", name="bias")

    def call(self, x):
        return self.pool(self.frozen(self.scaled(x))) + self.bias


def test_a_containers_own_weights_are_counted_once_where_they_live():
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, Scaled(name="block")(inputs))
    summary = archviz.analyze(model)
    assert archviz_params(summary) == keras_params(model) == (233, 232, 1)
    rows = {r.name: r for r in summary.records}
    assert rows["block.gamma"].trainable_params == 8 and rows["block.steps"].non_trainable_params == 1
    assert rows["block.multiply"].inputs == ("block.conv", "block.gamma")  # the weight wired to its use
    assert rows["block.gamma"].activation_bytes == 0  # parameter memory, not an activation
    total, macs = profiled(model)
    assert summary.complete and summary.flops == total and summary.macs == macs


def test_own_weights_of_a_subclassed_model_frozen_or_not():
    model = Stack()
    model.build((None, 8, 8, 3))
    summary = archviz.analyze(model)
    assert archviz_params(summary) == keras_params(model)
    assert {r.name for r in summary.records if r.op == "weight"} == {
        "bias",
        "scaled.gamma",
        "scaled.steps",
        "frozen.gamma",
        "frozen.steps",
    }


def test_a_variable_two_layers_share_is_counted_once():
    class Shift(keras.layers.Layer):
        """A layer that holds another layer's kernel as its weight."""

        def __init__(self, variable, **kwargs):
            super().__init__(**kwargs)
            self.variable = variable

        def call(self, x):
            return x + self.variable[0]

    class Tied(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = keras.layers.Dense(4)
            self.dense.build((None, 4))
            self.shift = Shift(self.dense.kernel)

        def call(self, x):
            return self.shift(self.dense(x))

    inputs = keras.Input((4,))
    model = keras.Model(inputs, Tied()(inputs))
    assert keras_params(model) == (20, 20, 0)
    assert archviz_params(archviz.analyze(model)) == keras_params(model)


class OwnWeights(keras.layers.Layer):
    """A container with unnamed weights of its own: one in an attribute, two in a list."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(4)

    def build(self, shape):
        self.gamma = self.add_weight(shape=(4,), initializer="ones")
        self.extra = [self.add_weight(shape=(4,), initializer="zeros") for _ in range(2)]

    def call(self, x):
        return self.dense(x) * self.gamma + self.extra[0] + self.extra[1]


def own_weight_names(warm_up: int) -> list[str]:
    for _ in range(warm_up):  # Keras numbers unnamed variables with a counter of the whole process
        keras.Variable(0.0)
    inputs = keras.Input((3,))
    summary = archviz.analyze(keras.Model(inputs, OwnWeights(name="block")(inputs)))
    return [r.name for r in summary.records if r.op == "weight"]


def test_own_weights_are_named_by_attribute_or_place_whatever_was_built_before():
    first = own_weight_names(0)
    assert first == own_weight_names(7) == ["block.gamma", "block.weight_1", "block.weight_2"]


# ---- every op of a call seen, costed as the profiler costs it ---------------------------------------


class Attention(keras.layers.Layer):
    """Hand-written attention: projections, ``@``, ``ops.matmul``, softmax, gelu and a mean."""

    def __init__(self, dim=16, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        self.q, self.k, self.v = (keras.layers.Dense(dim) for _ in range(3))

    def call(self, x):
        q, k, v = self.q(x), self.k(x), self.v(x)
        scores = ops.softmax((q @ ops.transpose(k, (0, 2, 1))) * (self.dim**-0.5), axis=-1)
        return ops.gelu(ops.matmul(scores, v)) + ops.mean(x, axis=-1, keepdims=True)


class Concat(keras.layers.Layer):
    """``ops.concatenate`` then arithmetic, a split and a stack."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.a, self.b = keras.layers.Conv2D(4, 1), keras.layers.Conv2D(4, 1)

    def call(self, x):
        y = ops.concatenate([self.a(x), self.b(x)], axis=-1)
        first, second = ops.split(y, 2, axis=-1)
        z = (y * 2.0 - 1.0) / 3.0 + ops.concatenate([second, first], axis=-1)
        return ops.sum(ops.stack([z, y], axis=1), axis=1)


@pytest.mark.parametrize("layer, shape", [(Attention, (10, 16)), (Concat, (6, 6, 3))])
def test_ops_of_a_call_equal_the_profiler(layer, shape):
    inputs = keras.Input(shape)
    model = keras.Model(inputs, layer(name="block")(inputs))
    summary = archviz.analyze(model)
    assert summary.complete and summary.macs_complete and summary.warnings == []
    assert (summary.flops, summary.macs) == profiled(model)


class AxisSoftmax(keras.layers.Layer):
    """A projection, then ``ops.softmax`` over one axis: TensorFlow transposes around any but the last."""

    def __init__(self, axis, **kwargs):
        super().__init__(**kwargs)
        self.axis, self.dense = axis, keras.layers.Dense(5)

    def call(self, x):
        return ops.softmax(self.dense(x), axis=self.axis)


@pytest.mark.parametrize("axis", [-1, -2, -4, 1, 2, 3])
def test_a_softmax_over_any_axis_equals_the_profiler(axis):
    inputs = keras.Input((3, 4, 2))
    model = keras.Model(inputs, AxisSoftmax(axis, name="block")(inputs))
    for batch in (1, 2):
        summary = archviz.analyze(model, batch_size=batch)
        assert summary.complete and summary.warnings == []
        assert (summary.flops, summary.macs) == profiled(model, batch_size=batch)


class AttentionModel(keras.Model):
    """A subclassed model: attention with a residual, its scale a weight of its own."""

    def __init__(self):
        super().__init__()
        self.attention = Attention(8)
        self.norm = keras.layers.LayerNormalization()

    def build(self, shape):
        self.scale = self.add_weight(shape=(8,), initializer="ones", name="scale")

    def call(self, x):
        return self.norm(x + self.attention(x) * self.scale)


def test_a_subclassed_attention_model_equals_the_profiler():
    model = AttentionModel()
    model.build((None, 12, 8))
    summary = archviz.analyze(model, input_shape=(12, 8))
    assert summary.complete and summary.macs_complete and summary.warnings == []
    assert archviz_params(summary) == keras_params(model)
    assert (summary.flops, summary.macs) == profiled(keras.Sequential([keras.Input((12, 8)), model]))


def test_attention_is_wired_by_identity_and_nested_ops_recorded_once():
    inputs = keras.Input((10, 16))
    summary = archviz.analyze(keras.Model(inputs, Attention(name="block")(inputs)))
    rows = {r.name: r for r in summary.records}
    assert rows["block.matmul"].inputs == ("block.q", "block.transpose")
    assert rows["block.matmul_1"].inputs == ("block.activation", "block.v")
    (model_input,) = [r.name for r in summary.records if r.op == "input"]  # Keras numbers it: input_layer_3
    assert rows["block.mean"].inputs == (model_input,) and rows["block.q"].inputs == (model_input,)
    # ops.gelu runs tf.nn.gelu, a tanh and arithmetic inside: one node; a Dense's own matmul is not one
    assert [r.attrs.get("fn") for r in summary.records if r.op == "activation"] == ["softmax", "gelu_approximate"]
    assert [r.name for r in summary.records if r.op == "matmul"] == ["block.matmul", "block.matmul_1"]


@pytest.mark.parametrize(
    "key, grouped", [("mit", False), ("mobilenet", True), ("cspnet", False), ("efficientnet", False)]
)
def test_keras_hub_totals_marked_complete_equal_the_profiler(backbones, key, grouped):
    model, summary = backbones(key)
    assert summary.complete and summary.macs_complete and summary.warnings == []
    assert (summary.flops, summary.macs) == profiled(model, grouped)


def test_vit_equals_the_profiler_with_its_einsums_costed():
    """The profiler costs an Einsum at 0; archviz, 2 FLOPs per multiply-accumulate."""
    cls, config = CONFIGS["vit"]
    model = getattr(keras_hub.models, cls)(**config)
    summary = archviz.analyze(model)
    assert summary.complete and summary.macs_complete and summary.warnings == []
    flops, macs = profiled(model)
    einsums = einsum_macs(model)
    assert einsums > 0
    assert (summary.flops, summary.macs) == (flops + 2 * einsums, macs + einsums)


class DotProduct(keras.layers.Layer):
    """``ops.dot_product_attention`` with or without a causal mask, a boolean mask or a scale."""

    def __init__(self, causal=False, mask=False, scale=None, **kwargs):
        super().__init__(**kwargs)
        self.causal, self.mask, self.scale = causal, mask, scale
        self.project = keras.layers.Dense(16)

    def call(self, x):
        q = ops.reshape(self.project(x), (-1, 10, 2, 8))
        mask = ops.ones((1, 2, 10, 10), dtype="bool") if self.mask else None
        return ops.dot_product_attention(q, q, q, is_causal=self.causal, mask=mask, scale=self.scale)


@pytest.mark.parametrize("options", [{}, {"causal": True}, {"mask": True}, {"scale": 0.5}])
def test_dot_product_attention_equals_the_profiler_with_its_einsums_costed(options):
    inputs = keras.Input((10, 16))
    model = keras.Model(inputs, DotProduct(**options, name="block")(inputs))
    summary = archviz.analyze(model)
    assert summary.complete and summary.macs_complete and summary.warnings == []
    flops, macs = profiled(model)
    einsums = einsum_macs(model)
    assert einsums == 2 * 2 * 10 * 10 * 8
    assert (summary.flops, summary.macs) == (flops + 2 * einsums, macs + einsums)


def test_mobilenet_squeeze_excite_mean_is_counted(backbones):
    _, summary = backbones("mobilenet")
    means = [r for r in summary.records if r.op == "mean"]
    assert means and all(r.flops > 0 for r in means)


ELEMENTWISE = {
    "exp": ops.exp,
    "sqrt": ops.sqrt,
    "rsqrt": ops.rsqrt,
    "log": ops.log,
    "square": ops.square,
    "reciprocal": ops.reciprocal,
    "negative": lambda x: -x,
    "abs": ops.abs,
    "erf": ops.erf,
    "sin": ops.sin,
    "cos": ops.cos,
    "clip": lambda x: ops.clip(x, 0.0, 1.0),
    "power": lambda x: x**2,
    "min": lambda x: ops.min(x, axis=-1),
    "prod": lambda x: ops.prod(x, axis=(1, 2)),
}
TRACED_ONLY = {"index": lambda x: x[:, 1:, ..., :2] * x[:, 0, None, :, 2:]}  # a functional graph keeps no index


class Applies(keras.layers.Layer):
    """A conv, then one keras.ops function in ``call``."""

    def __init__(self, function, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.conv = keras.layers.Conv2D(4, 1)

    def call(self, x):
        return self.function(self.conv(x))


@pytest.mark.parametrize("name", sorted(ELEMENTWISE) + sorted(TRACED_ONLY))
def test_elementwise_ops_traced_and_functional_equal_the_profiler(name):
    function = ELEMENTWISE.get(name) or TRACED_ONLY[name]
    inputs = keras.Input((5, 5, 3))
    traced = keras.Model(inputs, Applies(function, name="block")(inputs))
    functional = keras.Model(inputs, function(keras.layers.Conv2D(4, 1)(inputs)))
    for model in (traced,) if name in TRACED_ONLY else (traced, functional):
        summary = archviz.analyze(model)
        assert summary.complete and summary.warnings == [], summary.uncounted
        assert name in [r.op for r in summary.records]
        assert (summary.flops, summary.macs) == profiled(model)


# ---- what the trace cannot count is listed, never guessed ------------------------------------------


class Unwatched(keras.layers.Layer):
    """A TensorFlow function the trace does not watch, then a keras.ops function no rule counts."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv2D(4, 1)

    def call(self, x):
        import tensorflow as tf

        y = tf.math.erf(self.conv(x))  # unwatched: its result's producer is unknown
        return self.conv(ops.cumsum(y, axis=-1))  # no rule for a cumulative sum


def test_an_unseen_producer_and_an_op_without_rule_make_the_totals_incomplete():
    inputs = keras.Input((6, 6, 4))
    summary = archviz.analyze(keras.Model(inputs, Unwatched(name="block")(inputs)))
    rows = {r.name: r for r in summary.records}
    assert not summary.complete and not summary.macs_complete
    unseen = rows["block.unseen"]
    assert unseen.inputs == () and not unseen.counted  # not wired to a guessed producer
    assert rows["block.cumsum"].inputs == ("block.unseen",)
    assert set(summary.uncounted) == {"tensor made by an operation the trace does not watch", "keras.ops numpy.Cumsum"}
    assert summary.reasons["keras.ops numpy.Cumsum"] == "no rule for keras.ops numpy.Cumsum"
    assert "does not watch" in summary.reasons["tensor made by an operation the trace does not watch"]
    assert rows["block.conv_1"].inputs == ("block.cumsum",)  # the second call of the shared conv
