"""Whether a model fits in this machine's memory, answered from its summary before TensorFlow loads.

Every size a user may give is in range (:mod:`archviz.limits`), yet some in-range models are far
too big for Keras: ``resnet18 --width-multiplier 64`` has 48 billion params, and Keras would
allocate until the machine swaps or TensorFlow raises ``ResourceExhaustedError`` after minutes.
``export`` and ``bench`` therefore refuse, in one line saying what the model would need, a model
whose estimate exceeds the memory available now: the least of what is readable of the machine's
``MemAvailable`` (``/proc/meminfo``) and the room left under the container's cgroup limit (v2
``memory.max`` less ``memory.current``, v1 ``memory.limit_in_bytes`` less ``memory.usage_in_bytes``,
the inactive file cache counted as free as the kernel does), else the free physical pages. In a
container the cgroup limit is often far below the machine's memory. The rule, documented in docs/errors.md:

* **export** needs twice the param memory: Keras holds the variables and their initial values.
* **bench** needs twice the param memory plus, at the batch size, the largest layer output twice
  (a layer's input and output live together) and the input batch.

The estimate is a lower bound of what TensorFlow uses (it adds its own runtime), so a refused model
would certainly fail; a model that passes may still run out, which is then one line too.
"""

from __future__ import annotations

import os
from pathlib import Path

from archviz.core.summary import Summary
from archviz.errors import RuntimeFailure
from archviz.units import human_bytes

#: Where the kernel says how much memory this process may take.
MEMINFO = Path("/proc/meminfo")
CGROUP = Path("/sys/fs/cgroup")


def available(meminfo: Path = MEMINFO, cgroup: Path = CGROUP) -> int | None:
    """Bytes of memory available for a new process now (the least of what the machine and the cgroup
    say), or None where the system does not say."""
    known = [
        room for room in (_meminfo(meminfo), _cgroup_v2(cgroup), _cgroup_v1(cgroup / "memory")) if room is not None
    ]
    if known:
        return max(min(known), 0)
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _meminfo(path: Path) -> int | None:
    for key, value in _pairs(path, ":"):
        if key == "MemAvailable":
            return int(value.split()[0]) * 1024
    return None


def _cgroup_v2(directory: Path) -> int | None:
    """The room under cgroup v2's ``memory.max`` (``max``: no limit)."""
    limit, usage = _number(directory / "memory.max"), _number(directory / "memory.current")
    if limit is None or usage is None:
        return None
    return limit - usage + _stat(directory / "memory.stat", "inactive_file")


def _cgroup_v1(directory: Path) -> int | None:
    """The room under cgroup v1's ``memory.limit_in_bytes`` (no limit is a number near 2**63)."""
    limit, usage = _number(directory / "memory.limit_in_bytes"), _number(directory / "memory.usage_in_bytes")
    if limit is None or usage is None:
        return None
    return limit - usage + _stat(directory / "memory.stat", "total_inactive_file")


def _number(path: Path) -> int | None:
    """The integer a cgroup file holds, or None (unreadable, ``max``, not a number)."""
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _stat(path: Path, key: str) -> int:
    for name, value in _pairs(path, " "):
        if name == key:
            return int(value)
    return 0


def _pairs(path: Path, separator: str) -> list[tuple[str, str]]:
    """``key SEP value`` lines of a small kernel file whose value is a number; none if unreadable."""
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    pairs = [tuple(part.strip() for part in line.split(separator, 1)) for line in lines if separator in line]
    return [(key, value) for key, value in pairs if value.split()[:1] and value.split()[0].isdigit()]


def needed(summary: Summary, *, run: bool) -> tuple[int, str]:
    """The bytes the rule (see the module docstring) says Keras needs, and how they add up in words.
    ``run``: the model runs a forward pass at the summary's batch size (bench), else it is only built."""
    params = 2 * summary.param_bytes
    if not run:
        return params, f"2 x {human_bytes(summary.param_bytes)} of params"
    largest = max((r.activation_bytes for r in summary.records), default=0)
    first = summary.records[0].activation_bytes if summary.records else 0
    return params + 2 * largest + first, (
        f"2 x {human_bytes(summary.param_bytes)} of params, 2 x "
        f"{human_bytes(largest)} for the largest layer output and "
        f"{human_bytes(first)} of input at batch size {summary.batch_size:,}"
    )


def check_fits(summary: Summary, *, run: bool, memory: int | None = None) -> None:
    """Refuse, in one line, a model the rule says does not fit in ``memory`` (default: what is available)."""
    memory = available() if memory is None else memory
    if memory is None:
        return
    need, parts = needed(summary, run=run)
    if need > memory:
        hint = ": try a smaller --batch-size" if run and 2 * summary.param_bytes <= memory else ""
        raise RuntimeFailure(
            f"{summary.name} would need at least {human_bytes(need)} of memory in Keras ({parts}); "
            f"{human_bytes(memory)} is available{hint}"
        )
