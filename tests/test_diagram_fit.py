"""Any size gives a usable picture: a diagram too long to read is drawn folded, with one line saying so."""

import re

import pytest

import archviz
from archviz.render.diagram import DiagramOptions
from archviz.render.diagram_fit import MAX_PDF_SIDE, MAX_SIDE, PX_TO_PT, fitted, folds, side

LIMITS = {"svg": MAX_SIDE, "png": MAX_SIDE, "pdf": MAX_PDF_SIDE}


@pytest.fixture(scope="module")
def resnet1202():
    return archviz.analyze("resnet1202")


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_side_reads_each_format(fmt):
    drawing = fitted(archviz.analyze("resnet18"), fmt, DiagramOptions(depth="stages"))
    length = side(drawing.data, fmt)
    assert drawing.note == "" and length is not None and 300 < length < 3000


def test_folds_go_from_the_asked_view_to_stages(resnet1202):
    views = folds(resnet1202, DiagramOptions(depth="layers"))
    assert [(v.depth, v.collapse) for v in views] == [
        ("layers", False),
        ("layers", True),
        ("blocks", True),
        ("stages", False),
    ]
    assert [(v.depth, v.collapse) for v in folds(resnet1202, DiagramOptions(depth="stages"))] == [("stages", False)]


def test_a_readable_diagram_is_drawn_as_asked():
    summary = archviz.analyze("resnet50")
    drawing = fitted(summary, "svg", DiagramOptions(depth="layers"))
    assert drawing.note == "" and drawing.options == DiagramOptions(depth="layers")


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["svg", "png", "pdf", "dot"])
@pytest.mark.parametrize("depth", ["stages", "blocks", "layers"])
def test_resnet1202_at_every_depth_and_format(run_cli, tmp_path, depth, fmt):
    """Stages are drawn as asked; blocks and layers, too long to read, folded with one line naming --full."""
    target = tmp_path / f"r.{fmt}"
    code, out, err = run_cli("diagram", "resnet1202", "--depth", depth, "-o", target)
    assert code == 0, err
    lines = err.splitlines()
    assert lines[-1] == f"wrote {target}"
    data = target.read_bytes()
    if depth == "stages":
        assert len(lines) == 1
    else:
        assert len(lines) == 2
        assert re.fullmatch(
            rf"resnet1202 at {depth[:-1]} depth would be (at least )?[0-9,]+ pt long.*, too big to read: "
            r"drew --depth \w+ --collapse instead; --full draws it as asked",
            lines[0],
        ), lines[0]
    if fmt == "dot":
        text = data.decode()
        assert text.startswith("digraph") and (depth == "stages" or "total of 199 blocks" in text)
        return
    length = side(data, fmt)
    assert length is not None and length <= LIMITS[fmt]
    if fmt == "png":  # not scaled down by cairo: 9-point text stays 12 px
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert max(width, height) * PX_TO_PT == pytest.approx(length) and max(width, height) < 32_767


@pytest.mark.slow
def test_full_draws_as_asked_and_says_what_dot_did(run_cli, tmp_path):
    """--full: the asked drawing, and graphviz's warning about scaling the PNG down is passed on."""
    target = tmp_path / "r.png"
    code, _, err = run_cli("diagram", "resnet1202", "--full", "-o", target)
    assert code == 0, err
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("dot: graph is too large") and "Scaling" in lines[0], lines
    assert "the diagram of resnet1202 is " in lines[0] and "--full" not in lines[0]
    assert lines[0].endswith("hard to read: --depth blocks --collapse or --depth stages folds it")


def test_dot_is_folded_as_its_svg_would_be():
    """resnet152 layer by layer is 515 nodes (not too many to lay out) but 45,000 pt long: its DOT
    and its SVG are the same folded view."""
    summary = archviz.analyze("resnet152")
    svg = fitted(summary, "svg", DiagramOptions(depth="layers"))
    dot = fitted(summary, "dot", DiagramOptions(depth="layers"))
    assert svg.options == dot.options == DiagramOptions(depth="layers", collapse=True)
    assert svg.note == dot.note and "pt long" in dot.note
    assert fitted(summary, "dot", DiagramOptions(depth="layers"), full=True).note == ""


def test_a_flat_model_too_long_says_what_is_long_and_offers_no_fold_it_lacks():
    """A chain of 700 layers with no stages or blocks: drawn (nothing folds it), and the note has a subject
    and offers no --collapse or --depth the model does not have."""
    from archviz.core.analysis import analyze_graph
    from archviz.core.graph import Graph

    graph = Graph("flat")
    x = graph.add("x", "input", shape=(8, 8, 3))
    for index in range(700):
        x = graph.add(f"r{index}", "activation", x, fn="relu")
    drawing = fitted(analyze_graph(graph), "svg")
    length = side(drawing.data, "svg")
    assert length is not None and length > 20_000
    assert drawing.note == (
        f"the diagram of flat is {length:,.0f} pt long, hard to read: archviz found no stages or blocks in this "
        f"model to fold it by"
    )


def test_a_drawing_asked_in_full_names_the_folds_the_model_has():
    summary = archviz.analyze("resnet152")
    note = fitted(summary, "dot", DiagramOptions(depth="layers"), full=True).note
    assert note == ""  # DOT with --full is written without laying it out
    drawing = fitted(summary, "svg", DiagramOptions(depth="layers"), full=True)
    assert drawing.note.startswith("the diagram of resnet152 is ")
    assert drawing.note.endswith(
        "pt long, hard to read: --depth layers --collapse or --depth blocks --collapse or --depth stages folds it"
    )
