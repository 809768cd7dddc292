"""Diagrams: golden DOT text, structure (parsed with pydot), escaping, formats, errors."""

import os
import re
import shutil
import subprocess
import sys

import pydot
import pytest
from conftest import GOLDEN, ROOT, SPECS

import archviz
from archviz.core.analysis import analyze_graph
from archviz.core.graph import Graph
from archviz.render.diagram import DiagramOptions, dot_source, render
from archviz.render.dot_text import anchor, dot_id

ONNX = ROOT / "examples" / "onnx"

GOLDEN_CASES = {
    "resnet18_stages.dot": ("resnet18", {}, DiagramOptions(depth="stages")),
    "resnet20_layers.dot": ("resnet20", {}, DiagramOptions(depth="layers")),
    "resnet50_blocks_collapse_macs.dot": ("resnet50", {}, DiagramOptions(depth="blocks", collapse=True, macs=True)),
    "resnet50v2_layers_lr.dot": (
        "resnet50v2",
        {"input_shape": (64, 64, 3)},
        DiagramOptions(depth="layers", rankdir="LR"),
    ),
    "seed004_layers.dot": (str(SPECS / "seed004_mini_resnet.toml"), {}, DiagramOptions(depth="layers")),
}


@pytest.mark.parametrize("golden", sorted(GOLDEN_CASES))
def test_golden_dot(golden, update_golden):
    model, options, diagram = GOLDEN_CASES[golden]
    text = dot_source(archviz.analyze(model, **options), diagram)
    path = GOLDEN / golden
    if update_golden:
        path.write_text(text)
    assert path.exists(), f"no golden file {golden}: run pytest --update-golden"
    assert text == path.read_text(), f"{golden} changed: review it, then run pytest --update-golden"


def test_dot_is_deterministic():
    first = dot_source(archviz.analyze("resnet34"), DiagramOptions(depth="layers"))
    second = dot_source(archviz.analyze("resnet34"), DiagramOptions(depth="layers"))
    assert first == second


def parse(summary, options):
    (graph,) = pydot.graph_from_dot_data(dot_source(summary, options))
    return graph


def all_nodes(graph):
    nodes = [n for n in graph.get_nodes() if n.get_name() not in ("node", "edge", "graph")]
    for sub in graph.get_subgraphs():
        nodes += all_nodes(sub)
    return nodes


def drawn_rows(graph):
    """The names of the nodes that stand for a row (not a block's add, a stage's caption or the key)."""
    return [n.get_name().strip('"') for n in all_nodes(graph) if (n.get("id") or "").strip('"').startswith("node_")]


def all_subgraphs(graph):
    result = []
    for sub in graph.get_subgraphs():
        result += [sub, *all_subgraphs(sub)]
    return result


@pytest.mark.parametrize("depth, level", [("stages", 1), ("blocks", 2), ("layers", 3)])
def test_one_node_per_row_at_each_depth(depth, level):
    """A node per row at each depth; at block depth the stem and the head are one row each, as blocks are."""
    summary = archviz.analyze("resnet34")
    graph = parse(summary, DiagramOptions(depth=depth, legend=False))
    rows = [row.name for row in summary.rows(level)]
    if depth == "blocks":
        rows = [name for name in rows if not name.startswith(("stem.", "head."))] + ["stem", "head"]
    assert sorted(drawn_rows(graph)) == sorted(rows)
    assert ("stem.conv1" in rows) == (depth == "layers")


def test_layer_depth_clusters_blocks_inside_stages():
    graph = parse(archviz.analyze("resnet18"), DiagramOptions(depth="layers", legend=False))
    clusters = {s.get_name().strip('"') for s in all_subgraphs(graph)}
    assert {"cluster_layer1", "cluster_layer1.block1", "cluster_layer4.block2", "cluster_stem"} <= clusters
    stage = next(s for s in graph.get_subgraphs() if s.get_name().strip('"') == "cluster_layer2")
    assert {s.get_name().strip('"') for s in stage.get_subgraphs()} == {
        "cluster_layer2.block1",
        "cluster_layer2.block2",
    }


def test_shortcuts_are_drawn():
    edges = parse(archviz.analyze("resnet20"), DiagramOptions(depth="layers")).get_edges()
    labels = {
        (e.get_source().strip('"'), e.get_destination().strip('"')): (e.get("label") or "").strip('" ') for e in edges
    }
    assert labels[("stem.relu1", "layer1.block1.add")] == "identity"
    assert labels[("layer2.block1.shortcut", "layer2.block1.add")] == ""  # its node says what it is
    node = next(
        n
        for n in all_nodes(parse(archviz.analyze("resnet20"), DiagramOptions(depth="layers")))
        if n.get_name().strip('"') == "layer2.block1.shortcut"
    )
    assert "option A: zero padding" in node.get("label") and "pad_shortcut" not in node.get("label")
    projection = {
        (e.get_source().strip('"'), e.get_destination().strip('"')): (e.get("label") or "")
        for e in parse(archviz.analyze("resnet18"), DiagramOptions(depth="layers")).get_edges()
    }
    assert "projection" in projection[("layer2.block1.shortcut_bn", "layer2.block1.add")]


def test_collapse_folds_identical_blocks():
    graph = parse(archviz.analyze("resnet152"), DiagramOptions(depth="blocks", collapse=True, legend=False))
    names = drawn_rows(graph)
    assert "layer3.block2" in names and "layer3.block3" not in names
    label = next(n.get("label") for n in all_nodes(graph) if n.get_name().strip('"') == "layer3.block2")
    assert "×35" in label and "total of 35 blocks" in label
    assert len(names) < 20


def test_labels_show_attributes_shape_params_and_macs():
    graph = parse(archviz.analyze("resnet50"), DiagramOptions(depth="layers", macs=True))
    label = next(n.get("label") for n in all_nodes(graph) if n.get_name().strip('"') == "layer2.block1.conv1")
    assert "conv2d 1x1/2, 128" in label and "28x28x128" in label and "32.8 k params" in label
    assert "25.7 M MACs" in label


def tricky_graph():
    graph = Graph('tricky "model"')
    names = ['in "quoted"', "braces {x}", "<script>alert(1)</script>", "back\\slash\\", "ünïcödé 残差"]
    x = graph.add(names[0], "input", shape=(8, 8, 3))
    x = graph.add(names[1], "conv2d", x, filters=4, kernel=(3, 3), padding="same", use_bias=False)
    x = graph.add(names[2], "batch_norm", x)
    x = graph.add(names[3], "activation", x, fn="relu")
    graph.add(names[4], "global_avg_pool2d", x)
    return graph, names


def test_tricky_names_survive_dot_and_svg():
    graph, names = tricky_graph()
    summary = analyze_graph(graph)
    for depth in ("layers", "stages"):
        (parsed,) = pydot.graph_from_dot_data(dot_source(summary, DiagramOptions(depth=depth)))
        assert len([n for n in all_nodes(parsed) if not n.get_name().strip('"').startswith("legend_")]) == 5
    svg = render(summary, "svg", DiagramOptions(depth="layers")).decode("utf-8")
    import html
    import xml.dom.minidom

    xml.dom.minidom.parseString(svg.encode("utf-8"))  # well-formed
    text = html.unescape(svg)
    for name in names:
        assert name in text
    assert "<script>" not in svg


@pytest.mark.parametrize(
    "suffix, magic",
    [(".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF"), (".dot", b"digraph"), (".gv", b"digraph")],
)
def test_formats_follow_the_extension(run_cli, tmp_path, suffix, magic):
    target = tmp_path / f"net{suffix}"
    code, _, err = run_cli("diagram", "resnet18", "-o", target)
    assert code == 0, err
    assert target.read_bytes().startswith(magic)


def test_format_option_overrides(run_cli, tmp_path):
    target = tmp_path / "net.txt"
    assert run_cli("diagram", "resnet18", "--format", "dot", "-o", target)[0] == 0
    assert target.read_text().startswith("digraph")


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["diagram", "resnet18", "-o", "net.jpeg"], 2, "cannot tell what to write to net.jpeg"),
        (["diagram", "resnet18", "-o", "net.png", "--format", "svg"], 2, "names a png file but --format says svg"),
        (["diagram", "resnet18", "--depth", "5", "-o", "net.svg"], 2, "beyond the model's 3 levels"),
        (["diagram", "resnet18", "-o", "missing/net.svg"], 1, "does not exist"),
        (["diagram", "resnt18", "-o", "net.svg"], 2, "unknown model"),
        (["diagram", "resnet18", "--rankdir", "XY", "-o", "net.svg"], 2, "--rankdir"),
    ],
)
def test_diagram_errors(run_cli, tmp_path, monkeypatch, args, code, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.svg").write_text("keep me")
    exit_code, out, err = run_cli(*args)
    assert exit_code == code
    assert err.count("\n") == 1 and message in err
    assert (tmp_path / "net.svg").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.svg"]


def test_without_dot(tmp_path):
    """Only .dot output works without Graphviz; other formats exit 1 naming the package."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty)}
    script = "from archviz.cli import main; main()"
    ok = subprocess.run(
        [sys.executable, "-c", script, "diagram", "resnet18", "-o", "net.dot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "net.dot").read_text().startswith("digraph")
    failed = subprocess.run(
        [sys.executable, "-c", script, "diagram", "resnet18", "-o", "net.svg"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1
    assert failed.stderr.startswith(
        "archviz: error: drawing needs Graphviz's dot program: install the Debian package graphviz"
    )
    assert "Traceback" not in failed.stderr and not (tmp_path / "net.svg").exists()
    assert shutil.which("dot"), "the rest of the suite needs Graphviz's dot (make test installs it)"


def test_anchor_is_stable_and_safe():
    assert anchor("layer1.block1.conv1") == anchor("layer1.block1.conv1")
    assert anchor("a.b") != anchor("a_b")
    assert all(ch.isalnum() or ch == "_" for ch in anchor('<script>"ü\\'))


def test_a_group_of_one_layer_with_another_name():
    """A nested model holding one layer: its group row has one layer but not the layer's name."""
    graph = Graph("nested")
    x = graph.add("input", "input", shape=(8, 8, 3))
    graph.add("base.conv", "conv2d", x, filters=4, kernel=(3, 3), padding="same", use_bias=False)
    parsed = parse(analyze_graph(graph), DiagramOptions(depth="stages", legend=False))
    assert sorted(n.get_name().strip('"') for n in all_nodes(parsed)) == ["base", "input"]


# ---- the ResNet picture ------------------------------------------------------------------------


def node_label(graph, name):
    return next(n.get("label") for n in all_nodes(graph) if n.get_name().strip('"') == name)


def edge_set(graph):
    return {
        (e.get_source().strip('"'), e.get_destination().strip('"'), (e.get("label") or "").strip('" '), e.get("style"))
        for e in graph.get_edges()
    }


def add(block):
    return dot_id(f"{block}+add")


def test_block_depth_draws_body_add_and_shortcut_as_the_paper():
    """Each residual block is its body and an add: the main path enters the body, the body feeds the
    add, and the shortcut leaves the block's input (the previous add) and joins the add."""
    graph = parse(archviz.analyze("resnet50"), DiagramOptions(depth="blocks"))
    edges = edge_set(graph)
    assert (add("layer1.block3"), "layer2.block1", "", None) in edges  # main path into the body
    assert ("layer2.block1", add("layer2.block1"), "", None) in edges  # body into its add
    assert (add("layer1.block3"), add("layer2.block1"), "1x1/2, 512 projection", "bold") in edges
    assert (add("layer2.block1"), add("layer2.block2"), "identity", "dashed") in edges
    assert ("stem", add("layer1.block1"), "1x1, 256 projection", "bold") in edges  # from the stem's box
    assert ("input", "stem", "", None) in edges and ("stem", "layer1.block1", "", None) in edges
    assert (add("layer4.block3"), "head", "", None) in edges
    assert not any(a == "layer2.block1" and b == "layer2.block2" for a, b, _, _ in edges)  # no edge twice
    assert "+" in node_label(graph, add("layer2.block1"))
    caption = node_label(graph, dot_id("layer3+caption"))
    for part in ("layer3", "6 blocks", "14x14x1024", "7.12 M params", "1.39 G MACs"):
        assert part in caption
    assert "bottleneck, downsamples /2" in node_label(graph, "layer2.block1")
    assert "shortcut" not in node_label(graph, "layer2.block2")  # said once, on the edge
    assert "downsamples" not in node_label(graph, "layer1.block1")  # stride 1 after the max-pool


def rows_of(label):
    return re.findall(r"<FONT [^>]*>([^<]*)</FONT>", label)


@pytest.mark.parametrize(
    "model, block, rows",
    [
        ("resnet50", "layer2.block1", ["1x1/2, 128", "3x3, 128", "1x1, 512", "expansion ×4"]),
        ("resnet50-torchvision", "layer2.block1", ["1x1, 128", "3x3/2, 128", "1x1, 512", "expansion ×4"]),
        ("resnext50_32x4d", "layer1.block2", ["1x1, 128", "3x3, 128, 32 groups of 4", "1x1, 256", "expansion ×2"]),
        ("wide_resnet50_2", "layer1.block2", ["1x1, 128", "3x3, 128", "1x1, 256", "expansion ×2"]),
        ("resnet18", "layer3.block1", ["3x3/2, 256", "3x3, 256"]),
        ("resnet50v2", "layer1.block3", ["1x1, 64", "3x3/2, 64", "1x1, 256", "expansion ×4"]),
    ],
)
def test_block_boxes_show_their_inside(model, block, rows):
    """The rows of the paper's Table 1, read from the block's layers: the three bottlenecks differ."""
    label = node_label(parse(archviz.analyze(model), DiagramOptions()), block)
    shown = rows_of(label)
    start = shown.index(rows[0])
    assert shown[start : start + len(rows)] == rows, shown


@pytest.mark.parametrize(
    "model, options, part, rows",
    [
        ("resnet50", {}, "stem", ["7x7/2, 64", "batch norm, relu", "3x3/2 max pool", "56x56x64", "9.66 k params"]),
        ("resnet50", {}, "head", ["global average pool", "fc, 1000", "1000", "2.05 M params"]),
        ("resnet20", {}, "stem", ["3x3, 16", "batch norm, relu", "32x32x16", "496 params"]),
        ("resnet20", {}, "head", ["global average pool", "fc, 10", "10", "650 params"]),
        ("resnet50v2", {}, "stem", ["7x7/2, 64", "3x3/2 max pool", "56x56x64"]),  # no BN before the pool
        ("resnet50v2", {}, "post", ["post-activation", "batch norm, relu", "7x7x2048"]),
        (
            "resnet50",
            {"stem": "deep"},
            "stem",
            ["3x3/2, 32", "batch norm, relu", "3x3, 32", "batch norm, relu", "3x3, 64", "batch norm, relu"],
        ),
        (str(ONNX / "tiny_resnet50.onnx"), {}, "stem", ["7x7/2, 4, relu", "3x3/2 max pool", "16x16x4"]),
        (str(ONNX / "tiny_resnet50.onnx"), {}, "head", ["global average pool", "fc, 10"]),  # no row for the flatten
    ],
)
def test_the_stem_and_the_head_are_one_box_each_at_block_depth(model, options, part, rows):
    """As the paper's Table 1 has them: one row each, their layers in the block boxes' words, with the
    part's shape and params; at layer depth each layer is its own node still."""
    summary = archviz.analyze(model, **options)
    graph = parse(summary, DiagramOptions())
    shown = rows_of(node_label(graph, part))
    assert shown[: len(rows)] == rows, shown
    members = {record.name for record in summary.records if record.key(1) == part}
    assert len(members) >= 2 and not members & set(drawn_rows(graph))
    layers = set(re.findall(r'id="?node_(\w+)', dot_source(summary, DiagramOptions(depth="layers"))))
    assert anchor(part) not in layers and {anchor(name) for name in members} <= layers


def test_option_a_and_collapse_keep_their_marks():
    graph = parse(archviz.analyze("resnet110"), DiagramOptions(depth="blocks", collapse=True))
    labels = {(e.get("label") or "").strip('" ') for e in graph.get_edges()}
    assert {"identity ×17", "option A: zero padding"} <= labels
    stages = parse(archviz.analyze("resnet34"), DiagramOptions(depth="stages"))
    assert "stage, 6 blocks" in node_label(stages, "layer3")


def test_the_key_is_compact_and_only_on_request():
    summary = archviz.analyze("resnet50")
    assert "legend" not in dot_source(summary, DiagramOptions())
    width = {}
    for legend in (False, True):
        svg = render(summary, "svg", DiagramOptions(legend=legend)).decode()
        width[legend] = float(re.search(r'<svg width="([0-9.]+)pt"', svg).group(1))
    assert width[True] <= 1.3 * width[False]
    keyed = dot_source(summary, DiagramOptions(legend=True, depth="layers"))
    assert "convolution" in keyed and "dropout" not in keyed  # only the families the picture uses


def test_one_font_everywhere_and_singular_tooltips():
    source = dot_source(archviz.analyze("resnet18"), DiagramOptions())
    assert 'fontname="DejaVu Sans, Verdana, Arial, sans-serif"' in source and "Helvetica" not in source
    assert 'tooltip="input: 1 layer"' in source and "1 layers" not in source


def test_python_dash_m_archviz_runs():
    result = subprocess.run([sys.executable, "-m", "archviz", "list", "resnet18"], capture_output=True, text=True)
    assert result.returncode == 0 and "resnet18" in result.stdout


@pytest.mark.parametrize("depth", ["stages", "blocks", "layers"])
@pytest.mark.parametrize("model", ["resnet20", "resnet50", "resnet50v2", "resnext50_32x4d"])
def test_labels_are_words(model, depth):
    """Op names in words, a title never repeated under itself, no double space, the graph's title too."""
    source = dot_source(archviz.analyze(model), DiagramOptions(depth=depth))
    for title, subtitle in re.findall(r"<B>([^<]*)</B></TD></TR><TR><TD><FONT POINT-SIZE=\"10\">([^<]*)<", source):
        assert subtitle != title and subtitle != title.rsplit(".", 1)[-1], (title, subtitle)
    texts = re.findall(r">([^<>]+)</(?:B|FONT)>", source) + re.findall(r'label="([^"]*)"', source)
    assert texts and not [t for t in texts if "  " in t or t != t.strip() and not t.startswith(" ")]
    assert not [t for t in texts if re.search(r"\b(pad_shortcut|batch_norm|max_pool2d|global_avg_pool2d)\b", t)]


def test_the_standalone_svg_names_fallback_fonts():
    svg = render(archviz.analyze("resnet18"), "svg", DiagramOptions(depth="stages")).decode()
    assert 'font-family="DejaVu Sans, Verdana, Arial, sans-serif"' in svg
    assert 'font-family="DejaVu Sans"' not in svg


def test_a_long_part_lists_ten_rows_at_most():
    """A part of twelve convs (no block) is one box of nine rows and a tenth that counts the rest."""
    graph = Graph("long stem")
    x = graph.add("input", "input", shape=(8, 8, 3))
    for index in range(12):
        x = graph.add(f"stem.conv{index}", "conv2d", x, filters=index + 1, kernel=(3, 3), padding="same")
    graph.add("stage.block.conv", "conv2d", x, filters=4, kernel=(1, 1))
    shown = rows_of(node_label(parse(analyze_graph(graph), DiagramOptions()), "stem"))
    assert shown[1:11] == [f"3x3, {width}" for width in range(1, 10)] + ["… 3 more rows"], shown  # after "group"
