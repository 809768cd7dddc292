"""The ``archviz`` command: thin click commands over the library.

Exit codes: 0 success, 1 runtime failure (a file that cannot be read or written, a missing
program), 2 usage error (unknown model, bad option, invalid spec). Errors are one line on
stderr: ``archviz: error: ...``. The group is :mod:`archviz.cli.app`; the commands live in
:mod:`archviz.cli.summary_command` and :mod:`archviz.cli.model_commands` (one model at a time),
and :mod:`archviz.cli.study_commands` (budgets); their
shared options in :mod:`archviz.cli.options`. A command's module is imported when
the command runs, so start-up costs only what that command needs.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from archviz.cli.version import VERSION

if TYPE_CHECKING:
    from archviz.cli.app import cli


def main() -> None:  # the console script
    if sys.argv[1:] == ["--version"]:  # the one answer that needs no command line parser
        print(VERSION)
        return
    from archviz.backend import isolate_keras_home, pause_collector

    pause_collector()  # until TensorFlow is imported, if it is
    from archviz.cli.app import cli

    isolate_keras_home()  # the command writes nothing outside -o, Keras's keras.json included
    try:
        cli.main(prog_name="archviz")
    finally:
        # The command has written its output: the process exits without the garbage collector walking every
        # object it made (a summary's records, the imported modules), a tenth of a zoo summary's time. The
        # system takes the memory back whole; atexit handlers and the flushing of the streams still run.
        import gc

        gc.freeze()


def __getattr__(name: str) -> Any:
    if name == "cli":  # the click group, imported when asked for (click itself costs most of a start-up)
        from archviz.cli.app import cli

        return cli
    raise AttributeError(f"module 'archviz.cli' has no attribute {name!r}")


__all__ = ["VERSION", "cli", "main"]
