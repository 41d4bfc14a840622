from __future__ import annotations

import re
from datetime import timedelta

import pytest
from lxml import html as lxml_html

from digest.render import Renderer
from digest.store.db import open_db
from tests.support import render_sample as s


@pytest.fixture
def setup(tmp_path):
    r = Renderer(s.config(tmp_path))
    conn = open_db(tmp_path / "s.sqlite")
    yield r, conn, tmp_path / "out"
    conn.close()


def test_issue_page_and_index(setup):
    r, conn, out = setup
    paths = r.write_archive(conn, s.issue(), s.topic_matches(), out)
    assert [p.name for p in paths] == ["2026-12-01.html", "index.html"]
    page = (out / "archive" / "2026-12-01.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    doc = lxml_html.fromstring(page)
    titles = [h.text_content().strip() for h in doc.iter("h3")]
    assert len(titles) == 11 and s.XSS_TITLE in titles
    hrefs = [a.get("href") for a in doc.iter("a")]
    assert "index.html" in hrefs and "../feeds/all.atom.xml" in hrefs and "#vision" in hrefs
    # Opens from disk: every local link is relative and points at a file we write.
    assert not any(h.startswith(("/", "file:")) for h in hrefs)


def test_index_lists_issues_newest_first(setup):
    r, conn, out = setup
    r.write_archive(conn, s.issue(), s.topic_matches(), out)
    second = s.issue(s.AT + timedelta(hours=3), issue_id="2026-12-01.2")
    third = s.issue(s.AT + timedelta(days=1))
    r.write_archive(conn, third, {"Trending": s.matches("Trending", s.seed_papers(2))}, out)
    r.write_archive(conn, second, s.topic_matches(), out)
    index = (out / "archive" / "index.html").read_text()
    order = re.findall(r'<a href="([^"]+\.html)"><strong>', index)
    assert order == ["2026-12-02.html", "2026-12-01.2.html", "2026-12-01.html"]
    assert "(edition 2)" in index and "2 papers" in index
    for name in order:
        assert (out / "archive" / name).exists()


def test_archive_url(tmp_path):
    issue = s.issue()
    assert (
        Renderer(s.config(tmp_path)).archive_url(issue)
        == "https://digest.example.org/archive/2026-12-01.html"
    )
    local = Renderer(s.config(tmp_path, base_url=None))
    assert local.archive_url(issue) == (tmp_path / "out/archive/2026-12-01.html").resolve().as_uri()
    off = Renderer(s.config(tmp_path, base_url=None, output={"dir": "out", "archive": False}))
    assert off.archive_url(issue) is None


def test_unsafe_issue_id_is_refused(setup):
    r, conn, out = setup
    with pytest.raises(ValueError, match="file name"):
        r.write_archive(conn, s.issue(issue_id="../evil"), {}, out)


def test_golden_archive(setup, golden):
    r, conn, out = setup
    r.write_archive(conn, s.issue(), s.topic_matches(), out)
    golden("archive/2026-12-01.html", (out / "archive" / "2026-12-01.html").read_text())
    golden("archive/index.html", (out / "archive" / "index.html").read_text())
