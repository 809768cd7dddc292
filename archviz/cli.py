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


MAX_MESSAGE = 400


def one_line(message: str) -> str:
    """A message as one printable line of at most :data:`MAX_MESSAGE` characters, whatever names it quotes."""
    text = " ".join("".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in part)
                    for part in str(message).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def fail(message: str, code: int) -> None:
    """Exit with ``archviz: error: MESSAGE`` as the one line on stderr."""
    click.echo(f"archviz: error: {one_line(message)}", err=True)
    sys.exit(code)


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
            fail(error.format_message() + hint, 2)
        except click.Abort:
            click.echo("archviz: aborted", err=True)
            sys.exit(1)
        except ArchvizError as error:
            fail(str(error), error.exit_code)
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


def ranged(kind: str) -> dict[str, Any]:
    """The ``type`` and ``callback`` of an option whose range is :data:`archviz.limits.RANGES` ``[kind]``,
    the same check a spec file's field gets."""
    from archviz.limits import RANGES

    limits = RANGES[kind]

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        problem = None if value is None else limits.problem(value)
        if problem:
            raise click.BadParameter(problem)
        return value

    return {"type": float if limits.real else int, "callback": callback}


def _layers(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    from archviz.limits import RANGES, short

    try:
        layers = tuple(int(part) for part in value.replace("x", ",").split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"blocks per stage must be integers like 3,4,6,3; got {short(value)}") from None
    if not layers:
        raise click.BadParameter(f"blocks per stage must be integers like 3,4,6,3; got {short(value)}")
    problem = next(filter(None, (RANGES["blocks"].problem(n) for n in layers)), None)
    if problem:
        raise click.BadParameter(f"blocks per stage {problem}")
    return layers


def model_options(command: Callable) -> Callable:
    """Options that change a zoo model or spec, shared by every command that takes MODEL."""
    options = [
        click.option("--layers", callback=_layers, metavar="N,N,...",
                     help="Blocks per stage, e.g. 3,4,6,3 (the stage count must stay the same)."),
        click.option("--block", type=click.Choice(["basic", "bottleneck"]), help="Residual block type."),
        click.option("--input-shape", callback=_shape, metavar="H,W,C",
                     help="Input size, e.g. 32,32,3 (or 224 for 224,224,3)."),
        click.option("--classes", **ranged("classes"), help="Number of output classes."),
        click.option("--include-top/--no-top", default=None, help="Keep or drop the pooling and classifier head."),
        click.option("--width-multiplier", **ranged("width_multiplier"), metavar="X",
                     help="Scale every stage and stem width."),
        click.option("--groups", **ranged("groups"), help="Groups of the 3x3 bottleneck conv (ResNeXt)."),
        click.option("--width-per-group", **ranged("width_per_group"),
                     help="Width per group (64: ResNet, 128: wide)."),
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


def keras_file_options(command: Callable) -> Callable:
    """How a Keras model file is loaded: safe mode stays on unless the user says otherwise."""
    command = click.option("--custom-objects", type=click.Path(dir_okay=False), default=None, metavar="FILE.py",
                           help="A Python file defining the custom layers a Keras file uses (it is executed).")(command)
    return click.option("--unsafe", is_flag=True, default=False,
                        help="Let Keras run code stored in a model file (Lambda layers). Only for files you trust.")(
        command)


def analysis_options(command: Callable) -> Callable:
    command = click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16", "float64", "int8"]),
                           default="float32", show_default=True, help="Bytes per value for memory totals.")(command)
    return click.option("--batch-size", **ranged("batch_size"), default=1, show_default=True,
                        help="Batch size for MACs, FLOPs and activation memory.")(command)


def format_option(command: Callable) -> Callable:
    return click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="table", show_default=True,
                        help="Readable table, Markdown, or exact CSV / JSON.")(command)


def output_option(command: Callable) -> Callable:
    return click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
                        help="Write to this file (atomically) instead of standard output.")(command)


def depth_option(command: Callable | None = None, *, default: str = "layers") -> Callable:
    def decorate(function: Callable) -> Callable:
        return click.option("--depth", default=default, show_default=True, metavar="N|stages|blocks|layers",
                            help="1 or stages, 2 or blocks, 3 or layers.")(function)

    return decorate(command) if command is not None else decorate


def _config_options(params: dict[str, Any]) -> dict[str, Any]:
    """The model options among a command's parameters; every parameter must be one."""
    from archviz.models import CONFIG_OPTIONS

    options = {key: params.pop(key) for key in CONFIG_OPTIONS if key in params}
    if params:  # a shared option that no code reads would be silently ignored: a bug, not a user error
        raise AssertionError(f"options not passed on: {sorted(params)}")
    return options


def _emit(data: str | bytes, output: str | None) -> None:
    """Write a command's result to standard output (no ``-o``, or ``-o -``) or atomically to a file."""
    from archviz.fileio import STDOUT, is_stdout, write_output

    target = STDOUT if output is None else output
    write_output(target, data)
    if not is_stdout(target):
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

    MODEL is a preset name (see 'archviz list'), a spec file (.toml), or a Keras
    model file (.keras, .h5; reading one needs TensorFlow).

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


@cli.command(short_help="Layer-by-layer shapes, params, MACs and FLOPs, with exact totals.")
@click.argument("model")
@model_options
@keras_file_options
@analysis_options
@depth_option
@format_option
@output_option
def summary(model: str, depth: str, fmt: str, output: str | None, batch_size: int, dtype: str, unsafe: bool,
            custom_objects: str | None, **params: Any) -> None:
    """Every layer's output shape, parameters, MACs and FLOPs, with exact totals.

    For a Keras file, params and shapes come from Keras itself; a layer type with no
    FLOP rule is listed as not counted and the FLOP total is then a lower bound.

    \b
    Examples:
      archviz summary resnet34
      archviz summary resnet50 --depth stages
      archviz summary resnet50-torchvision --input-shape 160,160,3 --format json
      archviz summary resnet20 --shortcut B --batch-size 128
      archviz summary my_model.keras --format json
    """
    from archviz.models import analyze
    from archviz.render.text import render_summary

    result = analyze(model, batch_size=batch_size, dtype=dtype, unsafe=unsafe, custom_objects=custom_objects,
                     **_config_options(params))
    _check_depth(result, depth)
    _emit(render_summary(result, fmt, depth), output)


@cli.command(short_help="Budgets of several models side by side (table, chart, HTML).")
@click.argument("models", nargs=-1, required=True, metavar="MODEL...")
@model_options
@keras_file_options
@analysis_options
@click.option("--baseline", metavar="MODEL", help="Add ratios of params, MACs and FLOPs against this model.")
@click.option("--sort", type=click.Choice(["name", "weighted_layers", "params", "trainable_params", "macs", "flops",
                                           "param_bytes", "activation_bytes"]), help="Order the rows by a column.")
@format_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write a chart (.svg) or a comparison report (.html) instead of the table, or the table "
                   "in --format to any other file.")
@click.option("--by-stage", is_flag=True, help="With -o chart.svg: one bar per stage.")
def compare(models: tuple[str, ...], batch_size: int, dtype: str, baseline: str | None, sort: str | None, fmt: str,
            output: str | None, by_stage: bool, unsafe: bool, custom_objects: str | None, **params: Any) -> None:
    """Parameter and compute budgets of several models side by side: weighted layers, params,
    MACs, FLOPs, memory, and params and MACs per stage. Options apply to every model.

    \b
    Examples:
      archviz compare resnet18 resnet34 resnet50 resnet101 resnet152
      archviz compare resnet50 resnet50-torchvision resnext50_32x4d --baseline resnet50
      archviz compare resnet20 resnet56 resnet110 plain-56 --sort params --format markdown
      archviz compare resnet18 resnet34 resnet50 -o budgets.svg --by-stage
      archviz compare resnet50 wide_resnet50_2 -o compare.html
    """
    from pathlib import Path

    from archviz.compare import compare as compare_models
    from archviz.fileio import check_writable
    from archviz.models import analyze
    from archviz.render.compare import render_chart, render_comparison, render_comparison_html

    if output is not None:
        check_writable(output)
    options = _config_options(params)
    entries = compare_models(list(models), baseline=baseline, sort=sort, analyze=lambda model: analyze(
        model, batch_size=batch_size, dtype=dtype, unsafe=unsafe, custom_objects=custom_objects, **options))
    suffix = Path(output).suffix.lower() if output else ""
    if suffix == ".svg":
        text = render_chart(entries, by_stage=by_stage)
    elif suffix in (".html", ".htm"):
        text = render_comparison_html(entries, batch_size=batch_size, dtype=dtype, baseline=baseline,
                                      by_stage=by_stage)
    else:
        text = render_comparison(entries, fmt)
    if any(entry.ok for entry in entries):
        _emit(text, output)
    failures = [entry for entry in entries if not entry.ok]
    for entry in failures:
        message = str(entry.error)
        if not message.startswith(entry.label):  # spec errors already name their file
            message = f"{entry.label}: {message}"
        click.echo(f"archviz: error: {one_line(message)}", err=True)
    if failures:
        sys.exit(max(entry.error.exit_code for entry in failures))


@cli.command(short_help="Basic block versus bottleneck, conv by conv.")
@click.option("--channels", **ranged("channels"), default=256, show_default=True,
              help="Input and output width C of every block.")
@click.option("--bottleneck-channels", **ranged("channels"), default=None,
              help="Inner width of the bottleneck [default: C/4].")
@click.option("--spatial", **ranged("spatial"), default=56, show_default=True,
              help="Height and width of the input, for MACs.")
@click.option("--groups", **ranged("groups"), default=None,
              help="Groups of the ResNeXt bottleneck's 3x3 conv [default: 32, where the width allows].")
@click.option("--width-per-group", **ranged("width_per_group"), default=None,
              help="Width per group of the ResNeXt bottleneck, per 64 inner channels [default: 4].")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def blocks(channels: int, bottleneck_channels: int | None, spatial: int, groups: int | None,
           width_per_group: int | None, fmt: str) -> None:
    """Why a bottleneck is cheap: a basic block (two 3x3 convs, C to C) against a bottleneck
    (1x1 C to C/4, 3x3, 1x1 C/4 to C) at the same width, conv by conv, with the ResNeXt
    grouped bottleneck and the pre-activation blocks: 1,179,648 against 69,632 weights at 256.

    \b
    Examples:
      archviz blocks
      archviz blocks --channels 512 --spatial 28
      archviz blocks --channels 1024 --bottleneck-channels 128 --format json
    """
    from archviz.blocks import compare as compare_blocks
    from archviz.blocks import render_blocks

    costs = compare_blocks(channels, bottleneck_channels, spatial, groups=groups, width_per_group=width_per_group)
    click.echo(render_blocks(costs, fmt), nl=False)


def _budget(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    from archviz.units import parse_count

    try:
        return parse_count(value, param.opts[0])
    except ArchvizError as error:
        raise click.BadParameter(str(error)) from None


@cli.command(short_help="Variants that fit a params / MACs budget (Pareto front).")
@click.option("--max-params", required=True, callback=_budget, metavar="N",
              help="Parameter budget: 5M, 2.5e6, 800k, 11689512.")
@click.option("--max-macs", callback=_budget, metavar="N", help="MAC budget: 1G, 500M, ...")
@click.option("--family", type=click.Choice(["resnet", "cifar", "resnext", "wide"]), default="resnet",
              show_default=True, help="The design space: ImageNet ResNets, CIFAR ResNets, ResNeXt, or wide ResNets.")
@click.option("--input-shape", callback=_shape, metavar="H,W,C", help="Input size [default: the family's].")
@click.option("--classes", **ranged("classes"), help="Output classes [default: the family's].")
@click.option("--limit", **ranged("limit"), default=15, show_default=True,
              help="Show this many variants of the front, the largest first (0: all).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def fit(max_params: int, max_macs: int | None, family: str, input_shape: Any, classes: int | None, limit: int,
        fmt: str) -> None:
    """The ResNet variants that fit a budget: the design space of a family (blocks per stage,
    width multiplier, block type, groups) searched without building any model, and the Pareto
    front within budget listed with the command that builds each.

    \b
    Examples:
      archviz fit --max-params 5M
      archviz fit --max-params 1M --max-macs 150M --family cifar
      archviz fit --max-params 25M --max-macs 4G --family resnext --format json
      archviz fit --max-params 2M --family cifar --input-shape 64,64,3 --classes 200
    """
    from archviz.fit import fit as search
    from archviz.fit import render_fit

    result = search(max_params=max_params, max_macs=max_macs, family=family, input_shape=input_shape,
                    classes=classes)
    click.echo(render_fit(result, fmt, limit=limit, max_params=max_params, max_macs=max_macs), nl=False)


@cli.command(name="list", short_help="The presets, with family, params and MACs.")
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


@cli.command(short_help="Draw a model with Graphviz (SVG, PNG, PDF, DOT).")
@click.argument("model")
@model_options
@keras_file_options
@depth_option(default="blocks")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="The file to write; its extension picks the format: .svg, .png, .pdf, .dot or .gv.")
@click.option("--format", "fmt", type=click.Choice(["svg", "png", "pdf", "dot"]), default=None,
              help="Override the format the extension implies.")
@click.option("--rankdir", type=click.Choice(["TB", "LR"]), default="TB", show_default=True,
              help="Top to bottom, or left to right.")
@click.option("--macs", is_flag=True, help="Show each node's MACs too.")
@click.option("--collapse", is_flag=True, help="Fold runs of identical blocks into one node marked xN.")
@click.option("--legend/--no-legend", default=True, show_default=True, help="The colour legend of op families.")
def diagram(model: str, depth: str, output: str, fmt: str | None, rankdir: str, macs: bool, collapse: bool,
            legend: bool, unsafe: bool, custom_objects: str | None, **params: Any) -> None:
    """Draw MODEL with Graphviz: one node per stage, per block, or per layer (with blocks and
    stages as clusters), each with its op, key attributes, output shape and params.

    \b
    Examples:
      archviz diagram resnet50 -o resnet50.svg
      archviz diagram resnet34 --depth layers --macs -o resnet34.pdf
      archviz diagram resnet152 --collapse --rankdir LR -o resnet152.png
      archviz diagram resnet20 --depth layers -o resnet20.dot
    """
    from archviz.fileio import check_writable
    from archviz.models import analyze
    from archviz.render.diagram import DiagramOptions, format_for, render

    kind = format_for(output, fmt)
    check_writable(output)
    result = analyze(model, unsafe=unsafe, custom_objects=custom_objects, **_config_options(params))
    _check_depth(result, depth)
    options = DiagramOptions(depth=depth, rankdir=rankdir, macs=macs, collapse=collapse, legend=legend)
    _emit(render(result, kind, options), output)


@cli.command(short_help="Write a self-contained HTML report of a model.")
@click.argument("model")
@model_options
@keras_file_options
@analysis_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="The HTML file to write.")
def report(model: str, output: str, batch_size: int, dtype: str, unsafe: bool, custom_objects: str | None,
           **params: Any) -> None:
    """A self-contained HTML report of MODEL: totals with their conventions, the diagram at
    every depth (click a node to find its row), the layer table as a tree, per-stage budget
    charts, and the basic-block-versus-bottleneck arithmetic at the model's own widths.
    No external file, font or script: it works offline and as an attachment.

    \b
    Examples:
      archviz report resnet50 -o resnet50.html
      archviz report resnet20 --shortcut B -o resnet20.html
      archviz report my_model.keras -o my_model.html
    """
    from pathlib import Path

    from archviz.errors import UsageError
    from archviz.fileio import check_writable, is_stdout
    from archviz.models import analyze
    from archviz.render.report import render_report

    if not is_stdout(output) and Path(output).suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"cannot write a report to {output!r}: the file name must end in .html")
    check_writable(output)
    result = analyze(model, batch_size=batch_size, dtype=dtype, unsafe=unsafe, custom_objects=custom_objects,
                     **_config_options(params))
    _emit(render_report(result), output)


@cli.command(short_help="Write a model as a trainable Keras model (.keras).")
@click.argument("model")
@model_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="The Keras file to write: .keras (or .h5, the legacy format).")
def export(model: str, output: str, **params: Any) -> None:
    """Write MODEL as a trainable Keras model (untrained weights) whose layer names are
    archviz's hierarchical names.

    \b
    Examples:
      archviz export resnet50 -o resnet50.keras
      archviz export resnet20 --shortcut B --classes 100 -o resnet20_cifar100.keras
      archviz export examples/specs/seed004_mini_resnet.toml -o mini_resnet.keras
    """
    from pathlib import Path

    from archviz.errors import UsageError
    from archviz.fileio import atomic_path, check_writable, is_stdout

    suffix = Path(output).suffix.lower()
    if not is_stdout(output) and suffix not in (".keras", ".h5"):
        raise UsageError(f"cannot export to {output!r}: the file name must end in .keras or .h5")
    check_writable(output)
    from archviz.backend import require
    from archviz.models import build_keras, load_config

    require()
    options = _config_options(params)
    load_config(model, **options)  # a usage error before the slow part
    click.echo(f"building {model} in Keras (loading TensorFlow)...", err=True)
    keras_model = build_keras(model, **options)
    from archviz.backend import recursion_limit

    with atomic_path(output, suffix=".keras") as temporary, recursion_limit():
        keras_model.save(temporary)
    click.echo(f"wrote {output}: {keras_model.count_params():,} params, {len(keras_model.layers)} layers", err=True)


@cli.command(short_help="Time a model's forward pass in TensorFlow.")
@click.argument("model")
@model_options
@keras_file_options
@click.option("--batch-size", **ranged("batch_size"), default=32, show_default=True, help="Images per batch.")
@click.option("--steps", **ranged("steps"), default=20, show_default=True, help="Timed forward passes.")
@click.option("--warmup", **ranged("warmup"), default=3, show_default=True,
              help="Untimed forward passes first (graph tracing, caches).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def bench(model: str, batch_size: int, steps: int, warmup: int, fmt: str, unsafe: bool, custom_objects: str | None,
          **params: Any) -> None:
    """Time MODEL's forward pass in TensorFlow: seconds per batch, images per second, and
    the GFLOP/s achieved against archviz's own FLOP count. Runs on a GPU where TensorFlow
    sees one, else on the CPU.

    \b
    Examples:
      archviz bench resnet50-keras
      archviz bench resnet20 --batch-size 128 --steps 50
      archviz bench my_model.keras --format json
    """
    from archviz.backend import require

    require()
    from archviz.backend.bench import render_benchmark, run_benchmark

    click.echo(f"building {model} in Keras (loading TensorFlow)...", err=True)
    result = run_benchmark(model, batch_size=batch_size, steps=steps, warmup=warmup, unsafe=unsafe,
                           custom_objects=custom_objects, progress=True, **_config_options(params))
    click.echo(render_benchmark(result, fmt), nl=False)


def main() -> None:  # the console script
    cli.main(prog_name="archviz")


if __name__ == "__main__":  # pragma: no cover
    main()
