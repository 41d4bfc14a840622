"""The data that flows through the pipeline: frozen dataclasses with typed fields.

fetch -> Paper; select -> Match (grouped into a Digest for one Subscriber of one Issue);
render -> RenderedDigest; deliver -> Delivery. Every datetime is timezone-aware.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

Cadence = Literal["daily", "weekly"]


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper, normalised. `id` is canonical: `arxiv:2401.01234` (no version), else
    `doi:10.x/y`, else `url:<guid or link>`, else `title:<hash of the normalised title>`."""

    id: str
    title: str
    abstract: str = ""
    authors: tuple[str, ...] = ()
    url: str | None = None  # the abstract / landing page
    pdf_url: str | None = None
    code_url: str | None = None
    project_url: str | None = None
    doi: str | None = None
    categories: tuple[str, ...] = ()  # arXiv categories, feed categories
    keywords: tuple[str, ...] = ()  # e.g. Hugging Face AI keywords
    published: datetime | None = None  # first public appearance (aware)
    updated: datetime | None = None
    upvotes: int | None = None  # Hugging Face signal
    comments: int | None = None
    sources: tuple[str, ...] = ()  # names of the configured sources that brought it
    source_types: tuple[str, ...] = ()  # their types: sample, huggingface, arxiv, ...

    def __post_init__(self) -> None:
        for value in (self.published, self.updated):
            if value is not None and value.tzinfo is None:
                raise ValueError(f"paper {self.id}: naive datetime {value!r}")


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a paper is in a digest. kind: keyword | phrase | author | category | source |
    similar | trending | all. `field` is where it matched (title, abstract, ...)."""

    kind: str
    text: str
    field: str | None = None

    def describe(self) -> str:
        if self.kind in ("keyword", "phrase"):
            where = f" in {self.field}" if self.field else ""
            return f"“{self.text}”{where}"
        if self.kind == "author":
            return f"by {self.text}"
        if self.kind == "similar":
            return f"similar to {self.text}"
        return self.text


@dataclass(frozen=True, slots=True)
class Match:
    """A paper selected for a topic, with its score and every reason."""

    paper: Paper
    topic: str
    score: float
    reasons: tuple[Reason, ...] = ()

    def why(self) -> str:
        return ", ".join(r.describe() for r in self.reasons) or "matched the topic"


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A reader: from config.yaml (origin="config") or from the web (origin="web")."""

    email: str
    name: str = ""
    topics: tuple[str, ...] = ()
    cadence: Cadence = "daily"
    weekday: int = 0  # for weekly: 0 = Monday ... 6 = Sunday
    max_papers: int = 20
    timezone: str | None = None  # falls back to the config timezone
    send_empty: bool = False
    authors: tuple[str, ...] = ()
    origin: Literal["config", "web"] = "config"

    @property
    def key(self) -> str:
        """The ledger key: the normalised (lower-cased) address."""
        return self.email.lower()


@dataclass(frozen=True, slots=True)
class Issue:
    """The dated edition: every digest made in one run belongs to one issue."""

    id: str  # e.g. "2026-12-01" (a second run the same day gets "2026-12-01.2")
    date: date
    generated_at: datetime
    title: str


@dataclass(frozen=True, slots=True)
class TopicSection:
    topic: str
    matches: tuple[Match, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    """One issue for one subscriber: papers grouped by topic, each paper once."""

    issue: Issue
    subscriber: Subscriber
    sections: tuple[TopicSection, ...]
    omitted: int = 0  # matches cut by max_papers (not sent, not marked seen)
    left_out: tuple[Match, ...] = ()  # those matches (the web version lists them)

    @property
    def matches(self) -> tuple[Match, ...]:
        return tuple(m for s in self.sections for m in s.matches)

    @property
    def paper_ids(self) -> tuple[str, ...]:
        return tuple(m.paper.id for m in self.matches)

    @property
    def is_empty(self) -> bool:
        return not any(s.matches for s in self.sections)


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    """What a subscriber receives, ready to deliver."""

    digest: Digest
    subject: str
    html: str
    text: str
    message_id: str
    eml: bytes = b""  # the serialised MIME message


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of delivering one digest."""

    subscriber: str
    issue_id: str
    state: Literal["planned", "sending", "sent", "temp-failed", "perm-failed", "written"]
    detail: str = ""
    files: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Links:
    """Per-subscriber links shown in a digest and its headers. None where not configured."""

    web_version: str | None = None  # the archive page of this issue
    manage: str | None = None  # the subscriber's manage page (digest serve)
    unsubscribe: str | None = None  # https one-click unsubscribe URL (RFC 8058)
    unsubscribe_mailto: str | None = None  # mailto: for List-Unsubscribe
    archive: str | None = None  # the archive index
    feeds: tuple[tuple[str, str], ...] = ()  # (label, url)
