"""The score scale that makes min_score usable (digest/rank.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from digest.config import TopicConfig
from digest.models import Paper
from digest.rank import freshness, popularity
from digest.select import match_topics

NOW = datetime(2026, 6, 12, tzinfo=UTC)
FILLER = "alpha beta gamma delta epsilon zeta eta theta iota kappa " * 10


def score(query: str, papers: list[Paper], pid: str) -> float:
    found = match_topics(papers, [TopicConfig(name="T", query=query)], NOW)["T"]
    return next(m.score for m in found if m.paper.id == pid)


def corpus() -> list[Paper]:
    return [
        Paper("title", "Sparse attention", FILLER),
        Paper("abstract", "Something else", "sparse " + FILLER),
        Paper("both", "Sparse attention", "sparse sparse sparse " + FILLER),
        Paper("other", "Unrelated", FILLER),
    ]


def test_title_counts_more_than_abstract_and_saturates():
    papers = corpus()
    t, a, b = (score("sparse", papers, pid) for pid in ("title", "abstract", "both"))
    assert 0 < a < t < b < 1
    assert a == pytest.approx(0.45, abs=0.05)
    assert t == pytest.approx(0.71, abs=0.05)


def test_or_combines_and_rarer_terms_weigh_more():
    papers = corpus()
    one = score("attention", papers, "title")
    both = score("attention OR sparse", papers, "title")
    assert both > one
    # AND is a (weighted) mean of its terms, so it stays within them.
    mixed = score("sparse AND attention", papers, "both")
    assert score("attention", papers, "both") <= mixed <= score("sparse", papers, "both")


def test_popularity_and_freshness_scales():
    assert popularity(Paper("x", "t")) == 0
    assert popularity(Paper("x", "t", upvotes=1000)) == pytest.approx(1.0)
    assert 0.6 < popularity(Paper("x", "t", upvotes=118, comments=3)) < 0.8
    assert freshness(Paper("x", "t"), NOW) == 0
    week = Paper("x", "t", published=NOW - timedelta(days=7))
    assert freshness(week, NOW) == pytest.approx(0.5)
    future = Paper("x", "t", published=NOW + timedelta(days=1))
    assert freshness(future, NOW) == 1.0


def test_scores_are_reproducible_and_deterministic():
    papers = corpus()
    topic = TopicConfig(name="T", query="sparse OR attention OR else")
    first = match_topics(papers, [topic], NOW)
    assert first == match_topics(list(papers), [topic], NOW)
