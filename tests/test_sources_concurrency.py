"""fetch_all runs sources in parallel threads: slow servers overlap, arXiv stays polite
across sources, results keep the config order, and the shared state connection and client
are used safely."""

from __future__ import annotations

import contextlib
import threading
import time

from digest.clock import FixedClock
from digest.config import ArxivSource, FeedSource, FileSource
from digest.http import http_for
from digest.sources import FetchContext, fetch_all, fetch_one
from digest.store.db import open_db
from tests.support.replay_server import ReplayServer, fixture_bytes
from tests.support.sources_ctx import NOW, make_ctx

RSS = {"Content-Type": "application/rss+xml"}
ATOM = {"Content-Type": "application/atom+xml"}
ONE_PAGE = "arxiv_api_search_transformer_AND_cat_cs.LG_max5.xml"
FEED = fixture_bytes("blog_rss2_bair_berkeley_trimmed_3items.xml")
DELAY = 0.4


def arxiv_source(name, url, **kw):
    return ArxivSource(
        name=name, type="arxiv", url=url, query="cat:cs.LG", max_results=5, max_total=5, **kw
    )


def test_slow_sources_overlap_and_results_keep_the_config_order(tmp_path):
    (tmp_path / "p.json").write_text('[{"title": "Local"}]')
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(ReplayServer()) for _ in range(4)]
        sources = [
            FeedSource(
                name=f"slow{i}",
                type="feed",
                url=s.route("/feed", body=FEED, headers=RSS, delay=DELAY),
            )
            for i, s in enumerate(servers[:3])
        ]
        broken = servers[3].route(
            "/feed", body=b"<html>down</html>", headers={"Content-Type": "text/html"}, delay=DELAY
        )
        sources.insert(1, FeedSource(name="broken", type="feed", url=broken))
        sources.append(FileSource(name="local", type="file", path="p.json"))
        sources.append(FileSource(name="off", type="file", path="nope.json", enabled=False))
        ctx, _ = make_ctx(root=tmp_path)
        started = time.perf_counter()
        results = fetch_all(sources, ctx)
        elapsed = time.perf_counter() - started
    assert [r.name for r in results] == ["slow0", "broken", "slow1", "slow2", "local"]
    assert [len(r.papers) for r in results] == [3, 0, 3, 3, 1]
    assert "HTML page" in results[1].error and all(r.ok for r in results if r.name != "broken")
    # four slow servers in turn would take 4 x DELAY; in parallel, about one DELAY
    assert elapsed < 2.5 * DELAY, elapsed


def test_arxiv_sources_share_one_connection_and_the_interval():
    with ReplayServer() as server:
        url = server.replay("/api/query", ONE_PAGE, "application/atom+xml", delay=0.2)
        ctx, fake = make_ctx(total_timeout=30)
        results = fetch_all([arxiv_source("a", url), arxiv_source("b", url)], ctx)
    assert [len(r.papers) for r in results] == [5, 5]
    first, second = server.requests
    assert second.at - first.at >= 0.2  # the second began after the first was answered
    # no wait before the first request of the run; the second waited out the 3 s
    assert len(fake.sleeps) == 1 and 2.5 < fake.sleeps[0] <= 3.0


def test_one_arxiv_source_with_one_page_never_sleeps():
    with ReplayServer() as server:
        url = server.replay("/api/query", ONE_PAGE, "application/atom+xml")
        ctx, fake = make_ctx()
        result = fetch_one(arxiv_source("a", url), ctx)
    assert result.ok and len(result.papers) == 5
    assert fake.sleeps == []


def test_a_known_host_interval_is_a_floor():
    from digest.http import Http

    with ReplayServer() as server:
        url = server.route("/q", body=b"ok")
        ctx, fake = make_ctx(min_interval={"127.0.0.1": 3.0})
        ctx.http.get(url, source="a", min_interval=0)
        ctx.http.get(url, source="b", min_interval=0)
    assert len(fake.sleeps) == 1 and 2.5 < fake.sleeps[0] <= 3.0
    assert isinstance(ctx.http, Http)


def test_http_for_creates_one_client_for_all_threads():
    ctx = FetchContext(clock=FixedClock(NOW))
    barrier = threading.Barrier(8)
    clients = []

    def grab():
        barrier.wait()
        clients.append(http_for(ctx))

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert len(clients) == 8 and all(c is ctx.http for c in clients)
        assert ctx.http.db_lock is ctx.db_lock
    finally:
        ctx.http.close()


def test_cache_reads_and_writes_wait_for_the_state_lock(tmp_path):
    conn = open_db(tmp_path / "state.sqlite")
    with ReplayServer() as server:
        url = server.route("/feed", body=FEED, headers=RSS, etag='"v1"')
        ctx, _ = make_ctx(conn=conn)
        done = threading.Event()

        def fetch():
            ctx.http.get(url, source="blog", cache=True)
            done.set()

        with ctx.db_lock:  # another source is using the connection
            worker = threading.Thread(target=fetch)
            worker.start()
            assert not done.wait(0.3)
        worker.join(5)
        assert done.is_set()


def test_cached_feeds_fetched_in_parallel_then_304(tmp_path):
    conn = open_db(tmp_path / "state.sqlite")
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(ReplayServer()) for _ in range(4)]
        sources = [
            FeedSource(
                name=f"f{i}", type="feed", url=s.route("/feed", body=FEED, headers=RSS, etag='"e"')
            )
            for i, s in enumerate(servers)
        ]
        for _ in range(2):
            ctx, _ = make_ctx(conn=conn)
            results = fetch_all(sources, ctx)
            assert [len(r.papers) for r in results] == [3, 3, 3, 3]
            ctx.http.close()
        assert all(s.requests[1].headers.get("if-none-match") == '"e"' for s in servers)


def test_known_ids_are_read_under_the_state_lock():
    calls = []
    with ReplayServer() as server:
        url = server.replay("/api/query", ONE_PAGE, "application/atom+xml")
        ctx, _ = make_ctx(total_timeout=30)

        def known(source):
            # sqlite needs one user at a time: the source's thread must hold the lock
            calls.append((source, ctx.db_lock._is_owned()))
            return set()

        ctx.known_ids = known
        results = fetch_all([arxiv_source("a", url), arxiv_source("b", url, delay=0)], ctx)
    assert all(r.ok for r in results)
    assert sorted(calls) == [("a", True), ("b", True)]
