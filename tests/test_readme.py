"""The README stays true: every ```console example is run and its output compared.

A line ``...`` (with any indentation) in an example stands for any number of lines. Blocks
fenced as ```text are illustrative (timings, abridged JSON) and are not run.
"""

import re
import shlex

import pytest

from conftest import ROOT

README = (ROOT / "README.md").read_text()


def console_examples():
    examples = []
    for block in re.findall(r"```console\n(.*?)```", README, flags=re.S):
        command, expected = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command:
                    examples.append((command, expected))
                command, expected = line[2:], []
            else:
                expected.append(line)
        if command:
            examples.append((command, expected))
    return examples


def pattern(expected):
    parts = []
    for line in expected:
        parts.append(r"(?:.*\n)*?" if line.strip() == "..." else re.escape(line) + r"\n")
    return "".join(parts)


EXAMPLES = console_examples()


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("command, expected", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example(run_cli, monkeypatch, command, expected):
    monkeypatch.chdir(ROOT)
    words = shlex.split(command)
    assert words[0] == "archviz"
    _code, out, err = run_cli(*words[1:])
    actual = out + err
    assert re.fullmatch(pattern(expected), actual), f"README example differs:\n{actual}"
