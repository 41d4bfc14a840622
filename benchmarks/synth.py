"""Seeded synthetic data at scale, shaped like the bundled sample.

The shape comes from digest/data/sample.jsonl and digest/data/hf_daily_papers_sample.json:
title and abstract lengths (words) are drawn from the sample's own lengths; words from the
sample's vocabulary ranked by frequency, extended with a generated Zipf tail (so 100,000
abstracts have the long tail of rare words a real corpus has, not just the ~5,000 words of
92 abstracts); author names from the sample's first and last names; upvotes from the
sample's upvotes. Same seed, same data.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources

import numpy as np

from digest.models import Paper

NOW = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
TAIL_TYPES = 60_000  # generated rare words beyond the sample's vocabulary
ZIPF_S = 1.05


@lru_cache(maxsize=1)
def real_records() -> list[dict]:
    """Every sample paper as {title, abstract, authors, upvotes, comments, keywords}."""
    data = resources.files("digest").joinpath("data")
    out = []
    for line in data.joinpath("sample.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            out.append(
                {
                    "title": r["title"],
                    "abstract": r.get("abstract") or "",
                    "authors": [],
                    "upvotes": None,
                    "comments": None,
                    "keywords": [],
                }
            )
    for e in json.loads(data.joinpath("hf_daily_papers_sample.json").read_text(encoding="utf-8")):
        p = e["paper"]
        out.append(
            {
                "title": " ".join(p["title"].split()),
                "abstract": " ".join((p.get("summary") or "").split()),
                "authors": [a["name"] for a in p.get("authors", [])],
                "upvotes": p.get("upvotes"),
                "comments": e.get("numComments"),
                "keywords": list(p.get("ai_keywords") or []),
            }
        )
    return out


class Shape:
    """What the generator samples from, measured on the real sample."""

    def __init__(self) -> None:
        recs = real_records()
        self.title_lens = np.array([len(_WORD.findall(r["title"])) for r in recs])
        self.abstract_lens = np.array([len(_WORD.findall(r["abstract"])) for r in recs])
        counts = Counter(
            w.lower() for r in recs for w in _WORD.findall(r["title"] + " " + r["abstract"])
        )
        real = [w for w, _ in counts.most_common()]
        self.real_vocab = len(real)
        tail = _tail_words(real, TAIL_TYPES)
        self.words = np.array(real + tail, dtype=object)
        ranks = np.arange(1, len(self.words) + 1, dtype=np.float64)
        p = ranks**-ZIPF_S
        self.cum = np.cumsum(p / p.sum())
        names = [a for r in recs for a in r["authors"]]
        self.first = sorted({n.split()[0] for n in names if len(n.split()) > 1})
        self.last = sorted({n.split()[-1] for n in names if len(n.split()) > 1})
        self.authors_per_paper = np.array([len(r["authors"]) for r in recs if r["authors"]])
        self.upvotes = np.array([r["upvotes"] or 0 for r in recs if r["upvotes"] is not None])

    def sample_words(self, rng: np.random.Generator, n: int) -> np.ndarray:
        idx = np.searchsorted(self.cum, rng.random(n), side="right")
        return np.minimum(idx, len(self.words) - 1)


def _tail_words(real: list[str], n: int) -> list[str]:
    """Deterministic made-up words built from pieces of real ones (letters only)."""
    alpha = [w for w in real if w.isalpha() and len(w) >= 5]
    heads = sorted({w[:4] for w in alpha})
    tails = sorted({w[-4:] for w in alpha})
    out, seen = [], set(real)
    i = 0
    while len(out) < n:
        w = (
            heads[i % len(heads)]
            + tails[(i * 7919) % len(tails)]
            + ("" if i < len(heads) * len(tails) else str(i))
        )
        i += 1
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


@lru_cache(maxsize=1)
def shape() -> Shape:
    return Shape()


def papers(n: int, seed: int = 1, prefix: str = "syn", start: datetime = NOW) -> list[Paper]:
    """`n` synthetic papers; ids `arxiv:<prefix>.<k>`; published over the last day."""
    sh = shape()
    rng = np.random.default_rng(seed)
    tl = rng.choice(sh.title_lens, n)
    al = rng.choice(sh.abstract_lens, n)
    words = sh.words
    t_idx = sh.sample_words(rng, int(tl.sum()))
    a_idx = sh.sample_words(rng, int(al.sum()))
    t_off = np.concatenate(([0], np.cumsum(tl)))
    a_off = np.concatenate(([0], np.cumsum(al)))
    t_words = words[t_idx].tolist()
    a_words = words[a_idx].tolist()
    n_auth = rng.choice(sh.authors_per_paper, n)
    first = rng.integers(0, len(sh.first), int(n_auth.sum()))
    last = rng.integers(0, len(sh.last), int(n_auth.sum()))
    votes = rng.choice(sh.upvotes, n)
    minutes = rng.integers(0, 24 * 60, n)
    out = []
    k = 0
    for d in range(n):
        title = " ".join(t_words[t_off[d] : t_off[d + 1]]).capitalize()
        abstract = " ".join(a_words[a_off[d] : a_off[d + 1]]).capitalize() + "."
        authors = tuple(
            f"{sh.first[first[k + j]]} {sh.last[last[k + j]]}" for j in range(n_auth[d])
        )
        k += n_auth[d]
        out.append(
            Paper(
                id=f"arxiv:{prefix}.{d:06d}",
                title=title,
                abstract=abstract,
                authors=authors,
                url=f"https://arxiv.org/abs/{prefix}.{d:06d}",
                upvotes=int(votes[d]),
                published=start - timedelta(minutes=int(minutes[d])),
                sources=("synthetic",),
                source_types=("arxiv",),
            )
        )
    return out


def topic_queries(n: int, seed: int = 2) -> list[list[str]]:
    """`n` bag-of-words topics (1 to 4 words each), words drawn from the mid-frequency band
    of the vocabulary (the words people name topics with: not "the", not a one-off)."""
    sh = shape()
    rng = np.random.default_rng(seed)
    lo, hi = 60, min(len(sh.words), sh.real_vocab + 5000)
    band = [w for w in sh.words[lo:hi].tolist() if w.isalpha() and len(w) > 3]
    out = []
    for _ in range(n):
        k = int(rng.integers(1, 5))
        out.append(sorted(set(rng.choice(band, k).tolist())))
    return out
