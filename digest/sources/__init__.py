"""Paper sources: one module per `type`, one small registry keyed by it.

A source module exposes `fetch(config, ctx) -> list[Paper]` and raises SourceError (with a
one-line reason) when it cannot deliver; `fetch_all` keeps a failure local to its source.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from digest.clock import Clock
from digest.errors import SourceError
from digest.models import Paper

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
        papers = module.fetch(source, ctx)
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


def fetch_all(sources: Sequence[Any], ctx: FetchContext) -> list[SourceResult]:
    return [fetch_one(s, ctx) for s in sources if s.enabled]
