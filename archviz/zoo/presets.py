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

from dataclasses import replace

from archviz.zoo.config import STEMS, ResNetConfig, Stem
from archviz.zoo.registry import REGISTRY

PAPER = "He et al. 2015, Deep Residual Learning for Image Recognition"
PREACT_PAPER = "He et al. 2016, Identity Mappings in Deep Residual Networks"
TORCHVISION = "torchvision.models"
KERAS = "keras.applications"

IMAGENET_LAYERS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}

KERAS_STEM = Stem(padding="zeropad")
CIFAR_STEM = STEMS["cifar"]
CIFAR = {"input_shape": (32, 32, 3), "classes": 10, "widths": (16, 32, 64), "strides": (1, 2, 2)}


def _imagenet(depth: int, flavor: str) -> ResNetConfig:
    block, layers = IMAGENET_LAYERS[depth]
    common = {"block": block, "layers": layers}
    if flavor == "paper":
        # a basic block's stride is on its first 3x3 in every flavor; only a bottleneck has a choice
        detail = "basic blocks" if block == "basic" else "stride on first 1x1"
        return ResNetConfig(name=f"resnet{depth}", source=PAPER, stride_on="first",
                            description=f"ResNet-{depth}, paper ({detail})", **common)
    if flavor == "torchvision":
        detail = "same as the paper's" if block == "basic" else "v1.5: stride on the 3x3"
        return ResNetConfig(name=f"resnet{depth}-torchvision", source=TORCHVISION, stride_on="middle",
                            description=f"torchvision ({detail})", **common)
    return ResNetConfig(name=f"resnet{depth}-keras", source=KERAS, stride_on="first", conv_bias="all",
                        bn_epsilon=1.001e-5, padding="same", stem=KERAS_STEM, classifier_activation="softmax",
                        description="Keras-style: conv bias, BN eps 1.001e-5", **common)


def _keras_v2(depth: int) -> ResNetConfig:
    _, layers = IMAGENET_LAYERS[depth]
    return ResNetConfig(
        name=f"resnet{depth}v2", family="preact", source=KERAS,
        description=f"Keras ResNet{depth}V2 (pre-activation)",
        block="bottleneck", preact=True, layers=layers, strides=(2, 2, 2, 1), downsample_at="last",
        stride_on="middle", subsample="max_pool", conv_bias="unnormalized", bn_epsilon=1.001e-5,
        padding="zeropad", stem=replace(KERAS_STEM, norm=False), classifier_activation="softmax",
    )


def _cifar(depth: int, *, plain: bool = False) -> ResNetConfig:
    n = (depth - 2) // 6
    return ResNetConfig(
        name=f"{'plain' if plain else 'resnet'}{'-' if plain else ''}{depth}", family="plain" if plain else "cifar",
        source=PAPER, description=f"CIFAR-10, n={n}, " + ("no shortcuts" if plain else "option A shortcuts"),
        block="basic", layers=(n, n, n), stem=CIFAR_STEM, shortcut="none" if plain else "A", **CIFAR,
    )


def _preact_cifar(depth: int) -> ResNetConfig:
    n = (depth - 2) // 9
    return ResNetConfig(
        name=f"preact-resnet{depth}", family="preact", source=PREACT_PAPER,
        description=f"CIFAR pre-activation bottleneck, n={n}",
        block="bottleneck", preact=True, layers=(n, n, n), stride_on="middle",
        stem=replace(CIFAR_STEM, norm=False), **CIFAR,
    )


def _preact_imagenet(depth: int) -> ResNetConfig:
    block, layers = IMAGENET_LAYERS[depth]
    return ResNetConfig(
        name=f"preact-resnet{depth}", family="preact", source=PREACT_PAPER,
        description=f"pre-activation ResNet-{depth} (BN-ReLU-conv)",
        block=block, preact=True, layers=layers, stem=replace(Stem(), norm=False),
    )


def _torchvision_bottleneck(name: str, layers: tuple[int, ...], family: str, description: str, *,
                            groups: int = 1, width_per_group: int = 64) -> ResNetConfig:
    return ResNetConfig(name=name, family=family, source=TORCHVISION, description=description, block="bottleneck",
                        layers=layers, stride_on="middle", groups=groups, width_per_group=width_per_group)


def _register_all() -> None:
    for flavor in ("paper", "torchvision", "keras"):
        for depth in IMAGENET_LAYERS:
            REGISTRY.register(_imagenet(depth, flavor))
    for depth in (50, 101, 152):
        REGISTRY.register(_keras_v2(depth))
    for depth in (18, 34):
        REGISTRY.register(_preact_imagenet(depth))
    for depth in (164, 1001):
        REGISTRY.register(_preact_cifar(depth))
    for depth in (20, 32, 44, 56, 110, 1202):
        REGISTRY.register(_cifar(depth))
    REGISTRY.register(_torchvision_bottleneck("resnext50_32x4d", (3, 4, 6, 3), "resnext",
                                              "ResNeXt-50 (32x4d)", groups=32, width_per_group=4))
    REGISTRY.register(_torchvision_bottleneck("resnext101_32x8d", (3, 4, 23, 3), "resnext",
                                              "ResNeXt-101 (32x8d)", groups=32, width_per_group=8))
    REGISTRY.register(_torchvision_bottleneck("resnext101_64x4d", (3, 4, 23, 3), "resnext",
                                              "ResNeXt-101 (64x4d)", groups=64, width_per_group=4))
    REGISTRY.register(_torchvision_bottleneck("wide_resnet50_2", (3, 4, 6, 3), "wide",
                                              "Wide ResNet-50-2 (2x wide bottleneck)", width_per_group=128))
    REGISTRY.register(_torchvision_bottleneck("wide_resnet101_2", (3, 4, 23, 3), "wide",
                                              "Wide ResNet-101-2 (2x wide bottleneck)", width_per_group=128))
    REGISTRY.register(ResNetConfig(
        name="wrn-28-10", family="wide", source="Zagoruyko & Komodakis 2016, Wide Residual Networks",
        description="CIFAR WRN-28-10, pre-act, widths x10",
        block="basic", preact=True, layers=(4, 4, 4), stem=replace(CIFAR_STEM, norm=False),
        **{**CIFAR, "widths": (160, 320, 640)},
    ))
    for depth in (18, 34):
        base = _imagenet(depth, "paper")
        REGISTRY.register(replace(base, name=f"plain-{depth}", family="plain", shortcut="none",
                                  description=f"ResNet-{depth}'s body, no shortcuts"))
    for depth in (20, 32, 44, 56, 110):
        REGISTRY.register(_cifar(depth, plain=True))


_register_all()
