"""Matching quality on the hand-labelled evaluation set (tests/eval/topics.yaml).

Each case is a topic with the papers that should and should not match; precision and
recall over the labelled papers must stay at or above the bars set (and justified, in the
case's `why`) in the YAML. Unlabelled papers do not count either way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from digest.config import TopicConfig
from digest.select import match_topics
from tests.support.select_data import all_papers, by_title

CASES = yaml.safe_load((Path(__file__).parent / "eval" / "topics.yaml").read_text("utf-8"))
TOPIC_KEYS = ("name", "query", "min_score", "similar_to", "authors", "min_similarity")
NOW = datetime(2026, 6, 12, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def papers():
    return all_papers()


def test_labels_are_consistent(papers):
    for case in CASES:
        relevant = {by_title(papers, f).id for f in case["relevant"]}
        irrelevant = {by_title(papers, f).id for f in case["irrelevant"]}
        assert not relevant & irrelevant, case["name"]
        assert case["why"].strip() and 0 < case["min_recall"] <= 1, case["name"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_precision_and_recall(case, papers):
    topic = TopicConfig(**{k: case[k] for k in TOPIC_KEYS if k in case})
    matched = {m.paper.id for m in match_topics(papers, [topic], NOW)[topic.name]}
    relevant = {by_title(papers, f).id for f in case["relevant"]}
    irrelevant = {by_title(papers, f).id for f in case["irrelevant"]}
    hits = matched & relevant
    labelled = matched & (relevant | irrelevant)
    precision = len(hits) / len(labelled) if labelled else 0.0
    recall = len(hits) / len(relevant)
    titles = {p.id: p.title for p in papers}
    detail = (
        f"missed: {[titles[i] for i in relevant - matched]}; "
        f"wrongly matched: {[titles[i] for i in matched & irrelevant]}"
    )
    assert precision >= case["min_precision"], f"precision {precision:.2f}; {detail}"
    assert recall >= case["min_recall"], f"recall {recall:.2f}; {detail}"
