"""The first screen of an HTML report as PNG, drawn by headless Chromium (Debian's, through Playwright),
as the README shows it: ``python examples/screenshot.py REPORT.html OUT.png [WIDTH HEIGHT]``."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def screenshot(page_path: str, output: str, width: int = 1280, height: int = 900) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(Path(page_path).resolve().as_uri())
        page.screenshot(path=output)
        browser.close()


if __name__ == "__main__":
    if len(sys.argv) not in (3, 5):
        sys.exit(__doc__.split("``")[1] if __doc__ else "usage: screenshot.py REPORT.html OUT.png [WIDTH HEIGHT]")
    screenshot(sys.argv[1], sys.argv[2], *map(int, sys.argv[3:]))
