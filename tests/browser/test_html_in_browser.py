"""report.html and supplement.html of the example in headless Chromium: figures displayed, no console
errors, no network access, no horizontal scrolling at phone width outside tables, and accessible
structure (headings, table captions and header scopes, image alt text)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from tests.browser.conftest import CHROMIUM, DESKTOP_WIDTH, PHONE_WIDTH, LoadedPage

if not CHROMIUM.is_file():
    pytest.skip(
        f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True
    )
pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (pip install playwright)")

from PIL import Image  # noqa: E402  (after the skips: only needed when the browser runs)

PAGES = ("report.html", "supplement.html")
#: Figures in each page of the example (the report's and the supplement's own numbering).
N_FIGURES = {"report.html": 7, "supplement.html": 2}

OpenPage = Callable[[str, int], LoadedPage]

_IMAGES_JS = """() => [...document.querySelectorAll('figure img')].map(img => {
  const r = img.getBoundingClientRect();
  const s = getComputedStyle(img);
  return {id: img.closest('figure').id, complete: img.complete, natural: [img.naturalWidth, img.naturalHeight],
          rendered: [r.width, r.height], visible: s.display !== 'none' && s.visibility === 'visible'};
})"""

#: Elements that stick out sideways beyond the given width, except the content of tables (which
#: scrolls inside its figure.table); the figure.table itself must fit.
_OVERFLOW_JS = """(limit) => {
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const box = el.closest('figure.table');
    if (box && box !== el) continue;
    if (r.left < -0.5 || r.right > limit + 0.5) {
      out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${el.className}: ${r.left}..${r.right}`);
    }
  }
  return out;
}"""

#: Table cells (outside the STROBE checklist's text columns) whose text wraps onto more than one line.
_WRAPPED_CELLS_JS = """() => {
  const out = [];
  for (const td of document.querySelectorAll('figure.table table:not(.checklist) td')) {
    const range = document.createRange();
    range.selectNodeContents(td);
    const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
    if (tops.size > 1) out.push(`${td.closest('figure').id}: ${td.textContent}`);
  }
  return out;
}"""

_HEADINGS_JS = "() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(h => [+h.tagName[1], h.textContent])"

_TABLES_JS = """() => [...document.querySelectorAll('table')].map(t => ({
  caption: t.caption ? t.caption.textContent.trim() : null,
  unscoped: [...t.querySelectorAll('th')].filter(th => !['row', 'col', 'rowgroup', 'colgroup']
                .includes(th.getAttribute('scope'))).map(th => th.textContent),
}))"""


@pytest.mark.parametrize("name", PAGES)
def test_every_figure_image_is_displayed(open_page: OpenPage, name: str):
    """Each figure's <img> is decoded (naturalWidth > 0), laid out at a non-zero size, and shows ink."""
    loaded = open_page(name, DESKTOP_WIDTH)
    images = loaded.page.evaluate(_IMAGES_JS)
    assert len(images) == N_FIGURES[name]
    assert len(images) == loaded.page.locator("figure.figure").count()
    for img in images:
        assert img["complete"] and img["visible"], img
        assert img["natural"][0] > 0 and img["natural"][1] > 0, img
        assert img["rendered"][0] > 100 and img["rendered"][1] > 50, img
        # Rendered at the image's own aspect ratio (no squashing).
        ratio = img["natural"][0] / img["natural"][1]
        assert img["rendered"][0] / img["rendered"][1] == pytest.approx(ratio, rel=0.02), img
    for k in range(len(images)):
        png = loaded.page.locator("figure img").nth(k).screenshot()
        grey = Image.open(io.BytesIO(png)).convert("L")
        dark = sum(grey.histogram()[:128]) / (grey.width * grey.height)
        assert 0.001 < dark < 0.5, f"{images[k]['id']}: {dark:.4f} of the pixels are dark"


@pytest.mark.parametrize("width", [PHONE_WIDTH, DESKTOP_WIDTH])
@pytest.mark.parametrize("name", PAGES)
def test_offline_and_without_errors(open_page: OpenPage, name: str, width: int):
    """Nothing is fetched but the file itself (figures and styles are embedded), nothing is logged as an error."""
    loaded = open_page(name, width)
    assert loaded.requests, "the page's own request was not recorded"
    others = [u for u in loaded.requests if u != loaded.url and not u.startswith("data:")]
    assert others == []
    assert loaded.aborted == [] and loaded.failed == []
    assert loaded.console_errors == []
    assert loaded.page_errors == []


@pytest.mark.parametrize("width", [PHONE_WIDTH, DESKTOP_WIDTH])
@pytest.mark.parametrize("name", PAGES)
def test_no_horizontal_scroll_outside_tables(open_page: OpenPage, name: str, width: int):
    loaded = open_page(name, width)
    loaded.screenshot()
    page = loaded.page
    # Against the requested width: a phone widens its layout viewport (innerWidth) to fit wide content.
    assert page.evaluate(_OVERFLOW_JS, width) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate("innerWidth") == width


@pytest.mark.parametrize("name", PAGES)
def test_phone_tables_scroll_instead_of_breaking_numbers(open_page: OpenPage, name: str):
    """At phone width a wide table scrolls inside its figure: no value such as "0.61 (0.36–1.01)" is
    broken across lines, and each caption stays within the screen."""
    page = open_page(name, PHONE_WIDTH).page
    assert page.evaluate(_WRAPPED_CELLS_JS) == []
    captions = page.evaluate(
        "() => [...document.querySelectorAll('caption')].map(c => c.getBoundingClientRect().right)"
    )
    assert captions and max(captions) <= PHONE_WIDTH
    scrollers = page.evaluate(
        "() => [...document.querySelectorAll('figure.table')].filter(f => f.scrollWidth > f.clientWidth).length"
    )
    assert scrollers >= 1  # the example's wide tables do need to scroll at 375 px
    overflow = page.evaluate(
        "() => [...new Set([...document.querySelectorAll('figure.table')].map(f => getComputedStyle(f).overflowX))]"
    )
    assert overflow == ["auto"]


@pytest.mark.parametrize("name", PAGES)
def test_heading_hierarchy(open_page: OpenPage, name: str):
    """One h1, first; each heading at most one level below the one before it."""
    headings = open_page(name, DESKTOP_WIDTH).page.evaluate(_HEADINGS_JS)
    levels = [level for level, _ in headings]
    assert levels.count(1) == 1 and levels[0] == 1
    skipped = [(a, b) for a, b in zip(headings, headings[1:], strict=False) if b[0] > a[0] + 1]
    assert skipped == []
    assert all(text.strip() for _, text in headings)


@pytest.mark.parametrize("name", PAGES)
def test_tables_have_captions_and_scoped_headers(open_page: OpenPage, name: str):
    tables = open_page(name, DESKTOP_WIDTH).page.evaluate(_TABLES_JS)
    assert len(tables) >= 6
    assert [t for t in tables if not t["caption"]] == []
    assert [t for t in tables if t["unscoped"]] == []


@pytest.mark.parametrize("name", PAGES)
def test_images_have_alt_text(open_page: OpenPage, name: str):
    alts = open_page(name, DESKTOP_WIDTH).page.evaluate(
        "() => [...document.images].map(i => (i.getAttribute('alt') || '').trim())"
    )
    assert len(alts) == N_FIGURES[name]
    assert all(len(alt) > 20 for alt in alts), alts
