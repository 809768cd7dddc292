"""The ``archviz`` command: thin click commands over the library.

Exit codes: 0 success, 1 runtime failure (a file that cannot be read or written, a missing
program), 2 usage error (unknown model, bad option, invalid spec). Errors are one line on
stderr: ``archviz: error: ...``. The group is :mod:`archviz.cli.app`; the commands live in
:mod:`archviz.cli.model_commands` (one model at a time) and :mod:`archviz.cli.study_commands` (budgets); their
shared options in :mod:`archviz.cli.options`. A command's module is imported when
the command runs, so start-up costs only what that command needs.
"""

from __future__ import annotations

from archviz.cli.app import cli


def main() -> None:  # the console script
    from archviz.backend import isolate_keras_home

    isolate_keras_home()  # the command writes nothing outside -o, Keras's keras.json included
    cli.main(prog_name="archviz")


__all__ = ["cli", "main"]
