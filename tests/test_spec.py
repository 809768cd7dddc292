"""Spec files: the seed examples, and every kind of mistake named by key and line."""

import pytest
from conftest import SPECS

from archviz.errors import RuntimeFailure, SpecError
from archviz.sources.spec import load_spec


def write(tmp_path, text, name="model.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_seed003_override_changes_only_stage_five():
    written = load_spec(SPECS / "seed003_resnet50_as_written.toml")
    assert [(o.stage, o.block, o.mid_width) for o in written.overrides] == [(4, 2, 256), (4, 3, 256)]


def test_minimal_spec_uses_the_defaults(tmp_path):
    config = load_spec(write(tmp_path, "layers = [1, 1]\nwidths = [8, 16]\nstrides = [1, 2]\n"))
    assert config.name == "model"
    assert config.layers == (1, 1)


def test_stage_tables_change_blocks_widths_and_strides(tmp_path):
    config = load_spec(write(tmp_path, 'base = "resnet50"\n[stages.3]\nblocks = 2\nwidth = 128\nstride = 1\n'))
    assert config.layers == (3, 4, 2, 3)
    assert config.widths == (64, 128, 128, 512)
    assert config.strides == (1, 2, 1, 2)


@pytest.mark.parametrize(
    "text, message",
    [
        ('name = "x"\nlayres = [2, 2]\n', r"model.toml:2: unknown key 'layres' \(did you mean 'layers'\?\)"),
        ('base = "resnet18"\n\n[stem]\nkernal = 3\n', r"model.toml:4: unknown key 'kernal' in \[stem\]"),
        ('base = "resnet18"\n[stages.2]\nwidht = 3\n', r"model.toml:3: unknown key 'widht' in \[stages.2\]"),
        ('base = "resnet18"\n[stages.9]\nblocks = 3\n', r"stages are numbered 1 to 4"),
        ('base = "resnet18"\n[stages.1.block.7]\nstride = 2\n', r"stage 1 has 2 blocks, there is no block 7"),
        (
            'base = "resnet18"\n[stages.1]\nblocks = 0\n',
            r"model.toml:3: \[stages.1\] blocks must be a positive integer",
        ),
        ('layers = "two"\n', r"model.toml:1: layers must be a list of integers"),
        ('shortcut = "D"\n', r"model.toml:1: shortcut must be one of A, B, C, none; got 'D'"),
        ('base = "resnet99"\n', r"model.toml:1: unknown base 'resnet99'.*did you mean"),
        ("classes = 0\n", r"model.toml:1: classes must be an integer >= 1 and <= 1,000,000; got 0"),
        ("layers = [2, 2\n", r"invalid TOML"),
        ('[[head]]\nop = "attention"\n', r"head op must be one of"),
    ],
)
def test_spec_errors_name_the_key_and_line(tmp_path, text, message):
    with pytest.raises(SpecError, match=message):
        load_spec(write(tmp_path, text))


def test_missing_spec_is_a_runtime_failure(tmp_path):
    with pytest.raises(RuntimeFailure, match="cannot read spec"):
        load_spec(tmp_path / "absent.toml")


HUGE = str(10**400)


def _ranged_cli_cases():
    """Every number option of every command given 10**400, and the options that parse numbers in text."""
    import click

    from archviz.cli import cli

    ctx = click.Context(cli)
    texts = {"--layers": f"{HUGE},2", "--input-shape": f"{HUGE},32,3", "--max-params": HUGE, "--max-macs": HUGE}
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        model = ["resnet18"] if any(isinstance(p, click.Argument) and p.required for p in command.params) else []
        for param in command.params:
            flag = param.opts[0] if isinstance(param, click.Option) else None
            if flag is None or param.is_flag:
                continue
            if param.type.name in ("integer", "float"):
                yield [name, *model, flag, HUGE]
            elif flag in texts:
                extra = ["--max-params", "1M"] if flag == "--max-macs" else []
                yield [name, *model, *extra, flag, texts[flag]]
    yield ["summary", "resnet18", "--input-shape", f"32,{HUGE},3"]


def test_a_huge_integer_in_every_ranged_option_is_one_line(run_cli):
    cases = list(_ranged_cli_cases())
    assert len(cases) > 30  # every command's numbers, not a few
    for args in cases:
        code, _, err = run_cli(*args)
        lines = err.splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("archviz: error: "), (args, err[-2000:])
        assert "Traceback" not in err


def test_a_huge_integer_in_a_spec_field_is_refused(tmp_path):
    path = write(tmp_path, f'base = "resnet18"\nclasses = {HUGE}\n[stages.2]\nwidth = {HUGE}\n')
    with pytest.raises(SpecError, match=r"model.toml:2: classes must be an integer >= 1 .* got 1000"):
        load_spec(path)
    path = write(tmp_path, f'base = "resnet18"\n[stages.2]\nwidth = 1{"0" * 5000}\n')
    with pytest.raises(SpecError, match=r"model.toml: invalid spec: a number of thousands of digits"):
        load_spec(path)  # Python itself refuses to read it


def test_a_huge_integer_from_the_python_api_is_named_by_its_size():
    from archviz.limits import RANGES

    assert RANGES["classes"].problem(10**5000).endswith("got an integer of about 5,000 digits")
    assert RANGES["width_multiplier"].problem(10**400).startswith("must be a number > 0")


@pytest.mark.parametrize(
    "text",
    [
        "# " + "." * 70 + '\nbase = "resnet18"\n',
        'base = "resnet18"  # ' + ". " * 70 + "\n",
        'base = "resnet18"\ndescription = """\n' + "a." * 70 + '\n"""\n',
        "base = 'resnet18'\ndescription = '''" + ".\n" * 70 + "'''\n",
        'base = "resnet18"\ndescription = "' + "." * 70 + '"\n',
        'base = "resnet18"\n"' + "a." * 70 + '" = 1\n',
    ],
)
def test_dots_in_comments_and_strings_are_not_key_parts(tmp_path, text):
    """Only a key's dots count; a quoted key's dots are one part (the last case reaches the key check)."""
    if text.endswith('" = 1\n'):
        with pytest.raises(SpecError, match="unknown key"):
            load_spec(write(tmp_path, text))
    else:
        assert load_spec(write(tmp_path, text)).layers == (2, 2, 2, 2)


@pytest.mark.parametrize(
    "key",
    [
        "a." * 49_999 + "a = 1",
        "[" + "a." * 49_999 + "a]",
        "a." * 49_999 + "a",
        "x = {" + "a." * 70 + "a = 1}",
        '"a".' * 70 + "b = 1",
    ],
)
def test_a_key_of_many_parts_is_refused_fast(tmp_path, key):
    import time

    started = time.monotonic()
    with pytest.raises(SpecError, match=r"model.toml:3: a key with more than 64 dotted parts"):
        load_spec(write(tmp_path, f'base = "resnet18"\n# {"." * 100}\n{key}\n'))
    assert time.monotonic() - started < 1
