"""Start-up: archviz's commands against a bare Python start (``python -c pass``), in one run.

Targets (issue 16): ``archviz --version`` at most 2x a bare Python start, ``archviz summary
resnet152`` at most 3.5x. Both are whole processes of the installed entry point, timed in turn
(interleaved, so a busy machine slows both alike), median of the runs, after one warm-up run
that lets Python write its bytecode caches as an installed package has them
(``PYTHONDONTWRITEBYTECODE`` is dropped for the children).

    python benchmarks/bench_startup.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from timing import report

ARCHVIZ = str(Path(sys.executable).with_name("archviz"))
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "archviz --version": [ARCHVIZ, "--version"],
    "archviz summary resnet152": [ARCHVIZ, "summary", "resnet152"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15, help="runs of each command (median is reported)")
    args = parser.parse_args()

    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    times: dict[str, list[float]] = {label: [] for label in COMMANDS}
    for run in range(max(1, args.repeat) + 1):
        for label, command in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            if run:  # the first run is the warm-up
                times[label].append(time.perf_counter() - start)
    median = {label: statistics.median(values) for label, values in times.items()}
    bare = median["python -c pass"]
    version, summary = median["archviz --version"] / bare, median["archviz summary resnet152"] / bare
    return report(
        [
            ("python -c pass (whole process)", f"{bare * 1000:.0f} ms", True, ""),
            ("archviz --version / python -c pass", f"{version:.2f}x", version <= 2.0, "<= 2x"),
            ("archviz summary resnet152 / python -c pass", f"{summary:.2f}x", summary <= 3.5, "<= 3.5x"),
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
