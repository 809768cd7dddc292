"""Reading a Keras file: archviz's config reader against Keras loading the same file, each timed
as a whole process, in one run.

Targets (issue "Keras files read without TensorFlow"): ``archviz summary ResNet50.keras`` (a
keras.applications ResNet50, saved) at most 0.5 s for the whole process and at least 10 times
faster than ``keras.saving.load_model`` alone on the same file (a process that imports Keras and
loads the model, nothing more). ``--loader keras`` is timed too, for the record.

    python benchmarks/bench_keras_files.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import report, wall

ARCHVIZ = str(Path(sys.executable).with_name("archviz"))
SAVE_SCRIPT = """
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
keras.applications.ResNet50(weights=None).save(sys.argv[1])
"""
LOAD_SCRIPT = """
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
keras.saving.load_model(sys.argv[1], compile=False)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median is reported)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "ResNet50.keras")
        subprocess.run([sys.executable, "-c", SAVE_SCRIPT, path], check=True, capture_output=True)
        ours = wall([ARCHVIZ, "summary", path], args.repeat)
        through_keras = wall([ARCHVIZ, "summary", path, "--loader", "keras"], max(1, args.repeat // 2))
        keras = wall([sys.executable, "-c", LOAD_SCRIPT, path], max(1, args.repeat // 2))

    ratio = keras / ours
    checks = [
        ("archviz summary ResNet50.keras (whole process)", f"{ours:.3f} s", ours <= 0.5, "<= 0.5 s"),
        ("archviz summary ResNet50.keras --loader keras", f"{through_keras:.2f} s", True, ""),
        ("keras.saving.load_model(ResNet50.keras) (whole process)", f"{keras:.2f} s", True, ""),
        ("ratio Keras load_model / archviz", f"{ratio:.1f}x", ratio >= 10, ">= 10x"),
    ]
    return report(checks)


if __name__ == "__main__":
    sys.exit(main())
