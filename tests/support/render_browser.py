"""Headless Chromium (Debian's /usr/bin/chromium) driven by playwright, for layout checks."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium_path() -> str | None:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    return shutil.which("chromium")


def inspect(
    html_path: Path, width: int, shot: Path, titles: list[str], color_scheme: str = "light"
) -> dict:
    """Open a file in Chromium at `width` px, save a full-page screenshot, and report the
    page's scroll width and which titles are visible (in layout, not hidden, non-zero box)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=ARGS, headless=True)
        try:
            page = browser.new_page(
                viewport={"width": width, "height": 900}, color_scheme=color_scheme
            )
            # No network: everything the email needs is inline; remote fonts must not load.
            page.route(
                "**/*",
                lambda route: (
                    route.continue_() if route.request.url.startswith("file:") else route.abort()
                ),
            )
            page.goto(html_path.resolve().as_uri())
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            visible = page.evaluate(
                """(titles) => {
                  const out = {};
                  const nodes = Array.from(document.querySelectorAll('h3'));
                  for (const t of titles) {
                    const el = nodes.find(n => n.textContent.trim() === t);
                    if (!el) { out[t] = false; continue; }
                    const r = el.getBoundingClientRect();
                    const s = getComputedStyle(el);
                    out[t] = r.width > 0 && r.height > 0 && s.visibility !== 'hidden'
                      && s.display !== 'none'
                      && r.right <= document.documentElement.clientWidth + 1;
                  }
                  return out;
                }""",
                titles,
            )
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    return {"scroll_width": scroll_width, "visible": visible}
