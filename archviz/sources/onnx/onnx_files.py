"""An ONNX file, checked before it is parsed, then parsed and shape-inferred by the ``onnx`` package.

Nothing in a file runs: archviz reads its graph as data (no onnxruntime, no torch). A file is
refused, in one line, when it is missing or not a regular file, larger than :data:`MAX_ONNX_BYTES`,
not a protobuf message of the ONNX model's form (a truncated file, another format), or holds more
nodes, initializers or attributes than the limits below, graphs nested deeper than
:data:`MAX_GRAPH_NESTING`, or model-local functions (whose calls nest, so that a tiny file would cost
exponential time): these are counted by a scan of the protobuf wire format, linear in the
file and in memory of one field at a time, before the ``onnx`` package builds anything.

External data (an initializer whose values are in another file) is never read: params come from a
tensor's dims. Its location is still checked, before anything else reads the model: a location
that is absolute, climbs out with ``..``, or resolves (through a symlink) outside the model's own
directory is refused.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from archviz.errors import RuntimeFailure, UsageError
from archviz.sources import ONNX_SUFFIXES, looks_like_onnx  # noqa: F401  (the sniff and the suffixes, re-exported)

INSTALL_HINT = "pip install 'archviz[onnx]'"

#: The largest file archviz parses: wide_resnet101_2 in float32 is 500 MB; protobuf's own limit is 2 GiB.
MAX_ONNX_BYTES = 2**30
#: Nodes of every graph (subgraphs included): ResNet-152 has about 500.
MAX_ONNX_NODES = 200_000
MAX_ONNX_INITIALIZERS = 200_000
MAX_ONNX_ATTRIBUTES = 1_000_000
#: How deeply graphs nest in the attributes of Loop and If nodes.
MAX_GRAPH_NESTING = 16

# Field numbers of onnx.proto: ModelProto.graph and .functions; GraphProto.node, .initializer,
# .sparse_initializer; NodeProto.attribute; AttributeProto.g and .graphs.
_MODEL_GRAPH, _MODEL_FUNCTIONS = 7, 25
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_SPARSE = 1, 5, 15
_NODE_ATTRIBUTE = 5
_ATTRIBUTE_GRAPH, _ATTRIBUTE_GRAPHS = 6, 11


class _Malformed(Exception):
    """Bytes that are not a protobuf message."""


def require_onnx(what: str) -> Any:
    """The ``onnx`` module, or one line saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise RuntimeFailure(f"{what} needs the onnx package, which is not installed: {INSTALL_HINT}") from None
    return onnx


def read_model(path: Path, *, input_shape: tuple[int, ...] | None = None) -> Any:
    """The file's ``onnx.ModelProto``, checked as the module says, with the shapes of its tensors inferred
    (``input_shape``, channels last, sizes an input the file leaves open)."""
    data = _read_bytes(path)
    try:
        counts = scan(data)
    except _Malformed:
        raise RuntimeFailure(f"{path}: not an ONNX model (a truncated file, or another format)") from None
    except RuntimeFailure as error:
        raise RuntimeFailure(f"{path}: {error}") from None
    for what, count, limit in zip(
        ("nodes", "initializers", "attributes"), counts, (MAX_ONNX_NODES, MAX_ONNX_INITIALIZERS, MAX_ONNX_ATTRIBUTES)
    ):
        if count > limit:
            raise RuntimeFailure(f"{path}: {count:,} {what}; archviz reads at most {limit:,}")
    onnx = require_onnx(f"reading {path.name}")
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError):
        raise RuntimeFailure(f"{path}: not an ONNX model (a truncated file, or another format)") from None
    if not model.HasField("graph") or not model.graph.node:
        raise RuntimeFailure(f"{path}: not an ONNX model (no graph of nodes)")
    check_external(path, model)
    if input_shape is not None:
        _set_input_shape(path, model, input_shape)
    try:
        return onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True)
    except Exception as error:  # the onnx package's own errors have no common base
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RuntimeFailure(f"{path}: ONNX shape inference failed: {message[:200]}") from None


def _read_bytes(path: Path) -> bytes:
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise RuntimeFailure(f"cannot read {path}: not a regular file")
        if info.st_size > MAX_ONNX_BYTES:
            raise RuntimeFailure(
                f"{path}: {info.st_size:,} bytes; archviz reads ONNX files of at most {MAX_ONNX_BYTES:,}"
            )
        with open(path, "rb") as file:  # its size as stat said (a buffer of the limit would cost 1 GiB at once)
            return file.read(info.st_size)
    except FileNotFoundError:
        raise RuntimeFailure(f"cannot read {path}: no such file") from None
    except OSError as error:
        raise RuntimeFailure(f"cannot read {path}: {error.strerror or error}") from None


# ---- the wire format ----------------------------------------------------------------------------


def _varint(data: bytes, index: int, end: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if index >= end or shift > 63:
            raise _Malformed
        byte = data[index]
        index += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, index
        shift += 7


def _fields(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """The length-delimited fields of the message ``data[start:end]``: (field number, start, end); other
    fields are skipped. Anything that is not the wire format raises :class:`_Malformed`."""
    found, index = [], start
    while index < end:
        key, index = _varint(data, index, end)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise _Malformed
        if wire == 0:
            _, index = _varint(data, index, end)
        elif wire == 1:
            index += 8
        elif wire == 5:
            index += 4
        elif wire == 2:
            length, index = _varint(data, index, end)
            found.append((field, index, index + length))
            index += length
        else:  # groups (3, 4) are not in onnx.proto
            raise _Malformed
        if index > end:
            raise _Malformed
    return found


def scan(data: bytes) -> tuple[int, int, int]:
    """(nodes, initializers, attributes) of a serialized model, its subgraphs included, counted without
    parsing it; graphs nested deeper than :data:`MAX_GRAPH_NESTING` and model-local functions raise."""
    nodes = initializers = attributes = 0
    model = _fields(data, 0, len(data))
    graphs = [(start, end, 0) for field, start, end in model if field == _MODEL_GRAPH]
    if not graphs:
        raise _Malformed
    if any(field == _MODEL_FUNCTIONS for field, _, _ in model):
        # a function's body runs at each call, and calls nest: shape inference and archviz's counts would
        # cost the product of the calls (3 calls a level, 15 levels: 14 million nodes from a tiny file)
        raise RuntimeFailure(
            "the model defines functions of its own (model-local functions); archviz does not read them"
        )
    bodies = [(start, end, depth, _GRAPH_NODE) for start, end, depth in graphs]  # (start, end, depth, node field)
    while bodies:
        start, end, depth, node_field = bodies.pop()
        if depth > MAX_GRAPH_NESTING:
            raise RuntimeFailure(f"graphs nested more than {MAX_GRAPH_NESTING} deep")
        for field, node_start, node_end in _fields(data, start, end):
            if field in (_GRAPH_INITIALIZER, _GRAPH_SPARSE) and node_field == _GRAPH_NODE:
                initializers += 1
            if field != node_field:
                continue
            nodes += 1
            if nodes > MAX_ONNX_NODES:
                return nodes, initializers, attributes
            for kind, attr_start, attr_end in _fields(data, node_start, node_end):
                if kind != _NODE_ATTRIBUTE:
                    continue
                attributes += 1
                for sub, sub_start, sub_end in _fields(data, attr_start, attr_end):
                    if sub in (_ATTRIBUTE_GRAPH, _ATTRIBUTE_GRAPHS):
                        bodies.append((sub_start, sub_end, depth + 1, _GRAPH_NODE))
    return nodes, initializers, attributes


# ---- external data and the input size ------------------------------------------------------------


def _tensors(model: Any) -> list[Any]:
    """Every tensor of the model: initializers and tensor attributes, of every graph (nesting bounded by the scan)."""
    found, graphs = [], [model.graph]
    while graphs:
        graph = graphs.pop()
        found.extend(graph.initializer)
        for node in graph.node:
            for attribute in node.attribute:
                if attribute.HasField("t"):
                    found.append(attribute.t)
                found.extend(attribute.tensors)
                if attribute.HasField("g"):
                    graphs.append(attribute.g)
                graphs.extend(attribute.graphs)
    return found


def check_external(path: Path, model: Any) -> None:
    """Refuse external data whose location is absolute, climbs with ``..`` or resolves outside the
    model's directory (it is never read; the check comes before anything else reads the model)."""
    folder = path.resolve().parent
    for tensor in _tensors(model):
        if tensor.data_location != 1:  # TensorProto.EXTERNAL
            continue
        location = next((entry.value for entry in tensor.external_data if entry.key == "location"), "")
        posix, windows = PurePosixPath(location), PureWindowsPath(location)
        bad = not location or posix.is_absolute() or windows.is_absolute() or windows.drive or ".." in windows.parts
        if not bad:
            try:
                bad = not (folder / location).resolve().is_relative_to(folder)
            except (OSError, ValueError, RuntimeError):
                bad = True
        if bad:
            raise RuntimeFailure(
                f"{path}: initializer {tensor.name[:80]!r} keeps its data at {location[:80]!r}, outside the "
                f"model's directory; archviz refuses such a file"
            )


def _set_input_shape(path: Path, model: Any, shape: tuple[int, ...]) -> None:
    """Size the model's one input (ONNX ``(N, C, *spatial)``) from a channels-last ``shape``."""
    held = {tensor.name for tensor in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in held]
    if len(inputs) != 1:
        raise UsageError(f"an input shape applies to a model with one input; {path.name} has {len(inputs)}")
    dims = inputs[0].type.tensor_type.shape.dim
    if len(dims) == 4 and len(shape) in (1, 2):  # an image's short forms: 224 is 224,224,3; 32,32 is 32,32,3
        shape = (shape[0], shape[-1], 3)
    wanted = (shape[-1], *shape[:-1])
    if len(dims) != len(wanted) + 1:
        layout = {3: "L,C", 4: "H,W,C", 5: "D,H,W,C"}.get(len(dims), f"{len(dims) - 1} sizes, channels last")
        raise UsageError(
            f"{path.name}'s input has {len(dims) - 1} dimensions besides the batch ({layout}); got {len(shape)}"
        )
    for dim, size in zip(list(dims)[1:], wanted):
        if dim.HasField("dim_value") and dim.dim_value != size:
            raise UsageError(
                f"{path.name}'s input fixes a size of {dim.dim_value}; an input shape of "
                f"{'x'.join(map(str, shape))} does not fit it (only its open sizes can be chosen)"
            )
        dim.dim_value = size
