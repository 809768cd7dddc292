"""Commands on one model: diagram, report, export and bench (summary, the one a start-up waits for, has a
module of its own: :mod:`archviz.cli.summary_command`)."""

from __future__ import annotations

from typing import Any

import click

from archviz.cli.app import cli, note
from archviz.cli.options import (
    analysis_options,
    check_depth,
    choice,
    depth_option,
    emit,
    format_option,
    keras_file_options,
    model_options,
    model_params,
    output_option,
    ranged,
    training,
    training_options,
)
from archviz.render.formats import DIAGRAM_FORMATS, Rankdir


@cli.command(short_help="Draw a model with Graphviz (SVG, PNG, PDF, DOT).")
@click.argument("model")
@output_option(
    required=True,
    help="The file to write; its extension picks the format: .svg, .png, .pdf, .dot "
    "or .gv (- is standard output, with --format).",
)
@click.option(
    "--format",
    "fmt",
    type=choice(DIAGRAM_FORMATS),
    default=None,
    help="Override the format the extension implies.",
)
@depth_option(default="blocks")
@click.option(
    "--rankdir",
    type=choice(Rankdir),
    default="TB",
    show_default=True,
    help="Top to bottom, or left to right.",
)
@click.option("--macs", is_flag=True, help="Show each node's MACs too.")
@click.option("--collapse", is_flag=True, help="Fold runs of identical blocks into one node marked xN.")
@click.option(
    "--full",
    is_flag=True,
    help="Draw the depth asked for even when the picture is too big to read (by default a "
    "diagram longer than 20,000 pt is drawn folded, and a line on stderr says so).",
)
@click.option(
    "--legend/--no-legend",
    default=False,
    show_default=True,
    help="A key of the colours of op families (node labels name their ops either way).",
)
@model_options
@keras_file_options
def diagram(
    model: str,
    output: str,
    fmt: str | None,
    depth: str,
    rankdir: str,
    macs: bool,
    collapse: bool,
    full: bool,
    legend: bool,
    **params: Any,
) -> None:
    """Draw MODEL with Graphviz: one node per stage, per block, or per layer (with blocks and
    stages as clusters), each with its op, key attributes, output shape and params. At block
    depth (the default) a residual block is its convs, as the rows of the paper's Table 1, and
    an add that its shortcut joins.

    A diagram too long to read (over 20,000 pt, 14,400 pt for a PDF) is drawn folded instead
    (identical blocks collapsed, then stages only), with one line on stderr saying so; --full
    draws it as asked.

    \b
    Examples:
      archviz diagram resnet50 -o resnet50.svg
      archviz diagram resnet34 --depth layers --macs -o resnet34.pdf
      archviz diagram resnet152 --collapse --rankdir LR -o resnet152.png
      archviz diagram resnet20 --depth layers -o resnet20.dot
    """
    from archviz.api import analyze
    from archviz.fileio import check_writable
    from archviz.render.diagram import DiagramOptions, format_for
    from archviz.render.diagram_fit import fitted

    kind = format_for(output, fmt)
    check_writable(output)
    result = analyze(model, **params)
    check_depth(result, depth)
    options = DiagramOptions(depth=depth, rankdir=rankdir.upper(), macs=macs, collapse=collapse, legend=legend)
    drawing = fitted(result, kind, options, full=full)
    emit(drawing.data, output, remark=drawing.note)


@cli.command(short_help="Write a self-contained HTML report of a model.")
@click.argument("model")
@output_option(required=True, help="The HTML file to write (- is standard output).")
@depth_option(default="blocks")
@analysis_options
@training_options
@model_options
@keras_file_options
def report(model: str, output: str, depth: str, batch_size: int, dtype: str, **params: Any) -> None:
    """A self-contained HTML report of MODEL: its totals, then its diagram (at --depth first, the
    other depths a click away; click a node to find its row), per-stage budget charts, the
    basic-block-versus-bottleneck arithmetic at the model's own widths (for a model of basic
    blocks or bottlenecks), the layer table as a tree, and the counting conventions that apply.
    No external file, font or script: it works offline and as an attachment.

    \b
    Examples:
      archviz report resnet50 -o resnet50.html
      archviz report resnet152 --depth layers -o resnet152.html
      archviz report resnet20 --shortcut B -o resnet20.html
      archviz report my_model.keras -o my_model.html
    """
    from archviz.api import analyze
    from archviz.fileio import check_suffix, check_writable
    from archviz.render.report import render_report
    from archviz.studies.blocks import stage_comparison

    check_suffix(output, (".html", ".htm"), "a report")
    check_writable(output)
    step = training(params)
    result = analyze(model, batch_size=batch_size, dtype=dtype, training=step, **params)
    check_depth(result, depth)
    emit(render_report(result, stage_comparison(result), depth=depth), output)


@cli.command(short_help="Write a model as a trainable Keras model (.keras) or as ONNX (.onnx).")
@click.argument("model")
@output_option(
    required=True,
    help="The file to write: .keras (or .h5, the legacy format), or .onnx; - is standard output (.keras).",
)
@model_options
def export(model: str, output: str, **params: Any) -> None:
    """Write MODEL as a trainable Keras model (untrained weights) whose layer names are
    archviz's hierarchical names, or, to a .onnx file, as an ONNX model (the onnx package alone, no
    TensorFlow; batch norm kept, nodes named after the layers' paths).

    \b
    Examples:
      archviz export resnet50 -o resnet50.keras
      archviz export resnet20 --shortcut B --classes 100 -o resnet20_cifar100.keras
      archviz export examples/specs/seed004_mini_resnet.toml -o mini_resnet.keras
      archviz export resnet18-torchvision -o resnet18.onnx
    """
    if str(output).lower().endswith(".onnx"):
        from archviz.api import export_onnx

        summary, nodes = export_onnx(model, output, **model_params(params))
        note(f"wrote {output}: {summary.params:,} params, {nodes:,} nodes")
        return
    from archviz.fileio import check_suffix

    check_suffix(output, (".keras", ".h5", ".onnx"), "a model")  # the ONNX writer too, before TensorFlow loads
    from archviz.api import export as export_model

    keras_model = export_model(model, output, announce=note, **model_params(params))
    note(f"wrote {output}: {keras_model.count_params():,} params, {len(keras_model.layers)} layers")


@cli.command(short_help="Time a model's forward pass in TensorFlow.")
@click.argument("model")
@format_option("Benchmark")  # the result type by name: its module is imported when bench runs
@click.option("--batch-size", **ranged("batch_size"), default=32, show_default=True, help="Images per batch.")
@click.option("--steps", **ranged("steps"), default=20, show_default=True, help="Timed forward passes.")
@click.option(
    "--warmup",
    **ranged("warmup"),
    default=3,
    show_default=True,
    help="Untimed forward passes first (graph tracing, caches).",
)
@model_options
@keras_file_options
def bench(model: str, fmt: str | None, batch_size: int, steps: int, warmup: int, **params: Any) -> None:
    """Time MODEL's forward pass in TensorFlow: seconds per batch, images per second, and
    the GFLOP/s achieved against archviz's own FLOP count. Runs on a GPU where TensorFlow
    sees one, else on the CPU.

    \b
    Examples:
      archviz bench resnet50-keras
      archviz bench resnet20 --batch-size 128 --steps 50
      archviz bench my_model.keras --format json
    """
    import sys

    from archviz.backend import require
    from archviz.render.formats import render
    from archviz.studies.bench import check_memory, run_benchmark

    require()
    from archviz.api import CONFIG_OPTIONS, is_keras_file, load_config
    from archviz.sources.keras.files import read_config

    if is_keras_file(model):  # a mistake is one line, before the slow part announces itself
        read_config(model)
    else:
        load_config(model, **{key: params[key] for key in CONFIG_OPTIONS if key in params})
    check_memory(model, batch_size=batch_size, **params)  # too big for this machine: one line, before TensorFlow
    note(f"building {model} in Keras (loading TensorFlow)...")
    bar = click.progressbar(
        length=warmup + steps, label=f"{warmup} warm-up + {steps} timed passes", file=sys.stderr, show_pos=True
    )  # shown from the first pass on
    try:
        result = run_benchmark(
            model, batch_size=batch_size, steps=steps, warmup=warmup, progress=lambda: bar.update(1), **params
        )
    finally:
        bar.render_finish()
    click.echo(render(result, fmt or "table"), nl=False)
