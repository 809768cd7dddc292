"""A ResNet variant as data.

:class:`ResNetConfig` is a frozen record of every choice that distinguishes one
member of the family from another. Presets (:mod:`archviz.zoo.presets`) are
configs; a spec file (:mod:`archviz.spec`) is a config written by a user; the
command-line options are changes to a config (:meth:`ResNetConfig.replace`).
:func:`archviz.zoo.builder.build` is the one function that turns a config into
a graph.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from archviz.errors import SpecError

BlockType = Literal["basic", "bottleneck"]
Padding = Literal["explicit", "same", "zeropad"]
ShortcutOption = Literal["A", "B", "C", "none"]
ConvBias = Literal["none", "all", "unnormalized"]

BLOCK_TYPES = ("basic", "bottleneck")
PADDINGS = ("explicit", "same", "zeropad")
SHORTCUTS = ("A", "B", "C", "none")
CONV_BIAS = ("none", "all", "unnormalized")
STRIDE_ON = ("first", "middle")
DOWNSAMPLE_AT = ("first", "last")
SUBSAMPLE = ("projection", "max_pool")
ACTIVATIONS = (None, "linear", "relu", "relu6", "sigmoid", "tanh", "softmax", "swish")
HEAD_OPS = ("global_avg_pool", "global_max_pool", "avg_pool", "max_pool", "flatten", "dense", "dropout")


@dataclass(frozen=True)
class Stem:
    """The layers before the first stage.

    ``widths`` lists the stem convolutions (one for the classic 7x7 stem, three
    for the deep stem); only the first carries ``stride``.
    """

    widths: tuple[int, ...] = (64,)
    kernel: int = 7
    stride: int = 2
    pool: bool = True
    pool_padding: bool = True
    norm: bool = True
    padding: Padding = "explicit"


#: Named stems, selectable with ``--stem``.
STEMS: dict[str, Stem] = {
    "imagenet": Stem(),
    "cifar": Stem(widths=(16,), kernel=3, stride=1, pool=False),
    "deep": Stem(widths=(32, 32, 64), kernel=3, stride=2, pool=True),
}


@dataclass(frozen=True)
class HeadLayer:
    """A layer of the classifier head. ``units=None`` for a dense layer means ``classes``."""

    op: str  # one of HEAD_OPS
    units: int | None = None
    activation: str | None = None
    pool: int = 2
    rate: float = 0.0


#: GlobalAveragePooling2D then a dense layer with ``classes`` outputs.
DEFAULT_HEAD: tuple[HeadLayer, ...] = (HeadLayer("global_avg_pool"), HeadLayer("dense"))


@dataclass(frozen=True)
class BlockOverride:
    """A change to one block (``block`` set) or to every block of a stage (``block`` None).

    Stage and block numbers count from 1, as in the layer names (``layer4.block2``).
    """

    stage: int
    block: int | None = None
    mid_width: int | None = None
    out_width: int | None = None
    stride: int | None = None
    shortcut: ShortcutOption | None = None


@dataclass(frozen=True)
class ResNetConfig:
    """Every choice that makes one ResNet variant. Build it with :func:`archviz.zoo.builder.build`."""

    name: str
    family: str = "resnet"
    description: str = ""
    source: str = ""
    # body
    block: BlockType = "basic"
    preact: bool = False
    layers: tuple[int, ...] = (2, 2, 2, 2)
    widths: tuple[int, ...] = (64, 128, 256, 512)
    strides: tuple[int, ...] = (1, 2, 2, 2)
    expansion: int | None = None  # None: 1 for basic blocks, 4 for bottlenecks
    groups: int = 1
    width_per_group: int = 64
    width_multiplier: float = 1.0
    stride_on: Literal["first", "middle"] = "first"
    downsample_at: Literal["first", "last"] = "first"
    shortcut: ShortcutOption = "B"
    projection_bn: bool = True
    subsample: Literal["projection", "max_pool"] = "projection"
    conv_bias: ConvBias = "none"
    bn_epsilon: float = 1e-5
    padding: Padding = "explicit"
    dropout: float = 0.0
    final_norm: bool | None = None  # None: True for pre-activation networks
    stem: Stem = field(default_factory=Stem)
    # data and head
    input_shape: tuple[int, int, int] = (224, 224, 3)
    classes: int = 1000
    include_top: bool = True
    head: tuple[HeadLayer, ...] = DEFAULT_HEAD
    classifier_activation: str | None = None
    overrides: tuple[BlockOverride, ...] = ()

    def __post_init__(self) -> None:
        validate(self)

    @property
    def block_expansion(self) -> int:
        if self.expansion is not None:
            return self.expansion
        return 4 if self.block == "bottleneck" else 1

    @property
    def has_final_norm(self) -> bool:
        return self.preact if self.final_norm is None else self.final_norm

    @property
    def depth(self) -> int:
        """Weighted layers on the main path, the number in a ResNet's name."""
        convs_per_block = 3 if self.block == "bottleneck" else 2
        return len(self.stem.widths) + convs_per_block * sum(self.layers) + (1 if self.include_top else 0)

    def replace(self, **changes: Any) -> "ResNetConfig":
        """A copy with some fields changed; unknown fields are an error naming them."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise SpecError(f"unknown option {unknown[0]!r}")
        return dataclasses.replace(self, **changes)

    def options(self) -> dict[str, Any]:
        """The resolved options as plain data (for JSON, the report and spec files)."""
        return _plain(dataclasses.asdict(self))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"{name} must be a positive integer, got {value!r}")


def _choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        shown = ", ".join(str(c) for c in choices if c is not None)
        raise SpecError(f"{name} must be one of {shown}; got {value!r}")


def validate(config: ResNetConfig) -> None:
    """Reject a config that cannot describe a network, naming the offending field."""
    if not config.name:
        raise SpecError("name must not be empty")
    _choice("block", config.block, BLOCK_TYPES)
    _choice("shortcut", config.shortcut, SHORTCUTS)
    _choice("conv_bias", config.conv_bias, CONV_BIAS)
    _choice("padding", config.padding, PADDINGS)
    _choice("stem.padding", config.stem.padding, PADDINGS)
    _choice("stride_on", config.stride_on, STRIDE_ON)
    _choice("downsample_at", config.downsample_at, DOWNSAMPLE_AT)
    _choice("subsample", config.subsample, SUBSAMPLE)
    _choice("classifier_activation", config.classifier_activation, ACTIVATIONS)
    if not config.layers:
        raise SpecError("layers must list at least one stage")
    for index, count in enumerate(config.layers, 1):
        _positive(f"layers[{index}] (blocks in stage {index})", count)
    for label, values in (("widths", config.widths), ("strides", config.strides)):
        if len(values) != len(config.layers):
            raise SpecError(f"{label} has {len(values)} entries but layers has {len(config.layers)} stages")
        for index, value in enumerate(values, 1):
            _positive(f"{label}[{index}]", value)
    if config.expansion is not None:
        _positive("expansion", config.expansion)
    _positive("groups", config.groups)
    _positive("width_per_group", config.width_per_group)
    if isinstance(config.width_multiplier, bool) or not isinstance(config.width_multiplier, (int, float)) or config.width_multiplier <= 0:
        raise SpecError(f"width_multiplier must be a positive number, got {config.width_multiplier!r}")
    if config.block == "basic" and (config.groups != 1 or config.width_per_group != 64):
        raise SpecError("groups and width_per_group apply to bottleneck blocks only")
    if not isinstance(config.bn_epsilon, (int, float)) or isinstance(config.bn_epsilon, bool) or config.bn_epsilon <= 0:
        raise SpecError(f"bn_epsilon must be a positive number, got {config.bn_epsilon!r}")
    if not isinstance(config.dropout, (int, float)) or not 0 <= config.dropout < 1:
        raise SpecError(f"dropout must be in [0, 1), got {config.dropout!r}")
    if len(config.input_shape) != 3:
        raise SpecError(f"input_shape must be height, width, channels; got {config.input_shape!r}")
    for value in config.input_shape:
        _positive("input_shape", value)
    _positive("classes", config.classes)
    if not config.stem.widths:
        raise SpecError("stem.widths must list at least one convolution")
    for value in (*config.stem.widths, config.stem.kernel, config.stem.stride):
        _positive("stem", value)
    for layer in config.head:
        _choice("head op", layer.op, HEAD_OPS)
        if layer.op == "dense" and layer.units is not None:
            _positive("head units", layer.units)
        if layer.activation is not None:
            _choice("head activation", layer.activation, ACTIVATIONS)
    for override in config.overrides:
        if not 1 <= override.stage <= len(config.layers):
            raise SpecError(f"stage {override.stage} does not exist (the network has {len(config.layers)} stages)")
        if override.block is not None and not 1 <= override.block <= config.layers[override.stage - 1]:
            raise SpecError(
                f"stage {override.stage} has {config.layers[override.stage - 1]} blocks, there is no block {override.block}"
            )
        for key in ("mid_width", "out_width", "stride"):
            value = getattr(override, key)
            if value is not None:
                _positive(key, value)
        if override.shortcut is not None:
            _choice("shortcut", override.shortcut, SHORTCUTS)
