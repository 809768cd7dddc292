"""Rewrite the output of the ```console examples in README.md and docs/*.md that no longer match.

    python scripts/update_console_examples.py [PAGE ...]

Each block's commands run in order in a fresh directory with ``examples/`` linked in, as
``tests/test_readme.py`` runs them. A block whose expected output elides lines with ``...`` is not
rewritten (the elision is a choice made by hand): it is listed, to be edited by hand.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```console\n(.*?)^```", flags=re.DOTALL | re.MULTILINE)


def run_block(text: str) -> str | None:
    """The block with each command's output as archviz writes it now (None: it elides lines)."""
    lines = text.splitlines()
    if any(line.strip() == "..." for line in lines):
        return None
    commands = [line[2:] for line in lines if line.startswith("$ ")]
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
        out = []
        for command in commands:
            words = shlex.split(command)
            result = subprocess.run(
                [sys.executable, "-m", "archviz", *words[1:]], cwd=directory, capture_output=True, text=True
            )
            out.append(f"$ {command}\n{result.stdout}{result.stderr}")
    return "".join(out)


def update(page: Path) -> None:
    text = page.read_text()

    def replace(match: re.Match[str]) -> str:
        new = run_block(match.group(1))
        if new is None:
            print(f"{page.relative_to(ROOT)}: not rewritten (elides lines): {match.group(1).splitlines()[0]}")
            return match.group(0)
        return f"```console\n{new}```"

    updated = BLOCK.sub(replace, text)
    if updated != text:
        page.write_text(updated)
        print(f"{page.relative_to(ROOT)}: updated")


if __name__ == "__main__":
    pages = [Path(p).resolve() for p in sys.argv[1:]] or [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        update(page)
