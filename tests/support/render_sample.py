"""Deterministic inputs for the rendering tests: a config, an issue, papers and digests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from digest.config import parse
from digest.models import Digest, Issue, Links, Match, Paper, Reason, Subscriber, TopicSection
from digest.sources.sample import trending

AT = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
XSS_TITLE = '<script>alert(1)</script> & "quotes"'
TOPICS = ["Efficient LLMs", "Vision", "Trending"]


def config(tmp_path: Path, base_url: str | None = "https://digest.example.org", **extra):
    raw = {
        "title": "Trending Papers",
        "base_url": base_url,
        "output": {"dir": str(tmp_path / "out")},
        "topics": [{"name": t} for t in TOPICS],
        "feeds": {"max_entries": 100},
        **extra,
    }
    if base_url is None:
        raw.pop("base_url")
    return parse(raw, root=tmp_path)


def issue(at: datetime = AT, issue_id: str | None = None) -> Issue:
    return Issue(
        id=issue_id or at.date().isoformat(),
        date=at.date(),
        generated_at=at,
        title="Trending Papers",
    )


def rich_papers() -> list[Paper]:
    """Papers with every field a real source fills, plus the hostile and huge ones."""
    return [
        Paper(
            id="arxiv:2406.06282",
            title="PowerInfer-2: Fast Large Language Model Inference on a Smartphone",
            abstract=(
                "This paper introduces PowerInfer-2, a framework for high-speed inference of "
                "LLMs on smartphones. It achieves up to a 29.2\\times speed increase. We need "
                '\\( O(n^3) \\) time for a na\\"ive solver, as Schr\\"odinger said.'
            ),
            authors=(
                "Zhenliang Xue",
                "Yixin Song",
                "Zeyu Mi",
                "Le Chen",
                "Yubin Xia",
                "Haibo Chen",
                "Xiaoyan Zhang",
                "Peng Wang",
                "Mo Li",
                "Ann Lee",
            ),
            url="https://arxiv.org/abs/2406.06282",
            pdf_url="https://arxiv.org/pdf/2406.06282",
            code_url="https://github.com/SJTU-IPADS/PowerInfer",
            categories=("cs.LG", "cs.CL"),
            upvotes=42,
            comments=3,
            sources=("hf-daily", "arxiv-cs"),
            source_types=("huggingface", "arxiv"),
            published=datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
        ),
        Paper(
            id="doi:10.1234/xss.5678",
            title=XSS_TITLE,
            abstract='An abstract with <b>markup</b> & "quotes" and a link javascript:alert(2).',
            authors=("Mallory <m@evil.example>",),
            url="javascript:alert(3)",
            sources=("feed",),
        ),
        Paper(
            id="url:https://example.org/long",
            # 300 characters, with a 135-character unbroken word that must wrap.
            title=(
                "A "
                + "very-long-title-" * 8
                + " "
                + "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3
                + " "
                + "word " * 60
            )[:300],
            abstract=(
                "Sentence number one is here. " * 200 + "Supercalifragilistic" * 40 + " done."
            )[:10000],
            authors=tuple(f"Author{i} Surname{i}" for i in range(500)),
            url="https://example.org/" + "x" * 200,
            sources=("sample",),
        ),
    ]


def seed_papers(n: int = 6) -> list[Paper]:
    return trending("sample")[:n]


def matches(topic: str, papers: list[Paper]) -> list[Match]:
    out = []
    for i, p in enumerate(papers):
        reasons = (
            (Reason("keyword", "llm", "title"), Reason("author", "Yixin Song"))
            if i == 0
            else (Reason("trending", "popular today"),)
        )
        out.append(Match(paper=p, topic=topic, score=10.0 - i, reasons=reasons))
    return out


def topic_matches() -> dict[str, list[Match]]:
    rich = rich_papers()
    seed = seed_papers(8)
    return {
        "Efficient LLMs": matches("Efficient LLMs", [rich[0], *seed[:3]]),
        "Vision": matches("Vision", [rich[1], rich[2], seed[3]]),
        "Trending": matches("Trending", seed[4:8]),
    }


def subscriber(**kw) -> Subscriber:
    base = {
        "email": "reader@example.org",
        "name": "Example Reader",
        "topics": tuple(TOPICS),
        "max_papers": 15,
    }
    return Subscriber(**{**base, **kw})


def digest(omitted: int = 2, tm: dict[str, list[Match]] | None = None, **kw) -> Digest:
    tm = topic_matches() if tm is None else tm
    return Digest(
        issue=issue(),
        subscriber=subscriber(**kw),
        sections=tuple(TopicSection(t, tuple(ms)) for t, ms in tm.items()),
        omitted=omitted,
    )


def links(base: str = "https://digest.example.org") -> Links:
    return Links(
        web_version=f"{base}/archive/2026-12-01.html",
        manage=f"{base}/manage/abc",
        unsubscribe=f"{base}/unsubscribe/abc",
        archive=f"{base}/archive/index.html",
        feeds=(("All topics", f"{base}/feeds/all.atom.xml"),),
    )


__all__ = ["AT", "XSS_TITLE", "config", "date", "digest", "issue", "links", "topic_matches"]
