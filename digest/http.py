"""The polite, robust HTTP client every network source uses.

- Timeouts: connect, read (per chunk) and a total budget for one `get`, retries included,
  so a server that drips bytes cannot hold a run.
- A cap on the *decompressed* body: gzip/deflate are decoded here, in bounded steps, so a
  gzip bomb stops at the cap instead of filling memory.
- Retries with exponential backoff and jitter on 429, 5xx and transport errors, honouring
  Retry-After (seconds or an HTTP date) when it fits in the budget.
- Politeness per host (scheme, name and port): one request at a time to a host, so one
  connection per host, and a minimum interval between the starts of two requests to it
  (arXiv asks for one request every 3 s). The first request to a host never waits. The
  interval of a known host (DEFAULT_MIN_INTERVAL) is a floor a source's own can only raise.
- Thread-safe: the sources of a run share one client from several threads
  (digest.sources.fetch_all); each host's turn is taken under that host's lock, so two
  arXiv sources still space their requests. Different hosts are fetched in parallel.
- Conditional GET: ETag / Last-Modified and the last body live in the state DB
  (digest.store.http_cache); a 304 returns that body. The sqlite connection is not safe to
  use from two threads at once, so every cache read and write holds `db_lock` (shared with
  whatever else uses that connection during the fetch: FetchContext.db_lock).
`sleep` and `monotonic` are injectable so tests never wait for real.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from digest import __version__
from digest.clock import Clock
from digest.errors import SourceError

USER_AGENT = f"digest/{__version__} (+https://github.com/digest-papers/digest)"
MAX_BYTES = 8 * 1024 * 1024
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# arXiv's terms of use: no more than one request every three seconds, one connection.
DEFAULT_MIN_INTERVAL = {"export.arxiv.org": 3.0, "arxiv.org": 3.0, "rss.arxiv.org": 3.0}


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    not_modified: bool = False  # a 304: `body` is the one cached last time

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def looks_like_html(self) -> bool:
        """An HTML page where data was expected (a login wall, an error page, a portal)."""
        if self.content_type in ("text/html", "application/xhtml+xml"):
            return True
        head = self.body[:512].lstrip().lower()
        return head.startswith((b"<!doctype html", b"<html"))


class _TooLarge(Exception):
    pass


class _OutOfTime(Exception):
    pass


class _Decoder:
    """Content-Encoding decoding with a hard limit on output."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._z = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj(zlib.MAX_WBITS)
            self._deflate_checked = False
        else:
            raise ValueError(f"unsupported Content-Encoding {encoding!r}")
        self.encoding = encoding

    def feed(self, data: bytes) -> bytes:
        if self._z is None:
            return self._count(data)
        if self.encoding == "deflate" and not self._deflate_checked:
            self._deflate_checked = True
            if data and (data[0] & 0x0F) != 8:  # raw deflate without the zlib header
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
        out = []
        while data:
            piece = self._z.decompress(data, self.limit - self.size + 1)
            out.append(self._count(piece))
            data = self._z.unconsumed_tail
            if self._z.eof:
                break
        return b"".join(out)

    def _count(self, piece: bytes) -> bytes:
        self.size += len(piece)
        if self.size > self.limit:
            raise _TooLarge()
        return piece


class Http:
    def __init__(
        self,
        *,
        conn: sqlite3.Connection | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        total_timeout: float = 60.0,
        max_bytes: int = MAX_BYTES,
        retries: int = 3,
        backoff: float = 1.0,
        max_retry_after: float = 120.0,
        min_interval: Mapping[str, float] | None = None,
        user_agent: str = USER_AGENT,
        db_lock: threading.RLock | None = None,
        max_connections: int = 16,
    ) -> None:
        self.conn = conn
        self.clock = clock or Clock()
        self.sleep = sleep
        self.monotonic = monotonic
        self.jitter = jitter
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.retries = retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.min_interval = dict(DEFAULT_MIN_INTERVAL if min_interval is None else min_interval)
        self.db_lock = db_lock if db_lock is not None else threading.RLock()
        self._last_request: dict[str, float] = {}  # origin -> monotonic start of the last
        self._host_locks: dict[str, threading.Lock] = {}
        self._host_locks_guard = threading.Lock()
        # One request at a time per host is enforced by the host locks; the pool only has to
        # hold one connection for each host fetched at the same time.
        self._client = httpx.Client(
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
            follow_redirects=True,
            max_redirects=5,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            trust_env=True,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Http:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ public
    def get(
        self,
        url: str,
        *,
        source: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        accept_status: tuple[int, ...] = (200,),
        timeout: float | None = None,
        max_bytes: int | None = None,
        min_interval: float | None = None,
        cache: bool = False,
    ) -> Response:
        """GET `url` (with `params` merged into its query). Returns a Response whose status
        is in `accept_status` (a 304 on a cached URL comes back as 200 with the cached body);
        anything else raises SourceError naming `source` with a one-line reason."""
        try:
            full = httpx.URL(url)
            if params:
                full = full.copy_merge_params({k: v for k, v in params.items() if v is not None})
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise SourceError(source, f"invalid URL {url!r}: {exc}") from None
        if full.scheme not in ("http", "https"):
            raise SourceError(source, f"unsupported URL scheme in {url!r}; use http or https")
        key = str(full)
        budget = timeout if timeout is not None else self.total_timeout
        deadline = self.monotonic() + budget
        limit = max_bytes or self.max_bytes
        request_headers = dict(headers or {})
        cached = None
        if cache and self.conn is not None:
            from digest.store import http_cache

            with self.db_lock:
                cached = http_cache.get(self.conn, key)
            if cached is not None:
                if cached.etag:
                    request_headers["If-None-Match"] = cached.etag
                if cached.last_modified:
                    request_headers["If-Modified-Since"] = cached.last_modified

        attempt = 0
        while True:
            try:
                response = self._polite_attempt(
                    full, request_headers, deadline, limit, min_interval, source, key
                )
            except _TooLarge:
                raise SourceError(
                    source,
                    f"response from {full.host} is larger than {_mb(limit)}; stopped reading",
                    hint="check the url points at a feed, not a dump",
                ) from None
            except (_OutOfTime, httpx.TimeoutException) as exc:
                failure = f"timed out fetching {key}"
                if isinstance(exc, _OutOfTime) or self.monotonic() >= deadline:
                    raise SourceError(
                        source,
                        f"timed out after {budget:g} s fetching {key}",
                        hint="the server is slow or unreachable; try again later",
                    ) from None
                retry_after = None
            except httpx.TransportError as exc:
                failure = f"cannot fetch {key}: {_one_line(exc) or type(exc).__name__}"
                retry_after = None
            except ValueError as exc:  # unsupported Content-Encoding, bad redirect...
                raise SourceError(source, f"cannot read {key}: {_one_line(exc)}") from None
            else:
                if response.status == 304 and cached is not None:
                    return Response(key, 200, response.headers, cached.body, not_modified=True)
                if response.status in accept_status:
                    if cache and self.conn is not None and response.status == 200:
                        self._store(key, response)
                    return response
                failure = f"HTTP {response.status} from {full.host} for {key}"
                if response.status not in RETRY_STATUSES:
                    raise SourceError(source, failure, hint=_status_hint(response.status))
                retry_after = _retry_after(response.headers.get("retry-after"), self.clock)
            attempt += 1
            if attempt > self.retries:
                raise SourceError(
                    source,
                    f"{failure} (gave up after {attempt} attempts)",
                    hint="the server is failing or rate-limiting; try again later",
                )
            wait = self._backoff(attempt) if retry_after is None else retry_after
            if retry_after is not None and retry_after > self.max_retry_after:
                raise SourceError(
                    source,
                    f"{failure}; the server asks to wait {retry_after:g} s",
                    hint="rate-limited: run again later",
                )
            if self.monotonic() + wait >= deadline:
                raise SourceError(
                    source,
                    f"{failure}; no time left to retry within {budget:g} s",
                    hint="the server is failing or rate-limiting; try again later",
                )
            self.sleep(wait)

    # ------------------------------------------------------------------ internals
    def _host_lock(self, origin: str) -> threading.Lock:
        with self._host_locks_guard:
            return self._host_locks.setdefault(origin, threading.Lock())

    def _polite_attempt(
        self,
        url: httpx.URL,
        headers: dict[str, str],
        deadline: float,
        limit: int,
        interval: float | None,
        source: str,
        key: str,
    ) -> Response:
        """One attempt in this host's turn: the host lock is held from the interval wait to
        the end of the body, and released for the backoff between attempts."""
        origin = f"{url.scheme}://{url.host}:{url.port or ''}"
        lock = self._host_lock(origin)
        if not lock.acquire(timeout=max(0.0, deadline - self.monotonic())):
            raise SourceError(
                source,
                f"timed out waiting for a turn to fetch {key}",
                hint="other sources keep that server busy; raise the source's timeout",
            )
        try:
            self._wait_turn(origin, url.host, interval, deadline, source, key)
            return self._attempt(url, headers, deadline, limit)
        finally:
            lock.release()

    def _wait_turn(
        self,
        origin: str,
        host: str,
        interval: float | None,
        deadline: float,
        source: str,
        key: str,
    ) -> None:
        """Called with the host lock held."""
        floor = self.min_interval.get(host, 0.0)
        interval = floor if interval is None else max(interval, floor)
        last = self._last_request.get(origin)
        if last is not None and interval > 0:
            wait = last + interval - self.monotonic()
            if wait > 0:
                if self.monotonic() + wait >= deadline:
                    raise SourceError(source, f"timed out waiting for a turn to fetch {key}")
                self.sleep(wait)
        self._last_request[origin] = self.monotonic()

    def _attempt(
        self, url: httpx.URL, headers: dict[str, str], deadline: float, limit: int
    ) -> Response:
        remaining = deadline - self.monotonic()
        if remaining <= 0:
            raise _OutOfTime()
        timeout = httpx.Timeout(
            connect=min(self.connect_timeout, remaining),
            read=min(self.read_timeout, remaining),
            write=min(self.read_timeout, remaining),
            pool=min(self.connect_timeout, remaining),
        )
        with self._client.stream("GET", url, headers=headers, timeout=timeout) as response:
            decoder = _Decoder(response.headers.get("content-encoding", ""), limit)
            length = response.headers.get("content-length", "")
            identity = not response.headers.get("content-encoding")
            if identity and length.isdigit() and int(length) > limit:
                raise _TooLarge()
            chunks = []
            for raw in response.iter_raw():
                chunks.append(decoder.feed(raw))
                if self.monotonic() > deadline:
                    raise _OutOfTime()
            return Response(
                str(response.url),
                response.status_code,
                {k.lower(): v for k, v in response.headers.items()},
                b"".join(chunks),
            )

    def _backoff(self, attempt: int) -> float:
        return min(30.0, self.backoff * 2 ** (attempt - 1)) * (0.5 + self.jitter())

    def _store(self, key: str, response: Response) -> None:
        etag = response.headers.get("etag")
        modified = response.headers.get("last-modified")
        if not (etag or modified):
            return
        from digest.store import http_cache

        with self.db_lock:
            http_cache.put(
                self.conn,  # type: ignore[arg-type]
                key,
                etag=etag,
                last_modified=modified,
                content_type=response.headers.get("content-type"),
                body=response.body,
                at=self.clock.now(),
            )


def _retry_after(value: str | None, clock: Clock) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - clock.now()).total_seconds())


def _status_hint(status: int) -> str:
    if status in (401, 403):
        return "the server refused access; check the url"
    if status == 404:
        return "the url does not exist; check it"
    return "check the url and the source settings"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:g} MB"


_CREATING = threading.Lock()


def http_for(ctx: Any) -> Http:
    """The context's client, created on first use (the FetchContext owns it and closes it).
    Sources running in parallel threads get the same client: creation is locked."""
    if getattr(ctx, "http", None) is None:
        with _CREATING:
            if getattr(ctx, "http", None) is None:
                ctx.http = Http(
                    conn=getattr(ctx, "conn", None),
                    clock=getattr(ctx, "clock", None),
                    db_lock=getattr(ctx, "db_lock", None),
                )
    return ctx.http
