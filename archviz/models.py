"""What MODEL means everywhere: a preset name, a spec file, or (with TensorFlow) a Keras model or file.

:func:`analyze` is the public entry point of the library::

    >>> import archviz
    >>> summary = archviz.analyze("resnet50", input_shape=(224, 224, 3))
    >>> summary.params, summary.macs
    (25610152, 3857973248)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from archviz.analysis import analyze_graph
from archviz.errors import SpecError, UnknownModelError, UsageError
from archviz.graph import Graph
from archviz.limits import short
from archviz.summary import Summary
from archviz.units import parse_shape
from archviz.zoo import REGISTRY, STEMS, ResNetConfig, build

SPEC_SUFFIXES = (".toml",)
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")

#: Options every command accepts for a zoo model or spec, mapped to config fields.
CONFIG_OPTIONS = ("input_shape", "classes", "include_top", "layers", "block", "width_multiplier", "groups",
                  "width_per_group", "shortcut", "stride_on", "conv_bias", "stem", "bn_epsilon")


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
            from archviz.spec import load_spec

            config = load_spec(path)
        elif path.suffix.lower() in KERAS_SUFFIXES:
            raise UsageError(f"{text} is a Keras model file: it has no zoo config (use archviz.analyze or load_graph)")
        elif text in REGISTRY:
            config = REGISTRY.get(text)
        elif _exists(path):
            raise UnknownModelError(f"{short(text)}: a file, but not a spec (.toml) or a Keras model (.keras, .h5)")
        else:
            raise UnknownModelError(REGISTRY.unknown_message(text))
    return _apply(config, options)


def _exists(path: Path) -> bool:
    """Whether ``path`` names something on disk; a name the system cannot even look up does not."""
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long for the filesystem, a NUL byte
        return False


def _apply(config: ResNetConfig, options: dict[str, Any]) -> ResNetConfig:
    changes = dict(options)
    if "input_shape" in changes and isinstance(changes["input_shape"], str):
        changes["input_shape"] = parse_shape(changes["input_shape"])
    if "input_shape" in changes:
        changes["input_shape"] = tuple(int(v) for v in changes["input_shape"])
    if "layers" in changes:
        changes["layers"] = tuple(int(v) for v in changes["layers"])
        if len(changes["layers"]) != len(config.layers):
            raise SpecError(f"--layers needs {len(config.layers)} stages for {config.name}, "
                            f"got {len(changes['layers'])}")
    if "stem" in changes:
        name = changes["stem"]
        if name not in STEMS:
            raise SpecError(f"stem must be one of {', '.join(STEMS)}; got {name!r}")
        # a named stem keeps the flavor's padding and whether it normalizes (pre-activation nets do not)
        changes["stem"] = dataclasses.replace(STEMS[name], padding=config.stem.padding, norm=config.stem.norm)
    if "conv_bias" in changes and isinstance(changes["conv_bias"], bool):
        changes["conv_bias"] = "all" if changes["conv_bias"] else "none"
    if changes.get("shortcut") in ("a", "b", "c"):  # the Python API takes a, b, c as well
        changes["shortcut"] = changes["shortcut"].upper()
    return config.replace(**changes) if changes else config


def is_keras_model(model: Any) -> bool:
    """True for a Keras model or layer object, decided without importing TensorFlow."""
    return any(cls.__module__.split(".")[0] in ("keras", "tf_keras") for cls in type(model).__mro__)


def is_keras_file(model: Any) -> bool:
    return isinstance(model, (str, Path)) and Path(str(model)).suffix.lower() in KERAS_SUFFIXES


def load_graph(model: Any, *, unsafe: bool = False, custom_objects: str | dict | None = None,
               **options: Any) -> Graph:
    """The layer graph of MODEL: a preset, a spec, a config, a Keras model object or a Keras file.

    For Keras models only ``input_shape`` applies (for a subclassed model that was never
    built); files load with Keras's safe mode on unless ``unsafe``; ``custom_objects`` is a
    dict, or the path of a Python file defining the custom layers (it is executed: an
    explicit choice of the caller).
    """
    if isinstance(model, Graph):
        return model
    if is_keras_file(model) or is_keras_model(model):
        extra = sorted(k for k, v in options.items() if v is not None and k != "input_shape")
        if extra:
            raise UsageError(f"option {extra[0]!r} applies to zoo models and spec files, not to Keras models")
        from archviz.backend import require

        require()
        if is_keras_file(model):
            from archviz.keras_file import read_config

            read_config(model)  # a missing, foreign or hostile file fails here, before TensorFlow loads
        from archviz.backend.keras_import import graph_from_keras, load_custom_objects, load_keras_file

        shape = options.get("input_shape")
        if isinstance(shape, str):
            shape = parse_shape(shape)
        if is_keras_file(model):
            objects = load_custom_objects(custom_objects) if isinstance(custom_objects, (str, Path)) else custom_objects
            keras_model = load_keras_file(model, unsafe=unsafe, custom_objects=objects)
            return graph_from_keras(keras_model, input_shape=shape, name=Path(str(model)).stem)
        return graph_from_keras(model, input_shape=shape)
    return build(load_config(model, **options))


def analyze(model: Any, *, batch_size: int = 1, dtype: str = "float32", unsafe: bool = False,
            custom_objects: str | dict | None = None, **options: Any) -> Summary:
    """Summarize MODEL: a preset name, a spec path, a :class:`ResNetConfig`, a graph, a Keras
    model object (``keras.Model``, any kind) or a Keras file (``.keras``, ``.h5``).

    Options are those of the command line (:data:`CONFIG_OPTIONS`: ``input_shape``, ``classes``,
    ``layers``, ``block``, ``width_multiplier``, ...), plus ``batch_size`` and ``dtype`` for the
    memory and compute totals. Keras models take only ``input_shape``.
    """
    if isinstance(model, Graph) or is_keras_file(model) or is_keras_model(model):
        graph = load_graph(model, unsafe=unsafe, custom_objects=custom_objects, **options)
        return analyze_graph(graph, batch_size=batch_size, dtype=dtype)
    config = load_config(model, **options)
    graph = build(config)
    return analyze_graph(graph, batch_size=batch_size, dtype=dtype)


def build_keras(model: Any, **options: Any) -> Any:
    """A trainable ``keras.Model`` (untrained weights) of a preset, spec or config.

    >>> model = archviz.build_keras("examples/specs/seed004_mini_resnet.toml")  # doctest: +SKIP
    >>> base = archviz.build_keras("resnet50-keras", include_top=False, input_shape=(160, 160, 3))  # doctest: +SKIP
    """
    from archviz.backend.keras_export import to_keras

    return to_keras(build(load_config(model, **options)))
