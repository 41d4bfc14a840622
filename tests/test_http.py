from __future__ import annotations

import gzip
import socket
import time
import tracemalloc
import zlib

import pytest

from digest import __version__
from digest.errors import SourceError
from digest.store import http_cache
from digest.store.db import open_db
from tests.support.replay_server import ReplayServer, Reply
from tests.support.sources_ctx import make_ctx


@pytest.fixture
def server():
    with ReplayServer() as s:
        yield s


def http_with(**options):
    ctx, fake = make_ctx(**options)
    return ctx.http, fake


def test_user_agent_and_success(server):
    url = server.route("/ok", body=b"hello", headers={"Content-Type": "text/plain"})
    http, _ = http_with()
    response = http.get(url, source="s", params={"a": 1, "b": None})
    assert response.status == 200 and response.body == b"hello"
    [request] = server.requests
    assert request.headers["user-agent"] == (
        f"digest/{__version__} (+https://github.com/digest-papers/digest)"
    )
    assert request.query == {"a": ["1"]}


def test_429_honours_retry_after_without_real_sleep(server):
    url = server.route(
        "/rl",
        [
            Reply(status=429, headers={"Retry-After": "7"}),
            Reply(body=b"[]", headers={"Content-Type": "application/json"}),
        ],
    )
    http, fake = http_with(total_timeout=30)
    started = time.perf_counter()
    assert http.get(url, source="hf").body == b"[]"
    assert fake.sleeps == [7.0]
    assert server.count("/rl") == 2
    assert time.perf_counter() - started < 2


def test_retry_after_longer_than_allowed_fails_at_once(server):
    url = server.route("/rl", status=429, headers={"Retry-After": "3600"})
    http, fake = http_with()
    with pytest.raises(SourceError, match="429.*asks to wait 3600") as info:
        http.get(url, source="hf")
    assert info.value.source == "hf"
    assert server.count() == 1 and fake.sleeps == []


def test_5xx_backs_off_exponentially_then_succeeds(server):
    url = server.route(
        "/flaky", [Reply(status=503), Reply(status=502), Reply(status=500), Reply(body=b"fine")]
    )
    http, fake = http_with(total_timeout=60)
    assert http.get(url, source="s").body == b"fine"
    assert fake.sleeps == [1.0, 2.0, 4.0]  # jitter fixed at the midpoint


def test_5xx_forever_gives_up_with_a_clear_reason(server):
    url = server.route("/down", status=503)
    http, _ = http_with(total_timeout=60)
    with pytest.raises(SourceError, match=r"HTTP 503 .*gave up after 4 attempts"):
        http.get(url, source="s")
    assert server.count() == 4


def test_404_is_not_retried(server):
    http, _ = http_with()
    with pytest.raises(SourceError, match="HTTP 404"):
        http.get(server.url("/missing"), source="s")
    assert server.count() == 1


def test_stalled_server_times_out_quickly(server):
    url = server.route("/stall", body=b"late", delay=3.0)
    http, _ = http_with(read_timeout=0.3, total_timeout=0.6, retries=0)
    started = time.perf_counter()
    with pytest.raises(SourceError, match="timed out"):
        http.get(url, source="slow")
    assert time.perf_counter() - started < 1.5


def test_dripping_server_hits_the_total_budget(server):
    url = server.route("/drip", body=b"x" * 200, chunk_size=10, chunk_delay=0.1)
    http, _ = http_with(read_timeout=2.0, total_timeout=0.5)
    started = time.perf_counter()
    with pytest.raises(SourceError, match="timed out after 0.5 s"):
        http.get(url, source="slow")
    assert time.perf_counter() - started < 1.5


def test_connection_refused_is_a_clear_failure():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    http, fake = http_with(retries=1)
    with pytest.raises(SourceError, match="cannot fetch"):
        http.get(f"http://127.0.0.1:{port}/", source="s")
    assert len(fake.sleeps) == 1


@pytest.mark.parametrize("with_length", [True, False])
def test_10_mb_body_is_cut_at_the_cap(server, with_length):
    body = b"<rss>" + b"x" * (10 * 1024 * 1024)
    url = server.route(
        "/big", body=body, chunk_delay=0 if with_length else 0.0001, chunk_size=1024 * 1024
    )
    http, _ = http_with(total_timeout=10)
    with pytest.raises(SourceError, match="larger than 8 MB"):
        http.get(url, source="big")


def test_gzip_bomb_stops_at_the_cap_with_bounded_memory(server):
    bomb = gzip.compress(b"\0" * (40 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100_000
    url = server.route("/bomb", body=bomb, headers={"Content-Encoding": "gzip"})
    http, _ = http_with(max_bytes=2 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(SourceError, match="larger than 2 MB"):
            http.get(url, source="bomb")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024


@pytest.mark.parametrize(
    "encoding, compress",
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send
    ],
)
def test_compressed_bodies_are_decoded(server, encoding, compress):
    payload = "café ".encode() * 1000
    url = server.route("/z", body=compress(payload), headers={"Content-Encoding": encoding})
    http, _ = http_with()
    assert http.get(url, source="s").body == payload


def test_per_host_minimum_interval(server):
    url = server.route("/api", body=b"ok")
    http, fake = http_with()
    http.get(url, source="arxiv", min_interval=3.0)
    http.get(url, source="arxiv", min_interval=3.0)
    assert len(fake.sleeps) == 1 and 2.5 < fake.sleeps[0] <= 3.0
    first, second = server.requests
    assert second.at - first.at < 1.0  # the wait was injected, not real


def test_etag_304_returns_the_cached_body(server, tmp_path):
    conn = open_db(tmp_path / "state.sqlite")
    url = server.route(
        "/feed",
        body=b"<rss/>",
        etag='"v1"',
        headers={"Last-Modified": "Mon, 27 Apr 2026 04:00:01 GMT"},
    )
    ctx, _ = make_ctx(conn=conn)
    first = ctx.http.get(url, source="f", cache=True)
    assert not first.not_modified and first.body == b"<rss/>"
    assert http_cache.get(conn, url).etag == '"v1"'
    second = ctx.http.get(url, source="f", cache=True)
    assert second.not_modified and second.body == b"<rss/>" and second.status == 200
    assert server.requests[1].headers["if-none-match"] == '"v1"'
    assert server.requests[1].headers["if-modified-since"] == "Mon, 27 Apr 2026 04:00:01 GMT"
    assert "if-none-match" not in server.requests[0].headers


def test_no_cache_without_a_state_connection(server):
    url = server.route("/feed", body=b"<rss/>", etag='"v1"')
    http, _ = http_with()
    http.get(url, source="f", cache=True)
    http.get(url, source="f", cache=True)
    assert all("if-none-match" not in r.headers for r in server.requests)


def test_bad_scheme_and_url():
    http, _ = http_with()
    with pytest.raises(SourceError, match="unsupported URL scheme"):
        http.get("file:///etc/passwd", source="s")
