"""Jinja2 templates of archviz's HTML reports (shipped inside the package as archviz.templates)."""
