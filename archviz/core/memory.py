"""Whether a model fits in this machine's memory, answered from its summary before TensorFlow loads.

Every size a user may give is in range (:mod:`archviz.limits`), yet some in-range models are far
too big for Keras: ``resnet18 --width-multiplier 64`` has 48 billion params, and Keras would
allocate until the machine swaps or TensorFlow raises ``ResourceExhaustedError`` after minutes.
``export`` and ``bench`` therefore refuse, in one line saying what the model would need, a model
whose estimate exceeds the memory available now (``MemAvailable`` of ``/proc/meminfo``, else the
free physical pages). The rule, documented in the README:

* **export** needs twice the param memory: Keras holds the variables and their initial values.
* **bench** needs twice the param memory plus, at the batch size, the largest layer output twice
  (a layer's input and output live together) and the input batch.

The estimate is a lower bound of what TensorFlow uses (it adds its own runtime), so a refused model
would certainly fail; a model that passes may still run out, which is then one line too.
"""

from __future__ import annotations

import os

from archviz.errors import RuntimeFailure
from archviz.core.summary import Summary
from archviz.units import human_bytes


def available() -> int | None:
    """Bytes of memory available for a new process now, or None where the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def needed(summary: Summary, *, run: bool) -> tuple[int, str]:
    """The bytes the rule (see the module docstring) says Keras needs, and how they add up in words.
    ``run``: the model runs a forward pass at the summary's batch size (bench), else it is only built."""
    params = 2 * summary.param_bytes
    if not run:
        return params, f"2 x {human_bytes(summary.param_bytes)} of params"
    largest = max((r.activation_bytes for r in summary.records), default=0)
    first = summary.records[0].activation_bytes if summary.records else 0
    return params + 2 * largest + first, (f"2 x {human_bytes(summary.param_bytes)} of params, 2 x "
                                          f"{human_bytes(largest)} for the largest layer output and "
                                          f"{human_bytes(first)} of input at batch size {summary.batch_size:,}")


def check_fits(summary: Summary, *, run: bool, memory: int | None = None) -> None:
    """Refuse, in one line, a model the rule says does not fit in ``memory`` (default: what is available)."""
    memory = available() if memory is None else memory
    if memory is None:
        return
    need, parts = needed(summary, run=run)
    if need > memory:
        hint = ": try a smaller --batch-size" if run and 2 * summary.param_bytes <= memory else ""
        raise RuntimeFailure(f"{summary.name} would need at least {human_bytes(need)} of memory in Keras ({parts}); "
                             f"{human_bytes(memory)} is available{hint}")
