"""archviz's training-step estimate against TensorFlow, in one run.

For each model: archviz's training MACs against the training step's own graph (counted from its shapes,
archviz.backend.gradient; they must be equal), and, where a GPU is available, archviz's activation
estimate against the peak memory TensorFlow measures for one training step at the batch size
(``tf.config.experimental.get_memory_info``, after ``reset_memory_stats``), less the memory held before
the step (the weights and the optimizer's slots). The ratio is printed: the estimate counts the tensors
the backward keeps, not TensorFlow's workspace, its transient gradients or allocator rounding, so the
measured peak is expected above it. On a CPU there is nothing to measure: the script says so.

    python benchmarks/bench_training.py [--models resnet50-keras resnet20] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["resnet20", "resnet50-keras"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--optimizer", default="sgd", choices=("sgd", "momentum", "adam", "adamw"))
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    import archviz
    from archviz.backend.gradient import gradient_graph
    from archviz.units import human_bytes

    gpus = tf.config.list_physical_devices("GPU")
    ok = True
    for name in args.models:
        summary = archviz.analyze(name, batch_size=args.batch_size, training=archviz.Training(args.optimizer))
        step = summary.training
        model = archviz.build_keras(name)
        start = time.perf_counter()
        graph = gradient_graph(model, 2)
        seconds = time.perf_counter() - start
        at_two = archviz.analyze(name, batch_size=2, training=archviz.Training(args.optimizer)).training
        equal = at_two.macs == graph.total_macs
        ok &= equal
        print(
            f"{name}: training MACs at batch 2 {at_two.macs:,} vs gradient graph {graph.total_macs:,} "
            f"({seconds:.1f} s to trace)  {'equal ok' if equal else 'DIFFERENT'}"
        )
        print(
            f"{name}: archviz at batch {args.batch_size} ({args.optimizer}): activations "
            f"{human_bytes(step.memory.activations)}, total {human_bytes(step.memory.total)} "
            f"({step.memory.parts()})"
        )
        if not gpus:
            print(f"{name}: no GPU: TensorFlow's peak memory cannot be measured on a CPU (get_memory_info needs one)")
        else:
            measured = _measured_peak(tf, keras, model, args.batch_size, args.optimizer)
            print(
                f"{name}: TensorFlow's peak during a step, beyond what it held before: {human_bytes(measured)}; "
                f"ratio measured / archviz activations {measured / step.memory.activations:.2f}"
            )
        del model
        keras.backend.clear_session()
        gc.collect()
    return 0 if ok else 1


def _measured_peak(tf: Any, keras: Any, model: Any, batch_size: int, optimizer: str) -> int:
    """Bytes TensorFlow's GPU allocator peaked at during one training step, beyond what it held before it."""
    optimizers = {
        "sgd": lambda: keras.optimizers.SGD(),
        "momentum": lambda: keras.optimizers.SGD(momentum=0.9),
        "adam": lambda: keras.optimizers.Adam(),
        "adamw": lambda: keras.optimizers.AdamW(),
    }
    opt = optimizers[optimizer]()
    opt.build(model.trainable_variables)
    x = tf.random.uniform((batch_size, *model.inputs[0].shape[1:]))

    @tf.function
    def step(x: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model(x, training=True))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    step(x)  # trace and warm up
    before = tf.config.experimental.get_memory_info("GPU:0")["current"]
    tf.config.experimental.reset_memory_stats("GPU:0")
    step(x).numpy()
    return tf.config.experimental.get_memory_info("GPU:0")["peak"] - before


if __name__ == "__main__":
    sys.exit(main())
