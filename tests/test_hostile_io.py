"""Hostile inputs and outputs: each ends in one line on stderr and the right exit code, never a
traceback, a hang or a library's own line; a failed write leaves the old file and no temporary one.

Real conditions, not mocks: a full tmpfs, /proc and /sys, symbolic links, SIGTERM to a real
process, and zip and HDF5 files built to attack the reader.
"""

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ARCHVIZ = Path(sys.executable).with_name("archviz")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def archviz(*args, cwd, env=None):
    """The installed entry point as a real process, with TensorFlow's log level left unset."""
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    environment.update(env or {})
    return subprocess.run([str(ARCHVIZ), *map(str, args)], capture_output=True, cwd=cwd, env=environment)


def one_error_line(stderr):
    """The single ``archviz: error:`` line of ``stderr`` (bytes or text); it must be the only line."""
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    lines = text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("archviz: error: "), text
    return lines[0]


def hidden_files(*directories):
    return [path for directory in directories for path in Path(directory).iterdir() if path.name.startswith(".")]


def write_zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A small Keras model written by ``archviz export`` (a real process): (its path, the process)."""
    directory = tmp_path_factory.mktemp("exported")
    result = archviz("export", "resnet20", "-o", "resnet20.keras", cwd=directory)
    assert result.returncode == 0, result.stderr.decode()
    return directory / "resnet20.keras", result


# --------------------------------------------------------------------------
# -o - is standard output
# --------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["summary", "resnet20"], ["compare", "resnet20", "resnet32"]])
def test_dash_is_standard_output_for_text(run_cli, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    code, to_file, err = run_cli(*args, "-o", "-")
    assert (code, err) == (0, "")
    assert to_file == run_cli(*args)[1]
    assert list(tmp_path.iterdir()) == []


def test_dash_is_standard_output_for_the_report(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("report", "resnet20", "-o", "-")
    assert (code, err) == (0, "")
    assert out.startswith("<!DOCTYPE html>")
    assert list(tmp_path.iterdir()) == []


def test_dash_diagram_needs_format(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("diagram", "resnet20", "-o", "-")
    assert code == 2 and out == ""
    assert "--format" in one_error_line(err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt, start", [("svg", "<?xml"), ("dot", "digraph")])
def test_dash_diagram_text_formats(run_cli, tmp_path, monkeypatch, fmt, start):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("diagram", "resnet20", "--format", fmt, "-o", "-")
    assert (code, err) == (0, "")
    assert out.startswith(start)
    assert list(tmp_path.iterdir()) == []


def test_dash_diagram_png_is_binary_on_standard_output(tmp_path):
    result = archviz("diagram", "resnet20", "--format", "png", "-o", "-", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout.startswith(PNG_SIGNATURE)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.tf
def test_dash_export_writes_the_keras_archive_to_standard_output(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = archviz("export", "resnet20", "-o", "-", cwd=tmp_path, env={"TMPDIR": str(scratch)})
    assert result.returncode == 0, result.stderr.decode()
    with zipfile.ZipFile(io.BytesIO(result.stdout)) as archive:
        assert "config.json" in archive.namelist()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tmp"]
    assert list(scratch.iterdir()) == []  # the temporary directory is gone


# --------------------------------------------------------------------------
# Symbolic links, long names, directories where no file can be made
# --------------------------------------------------------------------------


def test_symlink_is_written_through_atomically(run_cli, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "summary.txt"
    target.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    code, _, err = run_cli("summary", "resnet20", "-o", link)
    assert code == 0, err
    assert link.is_symlink() and link.resolve() == target
    assert target.read_text().startswith("resnet20")
    assert hidden_files(tmp_path, elsewhere) == []


def test_dangling_symlink_creates_its_target(run_cli, tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "target.txt")
    code, _, err = run_cli("summary", "resnet20", "-o", link)
    assert code == 0, err
    assert link.is_symlink() and (tmp_path / "target.txt").read_text().startswith("resnet20")


def test_file_name_of_250_characters(run_cli, tmp_path):
    output = tmp_path / ("n" * 246 + ".txt")
    code, _, err = run_cli("summary", "resnet20", "-o", output)
    assert code == 0, err
    assert output.read_text().startswith("resnet20")
    assert hidden_files(tmp_path) == []


@pytest.mark.parametrize("length", [256, 100_000])
def test_file_name_too_long_is_one_line(run_cli, tmp_path, length):
    code, out, err = run_cli("summary", "resnet20", "-o", tmp_path / ("n" * (length - 4) + ".txt"))
    assert (code, out) == (1, "")
    line = one_error_line(err)
    assert line.startswith("archviz: error: cannot write ")
    assert length > 256 or line.endswith("File name too long")  # a very long line is cut short
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("output", ["/proc/x.txt", "/sys/x.txt", "/sys/kernel/x.txt"])
def test_directory_without_room_for_a_temporary_file(run_cli, output):
    code, out, err = run_cli("summary", "resnet20", "-o", output)
    assert (code, out) == (1, "")
    assert one_error_line(err).startswith(f"archviz: error: cannot write {output}: ")  # where, the system says


# --------------------------------------------------------------------------
# A full disk
# --------------------------------------------------------------------------


@pytest.fixture
def full_disk(tmp_path):
    """A 64 KiB tmpfs holding old x.keras, x.png and x.txt, then filled to the last byte."""
    mount = tmp_path / "full"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        for name in ("x.keras", "x.png", "x.txt"):
            (mount / name).write_bytes(b"old")
        with open(mount / "filler", "wb", buffering=0) as filler:
            with pytest.raises(OSError):
                while True:
                    filler.write(b"\0" * 1024)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def assert_old_files_kept(directory):
    assert all((directory / name).read_bytes() == b"old" for name in ("x.keras", "x.png", "x.txt"))
    assert hidden_files(directory) == []


def test_full_disk_text_output(run_cli, full_disk):
    code, _, err = run_cli("summary", "resnet20", "-o", full_disk / "x.txt")
    assert code == 1
    assert one_error_line(err).endswith("No space left on device")
    assert_old_files_kept(full_disk)


def test_full_disk_png(full_disk):
    result = archviz("diagram", "resnet20", "-o", full_disk / "x.png", cwd=full_disk.parent)
    assert result.returncode == 1
    assert one_error_line(result.stderr).endswith("No space left on device")
    assert_old_files_kept(full_disk)


def test_full_disk_png_of_a_large_graph_has_no_dot_warning(full_disk):
    """dot warns that a large PNG is scaled to fit; that line must not reach stderr."""
    result = archviz("diagram", "resnet152", "--depth", "layers", "-o", full_disk / "x.png", cwd=full_disk.parent)
    assert result.returncode == 1
    one_error_line(result.stderr)


@pytest.mark.tf
def test_full_disk_export(full_disk):
    result = archviz("export", "resnet20", "-o", full_disk / "x.keras", cwd=full_disk.parent)
    assert result.returncode == 1
    progress, error = result.stderr.decode().splitlines()
    assert progress.startswith("building resnet20 in Keras")
    assert one_error_line(error).endswith("No space left on device")
    assert_old_files_kept(full_disk)


# --------------------------------------------------------------------------
# SIGTERM during a write
# --------------------------------------------------------------------------


@pytest.mark.tf
def test_sigterm_during_export_removes_the_temporary_file(tmp_path):
    target = tmp_path / "big.keras"
    target.write_bytes(b"old")
    process = subprocess.Popen(
        [str(ARCHVIZ), "export", "resnet152", "-o", str(target)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 300
        while not hidden_files(tmp_path):
            assert process.poll() is None, "export ended before its temporary file appeared"
            assert time.monotonic() < deadline, "no temporary file after 300 s"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode in (1, 143)
    assert err.decode().splitlines()[1:] == ["archviz: terminated"]
    assert target.read_bytes() == b"old"
    assert hidden_files(tmp_path) == []


# --------------------------------------------------------------------------
# TensorFlow says nothing
# --------------------------------------------------------------------------


@pytest.mark.tf
def test_export_prints_only_its_own_progress(exported):
    path, result = exported
    lines = result.stderr.decode().splitlines()
    assert lines == [
        "building resnet20 in Keras (loading TensorFlow)...",
        f"wrote {path.name}: 271,098 params, 96 layers",
    ]


@pytest.mark.tf
def test_summary_of_a_keras_file_has_empty_stderr(exported):
    path, _ = exported
    result = archviz("summary", path.name, "--format", "json", cwd=path.parent)
    assert (result.returncode, result.stderr) == (0, b"")
    assert json.loads(result.stdout)["totals"]["params"] == 271_098


def test_a_refused_lambda_is_one_line_from_a_real_process(tmp_path):
    """Safe mode's refusal, with TensorFlow's log level unset: exactly archviz's one line."""
    script = (
        "import keras\n"
        "i = keras.Input((4,))\n"
        "keras.Model(i, keras.layers.Lambda(lambda x, k=2.0: x * k)(i)).save('lambda.keras')\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True, capture_output=True)
    for command in ("summary", "diagram", "report"):
        args = [] if command == "summary" else ["-o", f"out.{'html' if command == 'report' else 'svg'}"]
        result = archviz(command, "lambda.keras", *args, cwd=tmp_path)
        assert result.returncode == 1
        assert "contains a Lambda layer" in one_error_line(result.stderr)


# --------------------------------------------------------------------------
# Bad files fail before TensorFlow is imported
# --------------------------------------------------------------------------

PROBE = """
import sys
from archviz.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="archviz")
except SystemExit as done:
    print(done.code, "tensorflow" in sys.modules, "keras" in sys.modules)
"""


DEEP = "[" * 100_000 + "]" * 100_000
ZIPS = {  # .keras archives (and one misnamed .h5), by file name: their members
    "dotdot.keras": {"config.json": "{}", "../evil.py": "x"},
    "absolute.keras": {"config.json": "{}", "/etc/evil": "x"},
    "drive.keras": {"config.json": "{}", "C:\\evil": "x"},
    "noconfig.keras": {"metadata.json": "{}"},
    "notjson.keras": {"config.json": "{not json"},
    "list.keras": {"config.json": "[1, 2]"},
    "deep.keras": {"config.json": DEEP},
    "deep600.keras": {"config.json": '{"a": ' * 600 + "1" + "}" * 600},
    "zip-named.h5": {"config.json": "{}"},
}
HDF5S = {  # HDF5 files (and one misnamed .keras), by file name: their model_config attribute
    "weights.h5": None,
    "deep.h5": DEEP,
    "notjson.h5": "{not json",
    "hdf5-named.keras": "{}",
}
#: case -> (file name, a fragment of the one line it must produce)
HOSTILE = {
    "missing": ("nothere.keras", "cannot read nothere.keras: no such file"),
    "directory": ("directory.keras", "it is a directory"),
    "random bytes": ("random.keras", "not a Keras model file: neither a zip archive (.keras) nor HDF5 (.h5)"),
    "random h5": ("random.h5", "neither a zip archive (.keras) nor HDF5 (.h5)"),
    "dot-dot member": ("dotdot.keras", "archive member '../evil.py' points outside the archive"),
    "absolute member": ("absolute.keras", "archive member '/etc/evil' points outside the archive"),
    "drive member": ("drive.keras", "points outside the archive"),
    "zip bomb": ("bomb.keras", "config.json is 67,108,866 bytes uncompressed, over the limit of 67,108,864"),
    "no config": ("noconfig.keras", "it has no config.json"),
    "not json": ("notjson.keras", "config.json is not valid JSON"),
    "not an object": ("list.keras", "config.json is not a JSON object"),
    "100,000 deep": ("deep.keras", "config.json nests more than 500 levels deep"),
    "600 deep": ("deep600.keras", "config.json nests more than 500 levels deep"),
    "weights-only h5": ("weights.h5", "an HDF5 file without a Keras model (no model_config attribute"),
    "deep h5": ("deep.h5", "the model_config attribute nests more than 500 levels deep"),
    "not json h5": ("notjson.h5", "the model_config attribute is not valid JSON"),
    "hdf5 named .keras": ("hdf5-named.keras", "a .keras model file must be a zip archive (.keras), but this is HDF5"),
    "zip named .h5": ("zip-named.h5", "a .h5 model file must be HDF5 (.h5), but this is a zip archive (.keras)"),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A directory holding every file of :data:`HOSTILE` (but the missing one)."""
    import random

    import h5py

    directory = tmp_path_factory.mktemp("hostile")
    (directory / "directory.keras").mkdir()
    for name in ("random.keras", "random.h5"):
        (directory / name).write_bytes(random.Random(name).randbytes(4096))
    for name, members in ZIPS.items():
        write_zip(directory / name, members)
    write_zip(directory / "bomb.keras", {"config.json": b"{" + b" " * 2**26 + b"}"})  # 64 MiB + 2, deflated to 64 KiB
    for name, config in HDF5S.items():
        with h5py.File(directory / name, "w") as handle:
            handle["kernel"] = [1.0, 2.0]
            if config is not None:
                handle.attrs["model_config"] = config
    return directory


@pytest.mark.parametrize("case", HOSTILE)
def test_bad_keras_file_is_one_line(run_cli, hostile, monkeypatch, case):
    name, fragment = HOSTILE[case]
    monkeypatch.chdir(hostile)
    code, out, err = run_cli("summary", name)
    assert (code, out) == (1, "")
    assert fragment in one_error_line(err)


@pytest.mark.parametrize(
    "case", ["missing", "directory", "random bytes", "100,000 deep", "dot-dot member", "weights-only h5"]
)
def test_bad_keras_file_fails_before_tensorflow_is_imported(hostile, case):
    name, fragment = HOSTILE[case]
    result = subprocess.run([sys.executable, "-c", PROBE, "summary", name], capture_output=True, text=True, cwd=hostile)
    assert result.stdout.split() == ["1", "False", "False"]
    assert fragment in one_error_line(result.stderr)


def test_bench_checks_the_file_before_loading_tensorflow(hostile):
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "bench", "deep.keras"], capture_output=True, text=True, cwd=hostile
    )
    assert result.stdout.split() == ["1", "False", "False"]
    assert one_error_line(result.stderr).endswith("config.json nests more than 500 levels deep")


@pytest.mark.tf
def test_a_real_keras_file_passes_the_checks(exported):
    from archviz.sources.keras.files import MAX_CONFIG_DEPTH, nesting_depth, read_config

    config = read_config(exported[0])
    assert config["class_name"] == "Functional"
    assert 1 < nesting_depth(config) < MAX_CONFIG_DEPTH


def test_nesting_depth():
    from archviz.sources.keras.files import nesting_depth

    assert [nesting_depth(value) for value in (1, [], {}, [[]], {"a": [1, {"b": 2}]})] == [0, 1, 1, 2, 3]
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert nesting_depth(deep) == 100_001


@pytest.mark.parametrize("suffix, code", [(".keras", 1), ("", 2)])
def test_model_argument_of_100000_characters(run_cli, tmp_path, monkeypatch, suffix, code):
    monkeypatch.chdir(tmp_path)
    result, out, err = run_cli("summary", "m" * 100_000 + suffix)
    assert (result, out) == (code, "")
    one_error_line(err)


# --------------------------------------------------------------------------
# TensorFlow running out of memory
# --------------------------------------------------------------------------


@pytest.mark.tf
def test_bench_out_of_memory_is_one_line(tmp_path):
    result = archviz(
        "bench",
        "resnet20",
        "--input-shape",
        "65536,65536,3",
        "--batch-size",
        "1000000",
        "--steps",
        "1",
        "--warmup",
        "0",
        cwd=tmp_path,
    )
    assert result.returncode == 1  # refused before TensorFlow loads (archviz.core.memory), so no progress line
    error = one_error_line(result.stderr)
    assert error.startswith("archviz: error: resnet20 would need at least ")
    assert "at batch size 1,000,000); " in error and error.endswith(" is available: try a smaller --batch-size")


@pytest.mark.parametrize(
    "args",
    [
        ["summary", "resnet18"],
        ["summary", "resnet18", "--format", "json", "-o", "-"],
        ["report", "resnet20", "-o", "-"],
        ["diagram", "resnet20", "--format", "svg", "-o", "-"],
        ["list"],
        ["--help"],
        ["summary", "--help"],
        [],
    ],
)
def test_a_full_standard_output_is_one_line(tmp_path, args):
    """``> /dev/full``: the write fails with ENOSPC, in archviz's writer, in click's echo or in the final
    flush; each is one line and exit 1, and Python's own flush at exit has nothing left to fail on."""
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [sys.executable, "-m", "archviz", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
            timeout=300,
            check=False,
        )
    assert result.returncode == 1
    assert one_error_line(result.stderr) == "archviz: error: cannot write to standard output: No space left on device"


def test_running_out_of_memory_is_one_line(run_cli, monkeypatch):
    """A MemoryError (a bound that missed a case) reaches the user as one line, exit 1."""
    import archviz.api

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(archviz.api, "analyze", exhausted)
    code, _, err = run_cli("summary", "resnet18")
    assert code == 1 and err.splitlines() == [
        "archviz: error: out of memory: the input needs more memory than this machine has available"
    ]
