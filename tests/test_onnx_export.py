"""``archviz export MODEL -o model.onnx`` with the onnx package alone: every preset written as ONNX
(valid for onnx's checker) and read back gives the preset's params (batch norm kept, trainable and
not), MACs, FLOPs (but option A's subsampling, a 1x1 max pool of 1 FLOP per output) and stages."""

from __future__ import annotations

import pytest

onnx = pytest.importorskip("onnx")

import archviz  # noqa: E402
from archviz.api import load_config  # noqa: E402
from archviz.errors import ArchvizError  # noqa: E402
from archviz.sources.onnx.onnx_writer import to_onnx  # noqa: E402
from archviz.sources.zoo import REGISTRY, build  # noqa: E402


def small(name: str):
    """The preset at 1/8 of its width (its params a sixty-fourth), or as it is where that is not a variant."""
    try:
        config = load_config(name, width_multiplier=0.125)
        build(config)
    except ArchvizError:
        return load_config(name)
    return config


@pytest.mark.parametrize("name", REGISTRY.names())
def test_every_preset_round_trips(name, tmp_path):
    config = small(name)
    written = to_onnx(build(config))
    onnx.checker.check_model(written)
    path = tmp_path / "m.onnx"
    onnx.save(written, str(path))
    back, preset = archviz.analyze(path), archviz.analyze(config)
    assert back.complete and not back.warnings and not back.uncounted
    assert (back.trainable_params, back.non_trainable_params) == (preset.trainable_params, preset.non_trainable_params)
    assert back.macs == preset.macs
    shapes = {r.name: r.output_shape for r in preset.records}
    subsampled = sum(  # the 1x1 max pool's outputs: the shortcut's size, its input's channels
        r.output_shape[0] * r.output_shape[1] * shapes[r.inputs[0]][-1]
        for r in preset.records
        if r.op == "pad_shortcut" and r.attrs.get("strides", 1) != 1
    )
    assert back.flops == preset.flops + subsampled
    assert [r.name for r in back.rows("stages")] == [r.name for r in preset.rows("stages")]
    assert back.options["batch_norm_folded"] is False


def test_export_command_writes_onnx_without_tensorflow(run_cli, tmp_path):
    out = tmp_path / "r18.onnx"
    code, _, err = run_cli("export", "resnet18-torchvision", "--width-multiplier", "0.25", "-o", out)
    assert code == 0, err
    assert err.startswith(f"wrote {out}: ")
    code, text, err = run_cli("compare", "resnet18-torchvision", out, "--format", "json")
    assert code == 0, err


def test_export_onnx_mistakes_are_one_line(run_cli, tmp_path, monkeypatch):
    code, _, err = run_cli("export", "resnet18", "-o", tmp_path / "x.pt")
    assert code == 2 and err.count("\n") == 1
    code, _, err = run_cli("export", "no-such-model", "-o", tmp_path / "x.onnx")
    assert code == 2 and err.count("\n") == 1
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)
    code, _, err = run_cli("export", "resnet18", "-o", tmp_path / "x.onnx")
    assert code == 1 and "pip install 'archviz[onnx]'" in err and err.count("\n") == 1
    assert not (tmp_path / "x.onnx").exists()
