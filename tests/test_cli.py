"""The command line, in-process (like the entry point) and as a real subprocess."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SPECS

ARCHVIZ = Path(sys.executable).with_name("archviz")


def test_summary_table_shows_layers_and_exact_totals(run_cli):
    code, out, err = run_cli("summary", "resnet34")
    assert code == 0 and err == ""
    assert "layer3.block6.conv2" in out
    assert "Params:            21,814,696 (21.8 M): 21,797,672 trainable, 17,024 non-trainable" in out
    assert "MACs:              3,663,761,408 (3.66 G)" in out


@pytest.mark.parametrize("depth, rows", [("stages", 7), ("1", 7), ("blocks", 23), ("2", 23)])
def test_depth_control(run_cli, depth, rows):
    code, out, _ = run_cli("summary", "resnet34", "--depth", depth, "--format", "json")
    assert code == 0
    assert len(json.loads(out)["layers"]) == rows


def test_json_record(run_cli):
    code, out, _ = run_cli("summary", "resnet50-torchvision", "--format", "json", "--batch-size", "8")
    record = json.loads(out)
    assert record["model"]["name"] == "resnet50-torchvision"
    assert record["model"]["batch_size"] == 8
    assert record["model"]["options"]["input_shape"] == [224, 224, 3]
    assert record["totals"]["trainable_params"] == 25_557_032
    assert record["totals"]["macs"] == 8 * 4_089_184_256
    assert record["totals"]["param_bytes"] == 4 * record["totals"]["params"]
    assert record["layers"][1] == {
        **record["layers"][1],
        "name": "stem.conv1",
        "op": "conv2d",
        "output_shape": [112, 112, 64],
        "params": 9408,
    }


def test_csv_is_exact(run_cli):
    code, out, _ = run_cli("summary", "resnet18", "--format", "csv", "--depth", "stages")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert sum(int(r["params"]) for r in rows) == 11_699_112
    assert sum(int(r["macs"]) for r in rows) == 1_814_073_344


def test_markdown(run_cli):
    code, out, _ = run_cli("summary", "resnet18", "--format", "markdown", "--depth", "1")
    assert code == 0
    assert "| layer4 | stage | 7x7x512 |" in out
    assert "| Params | 11,699,112 (11.7 M)" in out


def test_options_reach_the_model(run_cli):
    code, out, _ = run_cli("summary", "resnet20", "--shortcut", "b", "--classes", "100", "--format", "json")
    record = json.loads(out)
    assert record["model"]["options"]["shortcut"] == "B"
    assert record["layers"][-1]["output_shape"] == [100]


def test_spec_file(run_cli):
    code, out, _ = run_cli("summary", SPECS / "seed004_mini_resnet.toml", "--format", "json")
    assert json.loads(out)["totals"]["params"] == 1_603_861


def test_output_file_is_written_atomically(run_cli, tmp_path):
    target = tmp_path / "summary.json"
    code, _, err = run_cli("summary", "resnet18", "--format", "json", "-o", target)
    assert code == 0 and "wrote" in err
    assert json.loads(target.read_text())["totals"]["params"] == 11_699_112
    # a failing run leaves the existing file alone and no temporary file behind
    code, _, _ = run_cli("summary", "resnet18", "--input-shape", "0", "-o", target)
    assert code == 2
    assert json.loads(target.read_text())["totals"]["params"] == 11_699_112
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_list(run_cli):
    code, out, _ = run_cli("list", "resnet*-keras")
    assert code == 0
    assert "resnet152-keras" in out and "resnet50-torchvision" not in out
    code, out, _ = run_cli("list", "--format", "json")
    entries = {e["name"]: e for e in json.loads(out)}
    assert entries["resnet50"]["macs"] == 3_857_973_248
    assert entries["resnext50_32x4d"]["family"] == "resnext"


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["summary", "resnt50"], 2, "unknown model 'resnt50'.*did you mean resnet50"),
        (["summary", "resnet50", "--classes", "0"], 2, "--classes"),
        (["summary", "resnet50", "--classes", "many"], 2, "--classes"),
        (["summary", "resnet50", "--batch-size", "-4"], 2, "--batch-size"),
        (["summary", "resnet50", "--input-shape", "224,0,3"], 2, "input shape width must be an integer >= 1"),
        (["summary", "resnet50", "--input-shape", "abc"], 2, "input shape must be integers"),
        (["summary", "resnet50", "--width-multiplier", "0"], 2, "--width-multiplier"),
        (["summary", "resnet50", "--depth", "7"], 2, "beyond the model's 3 levels"),
        (["summary", "resnet50", "--depth", "leaves"], 2, "--depth"),
        (["summary", "resnet18", "--groups", "4"], 2, "bottleneck blocks only"),
        (["summary", "resnet50", "--format", "yaml"], 2, "--format"),
        (
            ["summary", str(SPECS / "seed003_resnet50_as_written.toml"), "--input-shape", "16"],
            2,
            "layer 'head.pool' .*too small",
        ),
        (["summary", "missing.toml"], 1, "cannot read spec missing.toml"),
        (["list", "nothing*"], 2, "no preset matches"),
        (["sumary", "resnet50"], 2, "No such command"),
    ],
)
def test_user_mistakes_are_one_line(run_cli, args, code, message):
    import re

    exit_code, out, err = run_cli(*args)
    assert exit_code == code
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("archviz: error: ")
    assert re.search(message, err), err


def test_bad_spec_key_is_one_line(run_cli, tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text('base = "resnet18"\nwidth_multiplyer = 2\n')
    code, out, err = run_cli("summary", spec)
    assert code == 2
    assert err == f"archviz: error: {spec}:2: unknown key 'width_multiplyer' (did you mean 'width_multiplier'?)\n"


def test_help_has_examples(run_cli):
    code, out, _ = run_cli("summary", "--help")
    assert code == 0
    assert "Examples:" in out and "archviz summary resnet34" in out
    code, out, _ = run_cli("--help")
    assert "summary" in out and "list" in out


def test_entry_point_runs_without_tensorflow():
    """The installed console script works, and a zoo summary never imports TensorFlow."""
    result = subprocess.run(
        [str(ARCHVIZ), "summary", "resnet152", "--format", "json"], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout)["totals"]["params"] == 60_344_232
    probe = (
        "import sys; from archviz.cli import cli\n"
        "try:\n    cli.main(['summary', 'resnet1202', '--depth', 'stages'])\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, env={**os.environ})


def test_entry_point_error_has_no_traceback():
    result = subprocess.run([str(ARCHVIZ), "summary", "resnet5"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("archviz: error: unknown model 'resnet5'")


WITHOUT_TENSORFLOW = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras"):
            raise ImportError("blocked for the test: " + name)
sys.meta_path.insert(0, Block())
from archviz.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="archviz")
except SystemExit as done:
    sys.exit(done.code)
"""


@pytest.mark.parametrize(
    "args, needs",
    [
        (["export", "resnet20", "-o", "r.keras"], "this command"),
        (["bench", "resnet20"], "this command"),
        (
            ["summary", "custom.keras"],
            "reading custom.keras with Keras (the config reader cannot read layer class 'mypackage>Mystery')",
        ),
    ],
)
def test_tensorflow_commands_without_tensorflow(args, needs, tmp_path):
    from test_keras_config import mutate, write_keras

    if args[-1] == "custom.keras":
        write_keras(
            tmp_path / "custom.keras", mutate(lambda c: c["layers"][1].update(module="mypackage", class_name="Mystery"))
        )
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_TENSORFLOW, *args], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 1
    assert (
        result.stderr == f"archviz: error: {needs} needs TensorFlow, which is not installed: "
        f"pip install 'archviz[tensorflow]'\n"
    )
    assert list(tmp_path.iterdir()) == ([tmp_path / "custom.keras"] if args[-1] == "custom.keras" else [])


def test_keras_files_of_built_in_layers_need_no_tensorflow(tmp_path):
    from test_keras_config import tiny, write_keras

    write_keras(tmp_path / "tiny.keras", tiny())
    outputs = []
    for args in (["summary", "tiny.keras", "--format", "json"], ["diagram", "tiny.keras", "-o", "tiny.dot"]):
        result = subprocess.run(
            [sys.executable, "-c", WITHOUT_TENSORFLOW, *args], capture_output=True, text=True, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert json.loads(outputs[0])["totals"]["params"] == 36
    assert "fc" in (tmp_path / "tiny.dot").read_text()


def test_everything_else_works_without_tensorflow(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_TENSORFLOW, "summary", "resnet50", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["params"] == 25_610_152


def test_layers_and_block_options(run_cli):
    code, out, _ = run_cli("summary", "resnet18", "--layers", "3,4,6,3", "--format", "json")
    assert json.loads(out)["totals"]["params"] == 21_814_696  # resnet34
    code, out, _ = run_cli("summary", "resnet34", "--block", "bottleneck", "--format", "json")
    assert json.loads(out)["totals"]["params"] == 25_610_152  # resnet50
    code, _, err = run_cli("summary", "resnet18", "--layers", "2,2")
    assert code == 2 and "--layers needs 4 stages for resnet18, got 2" in err
    code, _, err = run_cli("summary", "resnet18", "--layers", "2,0,2,2")
    assert code == 2 and "--layers" in err


@pytest.mark.parametrize(
    "command", ["summary", "list", "diagram", "report", "export", "bench", "compare", "blocks", "fit"]
)
def test_every_command_has_help_with_examples(run_cli, command):
    code, out, _ = run_cli(command, "--help")
    assert code == 0
    assert "Examples:" in out and f"archviz {command}" in out


#: What a command must not import: renderers, readers and frameworks it does not use (start-up is a feature).
HEAVY = (
    "graphviz",
    "jinja2",
    "markupsafe",
    "h5py",
    "numpy",
    "cairosvg",
    "zipfile",
    "tensorflow",
    "keras",
    "tf_keras",
    "onnx",
)


@pytest.mark.parametrize(
    "args, allowed",
    [
        (["--version"], ()),
        (["summary", "resnet152"], ()),
        (["summary", "resnet50", "--depth", "stages", "--format", "json"], ()),
        (["list"], ()),
        (["diagram", "resnet20", "-o", "-", "--format", "dot"], ("graphviz",)),
    ],
)
def test_a_command_imports_only_what_it_needs(args, allowed):
    """A zoo summary loads no renderer, reader or framework; --version loads no model code either."""
    probe = (
        "import sys\nfrom archviz.cli import main\nsys.argv = ['archviz', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit as done:\n    assert not done.code, done.code\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "print('HEAVY', *heavy, file=sys.stderr)\n"
        "print('MODELS', 'archviz.api' in sys.modules, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True)
    lines = dict(
        line.split(" ", 1) if " " in line else (line, "")
        for line in result.stderr.splitlines()
        if line.startswith(("HEAVY", "MODELS"))
    )
    assert set(lines["HEAVY"].split()) <= set(allowed), lines["HEAVY"]
    if args == ["--version"]:
        assert lines["MODELS"] == "False"


def test_a_zoo_table_imports_no_writer_and_no_other_command():
    """Start-up: a zoo summary as a table loads no JSON or CSV writer, no file reader and no other
    command's module (benchmarks/bench_startup.py times it)."""
    probe = (
        "import sys\nfrom archviz.cli import main\nsys.argv = ['archviz', 'summary', 'resnet20']\n"
        "try:\n    main()\nexcept SystemExit as done:\n    assert not done.code, done.code\n"
        "print('MODULES', *sorted(sys.modules), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    modules = set(next(line for line in result.stderr.splitlines() if line.startswith("MODULES")).split()[1:])
    assert "archviz.cli.summary_command" in modules
    unwanted = {"json", "csv", "archviz.sources.keras.files", "archviz.cli.model_commands"}
    unwanted |= {"archviz.cli.study_commands", "archviz.render.compare"}
    assert not unwanted & modules, unwanted & modules
    # nor the training walk (only --training needs it) nor the Keras and ONNX sources (a preset's name
    # is told from a file's by archviz.sources alone)
    sources = ("archviz.core.training", "archviz.sources.keras", "archviz.sources.onnx")
    assert not [m for m in modules if m.startswith(sources)], [m for m in modules if m.startswith(sources)]


def test_the_command_collects_garbage_again_once_tensorflow_is_imported():
    """The console script pauses Python's cyclic garbage collector (a zoo summary leaves almost no
    cycles); importing TensorFlow, which makes them by the thousand, turns it back on."""
    pytest.importorskip("tensorflow")
    probe = (
        "import gc\nfrom archviz import backend\nbackend.pause_collector()\npaused = not gc.isenabled()\n"
        "backend.keras()\nprint(paused, gc.isenabled())\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "True"]


def test_version_says_the_same_either_way(capsys):
    """``archviz --version`` answers before click is imported; the group's --version option agrees."""
    from archviz import __version__
    from archviz.cli import VERSION, cli

    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out == f"{VERSION}\n" == f"archviz, version {__version__}\n"
    result = subprocess.run([str(ARCHVIZ), "--version"], capture_output=True, text=True, check=True)
    assert result.stdout == f"{VERSION}\n" and result.stderr == ""
