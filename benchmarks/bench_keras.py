"""archviz on real Keras models, timed against Keras and tf.profiler in one run.

Targets (issue 3):
* summarizing an imported Keras model adds at most 10% on top of Keras's own time to
  build it (keras.applications) or load it (a .keras file);
* archviz's FLOP count of keras.applications ResNet50 and ResNet152 is at least 10 times
  faster than tf.compat.v1.profiler's (freezing the graph included) on the same model.

    python benchmarks/bench_keras.py [--models ResNet50 ResNet152]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["ResNet50", "ResNet152"])
    args = parser.parse_args()

    import keras

    import archviz
    from archviz.backend.profiler import profiler_flops

    archviz.analyze(keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3)]))  # warm the imports
    ok = True
    rows = []
    for name in args.models:
        model, build = timed(getattr(keras.applications, name), weights=None)
        summary, ours = timed(archviz.analyze, model)
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / f"{name}.keras"
            model.save(path)
            loaded, load = timed(keras.saving.load_model, path, compile=False)
            _, file_summary = timed(archviz.analyze, loaded)
        (total, _), profile = timed(profiler_flops, model)
        exact = total == summary.flops
        rows += [
            (f"{name}: Keras build", f"{build:.2f} s", ""),
            (
                f"{name}: archviz summary of the built model",
                f"{ours:.3f} s",
                f"+{ours / build:.1%} (<= 10%)",
                ours <= 0.1 * build,
            ),
            (f"{name}: Keras load of the .keras file", f"{load:.2f} s", ""),
            (
                f"{name}: archviz summary of the loaded model",
                f"{file_summary:.3f} s",
                f"+{file_summary / load:.1%} (<= 10%)",
                file_summary <= 0.1 * load,
            ),
            (f"{name}: tf.profiler FLOPs (freeze + profile)", f"{profile:.2f} s", f"{total:,} FLOPs"),
            (
                f"{name}: archviz FLOPs",
                f"{ours:.3f} s",
                f"{profile / ours:.0f}x faster (>= 10x), {'equal' if exact else 'DIFFERENT'}",
                profile >= 10 * ours and exact,
            ),
        ]
        del model, loaded
        keras.backend.clear_session()
    for label, value, note, *verdict in rows:
        mark = "" if not verdict else ("ok" if verdict[0] else "MISSED")
        ok = ok and (not verdict or verdict[0])
        print(f"{label:<52} {value:>9}  {note:<40} {mark}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
