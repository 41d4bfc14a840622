from __future__ import annotations

import pytest

from digest.config import FeedSource
from digest.errors import SourceError
from digest.sources import feed, fetch_one
from tests.support.replay_server import ReplayServer, fixture_bytes
from tests.support.sources_ctx import make_ctx

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


@pytest.fixture
def server():
    with ReplayServer() as s:
        yield s


def fetch(server, body, headers=RSS):
    url = server.route("/feed", body=body, headers=headers)
    ctx, _ = make_ctx()
    return fetch_one(FeedSource(name="blog", type="feed", url=url), ctx)


def test_rss_blog_with_html_descriptions(server):
    result = fetch(server, fixture_bytes("blog_rss2_bair_berkeley_trimmed_3items.xml"))
    assert result.ok and len(result.papers) == 3
    post = result.papers[0]
    assert post.id == "url:http://bair.berkeley.edu/blog/2026/04/20/grasp/"
    assert post.title == "Gradient-based Planning for World Models at Longer Horizons"
    assert post.abstract.startswith("GRASP is a new gradient-based planner")
    assert "<" not in post.abstract and "<!--" not in post.abstract
    assert post.published.isoformat() == "2026-04-20T09:00:00+00:00"  # from -0700
    assert post.source_types == ("feed",)


def test_ghost_feed_authors_categories_and_non_url_guid(server):
    result = fetch(server, fixture_bytes("blog_rss2_thegradient_ghost_trimmed_3items.xml"))
    post = result.papers[0]
    assert post.id == "url:69879dd077c3d76051ac158f"
    assert post.url == "https://thegradient.pub/virtue-ethics-ai-alignment/"
    assert post.authors == ("Peli Grietzer",)
    assert post.categories == ("Ethics", "Human factors", "Impacts")


def test_atom_feed_with_feed_level_author(server):
    body = fixture_bytes("blog_atom_octopress_saynotolinux_2016-08-16.xml")
    result = fetch(server, body, {"Content-Type": "application/atom+xml"})
    assert len(result.papers) == 8
    assert all(p.authors == ("Jordan Milne",) for p in result.papers)
    assert result.papers[0].published.isoformat() == "2016-08-15T07:00:00+00:00"


def test_a_feed_of_arxiv_links_gets_arxiv_ids(server):
    result = fetch(server, fixture_bytes("hf_daily_papers_third_party_rss_mirror_2026-04-30.xml"))
    assert len(result.papers) == 22
    assert all(p.id.startswith("arxiv:") for p in result.papers)


def test_wrong_charset_header_is_ignored_for_a_utf8_document(server):
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>Schrödinger’s café</title><link>https://x.org/1</link></item>"
        "</channel></rss>"
    ).encode()
    result = fetch(server, body, {"Content-Type": "text/xml; charset=iso-8859-1"})
    assert result.ok and result.papers[0].title == "Schrödinger’s café"


def test_empty_channel_is_zero_papers(server):
    result = fetch(server, b'<rss version="2.0"><channel><title>quiet</title></channel></rss>')
    assert result.ok and result.papers == ()


@pytest.mark.parametrize(
    "body, headers, reason",
    [
        (
            fixture_bytes("blog_rss2_bair_berkeley_trimmed_3items.xml")[:4000],
            RSS,
            "malformed XML at line ",
        ),
        (
            b"<!DOCTYPE html><html><body>Just a moment...</body></html>",
            {"Content-Type": "text/html"},
            "HTML page",
        ),
        (b'<?xml version="1.0"?><note>not a feed</note>', RSS, "not an RSS or Atom feed"),
        (b"", RSS, "empty"),
    ],
)
def test_bad_feeds_fail_with_one_line(server, body, headers, reason):
    result = fetch(server, body, headers)
    assert not result.ok and reason in result.error and "\n" not in result.error


def test_parse_feed_raises_source_error_naming_the_source():
    with pytest.raises(SourceError) as info:
        feed.parse_feed(b"<rss><channel><item><title>x", "lab-blog")
    assert info.value.source == "lab-blog"


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            b'<rss version="2.0"><channel>\n<title>a & b</title></channel></rss>',
            "malformed XML at line 2, column 11: a bare '&' (in XML it is written &amp;)",
        ),
        (
            b'<rss version="2.0"><channel><item><title>cut',
            "malformed XML at line 1, column 45: the document ends early: <title> "
            "(opened at line 1) is never closed",
        ),
        (
            b'<rss version="2.0"><channel></item></channel></rss>',
            "malformed XML at line 1, column 36: </item> does not close <channel> "
            "(opened at line 1)",
        ),
    ],
)
def test_malformed_xml_is_described_in_words(body, expected):
    with pytest.raises(SourceError) as info:
        feed.parse_feed(body, "blog")
    assert info.value.reason == expected
    assert "<unknown>" not in str(info.value)


def test_unsafe_link_of_an_arxiv_entry_falls_back_to_arxiv(server):
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><title>Paper</title>'
        b"<link>javascript:alert(1)</link><guid>oai:arXiv.org:2401.01234v1</guid></item>"
        b"<item><title>Post</title><link>javascript:alert(2)</link></item></channel></rss>"
    )
    result = fetch(server, body)
    paper, post = result.papers
    assert paper.id == "arxiv:2401.01234"
    assert paper.url == "https://arxiv.org/abs/2401.01234"
    assert paper.pdf_url == "https://arxiv.org/pdf/2401.01234"
    assert post.url is None
