"""``archviz fit``: the ResNet variants that fit a parameter and compute budget.

The design space of a family (blocks per stage from a grid, width multiplier, block type,
groups) is enumerated and each candidate costed by parts: its stem, each of its blocks and its
head are small graphs counted by the same rule table as ``archviz summary``, cached under their
plans (:mod:`archviz.sources.zoo.plans`), and summed (:func:`cost_by_parts`; the tests check it equals the
full build for every preset and for random configs). No Keras model is built. The candidates
within budget are ranked by an objective (:data:`OBJECTIVES`): the most params (the best
network the budget affords), the fewest MACs, or the Pareto front of params against MACs.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from archviz.core.analysis import analyze_graph
from archviz.core.graph import Graph
from archviz.core.metrics import View, shown
from archviz.core.training import Kept, Training, check_training_dtype, kept, memory
from archviz.errors import ArchvizError, UsageError
from archviz.limits import check
from archviz.ops import numel
from archviz.sources.zoo import REGISTRY, ResNetConfig
from archviz.sources.zoo.builder import block_graph, stem_graph, tail_graph
from archviz.sources.zoo.config import BlockType
from archviz.sources.zoo.plans import plan, stem_plan, tail_plan

#: family -> (base preset, grids of the design space)
FAMILIES: dict[str, tuple[str, dict[str, tuple]]] = {
    "cifar": (
        "resnet20",
        {
            "blocks": (1, 2, 3, 5, 7, 9, 12, 18),
            "width_multiplier": (0.5, 0.75, 1, 1.5, 2, 3, 4),
            "block": tuple(BlockType),
        },
    ),
    "resnet": (
        "resnet18",
        {"blocks": (1, 2, 3, 4, 6, 8), "width_multiplier": (0.25, 0.5, 0.75, 1, 1.5), "block": tuple(BlockType)},
    ),
    "resnext": (
        "resnext50_32x4d",
        {
            "blocks": (1, 2, 3, 4, 6),
            "width_multiplier": (0.5, 0.75, 1),
            "groups": ((8, 4), (16, 4), (32, 4), (32, 8), (64, 4)),
        },
    ),
    "wide": ("wrn-28-10", {"blocks": (1, 2, 3, 4, 6), "width_multiplier": (0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2)}),
}


#: How many variants fit shows by default (0 shows all).
DEFAULT_LIMIT = 15


#: The metrics fit counts and shows (:data:`~archviz.core.metrics.View.FIT`), in the metric table's order.
FIT_METRICS = shown(View.FIT)


@dataclass(frozen=True)
class Variant:
    """A candidate: its options, each fit metric's total by key, and its depth in weighted layers."""

    family: str
    base: str
    options: dict[str, Any] = field(hash=False)
    totals: dict[str, int] = field(default_factory=dict, hash=False)
    weighted_layers: int = 0
    training_memory: int | None = None  # bytes of a training step, where a budget for it was given
    flags: tuple[str, ...] = ()  # what summary needs to show that step (--training --batch-size N ...)

    @property
    def params(self) -> int:
        return self.totals["params"]

    @property
    def macs(self) -> int:
        return self.totals["macs"]

    @property
    def command(self) -> str:
        parts = ["archviz", "summary", self.base]
        for key, value in self.options.items():
            flag = "--" + key.replace("_", "-")
            if isinstance(value, tuple):
                value = ",".join(str(v) for v in value)
            parts += [flag, str(value)]
        return " ".join([*parts, *self.flags])

    def to_dict(self) -> dict[str, Any]:
        options = {k: list(v) if isinstance(v, tuple) else v for k, v in self.options.items()}
        return {
            "family": self.family,
            "base": self.base,
            **self.totals,
            "weighted_layers": self.weighted_layers,
            **({"training_memory": self.training_memory} if self.training_memory is not None else {}),
            "options": options,
            "command": self.command,
        }


# ---- costing by parts ---------------------------------------------------------------

#: (each fit metric's total, weighted layers, output shape) of each part counted so far, keyed by how
#: it is built: the function and its arguments, a plan (the builder emits a part from its plan alone)
#: and the shape of the part's input.
_PARTS: dict[tuple, tuple[tuple[int, ...], int, tuple[int, ...]]] = {}


def _part(build: Callable[..., Graph], *inputs: Any) -> tuple[tuple[int, ...], int, tuple[int, ...]]:
    """The counts of the graph ``build(*inputs)``, analyzed once per distinct build."""
    key = (build, *inputs)
    if key not in _PARTS:
        summary = analyze_graph(build(*inputs))
        totals = tuple(metric.total(summary) for metric in FIT_METRICS)
        _PARTS[key] = totals, summary.weighted_layers, summary.records[-1].output_shape
    return _PARTS[key]


def cost_by_parts(config: ResNetConfig) -> tuple[int, ...]:
    """Each fit metric's total (:data:`FIT_METRICS`: params, MACs), then the weighted layers, of a config,
    summed from cached per-part counts."""
    stem, stages, tail = stem_plan(config), plan(config), tail_plan(config)
    totals, weighted, shape = _part(stem_graph, stem)
    for stage in stages:
        for block in stage:
            part, part_weighted, shape = _part(block_graph, block, shape[:2])
            totals = tuple(map(int.__add__, totals, part))
            weighted += part_weighted
    part, part_weighted, _ = _part(tail_graph, tail, shape)
    return (*map(int.__add__, totals, part), weighted + part_weighted)


#: (trainable params, what the part keeps for the backward, its input's elements) of each part, keyed as
#: :data:`_PARTS`: counted only where a training memory budget is asked for.
_TRAINED: dict[tuple, tuple[int, Kept, int]] = {}


def _trained(build: Callable[..., Graph], *inputs: Any, inputs_wanted: bool, dtype: str) -> tuple[int, Kept, int]:
    key = (build, *inputs, dtype)
    if key not in _TRAINED:
        summary = analyze_graph(build(*inputs), dtype=dtype)
        first = summary.records[0].output_shape
        _TRAINED[key] = summary.trainable_params, kept(summary, inputs_wanted=inputs_wanted), numel(first)
    return _TRAINED[key]


def training_by_parts(config: ResNetConfig, dtype: str = "float32") -> tuple[int, int, int, int]:
    """(trainable params, activation values kept per sample in ``dtype``, bytes kept per sample whatever the
    dtype, float32 values kept per step) of a config's training step, summed from cached per-part counts; a
    tensor between two parts is counted once, where either keeps it (:func:`archviz.core.training.kept`)."""
    stem, stages, tail = stem_plan(config), plan(config), tail_plan(config)
    *_, shape = _part(stem_graph, stem)
    trainable, part, image = _trained(stem_graph, stem, inputs_wanted=False, dtype=dtype)
    elements, fixed, before = part.elements + (image if part.keeps_input else 0), part.fixed, part.keeps_output
    kept_bytes = part.bytes
    parts = [(block_graph, block) for stage in stages for block in stage] + [(tail_graph, tail)]
    for build, part_plan in parts:
        inputs = (part_plan, shape[:2]) if build is block_graph else (part_plan, shape)
        *_, shape = _part(build, *inputs)
        part_trainable, part, between = _trained(build, *inputs, inputs_wanted=True, dtype=dtype)
        trainable, elements, fixed = trainable + part_trainable, elements + part.elements, fixed + part.fixed
        kept_bytes += part.bytes
        elements += between if part.keeps_input and not before else 0
        before = part.keeps_output
    return trainable, elements, kept_bytes, fixed


# ---- the search ---------------------------------------------------------------------


def candidates(family: str, **fixed: Any) -> Iterator[tuple[dict[str, Any], ResNetConfig]]:
    """Every (options, config) of a family's design space, with the fixed options applied."""
    base_name, grid = FAMILIES[family]
    base = REGISTRY.get(base_name)
    if fixed:
        from archviz.api import load_config

        base = load_config(base, **fixed)
    stages = len(base.layers)
    groups = grid.get("groups", (None,))
    for layers in itertools.product(grid["blocks"], repeat=stages):
        for multiplier in grid["width_multiplier"]:
            for block in grid.get("block", (None,)):
                for group in groups:
                    options: dict[str, Any] = {"layers": layers}
                    if block is not None and block != base.block:
                        options["block"] = block
                    if multiplier != 1:
                        options["width_multiplier"] = multiplier
                    if group is not None and group != (base.groups, base.width_per_group):
                        options["groups"], options["width_per_group"] = group
                    try:
                        yield options, base.replace(name=f"{base_name}-variant", **options)
                    except ArchvizError:
                        continue


def pareto(variants: list[Variant]) -> list[Variant]:
    """The Pareto front of params (more is better) against MACs (fewer is better): the variants no
    other beats on both, that is none other has at least as many params with fewer MACs, or more
    params with no more MACs. Sorted by MACs, fewest first (so params grow down the list)."""
    ordered = sorted(variants, key=lambda v: (v.macs, -v.params, v.weighted_layers))
    front, best = [], -1
    for variant in ordered:
        if variant.params > best:
            front.append(variant)
            best = variant.params
    return front


@dataclass(frozen=True)
class Objective:
    """How fit ranks the variants within budget, and the sentence that tells a reader which to pick."""

    name: str
    help: str
    ranking: str
    rank: Callable[[list[Variant]], list[Variant]]


OBJECTIVES: dict[str, Objective] = {
    objective.name: objective
    for objective in (
        Objective(
            "params",
            "the most params (the best network you can afford)",
            "ranked by params, most first (ties: fewer MACs). Pick #1: the largest network within budget.",
            lambda variants: sorted(variants, key=lambda v: (-v.params, v.macs, v.weighted_layers)),
        ),
        Objective(
            "macs",
            "the fewest MACs (the cheapest to run)",
            "ranked by MACs, fewest first (ties: more params). Pick #1: the cheapest network within budget.",
            lambda variants: sorted(variants, key=lambda v: (v.macs, -v.params, v.weighted_layers)),
        ),
        Objective(
            "front",
            "the Pareto front of params (more is better) against MACs (fewer is better)",
            "the Pareto front of params against MACs, fewest MACs first: each row has more params than every "
            "row above it. Pick the first with enough params.",
            pareto,
        ),
    )
}


@dataclass(frozen=True)
class TrainBudget:
    """A bound on a training step's memory: at most ``max_memory`` bytes at ``batch_size``, with
    ``optimizer``'s state, in ``dtype`` (:mod:`archviz.core.training`)."""

    max_memory: int
    batch_size: int = 1
    optimizer: str = "adam"
    dtype: str = "float32"

    def __post_init__(self) -> None:
        Training(self.optimizer, self.max_memory)  # the same checks as a training step's options
        check_training_dtype(self.dtype)
        check("batch_size", self.batch_size, "--batch-size")

    @property
    def flags(self) -> tuple[str, ...]:
        """The options that make ``summary`` show the same training step."""
        dtype = ("--dtype", self.dtype) if self.dtype != "float32" else ()
        return ("--training", "--batch-size", str(self.batch_size), "--optimizer", self.optimizer, *dtype)

    def memory(self, config: ResNetConfig, params: int) -> int:
        trainable, elements, kept_bytes, fixed = training_by_parts(config, self.dtype)
        return memory(
            params,
            trainable,
            elements,
            kept_bytes,
            fixed,
            optimizer=self.optimizer,
            dtype=self.dtype,
            batch=self.batch_size,
        ).total

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_memory": self.max_memory,
            "batch_size": self.batch_size,
            "optimizer": self.optimizer,
            "dtype": self.dtype,
        }


@dataclass
class FitResult:
    ranked: list[Variant]
    evaluated: int
    within_budget: int
    seconds: float
    max_params: int = 0
    max_macs: int | None = None
    objective: str = "params"
    front_size: int = 0
    training: TrainBudget | None = None

    @property
    def rate(self) -> float:
        return self.evaluated / self.seconds if self.seconds else float("inf")

    @property
    def ranking(self) -> str:
        """How the variants are ranked, and which to pick, in a sentence."""
        return OBJECTIVES[self.objective].ranking

    def shown(self, limit: int = DEFAULT_LIMIT) -> list[Variant]:
        """The first ``limit`` ranked variants (0: all)."""
        return self.ranked if limit == 0 else self.ranked[:limit]

    def to_dict(self, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "ranking": self.ranking,
            "max_params": self.max_params,
            "max_macs": self.max_macs,
            **({"training": self.training.to_dict()} if self.training is not None else {}),
            "evaluated": self.evaluated,
            "within_budget": self.within_budget,
            "front_size": self.front_size,
            "ranked": len(self.ranked),
            "variants": [v.to_dict() for v in self.shown(limit)],
        }


def fit(
    *,
    max_params: int,
    max_macs: int | None = None,
    family: str = "cifar",
    objective: str = "params",
    training: TrainBudget | None = None,
    **fixed: Any,
) -> FitResult:
    """The variants of ``family`` within ``max_params`` (and ``max_macs``, and ``training``'s memory for a
    training step), ranked by ``objective``."""
    if family not in FAMILIES:
        raise UsageError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")
    if objective not in OBJECTIVES:
        raise UsageError(f"unknown objective {objective!r}; choose from {', '.join(OBJECTIVES)}")
    fixed = {k: v for k, v in fixed.items() if v is not None}
    start = time.perf_counter()
    base = FAMILIES[family][0]
    within, evaluated = [], 0
    keys = [metric.key for metric in FIT_METRICS]
    for options, config in candidates(family, **fixed):
        evaluated += 1
        try:
            *numbers, weighted = cost_by_parts(config)
        except ArchvizError:
            continue  # an input too small for this variant, say
        totals = dict(zip(keys, numbers))
        if totals["params"] > max_params or (max_macs is not None and totals["macs"] > max_macs):
            continue
        need = training.memory(config, totals["params"]) if training is not None else None
        if training is None or (need is not None and need <= training.max_memory):
            options = {**_fixed_for_command(fixed), **options}
            flags = training.flags if training is not None else ()
            within.append(Variant(family, base, options, totals, weighted, need, flags))
    return FitResult(
        OBJECTIVES[objective].rank(within),
        evaluated,
        len(within),
        time.perf_counter() - start,
        max_params=max_params,
        max_macs=max_macs,
        objective=objective,
        front_size=len(pareto(within)),
        training=training,
    )


def _fixed_for_command(fixed: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fixed.items() if k in ("input_shape", "classes")}
