"""Plain tables in three dialects: aligned text for terminals, Markdown and CSV."""

from __future__ import annotations

import re
from collections.abc import Sequence, Set

from archviz.limits import visible

#: The characters Markdown may read as inline markup (escapes, code spans, emphasis, strikethrough,
#: links and images, HTML, entities, table cells) or that GitHub's extended autolinks need
#: (``user@host``): each is written after a backslash, so a name is always text and shows as itself.
#: Parentheses stay as they are: a link or image needs ``](`` and every ``]`` is escaped. Block markup
#: (``#``, ``>``, ``-``) needs the start of a line, where archviz writes its own markup.
_MARKDOWN = frozenset("\\`*_~[]<>|&@")
#: The other autolinks GitHub makes, ``https://...`` and ``www.``: the colon or the dot is escaped
#: (CommonMark escapes any ASCII punctuation), which breaks the run the autolink needs.
_AUTOLINK = re.compile(r"(?i):(?=//)|(?<=(?<![a-z0-9])www)\.")


def markdown_text(text: object) -> str:
    """``text`` as Markdown text: :func:`visible`, then every character Markdown could read as markup
    backslash-escaped (CommonMark's escapes), so no link, autolink, image, HTML tag, entity or code span
    can form."""
    escaped = "".join("\\" + ch if ch in _MARKDOWN else ch for ch in visible(str(text)))
    return _AUTOLINK.sub(lambda match: "\\" + match.group(), escaped)


def _csv_cell(value: object) -> object:
    """A cell for a spreadsheet: visible (so never a tab or carriage return either), and never a formula
    (a leading ``= + - @``, after any spaces, is quoted), headers and body alike."""
    if not isinstance(value, str):
        return value
    text = visible(value)
    return "'" + text if text.lstrip(" ")[:1] in ("=", "+", "-", "@") else text


def text_table(header: Sequence[str], body: Sequence[Sequence[str]], right: Set[int] = frozenset()) -> list[str]:
    """Aligned columns with a rule above and below the header and below the body."""
    header = [visible(cell) for cell in header]
    body = [[visible(cell) for cell in line] for line in body]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]

    def fmt(line: Sequence[str]) -> str:
        cells = [str(c).rjust(widths[i]) if i in right else str(c).ljust(widths[i]) for i, c in enumerate(line)]
        return "  ".join(cells).rstrip()

    lines = [fmt(line) for line in body]
    rule = "-" * max(len(line) for line in [fmt(header), *lines])
    return [rule, fmt(header), rule, *lines, rule]


def _md(cell: object) -> str:
    return markdown_text(str(cell)).strip()  # after visible(): a name's own \r or \n is shown, not trimmed


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]], right: Set[int] = frozenset()) -> list[str]:
    lines = [
        "| " + " | ".join(_md(c) for c in header) + " |",
        "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|",
    ]
    return lines + ["| " + " | ".join(_md(c) for c in line) + " |" for line in body]


def csv_table(header: Sequence[str], body: Sequence[Sequence[object]]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([_csv_cell(cell) for cell in header])
    writer.writerows([_csv_cell(cell) for cell in line] for line in body)
    return buffer.getvalue()
