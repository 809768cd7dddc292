"""How many weights each layer of a Keras model file holds, read from the file's HDF5 weights with
h5py: shapes only, no value is read and nothing in the file runs.

Two layouts, found by where a layer's weights are stored:

* a ``.keras`` archive's ``model.weights.h5`` keeps them by position, not by name: the layers of a
  model in ``layers/<class name in snake case>`` (``conv2d``, ``conv2d_1``, ... in the order of the
  model's layers; a nested model's own under ``layers/functional/layers/...``), each variable in
  ``vars/0``, ``vars/1``, ...; the member is read in place inside the archive;
* a legacy ``.h5`` file keeps them by name: ``model_weights/<layer name>``, its variables listed in
  the ``weight_names`` attribute; a nested model's group holds all its layers' variables, each
  named ``<layer name>/<variable>`` (tf.keras adds ``:0``; Keras 3 may put a model's name before).

A :class:`Weights` hands out a *place* for each layer, :meth:`~Weights.child` of its model's place
in the model's layer order, and counts the weights stored there with :meth:`~Weights.size`.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import struct
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from archviz.errors import RuntimeFailure

ARCHIVE_WEIGHTS = "model.weights.h5"
LEGACY_WEIGHTS = "model_weights"
_ZIP_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., file name length, extra field length


def snake_case(class_name: str) -> str:
    """Keras's name for a class in a weights file (``keras.src.utils.naming.to_snake_case``)."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


class Place:
    """Where one layer's weights are: an HDF5 group path; for a model, the names its layers took
    (``used``) and their places by layer name (``children``, filled once however often it is called)."""

    def __init__(self, path: tuple[str, ...]) -> None:
        self.path = path
        self.used: dict[str, int] = {}
        self.children: dict[str, Place] | None = None


class Weights:
    """The weights of one open file; :func:`open_weights` makes the right kind."""

    def __init__(self, path: Path, group: Any) -> None:
        self.path, self.group = path, group
        self.root = Place(())

    def child(self, parent: Place, class_name: str, name: str) -> Place:  # pragma: no cover (abstract)
        raise NotImplementedError

    def size(self, place: Place) -> int:
        """How many weights the layer at ``place`` holds (0 where it stores none)."""
        try:
            return self._size(place)
        except (OSError, KeyError, ValueError, TypeError, AttributeError, RuntimeError) as error:
            where = "/".join(place.path)
            raise RuntimeFailure(f"{self.path}: cannot read the weights of {where!r}: {error}") from None

    def _size(self, place: Place) -> int:  # pragma: no cover (abstract)
        raise NotImplementedError


class _ArchiveWeights(Weights):
    """``model.weights.h5`` of a ``.keras`` archive: layers by class and position."""

    def child(self, parent: Place, class_name: str, name: str) -> Place:
        key = snake_case(class_name)
        if key in parent.used:
            parent.used[key] += 1
            key = f"{key}_{parent.used[key]}"
        else:
            parent.used[key] = 0
        return Place((*parent.path, "layers", key))

    def _size(self, place: Place) -> int:
        variables = self.group.get("/".join((*place.path, "vars")))
        if variables is None:
            return 0
        return sum(_elements(variable) for variable in variables.values())


class _LegacyWeights(Weights):
    """``model_weights`` of a legacy ``.h5`` file: layers by name."""

    def __init__(self, path: Path, group: Any) -> None:
        super().__init__(path, group)
        self._owners: dict[str, dict[str, int]] = {}

    def child(self, parent: Place, class_name: str, name: str) -> Place:
        return Place((*parent.path, name))

    def _size(self, place: Place) -> int:
        top = place.path[0]
        if len(place.path) == 1:
            return sum(self._variables(top).values())
        if top not in self._owners:  # a nested model's variables, by the layer that owns them
            owners: dict[str, int] = {}
            for name, count in self._variables(top).items():
                owner = name.split(":")[0].split("/")[-2:-1] or [""]
                owners[owner[0]] = owners.get(owner[0], 0) + count
            self._owners[top] = owners
        return self._owners[top].get(place.path[-1], 0)

    def _variables(self, layer: str) -> dict[str, int]:
        group = self.group.get(layer)
        if group is None:
            return {}
        names = group.attrs.get("weight_names", [])
        result = {}
        for name in names:
            text = name.decode("utf-8") if isinstance(name, bytes) else str(name)
            result[text] = _elements(group[text])
        return result


def _elements(dataset: Any) -> int:
    return int(math.prod(dataset.shape))  # a group instead of an array has no shape: AttributeError


@contextlib.contextmanager
def open_weights(path: Path) -> Iterator[Weights]:
    """The weights of a ``.keras`` or ``.h5`` file (already checked by :mod:`archviz.sources.keras.files`); a
    damaged or missing weights store is one line (:class:`RuntimeFailure`)."""
    import h5py

    with contextlib.ExitStack() as stack:
        try:
            if path.suffix.lower() == ".keras":
                member = stack.enter_context(_archive_member(path, ARCHIVE_WEIGHTS))
                weights: Weights = _ArchiveWeights(path, stack.enter_context(h5py.File(member, "r")))
            else:
                group = stack.enter_context(h5py.File(path, "r")).get(LEGACY_WEIGHTS)
                if not isinstance(group, h5py.Group):
                    raise RuntimeFailure(f"{path}: the file has no {LEGACY_WEIGHTS} group")
                weights = _LegacyWeights(path, group)
        except (
            OSError,
            KeyError,
            ValueError,
            TypeError,
            RuntimeError,
            EOFError,
            struct.error,
            zipfile.BadZipFile,
        ) as error:
            raise RuntimeFailure(f"{path}: cannot read the weights: {error}") from None
        yield weights


#: The most bytes a compressed weights member is unpacked to (Keras stores it uncompressed; a re-zipped
#: archive compresses it). h5py seeks back and forth, and every seek back in a compressed member
#: decompresses it again from its start: n² for a file of n layers, so it is unpacked once to disk.
MAX_UNPACKED_WEIGHTS = 2**30
#: How many times its compressed size a weights member may unpack to, beyond :data:`UNPACKED_SLACK`:
#: weights (random floats) hardly compress, so a member that inflates 100 times is a bomb, and a
#: 60 KB archive can never cost more than a few MB of disk.
MAX_WEIGHTS_RATIO = 100
UNPACKED_SLACK = 2**20


@contextlib.contextmanager
def _archive_member(path: Path, member: str) -> Iterator[Any]:
    """A member of a zip archive as a seekable file: a window on the archive where the member is
    stored uncompressed (as Keras writes it), else a temporary file it is unpacked to, once its
    declared size is within the bounds and while the bytes it really unpacks to stay within them."""
    with zipfile.ZipFile(path) as archive:
        try:
            info = archive.getinfo(member)
        except KeyError:
            raise RuntimeFailure(f"{path}: the archive has no {member}") from None
        if info.compress_type != zipfile.ZIP_STORED:
            bound = min(MAX_UNPACKED_WEIGHTS, MAX_WEIGHTS_RATIO * info.compress_size + UNPACKED_SLACK)
            refused = RuntimeFailure(
                f"{path}: refused: {member} unpacks to more than {bound:,} bytes ({MAX_WEIGHTS_RATIO} times its "
                f"compressed size, at most {MAX_UNPACKED_WEIGHTS:,}; Keras stores it uncompressed)"
            )
            if info.file_size > bound:  # before a byte is written
                raise refused
            with archive.open(info) as handle, tempfile.TemporaryFile(prefix="archviz-") as unpacked:
                copied = 0
                while chunk := handle.read(2**20):
                    copied += len(chunk)
                    if copied > min(bound, info.file_size):  # the declared size may lie
                        raise refused
                    unpacked.write(chunk)
                unpacked.seek(0)
                yield unpacked
            return
        with path.open("rb") as raw:
            raw.seek(info.header_offset)
            signature, name_length, extra_length = _ZIP_LOCAL_HEADER.unpack(raw.read(_ZIP_LOCAL_HEADER.size))
            if signature != b"PK\x03\x04":
                raise RuntimeFailure(f"{path}: a damaged zip archive: {member} has no local header")
            start = info.header_offset + _ZIP_LOCAL_HEADER.size + name_length + extra_length
            yield _Window(raw, start, info.file_size)


class _Window(io.RawIOBase):
    """Bytes ``start`` to ``start + size`` of an open file, as a file of their own."""

    def __init__(self, raw: Any, start: int, size: int) -> None:
        super().__init__()
        self.raw, self.start, self.length, self.position = raw, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.length}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: Any) -> int:
        count = max(0, min(len(buffer), self.length - self.position))
        self.raw.seek(self.start + self.position)
        got = self.raw.readinto(memoryview(buffer)[:count])
        self.position += got
        return got
