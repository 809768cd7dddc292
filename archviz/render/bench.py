"""A benchmark's timings as text."""

from __future__ import annotations

from archviz.render.tables import visible
from archviz.studies.bench import Benchmark
from archviz.units import human


def render_table(result: Benchmark) -> str:
    bound = "" if result.flops_complete else " (lower bound)"
    return (
        "\n".join(
            [
                f"{visible(result.model)} on the {result.device}, batch {result.batch_size}, "
                f"{result.steps} timed passes after {result.warmup} warm-up",
                f"  time per batch:  {result.seconds_per_batch:.4f} s ± {result.seconds_per_batch_std:.4f} s",
                f"  throughput:      {result.images_per_second:,.1f} images/s",
                f"  compute:         {human(result.flops_per_batch)}FLOPs per batch{bound}, "
                f"{result.gflops_per_second:,.1f} GFLOP/s achieved",
            ]
        )
        + "\n"
    )
