"""What MODEL means everywhere: a preset name, a spec file, an ONNX file (with the onnx package), or (with
TensorFlow) a Keras model or file.

:func:`analyze` is the public entry point of the library::

    >>> import archviz
    >>> summary = archviz.analyze("resnet50", input_shape=(224, 224, 3))
    >>> summary.params, summary.macs
    (25610152, 3857973248)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archviz.core.analysis import analyze_graph
from archviz.core.graph import Graph
from archviz.core.record import Loader
from archviz.core.summary import Summary
from archviz.datarecord import RecordTuple
from archviz.errors import SpecError, UnknownModelError, UsageError
from archviz.limits import short
from archviz.sources import KERAS_SUFFIXES, ONNX_SUFFIXES, looks_like_onnx
from archviz.sources.zoo import REGISTRY, STEMS, ResNetConfig, build
from archviz.sources.zoo.config import BlockType, Shortcut, StemName, StrideOn
from archviz.units import parse_dims, parse_shape

if TYPE_CHECKING:
    from archviz.core.training import Training

SPEC_SUFFIXES = (".toml",)


class ModelOption(RecordTuple):
    """An option that changes a zoo model or spec: a config field, with how a user writes it.

    The command line derives its options from :data:`MODEL_OPTIONS` (``--width-multiplier``,
    ``--include-top/--no-top``), the Python API takes the same names as keywords.
    """

    name: str
    help: str
    choices: tuple[str, ...] = ()  # the allowed words, from the module that defines them
    range: str | None = None  # a number checked by archviz.limits.RANGES[range]
    parse: str | None = None  # text parsed by archviz.units: "shape" or "layers"
    negative: str | None = None  # a boolean's negative flag, e.g. "no-top"
    metavar: str | None = None


MODEL_OPTIONS: tuple[ModelOption, ...] = (
    ModelOption(
        "layers",
        "Blocks per stage, e.g. 3,4,6,3 (the stage count must stay the same).",
        parse="layers",
        metavar="N,N,...",
    ),
    ModelOption("block", "Residual block type.", choices=tuple(BlockType)),
    ModelOption("input_shape", "Input size, e.g. 32,32,3 (or 224 for 224,224,3).", parse="shape", metavar="H,W,C"),
    ModelOption("classes", "Number of output classes.", range="classes"),
    ModelOption("include_top", "Keep or drop the pooling and classifier head.", negative="no-top"),
    ModelOption("width_multiplier", "Scale every stage and stem width.", range="width_multiplier", metavar="X"),
    ModelOption("groups", "Groups of the 3x3 bottleneck conv (ResNeXt).", range="groups"),
    ModelOption("width_per_group", "Width per group (64: ResNet, 128: wide).", range="width_per_group"),
    ModelOption(
        "shortcut",
        "A: zero-padding identity; B: projection where the shape changes; C: projection on "
        "every block; none: plain network.",
        choices=tuple(Shortcut),
    ),
    ModelOption(
        "stride_on",
        "Which bottleneck conv carries the stride: the first 1x1 (paper) or the 3x3 (v1.5).",
        choices=tuple(StrideOn),
    ),
    ModelOption("conv_bias", "A bias on every conv, or none.", negative="no-conv-bias"),
    ModelOption(
        "stem", "imagenet: 7x7/2 + max-pool; cifar: 3x3/1; deep: three 3x3 convs + max-pool.", choices=tuple(StemName)
    ),
    ModelOption("bn_epsilon", "The epsilon of every batch norm.", range="bn_epsilon", metavar="EPS"),
)

#: The names of the model options, as the Python API takes them.
CONFIG_OPTIONS: tuple[str, ...] = tuple(option.name for option in MODEL_OPTIONS)


def load_config(model: str | Path | ResNetConfig, **options: Any) -> ResNetConfig:
    """Resolve MODEL to a config and apply the options (``None`` values are ignored)."""
    options = {key: value for key, value in options.items() if value is not None}
    unknown = sorted(set(options) - set(CONFIG_OPTIONS))
    if unknown:
        raise UsageError(f"unknown option {unknown[0]!r}; options are {', '.join(CONFIG_OPTIONS)}")
    if isinstance(model, ResNetConfig):
        config = model
    else:
        text = str(model)
        path = Path(text)
        if path.suffix.lower() in SPEC_SUFFIXES:
            from archviz.sources.spec import load_spec

            config = load_spec(path)
        elif path.suffix.lower() in KERAS_SUFFIXES:
            raise UsageError(f"{text} is a Keras model file: it has no zoo config (use archviz.analyze or load_graph)")
        elif path.suffix.lower() in ONNX_SUFFIXES or looks_like_onnx(path):
            raise UsageError(f"{short(text)} is an ONNX model file: it has no zoo config (it is read as it is)")
        elif text in REGISTRY:
            config = REGISTRY.get(text)
        elif _exists(path):
            raise UnknownModelError(
                f"{short(text)}: a file, but not a spec (.toml), a Keras model (.keras, .h5) or an ONNX model (.onnx)"
            )
        else:
            raise UnknownModelError(REGISTRY.unknown_message(text))
    return _apply(config, options)


def _exists(path: Path) -> bool:
    """Whether ``path`` names something on disk; a name the system cannot even look up does not."""
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long for the filesystem, a NUL byte
        return False


def _image_shape(shape: Any) -> tuple[int, ...]:
    """An image's (H, W, C) from text or a tuple; 1 or 2 sizes as :func:`~archviz.units.parse_shape` reads them."""
    if isinstance(shape, str):
        return parse_shape(shape)
    values = tuple(int(v) for v in shape)
    return parse_shape(",".join(map(str, values))) if len(values) in (1, 2) else values


def _apply(config: ResNetConfig, options: dict[str, Any]) -> ResNetConfig:
    changes = dict(options)
    if "input_shape" in changes:
        changes["input_shape"] = _image_shape(changes["input_shape"])
    if "layers" in changes:
        changes["layers"] = tuple(int(v) for v in changes["layers"])
        if len(changes["layers"]) != len(config.layers):
            raise SpecError(
                f"--layers needs {len(config.layers)} stages for {config.name}, got {len(changes['layers'])}"
            )
    if "stem" in changes:
        name = changes["stem"]
        if name not in tuple(StemName):
            raise SpecError(f"stem must be one of {', '.join(StemName)}; got {name!r}")
        # a named stem keeps the flavor's padding and whether it normalizes (pre-activation nets do not)
        changes["stem"] = dataclasses.replace(STEMS[name], padding=config.stem.padding, norm=config.stem.norm)
    if "conv_bias" in changes and isinstance(changes["conv_bias"], bool):
        changes["conv_bias"] = "all" if changes["conv_bias"] else "none"
    if changes.get("shortcut") in ("a", "b", "c"):  # the Python API takes a, b, c as well
        changes["shortcut"] = changes["shortcut"].upper()
    if not changes:
        return config
    changed = config.replace(**changes)
    what = [
        _change_text(key, getattr(changed, key), options.get(key))
        for key in _NAMED_CHANGES
        if key in changes and getattr(changed, key) != getattr(config, key)
    ]
    if not what:
        return changed
    text = ", ".join(what)
    return changed.replace(name=f"{config.name} ({text})", description=f"{config.name} changed: {text}")


#: The options that make a different network, in the order its name lists them. The input shape and
#: the classes are the data a network is applied to: titles show them, the name stays.
_NAMED_CHANGES = (
    "layers",
    "block",
    "width_multiplier",
    "groups",
    "width_per_group",
    "shortcut",
    "stride_on",
    "stem",
    "conv_bias",
    "bn_epsilon",
    "include_top",
)


def _change_text(key: str, value: Any, given: Any) -> str:
    """How a changed option reads in a model's name: ``layers 8,3,3,2``, ``bottleneck``, ``width x0.5``."""
    if key == "layers":
        return "layers " + ",".join(str(v) for v in value)
    if key == "block":
        return str(value)
    if key == "width_multiplier":
        return f"width x{value:g}"
    if key == "groups":
        return f"{value} group" + ("" if value == 1 else "s")
    if key == "width_per_group":
        return f"width per group {value}"
    if key == "shortcut":
        return "no shortcuts" if value == "none" else f"shortcut {value}"
    if key == "stride_on":
        return "stride on the 3x3" if value == "middle" else "stride on the first 1x1"
    if key == "stem":
        return f"{given} stem"
    if key == "conv_bias":
        return {"all": "conv bias", "none": "no conv bias"}.get(value, f"conv bias: {value}")
    if key == "bn_epsilon":
        return f"BN eps {value:g}"
    return "with top" if value else "no top"


def is_keras_model(model: Any) -> bool:
    """True for a Keras model or layer object, decided without importing TensorFlow."""
    return any(cls.__module__.split(".")[0] in ("keras", "tf_keras") for cls in type(model).__mro__)


def is_keras_file(model: Any) -> bool:
    return isinstance(model, (str, Path)) and Path(str(model)).suffix.lower() in KERAS_SUFFIXES


def is_onnx_file(model: Any) -> bool:
    """An ``.onnx`` path, or a file of another name whose first bytes are an ONNX model's."""
    if not isinstance(model, (str, Path)):
        return False
    path = Path(str(model))
    if path.suffix.lower() in ONNX_SUFFIXES:
        return True
    return path.suffix.lower() not in (*KERAS_SUFFIXES, *SPEC_SUFFIXES) and looks_like_onnx(path)


class Resolved(RecordTuple):
    """MODEL resolved: its layer graph, and the Keras model object where one was asked for."""

    graph: Graph
    keras_model: Any = None


def resolve(
    model: Any,
    *,
    unsafe: bool = False,
    custom_objects: str | dict | None = None,
    keras_model: bool = False,
    loader: str = "auto",
    **options: Any,
) -> Resolved:
    """What MODEL means, for every command: a preset name, a spec path, a :class:`ResNetConfig`, a
    graph, a Keras model object (any kind), a Keras file (``.keras``, ``.h5``) or an ONNX file (``.onnx``,
    or any name whose first bytes are an ONNX model's), read without running anything.

    Zoo models and specs take the :data:`MODEL_OPTIONS`; Keras models and ONNX files take only ``input_shape``
    (for a subclassed model that was never built, or a model whose input size is open). A file is
    read as ``loader`` says (:class:`~archviz.core.record.Loader`); Keras loads it with its safe mode on unless
    ``unsafe``; ``custom_objects`` is a dict, or the path of a Python file defining the custom
    layers (it is executed: an explicit choice of the caller). With ``keras_model`` the result
    also holds a Keras model (a zoo model is exported to one, a file is loaded by Keras).
    """
    if loader not in tuple(Loader):
        raise UsageError(f"loader must be one of {', '.join(Loader)}; got {short(str(loader))}")
    if isinstance(model, Graph):
        return Resolved(model, _exported(model) if keras_model else None)
    if loader != "auto" and not is_keras_file(model):
        raise UsageError(f"--loader {loader} applies to Keras model files (.keras, .h5)")
    for name, given in (("unsafe", unsafe), ("custom_objects", custom_objects)):
        if given and not is_keras_file(model):
            flag = "--" + name.replace("_", "-")
            raise UsageError(f"{name} ({flag}) applies to Keras model files (.keras, .h5), not to {short(str(model))}")
    onnx_file = not is_keras_file(model) and is_onnx_file(model)
    if not (is_keras_file(model) or is_keras_model(model) or onnx_file):
        graph = build(load_config(model, **options))
        return Resolved(graph, _exported(graph) if keras_model else None)
    extra = sorted(k for k, v in options.items() if v is not None and k != "input_shape")
    if extra:
        raise UsageError(f"option {extra[0]!r} applies to zoo models and spec files, not to Keras or ONNX models")
    shape = options.get("input_shape")
    if shape is not None and (onnx_file or not (isinstance(shape, str) or is_keras_file(model))):
        # an ONNX file's input may have 1 or 3 spatial axes, a live Keras model's any rank: the sizes as given
        shape = parse_dims(shape) if isinstance(shape, str) else tuple(int(v) for v in shape)
    elif shape is not None:  # the command line's (or a Keras file's) image: 224 or 224,224 is 224x224x3
        shape = _image_shape(shape)
    if onnx_file:
        if keras_model:
            raise UsageError(
                f"{short(str(model))}: an ONNX file cannot be run in Keras (this command builds a Keras model)"
            )
        from archviz.core.hierarchy import recover_structure
        from archviz.sources.onnx import load_onnx

        graph = load_onnx(Path(str(model)), input_shape=shape)
        recover_structure(graph)
        return Resolved(graph)
    if is_keras_file(model):
        from archviz.sources.keras.files import load_file

        graph, keras_object = load_file(
            Path(str(model)),
            input_shape=shape,
            loader=loader,
            unsafe=unsafe,
            custom_objects=custom_objects,
            keras_model=keras_model,
        )
        from archviz.core.hierarchy import recover_structure

        recover_structure(graph)
        return Resolved(graph, keras_object)
    from archviz.backend import require

    require()
    from archviz.backend.keras_import import graph_from_keras

    graph = graph_from_keras(model, input_shape=shape)
    from archviz.core.hierarchy import recover_structure

    recover_structure(graph)
    return Resolved(graph, model if keras_model else None)


def _exported(graph: Graph) -> Any:
    from archviz.backend.keras_export import to_keras

    return to_keras(graph)


def load_graph(model: Any, **options: Any) -> Graph:
    """The layer graph of MODEL (see :func:`resolve` for what MODEL and the options may be)."""
    return resolve(model, **options).graph


def analyze(
    model: Any, *, batch_size: int = 1, dtype: str = "float32", training: Training | None = None, **options: Any
) -> Summary:
    """Summarize MODEL (see :func:`resolve`): the options of the command line (:data:`CONFIG_OPTIONS`:
    ``input_shape``, ``classes``, ``layers``, ``block``, ``width_multiplier``, ...), plus ``batch_size``
    and ``dtype`` for the memory and compute totals. With ``training`` (a :class:`Training`), the summary's
    ``training`` holds a training step's cost at that batch size and dtype::

        >>> import archviz
        >>> step = archviz.analyze("resnet50-keras", batch_size=2, training=archviz.Training("sgd")).training
        >>> step.macs
        22911811584
    """
    if training is not None:  # the training walk is imported only when a step's cost is asked for
        from archviz.core.training import Training, training_cost

        if not isinstance(training, Training):
            raise UsageError(f"training must be a Training(optimizer=..., max_memory=...), not {short(repr(training))}")
    summary = analyze_graph(load_graph(model, **options), batch_size=batch_size, dtype=dtype)
    if training is not None:
        if summary.size_open:
            raise UsageError("a training step's cost needs the input size: pass --input-shape H,W,C")
        summary.training = training_cost(summary, training)
    return summary


def build_keras(model: Any, **options: Any) -> Any:
    """A trainable ``keras.Model`` (untrained weights) of a preset, spec or config.

    >>> model = archviz.build_keras("examples/specs/seed004_mini_resnet.toml")  # doctest: +SKIP
    >>> base = archviz.build_keras("resnet50-keras", include_top=False, input_shape=(160, 160, 3))  # doctest: +SKIP
    """
    return _exported(build(load_config(model, **options)))


def export_onnx(model: Any, output: str | Path, **options: Any) -> tuple[Summary, int]:
    """Write MODEL (a preset, spec or config, with the model options) as an ONNX file with untrained
    weights, atomically (``-`` is standard output), with the onnx package alone; returns the model's
    summary and the file's node count."""
    from archviz.fileio import atomic_path, check_suffix, check_writable

    check_suffix(output, ONNX_SUFFIXES, "an ONNX model")
    check_writable(output)
    config = load_config(model, **options)
    from archviz.sources.onnx.onnx_files import require_onnx

    onnx = require_onnx("exporting to ONNX")
    graph = build(config)
    summary = analyze_graph(graph)
    from archviz.core.memory import check_fits

    check_fits(summary, run=False)  # its weights are written: a model too big for this machine is refused first
    from archviz.sources.onnx.onnx_writer import to_onnx

    written = to_onnx(graph)
    with atomic_path(output, suffix=".onnx") as temporary:
        onnx.save(written, str(temporary))
    return summary, len(written.graph.node)


def export(model: Any, output: str | Path, *, announce: Callable[[str], None] | None = None, **options: Any) -> Any:
    """Write MODEL (a preset, spec or config, with the model options) as a trainable ``.keras`` or
    legacy ``.h5`` file, atomically (``-`` is standard output); returns the ``keras.Model``.
    ``announce`` hears about the slow part before it starts."""
    from archviz.fileio import atomic_path, check_suffix, check_writable

    check_suffix(output, (".keras", ".h5"), "a Keras model")
    check_writable(output)
    from archviz.backend import recursion_limit, require

    require()
    config = load_config(model, **options)  # a usage error before the slow part
    graph = build(config)
    from archviz.core.analysis import analyze_graph
    from archviz.core.memory import check_fits

    check_fits(analyze_graph(graph), run=False)  # a model too big for this machine, before TensorFlow loads
    if announce is not None:
        announce(f"building {config.name} in Keras (loading TensorFlow)...")
    from archviz.backend import out_of_memory

    with out_of_memory(f"building {config.name} in Keras"):
        keras_model = _exported(graph)
    with atomic_path(output, suffix=".keras") as temporary, recursion_limit(), out_of_memory(f"saving {output}"):
        keras_model.save(temporary)
    return keras_model
