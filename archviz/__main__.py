"""``python -m archviz``: the command line."""

from archviz.cli import main

main()
