"""``archviz bench``: timed forward passes of the real Keras model, as seed 002 times its ResNet."""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

from archviz.backend import tensorflow as _tensorflow
from archviz.errors import RuntimeFailure
from archviz.units import human


def _keras_model_and_summary(model: Any, batch_size: int, unsafe: bool, custom_objects: Any,
                             options: dict) -> tuple[Any, Any]:
    """The Keras model to time, and archviz's summary of it (for the FLOPs per batch)."""
    from archviz.analysis import analyze_graph
    from archviz.backend.keras_export import to_keras
    from archviz.backend.keras_import import load_custom_objects, load_keras_file
    from archviz.models import is_keras_file, is_keras_model, load_graph

    if is_keras_file(model):
        objects = load_custom_objects(custom_objects) if isinstance(custom_objects, str) else custom_objects
        model = load_keras_file(model, unsafe=unsafe, custom_objects=objects)
    if is_keras_model(model):
        keras_model, graph = model, load_graph(model, **options)
    else:
        graph = load_graph(model, **options)
        keras_model = to_keras(graph)
    return keras_model, analyze_graph(graph, batch_size=batch_size)


def run_benchmark(model: Any, *, batch_size: int = 32, steps: int = 20, warmup: int = 3, unsafe: bool = False,
                  custom_objects: Any = None, progress: bool = False, **options: Any) -> dict[str, Any]:
    """Time ``steps`` forward passes after ``warmup`` untimed ones. TensorFlow's failures (a batch
    that does not fit in memory) are one line: :class:`RuntimeFailure`."""
    from archviz.keras_file import read_config
    from archviz.models import is_keras_file

    if is_keras_file(model):
        read_config(model)  # a missing, foreign or hostile file fails here, before TensorFlow loads
    tf = _tensorflow()
    try:
        return _run(tf, model, batch_size, steps, warmup, unsafe, custom_objects, progress, options)
    except (tf.errors.ResourceExhaustedError, MemoryError):
        raise RuntimeFailure(f"ran out of memory at batch size {batch_size:,}: try a smaller --batch-size") from None
    except tf.errors.OpError as error:
        first_line = error.message.strip().split("\n", 1)[0]
        raise RuntimeFailure(f"TensorFlow failed at batch size {batch_size:,}: {first_line}") from None


def _run(tf: Any, model: Any, batch_size: int, steps: int, warmup: int, unsafe: bool, custom_objects: Any,
         progress: bool, options: dict) -> dict[str, Any]:
    keras_model, summary = _keras_model_and_summary(model, batch_size, unsafe, custom_objects, options)
    input_shape = tuple(int(d) for d in keras_model.inputs[0].shape[1:])
    images = tf.random.normal((batch_size, *input_shape), seed=0)
    forward = tf.function(lambda x: keras_model(x, training=False))
    gpus = tf.config.list_physical_devices("GPU")
    device = f"GPU ({gpus[0].name})" if gpus else "CPU"

    def step() -> float:
        start = time.perf_counter()
        result = forward(images)
        for tensor in tf.nest.flatten(result):
            tensor.numpy()  # wait for the device
        return time.perf_counter() - start

    times: list[float] = []
    total = warmup + steps
    if progress:
        import click

        with click.progressbar(range(total), label=f"{summary.name}: {warmup} warm-up + {steps} timed",
                               file=sys.stderr, show_pos=True) as bar:
            for index in bar:
                elapsed = step()
                if index >= warmup:
                    times.append(elapsed)
    else:
        for index in range(total):
            elapsed = step()
            if index >= warmup:
                times.append(elapsed)
    mean = statistics.fmean(times)
    std = statistics.stdev(times) if len(times) > 1 else 0.0
    return {
        "model": summary.name,
        "device": device,
        "batch_size": batch_size,
        "input_shape": list(input_shape),
        "warmup": warmup,
        "steps": steps,
        "seconds_per_batch": mean,
        "seconds_per_batch_std": std,
        "images_per_second": batch_size / mean,
        "flops_per_batch": summary.flops,
        "flops_complete": summary.complete,
        "gflops_per_second": summary.flops / mean / 1e9,
        "times": times,
    }


def render_benchmark(result: dict[str, Any], fmt: str = "table") -> str:
    if fmt == "json":
        import json

        return json.dumps(result, indent=2) + "\n"
    bound = "" if result["flops_complete"] else " (lower bound)"
    lines = [
        f"{result['model']} on the {result['device']}, batch {result['batch_size']}, "
        f"{result['steps']} timed passes after {result['warmup']} warm-up",
        f"  time per batch:  {result['seconds_per_batch']:.4f} s ± {result['seconds_per_batch_std']:.4f} s",
        f"  throughput:      {result['images_per_second']:,.1f} images/s",
        f"  compute:         {human(result['flops_per_batch'])}FLOPs per batch{bound}, "
        f"{result['gflops_per_second']:,.1f} GFLOP/s achieved",
    ]
    return "\n".join(lines) + "\n"
