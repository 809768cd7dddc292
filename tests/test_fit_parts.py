"""fit's costing by parts equals the full build, for any config, and its cache key is the plan.

:func:`archviz.studies.fit.cost_by_parts` counts a network as its stem, its blocks and its tail, each
cached under its plan (:mod:`archviz.sources.zoo.plans`). Random configs (every field of
:class:`ResNetConfig`, per-stage and per-block overrides included) are costed through one warm
cache and compared with the full build; and for every field of every plan, two configs that
differ in it get separate cache entries.
"""

import dataclasses
import typing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archviz.core.analysis import analyze_graph
from archviz.errors import ArchvizError
from archviz.ops.base import ACTIVATIONS as ACTIVATION_TABLE
from archviz.sources.zoo import BlockOverride, HeadLayer, ResNetConfig, Stem, build
from archviz.sources.zoo.config import ConvBias, Padding, Shortcut
from archviz.sources.zoo.plans import BlockPlan, StemPlan, TailPlan, plan, stem_plan, tail_plan
from archviz.studies.fit import _PARTS, cost_by_parts

ACTIVATIONS = (None, *ACTIVATION_TABLE)
CONV_BIAS, PADDINGS, SHORTCUTS = tuple(ConvBias), tuple(Padding), tuple(Shortcut)

#: The fields that make a config's network (the others name and describe it).
VARIED = {f.name for f in dataclasses.fields(ResNetConfig)} - {"name", "family", "description", "source"}


# ---- random configs -------------------------------------------------------------------


@st.composite
def stems(draw) -> Stem:
    return Stem(
        widths=tuple(draw(st.lists(st.integers(1, 16), min_size=1, max_size=3))),
        kernel=draw(st.integers(1, 7)),
        stride=draw(st.integers(1, 2)),
        pool=draw(st.booleans()),
        pool_padding=draw(st.booleans()),
        norm=draw(st.booleans()),
        padding=draw(st.sampled_from(PADDINGS)),
    )


@st.composite
def heads(draw) -> tuple[HeadLayer, ...]:
    """One or two spatial layers (pools, flatten), then dense and dropout layers."""
    spatial = st.builds(
        HeadLayer,
        st.sampled_from(["global_avg_pool", "global_max_pool", "avg_pool", "max_pool", "flatten"]),
        pool=st.integers(1, 3),
    )
    top = st.one_of(
        st.builds(
            HeadLayer, st.just("dense"), units=st.none() | st.integers(1, 12), activation=st.sampled_from(ACTIVATIONS)
        ),
        st.builds(HeadLayer, st.just("dropout"), rate=st.sampled_from([0.0, 0.5])),
    )
    return tuple(draw(st.lists(spatial, min_size=1, max_size=2)) + draw(st.lists(top, max_size=3)))


@st.composite
def overrides(draw, layers: tuple[int, ...]) -> tuple[BlockOverride, ...]:
    changes = []
    for _ in range(draw(st.integers(0, 3))):
        stage = draw(st.integers(1, len(layers)))
        changes.append(
            BlockOverride(
                stage,
                draw(st.none() | st.integers(1, layers[stage - 1])),
                mid_width=draw(st.none() | st.integers(1, 24)),
                out_width=draw(st.none() | st.integers(1, 48)),
                stride=draw(st.none() | st.integers(1, 2)),
                shortcut=draw(st.none() | st.sampled_from(SHORTCUTS)),
            )
        )
    return tuple(changes)


@st.composite
def config_options(draw) -> dict:
    """Keyword arguments of a small :class:`ResNetConfig`, every field but the metadata drawn."""
    stages = draw(st.integers(1, 4))
    block = draw(st.sampled_from(["basic", "bottleneck"]))
    layers = tuple(draw(st.integers(1, 3)) for _ in range(stages))
    grouped = block == "bottleneck"
    return {
        "block": block,
        "preact": draw(st.booleans()),
        "layers": layers,
        "widths": tuple(draw(st.integers(1, 24)) for _ in range(stages)),
        "strides": tuple(draw(st.integers(1, 2)) for _ in range(stages)),
        "expansion": draw(st.none() | st.integers(1, 4)),
        "groups": draw(st.sampled_from([1, 2, 4])) if grouped else 1,
        "width_per_group": draw(st.sampled_from([16, 32, 64])) if grouped else 64,
        "width_multiplier": draw(st.sampled_from([0.25, 0.5, 1.0, 1.3, 2.0])),
        "stride_on": draw(st.sampled_from(["first", "middle"])),
        "downsample_at": draw(st.sampled_from(["first", "last"])),
        "shortcut": draw(st.sampled_from(SHORTCUTS)),
        "projection_bn": draw(st.booleans()),
        "subsample": draw(st.sampled_from(["projection", "max_pool"])),
        "conv_bias": draw(st.sampled_from(CONV_BIAS)),
        "bn_epsilon": draw(st.sampled_from([1e-5, 1.001e-5, 1e-3])),
        "padding": draw(st.sampled_from(PADDINGS)),
        "dropout": draw(st.sampled_from([0.0, 0.2])),
        "final_norm": draw(st.sampled_from([None, True, False])),
        "stem": draw(stems()),
        "input_shape": (draw(st.integers(8, 48)), draw(st.integers(8, 48)), draw(st.integers(1, 4))),
        "classes": draw(st.integers(1, 20)),
        "include_top": draw(st.booleans()),
        "head": draw(heads()),
        "classifier_activation": draw(st.sampled_from(ACTIVATIONS)),
        "overrides": draw(overrides(layers)),
    }


@settings(max_examples=20, deadline=None)
@given(config_options())
def test_the_random_configs_vary_every_field(options):
    assert set(options) == VARIED


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    config_options(), config_options(), st.lists(st.sampled_from(sorted(VARIED)), min_size=3, max_size=3, unique=True)
)
def test_cost_by_parts_equals_the_full_build(options, other, fields):
    """A random config, then configs that differ from it in a single field (taking ``other``'s),
    costed through one cache shared by every example and every other test, as in a search: a
    part whose key missed a field the builder reads would be served a neighbour's count."""
    for changed in (options, *({**options, field: other[field]} for field in fields)):
        try:
            config = ResNetConfig(name="random", **changed)
            summary = analyze_graph(build(config))
        except ArchvizError:
            with pytest.raises(ArchvizError):  # an invalid combination, or an input too small for the network
                cost_by_parts(ResNetConfig(name="random", **changed))
            continue
        assert cost_by_parts(config) == (summary.params, summary.macs, summary.weighted_layers)


# ---- every plan field is part of the key ------------------------------------------------

STEM = Stem(widths=(8,), kernel=3, stride=1, pool=False)
BASE = ResNetConfig(
    name="pair",
    block="bottleneck",
    layers=(1, 2),
    widths=(8, 16),
    strides=(1, 2),
    stem=STEM,
    input_shape=(16, 16, 3),
    classes=10,
)

#: For each field of each plan (nested plans by path), two changes to BASE that differ in it.
PAIRS: dict[str, tuple[dict, dict]] = {
    "BlockPlan.in_channels": ({}, {"stem": dataclasses.replace(STEM, widths=(12,))}),
    "BlockPlan.mid_width": ({}, {"overrides": (BlockOverride(2, 2, mid_width=4),)}),
    "BlockPlan.out_channels": ({}, {"overrides": (BlockOverride(2, 2, out_width=32),)}),
    "BlockPlan.stride": ({}, {"overrides": (BlockOverride(2, 1, stride=1),)}),
    "BlockPlan.shortcut": ({}, {"shortcut": "C"}),
    "BlockPlan.style.block": ({}, {"block": "basic"}),
    "BlockPlan.style.preact": ({"final_norm": False}, {"final_norm": False, "preact": True}),
    "BlockPlan.style.groups": ({}, {"groups": 2, "width_per_group": 32}),
    "BlockPlan.style.stride_on": ({}, {"stride_on": "middle"}),
    "BlockPlan.style.projection_bn": ({}, {"projection_bn": False}),
    "BlockPlan.style.dropout": ({}, {"dropout": 0.5}),
    "BlockPlan.style.layers.padding": ({}, {"padding": "same"}),
    "BlockPlan.style.layers.conv_bias": ({}, {"conv_bias": "all"}),
    "BlockPlan.style.layers.bn_epsilon": ({}, {"bn_epsilon": 1e-3}),
    "StemPlan.input_shape": ({}, {"input_shape": (20, 20, 3)}),
    "StemPlan.widths": ({}, {"stem": dataclasses.replace(STEM, widths=(8, 8))}),
    "StemPlan.kernel": ({}, {"stem": dataclasses.replace(STEM, kernel=5)}),
    "StemPlan.stride": ({}, {"stem": dataclasses.replace(STEM, stride=2)}),
    "StemPlan.pool": ({}, {"stem": dataclasses.replace(STEM, pool=True)}),
    "StemPlan.pool_padding": (
        {"stem": dataclasses.replace(STEM, pool=True)},
        {"stem": dataclasses.replace(STEM, pool=True, pool_padding=False)},
    ),
    "StemPlan.norm": ({}, {"stem": dataclasses.replace(STEM, norm=False)}),
    "StemPlan.layers.padding": ({}, {"stem": dataclasses.replace(STEM, padding="zeropad")}),
    "StemPlan.layers.conv_bias": ({}, {"conv_bias": "unnormalized", "stem": dataclasses.replace(STEM, norm=False)}),
    "StemPlan.layers.bn_epsilon": ({}, {"bn_epsilon": 1e-3}),
    "TailPlan.final_norm": ({}, {"final_norm": True}),
    "TailPlan.bn_epsilon": ({"final_norm": True}, {"final_norm": True, "bn_epsilon": 1e-3}),
    "TailPlan.head": ({}, {"classes": 5}),
}


def _paths(cls: type, prefix: str) -> list[str]:
    """The leaf fields of a plan, nested plans followed: ``BlockPlan.style.layers.padding``."""
    hints = typing.get_type_hints(cls)
    paths = []
    for name in cls._fields:
        nested = hints[name]
        paths += _paths(nested, f"{prefix}.{name}") if hasattr(nested, "_fields") else [f"{prefix}.{name}"]
    return paths


def _values(config: ResNetConfig, path: str) -> list:
    kind, *names = path.split(".")
    parts = {
        "BlockPlan": [b for stage in plan(config) for b in stage],
        "StemPlan": [stem_plan(config)],
        "TailPlan": [tail_plan(config)],
    }[kind]
    values = []
    for part in parts:
        for name in names:
            part = getattr(part, name)
        values.append(part)
    return values


def _layers(config: ResNetConfig) -> list[tuple]:
    return [(node.name, node.op, node.inputs, dict(node.attrs)) for node in build(config)]


def test_every_plan_field_has_a_pair():
    assert sorted(PAIRS) == sorted(
        _paths(BlockPlan, "BlockPlan") + _paths(StemPlan, "StemPlan") + _paths(TailPlan, "TailPlan")
    )


@pytest.mark.parametrize("path", sorted(PAIRS))
def test_configs_differing_in_one_plan_field_do_not_share_a_cache_entry(path):
    """The two configs differ in the field, so in their layers, and the second one is not served
    the first one's count: it gets a cache entry of its own, and both are counted right."""
    first, second = (BASE.replace(**changes) for changes in PAIRS[path])
    assert _values(first, path) != _values(second, path)
    assert _layers(first) != _layers(second)
    _PARTS.clear()
    for config in (first, second):
        entries = len(_PARTS)
        summary = analyze_graph(build(config))
        assert cost_by_parts(config) == (summary.params, summary.macs, summary.weighted_layers)
        assert len(_PARTS) > entries
