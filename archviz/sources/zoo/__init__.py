"""The ResNet zoo: variants as data, one builder, a registry of presets. May import: the shared
modules, :mod:`archviz.ops` and :mod:`archviz.core`."""

from archviz.sources.zoo import presets as _presets  # noqa: F401  (registers the presets)
from archviz.sources.zoo.builder import build
from archviz.sources.zoo.config import STEMS, BlockOverride, HeadLayer, ResNetConfig, Stem, StemName
from archviz.sources.zoo.plans import BlockPlan, plan
from archviz.sources.zoo.registry import REGISTRY, Registry

__all__ = [
    "BlockOverride",
    "BlockPlan",
    "HeadLayer",
    "REGISTRY",
    "Registry",
    "ResNetConfig",
    "STEMS",
    "Stem",
    "StemName",
    "build",
    "plan",
]
