"""Keras model files loaded by Keras itself, with safe mode on unless the user says otherwise.

Only for files the config reader cannot take alone; :mod:`archviz.sources.keras.files` has already
checked the file (and refused any Lambda without ``--unsafe``) before this module is imported.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from archviz.backend import keras as _keras
from archviz.backend import recursion_limit
from archviz.errors import RuntimeFailure


def load_keras_file(path: str | Path, *, unsafe: bool = False, custom_objects: dict | None = None) -> Any:
    """Load a ``.keras`` or ``.h5`` file with Keras's safe mode on unless ``unsafe``."""
    keras = _keras()
    path = Path(path)
    if not path.is_file():
        raise RuntimeFailure(f"cannot read {path}: no such file")
    if custom_objects:
        custom_objects = _with_registered_names(path, custom_objects)
    try:
        with recursion_limit():
            return keras.saving.load_model(path, compile=False, safe_mode=not unsafe, custom_objects=custom_objects)
    except Exception as error:  # Keras raises ValueError, TypeError, OSError... with long messages
        raise RuntimeFailure(_load_error(path, error)) from None


def _with_registered_names(path: Path, objects: dict) -> dict:
    """Also offer each class under the registered name the file records (``package>Name``)."""
    import zipfile

    aliases = dict(objects)
    try:
        with zipfile.ZipFile(path) as archive:
            text = archive.read("config.json").decode("utf-8")
    except (OSError, KeyError, zipfile.BadZipFile):
        return aliases
    for registered in set(re.findall(r'"registered_name":\s*"([^"]+)"', text)):
        short = registered.split(">")[-1]
        if short in objects:
            aliases[registered] = objects[short]
    return aliases


def _load_error(path: Path, error: Exception) -> str:
    text = " ".join(str(error).split())
    if "Lambda" in text and ("safe_mode" in text or "unsafe" in text or "deserialization" in text.lower()):
        return (
            f"{path}: contains a Lambda layer, whose code would run on loading; Keras's safe mode refuses it. "
            f"Pass --unsafe only if you trust the file"
        )
    if "safe_mode" in text:
        return f"{path}: Keras's safe mode refused part of the file; pass --unsafe only if you trust it"
    for marker in ("Could not locate class", "Unknown layer", "Could not deserialize class"):
        if marker in text:
            detail = text.split(marker, 1)[1].split(".")[0].strip(" :'\"")
            return (
                f"{path}: uses custom layer {detail!r}, unknown to Keras; pass --custom-objects FILE.py "
                f"(a module defining it) together with --unsafe if you trust that code"
            )
    return f"{path}: cannot load the Keras model: {text[:200]}"


def load_custom_objects(path: str | Path) -> dict:
    """The Keras layer classes defined in a Python file. Runs that file: callers only do this
    on the user's explicit request (``--custom-objects``)."""
    import importlib.util

    keras = _keras()
    path = Path(path)
    if not path.is_file():
        raise RuntimeFailure(f"cannot read custom objects: {path}: no such file")
    spec = importlib.util.spec_from_file_location(f"archviz_custom_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise RuntimeFailure(f"cannot read custom objects: {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise RuntimeFailure(f"cannot import custom objects from {path}: {type(error).__name__}: {error}") from None
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, keras.layers.Layer)
    }
