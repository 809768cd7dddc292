"""archviz diagram and report timings, whole processes, against keras.utils.plot_model, in one run.

Targets: a layer-depth SVG of resnet152 in at most 3 s; the report of resnet152 in at most 5 s;
ResNet-1202 at block depth in at most 15 s; the report of ResNet-1202 at most 3 MB and at most 4x
the time of resnet50's (each the whole process).

    python benchmarks/bench_pictures.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from timing import wall

ARCHVIZ = str(Path(sys.executable).with_name("archviz"))
PLOT_MODEL = """
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
keras.utils.plot_model(keras.applications.ResNet152(weights=None), to_file=sys.argv[1], show_shapes=True)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        layers = wall(
            [ARCHVIZ, "diagram", "resnet152", "--depth", "layers", "--full", "-o", f"{out}/r152.svg"], args.repeat
        )
        report = wall([ARCHVIZ, "report", "resnet152", "-o", f"{out}/r152.html"], args.repeat)
        deep = wall(
            [ARCHVIZ, "diagram", "resnet1202", "--depth", "blocks", "--full", "-o", f"{out}/r1202.svg"], args.repeat
        )
        small = wall([ARCHVIZ, "report", "resnet50", "-o", f"{out}/r50.html"], args.repeat)
        big = wall([ARCHVIZ, "report", "resnet1202", "-o", f"{out}/r1202.html"], args.repeat)
        sizes = {name: Path(f"{out}/{name}.html").stat().st_size for name in ("r50", "r1202")}
        keras = wall([sys.executable, "-c", PLOT_MODEL, f"{out}/keras152.svg"], 1)
    checks = [
        ("archviz diagram resnet152 --depth layers --full (SVG)", layers, 3.0),
        ("archviz report resnet152", report, 5.0),
        ("archviz diagram resnet1202 --depth blocks --full (SVG)", deep, 15.0),
        ("keras.utils.plot_model(ResNet152) (SVG, build included)", keras, None),
    ]
    for label, seconds, target in checks:
        verdict = "" if target is None else ("ok" if seconds <= target else "MISSED")
        print(f"{label:<58} {seconds:7.2f} s  {f'<= {target:.0f} s' if target else '':<8} {verdict}")
    print(f"{'ratio plot_model / archviz diagram (layer depth)':<58} {keras / layers:7.1f}x")
    ratio, megabytes = big / small, sizes["r1202"] / 2**20
    print(f"{'archviz report resnet50':<58} {small:7.2f} s  {sizes['r50'] / 2**20:.1f} MB")
    print(
        f"{'archviz report resnet1202':<58} {big:7.2f} s  {megabytes:.1f} MB  <= 3 MB  "
        f"{'ok' if megabytes <= 3 else 'MISSED'}"
    )
    print(f"{'ratio report resnet1202 / resnet50':<58} {ratio:7.1f}x  <= 4x     {'ok' if ratio <= 4 else 'MISSED'}")
    met = all(target is None or seconds <= target for _, seconds, target in checks)
    return 0 if met and megabytes <= 3 and ratio <= 4 else 1


if __name__ == "__main__":
    sys.exit(main())
