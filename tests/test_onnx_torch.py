"""torchvision's models exported by torch (when it is installed: ``make test`` installs it) and read
back: ResNet-18/50, ResNeXt-50 32x4d and Wide-ResNet-50-2 equal archviz's presets, MobileNetV2 fvcore's
count. The models are built by scripts/make_onnx_fixtures.py, module for module as torchvision's, and
exported as users do (``torch.onnx.export(model.eval(), x, path, opset_version=17, dynamo=False)``) with
batch norms as if trained, so no two folded conv biases are alike."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from make_onnx_fixtures import MobileNetV2, export, resnet  # noqa: E402
from onnx_models import initializer_elements  # noqa: E402

import archviz  # noqa: E402

pytestmark = pytest.mark.slow

#: torchvision model -> archviz preset
PRESETS = {
    "resnet18": "resnet18-torchvision",
    "resnet50": "resnet50-torchvision",
    "resnext50_32x4d": "resnext50_32x4d",
    "wide_resnet50_2": "wide_resnet50_2",
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("torch")
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            built = MobileNetV2() if name == "mobilenet_v2" else resnet(name)
            cache[name] = export(built, folder / f"{name}.onnx", 224, trained=True)
        return cache[name]

    return get


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_torchvision_resnets_equal_the_presets(exported, name):
    path = exported(name)
    summary, reference = archviz.analyze(path), archviz.analyze(PRESETS[name])
    assert summary.complete and not summary.warnings and not summary.uncounted
    assert summary.macs == reference.macs
    folded = reference.params - 3 * reference.non_trainable_params // 2  # 4 BN params per channel out, 1 bias in
    assert summary.params == initializer_elements(path) == folded
    ours = {row.name: row for row in summary.rows("stages")}
    for row in reference.stage_rows():
        assert ours[row.name].params == row.params - 3 * row.non_trainable_params // 2
        assert ours[row.name].macs == row.macs
    if name == "resnet50":  # the figures
        assert (summary.params, summary.macs) == (25_530_472, 4_089_184_256)
        assert [row.name for row in summary.rows("stages")] == [
            "input.1", "stem", "layer1", "layer2", "layer3", "layer4", "head"
        ]  # fmt: skip
        assert sum(summary.groups.get(row.name) == "block" for row in summary.rows("blocks")) == 16


def test_compare_the_preset_with_its_export(exported, run_cli):
    code, out, err = run_cli("compare", "resnet50-torchvision", exported("resnet50"), "--format", "json")
    assert code == 0, err
    preset, onnx_file = json.loads(out)
    assert preset["macs"] == onnx_file["macs"] == 4_089_184_256


def test_mobilenet_v2_equals_fvcore(exported):
    """fvcore's FlopCountAnalysis of torchvision's mobilenet_v2 at 224x224 (conv and linear): 300,774,272;
    its Clip (ReLU6) bounds are Constant nodes, which are no params."""
    path = exported("mobilenet_v2")
    summary = archviz.analyze(path)
    assert summary.complete and not summary.warnings
    assert summary.macs == 300_774_272
    assert summary.params == initializer_elements(path)
