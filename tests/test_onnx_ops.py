"""Each ONNX op type the op table maps, read from a one-node model built with onnx.helper: it is the
op its entry says, counted (no "not counted" row), its output shape the rule's and ONNX shape
inference's alike (a disagreement would be a warning), and its MACs and params the hand count."""

from __future__ import annotations

import pytest

onnx = pytest.importorskip("onnx")

from onnx import helper  # noqa: E402
from onnx_models import model, save, weight  # noqa: E402

import archviz  # noqa: E402
from archviz.ops import ONNX_TYPES  # noqa: E402

N = helper.make_node
X4 = [1, 4, 6, 6]


def one(op_type: str, x: list, inits: list | None = None, extra: tuple[str, ...] = (), **attrs):
    """A model of one node ``y = op_type(x, *extra)``."""
    return [N(op_type, ["x", *extra], ["y"], name="node", **attrs)], x, inits or []


def _unary(op_type: str, **attrs):
    return one(op_type, X4, **attrs)


#: ONNX type (as ONNX_TYPES keys it) -> (nodes, input shape, initializers, archviz op, output HxWxC, MACs, params)
CASES = {
    "Conv/2d": (*one("Conv", [1, 4, 9, 9], [weight("w", (6, 2, 3, 3)), weight("b", (6,))], ("w", "b"), strides=[2, 2], pads=[1, 1, 1, 1], group=2), "conv2d", (5, 5, 6), 5 * 5 * 6 * 18, 114),
    "Conv/1d": (*one("Conv", [1, 4, 10], [weight("w", (8, 4, 3))], ("w",)), "conv1d", (8, 8), 8 * 8 * 12, 96),
    "Conv/3d": (*one("Conv", [1, 2, 4, 4, 4], [weight("w", (3, 2, 2, 2, 2))], ("w",), auto_pad="SAME_UPPER"), "conv3d", (4, 4, 4, 3), 64 * 3 * 16, 48),
    "ConvTranspose/1d": (*one("ConvTranspose", [1, 2, 6], [weight("w", (2, 3, 4))], ("w",), strides=[2]), "conv1d_transpose", (14, 3), 6 * 4 * 2 * 3, 24),
    "ConvTranspose/2d": (*one("ConvTranspose", [1, 4, 5, 5], [weight("w", (4, 3, 3, 3))], ("w",), strides=[2, 2]), "conv2d_transpose", (11, 11, 3), 25 * 9 * 12, 108),
    "ConvTranspose/3d": (*one("ConvTranspose", [1, 2, 3, 3, 3], [weight("w", (2, 2, 2, 2, 2))], ("w",), strides=[2, 2, 2]), "conv3d_transpose", (6, 6, 6, 2), 27 * 8 * 4, 32),
    "Gemm": (*one("Gemm", [1, 8], [weight("w", (5, 8)), weight("b", (5,))], ("w", "b"), transB=1), "dense", (5,), 40, 45),
    "MatMul": (*one("MatMul", [1, 8], [weight("w", (8, 5))], ("w",)), "dense", (5,), 40, 40),
    "BatchNormalization": (*one("BatchNormalization", X4, [weight(n, (4,)) for n in "sbmv"], tuple("sbmv")), "batch_norm", (6, 6, 4), 0, 16),
    **{t: (*_unary(t), "activation", (6, 6, 4), 0, 0) for t in ("Relu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Softplus", "Softsign", "Selu", "Mish", "Gelu")},
    "Softmax": (*one("Softmax", [1, 10]), "activation", (10,), 0, 0),
    "LeakyRelu": (*_unary("LeakyRelu", alpha=0.1), "leaky_relu", (6, 6, 4), 0, 0),
    "Elu": (*_unary("Elu"), "elu", (6, 6, 4), 0, 0),
    "Exp": (*_unary("Exp"), "exp", (6, 6, 4), 0, 0),
    "Sqrt": (*_unary("Sqrt"), "sqrt", (6, 6, 4), 0, 0),
    # a Clip's bounds are settings, not params, though they are float initializers
    "Clip": (*one("Clip", X4, [weight("lo", (), values=0.0), weight("hi", (), values=6.0)], ("lo", "hi")), "clip", (6, 6, 4), 0, 0),
    # a float initializer operand is a weight layer (its elements params); a Constant scalar is an operand, no param
    "Add": (*one("Add", X4, [weight("bias", (4, 1, 1))], ("bias",)), "add", (6, 6, 4), 0, 4),
    **{
        t: ([N("Constant", [], ["c"], value=helper.make_tensor("v", 1, [], [2.0])), N(t, ["x", "c"], ["y"], name="node")], X4, [], op, (6, 6, 4), 0, 0)
        for t, op in (("Sub", "subtract"), ("Mul", "multiply"), ("Div", "divide"), ("Max", "maximum"), ("Min", "minimum"))
    },
    # a Constant tensor operand is a weight layer with no params
    "Constant": ([N("Constant", [], ["c"], value=helper.make_tensor("v", 1, [4, 1, 1], [1.0] * 4)), N("Mul", ["x", "c"], ["y"], name="node")], X4, [], "multiply", (6, 6, 4), 0, 0),
    "MaxPool/2d": (*one("MaxPool", [1, 4, 8, 8], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), "max_pool2d", (4, 4, 4), 0, 0),
    "MaxPool/1d": (*one("MaxPool", [1, 4, 8], kernel_shape=[2], strides=[2]), "max_pool1d", (4, 4), 0, 0),
    "MaxPool/3d": (*one("MaxPool", [1, 2, 4, 4, 4], kernel_shape=[2, 2, 2], strides=[2, 2, 2]), "max_pool3d", (2, 2, 2, 2), 0, 0),
    "AveragePool/2d": (*one("AveragePool", [1, 4, 8, 8], kernel_shape=[2, 2], strides=[2, 2]), "avg_pool2d", (4, 4, 4), 0, 0),
    "AveragePool/1d": (*one("AveragePool", [1, 4, 8], kernel_shape=[3], pads=[1, 1]), "avg_pool1d", (8, 4), 0, 0),
    "AveragePool/3d": (*one("AveragePool", [1, 2, 4, 4, 4], kernel_shape=[2, 2, 2], strides=[2, 2, 2]), "avg_pool3d", (2, 2, 2, 2), 0, 0),
    "GlobalAveragePool/2d": (*one("GlobalAveragePool", X4), "global_avg_pool2d", (1, 1, 4), 0, 0),
    "GlobalAveragePool/1d": (*one("GlobalAveragePool", [1, 4, 8]), "global_avg_pool1d", (1, 4), 0, 0),
    "GlobalAveragePool/3d": (*one("GlobalAveragePool", [1, 2, 4, 4, 4]), "global_avg_pool3d", (1, 1, 1, 2), 0, 0),
    "GlobalMaxPool/2d": (*one("GlobalMaxPool", X4), "global_max_pool2d", (1, 1, 4), 0, 0),
    "GlobalMaxPool/1d": (*one("GlobalMaxPool", [1, 4, 8]), "global_max_pool1d", (1, 4), 0, 0),
    "GlobalMaxPool/3d": (*one("GlobalMaxPool", [1, 2, 4, 4, 4]), "global_max_pool3d", (1, 1, 1, 2), 0, 0),
    "ReduceMean": (*one("ReduceMean", X4, [weight("axes", (2,), "int64", [2, 3])], ("axes",), keepdims=0), "mean", (4,), 0, 0),
    "Flatten": (*one("Flatten", X4), "flatten", (144,), 0, 0),
    # an integer initializer (a shape) is a setting, not a param
    "Reshape": (*one("Reshape", X4, [weight("shape", (2,), "int64", [1, 144])], ("shape",)), "reshape", (144,), 0, 0),
    "Concat": ([N("Relu", ["x"], ["r"], name="relu"), N("Concat", ["x", "r"], ["y"], name="node", axis=1)], X4, [], "concat", (6, 6, 8), 0, 0),
    "Split": ([N("Split", ["x"], ["y", "z"], name="node", num_outputs=2, axis=1)], X4, [], "split", (6, 6, 2), 0, 0),
    "Pad": (*one("Pad", X4, [weight("pads", (8,), "int64", [0, 0, 1, 2, 0, 0, 1, 2])], ("pads",)), "pad", (8, 10, 4), 0, 0),
    "Identity": (*one("Identity", X4), "identity", (6, 6, 4), 0, 0),
    "Transpose": (*one("Transpose", [1, 4, 3, 5], perm=[0, 1, 3, 2]), "transpose", (5, 3, 4), 0, 0),
    "Resize/2d": (*one("Resize", [1, 4, 3, 3], [weight("scales", (4,), values=[1, 1, 2, 2])], ("", "scales"), mode="nearest"), "upsampling2d", (6, 6, 4), 0, 0),
    "Dropout": (*one("Dropout", X4), "dropout", (6, 6, 4), 0, 0),
}  # fmt: skip


def test_every_onnx_type_has_a_case():
    """An op type added to the op table's ONNX mapping without a case here fails."""
    assert set(ONNX_TYPES) == set(CASES)


def test_every_mapped_op_has_a_rule():
    """The ONNX mapping lives on op entries, each with its shape and cost rule."""
    for key, op in ONNX_TYPES.items():
        assert callable(op.shape) and callable(op.cost) and callable(op.onnx[key]), key


@pytest.mark.parametrize("key", sorted(CASES))
def test_onnx_node_is_its_op(key, tmp_path):
    nodes, x, inits, op, shape, macs, params = CASES[key]
    path = save(model(nodes, x, initializers=inits, outputs=[nodes[-1].output[0]]), tmp_path / "m.onnx")
    summary = archviz.analyze(path)
    (row,) = [r for r in summary.records if r.name == "node"]
    assert row.op == op and row.counted
    assert row.output_shape == shape
    assert row.macs == macs
    assert summary.params == params
    assert summary.complete and not summary.warnings, summary.warnings
