"""The TensorFlow / Keras backend: the only part of archviz that imports TensorFlow, and lazily.

* :mod:`archviz.backend.keras_export`: a graph to a functional ``keras.Model``.
* :mod:`archviz.backend.keras_import`: any Keras model (functional, Sequential, nested,
  custom layers, subclassed) to a graph, with Keras's own params and shapes.
* :mod:`archviz.backend.profiler`: ``tf.compat.v1.profiler`` FLOPs of a Keras model.

* :mod:`archviz.backend.keras_files`: Keras's loader of model files (safe mode, custom objects).
* :mod:`archviz.backend.keras_trace` and :mod:`archviz.backend.raw_ops`: one traced call of a subclassed
  model, recording every layer, ``keras.ops`` function and tensor operator.

Importing this package does not import TensorFlow; :func:`keras` does. May import: the shared modules,
:mod:`archviz.ops` and :mod:`archviz.core`. Never a source, a study, a renderer or the CLI.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType

from archviz.errors import RuntimeFailure

INSTALL_HINT = "pip install 'archviz[tensorflow]'"


def require(what: str = "this command") -> None:
    """Fail in one line, before any work, when TensorFlow or Keras is not installed (no import):
    ``what`` needs TensorFlow."""
    import importlib.util

    for name in ("tensorflow", "keras"):
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise RuntimeFailure(f"{what} needs TensorFlow, which is not installed: {INSTALL_HINT}")


def keras() -> ModuleType:
    """Import Keras (with the TensorFlow backend), or fail in one line saying how to install it.

    TensorFlow's C++ logging writes lines to stderr on import whatever ``TF_CPP_MIN_LOG_LEVEL``
    says (absl's "before InitializeLog" notice, oneDNN's), so the first import runs with file
    descriptor 2 on /dev/null; after it, the usual variables and absl's verbosity apply.

    Keras writes ``keras.json`` into its config directory (``~/.keras``) when it is first imported;
    the ``archviz`` command writes nothing outside ``-o``, so there that directory is a temporary one
    (:func:`isolate_keras_home`). A program using archviz as a library keeps its own Keras set-up.
    """
    if _ISOLATE[0]:
        _keras_home()
    if _PAUSED[0]:  # TensorFlow and Keras make cycles by the thousand: the collector runs again from here
        import gc

        gc.enable()
        _PAUSED[0] = False
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    first = "tensorflow" not in sys.modules
    try:
        with _stderr_to_devnull() if first else contextlib.nullcontext():
            import keras as keras_module
            import tensorflow  # noqa: F401  (the backend archviz's FLOP rules and export are checked against)
    except ImportError:
        raise RuntimeFailure(f"this command needs TensorFlow, which is not installed: {INSTALL_HINT}") from None
    if first:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)  # Python-side warnings (saving .h5, retracing)
    return keras_module


#: Whether this process is the ``archviz`` command, whose Keras config directory is its own.
_ISOLATE = [False]
#: Whether the ``archviz`` command paused Python's cyclic garbage collector (:func:`pause_collector`).
_PAUSED = [False]


def pause_collector() -> None:
    """Run this process (the ``archviz`` command) without Python's cyclic garbage collector until TensorFlow
    is imported (:func:`keras` turns it back on). A zoo summary's imports and records make tens of
    thousands of objects but leave a few hundred in cycles (reference counting frees the rest), so the
    collector's passes over them are about a twentieth of its time for nothing; TensorFlow and Keras make
    cycles by the thousand, so a command that imports them collects as usual."""
    import gc

    if gc.isenabled():
        gc.disable()
        _PAUSED[0] = True


def isolate_keras_home() -> None:
    """Give this process (the ``archviz`` command) a Keras config directory of its own when Keras is
    imported: a temporary one, unless the user set ``KERAS_HOME``."""
    _ISOLATE[0] = True


def _keras_home() -> None:
    """Point ``KERAS_HOME`` (read by Keras and tf-keras when imported) at a temporary directory that is
    removed when archviz's process exits, unless the user set it: then theirs is used. A user's
    ``~/.keras/keras.json`` (a ``channels_first`` data format, say) therefore never changes archviz's
    models either."""
    if "KERAS_HOME" in os.environ:
        return
    import atexit
    import shutil
    import tempfile

    home = tempfile.mkdtemp(prefix="archviz-keras-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ["KERAS_HOME"] = home


@contextlib.contextmanager
def _stderr_to_devnull() -> Iterator[None]:
    """Point file descriptor 2 (where C++ libraries write) at /dev/null, and back."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def tensorflow() -> ModuleType:
    keras()
    import tensorflow as tf

    return tf


@contextlib.contextmanager
def out_of_memory(what: str) -> Iterator[None]:
    """TensorFlow's ``ResourceExhaustedError`` (and Python's ``MemoryError``) while ``what`` as one line."""
    try:
        yield
    except MemoryError:
        raise RuntimeFailure(f"ran out of memory {what}") from None
    except Exception as error:
        tf = sys.modules.get("tensorflow")
        if tf is not None and isinstance(error, tf.errors.ResourceExhaustedError):
            raise RuntimeFailure(f"ran out of memory {what}: {error.message.strip().splitlines()[0]}") from None
        raise


#: Keras maps, saves and loads a functional graph recursively: a few frames per layer.
DEEP_MODEL_RECURSION = 200_000


@contextlib.contextmanager
def recursion_limit(limit: int = DEEP_MODEL_RECURSION) -> Iterator[None]:
    """Raise Python's recursion limit for Keras's work on a deep model (ResNet-1202 has 5,000 layers)."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)
