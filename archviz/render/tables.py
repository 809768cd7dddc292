"""Plain tables in three dialects: aligned text for terminals, Markdown and CSV."""

from __future__ import annotations

import csv
import io
from typing import Sequence


def text_table(header: Sequence[str], body: Sequence[Sequence[str]], right: set[int] = frozenset()) -> list[str]:
    """Aligned columns with a rule above and below the header and below the body."""
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]

    def fmt(line: Sequence[str]) -> str:
        cells = [str(c).rjust(widths[i]) if i in right else str(c).ljust(widths[i]) for i, c in enumerate(line)]
        return "  ".join(cells).rstrip()

    lines = [fmt(line) for line in body]
    rule = "-" * max(len(line) for line in [fmt(header), *lines])
    return [rule, fmt(header), rule, *lines, rule]


def _md(cell: str) -> str:
    return str(cell).strip().replace("|", "\\|")


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]], right: set[int] = frozenset()) -> list[str]:
    lines = ["| " + " | ".join(_md(c) for c in header) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    return lines + ["| " + " | ".join(_md(c) for c in line) + " |" for line in body]


def csv_table(header: Sequence[str], body: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body)
    return buffer.getvalue()
