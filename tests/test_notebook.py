"""A summary in a notebook: ``Summary._repr_html_``, the table Jupyter shows, through the metric table,
escaped, and loaded only when a notebook asks for it."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_security import hostile_graph, names

import archviz
from archviz.core import metrics
from archviz.core.analysis import analyze_graph
from archviz.core.metrics import View, row_value, shown
from archviz.limits import visible
from archviz.render.text import totals_lines

#: What the table is made of: nothing else may appear, whatever the names.
TAGS = {"div", "table", "caption", "thead", "tbody", "tr", "th", "td", "p"}


class _Table(HTMLParser):
    """The cells of each row (``th`` and ``td``) and every tag and attribute met."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.caption = ""
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self._cell: list[str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes |= {key for key, _ in attrs}
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "caption":
            self._in_caption = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "caption":
            self._in_caption = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        elif self._in_caption:
            self.caption += data


def parse(page: str) -> _Table:
    table = _Table()
    table.feed(page)
    table.close()
    return table


def test_a_summary_shows_as_its_table():
    summary = archviz.analyze("resnet50")
    table = parse(summary._repr_html_())
    assert table.tags <= TAGS and table.attributes <= {"class", "style", "title"}
    assert table.caption == "resnet50, input 224x224x3, batch 1, by block"
    header, *rows = table.rows
    metrics_shown = shown(View.TABLE)
    assert header == ["Layer", "Op", "Output shape", *(metric.title for metric in metrics_shown)]
    blocks = summary.rows("blocks")  # ResNet-50's 177 layers are too many rows: its blocks
    body, totals = rows[: len(blocks)], rows[len(blocks) :]
    assert [row[0] for row in body] == [row.name for row in blocks]
    for cells, row in zip(body, blocks):
        assert cells[3:] == [metric.cell(row_value(metric, row)) for metric in metrics_shown]
    assert body[1][:3] == ["stem.conv1", "conv2d 7x7/2, 64", "112x112x64"]  # the kernel, as the CLI shows it
    assert body[5][1] == "bottleneck"
    assert [tuple(row) for row in totals] == totals_lines(summary)  # the totals as the summary's table says them
    assert "every layer" in summary._repr_html_()


def test_depths_and_a_small_model_in_full():
    summary = archviz.analyze("resnet18")
    assert len(parse(summary._repr_html_()).rows) == 1 + len(summary.rows("layers")) + len(shown(View.LINE, summary))
    stages = parse(summary.html(depth="stages"))
    assert [row[0] for row in stages.rows[1:8]] == [row.name for row in summary.rows(1)]
    assert "by stage" in stages.caption


def test_a_new_table_metric_appears_by_its_entry(monkeypatch):
    widened = tuple(
        m._replace(views=m.views | {View.TABLE}) if m.key == "activation_bytes" else m for m in metrics.METRICS
    )
    monkeypatch.setattr(metrics, "METRICS", widened)
    summary = archviz.analyze("resnet18")
    header, first, *_ = parse(summary.html(depth="stages")).rows
    assert first[header.index("Activation memory")] == "588.0 KiB"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=names, groups=st.lists(names, min_size=1, max_size=2), layers=st.lists(names, min_size=2, max_size=2))
def test_hostile_names_show_as_text(model, groups, layers):
    """Any model, group or layer name is a cell's text (its control characters written as escapes):
    never a tag, an attribute or an entity of its own."""
    summary = analyze_graph(hostile_graph(model, groups, layers))
    page = summary.html(depth="layers")
    table = parse(page)
    assert table.tags <= TAGS and table.attributes <= {"class", "style", "title"}
    assert [row[0] for row in table.rows[1 : 1 + len(summary.records)]] == [visible(r.name) for r in summary.records]
    assert table.caption.startswith(visible(summary.name))
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\u202a-\u202e\u2066-\u2069]", page)


def test_a_summary_imports_jinja2_only_when_shown():
    probe = (
        "import sys, archviz\n"
        "summary = archviz.analyze('resnet50')\n"
        "print('jinja2' in sys.modules)\n"
        "summary._repr_html_()\n"
        "print('jinja2' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True"]


def test_the_python_api_page_shows_what_archviz_writes():
    from conftest import ROOT

    page = (ROOT / "docs" / "python-api.md").read_text()
    assert archviz.analyze("resnet50").html(depth="stages") in page
