"""Diagrams laid out by the real ``dot -Tjson``: no edge's curve enters a caption's box."""

import json
import re
import subprocess

import pytest

import archviz
from archviz.render.diagram import DiagramOptions, dot_source
from archviz.render.dot_text import dot_id

#: A preset of every family: basic, bottleneck, ResNeXt, wide, CIFAR (option A), pre-activation
#: (Keras v2, and CIFAR wide pre-activation), and plain (no shortcut).
FAMILIES = [
    "resnet18",
    "resnet50",
    "resnext50_32x4d",
    "wide_resnet50_2",
    "resnet20",
    "resnet50v2",
    "preact-resnet18",
    "wrn-28-10",
    "plain-18",
]


def layout(model, options):
    source = dot_source(archviz.analyze(model), options)
    done = subprocess.run(["dot", "-Tjson"], input=source.encode(), capture_output=True, check=True)
    return json.loads(done.stdout)


def bezier(points, steps=24):
    """Points along each cubic piece of a spline, as dot's ``_draw_`` gives its control points."""
    for i in range(0, len(points) - 3, 3):
        p0, p1, p2, p3 = points[i : i + 4]
        for k in range(steps + 1):
            t = k / steps
            a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t**3
            yield (
                a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1],
            )


def captions(drawn):
    """The box of every caption: the caption nodes, and any cluster's own label (its text's extent)."""
    boxes = []
    for obj in drawn.get("objects", []):
        if obj.get("id", "").startswith("caption_"):
            x, y = map(float, obj["pos"].split(","))
            w, h = float(obj["width"]) * 36, float(obj["height"]) * 36
            boxes.append((obj["tooltip"], x - w, y - h, x + w, y + h))
        for op in obj.get("_ldraw_", []):
            if op["op"] == "F":
                size = op["size"]
            if op["op"] == "T" and obj.get("name", "").startswith("cluster"):
                x, y = op["pt"]
                left = x - {"l": 0, "c": op["width"] / 2, "r": op["width"]}[op["align"]]
                boxes.append((op["text"], left, y - 0.3 * size, left + op["width"], y + 0.8 * size))
    return boxes


def crossings(drawn):
    boxes = captions(drawn)
    names = {obj["_gvid"]: obj["name"] for obj in drawn.get("objects", [])}
    found = set()
    for edge in drawn.get("edges", []):
        for op in edge.get("_draw_", []):
            if op["op"] not in ("b", "B"):
                continue
            for px, py in bezier(op["points"]):
                for text, x0, y0, x1, y1 in boxes:
                    if x0 + 1 < px < x1 - 1 and y0 + 1 < py < y1 - 1:
                        found.add((text, names[edge["tail"]], names[edge["head"]]))
    return sorted(found)


@pytest.mark.parametrize("rankdir", ["TB", "LR"])
@pytest.mark.parametrize("model", FAMILIES)
def test_no_edge_crosses_a_caption_at_block_depth(model, rankdir):
    drawn = layout(model, DiagramOptions(depth="blocks", rankdir=rankdir))
    assert any(obj.get("id", "").startswith("caption_") for obj in drawn["objects"]) or model == "plain-18"
    assert crossings(drawn) == []


@pytest.mark.parametrize("rankdir", ["TB", "LR"])
@pytest.mark.parametrize("model", ["resnet18", "resnet20", "resnet50", "resnet50v2", "resnext50_32x4d"])
def test_no_edge_crosses_a_caption_at_layer_depth(model, rankdir):
    assert crossings(layout(model, DiagramOptions(depth="layers", rankdir=rankdir))) == []


def test_the_check_sees_a_crossed_cluster_label():
    """The check itself: a cluster label with an edge drawn through it is found."""
    source = 'digraph { a -> b; subgraph cluster_s { label="a long caption over the way in" labeljust=c b; c } a -> c }'
    done = subprocess.run(["dot", "-Tjson"], input=source.encode(), capture_output=True, check=True)
    assert crossings(json.loads(done.stdout))


def spine_offsets(drawn, rankdir):
    """How far each node of the main path (graphviz group ``spine``) sits from the first one, across
    the direction of flow (x top to bottom, y left to right), in points."""
    axis = 0 if rankdir == "TB" else 1
    centres = [float(obj["pos"].split(",")[axis]) for obj in drawn["objects"] if obj.get("group") == "spine"]
    assert len(centres) > 5
    return max(centres) - min(centres)


@pytest.fixture(scope="module")
def imported():
    """Keras's own MobileNetV2 and ResNet50 (no weights), read as a user's model is."""
    keras = pytest.importorskip("keras")
    return {
        "keras MobileNetV2": keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3), alpha=0.35),
        "keras ResNet50": keras.applications.ResNet50(weights=None),
    }


SPINE_CASES = [(model, False) for model in FAMILIES] + [("resnet50", True), ("keras MobileNetV2", False)]
SPINE_CASES += [("keras ResNet50", False), ("keras ResNet50", True)]


@pytest.mark.parametrize("rankdir", ["TB", "LR"])
@pytest.mark.parametrize(("model", "collapse"), SPINE_CASES)
def test_the_main_path_is_straight_at_block_depth(model, collapse, rankdir, imported):
    """Input, stem, each block's body and add, head: one line (as the paper and Netron draw it), the
    shortcuts beside it, not a staircase drifting sideways down the network."""
    drawn = layout(imported.get(model, model), DiagramOptions(depth="blocks", rankdir=rankdir, collapse=collapse))
    assert spine_offsets(drawn, rankdir) < 3
    assert crossings(drawn) == []


@pytest.mark.parametrize("rankdir", ["TB", "LR"])
@pytest.mark.parametrize("model", ["resnet18", "resnet20", "resnet50", "resnet50v2", "plain-18"])
def test_the_main_path_is_straight_at_layer_depth(model, rankdir):
    """Every layer of the main path on one line; a projection's conv and BN beside it."""
    drawn = layout(model, DiagramOptions(depth="layers", rankdir=rankdir))
    assert spine_offsets(drawn, rankdir) < 3
    names = {obj["name"] for obj in drawn["objects"] if obj.get("group") == "spine"}
    assert "stem.conv1" in names and not any(name.endswith(".shortcut") for name in names)


@pytest.mark.parametrize(
    ("model", "first", "parts"),
    [
        (
            "keras ResNet50",
            "conv2.block1",
            {
                "stem": ["7x7/2, 64", "batch norm, relu", "3x3/2 max pool", "56x56x64"],
                "head": ["global average pool", "fc, 1000, softmax", "1000"],
            },
        ),
        (
            "keras MobileNetV2",
            "stage1.block_0",
            {
                "stem": ["3x3/2, 16", "batch norm, relu6", "48x48x16", "496 params"],
                "head": ["1x1, 1280", "batch norm, relu6", "global average pool", "fc, 1000, softmax"],
            },
        ),
    ],
)
def test_an_imported_stem_and_head_are_one_box_each(model, first, parts, imported):
    """The stem and head recovered from Keras's graph (no name says them) are one box each at block depth,
    their layers as rows; the main path runs input, stem, first block (ResNet50's projection shortcut
    leaving the stem's box), straight, no caption crossed."""
    import pydot

    summary = archviz.analyze(imported[model])
    (graph,) = pydot.graph_from_dot_data(dot_source(summary, DiagramOptions()))
    nodes = [n for sub in [graph, *graph.get_subgraphs()] for n in sub.get_nodes()]
    labels = {n.get_name().strip('"'): n.get("label") or "" for n in nodes}
    for part, rows in parts.items():
        shown = re.findall(r"<FONT [^>]*>([^<]*)</FONT>", labels[part])
        assert shown[: len(rows)] == rows, shown
    edges = {(e.get_source().strip('"'), e.get_destination().strip('"')) for e in graph.get_edges()}
    assert {(summary.records[0].name, "stem"), ("stem", first)} <= edges
    assert ("stem", dot_id(f"{first}+add")) in edges or model != "keras ResNet50"
    drawn = layout(imported[model], DiagramOptions())
    assert spine_offsets(drawn, "TB") < 3 and crossings(drawn) == []
