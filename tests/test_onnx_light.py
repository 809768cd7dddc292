"""The light install: ``pip install ".[onnx]"`` into a fresh virtual environment (no TensorFlow, no
torch) reads, summarizes and draws a .onnx file."""

from __future__ import annotations

import shutil
import subprocess
import venv

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


def test_onnx_extra_alone_reads_summarizes_and_draws(tmp_path):
    source = tmp_path / "source"  # pip builds in the tree it installs: a copy, so nothing lands in the checkout
    source.mkdir()
    for part in ("pyproject.toml", "setup.cfg", "README.md"):
        shutil.copy(ROOT / part, source / part)
    for part in ("archviz", "templates"):
        shutil.copytree(ROOT / part, source / part, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", f"{source}[onnx]"], capture_output=True, text=True, timeout=900
    )
    assert install.returncode == 0, install.stderr[-2000:]
    absent = subprocess.run(
        [
            python,
            "-c",
            "import importlib.util as u; print([m for m in ('tensorflow', 'keras', 'torch') if u.find_spec(m)])",
        ],
        capture_output=True,
        text=True,
    )
    assert absent.stdout.strip() == "[]"
    archviz = env_dir / "bin" / "archviz"
    fixture = ROOT / "examples" / "onnx" / "tiny_resnet50.onnx"
    summary = subprocess.run([archviz, "summary", fixture, "--depth", "stages"], capture_output=True, text=True)
    assert summary.returncode == 0, summary.stderr
    assert "MACs:              1,869,056" in summary.stdout and "layer4" in summary.stdout
    svg = tmp_path / "d.svg"
    drawn = subprocess.run([archviz, "diagram", fixture, "-o", svg], capture_output=True, text=True)
    assert drawn.returncode == 0, drawn.stderr
    assert svg.read_text().count('class="node"') > 5
    report = subprocess.run([archviz, "report", fixture, "-o", tmp_path / "r.html"], capture_output=True, text=True)
    assert report.returncode == 0, report.stderr
