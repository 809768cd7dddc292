"""Careless and hostile input: every case ends in one line on stderr and exit 1 or 2.

Numbers are checked in one place (:mod:`archviz.limits`) for options and spec fields alike, so
each bad value is tried both ways where both exist.
"""

from __future__ import annotations

import json
import os

import pytest

from archviz.limits import MAX_BLOCKS, RANGES, check

COMMANDS = [
    ("summary",),
    ("diagram", "-o", "{out}.svg"),
    ("report", "-o", "{out}.html"),
    ("compare", "resnet20"),
    ("export", "-o", "{out}.keras"),
]


def one_line(code, out, err, expected_code):
    assert code == expected_code, err
    assert err.count("\n") == 1 and err.startswith("archviz: error: "), err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["summary", "resnet50", "--width-multiplier", "nan"], "width-multiplier.*got nan"),
        (["summary", "resnet50", "--width-multiplier", "inf"], "got inf"),
        (["summary", "resnet50", "--width-multiplier", "1e308"], "got 1e\\+308"),
        (["summary", "resnet50", "--width-multiplier", "60"], "out width must be an integer >= 1 and <= 65,536"),
        (["summary", "resnet50", "--layers", "1000000,1,1,1"], "<= 10,000; got 1000000"),
        (["summary", "resnet50", "--layers", "99999999999999999999,1,1,1"], "<= 10,000"),
        (
            ["summary", "resnet50", "--layers", "3000,3000,3000,3000"],
            "12,000 residual blocks; archviz .* at most 10,000",
        ),
        (["summary", "resnet50", "--batch-size", "10000000"], "--batch-size"),
        (["summary", "resnet50", "--classes", "1e3"], "--classes"),
        (["summary", "x" * 100_000], "unknown model 'xxxx.*…"),
        (["fit", "--max-params", "1e400"], "--max-params must be a count from 1"),
        (["fit", "--max-params", "1e308T"], "--max-params must be a count"),
        (["fit", "--max-params", "0.4"], "got '0.4'"),
        (["fit", "--max-params", "5M", "--max-macs", "1e400"], "--max-macs must be a count"),
        (["bench", "resnet20", "--batch-size", "1000000000000"], "--batch-size"),
        (["blocks", "--channels", "3"], "give --bottleneck-channels, or --channels 4 or more"),
        (["blocks", "--channels", "5", "--groups", "32"], "raise --width-per-group"),
    ],
)
def test_bad_numbers_and_names_are_one_line(run_cli, args, message):
    import re

    code, out, err = run_cli(*args)
    one_line(code, out, err, 2)
    assert re.search(message, err), err


def test_a_path_too_long_for_the_system(run_cli):
    code, out, err = run_cli("summary", "a/" * 3000 + "x.toml")
    one_line(code, out, err, 1)
    assert "cannot read spec" in err and "File name too long" in err


@pytest.mark.parametrize("channels", [4, 5, 7, 12, 63, 64, 80, 256])
def test_blocks_defaults_work_at_every_width(run_cli, channels):
    code, out, err = run_cli("blocks", "--channels", channels, "--format", "json")
    assert code == 0, err
    resnext = next(b for b in json.loads(out)["blocks"] if b["name"] == "resnext")
    assert resnext["weights"] > 0


def test_blocks_default_stays_32x4d(run_cli):
    code, out, _ = run_cli("blocks")
    assert "3x3 in 32 groups" in out and "1,179,648" in out and "69,632" in out


HOSTILE_SPECS = {
    "width_nan": ("width_multiplier = nan", "width_multiplier must be a number > 0 and <= 64; got nan"),
    "width_inf": ("width_multiplier = inf", "got inf"),
    "width_huge": ("width_multiplier = 1e308", "got 1e\\+308"),
    "pool_zero": ('[[head]]\nop = "avg_pool"\npool = 0', "head pool must be an integer >= 1"),
    "pool_text": ('[[head]]\nop = "avg_pool"\npool = "big"', "head pool .* got 'big'"),
    "name_int": ("name = 123", "name must be a string; got 123"),
    "name_list": ("name = [1, 2]", "name must be a string"),
    "name_table": ("name = {a = 1}", "name must be a string"),
    "name_empty": ('name = "  "', "name must not be empty"),
    "top_text": ('include_top = "no"', "include_top must be true or false; got 'no'"),
    "stem_text": ('[stem]\npool = "yes"', "stem.pool must be true or false"),
    "epsilon_inf": ("bn_epsilon = inf", "bn_epsilon must be a number > 0 and <= 1; got inf"),
    "classes_float": ("classes = 10.0", "classes must be an integer"),
    "blocks_huge": ("[stages.1]\nblocks = 100000", "<= 10,000; got 100000"),
    "block_number_huge": ("[stages.1.block.99999999999999999999]\nstride = 2", "block number"),
    "deep": ("a = " + "[" * 100_000 + "]" * 100_000, "nested too deeply"),
}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("case", sorted(HOSTILE_SPECS))
def test_hostile_specs_are_one_line_in_every_command(run_cli, tmp_path, case, command):
    import re

    body, message = HOSTILE_SPECS[case]
    spec = tmp_path / f"{case}.toml"
    spec.write_text(('base = "resnet20"\n' if case != "deep" else "") + body + "\n")
    name, *rest = command
    args = [a.format(out=tmp_path / "out") for a in rest]
    code, out, err = run_cli(name, spec, *args) if name != "compare" else run_cli(name, *args, spec)
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("archviz: error: ") and re.search(message, err), err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(("out", ".out"))]
    if name == "compare":
        assert "resnet20" in out  # the good model is still compared


def test_spec_that_is_not_a_regular_file(run_cli, tmp_path):
    link = tmp_path / "zero.toml"
    os.symlink("/dev/zero", link)
    code, out, err = run_cli("summary", link)
    one_line(code, out, err, 1)
    assert "not a regular file" in err


def test_spec_too_large(run_cli, tmp_path):
    spec = tmp_path / "large.toml"
    spec.write_text('base = "resnet20"\n' + "# padding\n" * 200_000)
    code, out, err = run_cli("summary", spec)
    one_line(code, out, err, 2)
    assert "at most 1024 KiB" in err


def test_spec_with_a_byte_order_mark(run_cli, tmp_path):
    spec = tmp_path / "bom.toml"
    spec.write_bytes(b'\xef\xbb\xbfbase = "resnet20"\nclasses = 100\n')
    code, out, err = run_cli("summary", spec, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["model"]["options"]["classes"] == 100


def test_a_name_with_a_newline_stays_on_one_line(run_cli, tmp_path):
    spec = tmp_path / "newline.toml"
    spec.write_text('base = "resnet20"\nname = "two\\nlines"\nbogus = 1\n')
    code, out, err = run_cli("summary", spec)
    one_line(code, out, err, 2)


def test_json_never_has_infinity(run_cli):
    code, out, _ = run_cli("summary", "resnet20", "--format", "json")
    assert code == 0 and "Infinity" not in out and "NaN" not in out
    json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))


def test_the_largest_allowed_network_is_quick(run_cli, tmp_path):
    """At the block limit every command still answers: the report folds its diagrams, a diagram at a depth
    with more nodes than dot can draw in time says so."""
    layers = ",".join([str(MAX_BLOCKS // 4)] * 4)
    code, out, err = run_cli("summary", "resnet18", "--layers", layers, "--depth", "stages")
    assert code == 0, err
    report = tmp_path / "big.html"
    code, _, err = run_cli("report", "resnet18", "--layers", layers, "-o", report)
    assert code == 0, err
    assert "Runs of identical blocks are folded" in report.read_text()  # drawn, folded
    code, out, err = run_cli("diagram", "resnet18", "--layers", layers, "--full", "-o", tmp_path / "big.svg")
    one_line(code, out, err, 2)
    assert "at most 5,000" in err and not (tmp_path / "big.svg").exists()
    code, out, err = run_cli("diagram", "resnet18", "--layers", layers, "-o", tmp_path / "big.svg")  # folded
    assert code == 0 and err.splitlines() == [
        "resnet18 (layers 2500,2500,2500,2500) at block depth has 10,003 nodes: "
        "drew --depth blocks --collapse instead; --full draws it as asked",
        f"wrote {tmp_path / 'big.svg'}",
    ]


@pytest.mark.parametrize("kind", sorted(RANGES))
def test_every_range_refuses_non_finite_bool_and_out_of_range(kind):
    limits = RANGES[kind]
    for bad in (float("nan"), float("inf"), True, "1", None, limits.low - 1, limits.high + 1):
        with pytest.raises(Exception, match=f"{kind} must be"):
            check(kind, bad)
    inside = limits.low if not limits.low_open else limits.high
    assert check(kind, int(inside)) == int(inside)
