"""The ``archviz`` group and its error contract: every failure is one line on stderr."""

from __future__ import annotations

import sys
from typing import Any

import click

from archviz import __version__
from archviz.cli.version import VERSION
from archviz.errors import ArchvizError
from archviz.render.tables import visible

MAX_MESSAGE = 400

#: Each command and the module that defines it.
COMMAND_MODULES = {
    "summary": "archviz.cli.summary_command",
    **dict.fromkeys(("diagram", "report", "export", "bench"), "archviz.cli.model_commands"),
    **dict.fromkeys(("compare", "blocks", "fit", "list"), "archviz.cli.study_commands"),
}


def one_line(message: str) -> str:
    """A message as one printable line of at most :data:`MAX_MESSAGE` characters, whatever names it quotes."""
    text = " ".join(visible(part) for part in str(message).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def note(message: str) -> None:
    """A line for the user on stderr (progress, what was written): :func:`one_line`, so a name it
    quotes cannot act on the terminal."""
    click.echo(one_line(message), err=True)


def fail(message: str, code: int) -> None:
    """Exit with ``archviz: error: MESSAGE`` as the one line on stderr."""
    click.echo(f"archviz: error: {one_line(message)}", err=True)
    sys.exit(code)


class ArchvizGroup(click.Group):
    """A group whose errors are one line on stderr, for the entry point and CliRunner alike.

    Its commands are registered by the modules of :data:`COMMAND_MODULES`, imported when a command
    is looked up: ``archviz summary`` imports the model commands only, ``archviz --version`` none.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context | None, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            import importlib

            importlib.import_module(COMMAND_MODULES[cmd_name])  # registers its commands on this group
        return self.commands.get(cmd_name)

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:  # type: ignore[override]
        extra.pop("standalone_mode", None)
        from archviz.fileio import discard_stdout, writing_stdout

        try:
            result = super().main(args=args, prog_name=prog_name or "archviz", standalone_mode=False, **extra)
            with writing_stdout():  # what click.echo left buffered fails here, not in Python's exit
                sys.stdout.flush()
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.exceptions.NoArgsIsHelpError as error:  # plain `archviz`: the help, not an error
            try:
                click.echo(error.ctx.get_help())
                sys.stdout.flush()
            except OSError as failed:
                discard_stdout()
                fail(f"cannot write to standard output: {failed.strerror or failed}", 1)
            sys.exit(0)
        except click.UsageError as error:
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx is not None else ""
            fail(error.format_message() + hint, 2)
        except click.Abort:
            click.echo("archviz: aborted", err=True)
            sys.exit(1)
        except ArchvizError as error:
            fail(str(error), error.exit_code)
        except BrokenPipeError:
            discard_stdout()
            sys.exit(1)
        except OSError as error:  # one no handler named: click's echo to a full stdout (--help > /dev/full)
            if _in_echo(error):
                discard_stdout()
                fail(f"cannot write to standard output: {error.strerror or error}", 1)
            fail(f"{error.strerror or error}" + (f": {error.filename}" if error.filename else ""), 1)
        except MemoryError:  # a bound missed: still one line, not a traceback (which may itself fail)
            fail("out of memory: the input needs more memory than this machine has available", 1)
        sys.exit(result if isinstance(result, int) else 0)


def _in_echo(error: BaseException) -> bool:
    """Whether ``error`` was raised writing with :func:`click.echo` (help, usage, a command's lines)."""
    frames = []
    trace = error.__traceback__
    while trace is not None:
        frames.append(trace.tb_frame)
        trace = trace.tb_next
    return any(
        frame.f_code.co_name == "echo" and frame.f_globals.get("__name__") == "click.utils" for frame in frames[-2:]
    )


@click.group(cls=ArchvizGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="archviz", message=VERSION)
def cli() -> None:
    """Understand convolutional networks: where the parameters and compute go.

    MODEL is a preset name (see 'archviz list'), a spec file (.toml), or a Keras
    model file (.keras, .h5; custom layers need TensorFlow).

    \b
    Examples:
      archviz list 'resnet*'
      archviz summary resnet34 --depth blocks
      archviz summary examples/specs/seed004_mini_resnet.toml --format json
      archviz diagram resnet50 -o resnet50.svg
      archviz report resnet50 -o resnet50.html
      archviz compare resnet18 resnet34 resnet50 resnet101 resnet152
      archviz blocks
      archviz fit --max-params 5M --family cifar
      archviz export resnet50-keras -o resnet50.keras
      archviz summary resnet50.keras

    Run 'archviz COMMAND --help' for a command's options and examples.
    """
