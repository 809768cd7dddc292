"""The HTML report: self-contained, escaped, complete; and installable from a wheel."""

import html
import re
import subprocess
import sys

import pytest
from test_diagram import tricky_graph

import archviz
from archviz.core.analysis import analyze_graph
from archviz.render.report import render_report
from archviz.studies.blocks import stage_comparison


@pytest.fixture(scope="module")
def resnet50_html():
    summary = archviz.analyze("resnet50")
    return render_report(summary, stage_comparison(summary))


def test_self_contained(resnet50_html):
    urls = set(re.findall(r"""(?:https?:)?//[^\s"'<>)]+""", resnet50_html))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}  # XML namespaces, never fetched
    assert not re.search(r"<(link|img|iframe)\b", resnet50_html)
    assert not re.search(r"<script[^>]*\bsrc=", resnet50_html)
    assert "@import" not in resnet50_html and "url(" not in resnet50_html


def test_contents(resnet50_html):
    text = html.unescape(re.sub(r"<[^>]+>", " ", resnet50_html))
    for expected in (
        "25,557,032 trainable",
        "53,120 non-trainable",
        "3,857,973,248",
        "7,744,707,176",
        "97.7 MiB",
        "137.8 MiB",
        "Keras's accounting",
        "multiply-accumulates",
        "tf.compat.v1.profiler",
        "stride on",
        "Parameters per stage",
        "MACs per stage",
        "1,179,648",
        "69,632",
    ):
        assert expected in text, expected
    assert resnet50_html.count('class="diagram"') == 3
    for depth in ("1", "2", "3"):
        assert f'data-show-depth="{depth}"' in resnet50_html
    summary = archviz.analyze("resnet50")
    rows = re.findall(r'<tr id="(row_[^"]+)"', resnet50_html)
    groups = {r.name for level in (1, 2) for r in summary.rows(level)}
    assert len(rows) == len(set(rows)) == len(summary.records) + len(groups - {r.name for r in summary.records})


def test_every_diagram_node_links_to_a_row(resnet50_html):
    rows = set(re.findall(r'<tr id="(row_[^"]+)"', resnet50_html))
    nodes = re.findall(r'<g id="node_([^"]+)" class="node"', html.unescape(resnet50_html))
    assert len(nodes) > 200
    assert {f"row_{n}" for n in nodes} <= rows


def test_names_are_escaped():
    graph, names = tricky_graph()
    page = render_report(analyze_graph(graph))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # archviz's own
    for name in names:
        assert name.rsplit(".", 1)[-1] in html.unescape(page)


def test_uncounted_layers_are_listed():
    from archviz.core.graph import Declared, Graph

    imported = Graph("imported")  # as an importer hands it over: an unknown layer keeps its declared numbers
    x = imported.add("input", "input", shape=(8, 8, 3), declared=Declared("InputLayer", (8, 8, 3)))
    imported.add("norm", "LayerNormalization", x, declared=Declared("LayerNormalization", (8, 8, 3), params=(6, 0)))
    page = render_report(analyze_graph(imported))
    assert "Not counted" in page and "<code>LayerNormalization</code>: 1 layer(s): norm" in page
    assert "FLOPs (lower bound)" in page


def test_report_command_errors(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli("report", "resnet18", "-o", "r.pdf")[0] == 2
    assert run_cli("report", "resnet18", "-o", "nowhere/r.html")[0] == 1
    (tmp_path / "r.html").write_text("old")
    code, _, err = run_cli("report", "resnet18", "--input-shape", "0", "-o", "r.html")
    assert code == 2 and (tmp_path / "r.html").read_text() == "old"
    code, _, err = run_cli("report", "resnet18", "-o", "r.html")
    assert code == 0 and "wrote r.html" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


SAVE_SEED003 = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.path.insert(0, sys.argv[1])
from seed_models import seed003
model = seed003.resnet50()
model.save("seed003.keras")
model.save("seed003.h5")
"""


@pytest.mark.slow
def test_installed_package_ships_its_templates(tmp_path):
    """A non-editable install into a fresh virtual environment (no TensorFlow, no extras: the package alone)
    writes a report from any directory, and reads and draws Keras files of built-in layers."""
    from conftest import ROOT
    from reference import SEED_FIGURES

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, str(ROOT)], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [str(venv / "bin" / "archviz"), "report", "resnet20", "-o", "r.html"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    page = (elsewhere / "r.html").read_text()
    assert "resnet20" in page and "<style>" in page and "Parameters per stage" in page
    site = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import archviz.templates, os; print(os.path.dirname(archviz.templates.__file__))",
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert "site-packages" in site
    python = [str(venv / "bin" / "python"), "-c"]
    found = subprocess.run(
        [*python, "import importlib.util as u; print(u.find_spec('tensorflow'), u.find_spec('keras'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert found == "None None\n"
    subprocess.run(
        [sys.executable, "-c", SAVE_SEED003, str(ROOT / "tests")], cwd=elsewhere, check=True, capture_output=True
    )  # written by this environment's Keras
    for name in ("seed003.keras", "seed003.h5"):
        result = subprocess.run(
            [str(venv / "bin" / "archviz"), "summary", name, "--format", "json"],
            cwd=elsewhere,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        totals = __import__("json").loads(result.stdout)["totals"]
        assert (totals["params"], totals["non_trainable_params"]) == SEED_FIGURES["seed003_resnet50_as_written.toml"]
    result = subprocess.run(
        [str(venv / "bin" / "archviz"), "diagram", "seed003.keras", "-o", "seed003.svg"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "<svg" in (elsewhere / "seed003.svg").read_text()
    # PNG charts are an extra: without it, one line that says how to add it, and no file
    result = subprocess.run(
        [str(venv / "bin" / "archviz"), "compare", "resnet18", "resnet34", "-o", "c.png"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and not (elsewhere / "c.png").exists()
    assert len(result.stderr.splitlines()) == 1 and "archviz[charts]" in result.stderr, result.stderr


def test_option_chips_read_as_words():
    page = render_report(archviz.analyze("resnet18"))
    chips = re.findall(r"<li><b>([^<]*)</b>([^<]*)</li>", page)
    text = " ".join(f"{key} {value}" for key, value in chips)
    assert "preact no" in text and "include top yes" in text and "bn epsilon 0.00001" in text
    assert "True" not in text and "False" not in text and "stride on" not in text  # basic blocks: no bottleneck knobs


@pytest.fixture(scope="module")
def open_resnet50(tmp_path_factory):
    """keras.applications' headless ResNet50 with an open input size, saved as .keras (no weights loaded)."""
    from archviz.backend import keras as load_keras

    keras = load_keras()
    path = tmp_path_factory.mktemp("open") / "resnet50_open.keras"
    keras.applications.ResNet50(weights=None, include_top=False, input_shape=(None, None, 3)).save(path)
    return path


@pytest.mark.tf
def test_report_of_an_open_input_size(run_cli, tmp_path, open_resnet50):
    """The report renders what the summary renders, and its cards say unknown where the summary does."""
    from test_security import check_html

    from archviz.core.metrics import UNKNOWN
    from archviz.render.text import totals_lines

    code, _, err = run_cli("report", open_resnet50, "-o", tmp_path / "r.html")
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    check_html(page)
    cards = {
        label: value
        for label, value in re.findall(
            r'<div class="label">([^<]*)</div>\s*<div class="value num"[^>]*>([^<]*)</div>', page
        )
    }
    summary = archviz.analyze(str(open_resnet50))
    said = dict(totals_lines(summary))
    assert cards == {
        "Parameters": "23.6 M",
        "MACs": UNKNOWN,
        "FLOPs": UNKNOWN,
        "Parameter memory": "90.0 MiB",
        "Activation memory": UNKNOWN,
    }
    for label in ("MACs", "FLOPs", "Activation memory"):
        assert said[label].startswith(UNKNOWN)
    assert "lower bound" not in page and " 0 B" not in page
    assert "Input size open" in page and "MACs per stage" not in page
    assert page.count('class="diagram"') == 3  # every depth drawn, each node linked to its row
    rows = set(re.findall(r'<tr id="(row_[^"]+)"', page))
    nodes = re.findall(r'<g id="node_([^"]+)" class="node"', html.unescape(page))
    assert len(nodes) > 100 and {f"row_{n}" for n in nodes} <= rows
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    # the block comparison at the open size: the weights, and MACs unknown
    assert re.search(r"conv2\s+256\s+\?x\?\s+1,179,648\s+69,632\s+16\.9x\s+unknown\s+unknown", text)


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _conventions(page: str) -> str:
    return _text(page.split('<section id="conventions">', 1)[1].split("</section>", 1)[0])


def test_conventions_are_the_ones_that_apply(resnet50_html):
    """The report's conventions say how this model's layers are counted, and nothing about layers it has
    not got; the whole text stays in docs/conventions.md."""
    said = _conventions(resnet50_html)
    assert "2 per MAC" in said and "n - 1 per element of an n-way add" in said
    missing = ("LayerNormalization", "Conv3DTranspose", "SpaceToBatch", "TensorFlow's Einsum", "option A", "Keras 2")
    for absent in missing:
        assert absent not in said, absent
    said = _conventions(render_report(archviz.analyze("resnext50_32x4d")))
    assert "grouped convolution" in said and "LayerNormalization" not in said
    said = _conventions(render_report(archviz.analyze("resnet20")))
    assert "option A" in said and "grouped convolution" not in said


def test_layer_table_shows_each_layers_kernel_as_the_summary_does(resnet50_html):
    """The Op column reads as the summary's table: ``conv2d 7x7/2, 64``, ``max_pool2d 3x3/2``."""
    from archviz.render.formats import render

    table = render(archviz.analyze("resnet50"), "table")
    found = re.findall(r'<td class="op">(.*?)</td>', resnet50_html)
    cells = [re.sub(r"\s+", " ", _text(cell)).strip() for cell in found]
    for expected in ("conv2d 7x7/2, 64", "max_pool2d 3x3/2", "conv2d 3x3, 64", "dense 1000 units"):
        assert expected in table and expected in cells, expected


def test_stage_charts_iterate_the_metric_table(monkeypatch):
    """A metric shown per stage gets its chart by its entry alone: FLOPs, added to the stage view."""

    from archviz.core import metrics

    page = render_report(archviz.analyze("resnet18"))
    assert re.findall(r'<figure class="chart" id="chart-(\w+)"', page) == ["params", "macs"]
    widened = tuple(
        m._replace(views=m.views | {metrics.View.STAGES}) if m.key == "flops" else m for m in metrics.METRICS
    )
    monkeypatch.setattr(metrics, "METRICS", widened)
    page = render_report(archviz.analyze("resnet18"))
    assert re.findall(r'<figure class="chart" id="chart-(\w+)"', page) == ["params", "macs", "flops"]
    flops = page.split('id="chart-flops"', 1)[1].split("</figure>", 1)[0]
    summary = archviz.analyze("resnet18")
    stage = next(row for row in summary.rows(1) if row.name == "layer1")
    assert f'title="{stage.flops:,}"' in flops and "FLOPs per stage" in flops


def test_report_depth_picks_the_diagram_shown_first(run_cli, tmp_path):
    shown = {}
    for depth in ("stages", "blocks", "layers", None):
        out = tmp_path / f"{depth}.html"
        code, _, err = run_cli("report", "resnet20", "-o", out, *(("--depth", depth) if depth else ()))
        assert code == 0, err
        page = out.read_text()
        assert page.count('class="diagram"') == 3
        panels = re.findall(r'<div class="diagram" data-depth="(\d)"([^>]*)>', page)
        shown[depth] = [key for key, attributes in panels if " hidden" not in attributes]
    assert shown == {"stages": ["1"], "blocks": ["2"], "layers": ["3"], None: ["2"]}
    code, _, err = run_cli("report", "resnet20", "--depth", "deep", "-o", tmp_path / "x.html")
    assert code == 2 and "--depth" in err and len(err.strip().splitlines()) == 1


def test_block_comparison_only_where_it_means_something():
    """Basic block or bottleneck: for models made of them, at stages whose bottleneck would have 16
    channels or more (ResNet-1202's 16- and 32-channel stages would compare against 4 and 8)."""

    def stages(name):
        return [row["stage"] for row in stage_comparison(archviz.analyze(name))]

    assert stages("resnet50") == ["layer1", "layer2", "layer3", "layer4"]
    assert stages("resnet1202") == stages("resnet20") == ["layer3"]
    assert stages("preact-resnet164") == ["layer1", "layer2", "layer3"]
    page = render_report(archviz.analyze("resnet18"), stage_comparison(archviz.analyze("resnet18")))
    assert "Basic block or bottleneck" in page


@pytest.mark.tf
def test_no_block_comparison_for_mobilenetv2(tmp_path):
    """MobileNetV2's inverted residuals (1x1, depthwise 3x3, 1x1) are neither basic blocks nor bottlenecks."""
    from archviz.backend import keras as load_keras
    from archviz.studies.blocks import residual_blocks

    keras = load_keras()
    summary = archviz.analyze(keras.applications.MobileNetV2(weights=None))
    kinds = residual_blocks(summary)
    assert len(kinds) > 10 and set(kinds.values()) == {None}
    assert stage_comparison(summary) == []
    page = render_report(summary, stage_comparison(summary))
    assert 'id="blocks"' not in page and "Basic block or bottleneck" not in page
    said = _conventions(page)
    assert "Keras 2 graphs" in said and "LayerNormalization" not in said


@pytest.mark.parametrize("name", ["resnet50", "resnet20", "resnext50_32x4d"])
def test_headings_read_as_words(name):
    """The report's own titles and headings: no double space, no word said twice in a row."""
    summary = archviz.analyze(name)
    page = render_report(summary, stage_comparison(summary))
    page = re.sub(r"<svg.*?</svg>", "", page, flags=re.S)  # the diagram's own text is the diagram's
    found = [h[1] for h in re.findall(r"<(title|h1|h2|h3|summary|th)\b[^>]*>(.*?)</\1>", page, flags=re.S)]
    assert len(found) > 10 and f"{name} · archviz report" in found
    for heading in found:
        for text in re.findall(r">?([^<>]+)<?", heading):  # each run of text as written
            assert "  " not in html.unescape(text).strip(), heading
        words = " ".join(_text(heading).split())
        assert not re.search(r"\b(\w+)\s+\1\b", words, flags=re.I), words
