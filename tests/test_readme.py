"""The README and docs/ stay true: every ```console example is run and its output compared.

A line ``...`` (with any indentation) in an example stands for any number of lines. Blocks
fenced as ```text are illustrative (timings, abridged JSON, files a user brings) and are not run.
The commands of one block run in order in a fresh directory of their own (``examples/`` linked
into it), so a block may write a file and read it back, and nothing is written into the checkout.

The README stays a short introduction (at most 400 lines); the reference lives in docs/, and
every relative link in either points to a file that exists (and, with ``#``, to a heading).
"""

import re
import shlex

import pytest
from conftest import ROOT

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
MAX_README_LINES = 400


def console_blocks(path):
    """The ```console blocks of one page, each a list of (command, expected lines)."""
    blocks = []
    fenced = re.findall(r"^```console\n(.*?)^```", path.read_text(), flags=re.DOTALL | re.MULTILINE)
    for block in fenced:
        examples, command, expected = [], None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command:
                    examples.append((command, expected))
                command, expected = line[2:], []
            else:
                expected.append(line)
        if command:
            examples.append((command, expected))
        blocks.append(examples)
    return blocks


def pattern(expected):
    parts = []
    for line in expected:
        parts.append(r"(?:.*\n)*?" if line.strip() == "..." else re.escape(line) + r"\n")
    return "".join(parts)


BLOCKS = [(path, block) for path in PAGES for block in console_blocks(path)]
IDS = [f"{path.relative_to(ROOT)}: {block[0][0]}" for path, block in BLOCKS]


def test_the_pages_have_examples():
    assert sum(len(block) for _, block in BLOCKS) >= 8
    assert len(console_blocks(README)) >= 5, "the README's five examples are real runs"
    assert {path.name for path in DOCS} >= {
        "README.md",
        "commands.md",
        "json.md",
        "conventions.md",
        "keras.md",
        "errors.md",
        "security.md",
        "python-api.md",
        "zoo.md",
        "development.md",
    }


@pytest.mark.parametrize("path, block", BLOCKS, ids=IDS)
def test_console_example(run_cli, monkeypatch, tmp_path, path, block):
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    for command, expected in block:
        words = shlex.split(command)
        assert words[0] == "archviz"
        _code, out, err = run_cli(*words[1:])
        actual = out + err
        where = path.relative_to(ROOT)
        assert re.fullmatch(pattern(expected), actual), f"{where}: `{command}` differs:\n{actual}"


# ---- a README that fits on a few screens, and links that lead somewhere ------------------------


def test_the_readme_fits_on_a_few_screens():
    lines = README.read_text().count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; the reference goes in docs/"


def prose(text):
    """The text outside fenced blocks and inline code, where a Markdown link is a link."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path):
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.DOTALL | re.MULTILINE)
    return {slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.MULTILINE)}


def relative_links():
    links = []
    for path in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", prose(path.read_text())):
            if not re.match(r"[a-z]+:", target):
                links.append((path, target))
    return links


LINKS = relative_links()


def test_the_pages_link_to_each_other():
    linked = {(path.parent / target.split("#")[0]).resolve() for path, target in LINKS}
    assert {page.resolve() for page in DOCS} <= linked | {README.resolve()}
    assert len(LINKS) >= 20


@pytest.mark.parametrize("path, target", LINKS, ids=[f"{p.relative_to(ROOT)} -> {t}" for p, t in LINKS])
def test_relative_link_resolves(path, target):
    file, _, anchor = target.partition("#")
    linked = (path.parent / file).resolve() if file else path
    assert linked.exists(), f"{path.relative_to(ROOT)} links to {target}, which does not exist"
    assert linked.is_relative_to(ROOT)
    if anchor and linked.suffix == ".md":
        assert anchor in anchors(linked), f"{path.relative_to(ROOT)} links to {target}: no such heading"


def test_the_slug_is_githubs():
    assert slug("`archviz compare MODEL MODEL...`") == "archviz-compare-model-model"
    assert slug("`archviz export MODEL -o FILE.keras`") == "archviz-export-model--o-filekeras"
    assert slug("Two loaders: the config reader and Keras") == "two-loaders-the-config-reader-and-keras"
