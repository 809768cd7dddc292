"""archviz summary against Keras's model.summary(), each timed as a whole process, in one run.

Targets (issue 2): ``archviz summary resnet152`` at most 0.3 s for the whole process and at
least 20 times faster than building keras.applications.ResNet152(weights=None) and calling
model.summary(); ``archviz summary resnet1202`` under 1 s.

    python benchmarks/bench_summary.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from timing import report, wall

ARCHVIZ = str(Path(sys.executable).with_name("archviz"))
KERAS_SCRIPT = """
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
model = keras.applications.ResNet152(weights=None)
model.summary(print_fn=lambda *a, **k: None)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median is reported)")
    args = parser.parse_args()

    ours = wall([ARCHVIZ, "summary", "resnet152"], args.repeat)
    deep = wall([ARCHVIZ, "summary", "resnet1202"], args.repeat)
    keras = wall([sys.executable, "-c", KERAS_SCRIPT], max(1, args.repeat // 2))

    ratio = keras / ours
    checks = [
        ("archviz summary resnet152 (whole process)", f"{ours:.3f} s", ours <= 0.3, "<= 0.3 s"),
        ("archviz summary resnet1202 (whole process)", f"{deep:.3f} s", deep < 1.0, "< 1 s"),
        ("Keras ResNet152(weights=None) + summary() (whole process)", f"{keras:.2f} s", True, ""),
        ("ratio Keras / archviz", f"{ratio:.0f}x", ratio >= 20, ">= 20x"),
    ]
    return report(checks)


if __name__ == "__main__":
    sys.exit(main())
