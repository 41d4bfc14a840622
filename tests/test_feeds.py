from __future__ import annotations

from datetime import timedelta
from email.utils import parsedate_to_datetime

import feedparser
import pytest
from lxml import etree

from digest.render import Renderer
from digest.store.db import open_db
from tests.support import render_sample as s

ATOM = "{http://www.w3.org/2005/Atom}"
SAFE = etree.XMLParser(resolve_entities=False, no_network=True)


@pytest.fixture
def setup(tmp_path):
    r = Renderer(s.config(tmp_path))
    conn = open_db(tmp_path / "s.sqlite")
    yield r, conn, tmp_path / "out"
    conn.close()


def _files(out):
    return {p.name: p.read_bytes() for p in sorted((out / "feeds").iterdir())}


def test_writes_all_and_per_topic_feeds_that_parse_back(setup):
    r, conn, out = setup
    paths = r.write_feeds(conn, s.topic_matches(), s.issue(), out)
    assert sorted(p.name for p in paths) == sorted(
        f"{k}.{f}.xml"
        for k in ("all", "efficient-llms", "vision", "trending")
        for f in ("rss", "atom")
    )
    for p in paths:
        parsed = feedparser.parse(p.read_bytes())
        assert parsed.bozo == 0, (p.name, parsed.get("bozo_exception"))
        assert parsed.feed.title.startswith("Trending Papers")
        self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
        assert self_links == [f"https://digest.example.org/feeds/{p.name}"]
        ids = [e.id for e in parsed.entries]
        assert len(ids) == len(set(ids))
    all_atom = feedparser.parse((out / "feeds" / "all.atom.xml").read_bytes())
    assert len(all_atom.entries) == 11
    first = all_atom.entries[0]
    assert first.id == "https://arxiv.org/abs/2406.06282"
    assert first.link == "https://arxiv.org/abs/2406.06282"
    assert "29.2× speed increase" in first.summary
    assert first.summary_detail.type == "text/plain"
    assert (
        first.content[0].type == "text/html" and "<strong>Why:</strong>" in first.content[0].value
    )


def test_dates_are_rfc822_and_rfc3339_and_aware(setup):
    r, conn, out = setup
    r.write_feeds(conn, s.topic_matches(), s.issue(), out)
    rss = etree.fromstring((out / "feeds" / "all.rss.xml").read_bytes(), SAFE)
    for text in rss.xpath("//lastBuildDate/text() | //pubDate/text()"):
        assert parsedate_to_datetime(text) == s.AT
    atom = etree.fromstring((out / "feeds" / "all.atom.xml").read_bytes(), SAFE)
    for text in atom.xpath(
        "//a:updated/text() | //a:published/text()", namespaces={"a": ATOM[1:-1]}
    ):
        assert text == "2026-12-01T07:00:00+00:00"


def test_guids_are_stable_and_ispermalink_is_correct(setup):
    r, conn, out = setup
    r.write_feeds(conn, s.topic_matches(), s.issue(), out)
    rss = etree.fromstring((out / "feeds" / "all.rss.xml").read_bytes(), SAFE)
    guids = {g.text: g.get("isPermaLink") for g in rss.iter("guid")}
    assert guids["https://arxiv.org/abs/2406.06282"] == "true"
    assert guids["https://doi.org/10.1234/xss.5678"] == "true"
    title_ids = [g for g in guids if g.startswith("urn:digest:title:")]
    assert title_ids and all(guids[g] == "false" for g in title_ids)
    # A fresh state (another machine, another day) gives the same ids.
    r2 = Renderer(s.config(out.parent / "other"))
    conn2 = open_db(out.parent / "other.sqlite")
    later = s.issue(s.AT + timedelta(days=3))
    r2.write_feeds(conn2, s.topic_matches(), later, out.parent / "other" / "out")
    rss2 = etree.fromstring((out.parent / "other/out/feeds/all.rss.xml").read_bytes(), SAFE)
    assert {g.text for g in rss2.iter("guid")} == set(guids)


def test_untrusted_title_is_escaped_in_feeds(setup):
    r, conn, out = setup
    r.write_feeds(conn, s.topic_matches(), s.issue(), out)
    for name in ("vision.rss.xml", "vision.atom.xml"):
        raw = (out / "feeds" / name).read_bytes()
        assert b"<script>" not in raw
        tree = etree.fromstring(raw, SAFE)
        titles = [t.text for t in tree.iter("title", f"{ATOM}title")]
        assert s.XSS_TITLE in titles
    rss = etree.fromstring((out / "feeds" / "vision.rss.xml").read_bytes(), SAFE)
    desc = next(
        i.findtext("description") for i in rss.iter("item") if i.findtext("title") == s.XSS_TITLE
    )
    # RSS readers treat description as HTML: the text arrives HTML-escaped.
    assert "&lt;b&gt;markup&lt;/b&gt;" in desc
    content = next(
        i.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
        for i in rss.iter("item")
        if i.findtext("title") == s.XSS_TITLE
    )
    assert "<b>" not in content and "javascript:alert(3)" not in content


def test_second_run_with_nothing_new_is_byte_identical(setup):
    r, conn, out = setup
    r.write_feeds(conn, s.topic_matches(), s.issue(), out)
    before = _files(out)
    later = s.issue(s.AT + timedelta(days=1))
    Renderer(r.config).write_feeds(conn, s.topic_matches(), later, out)
    assert _files(out) == before
    # Something new: that feed changes (and its date), the others do not.
    tm = s.topic_matches()
    tm["Trending"] = s.matches("Trending", s.seed_papers(12)[10:12]) + tm["Trending"]
    r.write_feeds(conn, tm, later, out)
    after = _files(out)
    assert after["vision.atom.xml"] == before["vision.atom.xml"]
    assert after["trending.atom.xml"] != before["trending.atom.xml"]
    parsed = feedparser.parse(after["trending.rss.xml"])
    assert parsedate_to_datetime(parsed.feed.updated) == later.generated_at
    # Newest first: the two new papers lead, the older ones follow in their old order.
    assert [e.title for e in parsed.entries[:2]] == [p.title for p in s.seed_papers(12)[10:12]]
    assert len(parsed.entries) == 6


def test_feed_keeps_only_the_last_n_entries(tmp_path):
    r = Renderer(
        s.config(tmp_path, feeds={"max_entries": 5, "formats": ["atom"], "per_topic": False})
    )
    conn = open_db(tmp_path / "s.sqlite")
    papers = s.seed_papers(30)
    for day in range(6):
        batch = papers[day * 5 : (day + 1) * 5]
        r.write_feeds(
            conn,
            {"Trending": s.matches("Trending", batch)},
            s.issue(s.AT + timedelta(days=day)),
            tmp_path / "out",
        )
    paths = list((tmp_path / "out" / "feeds").iterdir())
    assert [p.name for p in paths] == ["all.atom.xml"]
    parsed = feedparser.parse(paths[0].read_bytes())
    assert [e.title for e in parsed.entries] == [p.title for p in papers[25:30]]
    assert conn.execute("SELECT count(*) FROM feed_entries").fetchone()[0] == 5


def test_without_base_url_self_links_are_file_uris(tmp_path):
    r = Renderer(s.config(tmp_path, base_url=None))
    conn = open_db(tmp_path / "s.sqlite")
    paths = r.write_feeds(conn, s.topic_matches(), s.issue(), tmp_path / "out")
    parsed = feedparser.parse(paths[0].read_bytes())
    assert parsed.bozo == 0
    rss = etree.fromstring(paths[0].read_bytes(), SAFE)
    self_links = [a.get("href") for a in rss.iter(f"{ATOM}link") if a.get("rel") == "self"]
    assert self_links == [paths[0].resolve().as_uri()]  # file:///... (feedparser drops a slash)
    # Papers without a URL link to their card in the archive page.
    item = next(i for i in rss.iter("item") if i.findtext("guid").startswith("urn:digest:title:"))
    archive = (tmp_path / "out" / "archive").resolve().as_uri()
    assert item.findtext("link").startswith(archive + "/2026-12-01.html#p-")


def test_golden_feeds(setup, golden):
    r, conn, out = setup
    r.write_feeds(conn, s.topic_matches(), s.issue(), out)
    golden("feeds/all.rss.xml", (out / "feeds" / "all.rss.xml").read_text())
    golden("feeds/vision.atom.xml", (out / "feeds" / "vision.atom.xml").read_text())
