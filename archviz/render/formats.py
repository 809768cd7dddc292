"""One dispatch from a result object and a format name to text (or bytes, for PNG and PDF).

Every study returns a result object with ``to_dict()``; JSON is that record, for every result
alike. The other formats are looked up here, by the result's type. ``view`` options (a
summary's ``depth``, fit's ``limit``) reach both the record and the renderer.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any


class Format(enum.StrEnum):
    """What archviz writes a result or a diagram as."""

    TABLE = "table"  # aligned text for a terminal
    MARKDOWN = "markdown"
    CSV = "csv"
    JSON = "json"
    SVG = "svg"
    PNG = "png"
    PDF = "pdf"
    HTML = "html"
    DOT = "dot"


class Rankdir(enum.StrEnum):
    """The direction ``archviz diagram`` lays a model out in: top to bottom, left to right, and back."""

    TB = "TB"
    LR = "LR"
    BT = "BT"
    RL = "RL"


#: Each result type (by class name) and the renderer of each of its formats, as ``module:function``:
#: nothing is imported until a result is rendered, so a command's options cost no renderer's import.
RENDERERS: dict[str, dict[Format, str]] = {
    "Summary": {
        Format.TABLE: "text:render_table",
        Format.MARKDOWN: "text:render_markdown",
        Format.CSV: "text:render_csv",
    },
    "Comparison": {
        Format.TABLE: "compare:render_table",
        Format.MARKDOWN: "compare:render_markdown",
        Format.CSV: "compare:render_csv",
        Format.SVG: "compare:render_chart",
        Format.PNG: "compare:render_png",
        Format.PDF: "compare:render_pdf",
        Format.HTML: "compare:render_html",
    },
    "Catalog": {
        Format.TABLE: "catalog:render_table",
        Format.MARKDOWN: "catalog:render_markdown",
        Format.CSV: "catalog:render_csv",
    },
    "Benchmark": {Format.TABLE: "bench:render_table"},
    "BlockComparison": {Format.TABLE: "blocks:render_table"},
    "FitResult": {Format.TABLE: "fit:render_table"},
}


def renderer(result_type: type, fmt: str) -> Callable[..., str | bytes]:
    """The function that writes a result of ``result_type`` as ``fmt`` (imported now)."""
    import importlib

    module, function = RENDERERS[result_type.__name__][Format(fmt)].split(":")
    return getattr(importlib.import_module(f"archviz.render.{module}"), function)


def json_text(data: Any) -> str:
    """JSON as archviz writes it: indented, and never ``NaN`` or ``Infinity``."""
    import json

    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def formats(result_type: type | str) -> tuple[Format, ...]:
    """The formats a result of this type (or of the type of this name) can be written in, ``table``
    first, ``json`` last."""
    return (*RENDERERS[result_type if isinstance(result_type, str) else result_type.__name__], Format.JSON)


def render(result: Any, fmt: str = Format.TABLE, **view: Any) -> str | bytes:
    """``result`` in ``fmt``: text, or bytes for the binary formats (:data:`BINARY_FORMATS`)."""
    if fmt == Format.JSON:
        return json_text(result.to_dict(**view))
    if fmt not in RENDERERS[type(result).__name__]:
        from archviz.errors import UsageError

        raise UsageError(f"cannot write this as {fmt!r}; choose from {', '.join(formats(type(result)))}")
    return renderer(type(result), fmt)(result, **view)


#: What an output file's extension asks for.
OUTPUT_FORMATS: dict[str, Format] = {
    ".txt": Format.TABLE,
    ".md": Format.MARKDOWN,
    ".csv": Format.CSV,
    ".json": Format.JSON,
    ".svg": Format.SVG,
    ".png": Format.PNG,
    ".pdf": Format.PDF,
    ".html": Format.HTML,
    ".htm": Format.HTML,
    ".dot": Format.DOT,
    ".gv": Format.DOT,
}
#: What ``archviz diagram`` writes.
DIAGRAM_FORMATS = (Format.SVG, Format.PNG, Format.PDF, Format.DOT)
#: The directions as words, for testing plain text with ``in`` (Python 3.11's ``"TB" in Rankdir`` is an error).
RANKDIRS = tuple(Rankdir)
#: The formats rendered as bytes, not text.
BINARY_FORMATS = (Format.PNG, Format.PDF)


def output_format(
    allowed: tuple[str, ...], fmt: str | None, output: str | None, default: str | None = Format.TABLE
) -> str:
    """The format to write: ``--format``, else what the output file's extension says, else ``default``.
    When both speak they must agree (``-o chart.png --format csv`` is a mistake, not a CSV named .png);
    a ``.txt`` file takes any text format."""
    from pathlib import Path

    from archviz.errors import UsageError
    from archviz.fileio import is_stdout
    from archviz.limits import clip

    said = None if output is None or is_stdout(output) else OUTPUT_FORMATS.get(Path(output).suffix.lower())
    if fmt:
        fmt = fmt.lower()
        if said is not None and said not in (fmt, Format.TABLE):
            raise UsageError(f"{clip(str(output))} names a {said} file but --format says {fmt}: drop one of them")
        return fmt
    if output is None or is_stdout(output):
        if default is None:
            raise UsageError("writing to standard output: say which format with --format")
        return default
    if said not in allowed:
        extensions = ", ".join(ext for ext, name in OUTPUT_FORMATS.items() if name in allowed)
        raise UsageError(f"cannot tell what to write to {clip(output)}: use a name ending in {extensions}, or --format")
    return said


def pick_format(result_type: type, fmt: str | None, output: str | None) -> str:
    """The format to write a result of ``result_type`` in (see :func:`output_format`)."""
    return output_format(formats(result_type), fmt, output)
