"""The report in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""

import io
import os
import shutil

import pytest

import archviz
from archviz.render.report import render_report
from archviz.studies.blocks import stage_comparison

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the browser tests: install Debian's chromium (make test does)")
    pytest.skip("Debian's chromium is not installed (make test installs it)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    paths = {}
    for name, options in (("resnet50", {}), ("resnet20", {}), ("resnet152", {}), ("resnet1202", {})):
        path = root / f"{name}.html"
        summary = archviz.analyze(name, **options)
        path.write_text(render_report(summary, stage_comparison(summary)), encoding="utf-8")
        paths[name] = path
    return paths


@pytest.fixture
def open_report(browser, reports):
    pages = []

    def open_(name, width=1280, height=900):
        page = browser.new_page(viewport={"width": width, "height": height})
        page.errors = []
        page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on(
            "request",
            lambda request: (
                page.errors.append(f"request {request.url}")
                if not request.url.startswith(("file:", "data:", "about:"))
                else None
            ),
        )
        page.goto(reports[name].as_uri())
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()


@pytest.mark.parametrize("name", ["resnet50", "resnet20", "resnet152"])
def test_no_console_errors_and_no_network(open_report, name):
    page = open_report(name)
    page.wait_for_load_state("load")
    assert page.errors == []


@pytest.mark.parametrize("width", [1280, 390, 1920])
def test_screenshot_is_not_blank(open_report, width):
    from PIL import Image, ImageStat

    page = open_report("resnet50", width=width)
    image = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("L")
    assert ImageStat.Stat(image).stddev[0] > 20
    assert len(image.resize((64, 64)).getcolors(maxcolors=4096)) > 20
    # nothing overflows the page sideways on a phone or a wide screen
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("depth", ["1", "2", "3"])
def test_node_titles_are_centred_in_their_boxes(open_report, depth):
    """The diagram names a font the machine has, so the browser draws text where dot measured it."""
    page = open_report("resnet50")
    page.click(f"[data-show-depth='{depth}']")
    offsets = page.evaluate("""() => Array.from(document.querySelectorAll('.diagram:not([hidden]) g.node[id^="node_"]'))
        .slice(0, 12).map(node => {
            const box = node.querySelector('polygon, path').getBBox();
            const title = node.querySelector('text').getBBox();
            return Math.abs((title.x + title.width / 2) - (box.x + box.width / 2));
        })""")
    assert offsets and max(offsets) < 3, offsets


@pytest.mark.parametrize("width", [390, 1280])
def test_diagram_is_readable_and_zooms(open_report, width):
    page = open_report("resnet50", width=width)
    svg = visible_diagram(page).locator("svg")
    natural = page.evaluate("() => document.querySelector('.diagram:not([hidden]) svg').viewBox.baseVal.width")
    start = svg.bounding_box()["width"]
    assert start >= 0.75 * natural - 1  # never shrunk below readable text
    page.click("[data-zoom='in']")
    assert svg.bounding_box()["width"] > start
    page.click("[data-zoom='out']")
    assert abs(svg.bounding_box()["width"] - start) < 2
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


FITS = """(panel) => {
    const svg = panel.querySelector('svg').getBoundingClientRect(), box = panel.getBoundingClientRect();
    return {scrolls: panel.scrollHeight > panel.clientHeight + 1 || panel.scrollWidth > panel.clientWidth + 1,
            inside: svg.top >= box.top - 1 && svg.bottom <= box.bottom + 1 && svg.left >= box.left - 1
                    && svg.right <= box.right + 1,
            fills: Math.max(svg.width / panel.clientWidth, svg.height / panel.clientHeight)}
}"""


@pytest.mark.parametrize("depth", ["2", "3"])
@pytest.mark.parametrize("width", [390, 1280])
def test_fit_shows_the_whole_diagram_in_its_box(open_report, depth, width):
    """A tall diagram (ResNet-50's layers: about 19,500 px at its natural size) sits in a box that pans
    and zooms; "fit" shows all of it, as large as the box allows, and the page never grows for it."""
    page = open_report("resnet50", width=width)
    page.click(f"[data-show-depth='{depth}']")
    panel = visible_diagram(page).element_handle()
    assert page.evaluate("(panel) => panel.scrollHeight > panel.clientHeight + 100", panel)  # taller than its box
    assert panel.bounding_box()["height"] <= 0.7 * 900 + 2
    page.click("[data-zoom='fit']")
    fit = page.evaluate(FITS, panel)
    assert not fit["scrolls"] and fit["inside"] and fit["fills"] > 0.97, fit
    page.click("[data-zoom='in']")
    assert page.evaluate(FITS, panel)["fills"] > 1.2


def test_dragging_pans_the_diagram(open_report):
    page = open_report("resnet50")
    panel = visible_diagram(page)
    box = panel.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 320)  # on the first screen
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 20, steps=8)
    page.mouse.up()
    assert abs(panel.evaluate("(el) => el.scrollTop") - 300) < 5
    assert page.locator("#layer-table tr.highlight").count() == 0  # a drag is not a click on a node


def test_the_diagram_leads_the_report(open_report):
    """At 1280x900 the first screen shows the title, the totals and the top of the diagram, drawn at
    block depth (the CLI's default); the options are one line, the conventions folded at the end."""
    page = open_report("resnet50", width=1280)
    panel = visible_diagram(page)
    assert panel.get_attribute("data-depth") == "2"
    assert page.locator("[data-show-depth='2']").get_attribute("aria-pressed") == "true"
    assert panel.bounding_box()["y"] + 200 < 900
    assert page.locator("header .options summary").bounding_box()["height"] < 30
    assert not page.locator("header .options li").first.is_visible()
    assert not page.locator("#conventions dl").is_visible()
    page.click("#conventions summary")
    assert page.locator("#conventions dl").is_visible()
    order = page.evaluate("() => Array.from(document.querySelectorAll('main > section')).map(s => s.id)")
    assert order.index("totals") < order.index("diagram-section") < order.index("budget") < order.index("layers")
    assert order[-1] == "conventions"


@pytest.mark.parametrize("name", ["resnet50", "resnet1202"])
def test_phone_width(open_report, name):
    """At 390x844: no sideways scroll of the page, chart text at least 9 px (as drawn), and the wide
    tables scroll inside their own box."""
    page = open_report(name, width=390, height=844)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    sizes = page.evaluate("""() => Array.from(document.querySelectorAll('.chart th, .chart td, .chart h3'))
        .filter(el => el.textContent.trim()).map(el => parseFloat(getComputedStyle(el).fontSize))""")
    assert len(sizes) > 10 and min(sizes) >= 9, sizes
    wrap = page.locator("#layers .table-wrap")
    assert wrap.evaluate("(el) => el.scrollWidth > el.clientWidth")  # the table is wider than the phone...
    assert wrap.evaluate("(el) => getComputedStyle(el).overflowX") == "auto"  # ...and scrolls in its box
    assert wrap.bounding_box()["width"] <= 390


def test_the_stage_diagram_is_not_cut_off(open_report):
    page = open_report("resnet50", width=1280)
    page.click("[data-show-depth='1']")
    panel = visible_diagram(page)
    assert page.evaluate("(el) => el.scrollHeight <= el.clientHeight + 1", panel.element_handle())


def visible_diagram(page):
    return page.locator(".diagram:not([hidden])")


def test_clicking_a_node_highlights_its_row(open_report):
    page = open_report("resnet50")
    page.click("[data-show-depth='3']")
    node = visible_diagram(page).locator("g.node", has_text="conv2").nth(3)
    node_id = node.get_attribute("id")
    node.click()
    row = page.locator("#layer-table tr.highlight")
    assert row.count() == 1
    assert row.get_attribute("id") == node_id.replace("node_", "row_", 1)
    assert row.is_visible()  # its folded block was unfolded


def test_clicking_a_stage_node_highlights_the_stage_row(open_report):
    page = open_report("resnet50")
    page.click("[data-show-depth='1']")
    visible_diagram(page).locator("g.node", has_text="layer3").first.click()
    assert page.locator("#layer-table tr.highlight td.name").inner_text().strip() == "layer3"


def test_depth_switch_changes_the_diagram(open_report):
    page = open_report("resnet50")
    counts = []
    for depth in ("1", "2", "3"):
        page.click(f"[data-show-depth='{depth}']")
        assert visible_diagram(page).count() == 1
        assert visible_diagram(page).get_attribute("data-depth") == depth
        counts.append(visible_diagram(page).locator("g.node").count())
        assert page.locator(f"[data-show-depth='{depth}']").get_attribute("aria-pressed") == "true"
    assert counts[0] < counts[1] < counts[2]


def test_collapsing_a_stage_hides_its_rows(open_report):
    page = open_report("resnet20")
    page.click("[data-expand='true']")
    block_rows = page.locator("#layer-table tr[data-parent^='row_layer2_']")
    total = block_rows.count()
    assert total > 10 and all(block_rows.nth(i).is_visible() for i in range(total))
    stage = page.locator("#layer-table tr.level-1", has_text="layer2")
    stage.locator("button.toggle").click()
    assert not any(block_rows.nth(i).is_visible() for i in range(total))
    assert stage.is_visible() and stage.locator("button.toggle").get_attribute("aria-expanded") == "false"
    other = page.locator("#layer-table tr[data-parent^='row_layer3_']").first
    assert other.is_visible()
    stage.locator("button.toggle").click()
    assert all(block_rows.nth(i).is_visible() for i in range(total))


def test_long_tables_start_with_blocks_folded(open_report):
    page = open_report("resnet152")
    assert page.locator("#layer-table tr.level-2.group").first.is_visible()
    assert not page.locator("#layer-table tr.level-3").first.is_visible()
    page.click("[data-expand='true']")
    assert page.locator("#layer-table tr.level-3").first.is_visible()


def test_comparison_report_in_the_browser(browser, tmp_path):
    from archviz.render.compare import render_html
    from archviz.studies.compare import compare

    path = tmp_path / "compare.html"
    comparison = compare(["resnet18", "resnet50", "resnext50_32x4d"], baseline="resnet18", analyze=archviz.analyze)
    path.write_text(render_html(comparison))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    assert errors == []
    assert page.locator("#chart svg rect").count() > 6
    assert page.locator("#totals tbody tr").count() == 3
    page.close()


def test_printable(open_report, tmp_path):
    page = open_report("resnet20")
    pdf = page.pdf()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000


@pytest.mark.parametrize("by_stage", [False, True])
def test_comparison_chart_text_fits(browser, tmp_path, by_stage):
    """Drawn by Chromium: every text of compare's chart (the heading, the names, the footnote) lies inside
    the picture, and no two models' names overlap."""
    from archviz.render.compare import render_chart
    from archviz.studies.compare import compare

    names = ["resnet50-torchvision", "wide_resnet50_2", "resnext50_32x4d", "resnet18"]
    comparison = compare(names, baseline="resnet18", analyze=archviz.analyze)
    path = tmp_path / "chart.svg"
    path.write_text(render_chart(comparison, by_stage=by_stage))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(path.as_uri())
    found = page.evaluate("""() => {
        const svg = document.querySelector('svg'), box = svg.getBoundingClientRect();
        const outside = Array.from(svg.querySelectorAll('text')).filter(t => t.textContent.trim()).map(t => {
            const r = t.getBoundingClientRect();
            return r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5
                || r.bottom > box.bottom + 0.5 ? t.textContent : null; }).filter(Boolean);
        const panels = Array.from(svg.querySelectorAll('g.panel')).map(panel =>
            Array.from(panel.querySelectorAll('text.name')).map(t => t.getBoundingClientRect())
                .map(r => [r.left, r.right]));
        return {outside, panels};
    }""")
    page.close()
    assert found["outside"] == []
    for names_drawn in found["panels"]:
        assert len(names_drawn) == 4
        for (_, right), (left, _) in zip(names_drawn, names_drawn[1:]):
            assert right < left, names_drawn


SPINE = """(panel) => {
    const box = panel.getBoundingClientRect(), nodes = Array.from(panel.querySelectorAll('g.node[id^="node_"]'));
    const tops = nodes.map(node => node.getBoundingClientRect().top), first = nodes[tops.indexOf(Math.min(...tops))];
    const node = first.getBoundingClientRect(), title = first.querySelector('text').getBoundingClientRect();
    return {offset: node.left + node.width / 2 - (box.left + panel.clientLeft + panel.clientWidth / 2),
            width: panel.clientWidth, top: panel.scrollTop, title: title.height,
            visible: node.top >= box.top && node.bottom <= box.bottom}
}"""


@pytest.mark.parametrize("depth", ["2", "3"])
@pytest.mark.parametrize("width", [1280, 1920])
def test_a_tall_diagram_starts_at_its_top_on_its_main_path(open_report, depth, width):
    """ResNet-50 is much taller than its box: it opens at the top, its text at a readable size (not all of
    it fitted in), with its main path (a straight line down from the input) in the middle of the box."""
    page = open_report("resnet50", width=width, height=1080 if width == 1920 else 900)
    page.click(f"[data-show-depth='{depth}']")
    spine = page.evaluate(SPINE, visible_diagram(page).element_handle())
    assert spine["top"] == 0 and spine["visible"], spine
    assert abs(spine["offset"]) < 0.1 * spine["width"], spine
    assert spine["title"] >= 14, spine  # the node titles (14 pt in dot) at 14 px or more
