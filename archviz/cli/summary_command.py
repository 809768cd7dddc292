"""``archviz summary``, in a module of its own: it is the command whose start-up matters most, and a
module's commands are all declared when one of them runs."""

from __future__ import annotations

from typing import Any

import click

from archviz.cli.app import cli
from archviz.cli.options import (
    analysis_options,
    check_depth,
    depth_option,
    emit,
    format_option,
    keras_file_options,
    model_options,
    output_option,
    training,
    training_options,
)
from archviz.core.summary import Summary


@cli.command(short_help="Layer-by-layer shapes, params, MACs and FLOPs, with exact totals.")
@click.argument("model")
@depth_option()
@format_option(Summary)
@output_option()
@analysis_options
@training_options
@model_options
@keras_file_options
def summary(
    model: str, depth: str, fmt: str | None, output: str | None, batch_size: int, dtype: str, **params: Any
) -> None:
    """Every layer's output shape, parameters, MACs and FLOPs, with exact totals.

    MODEL is a preset, a spec file, a Keras file (.keras, .h5) or an ONNX file (.onnx).
    A Keras file is read without TensorFlow (--loader auto or config): shapes from
    archviz's rules, params from the file's weights. Where the file has a layer class
    archviz does not know, auto loads it with Keras, whose params and shapes are then
    kept; a layer type with no FLOP rule is listed as not counted and the FLOP total
    is then a lower bound. An ONNX file is read with the onnx package alone (pip
    install 'archviz[onnx]'): params from its initializers, shapes from ONNX's shape
    inference, its NCHW tensors shown as HxWxC; --input-shape sizes an open input
    (channels last: L,C for 1D, H,W,C, D,H,W,C for 3D).

    \b
    Examples:
      archviz summary resnet34
      archviz summary resnet50 --depth stages
      archviz summary resnet50-torchvision --input-shape 160,160,3 --format json
      archviz summary resnet20 --shortcut B --batch-size 128
      archviz summary resnet50 --training --optimizer adam --batch-size 64 --max-memory 24GiB
      archviz summary my_model.keras --format json
      archviz summary resnet50.onnx --depth stages
    """
    from archviz.api import analyze
    from archviz.render.formats import pick_format, render

    fmt = pick_format(Summary, fmt, output)
    step = training(params)
    result = analyze(model, batch_size=batch_size, dtype=dtype, training=step, **params)
    check_depth(result, depth)
    emit(render(result, fmt, depth=depth), output)
