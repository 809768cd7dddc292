"""Atomic output: a failed run leaves no partial file and never clobbers an existing one.

``-`` names standard output. A symbolic link is written through: its target is
replaced atomically and the link stays a link.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from archviz.errors import RuntimeFailure

#: The output name that means standard output.
STDOUT = "-"


def is_stdout(path: str | Path | None) -> bool:
    return str(path) == STDOUT


def check_suffix(path: str | Path, suffixes: tuple[str, ...], what: str) -> None:
    """A usage error unless ``path`` is standard output or ends in one of ``suffixes``."""
    if not is_stdout(path) and Path(path).suffix.lower() not in suffixes:
        from archviz.errors import UsageError
        from archviz.limits import clip

        raise UsageError(f"cannot write {what} to {clip(str(path))}: the file name must end in {' or '.join(suffixes)}")


def check_writable(path: str | Path) -> Path:
    """The file a write to ``path`` replaces (a link's target); fail early, in one line, when its
    directory is missing or not writable or the name cannot be a file (a directory, a name that ends in
    ``/``, a device or FIFO)."""
    if is_stdout(path):
        return Path(STDOUT)
    if str(path).endswith(("/", os.sep)):  # Path() drops the slash: x.txt/ would write a file x.txt
        raise RuntimeFailure(f"cannot write {path}: a name ending in / is a directory; name a file")
    if os.path.basename(str(path)) in ("", ".", ".."):  # Path() drops a last "." too: x.txt/. writes x.txt
        raise RuntimeFailure(f"cannot write {path}: a name ending in . or .. is a directory; name a file")
    try:
        target = Path(path)
        if target.is_symlink():
            target = Path(os.path.realpath(target))
        directory = target.parent
        if not directory.is_dir():
            raise RuntimeFailure(f"cannot write {path}: directory {directory} does not exist")
        if not os.access(directory, os.W_OK):
            raise RuntimeFailure(f"cannot write {path}: directory {directory} is not writable")
        with contextlib.suppress(FileNotFoundError):
            mode = os.stat(target).st_mode
            if stat.S_ISDIR(mode):
                raise RuntimeFailure(f"cannot write {path}: it is a directory")
            if not stat.S_ISREG(mode):  # a device, a FIFO, a socket: never replaced by a file
                raise RuntimeFailure(f"cannot write {path}: not a regular file (use -o - for standard output)")
    except OSError as error:  # a name too long, a loop of links, ...
        raise RuntimeFailure(f"cannot write {path}: {error.strerror or error}") from None
    return target


def open_regular(path: str | Path, what: str) -> BinaryIO:
    """``path`` opened for reading, if it is a regular file. A FIFO would block and a device never end:
    they are refused in one line, by ``stat`` before anything opens them, then again by the opened
    descriptor (opened without blocking, so a FIFO swapped in between cannot hang the open)."""
    from archviz.limits import clip

    def refused(reason: str) -> RuntimeFailure:
        return RuntimeFailure(f"cannot read {what} {clip(str(path))}: {reason}")

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise refused("it is a directory" if os.path.isdir(path) else "not a regular file")
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise refused("no such file") from None
    except OSError as error:
        raise refused(error.strerror or str(error)) from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise refused("not a regular file")
    os.set_blocking(descriptor, True)
    return os.fdopen(descriptor, "rb")


def write_output(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to standard output when ``path`` is ``-``, else atomically to the file."""
    if not is_stdout(path):
        write_atomic(path, data)
        return
    if sys.stdout is None:
        raise RuntimeFailure("cannot write to standard output: it is closed")
    with writing_stdout():
        sys.stdout.flush()
        if isinstance(data, str):
            sys.stdout.write(data)
            sys.stdout.flush()
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()


@contextlib.contextmanager
def writing_stdout() -> Iterator[None]:
    """An OSError writing standard output (``> /dev/full``, a closed descriptor) as one line. A broken
    pipe is not an error to report (``archviz ... | head``): it passes, and the group exits quietly.
    What is still buffered is dropped, so Python's own flush at exit cannot fail again."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as error:
        discard_stdout()
        raise RuntimeFailure(f"cannot write to standard output: {error.strerror or error}") from None


def discard_stdout() -> None:
    """Point standard output at the null device: what is buffered for a stream that failed goes nowhere."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def _mode(target: Path) -> int:
    """The permissions of a file written to ``target``: the old file's, or what the umask allows."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write to a temporary file beside ``path``, then rename it into place."""
    target = check_writable(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with _cleanup_on_sigterm():
        descriptor, temporary = _temporary(path, target, ".tmp")
        try:
            with _as_runtime_failure(path):
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(payload)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(temporary, _mode(target))
                os.replace(temporary, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
    return target


@contextlib.contextmanager
def atomic_path(path: str | Path, *, suffix: str = "") -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix, else ``suffix``) for tools that write files
    themselves; renamed into place when the block succeeds, removed when it fails. For ``-``, a
    path in a temporary directory whose bytes are copied to standard output."""
    target = check_writable(path)
    suffix = target.suffix or suffix
    with _cleanup_on_sigterm():
        if is_stdout(path):
            import shutil
            import tempfile

            with tempfile.TemporaryDirectory(prefix="archviz-") as directory:
                temporary = Path(directory, f"output{suffix}")
                with _as_runtime_failure(path):
                    yield temporary
                with temporary.open("rb") as handle, writing_stdout():
                    sys.stdout.flush()
                    shutil.copyfileobj(handle, sys.stdout.buffer)
                    sys.stdout.buffer.flush()
            return
        descriptor, name = _temporary(path, target, suffix)
        temporary = Path(name)
        try:
            os.close(descriptor)
            os.unlink(temporary)  # some writers refuse to overwrite; they create it
            with _as_runtime_failure(path):
                yield temporary
                os.chmod(temporary, _mode(target))
                os.replace(temporary, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)


def _temporary(path: str | Path, target: Path, suffix: str) -> tuple[int, str]:
    """Create a temporary file beside ``target``. Its name stays short (a target name near the
    255-byte limit must not push it over), and starts with the target's for a human to see."""
    try:
        import tempfile

        return tempfile.mkstemp(prefix=f".{target.stem[:32]}.", suffix=suffix, dir=target.parent)
    except OSError as error:
        raise RuntimeFailure(
            f"cannot write {path}: cannot create a temporary file in {target.parent}: {error.strerror or error}"
        ) from None


@contextlib.contextmanager
def _as_runtime_failure(path: str | Path) -> Iterator[None]:
    """An OSError of a tool writing ``path`` (a full disk) as one line."""
    try:
        yield
    except OSError as error:
        raise RuntimeFailure(f"cannot write {path}: {error.strerror or error}") from None


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit("archviz: terminated")  # Python prints the message and exits 1, after every ``finally``


@contextlib.contextmanager
def _cleanup_on_sigterm() -> Iterator[None]:
    """While a temporary file exists, make SIGTERM an exception, so that it is removed on the way out."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread handles signals
        yield
        return
    import signal

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
