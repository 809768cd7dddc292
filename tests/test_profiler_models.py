"""FLOPs and MACs of the Keras models people bring, against tf.compat.v1.profiler on the frozen graph.

Each model is built with weights=None at 224x224 (a static size: the profiler counts 0 for any op
whose shape it does not know) and profiled at batch 1. MACs are checked against the profiler's
convolution and matmul FLOPs over 2. ConvNeXt's depthwise convolutions are grouped Conv2D layers,
which Keras runs as an XLA call the profiler cannot cost; it is profiled with them run as plain
TensorFlow convolutions (:func:`archviz.backend.profiler.plain_grouped_convolutions`).
"""

from __future__ import annotations

import contextlib
import gc

import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

import archviz  # noqa: E402
from archviz.backend.profiler import plain_grouped_convolutions, profiler_flops  # noqa: E402

pytestmark = [pytest.mark.tf, pytest.mark.slow]

#: the profiler's op types that are multiply-accumulates, 2 FLOPs each
MAC_OPS = ("Conv2D", "DepthwiseConv2dNative", "MatMul", "BatchMatMulV2")


@pytest.mark.parametrize("name", ["MobileNetV3Small", "EfficientNetB0", "Xception", "ConvNeXtTiny"])
def test_flops_and_macs_equal_the_profiler(name):
    model = getattr(keras.applications, name)(weights=None, input_shape=(224, 224, 3))
    try:
        summary = archviz.analyze(model)
        assert summary.complete and summary.macs_complete and summary.warnings == []
        context = plain_grouped_convolutions() if name == "ConvNeXtTiny" else contextlib.nullcontext()
        with context:
            total, by_type = profiler_flops(model, batch_size=1)
        assert abs(summary.flops - total) <= 0.005 * total, (summary.flops, total)
        assert summary.flops == total, (summary.flops, total)
        assert summary.macs == sum(by_type.get(op, 0) for op in MAC_OPS) // 2
    finally:
        del model
        keras.backend.clear_session()
        gc.collect()
