"""Regenerate the ONNX fixtures of the tests (examples/onnx/, which the tests and the docs read) with torch.

The models are torchvision's ResNets re-implemented in plain torch, module for module (the same
attribute names, so the exporter writes the same node names: ``/layer1/layer1.0/conv1/Conv``), with
no torchvision installed. Fixtures are small (tiny widths and inputs); :func:`resnet` and
:func:`mobilenet_v2` also build the full-size models, which the slow test exports.

    python scripts/make_onnx_fixtures.py            # writes examples/onnx/*.onnx

The export is what a user runs: ``torch.onnx.export(model.eval(), x, path, opset_version=17,
dynamo=False)``, which folds every batch norm into the conv before it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

FIXTURES = Path(__file__).resolve().parent.parent / "examples" / "onnx"


def conv3x3(cin: int, cout: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, padding=dilation, groups=groups, bias=False, dilation=dilation)


def conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Any = None, **_: int) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: Any = None, groups: int = 1, base_width: int = 64
    ) -> None:
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision.models.resnet.ResNet (v1.5: the stride on the 3x3), ``width`` scaling its 64."""

    def __init__(
        self,
        block: type,
        layers: list[int],
        num_classes: int = 1000,
        groups: int = 1,
        width_per_group: int = 64,
        width: int = 64,
    ) -> None:
        super().__init__()
        self.inplanes, self.groups, self.base_width = width, groups, width_per_group
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)

    def _make_layer(self, block: Any, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride), nn.BatchNorm2d(planes * block.expansion)
            )
        kwargs = {"groups": self.groups, "base_width": self.base_width}
        layers = [block(self.inplanes, planes, stride, downsample, **kwargs)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, **kwargs) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


#: torchvision's constructors: (block, layers, groups, width_per_group)
RESNETS = {
    "resnet18": (BasicBlock, [2, 2, 2, 2], 1, 64),
    "resnet34": (BasicBlock, [3, 4, 6, 3], 1, 64),
    "resnet50": (Bottleneck, [3, 4, 6, 3], 1, 64),
    "resnext50_32x4d": (Bottleneck, [3, 4, 6, 3], 32, 4),
    "wide_resnet50_2": (Bottleneck, [3, 4, 6, 3], 1, 128),
}


def resnet(name: str, *, width: int = 64, num_classes: int = 1000, groups: int | None = None) -> ResNet:
    """torchvision's ``name``; a smaller ``width`` scales the widths (and ``groups`` replaces ResNeXt's 32,
    keeping its width per group's share of the width)."""
    block, layers, default_groups, width_per_group = RESNETS[name]
    if groups is not None:
        width_per_group = width_per_group * default_groups // groups
    return ResNet(block, layers, num_classes, groups or default_groups, width_per_group, width)


def _make_divisible(value: float, divisor: int = 8) -> int:
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvBNReLU(nn.Sequential):
    """torchvision's Conv2dNormActivation with ReLU6, as MobileNetV2 uses it."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = int(round(cin * expand_ratio))
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = [ConvBNReLU(cin, hidden, kernel=1)] if expand_ratio != 1 else []
        layers += [
            ConvBNReLU(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, 1, 0, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision.models.mobilenetv2.MobileNetV2 (width 1.0)."""

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0) -> None:
        super().__init__()
        settings = [
            [1, 16, 1, 1],
            [6, 24, 2, 2],
            [6, 32, 3, 2],
            [6, 64, 4, 2],
            [6, 96, 3, 1],
            [6, 160, 3, 2],
            [6, 320, 1, 1],
        ]
        cin = _make_divisible(32 * width_mult)
        self.last_channel = _make_divisible(1280 * max(1.0, width_mult))
        features: list[nn.Module] = [ConvBNReLU(3, cin, stride=2)]
        for t, c, n, s in settings:
            cout = _make_divisible(c * width_mult)
            for i in range(n):
                features.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        features.append(ConvBNReLU(cin, self.last_channel, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=0.2), nn.Linear(self.last_channel, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


def export(model: nn.Module, path: Path, size: int, *, trained: bool = False) -> Path:
    """Export ``model`` for a ``size`` x ``size`` input. ``trained`` gives every batch norm statistics and
    an affine part of its own, as training does: the folded conv biases then differ, where an untrained
    model's are all zeros, which the exporter stores once per shape and shares through Identity nodes."""
    torch.manual_seed(0)
    if trained:
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.running_mean.normal_()
                    module.running_var.uniform_(0.5, 2.0)
                    module.weight.normal_()
                    module.bias.normal_()
    x = torch.randn(1, 3, size, size)
    torch.onnx.export(model.eval(), x, str(path), opset_version=17, dynamo=False)
    return path


def fixtures() -> dict[str, tuple[nn.Module, int, bool]]:
    """The committed fixtures: file -> (model, input size, trained). The ResNet-18 is untrained (its folded
    biases are zeros the exporter shares), the others have batch norms as if trained."""
    torch.manual_seed(0)
    return {
        "tiny_resnet18.onnx": (resnet("resnet18", width=4, num_classes=10), 64, False),
        "tiny_resnet50.onnx": (resnet("resnet50", width=4, num_classes=10), 64, True),
        "tiny_resnext50.onnx": (resnet("resnext50_32x4d", width=4, groups=4, num_classes=10), 64, True),
    }


def main() -> int:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, (model, size, trained) in fixtures().items():
        path = export(model, FIXTURES / name, size, trained=trained)
        print(f"{path}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
