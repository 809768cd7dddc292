"""Renderers: they read a Summary or a study's result and never recompute a number.

Every format goes through one dispatch (:mod:`~archviz.render.formats`): text, Markdown and CSV
tables, JSON, DOT and SVG diagrams (graphviz), charts, and HTML (jinja2, autoescaped). May import:
the shared modules, :mod:`archviz.ops` (families and labels), :mod:`archviz.core`, and anything below
them, :mod:`archviz.studies` (result types) included. Never the CLI.
"""
