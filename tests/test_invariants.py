"""Invariants of every preset and every example spec (the registry drives these tests)."""

import json

import pytest
from conftest import SPECS

import archviz
from archviz.ops import OPS, numel
from archviz.sources.zoo import REGISTRY, build

MODELS = [config.name for config in REGISTRY] + sorted(str(p) for p in SPECS.glob("*.toml"))


@pytest.fixture(scope="module", params=MODELS, ids=lambda m: m.rsplit("/", 1)[-1])
def summary(request):
    return archviz.analyze(request.param, batch_size=2)


def test_every_op_has_a_rule(summary):
    assert {record.op for record in summary.records} <= set(OPS)
    assert summary.complete


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_rows_sum_to_totals(summary, depth):
    rows = summary.rows(depth)
    assert sum(r.params for r in rows) == summary.params
    assert sum(r.trainable_params for r in rows) == summary.trainable_params
    assert sum(r.macs for r in rows) == summary.macs
    assert sum(r.flops for r in rows) == summary.flops
    assert sum(r.activation_bytes for r in rows) == summary.activation_bytes
    assert sum(r.layers for r in rows) == len(summary.records)


def test_a_stage_is_the_sum_of_its_blocks(summary):
    blocks = summary.rows(2)
    for stage in summary.stage_rows():
        members = [b for b in blocks if b.name.startswith(stage.name + ".")]
        assert members
        assert stage.params == sum(b.params for b in members)
        assert stage.macs == sum(b.macs for b in members)
        assert stage.output_shape == members[-1].output_shape


def test_shapes_chain(summary):
    shapes = {}
    for record in summary.records:
        for source in record.inputs:
            assert source in shapes, f"{record.name} reads {source} before it is computed"
        shapes[record.name] = record.output_shape
        assert all(d >= 1 for d in record.output_shape)
        assert record.activation_bytes == numel(record.output_shape) * summary.batch_size * 4


def test_batch_scales_compute_not_params(summary):
    single = archviz.analyze(summary.name if summary.name in REGISTRY else _spec_path(summary), batch_size=1)
    assert single.params == summary.params
    assert summary.macs == 2 * single.macs
    # folding a batch norm's statistics (6 FLOPs per channel) happens once per call, whatever the batch
    bn_channels = sum(r.output_shape[-1] for r in summary.records if r.op == "batch_norm")
    assert 2 * single.flops - summary.flops == 6 * bn_channels
    assert summary.activation_bytes == 2 * single.activation_bytes


def _spec_path(summary):
    return next(str(p) for p in SPECS.glob("*.toml") if archviz.load_config(str(p)).name == summary.name)


def test_json_round_trips(summary):
    record = json.loads(json.dumps(summary.to_dict()))
    assert record == summary.to_dict()
    assert record["totals"]["params"] == summary.params
    assert record["model"]["name"] == summary.name
    for key in (
        "params",
        "trainable_params",
        "non_trainable_params",
        "macs",
        "flops",
        "param_bytes",
        "activation_bytes",
    ):
        assert isinstance(record["totals"][key], int)
    for layer in record["layers"]:
        assert {"name", "op", "output_shape", "params", "trainable_params", "macs", "flops"} <= set(layer)


def test_flops_at_least_two_per_mac(summary):
    assert summary.flops >= 2 * summary.macs


def test_hierarchical_names_are_unique_and_scoped(summary):
    names = [r.name for r in summary.records]
    assert len(names) == len(set(names))
    assert all(len(r.path) <= 3 for r in summary.records)
    assert summary.max_depth == 3


@pytest.mark.parametrize("name", [c.name for c in REGISTRY])
def test_building_twice_gives_the_same_graph(name):
    first, second = build(REGISTRY.get(name)), build(REGISTRY.get(name))
    assert [(n.name, n.op, n.inputs, dict(n.attrs)) for n in first] == [
        (n.name, n.op, n.inputs, dict(n.attrs)) for n in second
    ]
