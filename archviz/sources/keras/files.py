"""A Keras model file's config, read and checked without TensorFlow, before anything else reads the
file; and :func:`load_file`, which then reads it with archviz's config reader or with Keras.

Keras loads a file with Python's recursion limit raised (deep models need it), trusts the
names inside a ``.keras`` zip archive and decompresses what it reads. So a file is refused,
in one line, when it is missing or not a regular file, when it is neither a zip archive
(``.keras``) nor HDF5 (``.h5``), when an archive member would land outside the archive
(``..``, an absolute path), when the config is larger than :data:`MAX_CONFIG_BYTES`
uncompressed, not a JSON object, nested deeper than :data:`MAX_CONFIG_DEPTH`, or made of more than
:data:`~archviz.limits.MAX_CONFIG_VALUES` JSON values: the byte limit alone does not bound memory,
as 64 MiB of ``{},`` parse into 21 million dicts, gigabytes. The values are counted and the depth
measured before parsing, at the speed of ``bytes.count`` and in memory of one chunk of the text.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path, PureWindowsPath
from typing import Any

from archviz.core.record import Loader
from archviz.errors import RuntimeFailure, UsageError
from archviz.limits import MAX_CONFIG_VALUES

#: The largest config archviz hands to Keras: ResNet-1202's is a few MB.
MAX_CONFIG_BYTES = 64 * 2**20
#: The deepest nesting of lists and objects in a config: a Keras model nests about 10 levels
#: per level of nested model.
MAX_CONFIG_DEPTH = 500

ZIP_CONFIG = "config.json"
HDF5_CONFIG = "model_config"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
#: The bytes of config JSON scanned at a time: the scan's memory is a few times this.
_CHUNK = 2**18
_FORMATS = {"zip": "a zip archive (.keras)", "hdf5": "HDF5 (.h5)"}


def read_config(path: str | Path) -> dict[str, Any]:
    """The model config (a JSON object) of a ``.keras`` or ``.h5`` file, checked as the module says."""
    path = Path(path)
    try:
        kind = _kind(path)
        data = _zip_config(path) if kind == "zip" else _hdf5_config(path)
    except FileNotFoundError:
        raise RuntimeFailure(f"cannot read {path}: no such file") from None
    except OSError as error:
        raise RuntimeFailure(f"cannot read {path}: {error.strerror or error}") from None
    return _parse(path, data, ZIP_CONFIG if kind == "zip" else f"the {HDF5_CONFIG} attribute")


def load_file(
    path: Path,
    *,
    input_shape: tuple[int, ...] | None,
    loader: str,
    unsafe: bool,
    custom_objects: str | Path | dict | None,
    keras_model: bool,
) -> tuple[Any, Any]:
    """(layer graph, Keras model or None) of a Keras file: read by archviz's config reader (no
    TensorFlow) where ``loader`` (:class:`archviz.core.record.Loader`) lets it and it can, else loaded by
    Keras with its safe mode on unless ``unsafe`` (and the Keras model kept when ``keras_model``). The
    graph's options say which (``loader``; ``loader_reason``, why ``auto`` chose Keras)."""
    config = read_config(path)  # a missing, foreign or hostile file fails here, before anything reads it further
    if keras_model and loader == "config":
        raise UsageError("--loader config reads the file without Keras, but this command runs the model in Keras")
    reason = None
    if loader != "keras" and not keras_model:
        from archviz.sources.keras.reader import NotReadable, graph_from_config

        try:
            graph = graph_from_config(path, config, input_shape=input_shape)
        except NotReadable as error:
            if loader == "config" or not error.keras_loads:
                raise
            reason = f"the config reader cannot read {error.reason}"
        else:
            graph.record = graph.record.replace(loader=Loader.CONFIG)
            return graph, None
    if loader == "keras" or keras_model:
        from archviz.sources.keras.reader import keras_refusal

        refusal = keras_refusal(path, config, runs=keras_model)
        if refusal:
            raise RuntimeFailure(refusal)
    if not unsafe:
        refuse_code(path, config)
    from archviz.backend import require

    require(f"reading {path.name} with Keras" + (f" ({reason})" if reason else ""))
    from archviz.backend.keras_files import load_custom_objects, load_keras_file
    from archviz.backend.keras_import import graph_from_keras

    objects = load_custom_objects(custom_objects) if isinstance(custom_objects, (str, Path)) else custom_objects
    model = load_keras_file(path, unsafe=unsafe, custom_objects=objects)
    graph = graph_from_keras(model, input_shape=input_shape, name=path.stem)
    graph.record = graph.record.replace(loader=Loader.KERAS, loader_reason=reason)
    return graph, model if keras_model else None


def class_names(config: Any) -> set[str]:
    """Every ``class_name`` in a config (layers of nested models included), found without recursion."""
    names: set[str] = set()
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("class_name"), str):
                names.add(item["class_name"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return names


def refuse_code(path: str | Path, config: dict[str, Any]) -> None:
    """Refuse, in one line, a file whose loading would run code stored in it (a ``Lambda`` layer)."""
    if "Lambda" in class_names(config):
        raise RuntimeFailure(
            f"{path}: contains a Lambda layer, whose code would run on loading; Keras's safe mode "
            f"refuses it. Pass --unsafe only if you trust the file"
        )


def nesting_depth(value: Any) -> int:
    """How deeply lists and dicts nest in ``value`` (a scalar: 0), measured level by level without
    recursion: a few list operations per value, so two million values take a fraction of a second."""
    depth, level = 0, [value]
    while True:
        containers = [item for item in level if isinstance(item, (dict, list))]
        if not containers:
            return depth
        depth += 1
        level = []
        for item in containers:
            level.extend(item.values() if isinstance(item, dict) else item)


def json_values(data: bytes) -> int:
    """How many values the JSON text ``data`` holds (every value but the first follows a comma or opens
    a non-empty container), counted outside strings without parsing, in linear time."""
    return json_shape(data)[0]


def json_depth(data: bytes) -> int:
    """How deeply containers nest in the JSON text ``data`` (the highest running count of open brackets
    outside strings), without parsing."""
    return json_shape(data)[1]


def json_shape(data: bytes, limit: int | None = None) -> tuple[int, int]:
    """``(values, depth)`` of the JSON text ``data``, without parsing, in time linear in ``data`` and
    memory of one :data:`_CHUNK` (never a list or an array as long as the text: 60 MiB of ``"",`` split on
    every quote, or a running count per bracket, took gigabytes). A container is a value even when it
    follows none (``[][]``). Past ``limit`` values the scan stops and the values counted so far are
    returned: enough to refuse. Escapes go first (``\\\\`` then ``\\"``, left to right as the parser reads
    them); then each chunk is cut at its quotes, alternately outside and inside a string."""
    import numpy

    unescaped = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    values, opens, depth, level, inside, last = 1, 0, 0, 0, False, b""
    for start in range(0, len(unescaped), _CHUNK):
        parts = unescaped[start : start + _CHUNK].split(b'"')
        outside = parts[1::2] if inside else parts[::2]
        bare = b'"'.join(outside).translate(None, b" \t\r\n")
        inside ^= len(parts) % 2 == 0
        del parts, outside
        pairs = (last + bare).count(b"[]") + (last + bare).count(b"{}")
        opened = bare.count(b"[") + bare.count(b"{")
        values += bare.count(b",") + opened - pairs
        opens += opened
        last = bare[-1:]
        brackets = numpy.frombuffer(bare.translate(None, _NOT_BRACKETS), dtype=numpy.uint8)
        if len(brackets):
            running = numpy.cumsum(numpy.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1)) + level
            depth, level = max(depth, int(running.max())), int(running[-1])
        if limit is not None and max(values, opens) > limit:
            break
    return max(values, opens), depth


def _kind(path: Path) -> str:
    """``zip`` or ``hdf5``, from the content; it must agree with the suffix, as Keras requires."""
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise RuntimeFailure(f"cannot read {path}: it is a directory")
    if not stat.S_ISREG(mode):  # a FIFO would block, a device never end
        raise RuntimeFailure(f"cannot read {path}: not a regular file")
    import zipfile

    kind = "zip" if zipfile.is_zipfile(path) else "hdf5" if _is_hdf5(path) else None
    if kind is None:
        raise RuntimeFailure(f"{path}: not a Keras model file: neither a zip archive (.keras) nor HDF5 (.h5)")
    expected = "zip" if path.suffix.lower() == ".keras" else "hdf5"
    if kind != expected:
        raise RuntimeFailure(
            f"{path}: a {path.suffix} model file must be {_FORMATS[expected]}, but this is {_FORMATS[kind]}"
        )
    return kind


def _is_hdf5(path: Path) -> bool:
    """The HDF5 signature at offset 0, 512, 1024, 2048, ... (a user block may come first)."""
    size = path.stat().st_size
    offset = 0
    with path.open("rb") as handle:
        while offset + len(HDF5_SIGNATURE) <= size:
            handle.seek(offset)
            if handle.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
                return True
            offset = max(512, offset * 2)
    return False


def _zip_config(path: Path) -> bytes:
    import zipfile
    import zlib

    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                member = PureWindowsPath(name)  # parses / and \\ alike
                if member.drive or member.root or ".." in member.parts:
                    raise RuntimeFailure(f"{path}: refused: archive member {name!r} points outside the archive")
            try:
                info = archive.getinfo(ZIP_CONFIG)
            except KeyError:
                raise RuntimeFailure(f"{path}: not a Keras model archive: it has no {ZIP_CONFIG}") from None
            _check_size(path, ZIP_CONFIG, info.file_size)
            with archive.open(info) as handle:
                data = handle.read(MAX_CONFIG_BYTES + 1)  # the declared size may lie
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as error:
        raise RuntimeFailure(f"{path}: a damaged or unsupported zip archive: {error}") from None
    _check_size(path, ZIP_CONFIG, len(data))
    return data


def _hdf5_config(path: Path) -> bytes:
    import h5py

    with h5py.File(path, "r") as handle:  # HDF5 attributes are never compressed: reading costs the file's size
        try:
            value = handle.attrs.get(HDF5_CONFIG)
        except (TypeError, ValueError) as error:
            raise RuntimeFailure(f"{path}: cannot read the {HDF5_CONFIG} attribute: {error}") from None
    if value is None:
        raise RuntimeFailure(f"{path}: an HDF5 file without a Keras model (no {HDF5_CONFIG} attribute; weights only?)")
    if not isinstance(value, (str, bytes)):
        raise RuntimeFailure(f"{path}: the {HDF5_CONFIG} attribute is not a string")
    data = value.encode("utf-8") if isinstance(value, str) else value
    _check_size(path, f"the {HDF5_CONFIG} attribute", len(data))
    return data


def _check_size(path: Path, what: str, size: int) -> None:
    if size > MAX_CONFIG_BYTES:
        raise RuntimeFailure(
            f"{path}: refused: {what} is {size:,} bytes uncompressed, over the limit of {MAX_CONFIG_BYTES:,}"
        )


def _parse(path: Path, data: bytes, what: str) -> dict[str, Any]:
    """Parse ``data`` once its values and depth are known to be within the limits (parsing 64 MiB of
    ``{},`` would cost gigabytes); the normal recursion limit stays as a second guard."""
    too_deep = f"{path}: refused: {what} nests more than {MAX_CONFIG_DEPTH} levels deep"
    over = f"{path}: refused: {what} holds more than {MAX_CONFIG_VALUES:,} JSON values (the limit)"
    # Every string is a value and so is every container: counted at the speed of bytes.count, before
    # anything is built. (A quote after a backslash may be escaped, so those are not counted.)
    if (data.count(b'"') - data.count(b'\\"')) // 2 > MAX_CONFIG_VALUES:
        raise RuntimeFailure(over)
    values, depth = json_shape(data, limit=MAX_CONFIG_VALUES)
    if values > MAX_CONFIG_VALUES:
        raise RuntimeFailure(over)
    if depth > MAX_CONFIG_DEPTH:
        raise RuntimeFailure(too_deep)
    try:
        config = json.loads(data)
    except RecursionError:
        raise RuntimeFailure(too_deep) from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, an over-long integer
        raise RuntimeFailure(f"{path}: {what} is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise RuntimeFailure(f"{path}: {what} is not a JSON object")
    return config
