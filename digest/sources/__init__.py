"""Paper sources: one module per `type`, one small registry keyed by it.

A source module exposes `fetch(config, ctx) -> list[Paper]` and raises SourceError (with a
one-line reason) when it cannot deliver; `fetch_all` keeps a failure local to its source.

`fetch_all` fetches sources in parallel (a few threads): a slow or failing server no longer
holds up the others. What the threads share is made safe for it: one HTTP client whose
per-host turns keep arXiv's one-request-every-3-s across all arXiv sources of the run
(digest.http), and the state connection, used only under `ctx.db_lock` (the HTTP cache
and `seen_ids`). Results come back in config order.

The `url:` of a source: for `huggingface` and `arxiv` it replaces the endpoint only, and
the query parameters are still added (huggingface: date, limit, p, sort; arxiv:
search_query, start, max_results, sortBy, sortOrder); for `arxiv-feed` and `feed` the URL is
used as it is.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from digest.clock import Clock
from digest.errors import SourceError
from digest.models import Paper
from digest.normalize import tidy_links

DEFAULT_WORKERS = 4

# type -> module under digest.sources (imported lazily: start-up stays fast)
REGISTRY = {
    "sample": "digest.sources.sample",
    "huggingface": "digest.sources.huggingface",
    "arxiv": "digest.sources.arxiv",
    "arxiv-feed": "digest.sources.arxiv_feed",
    "feed": "digest.sources.feed",
    "file": "digest.sources.file",
}


@dataclass
class FetchContext:
    """What a source may use: the clock, the state connection (HTTP cache, seen ids) and
    the HTTP client factory. Sources never read the time or open connections themselves."""

    clock: Clock
    conn: Any = None  # sqlite3.Connection of the state, or None (e.g. `sources --check`)
    # The ids a source brought in earlier runs (by source name): arXiv stops paging there.
    known_ids: Callable[[str], set[str]] = field(default=lambda _source: set())
    http: Any = None  # a digest.http.Http, created on first use
    root: Any = None  # folder relative paths are resolved against
    # Held for every use of `conn` while sources run in parallel threads.
    db_lock: threading.RLock = field(default_factory=threading.RLock)

    def seen_ids(self, source: str) -> set[str]:
        """`known_ids(source)`, safe to call from a source's thread."""
        with self.db_lock:
            return set(self.known_ids(source))


@dataclass(frozen=True)
class SourceResult:
    name: str
    type: str
    papers: tuple[Paper, ...] = ()
    error: str | None = None
    seconds: float = 0.0
    not_modified: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


def fetch_one(source: Any, ctx: FetchContext) -> SourceResult:
    started = time.perf_counter()
    try:
        module = importlib.import_module(REGISTRY[source.type])
        papers = [tidy_links(p) for p in module.fetch(source, ctx)]
        if source.max_papers:
            papers = papers[: source.max_papers]
        return SourceResult(
            source.name, source.type, tuple(papers), seconds=time.perf_counter() - started
        )
    except SourceError as exc:
        return SourceResult(
            source.name, source.type, error=exc.reason, seconds=time.perf_counter() - started
        )
    except Exception as exc:  # a bug or an unforeseen input: fail the source, not the run
        return SourceResult(
            source.name,
            source.type,
            error=f"unexpected {type(exc).__name__}: {exc}",
            seconds=time.perf_counter() - started,
        )


def fetch_all(
    sources: Sequence[Any], ctx: FetchContext, *, workers: int = DEFAULT_WORKERS
) -> list[SourceResult]:
    """Every enabled source, fetched by up to `workers` threads; results in config order,
    a failure kept to its source."""
    enabled = [s for s in sources if s.enabled]
    if workers <= 1 or len(enabled) <= 1:
        return [fetch_one(s, ctx) for s in enabled]
    with ThreadPoolExecutor(
        max_workers=min(workers, len(enabled)), thread_name_prefix="digest-source"
    ) as pool:
        return list(pool.map(lambda s: fetch_one(s, ctx), enabled))
