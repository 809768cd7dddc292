"""Names reach every text format as text: the terminal table, Markdown, CSV and JSON of ``summary`` and
``compare``. Model names come from a TOML spec, layer, block and stage names from a Keras file's
config (read without TensorFlow); both are arbitrary text (the strategy of tests/test_security.py).

* no control or format character reaches the output (a terminal acts on none);
* Markdown, parsed by a CommonMark parser, has no link, image, HTML, code span or emphasis from a name;
* no CSV cell, header included, starts a formula;
* JSON gives each name back as it was.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archviz.render.formats import render
from archviz.render.tables import markdown_text, visible
from tests.test_security import names

markdown_it = pytest.importorskip("markdown_it")
pytestmark = pytest.mark.tf  # the Keras file is made with Keras (and read without it)

TEXT_FORMATS = ("table", "markdown", "csv", "json")
#: A Keras file's names must be text JSON can carry as UTF-8 (no lone surrogates); a TOML string too.
#: What GitHub's Markdown makes links and entities of, mixed into the names.
AUTOLINKS = ["https://", "http://", "www.", "WWW.", "@", "evil.example", "mailto:", "&copy;", "&#60;", " "]
text_names = (names | st.lists(st.sampled_from(AUTOLINKS) | st.characters(), max_size=8).map("".join)).map(
    lambda name: "".join(ch for ch in name if not 0xD800 <= ord(ch) <= 0xDFFF)
)
#: A stage or block name is one part of a dotted name.
parts = text_names.map(lambda name: name.replace(".", ""))


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (every character escaped, so any text survives)."""
    return '"' + "".join(f"\\U{ord(ch):08X}" for ch in text) + '"'


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A Keras file of two stages of two residual blocks (a conv and an add each), its names placeholders."""
    from archviz.backend import keras as load_keras

    keras = load_keras()
    inputs = x = keras.Input((8, 8, 3), name="PLACEIN")
    layer = 0
    for s in range(2):
        for b in range(2):
            y = keras.layers.Conv2D(3, 3, padding="same", name=f"PLACES{s}.PLACEB{b}.PLACEL{layer}")(x)
            x = keras.layers.Add(name=f"PLACES{s}.PLACEB{b}.PLACEL{layer + 1}")([x, y])
            layer += 2
    path = tmp_path_factory.mktemp("template") / "template.keras"
    keras.Model(inputs, x).save(path)
    return path


def keras_file(template: Path, path: Path, stages: list[str], blocks: list[str], layers: list[str]) -> Path:
    """A copy of the template (two stages of two residual blocks, a conv and an add each) whose stage,
    block and layer names are the given text, made unique by an index."""
    with zipfile.ZipFile(template) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = members["config.json"].decode("utf-8")
    layer = 0
    for s in range(2):
        for b in range(2):
            for _ in range(2):
                old = f"PLACES{s}.PLACEB{b}.PLACEL{layer}"
                new = f"{stages[s]}{s}.{blocks[b]}{b}.{layers[layer % len(layers)]}{layer}"
                config = config.replace(f'"{old}"', json.dumps(new))
                layer += 1
    members["config.json"] = config.encode("utf-8")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def check_text(fmt: str, text: str, shown: list[str]) -> None:
    """The checks every format shares, and each format's own."""
    bad = [ch for ch in text if ch != "\n" and not ch.isprintable()]
    assert not bad, (fmt, bad)
    if fmt == "table":
        for name in shown:
            assert visible(name) in text
    elif fmt == "markdown":
        check_markdown(text, shown)
    elif fmt == "csv":
        for row in csv.reader(io.StringIO(text)):
            for cell in row:
                assert cell.lstrip(" ")[:1] not in ("=", "+", "-", "@"), cell
    else:
        json.loads(text)


def check_markdown(text: str, shown: list[str]) -> None:
    """Parsed as CommonMark with tables: only archviz's own markup (the bold title, tables, its block
    quotes) forms; every name is text, shown as :func:`visible` shows it."""
    parser = markdown_it.MarkdownIt("gfm-like")  # CommonMark with tables and GitHub's autolinks (linkify)
    tokens = parser.parse(text)
    inline_kinds = set()
    shown_text = []
    for token in tokens:
        assert token.type not in ("html_block", "fence", "code_block"), token
        for child in token.children or ():
            inline_kinds.add(child.type)
            if child.type == "text":
                shown_text.append(child.content)
    assert inline_kinds <= {"text", "strong_open", "strong_close", "softbreak"}, inline_kinds
    rendered = "\n".join(shown_text)
    for name in shown:
        assert visible(name).strip() in rendered  # a table cell is trimmed of spaces
    html = parser.render(text)
    assert "<a " not in html and "<img" not in html and "<script" not in html.lower()


def json_names(data: object) -> set[str]:
    """Every ``name`` value in a JSON record."""
    found: set[str] = set()
    if isinstance(data, dict):
        found |= {value for key, value in data.items() if key == "name" and isinstance(value, str)}
        for value in data.values():
            found |= json_names(value)
    elif isinstance(data, list):
        for value in data:
            found |= json_names(value)
    return found


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    model=text_names.filter(lambda name: name.strip()),
    stages=st.lists(parts, min_size=2, max_size=2),
    blocks=st.lists(parts, min_size=2, max_size=2),
    layers=st.lists(text_names, min_size=1, max_size=4),
)
def test_names_are_text_in_every_format(tmp_path_factory, template, model, stages, blocks, layers):
    from archviz.api import analyze
    from archviz.studies.compare import compare

    directory = tmp_path_factory.mktemp("names")
    spec = directory / "spec.toml"
    spec.write_text(f'base = "resnet20"\nname = {toml_string(model)}\n', encoding="utf-8")
    model_file = keras_file(template, directory / "model.keras", stages, blocks, layers)

    spec_summary, file_summary = analyze(str(spec)), analyze(str(model_file))
    assert spec_summary.name == model
    layer_names = [record.name for record in file_summary.records if record.op != "input"]
    stage_names = [f"{stages[0]}0", f"{stages[1]}1"]
    assert [row.name for row in file_summary.stage_rows()] == stage_names
    for summary, shown in ((spec_summary, [model]), (file_summary, layer_names)):
        for fmt in TEXT_FORMATS:
            text = render(summary, fmt, depth="layers")
            check_text(fmt, text, shown if fmt != "csv" else [])
            if fmt == "json":
                assert shown[0] in json_names(json.loads(text)) or summary is file_summary
                assert summary is spec_summary or set(layer_names) <= json_names(json.loads(text))

    comparison = compare([str(spec), str(model_file)], analyze=analyze)
    for fmt in TEXT_FORMATS:
        text = render(comparison, fmt)
        # compare's per-stage header names the Keras file's stages; the spec's model name is its first cell
        check_text(fmt, text, [model, *stage_names] if fmt in ("table", "markdown") else [])
        if fmt == "json":
            assert {model, *stage_names} <= json_names(json.loads(text))


def test_markdown_text_escapes_what_could_form_markup():
    hostile = "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) `c` *e* _u_ a|b \\"
    text = markdown_text(hostile)
    html = markdown_it.MarkdownIt("commonmark").render(text)
    assert "<script" not in html and "<img" not in html and "<a " not in html and "<code" not in html
    assert "<em" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_compare_stage_header_cannot_drive_a_terminal(template, tmp_path, fmt):
    """The stage names of compare's per-stage header, as the issue found them."""
    from archviz.api import analyze
    from archviz.studies.compare import compare

    model = keras_file(template, tmp_path / "m.keras", ["\x1b[2J", "\x1b]0;title\x07\x00\r"], ["b", "c"], ["l"])
    text = render(compare([str(model)], analyze=analyze), fmt)
    assert "\x1b" not in text and "\x00" not in text and "\r" not in text and "\x07" not in text
    assert ("x1b\\[2J0" if fmt == "markdown" else "x1b[2J0") in text  # shown as an escape


def test_csv_headers_are_never_formulas(template, tmp_path):
    from archviz.api import analyze
    from archviz.studies.compare import compare

    model = keras_file(template, tmp_path / "m.keras", ["=1+1", "@SUM(A1)"], ["b", "c"], ["l"])
    header = next(csv.reader(io.StringIO(render(compare([str(model)], analyze=analyze), "csv"))))
    assert "'=1+10_params" in header and "'@SUM(A1)1_macs" in header


def test_progress_and_wrote_lines_show_names_as_text(run_cli, tmp_path):
    """``export``'s "building NAME" line, and "wrote FILE", with a name and a file name that would act
    on a terminal."""
    evil = "\x1b]0;title\x07\x1b[2J\r\x00"
    spec = tmp_path / f"{evil[:4]}.toml"
    spec.write_text(f'base = "resnet20"\nwidth_multiplier = 0.25\nname = {toml_string(evil)}\n')
    code, _, err = run_cli("export", spec, "-o", tmp_path / f"{evil[:4]}.keras")
    assert code == 0, err
    assert "building \\x1b]0;title\\x07\\x1b[2J \\x00 in Keras" in err  # a line break is a space in a line
    code, _, err2 = run_cli("summary", spec, "-o", tmp_path / f"{evil[:4]}.txt")
    assert code == 0, err2
    for text in (err, err2):
        assert not [ch for ch in text if ch != "\n" and not ch.isprintable()], text
    assert "wrote " in err2 and "\\x1b]0" in err2
