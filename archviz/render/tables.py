"""Plain tables in three dialects: aligned text for terminals, Markdown and CSV."""

from __future__ import annotations

import csv
import io
from typing import Sequence


def visible(text: str) -> str:
    """``text`` as it may be shown: control and format characters (a terminal's escape sequences, NUL,
    newlines, bidirectional overrides, lone surrogates) written as escapes (``\\x1b``), never acted on."""
    text = str(text)
    if text.isprintable():  # the common case, at C speed (a report's table can be megabytes)
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _csv_cell(value: object) -> object:
    """A cell for a spreadsheet: visible, and never a formula (a leading ``= + - @`` is quoted)."""
    if not isinstance(value, str):
        return value
    text = visible(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def text_table(header: Sequence[str], body: Sequence[Sequence[str]], right: set[int] = frozenset()) -> list[str]:
    """Aligned columns with a rule above and below the header and below the body."""
    body = [[visible(cell) for cell in line] for line in body]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]

    def fmt(line: Sequence[str]) -> str:
        cells = [str(c).rjust(widths[i]) if i in right else str(c).ljust(widths[i]) for i, c in enumerate(line)]
        return "  ".join(cells).rstrip()

    lines = [fmt(line) for line in body]
    rule = "-" * max(len(line) for line in [fmt(header), *lines])
    return [rule, fmt(header), rule, *lines, rule]


def _md(cell: str) -> str:
    return visible(str(cell).strip()).replace("|", "\\|")


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]], right: set[int] = frozenset()) -> list[str]:
    lines = ["| " + " | ".join(_md(c) for c in header) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    return lines + ["| " + " | ".join(_md(c) for c in line) + " |" for line in body]


def csv_table(header: Sequence[str], body: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_csv_cell(cell) for cell in line] for line in body)
    return buffer.getvalue()
