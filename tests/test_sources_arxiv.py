from __future__ import annotations

import pytest

from digest.config import ArxivSource
from digest.errors import SourceError
from digest.sources import arxiv, fetch_one
from tests.support.replay_server import ReplayServer, Reply, fixture_bytes, recorded_status
from tests.support.sources_ctx import make_ctx

ATOM = {"Content-Type": "application/atom+xml; charset=utf-8"}


@pytest.fixture
def server():
    with ReplayServer() as s:
        yield s


def config(url, **kw):
    return ArxivSource(name="ax", type="arxiv", url=url, query=kw.pop("query", "cat:cs.LG"), **kw)


def recorded(name):
    return Reply(status=recorded_status(name), body=fixture_bytes(name), headers=ATOM)


def test_recorded_search_and_query_parameters(server):
    url = server.replay(
        "/api/query", "arxiv_api_search_transformer_AND_cat_cs.LG_max5.xml", "application/atom+xml"
    )
    ctx, _ = make_ctx()
    papers = arxiv.fetch(
        config(url, query="all:transformer AND cat:cs.LG", max_results=5, max_total=5), ctx
    )
    assert len(papers) == 5
    assert server.requests[0].query == {
        "search_query": ["all:transformer AND cat:cs.LG"],
        "start": ["0"],
        "max_results": ["5"],
        "sortBy": ["submittedDate"],
        "sortOrder": ["descending"],
    }
    mana = papers[0]
    assert mana.id == "arxiv:2606.13677" and mana.title.startswith("Mana: Dexterous")
    assert mana.url == "https://arxiv.org/abs/2606.13677"
    assert mana.pdf_url == "https://arxiv.org/pdf/2606.13677"
    assert mana.categories[0] == "cs.RO" and "cs.LG" in mana.categories
    assert mana.authors[-1] == "C. Karen Liu"
    assert "(<1 minute per tool)" in mana.abstract
    assert mana.published.isoformat() == "2026-06-11T17:59:49+00:00"


def test_pages_with_start_and_waits_between_requests(server):
    url = server.route(
        "/api/query",
        [
            recorded("arxiv_api_recorded_q-testing_start0_max10.json"),
            recorded("arxiv_api_recorded_q-testing_start10_max10.json"),
        ],
    )
    ctx, fake = make_ctx()
    papers = arxiv.fetch(config(url, query="testing", max_results=10, max_total=20), ctx)
    assert len(papers) == 20 and len({p.id for p in papers}) == 20
    assert [r.query["start"] for r in server.requests] == [["0"], ["10"]]
    assert len(fake.sleeps) == 1 and 2.5 < fake.sleeps[0] <= 3.0  # one request every 3 s


def test_max_total_shrinks_the_last_page(server):
    url = server.route(
        "/api/query",
        [
            recorded("arxiv_api_recorded_q-testing_start0_max10.json"),
            recorded("arxiv_api_recorded_q-testing_start10_max10.json"),
        ],
    )
    ctx, _ = make_ctx()
    papers = arxiv.fetch(config(url, query="testing", max_results=10, max_total=13, delay=0), ctx)
    assert len(papers) == 13
    assert server.requests[1].query["max_results"] == ["3"]


def test_stops_at_a_paper_already_known(server):
    first_page = fixture_bytes("arxiv_api_recorded_q-testing_start0_max10.json")
    ids = [p.id for p in arxiv.parse_feed(first_page, "ax")[0]]
    url = server.route(
        "/api/query",
        [
            recorded("arxiv_api_recorded_q-testing_start0_max10.json"),
            recorded("arxiv_api_recorded_q-testing_start10_max10.json"),
        ],
    )
    ctx, _ = make_ctx(known={ids[4]})
    papers = arxiv.fetch(config(url, query="testing", max_results=10, max_total=100), ctx)
    assert server.count() == 1
    assert ids[4] not in {p.id for p in papers} and len(papers) == 9


def test_error_400_feed_is_a_clear_failure(server):
    url = server.route("/api/query", recorded("arxiv_api_recorded_error_400_bad_id.json"))
    ctx, _ = make_ctx()
    result = fetch_one(config(url), ctx)
    assert result.error == "arXiv API error: incorrect id format for abc"
    assert server.count() == 1  # a 400 is not retried


def test_error_feed_with_200_is_a_failure_too(server):
    body = fixture_bytes("arxiv_api_recorded_error_400_bad_id.json")
    url = server.route("/api/query", body=body, headers=ATOM)
    ctx, _ = make_ctx()
    with pytest.raises(SourceError, match="arXiv API error"):
        arxiv.fetch(config(url), ctx)


def test_empty_result_is_zero_papers(server):
    url = server.route("/api/query", recorded("arxiv_api_recorded_empty_0_results.json"))
    ctx, _ = make_ctx()
    assert arxiv.fetch(config(url), ctx) == []


def test_recorded_oddities():
    """Title "0", old-style ids, entities, Latin-1-mangled recordings repaired, legacy wraps."""
    [zero], _ = arxiv.parse_feed(fixture_bytes("arxiv_api_recorded_idlist_2104.12255v1.json"), "ax")
    assert zero.title == "0" and zero.id == "arxiv:2104.12255"
    [old], _ = arxiv.parse_feed(
        fixture_bytes("arxiv_api_recorded_idlist_astro-ph_0601001.json"), "ax"
    )
    assert old.id == "arxiv:astro-ph/0601001"
    assert old.abstract.startswith("We derive") and "Gould & Morgan" in old.abstract
    assert "V_max<17.5" in old.abstract
    [many], _ = arxiv.parse_feed(
        fixture_bytes("arxiv_api_recorded_idlist_0808.05394_1707.08567.json"), "ax"
    )
    assert "Dirk Wübben" in many.authors and len(many.authors) == 34
    legacy, total = arxiv.parse_feed(
        fixture_bytes("arxiv_api_2016_search_au_del_maestro.xml"), "ax"
    )
    assert total == 31 and len(legacy) == 10
    assert all("\n" not in p.title and not p.abstract.startswith(" ") for p in legacy)
    assert legacy[0].doi == "10.1142/s021797921244002x"
    modern, _ = arxiv.parse_feed(
        fixture_bytes("arxiv_api_search_cat_cs.LG_OR_cat_cs.AI_max20.xml"), "ax"
    )
    assert any(
        p.title == "A Note on How to Remove the $\\ln\\ln T$ Term from the Squint Bound"
        for p in modern
    )
    assert sum(1 for p in modern if p.doi) == 2


@pytest.mark.parametrize(
    "body, headers, reason",
    [
        (
            b"<!DOCTYPE html><html><body>maintenance</body></html>",
            {"Content-Type": "text/html"},
            "HTML page",
        ),
        (
            fixture_bytes("arxiv_api_search_transformer_AND_cat_cs.LG_max5.xml")[:3000],
            ATOM,
            "malformed XML at line 39, column 42: the document ends early: <title>",
        ),
        (
            b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>',
            ATOM,
            "expected an Atom feed",
        ),
    ],
)
def test_bad_responses(server, body, headers, reason):
    url = server.route("/api/query", body=body, headers=headers)
    ctx, _ = make_ctx()
    result = fetch_one(config(url), ctx)
    assert result.error and reason in result.error and "\n" not in result.error
