"""PDF rendering: report HTML -> PDF bytes with WeasyPrint (paged CSS from styles/print.css).

The URL fetcher allows only ``data:`` URLs, i.e. the report's own embedded assets:
nothing is fetched from the network or read from the local disk, whatever a
label or a user template contains. WeasyPrint's errors are collected and raised.
"""

from __future__ import annotations

import logging
from typing import Any

from weasyprint import HTML
from weasyprint.urls import URLFetcher


class EmbeddedOnlyFetcher(URLFetcher):
    """Refuses every URL except ``data:`` URLs (the report's embedded figures)."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=["data"], allow_redirects=False, fail_on_errors=False)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> Any:
        if not url.startswith("data:"):
            self.refused.append(url[:200])
            raise ValueError(f"external resource refused: {url[:200]}")
        return super().fetch(url, headers)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "HarfBuzz" not in message:  # a note about the font subsetter in use, not a problem with the report
            self.messages.append(message)


def render_pdf(html: str) -> tuple[bytes, list[str], dict[str, int]]:
    """Render the HTML to PDF: (bytes, WeasyPrint's warnings, page number of every element id)."""
    fetcher = EmbeddedOnlyFetcher()
    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        document = HTML(string=html, base_url=None, url_fetcher=fetcher, media_type="print").render()
        pages: dict[str, int] = {}
        for number, page in enumerate(document.pages, start=1):
            for anchor in page.anchors:
                pages.setdefault(anchor, number)
        pdf = document.write_pdf()
    finally:
        logger.removeHandler(handler)
    return pdf, handler.messages, pages


def html_to_pdf(html: str, *, title: str | None = None) -> tuple[bytes, list[str]]:
    """Render the HTML to PDF; returns the bytes and WeasyPrint's warnings (if any)."""
    pdf, messages, _ = render_pdf(html)
    return pdf, messages
