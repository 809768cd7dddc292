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


def report(checks: list[tuple[str, str, bool, str]]) -> int:
    """Print (label, value, met, target) lines, and the exit code: 0 when every target is met."""
    for label, value, ok, target in checks:
        verdict = "" if not target else ("ok" if ok else "MISSED")
        print(f"{label:<60} {value:>9}  {target:<9} {verdict}")
    return 0 if all(ok for _, _, ok, _ in checks) else 1
