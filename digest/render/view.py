"""What the templates see: papers and matches turned into display-ready values.

Every value here is plain text (TeX converted, whitespace collapsed, cut to length); the
templates escape it. URLs are kept only when they are http(s), so a hostile feed cannot put
`javascript:` into a link.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from digest.models import Digest, Issue, Match, Paper
from digest.tex import tex_to_text

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SNIPPET_CHARS = 320
TITLE_CHARS = 300
AUTHORS_SHOWN = 3
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_ABBREV = re.compile(r"(?:\b(?:al|e\.g|i\.e|vs|cf|etc|Fig|Eq|Sec|resp|approx)|\b[A-Z])\.$")


@dataclass(frozen=True, slots=True)
class PaperView:
    id: str
    anchor: str
    title: str
    url: str | None
    authors: str  # shortened: "A. One, B. Two, C. Three, +7"
    author_count: int
    snippet: str
    abstract: str  # the whole abstract, converted (archive pages show it folded)
    links: tuple[tuple[str, str], ...]  # (label, url): Abstract, PDF, Code, Project
    sources: tuple[str, ...]
    signals: tuple[str, ...]  # "42 upvotes", "3 comments", "cs.LG"
    published: str  # "Dec 1, 2026" or ""


@dataclass(frozen=True, slots=True)
class MatchView:
    paper: PaperView
    topic: str
    why: str
    score: float


def one_line(value: str) -> str:
    """Control characters and line breaks become spaces (subjects, headings)."""
    return " ".join(_CONTROL.sub(" ", value).split())


def safe_url(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    if not re.match(r"(?i)https?://[^\s/]", value) or any(c.isspace() for c in value):
        return None
    return value


def shorten_authors(authors: tuple[str, ...], keep: int = AUTHORS_SHOWN) -> str:
    names = [one_line(a) for a in authors if a and a.strip()]
    if len(names) <= keep + 1:  # "+1" saves no room over the name itself
        return ", ".join(names)
    return ", ".join(names[:keep]) + f", +{len(names) - keep}"


def cut(text: str, limit: int) -> str:
    """Cut at a sentence end when one falls in the second half of the budget, else at a word
    boundary (with an ellipsis), else hard (one unbroken 'word' longer than the budget)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    for m in reversed(list(re.finditer(r"[.!?](?=\s)", head))):
        end = m.end()
        if end < limit * 0.5:
            break
        if not _ABBREV.search(head[:end]):
            return head[:end]
    space = head.rfind(" ")
    if space >= limit * 0.5:
        return head[:space].rstrip(",;:–—-") + "…"
    return text[: limit - 1] + "…"


def anchor(paper_id: str) -> str:
    return "p-" + hashlib.sha1(paper_id.encode()).hexdigest()[:10]  # noqa: S324 - not security


def slugify(name: str) -> str:
    """A file-name-safe, stable slug for a topic. Topics whose name has no ASCII letters or
    digits (or that would clash with the "all" feed) get a hash of the name."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-")
    if not slug or slug in ("all", "index"):
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]  # noqa: S324 - not security
        slug = f"{slug}-{digest}" if slug else f"topic-{digest}"
    return slug


def topic_slugs(names: list[str]) -> dict[str, str]:
    """Slugs for the configured topics, in config order; a clash gets the name's hash."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        slug = slugify(name)
        if slug in used:
            slug = f"{slug}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"  # noqa: S324
        used.add(slug)
        out[name] = slug
    return out


def short_date(day: date) -> str:
    return f"{MONTHS[day.month - 1][:3]} {day.day}"


def long_date(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()]}, {MONTHS[day.month - 1]} {day.day}, {day.year}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_line(papers: int, topics: int) -> str:
    if papers == 0:
        return "No new papers in this issue"
    return f"{plural(papers, 'new paper')} in {plural(topics, 'topic')}"


def subject_line(title: str, digest: Digest) -> str:
    title = one_line(title)
    if len(title) > 50:
        title = title[:49].rstrip() + "…"
    n = len(digest.matches)
    count = plural(n, "new paper") if n else "no new papers"
    return f"{title} — {count}, {short_date(digest.issue.date)}"


def paper_links(paper: Paper) -> tuple[tuple[str, str], ...]:
    links: list[tuple[str, str]] = []
    for label, url in (
        ("Abstract", paper.url),
        ("PDF", paper.pdf_url),
        ("Code", paper.code_url),
        ("Project", paper.project_url),
    ):
        safe = safe_url(url)
        if safe and all(safe != u for _, u in links):
            links.append((label, safe))
    if paper.doi and not any("doi.org/" in u for _, u in links):
        links.append(("DOI", "https://doi.org/" + quote(paper.doi, safe="/:;()._-")))
    return tuple(links)


def paper_view(paper: Paper) -> PaperView:
    title = cut(one_line(tex_to_text(paper.title)), TITLE_CHARS) or "(untitled)"
    abstract = " ".join(tex_to_text(paper.abstract).split())
    signals = []
    if paper.upvotes:
        signals.append(plural(paper.upvotes, "upvote"))
    if paper.comments:
        signals.append(plural(paper.comments, "comment"))
    signals += [one_line(c) for c in paper.categories[:4]]
    published = ""
    if paper.published is not None:
        published = f"{short_date(paper.published.date())}, {paper.published.year}"
    return PaperView(
        id=paper.id,
        anchor=anchor(paper.id),
        title=title,
        url=safe_url(paper.url) or safe_url(paper.project_url),
        authors=shorten_authors(paper.authors),
        author_count=len(paper.authors),
        snippet=cut(abstract, SNIPPET_CHARS),
        abstract=abstract,
        links=paper_links(paper),
        sources=tuple(dict.fromkeys(one_line(s) for s in paper.sources if s)),
        signals=tuple(signals),
        published=published,
    )


def match_view(match: Match, paper: PaperView | None = None) -> MatchView:
    return MatchView(
        paper=paper or paper_view(match.paper),
        topic=one_line(match.topic),
        why=one_line(tex_to_text(match.why())),
        score=match.score,
    )


def entry_id(paper_id: str) -> tuple[str, bool]:
    """A feed entry id from the canonical paper id: (id, is_url). The same paper gets the same
    id on every run and in every feed."""
    kind, _, rest = paper_id.partition(":")
    if kind == "arxiv" and rest:
        return "https://arxiv.org/abs/" + quote(rest, safe="/._-"), True
    if kind == "doi" and rest:
        return "https://doi.org/" + quote(rest, safe="/:;()._-"), True
    if kind == "url" and safe_url(rest):
        return rest, True
    return "urn:digest:" + quote(paper_id, safe=":._-"), False


def issue_label(issue: Issue) -> str:
    return long_date(issue.date)
