"""Hostile ONNX files: every refusal is one line and exit 1, before the slow or unsafe part; names
from a file (nodes, initializers, inputs, the file's own) reach every output escaped."""

from __future__ import annotations

import re
import sys

import pytest

onnx = pytest.importorskip("onnx")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402
from onnx_models import FIXTURES, model, save, weight  # noqa: E402
from test_security import check_html, check_svg, names  # noqa: E402

import archviz  # noqa: E402
from archviz.render.diagram import DiagramOptions  # noqa: E402
from archviz.render.diagram import render as render_diagram  # noqa: E402
from archviz.render.formats import render as render_text  # noqa: E402
from archviz.render.report import render_report  # noqa: E402
from archviz.sources.onnx import onnx_files  # noqa: E402

N = helper.make_node


def one_line_failure(run_cli, *args, code=1):
    status, out, err = run_cli("summary", *args)
    assert status == code, (status, out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def conv_model(tmp_path, **kwargs):
    nodes = [N("Conv", ["x", "w"], ["y"], name="/conv/Conv")]
    return model(nodes, [1, 3, 8, 8], initializers=[weight("w", (4, 3, 3, 3))], **kwargs)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a model at all\n", b"\x08\x07\x12\xff\xff\xff\xff\x0f", b"PK\x03\x04 a zip", bytes(range(256))],
)
def test_not_an_onnx_file(run_cli, tmp_path, content):
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    assert "not an ONNX model" in one_line_failure(run_cli, path)


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.99])
def test_truncated_file(run_cli, tmp_path, cut):
    data = (FIXTURES / "tiny_resnet18.onnx").read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: int(len(data) * cut)])
    assert "not an ONNX model" in one_line_failure(run_cli, path)


def test_missing_and_not_regular(run_cli, tmp_path):
    assert "no such file" in one_line_failure(run_cli, tmp_path / "gone.onnx")
    (tmp_path / "dir.onnx").mkdir()
    assert "not a regular file" in one_line_failure(run_cli, tmp_path / "dir.onnx")


@pytest.mark.parametrize(
    ("limit", "value", "words"),
    [
        ("MAX_ONNX_BYTES", 1000, "bytes; archviz reads ONNX files of at most"),
        ("MAX_ONNX_NODES", 10, "nodes; archviz reads at most"),
        ("MAX_ONNX_INITIALIZERS", 10, "initializers; archviz reads at most"),
        ("MAX_ONNX_ATTRIBUTES", 10, "attributes; archviz reads at most"),
    ],
)
def test_limits_are_checked_before_parsing(run_cli, monkeypatch, limit, value, words):
    monkeypatch.setattr(onnx_files, limit, value)
    parsed = []
    monkeypatch.setattr(onnx.ModelProto, "ParseFromString", lambda self, data: parsed.append(1))
    assert words in one_line_failure(run_cli, FIXTURES / "tiny_resnet50.onnx")
    assert not parsed


def test_deeply_nested_subgraphs_are_refused(run_cli, tmp_path):
    leaf = helper.make_graph([N("Identity", ["x"], ["o"])], "g", [], [helper.make_tensor_value_info("o", 1, None)])
    inner = leaf
    for _ in range(onnx_files.MAX_GRAPH_NESTING + 2):
        node = N("If", ["c"], ["o"], then_branch=inner, else_branch=leaf)
        inner = helper.make_graph([node], "g", [], [helper.make_tensor_value_info("o", 1, None)])
    built = conv_model(tmp_path)
    built.graph.node.append(N("If", ["c"], ["z"], then_branch=inner, else_branch=leaf))
    assert "nested more than" in one_line_failure(run_cli, save(built, tmp_path / "deep.onnx"))


@pytest.mark.parametrize("location", ["../secret.bin", "/etc/passwd", "a/../../secret.bin", "C:\\\\x.bin", "link.bin"])
def test_external_data_outside_the_model_directory_is_refused(run_cli, tmp_path, location):
    folder = tmp_path / "models"
    folder.mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\0" * 512)
    (folder / "link.bin").symlink_to(tmp_path / "secret.bin")
    built = conv_model(tmp_path)
    tensor = built.graph.initializer[0]
    tensor.ClearField("float_data")
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location
    err = one_line_failure(run_cli, save(built, folder / "m.onnx"))
    assert "outside the model's directory" in err


def test_external_data_beside_the_model_is_never_read(tmp_path):
    """Params come from the dims: the data file need not even exist."""
    built = conv_model(tmp_path)
    tensor = built.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "weights.bin"
    summary = archviz.analyze(save(built, tmp_path / "m.onnx"))
    assert summary.params == 108 and summary.macs == 6 * 6 * 4 * 27


def test_negative_initializer_dims(run_cli, tmp_path):
    built = conv_model(tmp_path)
    tensor = built.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.dims[0] = -4
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "w.bin"
    err = one_line_failure(run_cli, save(built, tmp_path / "m.onnx"))
    assert "negative dimension" in err


def test_nodes_out_of_order(run_cli, tmp_path):
    nodes = [N("Relu", ["r"], ["y"], name="late"), N("Relu", ["x"], ["r"], name="early")]
    path = save(model(nodes, [1, 3, 8, 8], outputs=["y"]), tmp_path / "m.onnx")
    assert "which no node before it makes" in one_line_failure(run_cli, path)


def test_custom_op_without_a_shape_is_one_line(run_cli, tmp_path):
    nodes = [N("Frob", ["x"], ["u"], name="frob", domain="com.example"), N("Relu", ["u"], ["y"], name="relu")]
    path = save(model(nodes, [1, 3, 8, 8], domains=["com.example"]), tmp_path / "m.onnx")
    assert "does not say its output shape" in one_line_failure(run_cli, path)


def test_without_the_onnx_package_a_hint(run_cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    err = one_line_failure(run_cli, FIXTURES / "tiny_resnet18.onnx")
    assert "pip install 'archviz[onnx]'" in err


def test_onnx_file_as_a_zoo_model_is_a_usage_error(run_cli):
    status, _, err = run_cli("export", FIXTURES / "tiny_resnet18.onnx", "-o", "x.keras")
    assert status == 2 and err.count("\n") == 1


# ---- names --------------------------------------------------------------------------------------------------

encodable = names.filter(lambda text: text.encode("utf-8", "surrogatepass") == text.encode("utf-8", "ignore"))


def hostile_model(tmp_path, node: str, init: str, source: str):
    """A residual block whose node names (a module path and a plain name), initializer and input are the text."""
    init = init or "w"
    source = source if source not in ("", init) else source + "in"
    nodes = [
        N("Conv", [source, init], ["c"], name=f"/{node}/{node}.0/conv/Conv", pads=[1, 1, 1, 1]),
        N("Relu", ["c"], ["r"], name=f"/{node}/{node}.0/relu/Relu"),
        N("Add", ["r", source], ["y"], name=node or "add"),
    ]
    built = model(nodes, [1, 3, 8, 8], initializers=[weight(init, (3, 3, 3, 3))], input_name=source)
    return save(built, tmp_path / "m.onnx")


def check_outputs(summary):
    for fmt in ("table", "markdown", "csv", "json"):
        text = render_text(summary, fmt)
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", text), fmt
    for depth in ("layers",):
        svg = render_diagram(summary, "svg", DiagramOptions(depth=depth, legend=False))
        check_svg(svg, nodes=svg.count(b'class="node"') - svg.count(b'id="caption_'), edges=svg.count(b'class="edge"'))
    check_html(render_report(summary))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(node=encodable, init=encodable, source=encodable)
def test_hostile_names_through_every_output(tmp_path, node, init, source):
    summary = archviz.analyze(hostile_model(tmp_path, node, init, source))
    assert summary.params == 81 and summary.macs == 8 * 8 * 3 * 27
    check_outputs(summary)


def test_hostile_file_name_and_names_through_the_commands(run_cli, tmp_path):
    evil = '<a>{URL="javascript:alert(1)"; x -> y} digraph <b>'
    path = hostile_model(tmp_path, evil, f"{evil}.w", "</script><script>alert(1)</script>")
    named = path.rename(tmp_path / f"{evil}.onnx")
    for output in ("x.svg", "y.html"):
        command = "report" if output.endswith(".html") else "diagram"
        status, _, err = run_cli(
            command,
            named,
            "-o",
            tmp_path / output,
            "--depth" if command == "diagram" else "--dtype",
            "layers" if command == "diagram" else "float32",
        )
        assert status == 0, err
        text = (tmp_path / output).read_text()
        if output.endswith(".svg"):
            check_svg(
                text.encode(),
                nodes=text.count('class="node"') - text.count('id="caption_'),
                edges=text.count('class="edge"'),
            )
        else:
            check_html(text)
