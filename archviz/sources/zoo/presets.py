"""Every preset of the zoo, as data.

Flavors of the ImageNet ResNets:

* bare names (``resnet50``): the paper's own models (He et al. 2015, Table 1):
  stride on the first 1x1 of a downsampling bottleneck, no conv bias,
  projection shortcuts only where the shape changes (option B).
* ``-torchvision``: torchvision's "v1.5": the stride on the 3x3.
* ``-keras``: keras.applications: stride on the first 1x1, a bias on every
  conv, BN epsilon 1.001e-5, ZeroPadding2D layers in the stem, softmax output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from archviz.sources.zoo.config import (
    STEMS,
    BlockType,
    ConvBias,
    DownsampleAt,
    Padding,
    ResNetConfig,
    Shortcut,
    Stem,
    StemName,
    StrideOn,
    Subsample,
)
from archviz.sources.zoo.registry import REGISTRY

PAPER = "He et al. 2015, Deep Residual Learning for Image Recognition"
PREACT_PAPER = "He et al. 2016, Identity Mappings in Deep Residual Networks"
TORCHVISION = "torchvision.models"
KERAS = "keras.applications"

IMAGENET_LAYERS: dict[int, tuple[BlockType, tuple[int, ...]]] = {
    18: (BlockType.BASIC, (2, 2, 2, 2)),
    34: (BlockType.BASIC, (3, 4, 6, 3)),
    50: (BlockType.BOTTLENECK, (3, 4, 6, 3)),
    101: (BlockType.BOTTLENECK, (3, 4, 23, 3)),
    152: (BlockType.BOTTLENECK, (3, 8, 36, 3)),
}

KERAS_STEM = Stem(padding=Padding.ZEROPAD)


def _cifar_config(name: str, **fields: Any) -> ResNetConfig:
    """A network of the paper's CIFAR-10 setting: 32x32x3 input, 10 classes, three stages of 16, 32 and
    64 filters (unless ``fields`` says other widths), stride 2 between stages."""
    fields.setdefault("widths", (16, 32, 64))
    return ResNetConfig(name=name, input_shape=(32, 32, 3), classes=10, strides=(1, 2, 2), **fields)


def _imagenet(name: str, depth: int, flavor: str) -> ResNetConfig:
    block, layers = IMAGENET_LAYERS[depth]
    if flavor == "paper":
        # a basic block's stride is on its first 3x3 in every flavor; only a bottleneck has a choice
        detail = "basic blocks" if block == BlockType.BASIC else "stride on first 1x1"
        return ResNetConfig(
            name=name,
            source=PAPER,
            stride_on=StrideOn.FIRST,
            description=f"ResNet-{depth}, paper ({detail})",
            block=block,
            layers=layers,
        )
    if flavor == "torchvision":
        detail = "same as the paper's" if block == BlockType.BASIC else "v1.5: stride on the 3x3"
        return ResNetConfig(
            name=name,
            source=TORCHVISION,
            stride_on=StrideOn.MIDDLE,
            description=f"torchvision ({detail})",
            block=block,
            layers=layers,
        )
    return ResNetConfig(
        name=name,
        source=KERAS,
        stride_on=StrideOn.FIRST,
        conv_bias=ConvBias.ALL,
        bn_epsilon=1.001e-5,
        padding=Padding.SAME,
        stem=KERAS_STEM,
        classifier_activation="softmax",
        description="Keras-style: conv bias, BN eps 1.001e-5",
        block=block,
        layers=layers,
    )


def _keras_v2(name: str, depth: int) -> ResNetConfig:
    _, layers = IMAGENET_LAYERS[depth]
    return ResNetConfig(
        name=name,
        family="preact",
        source=KERAS,
        description=f"Keras ResNet{depth}V2 (pre-activation)",
        block=BlockType.BOTTLENECK,
        preact=True,
        layers=layers,
        strides=(2, 2, 2, 1),
        downsample_at=DownsampleAt.LAST,
        stride_on=StrideOn.MIDDLE,
        subsample=Subsample.MAX_POOL,
        conv_bias=ConvBias.UNNORMALIZED,
        bn_epsilon=1.001e-5,
        padding=Padding.ZEROPAD,
        stem=replace(KERAS_STEM, norm=False),
        classifier_activation="softmax",
    )


def _cifar(name: str, depth: int, *, plain: bool = False) -> ResNetConfig:
    n = (depth - 2) // 6
    return _cifar_config(
        name,
        family="plain" if plain else "cifar",
        source=PAPER,
        description=f"CIFAR-10, n={n}, " + ("no shortcuts" if plain else "option A shortcuts"),
        block=BlockType.BASIC,
        layers=(n, n, n),
        stem=STEMS[StemName.CIFAR],
        shortcut=Shortcut.NONE if plain else Shortcut.A,
    )


def _preact_cifar(name: str, depth: int) -> ResNetConfig:
    n = (depth - 2) // 9
    return _cifar_config(
        name,
        family="preact",
        source=PREACT_PAPER,
        description=f"CIFAR pre-activation bottleneck, n={n}",
        block=BlockType.BOTTLENECK,
        preact=True,
        layers=(n, n, n),
        stride_on=StrideOn.MIDDLE,
        stem=replace(STEMS[StemName.CIFAR], norm=False),
    )


def _preact_imagenet(name: str, depth: int) -> ResNetConfig:
    block, layers = IMAGENET_LAYERS[depth]
    return ResNetConfig(
        name=name,
        family="preact",
        source=PREACT_PAPER,
        description=f"pre-activation ResNet-{depth} (BN-ReLU-conv)",
        block=block,
        preact=True,
        layers=layers,
        stem=replace(Stem(), norm=False),
    )


def _torchvision_bottleneck(
    name: str, layers: tuple[int, ...], family: str, description: str, *, groups: int = 1, width_per_group: int = 64
) -> ResNetConfig:
    return ResNetConfig(
        name=name,
        family=family,
        source=TORCHVISION,
        description=description,
        block=BlockType.BOTTLENECK,
        layers=layers,
        stride_on=StrideOn.MIDDLE,
        groups=groups,
        width_per_group=width_per_group,
    )


def _wrn_28_10(name: str) -> ResNetConfig:
    return _cifar_config(
        name,
        family="wide",
        source="Zagoruyko & Komodakis 2016, Wide Residual Networks",
        description="CIFAR WRN-28-10, pre-act, widths x10",
        block=BlockType.BASIC,
        preact=True,
        layers=(4, 4, 4),
        stem=replace(STEMS[StemName.CIFAR], norm=False),
        widths=(160, 320, 640),
    )


def _plain_imagenet(name: str, depth: int) -> ResNetConfig:
    base = _imagenet(f"resnet{depth}", depth, "paper")
    return replace(
        base, name=name, family="plain", shortcut=Shortcut.NONE, description=f"ResNet-{depth}'s body, no shortcuts"
    )


def _add(name: str, factory: Callable[..., ResNetConfig], *args: Any, **kwargs: Any) -> None:
    """Register the preset ``name``: ``factory(name, *args, **kwargs)`` makes its config when it is asked for."""
    REGISTRY.add(name, partial(factory, name, *args, **kwargs))


def _register_all() -> None:
    for flavor, suffix in (("paper", ""), ("torchvision", "-torchvision"), ("keras", "-keras")):
        for depth in IMAGENET_LAYERS:
            _add(f"resnet{depth}{suffix}", _imagenet, depth, flavor)
    for depth in (50, 101, 152):
        _add(f"resnet{depth}v2", _keras_v2, depth)
    for depth in (18, 34):
        _add(f"preact-resnet{depth}", _preact_imagenet, depth)
    for depth in (164, 1001):
        _add(f"preact-resnet{depth}", _preact_cifar, depth)
    for depth in (20, 32, 44, 56, 110, 1202):
        _add(f"resnet{depth}", _cifar, depth)
    for name, layers, family, description, groups, width_per_group in (
        ("resnext50_32x4d", (3, 4, 6, 3), "resnext", "ResNeXt-50 (32x4d)", 32, 4),
        ("resnext101_32x8d", (3, 4, 23, 3), "resnext", "ResNeXt-101 (32x8d)", 32, 8),
        ("resnext101_64x4d", (3, 4, 23, 3), "resnext", "ResNeXt-101 (64x4d)", 64, 4),
        ("wide_resnet50_2", (3, 4, 6, 3), "wide", "Wide ResNet-50-2 (2x wide bottleneck)", 1, 128),
        ("wide_resnet101_2", (3, 4, 23, 3), "wide", "Wide ResNet-101-2 (2x wide bottleneck)", 1, 128),
    ):
        _add(name, _torchvision_bottleneck, layers, family, description, groups=groups, width_per_group=width_per_group)
    _add("wrn-28-10", _wrn_28_10)
    for depth in (18, 34):
        _add(f"plain-{depth}", _plain_imagenet, depth)
    for depth in (20, 32, 44, 56, 110):
        _add(f"plain-{depth}", _cifar, depth, plain=True)


_register_all()
