"""The ``archviz`` command: thin click commands over the library.

Exit codes: 0 success, 1 runtime failure (a file that cannot be read or
written, a missing program), 2 usage error (unknown model, bad option, invalid
spec). Errors are one line on stderr: ``archviz: error: ...``.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import click

from archviz import __version__
from archviz.errors import ArchvizError

FORMAT_CHOICES = ("table", "markdown", "csv", "json")


class ArchvizGroup(click.Group):
    """A group whose errors are one line on stderr, for the entry point and CliRunner alike."""

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:  # type: ignore[override]
        extra.pop("standalone_mode", None)
        try:
            result = super().main(args=args, prog_name=prog_name or "archviz", standalone_mode=False, **extra)
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.UsageError as error:
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx is not None else ""
            click.echo(f"archviz: error: {error.format_message()}{hint}", err=True)
            sys.exit(2)
        except click.Abort:
            click.echo("archviz: aborted", err=True)
            sys.exit(1)
        except ArchvizError as error:
            click.echo(f"archviz: error: {error}", err=True)
            sys.exit(error.exit_code)
        except BrokenPipeError:
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


# --------------------------------------------------------------------------
# Shared options, declared once
# --------------------------------------------------------------------------


def _shape(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int, int] | None:
    if value is None:
        return None
    from archviz.units import parse_shape

    try:
        return parse_shape(value)
    except ArchvizError as error:
        raise click.BadParameter(str(error)) from None


def model_options(command: Callable) -> Callable:
    """Options that change a zoo model or spec, shared by every command that takes MODEL."""
    options = [
        click.option("--input-shape", callback=_shape, metavar="H,W,C",
                     help="Input size, e.g. 32,32,3 (or 224 for 224,224,3)."),
        click.option("--classes", type=click.IntRange(min=1), help="Number of output classes."),
        click.option("--include-top/--no-top", default=None, help="Keep or drop the pooling and classifier head."),
        click.option("--width-multiplier", type=click.FloatRange(min=0, min_open=True), metavar="X",
                     help="Scale every stage and stem width."),
        click.option("--groups", type=click.IntRange(min=1), help="Groups of the 3x3 bottleneck conv (ResNeXt)."),
        click.option("--width-per-group", type=click.IntRange(min=1), help="Width per group (64: ResNet, 128: wide)."),
        click.option("--shortcut", type=click.Choice(["A", "B", "C", "none"], case_sensitive=False),
                     help="A: zero-padding identity; B: projection where the shape changes; C: projection on every "
                          "block; none: plain network."),
        click.option("--stride-on", type=click.Choice(["first", "middle"]),
                     help="Which bottleneck conv carries the stride: the first 1x1 (paper) or the 3x3 (v1.5)."),
        click.option("--conv-bias/--no-conv-bias", default=None, help="A bias on every conv, or none."),
        click.option("--stem", type=click.Choice(["imagenet", "cifar", "deep"]),
                     help="imagenet: 7x7/2 + max-pool; cifar: 3x3/1; deep: three 3x3 convs + max-pool."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def analysis_options(command: Callable) -> Callable:
    command = click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16", "float64", "int8"]),
                           default="float32", show_default=True, help="Bytes per value for memory totals.")(command)
    return click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True,
                        help="Batch size for MACs, FLOPs and activation memory.")(command)


def format_option(command: Callable) -> Callable:
    return click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="table", show_default=True,
                        help="Readable table, Markdown, or exact CSV / JSON.")(command)


def output_option(command: Callable) -> Callable:
    return click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
                        help="Write to this file (atomically) instead of standard output.")(command)


def depth_option(command: Callable) -> Callable:
    return click.option("--depth", default="layers", show_default=True, metavar="N|stages|blocks|layers",
                        help="1 or stages, 2 or blocks, 3 or layers.")(command)


def _config_options(params: dict[str, Any]) -> dict[str, Any]:
    from archviz.models import CONFIG_OPTIONS

    return {key: params.pop(key) for key in CONFIG_OPTIONS if key in params}


def _emit(text: str, output: str | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    from archviz.fileio import write_atomic

    write_atomic(output, text)
    click.echo(f"wrote {output}", err=True)


def _check_depth(summary: Any, depth: str) -> None:
    from archviz.summary import resolve_depth

    try:
        resolve_depth(depth, summary.max_depth)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--depth'") from None


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------


@click.group(cls=ArchvizGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="archviz")
def cli() -> None:
    """Understand convolutional networks: where the parameters and compute go.

    MODEL is a preset name (see 'archviz list'), or a spec file (.toml).

    \b
    Examples:
      archviz list 'resnet*'
      archviz summary resnet34 --depth blocks
      archviz summary resnet20 --shortcut B --format json
      archviz summary examples/specs/seed004_mini_resnet.toml
    """


@cli.command()
@click.argument("model")
@model_options
@analysis_options
@depth_option
@format_option
@output_option
def summary(model: str, depth: str, fmt: str, output: str | None, batch_size: int, dtype: str, **params: Any) -> None:
    """Every layer's output shape, parameters, MACs and FLOPs, with exact totals.

    \b
    Examples:
      archviz summary resnet34
      archviz summary resnet50 --depth stages
      archviz summary resnet50-torchvision --input-shape 160,160,3 --format json
      archviz summary resnet20 --shortcut B --batch-size 128
    """
    from archviz.models import analyze
    from archviz.render.text import render_summary

    result = analyze(model, batch_size=batch_size, dtype=dtype, **_config_options(params))
    _check_depth(result, depth)
    _emit(render_summary(result, fmt, depth), output)


@cli.command(name="list")
@click.argument("pattern", default="*")
@format_option
def list_(pattern: str, fmt: str) -> None:
    """The presets, with family, parameters and MACs. PATTERN is a glob on names or families.

    \b
    Examples:
      archviz list
      archviz list 'resnet*-keras'
      archviz list cifar --format json
    """
    from archviz.catalog import catalog, render_catalog

    entries = catalog(pattern)
    if not entries:
        from archviz.errors import UnknownModelError

        raise UnknownModelError(f"no preset matches {pattern!r}; run 'archviz list' to see them all")
    click.echo(render_catalog(entries, fmt), nl=False)


def main() -> None:  # the console script
    cli.main(prog_name="archviz")


if __name__ == "__main__":  # pragma: no cover
    main()
