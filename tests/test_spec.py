"""Spec files: the seed examples, and every kind of mistake named by key and line."""

import pytest

from archviz.errors import RuntimeFailure, SpecError
from archviz.sources.spec import load_spec

from conftest import SPECS


def write(tmp_path, text, name="model.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_seed003_override_changes_only_stage_five():
    written = load_spec(SPECS / "seed003_resnet50_as_written.toml")
    assert [(o.stage, o.block, o.mid_width) for o in written.overrides] == [(4, 2, 256), (4, 3, 256)]


def test_minimal_spec_uses_the_defaults(tmp_path):
    config = load_spec(write(tmp_path, 'layers = [1, 1]\nwidths = [8, 16]\nstrides = [1, 2]\n'))
    assert config.name == "model"
    assert config.layers == (1, 1)


def test_stage_tables_change_blocks_widths_and_strides(tmp_path):
    config = load_spec(write(tmp_path, 'base = "resnet50"\n[stages.3]\nblocks = 2\nwidth = 128\nstride = 1\n'))
    assert config.layers == (3, 4, 2, 3)
    assert config.widths == (64, 128, 128, 512)
    assert config.strides == (1, 2, 1, 2)


@pytest.mark.parametrize("text, message", [
    ('name = "x"\nlayres = [2, 2]\n', r"model.toml:2: unknown key 'layres' \(did you mean 'layers'\?\)"),
    ('base = "resnet18"\n\n[stem]\nkernal = 3\n', r"model.toml:4: unknown key 'kernal' in \[stem\]"),
    ('base = "resnet18"\n[stages.2]\nwidht = 3\n', r"model.toml:3: unknown key 'widht' in \[stages.2\]"),
    ('base = "resnet18"\n[stages.9]\nblocks = 3\n', r"stages are numbered 1 to 4"),
    ('base = "resnet18"\n[stages.1.block.7]\nstride = 2\n', r"stage 1 has 2 blocks, there is no block 7"),
    ('base = "resnet18"\n[stages.1]\nblocks = 0\n', r"model.toml:3: \[stages.1\] blocks must be a positive integer"),
    ('layers = "two"\n', r"model.toml:1: layers must be a list of integers"),
    ('shortcut = "D"\n', r"model.toml:1: shortcut must be one of A, B, C, none; got 'D'"),
    ('base = "resnet99"\n', r"model.toml:1: unknown base 'resnet99'.*did you mean"),
    ('classes = 0\n', r"model.toml:1: classes must be an integer >= 1 and <= 1,000,000; got 0"),
    ('layers = [2, 2\n', r"invalid TOML"),
    ('[[head]]\nop = "attention"\n', r"head op must be one of"),
])
def test_spec_errors_name_the_key_and_line(tmp_path, text, message):
    with pytest.raises(SpecError, match=message):
        load_spec(write(tmp_path, text))


def test_missing_spec_is_a_runtime_failure(tmp_path):
    with pytest.raises(RuntimeFailure, match="cannot read spec"):
        load_spec(tmp_path / "absent.toml")
