"""The personalised fan-out, shared by the fan-out and memory benchmarks and by
tests/test_bench_equivalence.py.

A shared pool of 40 real papers (the bundled sample) matched to three topics; each
subscriber gets a different name, address, one-click token and selection (15 of the 40),
then the fast path (compiled template + cached cards + digest.message.build_message) or the
naive one (Jinja -> MJML -> mjml2html + EmailMessage) turns it into the bytes SMTP sends.
The per-subscriber work is what the pipeline does in digest.pipeline.render_and_plan.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from digest.config import parse
from digest.models import Digest, Issue, Links, Match, Paper, Reason, Subscriber

AT = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
TOPICS = ("Efficient LLMs", "Vision", "Trending")
POOL = 40
PER_DIGEST = 15
BASE = "https://digest.example.org"
SECRET = "benchmark-secret-not-for-production"
SENDER = "Paper Digest <digest@digest.example.org>"
FIRST = (
    "Ada",
    "Zoë",
    "José",
    "Li",
    "Ngozi",
    "Øystein",
    "Priya",
    "Chloé",
    "Mateusz",
    "Yuki",
    "Amélie",
    "Oluwaseun",
    "Sven",
    "Dmitrii",
    "Ana María",
    "Renée",
)
LAST = (
    "Lovelace",
    "Müller",
    "García",
    "Wang",
    "Okafor",
    "Ødegård",
    "Patel",
    "Dubois",
    "Wiśniewski",
    "Tanaka",
    "Núñez",
    "Adeyemi",
    "Johansson",
    "O'Brien",
    "Smith",
    "Lee",
)


def config(root: Path):
    return parse(
        {
            "title": "Trending Papers",
            "base_url": BASE,
            "output": {"dir": str(root / "out"), "archive": False},
            "topics": [{"name": t} for t in TOPICS],
            "delivery": {"from": SENDER},
        },
        root=root,
    )


def pool() -> list[Paper]:
    """40 papers with the fields real sources fill: the recorded Hugging Face list (authors,
    upvotes, dates) first, then the seed papers (title and abstract only)."""
    from digest.sources.huggingface import parse_daily_papers
    from digest.sources.sample import _read, trending

    hf = parse_daily_papers(_read("hf_daily_papers_sample.json"), "hf", "huggingface")
    return (list(hf) + trending("sample"))[:POOL]


def topic_matches(papers: list[Paper]) -> dict[str, list[Match]]:
    """Every pool paper under one topic, scored so the order is stable."""
    out: dict[str, list[Match]] = {t: [] for t in TOPICS}
    for i, p in enumerate(papers):
        topic = TOPICS[i % len(TOPICS)]
        why = (
            (Reason("keyword", "inference", "abstract"),)
            if topic != "Trending"
            else (Reason("trending", f"trending: {p.upvotes or 0} upvotes"),)
        )
        out[topic].append(Match(p, topic, round(1.0 - i / 100.0, 6), why))
    return out


@dataclass(frozen=True, slots=True)
class Job:
    """One subscriber's input to the render step."""

    digest: Digest
    secret: str


def jobs(n: int, seed: int = 7, *, start: int = 0) -> Iterator[Job]:
    """`n` personalised digests, generated lazily (a fan-out must not hold them all)."""
    from digest.select import build_digest

    papers = pool()
    tm = topic_matches(papers)
    ids = [p.id for p in papers]
    issue = Issue(id="2026-12-01", date=AT.date(), generated_at=AT, title="Trending Papers")
    rng = random.Random(seed)
    for i in range(start, start + n):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        sub = Subscriber(
            email=f"reader{i}@example.org", name=name, topics=TOPICS, max_papers=PER_DIGEST
        )
        exclude = rng.sample(ids, POOL - PER_DIGEST)
        yield Job(build_digest(issue, sub, tm, exclude, list(TOPICS)), SECRET)


class FanOut:
    """What a run builds once (config, Renderer) and the per-subscriber steps."""

    def __init__(self, root: Path) -> None:
        from digest.render import Renderer

        self.config = config(root)
        self.renderer = Renderer(self.config)
        self.list_id = "Trending Papers <trending-papers.digest.example.org>"

    def links(self, job: Job) -> Links:
        from digest.unsubscribe import make_token

        token = make_token(job.digest.subscriber.key, job.secret)
        return Links(
            web_version=f"{BASE}/archive/{job.digest.issue.id}.html",
            manage=f"{BASE}/manage/{token}",
            unsubscribe=f"{BASE}/unsubscribe/{token}",
            unsubscribe_mailto="digest@digest.example.org",
            archive=f"{BASE}/archive/",
            feeds=(("RSS", f"{BASE}/feeds/all.rss.xml"), ("Atom", f"{BASE}/feeds/all.atom.xml")),
        )

    def envelope(self, job: Job, subject: str, links: Links):
        from digest.message import Envelope, make_message_id

        sub = job.digest.subscriber
        return Envelope(
            subject=subject,
            sender=SENDER,
            to_addr=sub.email,
            to_name=sub.name,
            message_id=make_message_id(sub.key, job.digest.issue.id, "digest.example.org"),
            date=AT,
            list_id=self.list_id,
            unsubscribe_url=links.unsubscribe,
            unsubscribe_mailto=links.unsubscribe_mailto,
        )

    def fast_parts(self, job: Job) -> tuple[str, str, str, bytes]:
        from digest.message import build_message

        links = self.links(job)
        subject, html, text = self.renderer.render_digest(job.digest, links)
        return subject, html, text, build_message(self.envelope(job, subject, links), text, html)

    def naive_parts(self, job: Job) -> tuple[str, str, str, bytes]:
        from digest.message import build_message_stdlib

        links = self.links(job)
        subject, html, text = self.renderer.render_digest_naive(job.digest, links)
        return (
            subject,
            html,
            text,
            build_message_stdlib(self.envelope(job, subject, links), text, html),
        )

    def fast(self, job: Job) -> bytes:
        return self.fast_parts(job)[3]

    def naive(self, job: Job) -> bytes:
        return self.naive_parts(job)[3]
