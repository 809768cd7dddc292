"""Readable numbers for people, exact numbers for machines, and parsing of user-written sizes."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from archviz.errors import SpecError
from archviz.limits import MAX_BUDGET, RANGES, short

if TYPE_CHECKING:
    from decimal import Decimal

_SUFFIXES = [(10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")]
#: Counts from here on are written with an exponent (``1.23e+21``): a suffix past T would be unread,
#: and a float cannot hold every integer a product of shapes gives (2**63 per dimension, 64 dimensions).
_EXPONENT_FROM = 10**18
_PARSE = {"": 1, "k": 10**3, "K": 10**3, "m": 10**6, "M": 10**6, "g": 10**9, "G": 10**9, "t": 10**12, "T": 10**12}


@lru_cache(maxsize=4096, typed=True)  # a table repeats few numbers (resnet152's 1,545 cells hold 46)
def human(value: int | float | None, digits: int = 3) -> str:
    """``25636712`` -> ``25.6 M``; three significant digits; small numbers stay exact."""
    if value is None:
        return "n/c"
    magnitude = abs(value)
    if magnitude < 1000:
        return f"{value:,}" if isinstance(value, int) else f"{value:.{digits}g}"
    if magnitude >= _EXPONENT_FROM and (isinstance(value, int) or math.isfinite(value)):
        return _exponent(value, digits)
    for scale, suffix in _SUFFIXES:
        if magnitude >= scale:
            scaled = value / scale
            decimals = max(0, digits - len(str(int(magnitude / scale))))
            return f"{scaled:.{decimals}f} {suffix}"
    return str(value)  # pragma: no cover


def _exponent(value: int | float | Decimal, digits: int) -> str:
    """Any number, however large, with ``digits`` significant digits (Decimal never overflows)."""
    from decimal import Decimal

    return f"{Decimal(value):.{digits - 1}e}"


def human_bytes(value: int) -> str:
    """Binary units: ``102760448`` -> ``98.0 MiB``; past a million TiB, TiB with an exponent."""
    if value >= 2**40 * 10**6:
        from decimal import Decimal

        return f"{_exponent(Decimal(value) / 2**40, 3)} TiB"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"  # pragma: no cover


def exact(value: int | None) -> str:
    return "n/c" if value is None else f"{value:,}"


def parse_count(text: str, what: str = "value") -> int:
    """``5M``, ``2.5e6``, ``1G``, ``800k`` -> an integer; anything else is an error naming ``what``."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtT]?)\s*", str(text))
    if not match:
        raise SpecError(
            f"{what} must be a number with an optional k, M, G or T suffix (like 5M or 2.5e6); got {short(text)}"
        )
    value = float(match.group(1)) * _PARSE[match.group(2)]
    count = round(value) if math.isfinite(value) else None
    if count is None or RANGES["budget"].problem(count):
        raise SpecError(f"{what} must be a count from 1 to {human(MAX_BUDGET)} (like 5M or 2.5e6); got {short(text)}")
    return count


def parse_dims(text: str) -> tuple[int, ...]:
    """An input size as given, channels last: ``16,3`` (L, C of a 1D input), ``32,32,3``, ``8,32,32,3``
    (D, H, W, C), or ``224``; each checked. :func:`parse_shape` reads the 1 and 2 value forms of an image."""
    parts = [p for p in re.split(r"[,xX ]+", str(text).strip().strip("()[]")) if p]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise SpecError(f"input shape must be integers like 224,224,3; got {short(text)}") from None
    if not 1 <= len(values) <= 4:
        raise SpecError(f"input shape must be 1 to 4 sizes (L,C; H,W,C; D,H,W,C); got {short(text)}")
    names = {3: ("height", "width", "channels"), 4: ("depth", "height", "width", "channels")}.get(len(values))
    for index, value in enumerate(values):
        what = names[index] if names else "size"
        problem = RANGES["channels" if what == "channels" else "spatial"].problem(value)
        if problem:
            raise SpecError(f"input shape {what} {problem}")
    return values


def parse_shape(text: str) -> tuple[int, int, int]:
    """``32,32,3``, ``32x32x3`` or ``224`` (square RGB) -> (height, width, channels)."""
    parts = [p for p in re.split(r"[,xX ]+", str(text).strip().strip("()[]")) if p]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise SpecError(f"input shape must be integers like 224,224,3; got {short(text)}") from None
    if len(values) == 1:
        values = [values[0], values[0], 3]
    elif len(values) == 2:
        values = [values[0], values[1], 3]
    if len(values) != 3:
        raise SpecError(f"input shape must be HEIGHT,WIDTH,CHANNELS; got {short(text)}")
    for kind, value, what in (
        ("spatial", values[0], "height"),
        ("spatial", values[1], "width"),
        ("channels", values[2], "channels"),
    ):
        problem = RANGES[kind].problem(value)
        if problem:
            raise SpecError(f"input shape {what} {problem}")
    return values[0], values[1], values[2]


#: Byte units a size may be written in: binary (KiB, MiB, GiB, TiB) and decimal (kB, MB, GB, TB).
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
}
#: The largest size a user may give: a million TiB.
MAX_SIZE = 2**40 * 10**6


def parse_size(text: str, what: str = "size") -> int:
    """``24GiB``, ``24 GB``, ``512MiB``, ``1.5e9`` -> bytes (GiB 2**30, GB 10**9); anything else, a size
    of zero or less or past :data:`MAX_SIZE` is an error naming ``what``.

    >>> parse_size("24GiB"), parse_size("24GB"), parse_size("1.5 MiB")
    (25769803776, 24000000000, 1572864)
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _SIZE_UNITS:
        raise SpecError(
            f"{what} must be a number of bytes with an optional unit, like 24GiB, 16GB or 512MiB (B, KiB, MiB, "
            f"GiB, TiB, kB, MB, GB, TB); got {short(text)}"
        )
    value = float(match.group(1)) * _SIZE_UNITS[unit]
    size = int(value) if math.isfinite(value) else 0
    if not 1 <= size <= MAX_SIZE:
        raise SpecError(f"{what} must be a size from 1 B to a million TiB; got {short(text)}")
    return size


def check_size(value: object, what: str = "size") -> int:
    """A size given as bytes (an int) or as text (:func:`parse_size`), checked against the same range in
    both cases; anything else is an error naming ``what``.

    >>> check_size(1024), check_size("1KiB")
    (1024, 1024)
    """
    if isinstance(value, str):
        return parse_size(value, what)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{what} must be a number of bytes or a size such as 24GiB; got {short(value)}")
    if not 1 <= value <= MAX_SIZE:
        raise SpecError(f"{what} must be a size from 1 B to a million TiB; got {short(value)}")
    return value
