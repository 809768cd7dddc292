"""Options shared by the commands, each declared once and derived from the library's own words:
model options from :data:`archviz.api.MODEL_OPTIONS`, number ranges from
:data:`archviz.limits.RANGES`, formats from :func:`archviz.render.formats.formats`, dtypes from
:class:`archviz.core.analysis.DType`, depths from :class:`archviz.core.summary.Depth`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import click

from archviz.api import CONFIG_OPTIONS, MODEL_OPTIONS, ModelOption
from archviz.core.analysis import DType
from archviz.core.record import Loader
from archviz.core.summary import Depth
from archviz.errors import ArchvizError, UsageError
from archviz.limits import RANGES, short

Decorator = Callable[[Callable], Callable]


def choice(words: Iterable[str], *, case_sensitive: bool = False) -> click.Choice:
    """A click choice of a vocabulary's words (a StrEnum's values, or plain strings), written as the
    library writes them; click would show and match an enum's member names instead."""
    return click.Choice([str(word) for word in words], case_sensitive=case_sensitive)


def ranged(kind: str) -> dict[str, Any]:
    """The ``type`` and ``callback`` of an option whose range is :data:`archviz.limits.RANGES` ``[kind]``,
    the same check a spec file's field gets."""
    limits = RANGES[kind]

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        problem = None if value is None else limits.problem(value)
        if problem:
            raise click.BadParameter(problem)
        return value

    return {"type": float if limits.real else int, "callback": callback}


def _parsed(parse: Callable[[str], Any]) -> Callable:
    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        try:
            return None if value is None else parse(value)
        except ArchvizError as error:
            raise click.BadParameter(str(error)) from None

    return callback


def parse_layers(value: str) -> tuple[int, ...]:
    from archviz.errors import SpecError

    try:
        layers = tuple(int(part) for part in value.replace("x", ",").split(",") if part.strip())
    except ValueError:
        layers = ()
    if not layers:
        raise SpecError(f"blocks per stage must be integers like 3,4,6,3; got {short(value)}")
    problem = next(filter(None, (RANGES["blocks"].problem(n) for n in layers)), None)
    if problem:
        raise SpecError(f"blocks per stage {problem}")
    return layers


def parse_shape(value: str) -> tuple[int, int, int]:
    from archviz.units import parse_shape as parse

    return parse(value)


def parse_dims(value: str) -> tuple[int, ...]:
    """The sizes as given (1 to 4): a model file's input may have 1 or 3 spatial axes; a zoo model's
    reads them as :func:`parse_shape` does."""
    from archviz.units import parse_dims as parse

    return parse(value)


def _model_option(option: ModelOption) -> Decorator:
    flag = "--" + option.name.replace("_", "-")
    settings: dict[str, Any] = {"help": option.help}
    if option.metavar:
        settings["metavar"] = option.metavar
    if option.negative:
        return click.option(f"{flag}/--{option.negative}", option.name, default=None, **settings)
    if option.choices:
        return click.option(flag, option.name, type=choice(option.choices), **settings)
    if option.range:
        return click.option(flag, option.name, **ranged(option.range), **settings)
    parse = {"layers": parse_layers, "shape": parse_dims}[option.parse or ""]
    return click.option(flag, option.name, callback=_parsed(parse), **settings)


def model_options(command: Callable) -> Callable:
    """The options that change a zoo model or spec, one per :data:`~archviz.api.MODEL_OPTIONS` entry."""
    for option in reversed(MODEL_OPTIONS):
        command = _model_option(option)(command)
    return command


def model_params(params: dict[str, Any]) -> dict[str, Any]:
    """The model options among a command's parameters (``None``: not given)."""
    return {key: params.pop(key) for key in CONFIG_OPTIONS if key in params}


def keras_file_options(command: Callable) -> Callable:
    """How a Keras model file is read: by archviz's config reader where it can (no TensorFlow), else by
    Keras, whose safe mode stays on unless the user says otherwise."""
    command = click.option(
        "--loader",
        type=choice(Loader),
        default=Loader.AUTO,
        show_default=True,
        help=" ".join((Loader.__doc__ or "").split()),
    )(command)
    command = click.option(
        "--custom-objects",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="FILE.py",
        help="A Python file defining the custom layers a Keras file uses (it is executed).",
    )(command)
    return click.option(
        "--unsafe",
        is_flag=True,
        default=False,
        help="Let Keras run code stored in a model file (Lambda layers). Only for files you trust.",
    )(command)


def analysis_options(command: Callable) -> Callable:
    command = click.option(
        "--dtype",
        type=choice(DType, case_sensitive=True),
        default="float32",
        show_default=True,
        help="Bytes per value for memory totals (mixed_float16: float32 weights, float16 activations).",
    )(command)
    return click.option(
        "--batch-size",
        **ranged("batch_size"),
        default=1,
        show_default=True,
        help="Batch size for MACs, FLOPs and activation memory.",
    )(command)


def optimizer_option(command: Callable) -> Callable:
    """``--optimizer``: whose state a training step's memory counts."""
    from archviz.core.optimizer import Optimizer

    return click.option(
        "--optimizer",
        type=choice(Optimizer, case_sensitive=True),
        default=None,
        help="The optimizer whose state is counted (sgd: none, momentum: 1 slot, adam, adamw: 2). [default: adam]",
    )(command)


def size_option(flag: str, help: str) -> Decorator:
    """An option taking a size in bytes (24GiB, 16GB, 512MiB: :func:`archviz.units.parse_size`)."""
    return click.option(flag, callback=_parsed(lambda text: parse_size(text, "the size")), metavar="SIZE", help=help)


def training_options(command: Callable) -> Callable:
    """``--training`` and what it is counted for (the batch size and dtype are :func:`analysis_options`');
    ``--optimizer`` or ``--max-memory`` alone imply it. :func:`training` turns them into the library's
    :class:`~archviz.core.training.Training`."""
    command = size_option(
        "--max-memory", "Find the largest batch whose training step fits in SIZE (24GiB, 16GB, 512MiB)."
    )(command)
    command = optimizer_option(command)
    return click.option(
        "--training",
        is_flag=True,
        default=False,
        help="Add a training step's MACs, FLOPs and memory by part (weights, gradients, optimizer, activations).",
    )(command)


def training(params: dict[str, Any]) -> Any:
    """The :class:`~archviz.core.training.Training` a command's ``--training`` options ask for (popped from
    ``params``), or None."""
    wanted, optimizer, max_memory = params.pop("training"), params.pop("optimizer"), params.pop("max_memory")
    if not (wanted or optimizer or max_memory):
        return None
    from archviz.core.training import Optimizer, Training

    return Training(optimizer=optimizer or Optimizer.ADAM.value, max_memory=max_memory)


def parse_size(text: str, what: str) -> int:
    from archviz.units import parse_size as parse

    return parse(text, what)


def format_option(
    result_type: type | str, help: str = "Readable table or another format; with -o, the file's extension picks it."
) -> Decorator:
    from archviz.render.formats import formats

    return click.option(
        "--format",
        "fmt",
        type=choice(formats(result_type)),
        default=None,
        help=help + " [default: table]",
    )


def output_option(
    *,
    required: bool = False,
    help: str = "Write to this file (atomically) instead of standard output; - is standard output.",
) -> Decorator:
    if required:  # (click ignores required with a default)
        return click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help=help)
    return click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help=help)


def depth_option(default: str = "layers") -> Decorator:
    return click.option(
        "--depth",
        default=default,
        show_default=True,
        metavar="N|" + "|".join(Depth),
        help="1 or stages, 2 or blocks, 3 or layers.",
    )


def emit(data: str | bytes, output: str | None, *, remark: str = "") -> None:
    """Write a command's result to standard output (no ``-o``, or ``-o -``) or atomically to a file;
    ``remark``, a line about what was written, is said once it is written (a failed write says only why)."""
    from archviz.cli.app import note
    from archviz.fileio import STDOUT, is_stdout, write_output

    target = STDOUT if output is None else output
    write_output(target, data)
    if remark:
        note(remark)
    if not is_stdout(target):
        note(f"wrote {output}")


def check_depth(summary: Any, depth: str) -> None:
    from archviz.core.summary import resolve_depth

    try:
        resolve_depth(depth, summary.max_depth)
    except UsageError as error:
        raise click.BadParameter(str(error), param_hint="'--depth'") from None
