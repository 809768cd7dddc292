"""FLOPs of a Keras model as ``tf.compat.v1.profiler`` counts them, the reference archviz's FLOP
rules are checked against (tests, ``benchmarks/bench_flops.py``).

The model is traced as ``model(x, training=False)`` at a fixed batch size, its variables
frozen into constants (``convert_variables_to_constants_v2``), and the profiler's
``float_operation`` view run over the frozen graph. No grappler pass runs, so a batch norm
stays as its arithmetic ops (2 per element, 6 per channel), never folded into the conv.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from archviz.backend import tensorflow as _tensorflow


@contextlib.contextmanager
def plain_grouped_convolutions() -> Iterator[None]:
    """Let the profiler see grouped convolutions: Keras's TensorFlow backend runs a conv whose kernel
    has fewer input channels than its input as an XLA-compiled call, which the profiler cannot cost
    (it counts 0 for it and for the ops after it until a shape is known again). Inside this block
    Keras calls TensorFlow's plain convolution instead, which computes the same and is costed."""
    tf = _tensorflow()
    from keras.src.backend.tensorflow import nn as backend_nn

    original = backend_nn.conv

    def conv(
        inputs: Any,
        kernel: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: Any = None,
        dilation_rate: Any = 1,
    ) -> Any:
        import keras

        data_format = keras.src.backend.standardize_data_format(data_format)
        return tf.nn.convolution(
            inputs,
            kernel,
            strides,
            padding.upper(),
            dilations=dilation_rate,
            data_format=backend_nn._convert_data_format(data_format, len(inputs.shape)),
        )

    backend_nn.conv = conv
    try:
        yield
    finally:
        backend_nn.conv = original


def frozen_graph(model: Any, batch_size: int = 1) -> Any:
    tf = _tensorflow()
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    inputs = model.inputs if isinstance(model.inputs, (list, tuple)) else [model.inputs]
    specs = [tf.TensorSpec((batch_size, *tuple(i.shape[1:])), tf.float32) for i in inputs]
    if len(specs) == 1:
        function = tf.function(lambda x: model(x, training=False))
    else:
        function = tf.function(lambda *xs: model(list(xs), training=False))
    return convert_variables_to_constants_v2(function.get_concrete_function(*specs)).graph


def profiler_flops(model: Any, batch_size: int = 1) -> tuple[int, dict[str, int]]:
    """(total float ops, float ops per TensorFlow op type) of the frozen inference graph."""
    tf = _tensorflow()
    options = (
        tf.compat.v1.profiler.ProfileOptionBuilder(tf.compat.v1.profiler.ProfileOptionBuilder.float_operation())
        .with_empty_output()
        .build()
    )
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # the v1 profiler announces its own deprecation on every call
    try:
        profile = tf.compat.v1.profiler.profile(
            graph=frozen_graph(model, batch_size), run_meta=tf.compat.v1.RunMetadata(), cmd="op", options=options
        )
    finally:
        logger.setLevel(level)
    by_type: dict[str, int] = {}

    def walk(node: Any) -> None:  # in the 'op' view each op type is a child of the one before
        for child in node.children:
            if child.float_ops:
                by_type[child.name] = by_type.get(child.name, 0) + child.float_ops
            walk(child)

    walk(profile)
    return int(profile.total_float_ops), by_type
