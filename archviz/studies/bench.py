"""``archviz bench``: timed forward passes of the real Keras model, as seed 002 times its ResNet.

A study like the others (a result object, rendered by :mod:`archviz.render.bench`); TensorFlow is
imported only when the timing starts, through :mod:`archviz.backend`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from archviz.errors import RuntimeFailure, UsageError


@dataclass(frozen=True)
class Benchmark:
    """Timed forward passes of one model, with archviz's FLOP count for the GFLOP/s achieved."""

    model: str
    device: str
    batch_size: int
    input_shape: tuple[int, ...]
    warmup: int
    times: tuple[float, ...]
    flops_per_batch: int
    flops_complete: bool

    @property
    def steps(self) -> int:
        return len(self.times)

    @property
    def seconds_per_batch(self) -> float:
        import statistics

        return statistics.fmean(self.times)

    @property
    def seconds_per_batch_std(self) -> float:
        import statistics

        return statistics.stdev(self.times) if len(self.times) > 1 else 0.0

    @property
    def images_per_second(self) -> float:
        return self.batch_size / self.seconds_per_batch

    @property
    def gflops_per_second(self) -> float:
        return self.flops_per_batch / self.seconds_per_batch / 1e9

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "device": self.device,
            "batch_size": self.batch_size,
            "input_shape": list(self.input_shape),
            "warmup": self.warmup,
            "steps": self.steps,
            "seconds_per_batch": self.seconds_per_batch,
            "seconds_per_batch_std": self.seconds_per_batch_std,
            "images_per_second": self.images_per_second,
            "flops_per_batch": self.flops_per_batch,
            "flops_complete": self.flops_complete,
            "gflops_per_second": self.gflops_per_second,
            "times": list(self.times),
        }


def run_benchmark(
    model: Any,
    *,
    batch_size: int = 32,
    steps: int = 20,
    warmup: int = 3,
    progress: Callable[[], None] | None = None,
    **options: Any,
) -> Benchmark:
    """Time ``steps`` forward passes of MODEL (anything :func:`archviz.api.resolve` takes, with its
    options) after ``warmup`` untimed ones; ``progress`` is called after each pass. TensorFlow's
    failures (a batch that does not fit in memory) are one line: :class:`RuntimeFailure`."""
    from archviz.api import resolve
    from archviz.backend.keras_export import runnable
    from archviz.core.analysis import analyze_graph

    check_memory(model, batch_size=batch_size, **options)
    resolved = resolve(model, keras_model=True, **options)
    input_shape = tuple(next(node for node in resolved.graph if node.op == "input").attrs["shape"])
    if any(d < 0 for d in input_shape):
        raise UsageError("the model's input size is open: pass --input-shape H,W,C to time it")
    from archviz.backend import tensorflow

    tf = tensorflow()
    try:
        times = _time(tf, runnable(resolved.keras_model), input_shape, batch_size, steps, warmup, progress)
    except (tf.errors.ResourceExhaustedError, MemoryError):
        raise RuntimeFailure(f"ran out of memory at batch size {batch_size:,}: try a smaller --batch-size") from None
    except tf.errors.OpError as error:
        first_line = error.message.strip().split("\n", 1)[0]
        raise RuntimeFailure(f"TensorFlow failed at batch size {batch_size:,}: {first_line}") from None
    summary = analyze_graph(resolved.graph, batch_size=batch_size)
    gpus = tf.config.list_physical_devices("GPU")
    return Benchmark(
        model=summary.name,
        device=f"GPU ({gpus[0].name})" if gpus else "CPU",
        batch_size=batch_size,
        input_shape=input_shape,
        warmup=warmup,
        times=tuple(times),
        flops_per_batch=summary.flops,
        flops_complete=summary.complete,
    )


def check_memory(model: Any, *, batch_size: int, **options: Any) -> None:
    """Refuse, before TensorFlow loads, a model whose forward pass at ``batch_size`` would not fit in
    this machine's memory (:mod:`archviz.core.memory`). A Keras file that archviz's config reader cannot
    read, or that the user has Keras read (``--loader keras``), is not checked here (knowing its size
    needs Keras): TensorFlow's own failure is one line."""
    from archviz.api import analyze, is_keras_file
    from archviz.core.memory import check_fits
    from archviz.sources.keras.reader import NotReadable

    if is_keras_file(model):
        if options.get("loader") == "keras":
            return
        options = {"input_shape": options.get("input_shape"), "loader": "config"}
    try:
        summary = analyze(model, batch_size=batch_size, **options)
    except NotReadable:
        return
    check_fits(summary, run=True)


def _time(
    tf: Any,
    keras_model: Any,
    input_shape: tuple[int, ...],
    batch_size: int,
    steps: int,
    warmup: int,
    progress: Callable[[], None] | None,
) -> list[float]:
    images = tf.random.normal((batch_size, *input_shape), seed=0)
    forward = tf.function(lambda x: keras_model(x, training=False))
    times: list[float] = []
    for index in range(warmup + steps):
        start = time.perf_counter()
        for tensor in tf.nest.flatten(forward(images)):
            tensor.numpy()  # wait for the device
        if index >= warmup:
            times.append(time.perf_counter() - start)
        if progress is not None:
            progress()
    return times
