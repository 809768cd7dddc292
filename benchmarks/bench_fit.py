"""archviz fit's search rate, against building each candidate in Keras to count it, in one run.

Target (issue 5): at least 2,000 candidate variants evaluated per second on this 2-core
machine, with the same rule table as ``archviz summary`` (parts cached, never a Keras model).

    python benchmarks/bench_fit.py [--keras-samples 5]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keras-samples", type=int, default=5, help="candidates built in Keras for the ratio")
    args = parser.parse_args()

    from archviz.studies import fit as search

    ok = True
    rates = {}
    for family in sorted(search.FAMILIES):
        search._PARTS.clear()  # cold: every part counted from scratch
        result = search.fit(max_params=5_000_000, family=family)
        rates[family] = result.rate
        verdict = "ok" if result.rate >= 2000 else "MISSED"
        ok = ok and result.rate >= 2000
        print(
            f"archviz fit --family {family:<8} {result.evaluated:>6,} variants in {result.seconds:5.2f} s "
            f"{result.rate:>9,.0f}/s  (>= 2,000/s) {verdict}"
        )

    from archviz.backend import keras as load_keras  # TensorFlow's start-up lines silenced
    from archviz.backend.keras_export import to_keras

    keras = load_keras()
    from archviz.sources.zoo import build

    pool = list(search.candidates("cifar"))
    sample = random.Random(0).sample(pool, args.keras_samples)
    start = time.perf_counter()
    for _, config in sample:
        to_keras(build(config)).count_params()
        keras.backend.clear_session()
    per_keras = (time.perf_counter() - start) / len(sample)
    print(f"{'Keras: build each candidate and count_params()':<60} {1 / per_keras:>9,.1f}/s")
    print(f"{'ratio archviz / Keras (cifar family)':<60} {rates['cifar'] * per_keras:>9,.0f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
