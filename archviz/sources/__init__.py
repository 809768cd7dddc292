"""Sources: each reads one kind of input into the one layer graph.

* :mod:`~archviz.sources.zoo`: the presets, as data, and the builder that turns a config into a graph;
* :mod:`~archviz.sources.spec`: spec files (TOML), a config written by a user;
* :mod:`~archviz.sources.keras`: Keras model files read from their config, without TensorFlow;
* :mod:`~archviz.sources.onnx`: ONNX files read (and written) with the ``onnx`` package alone.

Live Keras models, and files only Keras can read, come through :mod:`archviz.backend`, the one
package that imports TensorFlow. May import: the shared modules, :mod:`archviz.ops`,
:mod:`archviz.core` and :mod:`archviz.backend` (lazily, inside a function). Never the library's
entry points (:mod:`archviz.api`), a study, a renderer or the CLI.
"""

from __future__ import annotations

from pathlib import Path

#: The names of the files archviz reads as Keras models, and as ONNX models (here, so that telling a model
#: file from a preset name imports no reader: a zoo ``summary`` imports neither source package).
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
ONNX_SUFFIXES = (".onnx",)


def looks_like_onnx(path: Path) -> bool:
    """Whether a regular file starts as a serialized ONNX model does: its ``ir_version`` (field 1, a small
    varint), then a producer, graph or opset field. Read without the onnx package; never raises."""
    try:
        if not path.is_file():
            return False
        with open(path, "rb") as file:
            head = file.read(3)
    except (OSError, ValueError):
        return False
    return len(head) == 3 and head[0] == 0x08 and 3 <= head[1] <= 30 and head[2] in (0x12, 0x1A, 0x22, 0x2A, 0x3A, 0x42)
