"""Timing helpers shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import subprocess
import time


def wall(command: list[str], repeat: int) -> float:
    """Median wall time, in seconds, of running ``command`` as a whole process ``repeat`` times."""
    times = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
