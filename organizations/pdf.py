"""HTML printed to PDF by the system Chromium (through Playwright), offline: the page may load
nothing, so a report prints the same on a machine without network, with the CJK glyphs of the
fonts installed there (Debian's fonts-noto-cjk) embedded in the file."""

from __future__ import annotations

from django.conf import settings
from playwright.sync_api import Route, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _refuse(route: Route) -> None:
    route.abort()


def pdf_from_html(html: str) -> bytes:
    """An A4 PDF of a self-contained HTML page (styles and SVG inline, no script): every
    request the page would make is refused."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=settings.CEM_CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(java_script_enabled=False, offline=True)
            page = context.new_page()
            page.route("**/*", _refuse)
            page.set_content(html, wait_until="load")
            return page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            browser.close()
