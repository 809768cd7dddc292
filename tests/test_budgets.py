"""archviz compare, blocks and fit: budgets side by side, the bottleneck arithmetic, the search."""

import json
import random
import subprocess
import sys
import xml.dom.minidom

import pytest
from conftest import SPECS
from reference import BASIC_PAIR_WEIGHTS, BOTTLENECK_WEIGHTS, PAPER_MACS, PAPER_TABLE1_PRINTED

import archviz
from archviz.sources.zoo import REGISTRY
from archviz.studies.fit import FAMILIES, candidates, cost_by_parts, fit, pareto
from archviz.units import parse_count

PAPER = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
TOTAL_KEYS = set(archviz.analyze("resnet18").totals())


# ---- compare -------------------------------------------------------------------------


def test_compare_reproduces_table1(run_cli):
    code, out, err = run_cli("compare", *PAPER, "--format", "json")
    assert code == 0, err
    records = json.loads(out)
    assert [r["name"] for r in records] == PAPER
    for record in records:
        assert TOTAL_KEYS <= set(record)
        assert record["macs"] == PAPER_MACS[record["name"]]
        assert abs(record["macs"] / 1e9 - PAPER_TABLE1_PRINTED[record["name"]]) < 0.1
        assert [s["name"] for s in record["stages"]] == ["layer1", "layer2", "layer3", "layer4"]
        assert sum(s["params"] for s in record["stages"]) < record["params"]


def test_compare_table_and_per_stage(run_cli):
    code, out, _ = run_cli("compare", *PAPER)
    assert code == 0
    assert "resnet152              156  60.3 M     60.2 M  11.3 G" in out
    assert "Per stage (params / MACs):" in out and "40.7 M / 7.94 G" in out


def test_baseline_and_sort(run_cli):
    code, out, _ = run_cli(
        "compare",
        "resnext50_32x4d",
        "resnet50",
        "resnet50-torchvision",
        "--baseline",
        "resnet50",
        "--sort",
        "macs",
        "--format",
        "json",
    )
    records = json.loads(out)
    assert [r["name"] for r in records] == ["resnet50", "resnet50-torchvision", "resnext50_32x4d"]
    assert records[0]["ratios"]["macs"] == 1.0
    assert records[1]["ratios"]["macs"] == pytest.approx(4_089_184_256 / 3_857_973_248)
    code, out, _ = run_cli("compare", "resnet20", "resnet56", "--baseline", "resnet20")
    assert "x MACs" in out


def test_options_apply_to_every_model_and_specs_mix(run_cli):
    code, out, _ = run_cli(
        "compare",
        "resnet18",
        str(SPECS / "seed004_mini_resnet.toml"),
        "--input-shape",
        "32,32,3",
        "--classes",
        "10",
        "--format",
        "csv",
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Model,Weighted layers,Params,")
    assert lines[1].split(",")[2] == str(archviz.analyze("resnet18", input_shape=(32, 32, 3), classes=10).params)
    assert lines[2].startswith("seed004-mini-resnet,")


def test_markdown(run_cli):
    code, out, _ = run_cli("compare", "resnet20", "plain-20", "--format", "markdown")
    assert out.startswith("| Model | Weighted layers |") and "**Per stage (params / MACs)**" in out


def test_a_failing_model_is_named_and_the_others_kept(run_cli):
    code, out, err = run_cli("compare", "resnet18", "resnet99", "resnet34", "--format", "json")
    assert code == 2
    records = json.loads(out)
    assert [r["name"] for r in records] == ["resnet18", "resnet99", "resnet34"]
    assert "unknown model" in records[1]["error"]
    assert err.startswith("archviz: error: resnet99: unknown model 'resnet99'") and err.count("\n") == 1


def test_bad_baseline(run_cli):
    code, out, err = run_cli("compare", "resnet18", "resnet34", "--baseline", "resnet50")
    assert code == 2 and "baseline 'resnet50' is not one of the compared models" in err


@pytest.mark.parametrize("by_stage", [False, True])
def test_chart_svg(run_cli, tmp_path, by_stage):
    target = tmp_path / "chart.svg"
    args = ["compare", "resnet18", "resnet34", "resnet50", "-o", target] + (["--by-stage"] if by_stage else [])
    code, _, err = run_cli(*args)
    assert code == 0, err
    document = xml.dom.minidom.parse(str(target))
    bars = document.getElementsByTagName("rect")
    # background, bars (stem, four stages and head with --by-stage), legend
    assert len(bars) == 1 + 2 * 3 * (6 if by_stage else 1) + (6 if by_stage else 0)
    titles = [t.firstChild.data for t in document.getElementsByTagName("title")]
    assert any(t.startswith("resnet50") and "25,610,152" in t for t in titles) != by_stage
    assert any("3,857,973,248" in t for t in titles) != by_stage


def test_comparison_report(run_cli, tmp_path):
    target = tmp_path / "compare.html"
    code, _, _ = run_cli("compare", "resnet50", "wide_resnet50_2", "--baseline", "resnet50", "-o", target)
    assert code == 0
    page = target.read_text()
    assert "resnet50 vs wide_resnet50_2" in page and "<svg" in page and ".card .value" in page  # report styling
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "2.69" in page  # wide_resnet50_2 has 2.69x the params of resnet50


def test_comparison_output_is_atomic(run_cli, tmp_path):
    target = tmp_path / "chart.svg"
    target.write_text("old")
    assert run_cli("compare", "resnet18", "--classes", "0", "-o", target)[0] == 2
    assert target.read_text() == "old"


# ---- blocks --------------------------------------------------------------------------


def test_blocks_bottleneck_arithmetic(run_cli):
    code, out, _ = run_cli("blocks")
    assert code == 0
    assert "conv1  3x3x256x256 =     589,824 weights" in out
    assert "1x1x256x64 =      16,384" in out and "3x3x64x64  =      36,864" in out
    assert f"total                  {BASIC_PAIR_WEIGHTS:,} weights" in out
    assert f"total                    {BOTTLENECK_WEIGHTS:,} weights" in out
    assert "16.9x fewer weights" in out
    assert "ResNeXt bottleneck" in out and "3x3x(128/32)x128" in out and "pre-activation bottleneck" in out


def test_blocks_json_and_conventions(run_cli):
    code, out, _ = run_cli("blocks", "--format", "json", "--spatial", "28")
    data = json.loads(out)
    basic, bottleneck = data["blocks"][0], data["blocks"][1]
    assert (basic["weights"], bottleneck["weights"]) == (BASIC_PAIR_WEIGHTS, BOTTLENECK_WEIGHTS)
    assert basic["params_with_bn"] == BASIC_PAIR_WEIGHTS + 2 * 4 * 256
    assert basic["params_with_bn_and_bias"] == BASIC_PAIR_WEIGHTS + 2 * 4 * 256 + 2 * 256
    assert basic["macs"] == 28 * 28 * BASIC_PAIR_WEIGHTS
    assert bottleneck["macs"] == 28 * 28 * BOTTLENECK_WEIGHTS
    assert [c["formula"] for c in bottleneck["convs"]] == ["1x1x256x64", "3x3x64x64", "1x1x64x256"]
    assert data["basic_over_bottleneck"]["weights"] == pytest.approx(BASIC_PAIR_WEIGHTS / BOTTLENECK_WEIGHTS)


def test_blocks_options_and_errors(run_cli):
    code, out, _ = run_cli("blocks", "--channels", "512", "--bottleneck-channels", "128", "--format", "json")
    data = json.loads(out)
    assert data["blocks"][0]["weights"] == 2 * 9 * 512 * 512
    assert data["blocks"][1]["weights"] == 512 * 128 + 9 * 128 * 128 + 128 * 512
    assert run_cli("blocks", "--channels", "0")[0] == 2
    assert run_cli("blocks", "--spatial", "x")[0] == 2


def test_blocks_match_the_models_blocks():
    """The comparison's bottleneck is exactly ResNet-50's layer1.block2 (no bias, same widths)."""
    from archviz.studies.blocks import compare

    bottleneck = compare(256, 64, 56).bottleneck
    block = next(r for r in archviz.analyze("resnet50").rows(2) if r.name == "layer1.block2")
    assert (bottleneck.params_with_bn, bottleneck.macs, bottleneck.flops) == (block.params, block.macs, block.flops)


# ---- fit -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [c.name for c in REGISTRY])
def test_cost_by_parts_equals_the_full_build(name):
    config = REGISTRY.get(name)
    summary = archviz.analyze(config)
    assert cost_by_parts(config) == (summary.params, summary.macs, summary.weighted_layers)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_cost_by_parts_on_random_candidates(family):
    pool = list(candidates(family))
    for options, config in random.Random(family).sample(pool, 25):
        summary = archviz.analyze(config)
        assert cost_by_parts(config) == (summary.params, summary.macs, summary.weighted_layers), options


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_front_respects_the_budget_and_is_not_dominated(family):
    result = fit(max_params=3_000_000, max_macs=2_000_000_000, family=family, objective="front")
    assert result.ranked and result.evaluated >= result.within_budget >= len(result.ranked) == result.front_size
    for variant in result.ranked:
        assert variant.params <= 3_000_000 and variant.macs <= 2_000_000_000
        assert not any(
            o.params >= variant.params and o.macs < variant.macs or o.params > variant.params and o.macs <= variant.macs
            for o in result.ranked
        )


def test_each_listed_command_builds_what_it_says(run_cli):
    result = fit(max_params=600_000, family="cifar")
    for variant in result.ranked[:5]:
        words = variant.command.split()
        code, out, _ = run_cli(*words[1:], "--format", "json")
        assert code == 0
        totals = json.loads(out)["totals"]
        assert (totals["params"], totals["macs"]) == (variant.params, variant.macs)


def test_fit_command(run_cli):
    code, out, _ = run_cli("fit", "--max-params", "5M", "--max-macs", "1G", "--family", "cifar", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["evaluated"] > 5000 and len(data["variants"]) == 15 and data["objective"] == "params"
    for record in data["variants"]:
        assert record["params"] <= 5_000_000 and record["macs"] <= 1_000_000_000
        assert {"params", "macs", "options", "command"} <= set(record)
    code, out, _ = run_cli(
        "fit",
        "--max-params",
        "800k",
        "--family",
        "cifar",
        "--input-shape",
        "64,64,3",
        "--classes",
        "200",
        "--limit",
        "3",
    )
    assert "--input-shape 64,64,3 --classes 200" in out
    assert "variants evaluated" in out and "more: --limit 0 shows them all" in out


def test_fit_with_no_variant_in_budget(run_cli):
    code, out, _ = run_cli("fit", "--max-params", "1k", "--family", "resnet")
    assert code == 0 and "No variant fits" in out


@pytest.mark.parametrize(
    "text, value",
    [
        ("5M", 5_000_000),
        ("2.5e6", 2_500_000),
        ("1G", 1_000_000_000),
        ("800k", 800_000),
        ("11689512", 11_689_512),
        ("1.5 M", 1_500_000),
    ],
)
def test_budget_units(text, value):
    assert parse_count(text) == value


@pytest.mark.parametrize("text", ["5x", "M", "-3M", "0", "five", "1e", ""])
def test_bad_budgets_are_one_line(run_cli, text):
    code, out, err = run_cli("fit", "--max-params", text)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--max-params" in err


def test_pareto_keeps_only_undominated():
    from archviz.studies.fit import Variant

    def v(params, macs):
        return Variant("cifar", "resnet20", {}, {"params": params, "macs": macs})

    front = pareto([v(10, 5), v(8, 5), v(12, 9), v(12, 8), v(3, 1)])
    assert [(x.params, x.macs) for x in front] == [(3, 1), (10, 5), (12, 8)]


def test_fit_never_imports_tensorflow():
    probe = (
        "import sys\nfrom archviz.studies.fit import fit\nfit(max_params=5_000_000, family='resnet')\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_chart_keeps_models_that_share_a_name():
    from archviz.render.compare import render_chart
    from archviz.studies.compare import compare

    entries = compare(["resnet20", "resnet20"], analyze=archviz.analyze)
    document = xml.dom.minidom.parseString(render_chart(entries))
    assert len(document.getElementsByTagName("rect")) == 1 + 2 * 2  # background, then both models in both panels
