"""Every failure says why, in one line, and nothing is written outside ``-o``: the installed entry
point run as a user runs it (a subprocess), over a matrix of bad inputs and every command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.tf  # the Keras files are made with Keras

#: Each command with its output option; {model} and {out} are filled in per case.
COMMANDS = {
    "summary": ["summary", "{model}"],
    "summary-md": ["summary", "{model}", "--format", "markdown", "-o", "{out}/x.md"],
    "diagram": ["diagram", "{model}", "--depth", "layers", "-o", "{out}/x.svg"],
    "report": ["report", "{model}", "-o", "{out}/x.html"],
    "compare-csv": ["compare", "{model}", "-o", "{out}/x.csv"],
    "export": ["export", "{model}", "-o", "{out}/x.keras"],
    "bench": ["bench", "{model}", "--steps", "1", "--warmup", "0", "--batch-size", "1"],
}

#: Commands that take no model, each with a mistake.
OTHER_MISTAKES = [
    ["blocks", "--channels", "0"],
    ["fit", "--max-params", "many"],
    ["list", "-o", "{out}/x.txt/"],
    ["summary", "resnet20", "-o", "{out}/missing/x.txt"],
    ["summary", "resnet20", "-o", "{out}/"],
    ["summary", "resnet20", "--no-such-option"],
    ["diagram", "resnet20", "-o", "{out}/x.svg/"],
    ["report", "resnet20", "-o", "{out}/x.txt"],
]


def run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "archviz", *args],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        timeout=600,
    )


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """Bad models of every kind, and three that were failures with an empty stderr or a traceback."""
    from archviz.backend import keras as load_keras

    keras = load_keras()
    directory = tmp_path_factory.mktemp("models")
    inputs = x = keras.Input((8, 8, 3))
    for index in range(60):  # names beyond dot's 16,384-character strings
        x = keras.layers.ReLU(name=f"n{index:02d}" + "a" * 17_000)(x)
    keras.Model(inputs, x).save(directory / "long_names.keras")
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="a b<c>:é")(inputs)  # names TensorFlow refuses as name scopes
    keras.Model(inputs, keras.layers.ReLU(name="a_b_c__")(x), name="_bad").save(directory / "scopes.keras")
    (directory / "garbage.keras").write_bytes(b"not a zip file")
    (directory / "syntax.toml").write_text("name = \n")
    (directory / "width.toml").write_text('base = "resnet20"\nwidth_multiplier = -1\n')
    (directory / "folder.toml").mkdir()
    (directory / "_resnet20.toml").write_text('name = "_resnet20"\nbase = "resnet20"\nwidth_multiplier = 0.25\n')
    return {
        "unknown": Path("no-such-model"),
        "missing": directory / "missing.keras",
        **{path.stem: path for path in directory.iterdir()},
    }


#: What a successful run may write on stderr (README, Errors): what it wrote, and export's and bench's progress.
PROGRESS = re.compile(r"wrote .+|building .+ in Keras \(loading TensorFlow\)\.\.\.|\d+ warm-up \+ \d+ timed passes")


def check_one_line(result: subprocess.CompletedProcess, args: list[str]) -> None:
    """A failure is one line: ``archviz: error: ...`` naming a cause, nothing else on stderr; a success
    writes at most its documented progress lines there, never a warning or a traceback."""
    if result.returncode == 0:
        lines = result.stderr.splitlines()
        assert len(lines) <= 2 and all(PROGRESS.fullmatch(line) for line in lines), (args, result.stderr[-2000:])
        return
    assert result.returncode in (1, 2), (args, result.returncode, result.stderr[-2000:])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, (args, result.stderr[-2000:])
    assert lines[0].startswith("archviz: error: ") and len(lines[0]) > len("archviz: error: ") + 10, args
    assert "Traceback" not in result.stderr


def test_every_failure_is_one_line(models, tmp_path):
    cases = []
    for model_name, model in sorted(models.items()):
        for command, template in COMMANDS.items():
            out = tmp_path / f"{model_name}-{command}"
            out.mkdir()
            cases.append([part.format(model=model, out=out) for part in template])
    for index, template in enumerate(OTHER_MISTAKES):
        out = tmp_path / f"other-{index}"
        out.mkdir()
        cases.append([part.format(out=out) for part in template])
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, cases))
    failures = 0
    for args, result in zip(cases, results):
        check_one_line(result, args)
        failures += result.returncode != 0
    assert failures >= len(cases) // 2  # the matrix is mostly mistakes
    by_args = {tuple(args[:2]): result for args, result in zip(cases, results)}
    # the two that used to fail badly: a drawing of very long names, a Keras scope name
    assert by_args[("diagram", str(models["long_names"]))].returncode == 0
    assert by_args[("report", str(models["long_names"]))].returncode == 0
    assert by_args[("bench", str(models["_resnet20"]))].returncode == 0
    assert by_args[("bench", str(models["scopes"]))].returncode == 0
    assert by_args[("export", str(models["_resnet20"]))].returncode == 0


def test_trailing_slash_writes_nothing(tmp_path):
    result = run(["summary", "resnet20", "-o", f"{tmp_path}/x.txt/"])
    assert result.returncode == 1 and "ending in /" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_keras_paths_write_nothing_in_home(tmp_path, models):
    """Export, bench and a summary through Keras's loader leave HOME (where Keras keeps ``~/.keras``) and
    the temporary directory as they were; a KERAS_HOME the user set is Keras's config directory."""
    home, temporary, out = tmp_path / "home", tmp_path / "tmp", tmp_path / "out"
    for directory in (home, temporary, out):
        directory.mkdir()
    env = {"HOME": str(home), "TMPDIR": str(temporary)}
    env_without_keras_home = {key: value for key, value in os.environ.items() if key != "KERAS_HOME"}
    commands = [
        ["export", "resnet20", "-o", f"{out}/r.keras"],
        ["bench", "resnet20", "--steps", "1", "--warmup", "0", "--batch-size", "1"],
        ["summary", f"{out}/r.keras", "--loader", "keras"],
    ]
    for args in commands:
        result = subprocess.run(
            [sys.executable, "-m", "archviz", *args],
            capture_output=True,
            text=True,
            check=False,
            env={**env_without_keras_home, "PYTHONPATH": str(ROOT), **env},
            timeout=600,
        )
        assert result.returncode == 0, (args, result.stderr[-2000:])
        assert list(home.iterdir()) == [], args
        assert list(temporary.iterdir()) == [], args  # Keras's temporary config directory is removed
    assert sorted(path.name for path in out.iterdir()) == ["r.keras"]
    own = tmp_path / "keras_home"
    result = run(["summary", f"{out}/r.keras", "--loader", "keras"], env={**env, "KERAS_HOME": str(own)})
    assert result.returncode == 0, result.stderr
    assert (own / "keras.json").is_file() and list(home.iterdir()) == []


def test_the_library_keeps_its_callers_keras_home(tmp_path):
    """Only the archviz command gives Keras a config directory of its own: a program using archviz as a
    library keeps its Keras set-up (its KERAS_HOME unset, Keras's directory under its HOME)."""
    home = tmp_path / "home"
    home.mkdir()
    probe = (
        "import os, archviz\n"
        "archviz.build_keras('resnet20')\n"
        "import keras\n"
        "print(os.environ.get('KERAS_HOME'), keras.config.keras_home() if hasattr(keras.config, 'keras_home') "
        "else '')\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "KERAS_HOME"}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**env, "HOME": str(home), "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[0] == "None"
    assert (home / ".keras").is_dir()  # Keras's own default, as the caller would have it


def test_keras_names_are_valid_name_scopes():
    from archviz.backend.keras_export import model_name, scope_names

    assert scope_names(["layer1.block1.conv1", "a b", "a_b", "é/x"]) == {
        "layer1.block1.conv1": "layer1.block1.conv1",
        "a b": "a_b_2",
        "a_b": "a_b",
        "é/x": "__x",
    }
    assert [model_name(name) for name in ("_resnet20", "resnet-20", "-x", "", "ok.1")] == [
        "model_resnet20",
        "resnet-20",
        "model-x",
        "model",
        "ok.1",
    ]


@pytest.mark.parametrize(
    "name, extra",
    [("x.txt/.", []), ("x.txt/..", ["--format", "json"]), ("sub/x.txt/.", []), ("new/.", ["--format", "csv"])],
)
def test_a_name_ending_in_dot_writes_nothing(tmp_path, name, extra):
    """``Path("x.txt/.")`` is ``x.txt``: such a name would write a file it does not name. (An existing
    directory, ``-o .``, is refused by click before this.)"""
    (tmp_path / "sub").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "archviz", "summary", "resnet20", "-o", name, *extra],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
        check=False,
    )
    assert result.returncode == 1 and result.stderr == (
        f"archviz: error: cannot write {name}: a name ending in . or .. is a directory; name a file\n"
    )
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["sub"]


def test_a_success_with_more_on_stderr_is_caught():
    """The matrix's check looks at successful runs too: a warning or traceback with exit 0 fails it."""
    ok = subprocess.CompletedProcess(
        [], 0, "", "building x in Keras (loading TensorFlow)...\n0 warm-up + 1 timed passes\n"
    )
    check_one_line(ok, ["bench"])
    check_one_line(subprocess.CompletedProcess([], 0, "", "wrote out/x.svg\n"), ["diagram"])
    for stderr in ("Traceback (most recent call last):\n", "wrote x\nWARNING: something\n", "UserWarning: y\n"):
        with pytest.raises(AssertionError):
            check_one_line(subprocess.CompletedProcess([], 0, "", stderr), ["summary"])
