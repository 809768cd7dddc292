"""What MODEL means everywhere: a preset name, a spec file, or (with TensorFlow) a Keras model.

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
from archviz.summary import Summary
from archviz.units import parse_shape
from archviz.zoo import REGISTRY, STEMS, ResNetConfig, build

SPEC_SUFFIXES = (".toml",)
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")

#: Options every command accepts for a zoo model or spec, mapped to config fields.
CONFIG_OPTIONS = ("input_shape", "classes", "include_top", "width_multiplier", "groups", "width_per_group",
                  "shortcut", "stride_on", "conv_bias", "stem", "bn_epsilon")
ANALYSIS_OPTIONS = ("batch_size", "dtype")


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
            raise UsageError(f"{text}: reading Keras model files needs the TensorFlow backend, not available yet")
        elif text in REGISTRY:
            config = REGISTRY.get(text)
        elif path.exists():
            raise UnknownModelError(f"{text}: a file, but not a spec (.toml) or a Keras model (.keras, .h5)")
        else:
            raise UnknownModelError(REGISTRY.unknown_message(text))
    return _apply(config, options)


def _apply(config: ResNetConfig, options: dict[str, Any]) -> ResNetConfig:
    changes = dict(options)
    if "input_shape" in changes and isinstance(changes["input_shape"], str):
        changes["input_shape"] = parse_shape(changes["input_shape"])
    if "input_shape" in changes:
        changes["input_shape"] = tuple(int(v) for v in changes["input_shape"])
    if "stem" in changes:
        name = changes["stem"]
        if name not in STEMS:
            raise SpecError(f"stem must be one of {', '.join(STEMS)}; got {name!r}")
        # a named stem keeps the flavor's padding and whether it normalizes (pre-activation nets do not)
        changes["stem"] = dataclasses.replace(STEMS[name], padding=config.stem.padding, norm=config.stem.norm)
    if "conv_bias" in changes and isinstance(changes["conv_bias"], bool):
        changes["conv_bias"] = "all" if changes["conv_bias"] else "none"
    if changes.get("shortcut") is not None:
        changes["shortcut"] = str(changes["shortcut"]).upper() if len(str(changes["shortcut"])) == 1 else changes["shortcut"]
    return config.replace(**changes) if changes else config


def load_graph(model: str | Path | ResNetConfig, **options: Any) -> Graph:
    return build(load_config(model, **options))


def analyze(model: Any, *, batch_size: int = 1, dtype: str = "float32", **options: Any) -> Summary:
    """Summarize MODEL: a preset name, a spec path, a :class:`ResNetConfig` or a graph.

    Options are those of the command line: ``input_shape``, ``classes``, ``include_top``,
    ``width_multiplier``, ``groups``, ``width_per_group``, ``shortcut``, ``stride_on``,
    ``conv_bias``, ``stem``, ``bn_epsilon``; plus ``batch_size`` and ``dtype`` for the
    memory and compute totals.
    """
    if isinstance(model, Graph):
        return analyze_graph(model, batch_size=batch_size, dtype=dtype, options=dict(model.meta.get("options", {})))
    config = load_config(model, **options)
    graph = build(config)
    return analyze_graph(graph, batch_size=batch_size, dtype=dtype, options=config.options())
