from __future__ import annotations

import gzip

import pytest

from digest.config import ArxivFeedSource
from digest.errors import SourceError
from digest.sources import arxiv_feed, fetch_one
from tests.support.replay_server import ReplayServer, fixture_bytes
from tests.support.sources_ctx import make_ctx

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
ALL = "arxiv_rss2_all_archives_2024-11-28.xml.gz"


@pytest.fixture
def server():
    with ReplayServer() as s:
        yield s


def config(url=None, **kw):
    return ArxivFeedSource(
        name="daily", type="arxiv-feed", url=url, categories=kw.pop("categories", ["cs.LG"]), **kw
    )


def test_default_urls_join_categories():
    assert arxiv_feed.feed_url(config(categories=["cs.LG", "cs.CL"])) == (
        "https://rss.arxiv.org/rss/cs.LG+cs.CL"
    )
    assert arxiv_feed.feed_url(config(categories=["cs.AI"], format="atom")) == (
        "https://rss.arxiv.org/atom/cs.AI"
    )
    assert arxiv_feed.feed_url(config("http://mirror/x", categories=["cs.AI"])) == "http://mirror/x"


def test_recorded_rss(server):
    url = server.replay(
        "/rss/cs.LG", "arxiv_rss2_cs.LG_2026-04-27_trimmed_3items.xml", "application/rss+xml"
    )
    ctx, _ = make_ctx()
    papers = arxiv_feed.fetch(config(url), ctx)
    assert len(papers) == 3
    first = papers[0]
    assert first.id == "arxiv:2604.21952"
    assert first.abstract.startswith("This work presents a multi-layered methodology")
    assert "Announce Type" not in first.abstract and "resolution & stride" in first.abstract
    assert first.authors == (
        "Muhammad Shafique",
        "Abdul Basit",
        "Muhammad Abdullah Hanif",
        "Alberto Marchisio",
        "Rachmad Vidya Wicaksana Putra",
        "Minghao Shao",
    )
    assert first.categories[:2] == ("cs.LG", "cs.AI")
    assert first.published.isoformat() == "2026-04-27T00:00:00-04:00"
    assert first.pdf_url == "https://arxiv.org/pdf/2604.21952"


def test_announce_types_and_affiliations_in_a_gzipped_full_day(server):
    url = server.route(
        "/rss/all", body=fixture_bytes(ALL), headers={**RSS, "Content-Encoding": "gzip"}
    )
    ctx, _ = make_ctx(total_timeout=20)
    default = arxiv_feed.fetch(config(url), ctx)
    assert len(default) == 926 + 9
    replaced = arxiv_feed.fetch(config(url, announce_type=["replace"]), ctx)
    assert len(replaced) == 569
    assert all(p.published is None and p.updated is not None for p in replaced)
    every = arxiv_feed.fetch(
        config(url, announce_type=["new", "cross", "replace", "replace-cross"]), ctx
    )
    assert len(every) == 1504
    [paper] = [p for p in every if p.authors and p.authors[0] == "Mohammed Riadh Berramdane"]
    assert paper.authors == (
        "Mohammed Riadh Berramdane",
        "Alexandre Battiston",
        "Michele Bardi",
        "Nicolas Blet",
        "Benjamin R\\'emy",
        "Matthieu Urbain",
    )
    assert sum(1 for p in every if p.doi) >= 100
    assert not any("(" in a for p in every for a in p.authors)


def test_split_creators_keeps_commas_inside_parentheses():
    value = (
        "Aleteia Araujo (University of Brasilia Brazil, The University of Melbourne "
        "Australia), Breno Costa (University of Brasilia Brazil), Paulo Andr\\'e"
    )
    assert arxiv_feed.split_creators(value) == ("Aleteia Araujo", "Breno Costa", "Paulo Andr\\'e")


def test_feed_error_channel_is_a_failure(server):
    url = server.replay(
        "/rss/astroph", "arxiv_rss2_error_bad_archive_2024-11-28.xml", "application/rss+xml"
    )
    ctx, _ = make_ctx()
    result = fetch_one(config(url, categories=["astroph"]), ctx)
    assert not result.ok
    assert result.error.startswith("arXiv feed error: Bad archive 'astroph'.")


def test_weekend_empty_feed_is_zero_papers_not_an_error(server):
    url = server.replay(
        "/rss/test", "arxiv_rss2_empty_feed_test_archive_2024-11-28.xml", "application/rss+xml"
    )
    ctx, _ = make_ctx()
    result = fetch_one(config(url, categories=["test"]), ctx)
    assert result.ok and result.papers == ()


def test_atom_flavour_and_a_truncated_download(server):
    raw = fixture_bytes("arxiv_atom_feed_cs.AI_2025-08-20_TRUNCATED_does_not_parse.xml")
    url = server.route("/atom/cs.AI", body=raw, headers={"Content-Type": "application/atom+xml"})
    ctx, _ = make_ctx()
    ends_early = r"malformed XML at line \d+, column \d+: the document ends early"
    with pytest.raises(SourceError, match=ends_early):
        arxiv_feed.fetch(config(url, format="atom", categories=["cs.AI"]), ctx)
    whole = raw[: raw.rindex(b"</entry>") + len(b"</entry>")] + b"\n</feed>\n"
    papers = arxiv_feed.parse_feed(whole, "daily")
    assert len(papers) == 86
    first = papers[0]
    assert first.id == "arxiv:2508.13167" and first.abstract.startswith("Recent advances")
    assert first.published.isoformat() == "2025-08-20T00:00:00-04:00"
    assert first.authors and "," not in first.authors[0]


def test_declared_encoding_beats_a_wrong_charset_header(server):
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>x</title>'
        "<item><title>Caf\u00e9 models</title><link>https://arxiv.org/abs/2401.00001</link>"
        "<description>arXiv:2401.00001v1 Announce Type: new \nAbstract: W\u00fcbben</description>"
        "<arxiv:announce_type xmlns:arxiv='http://arxiv.org/schemas/atom'>new</arxiv:announce_type>"
        "</item></channel></rss>"
    ).encode("latin-1")
    url = server.route("/rss/x", body=body, headers=RSS)
    ctx, _ = make_ctx()
    [paper] = arxiv_feed.fetch(config(url), ctx)
    assert paper.title == "Café models" and paper.abstract == "Wübben"


def test_html_page_with_200_is_a_failure(server):
    url = server.route(
        "/rss/cs.LG",
        body=b"<!doctype html><html><title>Oops</title></html>",
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    ctx, _ = make_ctx()
    result = fetch_one(config(url), ctx)
    assert "HTML page" in result.error and result.papers == ()


def test_gzip_fixture_is_the_verbatim_file():
    assert len(gzip.decompress(fixture_bytes(ALL))) == 2_797_604
