"""The range of every number a user can give, in one place.

The command line's option callbacks, spec files and the Python API all check their numbers
here, so ``--width-multiplier nan`` and ``width_multiplier = nan`` in a spec fail with the same
line. Numbers are refused when they are not finite, when an integer is expected and the value
is not one, when a boolean stands where a number goes, and outside the stated range. The
limits keep every command linear and quick: a network has at most :data:`MAX_BLOCKS` residual
blocks (ResNet-1202 has 600) and at most :data:`MAX_CHANNELS` channels in any layer.

The limits on the structure of what archviz reads bound memory and time, not only bytes: a layer
name has at most :data:`MAX_NAME_PARTS` dotted parts (each part is a level of diagram clusters and
of the report's tree), a tensor at most :data:`MAX_RANK` dimensions (NumPy's own limit) of at most :data:`MAX_DIMENSION`
each, so every count archviz derives has a bounded number of digits and formats; a model
config at most :data:`MAX_CONFIG_VALUES` JSON values (each costs Python about 100 bytes, so 64 MiB
of ``{},`` would cost gigabytes), and a spec line at most :data:`MAX_KEY_PARTS` dotted parts.
"""

from __future__ import annotations

import math
from typing import Any

from archviz.datarecord import RecordTuple
from archviz.errors import SpecError

MAX_BLOCKS = 10_000
MAX_CHANNELS = 65_536
MAX_SPATIAL = 65_536
MAX_BATCH = 1_000_000
MAX_BUDGET = 10**15
#: Dotted parts of a layer name (``layer3.block2.conv1`` has 3); models nested 32 deep need about 35.
MAX_NAME_PARTS = 64
#: Dimensions of a tensor, batch included: NumPy's (and so Keras's) limit.
MAX_RANK = 64
#: The size of one dimension of a tensor: what an int64 shape (TensorFlow's, NumPy's) holds.
MAX_DIMENSION = 2**63 - 1
#: JSON values (objects, arrays, strings, numbers...) in a model config: ResNet-1202's has about 300,000 (4.9 MB).
MAX_CONFIG_VALUES = 2_000_000
#: Dotted parts in one line of a spec file (``[stages.2.block.1]`` has 4).
MAX_KEY_PARTS = 64


class Range(RecordTuple):
    """Numbers from ``low`` to ``high`` (each end open or closed); integers unless ``real``."""

    low: float
    high: float
    real: bool = False
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        number = "{:g}" if self.real else "{:,}"
        low = f"{'>' if self.low_open else '>='} {number.format(self.low)}"
        high = f"{'<' if self.high_open else '<='} {number.format(self.high)}"
        return f"{'a number' if self.real else 'an integer'} {low} and {high}"

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` (``must be ...; got ...``), or None."""
        ok = isinstance(value, (int, float) if self.real else int) and not isinstance(value, bool)
        if ok:
            # An int is finite and compares exactly with the bounds; math.isfinite(10**400) overflows.
            ok = (
                (isinstance(value, int) or math.isfinite(value))
                and (value > self.low if self.low_open else value >= self.low)
                and (value < self.high if self.high_open else value <= self.high)
            )
        return None if ok else f"must be {self.describe()}; got {short(value)}"

    def check(self, what: str, value: Any) -> Any:
        """``value`` if it is in range, else a :class:`SpecError` naming ``what`` and the range."""
        problem = self.problem(value)
        if problem:
            raise SpecError(f"{what} {problem}")
        return value


#: Every user-given number, by the name a spec file or the Python API gives it.
RANGES: dict[str, Range] = {
    "classes": Range(1, 1_000_000),
    "groups": Range(1, 4_096),
    "width_per_group": Range(1, MAX_CHANNELS),
    "width_multiplier": Range(0, 64, real=True, low_open=True),
    "bn_epsilon": Range(0, 1, real=True, low_open=True),
    "dropout": Range(0, 1, real=True, high_open=True),
    "rate": Range(0, 1, real=True, high_open=True),
    "blocks": Range(1, MAX_BLOCKS),
    "width": Range(1, MAX_CHANNELS),
    "channels": Range(1, MAX_CHANNELS),
    "units": Range(1, 10_000_000),
    "expansion": Range(1, 64),
    "stride": Range(1, 64),
    "kernel": Range(1, 64),
    "pool": Range(1, 1_024),
    "spatial": Range(1, MAX_SPATIAL),
    "batch_size": Range(1, MAX_BATCH),
    "steps": Range(1, 1_000_000),
    "warmup": Range(0, 1_000_000),
    "limit": Range(0, 1_000_000),
    "budget": Range(1, MAX_BUDGET),
}


def check(kind: str, value: Any, what: str | None = None) -> Any:
    """``value`` checked against :data:`RANGES` ``[kind]``; the message names ``what`` (or ``kind``)."""
    return RANGES[kind].check(what or kind, value)


def check_bool(what: str, value: Any, *, optional: bool = False) -> Any:
    """Booleans only as booleans: a spec's ``include_top = "no"`` is an error, not true."""
    if isinstance(value, bool) or (optional and value is None):
        return value
    raise SpecError(f"{what} must be true or false; got {short(value)}")


def check_text(what: str, value: Any, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise SpecError(f"{what} must be a string; got {short(value)}")
    if not empty and not value.strip():
        raise SpecError(f"{what} must not be empty")
    return value


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters, for messages about what a user gave."""
    try:
        text = repr(value)
    except ValueError:  # an int of more digits than Python converts to text (sys.int_info.default_max_str_digits)
        text = (
            f"an integer of about {round(value.bit_length() * math.log10(2)):,} digits"
            if isinstance(value, int)
            else "?"
        )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip(text: str, limit: int = 80) -> str:
    """``text`` (a path, say) cut in the middle to at most ``limit`` characters."""
    text = str(text)
    if len(text) <= limit:
        return text
    half = (limit - 1) // 2
    return text[:half] + "…" + text[-half:]


def visible(text: str) -> str:
    """``text`` as it may be shown: control and format characters (a terminal's escape sequences, NUL,
    newlines, bidirectional overrides, lone surrogates) written as escapes (``\\x1b``), never acted on."""
    text = str(text)
    if text.isprintable():  # the common case, at C speed (a report's table can be megabytes)
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
