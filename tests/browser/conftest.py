"""Browser fixtures: the example report rendered once, opened in headless Chromium through Playwright.

Chromium is Debian's ``chromium`` package at ``/usr/bin/chromium`` (never a browser downloaded by
``playwright install``). Every page runs offline: each request is recorded, and any request for
something other than the report file itself or a ``data:`` URL is aborted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reportgen.build import build
from tests.conftest import EXAMPLE

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE_WIDTH = 375
DESKTOP_WIDTH = 1280
#: Set to a folder to keep full-page screenshots of the pages the tests open (for a look by eye).
SCREENSHOT_ENV = "REPORTGEN_SCREENSHOTS"


@dataclass
class LoadedPage:
    """A page opened in the browser, with everything it asked for and complained about."""

    name: str
    width: int
    url: str
    page: Any  # playwright.sync_api.Page
    requests: list[str] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def screenshot(self) -> None:
        """A full-page screenshot into ``$REPORTGEN_SCREENSHOTS`` when that variable is set."""
        folder = os.environ.get(SCREENSHOT_ENV)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(folder) / f"{Path(self.name).stem}_{self.width}.png"), full_page=True)


@pytest.fixture(scope="session")
def example_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example study rendered as HTML only (report.html and supplement.html)."""
    target = tmp_path_factory.mktemp("browser") / "sclc_ldrt"
    build(EXAMPLE, target, formats=["html"])
    return target


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def open_page(browser: Any, example_html: Path) -> Iterator[Callable[[str, int], LoadedPage]]:
    """``open_page(name, width)``: the output file ``name`` loaded at that viewport width (cached per module).

    The phone width is emulated as a mobile device (the page's viewport meta tag applies)."""
    contexts: list[Any] = []
    cache: dict[tuple[str, int], LoadedPage] = {}

    def open_(name: str, width: int) -> LoadedPage:
        if (name, width) in cache:
            return cache[(name, width)]
        url = (example_html / name).as_uri()
        mobile = width <= PHONE_WIDTH
        context = browser.new_context(
            viewport={"width": width, "height": 800},
            device_scale_factor=1,
            is_mobile=mobile,
            has_touch=mobile,
            service_workers="block",
            offline=True,
        )
        contexts.append(context)
        page = context.new_page()
        loaded = LoadedPage(name, width, url, page)

        def route(r: Any) -> None:
            if r.request.url == url or r.request.url.startswith("data:"):
                r.continue_()
            else:
                loaded.aborted.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page.on("request", lambda req: loaded.requests.append(req.url))
        page.on("requestfailed", lambda req: loaded.failed.append(req.url))
        page.on("console", lambda msg: loaded.console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: loaded.page_errors.append(str(exc)))
        page.goto(url, wait_until="load")
        # Every image decoded (SVG data URIs decode asynchronously), so sizes and pixels are final.
        page.evaluate("() => Promise.all([...document.images].map(i => i.decode().catch(() => null)))")
        cache[(name, width)] = loaded
        return loaded

    yield open_
    for context in contexts:
        context.close()
