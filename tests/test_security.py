"""Hostile names: no text from a model or a user can break out of the DOT, the SVG or the HTML.

Names reach DOT only through :mod:`archviz.render.dot_text`; the property tests feed arbitrary
text (quotes, braces, ``<>``, ``->``, newlines, NUL, any Unicode) as the model's, the layers' and
the groups' names and check that dot accepts the result, that the SVG has exactly the model's
nodes and edges, and that no link, script or event handler appeared.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser

import pydot
import pytest
from graphviz.quoting import quote
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archviz.core.analysis import analyze_graph
from archviz.core.graph import Graph
from archviz.render.diagram import DiagramOptions, dot_source, render
from archviz.render.dot_text import HtmlLabel, attribute, html_label
from archviz.render.report import render_report

HOSTILE = [
    '<a>{URL="javascript:alert(1)"; x -> y [URL="javascript:alert(1)" label="CLICK"]} digraph <b>',
    "</script><script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "trail.",
    "a..b",
    ".",
    "",
    "nul\x00byte",
    "back\\slash\\",
    "line\nbreak",
    "\ud800 lone surrogate",
    "node",
    "edge",
    "subgraph",
    "a:b",
    "-> x",
    "&amp; &#x3c;",
    "]]>",
    "<!-- -->",
    "ünïcödé 残差 🙂",
]

# Text made of the pieces that matter most (DOT, HTML and XML syntax, control characters), mixed
# with any other character.
PIECES = [*"<>{}[]\"';:=->&\\#./\n\x00 ", "javascript:", "URL=", "<script>", "onload=", "digraph", "é", "残"]
names = st.lists(st.sampled_from(PIECES) | st.characters(), max_size=12).map("".join)

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
DOT_ELEMENTS = {"svg", "g", "title", "polygon", "path", "text", "ellipse", "polyline", "a", "defs"}


def hostile_graph(model: str, groups: list[str], layers: list[str]) -> Graph:
    """A small residual network whose model, group and layer names are the given text."""
    graph = Graph(model)
    x = graph.add("in", "input", shape=(8, 8, 3))
    used = {"in"}
    for index, (group, layer) in enumerate(zip(groups, layers)):
        name = f"{group}.{layer}"
        while name in used:
            name += "'"
        used.add(name)
        conv = graph.add(name, "conv2d", x, filters=3, kernel=(3, 3), padding="same", use_bias=False)
        add_name = f"{name}#add{index}"
        used.add(add_name)
        x = graph.add(add_name, "add", (conv, x))
    return graph


def check_svg(svg: bytes, nodes: int, edges: int) -> None:
    root = ElementTree.fromstring(svg)
    groups = list(root.iter(f"{SVG}g"))
    captions = [g for g in groups if g.get("class") == "node" and (g.get("id") or "").startswith("caption_")]
    clusters = [g for g in groups if g.get("class") == "cluster"]
    assert len(captions) == len(clusters)  # every cluster's caption is a node of its own
    assert sum(g.get("class") == "node" for g in groups) - len(captions) == nodes
    assert sum(g.get("class") == "edge" for g in groups) == edges  # the captions' invisible edges are not drawn
    for element in root.iter():
        assert element.tag.replace(SVG, "") in DOT_ELEMENTS, element.tag
        for key, value in element.attrib.items():
            name = key.replace(XLINK, "")
            assert not name.lower().startswith("on"), (key, value)
            if name == "href":
                assert value.startswith("#"), value


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts = 0
        self.bad: list = []

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        for key, value in attrs:
            if key.lower().startswith("on") or (
                key.lower() in ("href", "src", "action", "formaction") and not (value or "").startswith("#")
            ):
                self.bad.append((tag, key, value))


def check_html(text: str) -> None:
    parser = _Tags()
    parser.feed(text)
    assert parser.scripts == 1  # archviz's own script
    assert not parser.bad
    assert not re.search(r"<\s*(iframe|object|embed|foreignObject)", text, re.I)


def test_attribute_is_always_quoted_or_an_escaped_label():
    for name in HOSTILE:
        value = attribute(name)
        assert not isinstance(value, HtmlLabel)
        written = quote(value)  # what the graphviz package writes into the DOT source
        if written != value:  # a plain id (letters, digits) needs no quotes
            assert written.startswith('"') and written.endswith('"')
            assert '"' not in re.sub(r'\\\\|\\"', "", written[1:-1])  # inner quotes only escaped
    label = html_label("<b>x</b>", "</TD>", ["<TR>"], "#ffffff", "#000000")
    assert "<b>" not in label and "&#60;/TD&#62;" in label and label.count("<TD>") == 3


@pytest.mark.parametrize("name", HOSTILE)
def test_every_hostile_name_is_drawn(name):
    graph = hostile_graph(name, [name, name], [name, "x" + name])
    summary = analyze_graph(graph)
    options = DiagramOptions(depth="layers", legend=False)
    (parsed,) = pydot.graph_from_dot_data(dot_source(summary, options))
    assert parsed is not None
    check_svg(render(summary, "svg", options), nodes=len(graph), edges=sum(len(n.inputs) for n in graph))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=names, groups=st.lists(names, min_size=1, max_size=3), layers=st.lists(names, min_size=3, max_size=3))
def test_arbitrary_names_in_diagrams(model, groups, layers):
    graph = hostile_graph(model, groups, layers)
    summary = analyze_graph(graph)
    for depth in ("layers", 1):
        options = DiagramOptions(depth=depth, legend=False)
        svg = render(summary, "svg", options)
        if depth == "layers":
            check_svg(svg, nodes=len(graph), edges=sum(len(n.inputs) for n in graph))
        else:
            check_svg(svg, nodes=len(summary.rows(1)), edges=len(re.findall(rb'class="edge"', svg)))


def part_graph(part: str, layers: list[str], clash: bool = False) -> Graph:
    """A part of two layers named ``part`` (a stem: drawn as one box at block depth), then a residual
    block; with ``clash``, a layer of the part's own name first."""
    graph = Graph(part)
    x = graph.add("in", "input", shape=(8, 8, 3))
    if clash:
        x = graph.add(part, "activation", x, fn="relu")
    x = graph.add(f"{part}.{layers[0]}", "conv2d", x, filters=3, kernel=(3, 3), padding="same", use_bias=False)
    x = graph.add(f"{part}.{layers[1]}", "activation", x, fn="relu")
    body = graph.add("stage.block.conv", "conv2d", x, filters=3, kernel=(3, 3), padding="same", use_bias=False)
    graph.add("stage.block.add", "add", (body, x))
    return graph


plain = names.filter(lambda name: name and "." not in name and name not in ("in", "stage"))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(part=plain, layers=st.lists(plain, min_size=2, max_size=2, unique=True), clash=st.booleans())
def test_arbitrary_part_names_at_block_depth(part, layers, clash):
    """A part's box at block depth: its name escaped as any node's, its layers as rows, its edges right
    (input, part, block); where a layer has the part's name, the part is not folded (no node twice)."""
    summary = analyze_graph(part_graph(part, layers, clash))
    options = DiagramOptions(depth="blocks", legend=False)
    (parsed,) = pydot.graph_from_dot_data(dot_source(summary, options))
    assert parsed is not None
    svg = render(summary, "svg", options)
    check_svg(svg, nodes=3 + 2 * clash, edges=2 + 2 * clash)
    assert ("3x3, 3, relu" in svg.decode("utf-8")) != clash  # the part's rows, one box


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=names, groups=st.lists(names, min_size=1, max_size=2), layers=st.lists(names, min_size=2, max_size=2))
def test_arbitrary_names_in_reports(model, groups, layers):
    check_html(render_report(analyze_graph(hostile_graph(model, groups, layers))))


@pytest.mark.parametrize("suffix", [".dot", ".svg", ".html"])
def test_hostile_spec_name_through_the_commands(run_cli, tmp_path, suffix):
    spec = tmp_path / "hostile.toml"
    spec.write_text(f"name = '{HOSTILE[0]}'\nbase = \"resnet20\"\n")
    out = tmp_path / f"out{suffix}"
    command = "report" if suffix == ".html" else "diagram"
    code, _, err = run_cli(command, spec, "-o", out)
    assert code == 0, err
    text = out.read_text()
    if suffix == ".dot":
        (graph,) = pydot.graph_from_dot_data(text)
        assert graph.get_edge_list() and not any(
            "javascript" in str(e.get("URL")) for e in graph.get_edge_list() if e.get("URL")
        )
        assert "URL=" not in text.replace('URL=\\"', "")
    elif suffix == ".svg":
        assert 'href="javascript' not in text
        check_svg(
            text.encode(),
            nodes=text.count('class="node"') - text.count('id="caption_'),
            edges=text.count('class="edge"'),
        )
    else:
        check_html(text)


@pytest.mark.tf
def test_hostile_keras_layer_and_file_names(run_cli, tmp_path):
    """Keras layer names (at layer depth: tooltips; their prefixes: cluster labels) and the file's own
    name reach the diagram and the report escaped."""
    keras = pytest.importorskip("keras")
    evil = '<a>{URL="javascript:alert(1)"; x -> y [URL="javascript:alert(1)"]} digraph <b>'
    inputs = keras.Input((8, 8, 3), name="in")
    x = keras.layers.Conv2D(3, 3, padding="same", name=f"{evil}.conv")(inputs)
    y = keras.layers.Conv2D(3, 3, padding="same", name=f"{evil}.<script>alert(1)<\\script>")(x)
    outputs = keras.layers.Add(name="trail.")([x, y])
    path = tmp_path / f"{evil}.keras"
    keras.Model(inputs, outputs).save(path)
    for output, args in (("x.svg", ["--depth", "layers"]), ("y.svg", []), ("z.html", [])):
        command = "report" if output.endswith(".html") else "diagram"
        code, _, err = run_cli(command, path, "-o", tmp_path / output, *args)
        assert code == 0, err
        text = (tmp_path / output).read_text()
        if output.endswith(".svg"):
            check_svg(
                text.encode(),
                nodes=text.count('class="node"') - text.count('id="caption_'),
                edges=text.count('class="edge"'),
            )
            assert 'href="javascript' not in text
        else:
            check_html(text)


def test_names_cannot_drive_a_terminal_a_table_or_a_spreadsheet():
    """Escape sequences, newlines, NUL and bidi overrides in names are shown, never acted on."""
    from archviz.render.formats import render as render_text

    evil = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\u202e\x00\nnext"
    graph = hostile_graph(evil, ["=HYPERLINK(1)"], [evil, "b", "c"])
    summary = analyze_graph(graph)
    for fmt in ("table", "markdown", "csv"):
        text = render_text(summary, fmt)
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", text), fmt
        # Markdown escapes the escape's backslash and the bracket, so it renders as \x1b]0;owned
        assert ("\\\\x1b\\]0;owned" if fmt == "markdown" else "\\x1b]0;owned") in text
    assert "\n'=HYPERLINK(1)." in render_text(summary, "csv")
    page = render_report(summary)
    body = page.split("<style>")[0] + page.split("</style>")[-1]
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202e]", body)
