"""archviz.diagram: the object a notebook shows as SVG and saves as the command line writes."""

from xml.etree import ElementTree

import pytest

import archviz
from archviz.errors import UsageError


def test_the_diagram_shows_as_real_svg():
    picture = archviz.diagram("resnet50", depth="blocks")
    svg = picture._repr_svg_()
    root = ElementTree.fromstring(svg.encode())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"layer2.block1", "3x3, 128", "expansion ×4"} <= texts
    assert picture.note == "" and picture.source.startswith("digraph")


@pytest.mark.parametrize(
    "suffix, magic", [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF"), ("dot", b"digraph"), ("gv", b"digraph")]
)
def test_save_writes_the_format_of_the_extension(tmp_path, suffix, magic):
    picture = archviz.diagram("resnet20", depth="stages", collapse=True)
    target = tmp_path / f"net.{suffix}"
    assert picture.save(target) == target
    assert target.read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # atomic: no temporary file left


def test_save_refuses_an_unknown_extension_and_keeps_the_file(tmp_path):
    (tmp_path / "net.jpeg").write_text("keep me")
    with pytest.raises(UsageError, match="cannot tell what to write"):
        archviz.diagram("resnet20").save(tmp_path / "net.jpeg")
    assert (tmp_path / "net.jpeg").read_text() == "keep me"


def test_options_and_a_summary_are_taken():
    summary = archviz.analyze("resnet20", shortcut="B")
    picture = archviz.diagram(summary, depth="layers", rankdir="lr", macs=True)
    assert "rankdir=LR" in picture.source and "MACs" in picture.source
    assert "projection" in archviz.diagram("resnet20", shortcut="B").source
    with pytest.raises(UsageError, match="beyond the model's 3 levels"):
        archviz.diagram("resnet20", depth=5)


def test_a_too_big_diagram_is_folded_and_says_so():
    picture = archviz.diagram("resnet1202", depth="layers")
    assert "drew --depth layers --collapse instead" in picture.note
    assert "total of 199 blocks" in picture.source
    full = archviz.diagram("resnet1202", depth="layers", full=True)  # as asked: no layout needed for its DOT
    assert full.drawing("dot").note == "" and "total of 199 blocks" not in full.source
