"""The one way text reaches DOT.

The ``graphviz`` package writes any string that looks like ``<...>`` unquoted, as an
HTML-like label, so a model or layer name such as ``<a>{URL="javascript:..."} digraph <b>``
handed to it raw would add its own DOT statements to the diagram. Every string archviz gives
the graphviz package therefore goes through :func:`attribute`, which can
only return one of two things:

* a :class:`HtmlLabel`, built by :func:`html_label` from pieces that are each XML-escaped;
* a ``graphviz.escape``-d string, which the package always writes as a quoted DOT string
  (backslashes doubled, never read as HTML).

Characters dot cannot take (NUL and the other control characters, lone surrogates,
non-characters) are drawn as visible escapes (``\\x00``), so any name is drawn, never refused.
Dot refuses a string longer than 16,384 bytes, so each text is cut to :data:`MAX_DRAWN_TEXT`
characters (:func:`drawn`): the full name stays in the tables, the report's layer tree and JSON.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

import graphviz

from archviz.render.tables import visible

_MARKUP = frozenset("&<>\"'[]")
_COLOR = re.compile("#[0-9a-fA-F]{6}")


class HtmlLabel(str):
    """An HTML-like label whose text was escaped by :func:`html_label` (the only producer)."""


def printable(value: str) -> str:
    """``value`` with every character dot or XML cannot carry (or a reader would not see) written as an
    escape: :func:`archviz.render.tables.visible`, the same for every output."""
    return visible(value)


#: The most characters of one text (a name, a caption, a tooltip) a diagram draws. Dot refuses a
#: string over 16,384 bytes, and a node's label holds a few texts of up to 4 bytes a character
#: (5 once a markup character is written as a reference).
MAX_DRAWN_TEXT = 400


def drawn(value: str) -> str:
    """:func:`printable` ``value``, and when that is longer than :data:`MAX_DRAWN_TEXT` its start, an
    ellipsis and 8 hex digits of the whole text's hash: two long names that share a start are drawn
    apart, and a name is drawn the same way every time."""
    text = printable(value)
    if len(text) <= MAX_DRAWN_TEXT:
        return text
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return f"{text[: MAX_DRAWN_TEXT - 9]}…{digest}"


def markup_text(value: str) -> str:
    """Text for the inside of an HTML-like label: drawable, with markup characters and brackets
    written as character references (Graphviz's HTML lexer also trips on a lone ``]``)."""
    return "".join(f"&#{ord(ch)};" if ch in _MARKUP else ch for ch in drawn(value))


def attribute(value: object) -> str:
    """Any attribute value or id for the graphviz package: an :class:`HtmlLabel` as it is,
    anything else as an escaped, always-quoted string."""
    if isinstance(value, HtmlLabel):
        return value
    return graphviz.escape(drawn(str(value)))


def html_label(title: str, subtitle: str, lines: Iterable[str], fill: str, border: str) -> HtmlLabel:
    """A node's label: a rounded table with a bold title, a subtitle and small lines of text.
    ``fill`` and ``border`` are archviz's own colours (``#rrggbb``), never text from a model."""
    if not (_COLOR.fullmatch(fill) and _COLOR.fullmatch(border)):
        raise ValueError(f"not a colour: {fill!r}, {border!r}")
    rows = [f"<TR><TD><B>{markup_text(title) or '&#160;'}</B></TD></TR>"]
    if subtitle:
        rows.append(f'<TR><TD><FONT POINT-SIZE="10">{markup_text(subtitle)}</FONT></TD></TR>')
    for line in lines:
        if line:
            rows.append(f'<TR><TD><FONT POINT-SIZE="9" COLOR="#333333">{markup_text(line)}</FONT></TD></TR>')
    return HtmlLabel(
        f'<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" '
        f'BGCOLOR="{fill}" COLOR="{border}" STYLE="ROUNDED">'
        f"{''.join(rows)}</TABLE>>"
    )


def caption_label(title: str, lines: Iterable[str]) -> HtmlLabel:
    """A caption drawn as a node's label, without a box: its title bold, then its lines, left-aligned."""
    rows = [f'<TR><TD ALIGN="LEFT"><B>{markup_text(title) or "&#160;"}</B></TD></TR>']
    for line in lines:
        if line:
            rows.append(
                f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="9" COLOR="#333333">{markup_text(line)}</FONT></TD></TR>'
            )
    return HtmlLabel(f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{"".join(rows)}</TABLE>>')


def attributes(**values: object) -> dict[str, str]:
    """Every value through :func:`attribute`: the only way attributes reach the graphviz package."""
    return {key: attribute(value) for key, value in values.items()}


def anchor(name: str) -> str:
    """A stable, HTML-safe id for a layer or group name (used by the diagram and the report)."""
    safe = "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in name[:60])
    return f"{safe}_{hashlib.sha1(name.encode('utf-8')).hexdigest()[:6]}"


_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


def dot_id(name: str) -> str:
    """The DOT id of a node: its hierarchical name when that is plain (letters, digits, ``_ . -``),
    else its anchor (also for a name too long to draw). The graphviz package reads ``<...>`` as an HTML
    string and ``a:b`` as a port, so a model's arbitrary names never become ids; labels show them."""
    return name if len(name) <= MAX_DRAWN_TEXT and _PLAIN.fullmatch(name) else f"id_{anchor(name)}"
