"""archviz's counts against published figures (tests/reference.py says where each comes from)."""

import pytest
from conftest import SPECS
from reference import (
    KERAS_FIGURES,
    LATER_MACS,
    LATER_PAPERS,
    PAPER_MACS,
    PAPER_TABLE1_PRINTED,
    PAPER_TABLE6,
    PROFILER_FLOPS,
    PROFILER_FLOPS_BATCH2,
    SEED_FIGURES,
    TORCHVISION_FIGURES,
)

import archviz
from archviz.sources.zoo import REGISTRY


@pytest.mark.parametrize("name", sorted(TORCHVISION_FIGURES))
def test_torchvision_params_and_macs(name):
    params, macs = TORCHVISION_FIGURES[name]
    summary = archviz.analyze(name)
    assert summary.trainable_params == params
    assert summary.macs == macs


@pytest.mark.parametrize("name", sorted(KERAS_FIGURES))
def test_keras_applications_params(name):
    total, non_trainable = KERAS_FIGURES[name]
    summary = archviz.analyze(name)
    assert summary.params == total
    assert summary.non_trainable_params == non_trainable


@pytest.mark.parametrize("name", sorted(PAPER_MACS))
def test_paper_table1_macs(name):
    macs = archviz.analyze(name).macs
    assert macs == PAPER_MACS[name]
    # Table 1 prints one decimal (x10^9), not always rounded the same way: 3.86 shows as 3.8, 7.57 as 7.6
    assert abs(macs / 1e9 - PAPER_TABLE1_PRINTED[name]) < 0.1


def test_torchvision_flavor_only_moves_the_stride():
    for depth in (50, 101, 152):
        paper, torch = archviz.analyze(f"resnet{depth}"), archviz.analyze(f"resnet{depth}-torchvision")
        assert paper.params == torch.params
        assert torch.macs > paper.macs


@pytest.mark.parametrize("name", sorted(PAPER_TABLE6))
def test_paper_table6_cifar_params(name):
    summary = archviz.analyze(name)
    assert summary.options["input_shape"] == [32, 32, 3]
    printed = PAPER_TABLE6[name]
    decimals = len(str(printed).split(".")[1])
    assert round(summary.trainable_params / 1e6, decimals) == printed


def _weights_without_bn(summary):
    return sum(r.trainable_params for r in summary.records if r.op != "batch_norm")


@pytest.mark.parametrize("name", sorted(LATER_PAPERS))
def test_later_papers_params(name):
    """These papers count convolution and dense weights; BN's gamma and beta are left out of their totals
    (it matters for ResNet-1001: 10.33 M with BN's affine parameters, 10.18 M without; the paper prints 10.2 M)."""
    printed, decimals, _source = LATER_PAPERS[name]
    assert round(_weights_without_bn(archviz.analyze(name)) / 1e6, decimals) == printed


@pytest.mark.parametrize("name", sorted(LATER_MACS))
def test_later_papers_macs(name):
    printed, _source = LATER_MACS[name]
    assert round(archviz.analyze(name).macs / 1e9, 1) == printed


@pytest.mark.parametrize("spec", sorted(SEED_FIGURES))
def test_seed_models(spec):
    total, non_trainable = SEED_FIGURES[spec]
    summary = archviz.analyze(str(SPECS / spec))
    assert summary.params == total
    assert summary.non_trainable_params == non_trainable


def test_every_seed_figure_has_an_example_spec():
    on_disk = {path.name for path in SPECS.glob("seed*.toml")}
    assert on_disk == set(SEED_FIGURES)


def test_bare_names_are_the_papers_models():
    for depth in (18, 34, 50, 101, 152):
        assert f"resnet{depth}" in REGISTRY
        assert REGISTRY.get(f"resnet{depth}").stride_on == "first"
        assert REGISTRY.get(f"resnet{depth}").conv_bias == "none"


@pytest.mark.parametrize("name", sorted(PROFILER_FLOPS))
def test_flops_equal_tf_profiler(name):
    assert archviz.analyze(name).flops == PROFILER_FLOPS[name]


def test_flops_at_batch_two_equal_tf_profiler():
    for name, flops in PROFILER_FLOPS_BATCH2.items():
        assert archviz.analyze(name, batch_size=2).flops == flops
