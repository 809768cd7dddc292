"""A ResNet variant as data.

:class:`ResNetConfig` is a frozen record of every choice that distinguishes one
member of the family from another. Presets (:mod:`archviz.sources.zoo.presets`) are
configs; a spec file (:mod:`archviz.sources.spec`) is a config written by a user; the
command-line options are changes to a config (:meth:`ResNetConfig.replace`).
:func:`archviz.sources.zoo.builder.build` is the one function that turns a config into
a graph.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any

from archviz.errors import SpecError
from archviz.limits import MAX_BLOCKS, check, check_bool, check_text, short
from archviz.ops.base import ACTIVATIONS


class BlockType(enum.StrEnum):
    """The residual block: two 3x3 convolutions, or the 1x1-3x3-1x1 bottleneck."""

    BASIC = "basic"
    BOTTLENECK = "bottleneck"


class Padding(enum.StrEnum):
    """How a convolution pads: explicit pads inside it (PyTorch), ``same`` (Keras), or a separate
    ZeroPadding layer before a valid convolution (keras.applications)."""

    EXPLICIT = "explicit"
    SAME = "same"
    ZEROPAD = "zeropad"


class Shortcut(enum.StrEnum):
    """The paper's shortcut options: A zero-padding identity, B projection where the shape changes,
    C projection on every block; none for a plain network."""

    A = "A"
    B = "B"
    C = "C"
    NONE = "none"


class ConvBias(enum.StrEnum):
    """Which convolutions carry a bias: none, all, or those no batch norm follows."""

    NONE = "none"
    ALL = "all"
    UNNORMALIZED = "unnormalized"


class StrideOn(enum.StrEnum):
    """Which bottleneck convolution carries a block's stride: the first 1x1 (the paper) or the 3x3 (v1.5)."""

    FIRST = "first"
    MIDDLE = "middle"


class DownsampleAt(enum.StrEnum):
    """Which block of a stage downsamples: the first (v1), or the last (Keras's v2)."""

    FIRST = "first"
    LAST = "last"


class Subsample(enum.StrEnum):
    """How a downsampling shortcut subsamples: with its projection's stride, or a max-pool (Keras's v2)."""

    PROJECTION = "projection"
    MAX_POOL = "max_pool"


class HeadOp(enum.StrEnum):
    """A layer of the classifier head, as a spec names it."""

    GLOBAL_AVG_POOL = "global_avg_pool"
    GLOBAL_MAX_POOL = "global_max_pool"
    AVG_POOL = "avg_pool"
    MAX_POOL = "max_pool"
    FLATTEN = "flatten"
    DENSE = "dense"
    DROPOUT = "dropout"

    @property
    def graph_op(self) -> str:
        """The graph op it is built as."""
        return {
            "global_avg_pool": "global_avg_pool2d",
            "global_max_pool": "global_max_pool2d",
            "avg_pool": "avg_pool2d",
            "max_pool": "max_pool2d",
        }.get(self.value, self.value)

    @property
    def layer_name(self) -> str:
        """The name its layer gets in the head (``head.pool``, ``head.fc``)."""
        return {"dense": "fc"}.get(self.value, "pool" if self.value.endswith("pool") else self.value)


def _choice(name: str, value: Any, choices: type[enum.StrEnum]) -> Any:
    """``value`` as a member of ``choices`` (None stays None), or a one-line error naming ``name``."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return choices(value)
        except ValueError:
            pass
    raise SpecError(f"{name} must be one of {', '.join(choices)}; got {short(value)}")


def _activation(name: str, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or value not in ACTIVATIONS):
        raise SpecError(f"{name} must be one of {', '.join(ACTIVATIONS)}; got {short(value)}")


def _coerce(record: Any, field_name: str, choices: type[enum.StrEnum], label: str | None = None) -> None:
    """Store a frozen record's word as its enum member (a spec or a preset writes plain text)."""
    value = _choice(label or field_name, getattr(record, field_name), choices)
    object.__setattr__(record, field_name, value)


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
    padding: Padding = Padding.EXPLICIT

    def __post_init__(self) -> None:
        _coerce(self, "padding", Padding, "stem.padding")


class StemName(enum.StrEnum):
    """The named stems, selectable with ``--stem`` (:data:`STEMS`)."""

    IMAGENET = "imagenet"
    CIFAR = "cifar"
    DEEP = "deep"


#: Each named stem.
STEMS: dict[StemName, Stem] = {
    StemName.IMAGENET: Stem(),
    StemName.CIFAR: Stem(widths=(16,), kernel=3, stride=1, pool=False),  # the paper's CIFAR networks
    StemName.DEEP: Stem(widths=(32, 32, 64), kernel=3, stride=2, pool=True),
}


@dataclass(frozen=True)
class HeadLayer:
    """A layer of the classifier head. ``units=None`` for a dense layer means ``classes``."""

    op: HeadOp
    units: int | None = None
    activation: str | None = None
    pool: int = 2
    rate: float = 0.0

    def __post_init__(self) -> None:
        _coerce(self, "op", HeadOp, "head op")


#: GlobalAveragePooling2D then a dense layer with ``classes`` outputs.
DEFAULT_HEAD: tuple[HeadLayer, ...] = (HeadLayer(HeadOp.GLOBAL_AVG_POOL), HeadLayer(HeadOp.DENSE))


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
    shortcut: Shortcut | None = None

    def __post_init__(self) -> None:
        _coerce(self, "shortcut", Shortcut)


@dataclass(frozen=True)
class ResNetConfig:
    """Every choice that makes one ResNet variant. Build it with :func:`archviz.sources.zoo.builder.build`."""

    name: str
    family: str = "resnet"
    description: str = ""
    source: str = ""
    # body
    block: BlockType = BlockType.BASIC
    preact: bool = False
    layers: tuple[int, ...] = (2, 2, 2, 2)
    widths: tuple[int, ...] = (64, 128, 256, 512)
    strides: tuple[int, ...] = (1, 2, 2, 2)
    expansion: int | None = None  # None: 1 for basic blocks, 4 for bottlenecks
    groups: int = 1
    width_per_group: int = 64
    width_multiplier: float = 1.0
    stride_on: StrideOn = StrideOn.FIRST
    downsample_at: DownsampleAt = DownsampleAt.FIRST
    shortcut: Shortcut = Shortcut.B
    projection_bn: bool = True
    subsample: Subsample = Subsample.PROJECTION
    conv_bias: ConvBias = ConvBias.NONE
    bn_epsilon: float = 1e-5
    padding: Padding = Padding.EXPLICIT
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

    def replace(self, **changes: Any) -> ResNetConfig:
        """A copy with some fields changed; unknown fields are an error naming them."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise SpecError(f"unknown option {unknown[0]!r}")
        return dataclasses.replace(self, **changes)

    def options(self) -> dict[str, Any]:
        """The resolved options as plain data (for JSON, the report and spec files)."""
        options: dict[str, Any] = _plain(dataclasses.asdict(self))
        return options


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


#: The config's fields that take a word, and their vocabularies.
_WORDS: dict[str, type[enum.StrEnum]] = {
    "block": BlockType,
    "shortcut": Shortcut,
    "conv_bias": ConvBias,
    "padding": Padding,
    "stride_on": StrideOn,
    "downsample_at": DownsampleAt,
    "subsample": Subsample,
}


def validate(config: ResNetConfig) -> None:
    """Reject a config that cannot describe a network, naming the offending field. Every number
    is checked against its range in :mod:`archviz.limits`, every boolean is a boolean."""
    check_text("name", config.name)
    check_text("description", config.description, empty=True)
    check_text("source", config.source, empty=True)
    check_text("family", config.family)
    for name, choices in _WORDS.items():
        _coerce(config, name, choices)
    _activation("classifier_activation", config.classifier_activation)
    for name in ("preact", "projection_bn", "include_top"):
        check_bool(name, getattr(config, name))
    check_bool("final_norm", config.final_norm, optional=True)
    for label in ("layers", "widths", "strides", "input_shape"):
        if not isinstance(getattr(config, label), tuple):
            raise SpecError(f"{label} must be a list of integers; got {short(getattr(config, label))}")
    if not config.layers:
        raise SpecError("layers must list at least one stage")
    for index, count in enumerate(config.layers, 1):
        check("blocks", count, f"layers[{index}] (blocks in stage {index})")
    if sum(config.layers) > MAX_BLOCKS:
        raise SpecError(
            f"the network has {sum(config.layers):,} residual blocks; archviz draws and counts at most "
            f"{MAX_BLOCKS:,} (ResNet-1202 has 600)"
        )
    for label, kind, values in (("widths", "width", config.widths), ("strides", "stride", config.strides)):
        if len(values) != len(config.layers):
            raise SpecError(f"{label} has {len(values)} entries but layers has {len(config.layers)} stages")
        for index, value in enumerate(values, 1):
            check(kind, value, f"{label}[{index}]")
    if config.expansion is not None:
        check("expansion", config.expansion)
    check("groups", config.groups)
    check("width_per_group", config.width_per_group)
    check("width_multiplier", config.width_multiplier)
    if config.block == "basic" and (config.groups != 1 or config.width_per_group != 64):
        raise SpecError("groups and width_per_group apply to bottleneck blocks only")
    check("bn_epsilon", config.bn_epsilon)
    check("dropout", config.dropout)
    if len(config.input_shape) != 3:
        raise SpecError(f"input_shape must be height, width, channels; got {short(config.input_shape)}")
    check("spatial", config.input_shape[0], "input_shape height")
    check("spatial", config.input_shape[1], "input_shape width")
    check("channels", config.input_shape[2], "input_shape channels")
    check("classes", config.classes)
    _validate_stem(config.stem)
    if not isinstance(config.head, tuple):
        raise SpecError(f"head must be a list of layers; got {short(config.head)}")
    for layer in config.head:
        _validate_head_layer(layer)
    for override in config.overrides:
        _validate_override(config, override)


def _validate_stem(stem: Stem) -> None:
    if not isinstance(stem.widths, tuple) or not stem.widths:
        raise SpecError("stem.widths must list at least one convolution")
    for value in stem.widths:
        check("width", value, "stem.widths")
    check("kernel", stem.kernel, "stem.kernel")
    check("stride", stem.stride, "stem.stride")
    for name in ("pool", "pool_padding", "norm"):
        check_bool(f"stem.{name}", getattr(stem, name))


def _validate_head_layer(layer: HeadLayer) -> None:
    if layer.units is not None:
        check("units", layer.units, "head units")
    _activation("head activation", layer.activation)
    check("pool", layer.pool, "head pool")
    check("rate", layer.rate, "head rate")


def _validate_override(config: ResNetConfig, override: BlockOverride) -> None:
    check("blocks", override.stage, "stage number")
    if override.stage > len(config.layers):
        raise SpecError(f"stage {override.stage} does not exist (the network has {len(config.layers)} stages)")
    if override.block is not None:
        check("blocks", override.block, "block number")
        if override.block > config.layers[override.stage - 1]:
            raise SpecError(
                f"stage {override.stage} has {config.layers[override.stage - 1]} blocks, "
                f"there is no block {override.block}"
            )
    for key, kind in (("mid_width", "width"), ("out_width", "width"), ("stride", "stride")):
        value = getattr(override, key)
        if value is not None:
            check(kind, value, key)
