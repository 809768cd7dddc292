"""The jinja2 environment of every HTML and SVG archviz writes: templates shipped in the package
(``archviz.templates``, the top-level ``templates/`` folder), autoescape always on."""

from __future__ import annotations

import functools
import re
from typing import Any

from markupsafe import Markup

from archviz.render.tables import visible
from archviz.units import human, human_bytes


def inline_markdown(text: str) -> Any:
    """``**bold**`` and ```code``` of archviz's own Markdown sentences as HTML, everything else escaped."""
    from markupsafe import Markup, escape

    html = str(escape(text))
    html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html)
    return Markup(re.sub(r"`(.+?)`", r"<code>\1</code>", html))


@functools.lru_cache(maxsize=1)
def environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("archviz.templates", "."),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(human=human, human_bytes=human_bytes)
    # every text a template writes is visible (no control or bidi characters); markup (the SVG) is as made
    env.finalize = lambda value: value if isinstance(value, Markup) or not isinstance(value, str) else visible(value)
    env.filters["exact"] = lambda value: "n/c" if value is None else f"{value:,}"
    env.filters["inline_markdown"] = inline_markdown
    return env


def render_template(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)
