"""The ResNet zoo: variants as data, one builder, a registry of presets."""

from archviz.zoo import presets as _presets  # noqa: F401  (registers the presets)
from archviz.zoo.builder import build
from archviz.zoo.config import BlockOverride, HeadLayer, ResNetConfig, Stem, STEMS
from archviz.zoo.plans import BlockPlan, plan
from archviz.zoo.registry import REGISTRY, Registry

__all__ = ["BlockOverride", "BlockPlan", "HeadLayer", "REGISTRY", "Registry", "ResNetConfig", "STEMS", "Stem",
           "build", "plan"]
