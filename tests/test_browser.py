"""The email and the archive page as a reader sees them, in headless Chromium.

Screenshots land in test-artifacts/ (kept by CI). Skipped where Chromium is missing."""

from __future__ import annotations

import pytest

from digest.render import Renderer
from digest.store.db import open_db
from tests.support import render_sample as s
from tests.support.render_browser import ARTIFACTS, chromium_path, inspect

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    if chromium_path() is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    tmp = tmp_path_factory.mktemp("browser")
    r = Renderer(s.config(tmp))
    _, html, _ = r.render_digest(s.digest(), s.links())
    email = tmp / "email.html"
    email.write_text(html, encoding="utf-8")
    conn = open_db(tmp / "s.sqlite")
    r.write_archive(conn, s.issue(), s.topic_matches(), tmp / "out")
    conn.close()
    titles = [r.email.paper(m.paper).title for ms in s.topic_matches().values() for m in ms]
    return {"email": email, "archive": tmp / "out" / "archive" / "2026-12-01.html"}, titles


@pytest.mark.parametrize("width", [375, 800])
@pytest.mark.parametrize("which", ["email", "archive"])
def test_no_horizontal_overflow_and_every_title_visible(pages, which, width):
    files, titles = pages
    scheme = "dark" if width == 800 else "light"
    shot = ARTIFACTS / f"{which}-{width}-{scheme}.png"
    result = inspect(files[which], width, shot, titles, color_scheme=scheme)
    assert result["scroll_width"] <= width, f"{which} overflows at {width}px"
    hidden = [t[:60] for t, ok in result["visible"].items() if not ok]
    assert not hidden, hidden
    assert shot.stat().st_size > 10_000
