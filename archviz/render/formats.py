"""One dispatch from a result object and a format name to text (or bytes, for PNG and PDF).

Every study returns a result object with ``to_dict()``; JSON is that record, for every result
alike. The other formats are looked up here, by the result's type. ``view`` options (a
summary's ``depth``, fit's ``limit``) reach both the record and the renderer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Each result type (by class name) and the renderer of each of its formats, as ``module:function``:
#: nothing is imported until a result is rendered, so a command's options cost no renderer's import.
RENDERERS: dict[str, dict[str, str]] = {
    "Summary": {"table": "text:render_table", "markdown": "text:render_markdown", "csv": "text:render_csv"},
    "Comparison": {
        "table": "compare:render_table",
        "markdown": "compare:render_markdown",
        "csv": "compare:render_csv",
        "svg": "compare:render_chart",
        "png": "compare:render_png",
        "pdf": "compare:render_pdf",
        "html": "compare:render_html",
    },
    "Catalog": {"table": "catalog:render_table", "markdown": "catalog:render_markdown", "csv": "catalog:render_csv"},
    "Benchmark": {"table": "bench:render_table"},
    "BlockComparison": {"table": "blocks:render_table"},
    "FitResult": {"table": "fit:render_table"},
}


def renderer(result_type: type, fmt: str) -> Callable[..., str | bytes]:
    """The function that writes a result of ``result_type`` as ``fmt`` (imported now)."""
    import importlib

    module, function = RENDERERS[result_type.__name__][fmt].split(":")
    return getattr(importlib.import_module(f"archviz.render.{module}"), function)


def json_text(data: Any) -> str:
    """JSON as archviz writes it: indented, and never ``NaN`` or ``Infinity``."""
    import json

    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def formats(result_type: type | str) -> tuple[str, ...]:
    """The formats a result of this type (or of the type of this name) can be written in, ``table``
    first, ``json`` last."""
    return (*RENDERERS[result_type if isinstance(result_type, str) else result_type.__name__], "json")


def render(result: Any, fmt: str = "table", **view: Any) -> str | bytes:
    """``result`` in ``fmt``: text, or bytes for the binary formats (:data:`BINARY_FORMATS`)."""
    if fmt == "json":
        return json_text(result.to_dict(**view))
    if fmt not in RENDERERS[type(result).__name__]:
        from archviz.errors import UsageError

        raise UsageError(f"cannot write this as {fmt!r}; choose from {', '.join(formats(type(result)))}")
    return renderer(type(result), fmt)(result, **view)


#: What an output file's extension asks for.
OUTPUT_FORMATS = {
    ".txt": "table",
    ".md": "markdown",
    ".csv": "csv",
    ".json": "json",
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".dot": "dot",
    ".gv": "dot",
}
#: What ``archviz diagram`` writes, and the directions it lays a diagram out in.
DIAGRAM_FORMATS = ("svg", "png", "pdf", "dot")
RANKDIRS = ("TB", "LR", "BT", "RL")
#: The formats rendered as bytes, not text.
BINARY_FORMATS = ("png", "pdf")


def output_format(allowed: tuple[str, ...], fmt: str | None, output: str | None, default: str | None = "table") -> str:
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
        if said is not None and said not in (fmt, "table"):
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
