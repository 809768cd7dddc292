"""The jinja2 environment of every HTML and SVG archviz writes: templates shipped in the package
(``archviz.templates``, the top-level ``templates/`` folder), autoescape always on."""

from __future__ import annotations

import functools
from typing import Any

from archviz.units import human, human_bytes


@functools.lru_cache(maxsize=1)
def environment() -> Any:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("archviz.templates", "."),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.globals.update(human=human, human_bytes=human_bytes)
    env.filters["exact"] = lambda value: "n/c" if value is None else f"{value:,}"
    return env


def render_template(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)
