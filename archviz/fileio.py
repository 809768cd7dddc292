"""Atomic output: a failed run leaves no partial file and never clobbers an existing one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from archviz.errors import RuntimeFailure


def check_writable(path: str | Path) -> Path:
    """Fail early, in one line, when ``path``'s directory is missing or not writable."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise RuntimeFailure(f"cannot write {path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise RuntimeFailure(f"cannot write {path}: directory {directory} is not writable")
    if path.is_dir():
        raise RuntimeFailure(f"cannot write {path}: it is a directory")
    return path


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write to a temporary file beside ``path``, then rename it into place."""
    path = check_writable(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        if isinstance(error, OSError):
            raise RuntimeFailure(f"cannot write {path}: {error.strerror or error}") from None
        raise
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix) for tools that write files themselves;
    renamed into place when the block succeeds, removed when it fails."""
    path = check_writable(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent or ".")
    os.close(descriptor)
    os.unlink(temporary)  # some writers refuse to overwrite; they create it
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
