"""Relevance and popularity on a fixed, documented scale, so `min_score` means the same
thing on every day and for every topic.

Relevance (0..1) of one query term in a paper is BM25F's saturated term frequency:

    tf' = 3 * tf_title + tf_abstract            (the title counts three times)
    s   = tf' / (tf' + k1 * (1 - b + b * len' / avg_len'))      k1 = 1.2, b = 0.75

with len' = 3 * title words + abstract words. Once in an average abstract: s ~ 0.45; once
in the title: ~ 0.71; title and three times in the abstract: ~ 0.83. The query combines
its terms (digest/query.py): OR is a probabilistic OR, 1 - prod(1 - s_i)^w_i, AND is the
mean, each term weighted by its BM25 idf relative to the query's rarest term, so a rare
term counts more than a common one. A relevance stays in 0..1.

The topic score adds boosts on the same 0..1 footing:

    score = relevance + boost_upvotes * popularity + boost_recency * freshness
    popularity = min(1, ln(1 + upvotes + comments) / ln(1 + 1000))   (1000 votes -> 1)
    freshness  = 0.5 ** (age in days / 7)                           (halves every week)

A trending topic (no query) uses popularity as its relevance. A paper by a followed
author has relevance 1 and skips `min_score`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from digest.models import Paper

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 3.0
POPULARITY_SATURATION = 1000
FRESHNESS_HALF_LIFE_DAYS = 7.0


class TextStats:
    """Per batch: each paper's BM25 length normalisation."""

    def __init__(self, title_len: np.ndarray, abstract_len: np.ndarray) -> None:
        length = TITLE_WEIGHT * title_len + abstract_len
        avg = float(length.mean()) if len(length) and length.mean() > 0 else 1.0
        self.norm = K1 * (1.0 - B + B * length / avg)
        self.n = len(length)

    def saturate(self, tf: np.ndarray, docs: np.ndarray) -> np.ndarray:
        """Saturated frequency in 0..1 of weighted counts `tf` for papers `docs`."""
        return tf / (tf + self.norm[docs])


def idf(df: int, n: int) -> float:
    """BM25 idf (the Lucene form: always positive)."""
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def popularity(paper: Paper) -> float:
    votes = (paper.upvotes or 0) + (paper.comments or 0)
    return min(1.0, math.log1p(max(votes, 0)) / math.log1p(POPULARITY_SATURATION))


def freshness(paper: Paper, now: datetime) -> float:
    """1 for a paper published now, 0.5 a week ago; 0 when the date is unknown."""
    when = paper.published or paper.updated
    if when is None:
        return 0.0
    age_days = max(0.0, (now - when).total_seconds() / 86400.0)
    return 0.5 ** (age_days / FRESHNESS_HALF_LIFE_DAYS)


def boosts(
    papers: Sequence[Paper], docs: np.ndarray, upvotes: float, recency: float, now: datetime
) -> np.ndarray:
    """The boost each paper in `docs` adds to its relevance."""
    out = np.zeros(len(docs), dtype=np.float64)
    if upvotes:
        out += upvotes * np.fromiter((popularity(papers[d]) for d in docs), np.float64, len(docs))
    if recency:
        out += recency * np.fromiter(
            (freshness(papers[d], now) for d in docs), np.float64, len(docs)
        )
    return out


def has_signal(paper: Paper) -> bool:
    return bool(paper.upvotes or paper.comments)


def trending_reason_text(paper: Paper) -> str:
    parts = []
    if paper.upvotes:
        parts.append(f"{paper.upvotes} upvote{'s' if paper.upvotes != 1 else ''}")
    if paper.comments:
        parts.append(f"{paper.comments} comment{'s' if paper.comments != 1 else ''}")
    return "trending: " + ", ".join(parts) if parts else "trending"
