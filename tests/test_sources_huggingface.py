from __future__ import annotations

import json

import pytest

from digest.config import HuggingFaceSource, SampleSource
from digest.errors import SourceError
from digest.normalize import merge_papers
from digest.sources import fetch_one, huggingface, sample
from digest.store.db import open_db
from tests.support.replay_server import ReplayServer, Reply, fixture_bytes
from tests.support.sources_ctx import make_ctx

FIXTURE = "hf_daily_papers_2026-06-12.json"
JSON = {"Content-Type": "application/json; charset=utf-8"}


@pytest.fixture
def server():
    with ReplayServer() as s:
        yield s


def config(url, **kw):
    return HuggingFaceSource(name="hf", type="huggingface", url=url, **kw)


def test_recorded_daily_papers(server):
    url = server.replay("/api/daily_papers", FIXTURE, "application/json")
    ctx, _ = make_ctx()
    papers = huggingface.fetch(config(url, date="2026-06-12"), ctx)
    assert len(papers) == 30
    assert server.requests[0].query == {"limit": ["50"], "p": ["0"], "date": ["2026-06-12"]}
    first = papers[0]
    assert first.id == "arxiv:2606.00467"
    assert first.url == "https://huggingface.co/papers/2606.00467"
    assert first.pdf_url == "https://arxiv.org/pdf/2606.00467"
    assert first.authors[:2] == ("Etienne Casanova", "Rafal Kocielnik")
    assert first.comments == 2 and first.upvotes == 0
    assert "LLM-as-a-judge" in first.keywords
    assert first.published.isoformat() == "2026-06-12T00:00:00+00:00"
    assert first.sources == ("hf",) and first.source_types == ("huggingface",)
    assert (
        sum(1 for p in papers if p.code_url and p.code_url.startswith("https://github.com/")) == 16
    )
    assert sum(1 for p in papers if p.project_url) == 13
    assert all(p.published.tzinfo is not None for p in papers)


def test_pages_until_a_short_page(server):
    items = json.loads(fixture_bytes(FIXTURE))
    pages = [items[0:2], items[2:4], items[4:5]]
    url = server.route(
        "/api/daily_papers", [Reply(body=json.dumps(p).encode(), headers=JSON) for p in pages]
    )
    ctx, _ = make_ctx()
    papers = huggingface.fetch(config(url, limit=2, pages=5), ctx)
    assert len(papers) == 5
    assert [r.query["p"] for r in server.requests] == [["0"], ["1"], ["2"]]


def test_wrong_charset_header_does_not_garble_utf8(server):
    items = json.loads(fixture_bytes(FIXTURE))[:1]
    items[0]["title"] = "Dirk Wübben’s café"
    body = json.dumps(items, ensure_ascii=False).encode("utf-8")
    url = server.route(
        "/api/daily_papers",
        body=body,
        headers={"Content-Type": "application/json; charset=iso-8859-1"},
    )
    ctx, _ = make_ctx()
    [paper] = huggingface.fetch(config(url), ctx)
    assert paper.title == "Dirk Wübben’s café"


@pytest.mark.parametrize(
    "body, headers, reason",
    [
        (
            b"<!DOCTYPE html><html><body>Sign in</body></html>",
            {"Content-Type": "text/html"},
            "HTML page",
        ),
        (b"<html><body>portal</body></html>", JSON, "HTML page"),
        (fixture_bytes(FIXTURE)[:5000], JSON, "malformed JSON"),
        (b'{"error": "Invalid date format"}', JSON, "Hugging Face API error: Invalid date format"),
        (b'{"papers": 1}', JSON, "expected a list"),
        (b"\xff\xfe[]", JSON, "not UTF-8"),
    ],
)
def test_bad_responses_fail_the_source_with_one_line(server, body, headers, reason):
    url = server.route("/api/daily_papers", body=body, headers=headers)
    ctx, _ = make_ctx()
    result = fetch_one(config(url), ctx)
    assert not result.ok and result.papers == ()
    assert reason in result.error and "\n" not in result.error
    with pytest.raises(SourceError) as info:
        huggingface.fetch(config(url), ctx)
    assert info.value.source == "hf"


def test_unchanged_list_costs_a_304_and_yields_the_same_papers(server, tmp_path):
    conn = open_db(tmp_path / "state.sqlite")
    url = server.route("/api/daily_papers", body=fixture_bytes(FIXTURE), headers=JSON, etag='"d1"')
    ctx, _ = make_ctx(conn=conn)
    first = huggingface.fetch(config(url), ctx)
    second = huggingface.fetch(config(url), ctx)
    assert [p.id for p in second] == [p.id for p in first] and len(first) == 30
    assert server.requests[1].headers.get("if-none-match") == '"d1"'


def test_bundled_sample_uses_the_parser():
    ctx, _ = make_ctx()
    papers = sample.fetch(SampleSource(name="sample", type="sample", dataset="huggingface"), ctx)
    assert len(papers) == 30 and papers[0].source_types == ("sample",)
    everything = sample.fetch(SampleSource(name="sample", type="sample"), ctx)
    assert len(everything) == 92
    assert len(merge_papers(everything)) <= 92


def test_hostile_counts_are_bounded():
    items = json.loads(fixture_bytes(FIXTURE))[:4]
    items[0]["paper"]["upvotes"], items[0]["numComments"] = 1e30, 10**40
    items[1]["paper"]["upvotes"], items[1]["numComments"] = -3, 2.5
    items[2]["paper"]["upvotes"], items[2]["numComments"] = "lots", float("nan")
    items[3]["paper"]["upvotes"], items[3]["numComments"] = "17", 4
    papers = huggingface.parse_daily_papers(json.dumps(items), "hf", "huggingface")
    assert [(p.upvotes, p.comments) for p in papers] == [
        (10**9, 10**9),
        (None, None),
        (None, None),
        (17, 4),
    ]


def test_malformed_json_names_line_and_column_in_words():
    with pytest.raises(SourceError) as info:
        huggingface.parse_daily_papers('[\n  {"title": "x",\n  }\n]', "hf", "huggingface")
    assert info.value.reason == (
        'malformed JSON at line 3, column 3: expected a "quoted" field name'
    )
