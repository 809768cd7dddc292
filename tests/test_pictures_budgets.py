"""Pictures and tables that read at a glance: compare's charts tell the truth, fit says what it
optimises, a changed preset is named for what it is, and list fits a terminal."""

import itertools
import json
import re
import xml.dom.minidom

import pytest

import archviz
from archviz.render.compare import nice_ticks
from archviz.studies.fit import OBJECTIVES, fit
from archviz.units import human

PAPER = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]


# ---- compare: charts ------------------------------------------------------------------


def _chart(run_cli, tmp_path, *args):
    target = tmp_path / "chart.svg"
    code, out, err = run_cli("compare", *args, "-o", target)
    assert code == 0, err
    return xml.dom.minidom.parse(str(target))


def _by_class(node, name):
    return [e for e in node.getElementsByTagName("*") if name in e.getAttribute("class").split()]


def _text(node):
    return "".join(child.data if child.nodeType == child.TEXT_NODE else _text(child) for child in node.childNodes)


def test_each_bar_is_labelled_with_its_own_value_and_totals_sit_under_the_names(run_cli, tmp_path):
    document = _chart(run_cli, tmp_path, *PAPER, "--by-stage")
    panels = _by_class(document, "panel")
    assert [p.getAttribute("data-metric") for p in panels] == ["params", "MACs"]
    for panel, metric in zip(panels, ("params", "macs")):
        models = _by_class(panel, "model")
        assert [m.getAttribute("data-model") for m in models] == PAPER
        for model in models:
            summary = archviz.analyze(model.getAttribute("data-model"))
            parts = {row.name: getattr(row, metric) for row in summary.rows(1)}
            bars = _by_class(model, "bar")
            # stem and head are drawn, not left out: the bars are the parts and add up to the total
            assert [b.getAttribute("data-part") for b in bars] == [
                "stem",
                "layer1",
                "layer2",
                "layer3",
                "layer4",
                "head",
            ]
            for bar in bars:
                value = int(bar.getAttribute("data-value"))
                assert value == parts[bar.getAttribute("data-part")]
                assert [_text(t) for t in _by_class(bar, "value")] == [human(value)]
                assert f"{value:,}" in _text(bar.getElementsByTagName("title")[0])
            total = getattr(summary, metric)
            assert sum(int(b.getAttribute("data-value")) for b in bars) == total
            assert model.getAttribute("data-total") == f"{total:,}"
            assert [_text(t) for t in _by_class(model, "total")] == [f"total {human(total)}"]
    # the issue's example: resnet152's layer3 bar says 40.7 M; its 60.3 M total is under its name only
    params = _by_class(panels[0], "model")[-1]
    layer3 = next(b for b in _by_class(params, "bar") if b.getAttribute("data-part") == "layer3")
    assert _text(_by_class(layer3, "value")[0]) == "40.7 M"
    assert "60.3 M" not in [_text(t) for t in _by_class(params, "value")]
    assert _text(_by_class(params, "total")[0]) == "total 60.3 M"


def test_the_axes_have_round_ticks_with_units_that_match_the_bars(run_cli, tmp_path):
    document = _chart(run_cli, tmp_path, *PAPER, "--by-stage")
    params, macs = _by_class(document, "panel")
    assert [_text(t.getElementsByTagName("text")[0]) for t in _by_class(params, "tick")] == [
        "0",
        "10 M",
        "20 M",
        "30 M",
        "40 M",
        "50 M",
    ]
    assert [_text(t.getElementsByTagName("text")[0]) for t in _by_class(macs, "tick")] == [
        "0",
        "2 G",
        "4 G",
        "6 G",
        "8 G",
    ]
    # a bar's height is its value on the axis: the 40 M gridline is at 40/50 of the 50 M one's height
    ticks = [float(t.getElementsByTagName("line")[0].getAttribute("y1")) for t in _by_class(params, "tick")]
    zero, top = ticks[0], ticks[-1]
    for bar in _by_class(params, "bar"):
        height = float(bar.getElementsByTagName("rect")[0].getAttribute("height"))
        assert height == pytest.approx((zero - top) * int(bar.getAttribute("data-value")) / 50_000_000, abs=0.1)
    assert [_text(t) for t in _by_class(params, "axis-title")] == ["params"]


def test_the_chart_without_stages_labels_each_total(run_cli, tmp_path):
    document = _chart(run_cli, tmp_path, "resnet18", "resnet50")
    params = _by_class(document, "panel")[0]
    labels = [_text(t) for t in _by_class(params, "value")]
    assert labels == ["11.7 M", "25.6 M"]
    assert [_text(t.getElementsByTagName("text")[0]) for t in _by_class(params, "tick")][-1] == "30 M"


def test_parts_outside_any_stage_are_shown_not_dropped():
    from archviz.render.compare import OTHER, chart_parts

    preact = archviz.analyze("preact-resnet164")
    names = [name for name, _ in chart_parts(preact, "params")]
    assert names == ["stem", "layer1", "layer2", "layer3", "post", "head"]
    assert sum(v for _, v in chart_parts(preact, "params")) == preact.params
    # a model with no groups at all is one bar of every layer, never nothing
    preact.groups = {}
    assert chart_parts(preact, "macs") == [(OTHER, preact.macs)]


@pytest.mark.parametrize(
    "largest, ticks",
    [
        (40_726_528, [0, 10, 20, 30, 40, 50]),
        (7_938_244_608, [0, 2, 4, 6, 8]),
        (2_500_001, [0, 0.5, 1, 1.5, 2, 2.5, 3]),
        (600, [0, 100, 200, 300, 400, 500, 600]),
        (5, [0, 1, 2, 3, 4, 5]),
    ],
)
def test_nice_ticks(largest, ticks):
    unit = 10**9 if largest > 10**9 else 10**6 if largest > 10**6 else 1
    assert [t / unit for t in nice_ticks(largest)] == ticks


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG\r\n\x1a\n"), (".pdf", b"%PDF")])
def test_png_and_pdf_charts(run_cli, tmp_path, suffix, magic):
    target = tmp_path / ("chart" + suffix)
    code, out, err = run_cli("compare", "resnet18", "resnet34", "--by-stage", "-o", target)
    assert code == 0, err
    assert target.read_bytes().startswith(magic) and target.stat().st_size > 1000
    assert out == "" and err == f"wrote {target}\n"


@pytest.mark.parametrize(
    "suffix, start",
    [
        (".html", "<!DOCTYPE html>"),
        (".json", "["),
        (".csv", "Model,"),
        (".md", "| Model |"),
        (".txt", "-----"),
        (".svg", "<svg"),
    ],
)
def test_every_extension_writes_what_it_says(run_cli, tmp_path, suffix, start):
    target = tmp_path / ("compare" + suffix)
    code, _, err = run_cli("compare", "resnet18", "resnet34", "-o", target)
    assert code == 0, err
    assert target.read_text().lstrip().startswith(start)


@pytest.mark.parametrize("name", ["chart.jpg", "chart.gif", "chart", "chart.svgz"])
def test_an_unknown_extension_is_refused_in_one_line(run_cli, tmp_path, name):
    target = tmp_path / name
    code, out, err = run_cli("compare", "resnet18", "-o", target)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "cannot tell what to write" in err and ".png, .pdf" in err
    assert not target.exists()


# ---- fit: what it optimises --------------------------------------------------------------


@pytest.fixture(scope="module")
def budget5m():
    return {objective: fit(max_params=5_000_000, family="resnet", objective=objective) for objective in OBJECTIVES}


def test_objectives_rank_as_they_say(budget5m):
    by_params, by_macs, front = budget5m["params"].ranked, budget5m["macs"].ranked, budget5m["front"].ranked
    assert len(by_params) == len(by_macs) == budget5m["params"].within_budget
    assert by_params[0].params == max(v.params for v in by_params) <= 5_000_000
    assert [v.params for v in by_params] == sorted((v.params for v in by_params), reverse=True)
    assert by_macs[0].macs == min(v.macs for v in by_macs)
    assert [v.macs for v in by_macs] == sorted(v.macs for v in by_macs)
    # the front: fewer MACs and more params are both better, so down the list both grow
    assert all(a.macs < b.macs and a.params < b.params for a, b in zip(front, front[1:]))
    assert not any(o.params >= v.params and o.macs < v.macs for v in front for o in by_params)
    assert front[-1].params == by_params[0].params


def test_the_default_objective_is_the_most_params(run_cli):
    code, out, _ = run_cli("fit", "--max-params", "5M", "--limit", "3")
    lines = out.splitlines()
    assert code == 0 and lines[1].startswith("--objective params: ranked by params, most first")
    assert "Pick #1" in lines[1]
    first = lines[5].split()
    assert first[0] == "1" and first[1:3] == ["5.00", "M"]


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_printed_commands_reproduce_their_rows(run_cli, objective):
    code, out, _ = run_cli("fit", "--max-params", "5M", "--max-macs", "1G", "--objective", objective, "--limit", "4")
    assert code == 0
    assert out.splitlines()[1] == f"--objective {objective}: {OBJECTIVES[objective].ranking}"
    rows = [line for line in out.splitlines() if re.match(r"\d+ .*  archviz summary ", line)]
    assert len(rows) == 4
    code, data, _ = run_cli(
        "fit", "--max-params", "5M", "--max-macs", "1G", "--objective", objective, "--limit", "4", "--format", "json"
    )
    records = json.loads(data)["variants"]
    for row, record in zip(rows, records):
        command = row[row.index("archviz summary") :]
        assert command == record["command"]
        assert f"{human(record['params'])}  " in row and human(record["macs"]) in row
        code, summary, err = run_cli(*command.split()[1:], "--format", "json")
        assert code == 0, err
        totals = json.loads(summary)["totals"]
        assert (totals["params"], totals["macs"]) == (record["params"], record["macs"])


def test_commands_reproduce_variants_of_every_family(run_cli):
    for family in ("cifar", "resnext", "wide"):
        for objective in OBJECTIVES:
            result = fit(max_params=2_000_000, family=family, objective=objective, input_shape=None)
            for variant in result.ranked[:2]:
                code, out, err = run_cli(*variant.command.split()[1:], "--format", "json")
                assert code == 0, err
                totals = json.loads(out)["totals"]
                assert (totals["params"], totals["macs"]) == (variant.params, variant.macs), variant.command


def test_fit_json_says_its_objective(run_cli):
    code, out, _ = run_cli(
        "fit", "--max-params", "1M", "--family", "cifar", "--objective", "front", "--format", "json", "--limit", "0"
    )
    data = json.loads(out)
    assert data["objective"] == "front" and data["ranking"] == OBJECTIVES["front"].ranking
    assert data["ranked"] == data["front_size"] == len(data["variants"])
    assert run_cli("fit", "--max-params", "1M", "--objective", "speed")[0] == 2


# ---- honest names ------------------------------------------------------------------------

CHANGED = ("resnet18", "--layers", "8,3,3,2", "--block", "bottleneck", "--width-multiplier", "0.5")
NAME = "resnet18 (layers 8,3,3,2, bottleneck, width x0.5)"


def test_a_changed_preset_is_named_for_what_it_is(run_cli, tmp_path):
    code, out, _ = run_cli("summary", *CHANGED)
    assert code == 0 and out.splitlines()[0].startswith(NAME + ", input 224x224x3")
    record = json.loads(run_cli("summary", *CHANGED, "--format", "json")[1])["model"]
    assert record["name"] == record["options"]["name"] == NAME
    assert record["options"]["description"] == "resnet18 changed: layers 8,3,3,2, bottleneck, width x0.5"
    assert "paper" not in record["options"]["description"]
    dot = tmp_path / "model.dot"
    assert run_cli("diagram", *CHANGED, "-o", dot)[0] == 0
    assert f'label="{NAME} (' in dot.read_text()
    page = tmp_path / "model.html"
    assert run_cli("report", *CHANGED, "-o", page)[0] == 0
    html = page.read_text()
    assert f"<title>{NAME}" in html and "as in the paper" not in html and "paper (" not in html
    assert json.loads(run_cli("compare", *CHANGED, "--format", "json")[1])[0]["name"] == NAME


@pytest.mark.parametrize(
    "options, name",
    [
        ({"block": "basic", "layers": (2, 2, 2, 2), "width_multiplier": 1.0}, "resnet18"),  # nothing changed
        ({"input_shape": (32, 32, 3), "classes": 10}, "resnet18"),  # the data, shown in the title, not the network
        ({"shortcut": "none", "stem": "cifar"}, "resnet18 (no shortcuts, cifar stem)"),
        ({"include_top": False, "conv_bias": True, "bn_epsilon": 1e-3}, "resnet18 (conv bias, BN eps 0.001, no top)"),
        (
            {"block": "bottleneck", "groups": 32, "width_per_group": 4, "stride_on": "middle"},
            "resnet18 (bottleneck, 32 groups, width per group 4, stride on the 3x3)",
        ),
    ],
)
def test_names_list_what_changed(options, name):
    config = archviz.load_config("resnet18", **options)
    assert config.name == name
    assert (config.description == REGISTRY_DESCRIPTION) == (name == "resnet18")


REGISTRY_DESCRIPTION = archviz.load_config("resnet18").description


def test_a_changed_hostile_name_stays_text(run_cli, tmp_path):
    spec = tmp_path / "evil.toml"
    spec.write_text(
        'name = "<script>alert(1)</script>"\nblock = "basic"\nlayers = [1, 1]\n'
        "widths = [8, 16]\nstrides = [1, 2]\ninput_shape = [16, 16, 3]\nclasses = 2\n"
    )
    page = tmp_path / "evil.html"
    code, _, err = run_cli("report", spec, "--width-multiplier", "2", "-o", page)
    assert code == 0, err
    html = page.read_text()
    assert "<script>alert(1)</script> (width x2)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; (width x2)" in html
    chart = tmp_path / "evil.svg"
    assert run_cli("compare", spec, "--width-multiplier", "2", "--by-stage", "-o", chart)[0] == 0
    xml.dom.minidom.parse(str(chart))  # still well-formed


# ---- list ----------------------------------------------------------------------------------


def test_list_fits_a_hundred_columns_with_the_whole_description_in_json(run_cli):
    code, out, _ = run_cli("list")
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 100
    records = json.loads(run_cli("list", "--format", "json")[1])
    for record in records:
        assert record["description"] in out or record["description"].split()[0] in out
    csv = run_cli("list", "--format", "csv")[1]
    assert all(record["description"] in csv for record in records)


def test_basic_block_presets_do_not_claim_a_1x1():
    from archviz.sources.zoo import REGISTRY

    for config in REGISTRY:
        if config.block == "basic":
            assert "1x1" not in config.description and "3x3" not in config.description, config.name


def test_a_long_description_wraps_instead_of_widening_the_table():
    import dataclasses

    from archviz.render.catalog import WIDTH, render_table
    from archviz.studies.catalog import catalog

    presets = catalog("resnet1*")
    long = dataclasses.replace(presets.entries[0], description="a very long description " * 8)
    out = render_table(dataclasses.replace(presets, entries=(long, *presets.entries[1:])))
    assert max(len(line) for line in out.splitlines()) <= WIDTH
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("resnet18 "))
    column = lines[start].index("a very")
    more = itertools.takewhile(lambda line: not line[:column].strip(), lines[start + 1 :])
    assert " ".join([lines[start][column:], *(line[column:] for line in more)]) == long.description.strip()


NAMED = ["resnet50-torchvision", "wide_resnet50_2", "resnext50_32x4d", "resnet18"]


@pytest.mark.parametrize("by_stage", [False, True])
def test_names_break_only_between_words_and_ratios_are_on_the_chart(run_cli, tmp_path, by_stage):
    """``resnet50-t / orchvision`` was the issue: a name breaks after ``-``, ``_`` or ``.`` or not at
    all; with --baseline each model's ratio sits under its name, in every panel."""
    from archviz.studies.compare import compare

    document = _chart(run_cli, tmp_path, *NAMED, "--baseline", "resnet18", *(["--by-stage"] if by_stage else []))
    ratios = {e.label: e.ratios for e in compare(NAMED, baseline="resnet18", analyze=archviz.analyze).entries}
    for panel, metric in zip(_by_class(document, "panel"), ("params", "macs")):
        for model in _by_class(panel, "model"):
            name = model.getAttribute("data-model")
            lines = [_text(t) for t in _by_class(model, "name")[0].getElementsByTagName("tspan")]
            assert "".join(lines) == name
            assert all(line[-1] in "-_." for line in lines[:-1]), lines
            assert [_text(t) for t in _by_class(model, "ratio")] == [f"{ratios[name][metric]:.2f}x"]
    assert "ratio to resnet18" in " ".join(_text(t) for t in _by_class(document, "note"))


def test_names_without_a_baseline_have_no_ratio_line(run_cli, tmp_path):
    document = _chart(run_cli, tmp_path, "resnet18", "resnet34")
    assert _by_class(document, "ratio") == []
