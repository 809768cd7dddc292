"""Commands that study budgets: compare, blocks, fit and list."""

from __future__ import annotations

import sys
from typing import Any

import click

from archviz.cli.app import cli, one_line
from archviz.cli.options import (
    _parsed,
    analysis_options,
    choice,
    emit,
    format_option,
    keras_file_options,
    model_options,
    optimizer_option,
    output_option,
    parse_shape,
    ranged,
    size_option,
    training,
    training_options,
)
from archviz.studies.blocks import BlockComparison
from archviz.studies.catalog import Catalog
from archviz.studies.compare import SORT_KEYS, Comparison
from archviz.studies.fit import DEFAULT_LIMIT, FAMILIES, OBJECTIVES, FitResult


@cli.command(short_help="Budgets of several models side by side (table, chart, HTML).")
@click.argument("models", nargs=-1, required=True, metavar="MODEL...")
@format_option(
    Comparison,
    help="Table, Markdown, CSV, JSON, a chart (SVG, PNG, PDF) or an HTML page; with -o, the file's extension picks it.",
)
@output_option()
@click.option("--baseline", metavar="MODEL", help="Add ratios of params, MACs and FLOPs against this model.")
@click.option("--sort", type=choice(SORT_KEYS), help="Order the rows by a column.")
@click.option("--by-stage", is_flag=True, help="In the chart: one bar per part (stem, each stage, head).")
@analysis_options
@training_options
@model_options
@keras_file_options
def compare(
    models: tuple[str, ...],
    fmt: str | None,
    output: str | None,
    baseline: str | None,
    sort: str | None,
    by_stage: bool,
    batch_size: int,
    dtype: str,
    **params: Any,
) -> None:
    """Parameter and compute budgets of several models side by side: weighted layers, params,
    MACs, FLOPs, memory, and params and MACs per stage. Options apply to every model; a model
    that fails is named on stderr and the others are still compared.

    \b
    Examples:
      archviz compare resnet18 resnet34 resnet50 resnet101 resnet152
      archviz compare resnet50 resnet50-torchvision resnext50_32x4d --baseline resnet50
      archviz compare resnet20 resnet56 resnet110 plain-56 --sort params --format markdown
      archviz compare resnet18 resnet34 resnet50 -o budgets.svg --by-stage
      archviz compare resnet18 resnet34 resnet50 -o budgets.png
      archviz compare resnet50 wide_resnet50_2 -o compare.html
      archviz compare resnet18 resnet50 --training --optimizer sgd --batch-size 256
    """
    from archviz.api import analyze
    from archviz.errors import UsageError
    from archviz.fileio import check_writable, is_stdout
    from archviz.render.formats import BINARY_FORMATS, pick_format, render
    from archviz.studies.compare import compare as compare_models

    fmt = pick_format(Comparison, fmt, output)
    if fmt in BINARY_FORMATS and (output is None or is_stdout(output)) and sys.stdout.isatty():
        raise UsageError(f"a {fmt.upper()} chart is binary: write it to a file with -o chart.{fmt}")
    if output is not None:
        check_writable(output)
    step = training(params)
    comparison = compare_models(
        list(models),
        baseline=baseline,
        sort=sort,
        batch_size=batch_size,
        dtype=dtype,
        analyze=lambda model: analyze(model, batch_size=batch_size, dtype=dtype, training=step, **params),
    )
    if comparison.ok:
        emit(render(comparison, fmt, by_stage=by_stage), output)
    for entry in comparison.failures:
        message = str(entry.error)
        if not message.startswith(entry.label):  # spec errors already name their file
            message = f"{entry.label}: {message}"
        click.echo(f"archviz: error: {one_line(message)}", err=True)
    if comparison.failures:
        sys.exit(max(entry.error.exit_code for entry in comparison.failures if entry.error is not None))


@cli.command(short_help="Basic block versus bottleneck, conv by conv.")
@format_option(BlockComparison)
@output_option()
@click.option(
    "--channels", **ranged("channels"), default=256, show_default=True, help="Input and output width C of every block."
)
@click.option(
    "--bottleneck-channels", **ranged("channels"), default=None, help="Inner width of the bottleneck [default: C/4]."
)
@click.option(
    "--spatial", **ranged("spatial"), default=56, show_default=True, help="Height and width of the input, for MACs."
)
@click.option(
    "--groups",
    **ranged("groups"),
    default=None,
    help="Groups of the ResNeXt bottleneck's 3x3 conv [default: 32, where the width allows].",
)
@click.option(
    "--width-per-group",
    **ranged("width_per_group"),
    default=None,
    help="Width per group of the ResNeXt bottleneck, per 64 inner channels [default: 4].",
)
def blocks(
    fmt: str | None,
    output: str | None,
    channels: int,
    bottleneck_channels: int | None,
    spatial: int,
    groups: int | None,
    width_per_group: int | None,
) -> None:
    """Why a bottleneck is cheap: a basic block (two 3x3 convs, C to C) against a bottleneck
    (1x1 C to C/4, 3x3, 1x1 C/4 to C) at the same width, conv by conv, with the ResNeXt
    grouped bottleneck and the pre-activation blocks: 1,179,648 against 69,632 weights at 256.

    \b
    Examples:
      archviz blocks
      archviz blocks --channels 512 --spatial 28
      archviz blocks --channels 1024 --bottleneck-channels 128 --format json
    """
    from archviz.render.formats import pick_format, render
    from archviz.studies.blocks import compare as compare_blocks

    fmt = pick_format(BlockComparison, fmt, output)
    comparison = compare_blocks(channels, bottleneck_channels, spatial, groups=groups, width_per_group=width_per_group)
    emit(render(comparison, fmt), output)


def _budget(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    from archviz.units import parse_count

    return _parsed(lambda text: parse_count(text, param.opts[0]))(ctx, param, value)


@cli.command(short_help="Variants that fit a params / MACs budget, ranked by an objective.")
@click.option(
    "--max-params", required=True, callback=_budget, metavar="N", help="Parameter budget: 5M, 2.5e6, 800k, 11689512."
)
@click.option("--max-macs", callback=_budget, metavar="N", help="MAC budget: 1G, 500M, ...")
@click.option(
    "--family",
    type=choice(tuple(FAMILIES)),
    default="resnet",
    show_default=True,
    help="The design space: ImageNet ResNets, CIFAR ResNets, ResNeXt, or wide ResNets.",
)
@click.option(
    "--objective",
    type=choice(tuple(OBJECTIVES)),
    default="params",
    show_default=True,
    help="How to rank the variants within budget: "
    + "; ".join(f"{o.name}: {o.help}" for o in OBJECTIVES.values())
    + ".",
)
@click.option(
    "--input-shape", callback=_parsed(parse_shape), metavar="H,W,C", help="Input size [default: the family's]."
)
@click.option("--classes", **ranged("classes"), help="Output classes [default: the family's].")
@click.option(
    "--limit",
    **ranged("limit"),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="Show this many variants, the best first (0: all).",
)
@size_option("--max-train-memory", "Training memory budget: a training step at --batch-size fits in SIZE (24GiB).")
@analysis_options
@optimizer_option
@format_option(FitResult)
@output_option()
def fit(
    max_params: int,
    max_macs: int | None,
    family: str,
    objective: str,
    input_shape: Any,
    classes: int | None,
    limit: int,
    max_train_memory: int | None,
    batch_size: int,
    dtype: str,
    optimizer: str | None,
    fmt: str | None,
    output: str | None,
) -> None:
    """The ResNet variants that fit a budget: the design space of a family (blocks per stage,
    width multiplier, block type, groups) searched without building any model, the variants
    within budget ranked by --objective and listed with the command that builds each.

    \b
    Examples:
      archviz fit --max-params 5M
      archviz fit --max-params 5M --max-macs 1G --objective front
      archviz fit --max-params 1M --max-macs 150M --family cifar
      archviz fit --max-params 25M --max-macs 4G --family resnext --format json
      archviz fit --max-params 2M --family cifar --input-shape 64,64,3 --classes 200
      archviz fit --max-params 30M --max-train-memory 16GiB --batch-size 128 --optimizer sgd
    """
    from archviz.errors import UsageError
    from archviz.render.formats import pick_format, render
    from archviz.studies.fit import TrainBudget
    from archviz.studies.fit import fit as search

    fmt = pick_format(FitResult, fmt, output)
    if max_train_memory is None and optimizer is not None:
        raise UsageError(
            "--optimizer applies to a training memory budget, which fit shows only with one: give "
            "--max-train-memory SIZE"
        )
    budget = None
    if max_train_memory is not None:
        budget = TrainBudget(max_train_memory, batch_size, optimizer or "adam", dtype)
    result = search(
        training=budget,
        max_params=max_params,
        max_macs=max_macs,
        family=family,
        objective=objective.lower(),
        input_shape=input_shape,
        classes=classes,
    )
    emit(render(result, fmt, limit=limit), output)


@cli.command(name="list", short_help="The presets, with family, params and MACs.")
@click.argument("pattern", default="*")
@format_option(Catalog)
@output_option()
def list_(pattern: str, fmt: str | None, output: str | None) -> None:
    """The presets, with family, parameters and MACs. PATTERN is a glob on names or families.

    \b
    Examples:
      archviz list
      archviz list 'resnet*-keras'
      archviz list cifar --format json
    """
    from archviz.render.formats import pick_format, render
    from archviz.studies.catalog import catalog

    fmt = pick_format(Catalog, fmt, output)
    emit(render(catalog(pattern), fmt), output)
