"""Topic matching and digests on the real sample: the 62 seed papers and the recorded
Hugging Face daily list."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from digest.config import TopicConfig, default_config
from digest.errors import ConfigError
from digest.models import Issue, Match, Paper, Subscriber
from digest.select import AUTHORS_SECTION, build_digest, match_topics
from digest.similar import semantic_available
from digest.store.db import open_db
from digest.store.vectors import VectorCache
from tests.support.select_data import by_title, hf_papers, seed_papers

NOW = datetime(2026, 6, 12, 12, tzinfo=UTC)
ISSUE = Issue("2026-06-12", date(2026, 6, 12), NOW, "Trending Papers")


def topic(name="T", **kw) -> TopicConfig:
    return TopicConfig(name=name, **kw)


# ------------------------------------------------------------------ the default config
def test_default_config_on_the_seed(tmp_path):
    config = default_config(tmp_path)
    papers = seed_papers()
    result = match_topics(papers, config.topics, NOW)
    llm, vision, trending = (result[n] for n in ("Efficient LLMs", "Vision", "Trending"))
    top = [m.paper.title for m in llm[:8]]
    for title in ("PowerInfer-2", "LLM.int8()", "Flash-LLM", "NeuPIMs"):
        assert any(t.startswith(title) for t in top), title
    assert all(m.reasons for m in llm)
    assert [m.score for m in llm] == sorted((m.score for m in llm), reverse=True)
    assert all(0 < m.score <= 1 for m in llm + vision)
    assert {m.paper.title.split(":")[0] for m in vision[:2]} == {
        "Factorization Vision Transformer",
        "BiFormer",
    }
    quantum = by_title(papers, "Jones Polynomial").id
    assert quantum not in {m.paper.id for m in llm + vision}
    # No signal in the seed: trending keeps source order, every paper, score 0.
    assert [m.paper.id for m in trending] == [p.id for p in papers]
    assert {m.reasons[0].text for m in trending} == {"trending"}


def test_default_digest_gives_every_topic_a_share(tmp_path):
    config = default_config(tmp_path)
    matches = match_topics(seed_papers(), config.topics, NOW)
    sub = Subscriber(
        "reader@example.org", topics=("Efficient LLMs", "Vision", "Trending"), max_papers=15
    )
    digest = build_digest(ISSUE, sub, matches, [], [t.name for t in config.topics])
    assert [s.topic for s in digest.sections] == ["Efficient LLMs", "Vision", "Trending"]
    assert [len(s.matches) for s in digest.sections] == [5, 5, 5]
    assert len(set(digest.paper_ids)) == len(digest.paper_ids) == 15
    assert digest.omitted == 62 - 15


# ------------------------------------------------------------------ trending
def test_trending_ranks_by_upvotes_and_comments():
    papers = hf_papers()
    ranked = match_topics(papers, [topic("Hot")], NOW)["Hot"][:10]
    assert len(ranked) == 10
    assert [m.paper.title.split(":")[0] for m in ranked[:3]] == [
        "EvoArena",
        "MiniMax Sparse Attention",
        "Robust-U1",
    ]
    assert ranked[0].reasons[0].text == "trending: 118 upvotes, 3 comments"
    votes = [(m.paper.upvotes or 0) + (m.paper.comments or 0) for m in ranked]
    assert votes == sorted(votes, reverse=True)


def test_recency_boost_prefers_fresh_papers():
    old = Paper("a", "LLM serving", published=NOW - timedelta(days=30))
    new = Paper("b", "LLM serving", published=NOW - timedelta(days=1))
    plain = match_topics([old, new], [topic(query="llm")], NOW)["T"]
    assert [m.paper.id for m in plain] == ["a", "b"]  # a tie keeps source order
    boosted = match_topics([old, new], [topic(query="llm", boost_recency=1.0)], NOW)["T"]
    assert [m.paper.id for m in boosted] == ["b", "a"]
    assert boosted[0].score == pytest.approx(plain[0].score + 0.5 ** (1 / 7), abs=1e-6)


def test_upvote_boost_reorders_matches():
    papers = [Paper("a", "Vision models", upvotes=0), Paper("b", "Vision models", upvotes=300)]
    boosted = match_topics(papers, [topic(query="vision", boost_upvotes=0.5)], NOW)["T"]
    assert [m.paper.id for m in boosted] == ["b", "a"]


# ------------------------------------------------------------------ cuts
def test_min_score_and_max_papers_cut():
    papers = seed_papers()
    everything = match_topics(papers, [topic(query="inference")], NOW)["T"]
    cut = match_topics(papers, [topic(query="inference", min_score=0.5)], NOW)["T"]
    assert cut and len(cut) < len(everything)
    assert all(m.score >= 0.5 for m in cut)
    assert cut == [m for m in everything if m.score >= 0.5]
    # max_papers does not cut the shared ranking: it is applied per reader (build_digest).
    capped = match_topics(papers, [topic(query="inference", max_papers=3)], NOW)["T"]
    assert capped == everything


def test_a_topic_cap_applies_after_the_papers_already_sent():
    """Regression: cutting the shared ranking to max_papers before removing what a reader
    already got left papers 3 and 4 unsent for ever."""
    papers = seed_papers()
    ranked = match_topics(papers, [topic(query="inference")], NOW)
    ids = [m.paper.id for m in ranked["T"]]
    sub = Subscriber("r@example.org", max_papers=50)
    day1 = build_digest(ISSUE, sub, ranked, [], ["T"], topic_limits={"T": 2})
    assert list(day1.paper_ids) == ids[:2] and day1.omitted == len(ids) - 2
    day2 = build_digest(ISSUE, sub, ranked, ids[:2], ["T"], topic_limits={"T": 2})
    assert list(day2.paper_ids) == ids[2:4]


def test_no_papers_and_no_topics():
    assert match_topics([], [topic(query="x"), topic("U")], NOW) == {"T": [], "U": []}
    assert match_topics(seed_papers(), [], NOW) == {}


# ------------------------------------------------------------------ authors
def test_topic_authors_always_included_ignoring_accents_and_min_score():
    papers = hf_papers()
    t = topic(query="quantum", authors=["boglarka ecsedi", "Kocielnik"], min_score=0.9)
    found = match_topics(papers, [t], NOW)["T"]
    assert {m.paper.title.split(":")[0] for m in found} == {
        "Risk Under Pressure",
        "On the Limits of LLM Adaptability",
        "Rethinking Psychometric Evaluation of LLMs",
    }
    risk = next(m for m in found if m.paper.title.startswith("Risk"))
    assert risk.reasons[0].describe() == "by Boglárka Ecsedi"


def test_author_initials_and_surname():
    paper = Paper("x", "t", authors=("Geoffrey E. Hinton",))
    for name, hit in [
        ("Hinton", True),
        ("Geoffrey Hinton", True),
        ("G. Hinton", True),
        ("Geoffrey Everest Hinton", True),
        ("Jeff Hinton", False),
        ("Geoffrey", True),
        ("Hint", False),
    ]:
        got = match_topics([paper], [topic(authors=[name])], NOW)["T"]
        assert bool(got) is hit, name


# ------------------------------------------------------------------ similar to
def test_similar_to_finds_examples_in_history_and_explains():
    papers = seed_papers()
    example = by_title(papers, "PowerInfer-2")
    fresh = [p for p in papers if p.id != example.id]
    t = topic(similar_to=[example.id], min_similarity=0.15)
    found = match_topics(fresh, [t], NOW, history=[example])["T"]
    titles = [m.paper.title.split(":")[0] for m in found]
    llm_systems = {
        "Keyformer",
        "Flash-LLM",
        "NeuPIMs",
        "LLM.int8()",
        "PIM-GPT",
        "LUT-GEMM",
        "Efficient Arbitrary Precision Acceleration for Large Language Models on GPU Tensor Cores",
    }
    assert set(titles[:3]) <= llm_systems
    assert "Less Quantum, More Advantage" not in titles
    assert found[0].reasons[0].kind == "similar"
    assert found[0].why() == f"similar to {example.title}"


def test_similar_to_history_as_a_lookup_function_or_list_agree():
    papers = seed_papers()
    example = by_title(papers, "PowerInfer-2")
    fresh = [p for p in papers if p.id != example.id]
    asked: list[str] = []

    def lookup(ref: str) -> Paper | None:
        asked.append(ref)
        return example if ref == example.id else None

    topics = [
        topic(similar_to=[example.id], min_similarity=0.15),
        topic("U", similar_to=[example.title.upper()], min_similarity=0.15),
    ]
    by_list = match_topics(fresh, topics, NOW, history=[*fresh[:5], example])
    by_function = match_topics(fresh, topics[:1], NOW, history=lookup)
    assert asked == [example.id]  # only the named entries are looked up
    assert [m.paper.id for m in by_function["T"]] == [m.paper.id for m in by_list["T"]]
    assert by_list["U"] == [m.__class__(m.paper, "U", m.score, m.reasons) for m in by_list["T"]]


def test_similar_to_a_title_in_the_batch_does_not_match_itself():
    papers = seed_papers()
    title = by_title(papers, "Flash-LLM").title
    found = match_topics(papers, [topic(similar_to=[title.lower()])], NOW)["T"]
    assert found and all(m.paper.title != title for m in found)


def test_similar_to_unknown_text_is_compared_as_text():
    found = match_topics(
        seed_papers(), [topic(similar_to=["quantum algorithms"], min_similarity=0.1)], NOW
    )["T"]
    assert found and all("uantum" in m.paper.title + m.paper.abstract for m in found)


@pytest.mark.skipif(semantic_available(), reason="the semantic extra is installed")
def test_semantic_without_the_extra_is_a_clear_error():
    t = topic(similar_to=["x"], similarity="semantic")
    with pytest.raises(ConfigError) as info:
        match_topics(seed_papers(), [t], NOW)
    assert "pip install 'digest[semantic]'" in str(info.value)


def _bag_embedder(calls: list[int]):
    """A deterministic stand-in for the sentence model (which needs torch): hashed words.
    It lets the test check the caching and plumbing, not the model."""

    def embed(texts):
        calls.append(len(texts))
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for w in text.lower().split():
                out[i, sum(map(ord, w)) % 64] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    return embed


def test_semantic_embeds_each_paper_once_with_the_cache(tmp_path):
    conn = open_db(tmp_path / "state.sqlite")
    cache = VectorCache(conn, "bag")
    papers = seed_papers()
    t = topic(similar_to=[papers[0].title], similarity="semantic", min_similarity=0.5)
    calls: list[int] = []
    first = match_topics(papers[:40], [t], NOW, vector_cache=cache, embedder=_bag_embedder(calls))
    assert calls[0] == 40 and first["T"]
    calls.clear()
    match_topics(papers, [t], NOW, vector_cache=cache, embedder=_bag_embedder(calls))
    assert calls[0] == 22  # only the new papers; then the example
    stored = cache.get([papers[0].id])[papers[0].id]
    assert stored.dtype == np.float32 and stored.shape == (64,)


# ------------------------------------------------------------------ digests
def _m(pid: str, topic_name: str, score: float, authors=()) -> Match:
    return Match(Paper(pid, f"Paper {pid}", authors=authors), topic_name, score)


def test_digest_each_paper_once_in_its_best_topic_and_excluded_removed():
    matches = {
        "A": [_m("1", "A", 0.9), _m("2", "A", 0.5)],
        "B": [_m("2", "B", 0.8), _m("3", "B", 0.4), _m("1", "B", 0.9)],
    }
    sub = Subscriber("r@example.org", max_papers=10)
    d = build_digest(ISSUE, sub, matches, ["3"], ["A", "B"])
    assert [(s.topic, [m.paper.id for m in s.matches]) for s in d.sections] == [
        ("A", ["1"]),
        ("B", ["2"]),
    ]
    assert d.omitted == 0


def test_digest_only_the_subscribers_topics_in_config_order():
    matches = {"A": [_m("1", "A", 0.2)], "B": [_m("2", "B", 0.3)], "C": [_m("3", "C", 0.9)]}
    sub = Subscriber("r@example.org", topics=("C", "A"))
    d = build_digest(ISSUE, sub, matches, [], ["A", "B", "C"])
    assert [s.topic for s in d.sections] == ["A", "C"]


def test_digest_max_papers_round_robin_and_omitted():
    matches = {
        "A": [_m(f"a{i}", "A", 0.9 - i / 100) for i in range(5)],
        "B": [_m(f"b{i}", "B", 0.1) for i in range(2)],
    }
    d = build_digest(ISSUE, Subscriber("r@example.org", max_papers=4), matches, [], ["A", "B"])
    assert [m.paper.id for m in d.matches] == ["a0", "a1", "b0", "b1"]
    assert d.omitted == 3
    assert build_digest(ISSUE, Subscriber("r@example.org"), {}, [], ["A"]).is_empty


def test_followed_authors_section_first():
    papers = hf_papers()
    vision = match_topics(papers, [topic("Vision", query="image")], NOW)
    sub = Subscriber("r@example.org", authors=("Rafal Kocielnik", "Yuchen Xian"), max_papers=5)
    d = build_digest(ISSUE, sub, vision, [], ["Vision"], papers=papers)
    first = d.sections[0]
    assert first.topic == AUTHORS_SECTION
    assert {m.paper.title.split(":")[0] for m in first.matches} == {
        "On the Limits of LLM Adaptability",
        "Rethinking Psychometric Evaluation of LLMs",
        "From 2D Grids to 1D Tokens",
        "VIA-SD",
    }
    assert all(m.reasons[0].kind == "author" for m in first.matches)
    assert len(d.paper_ids) == len(set(d.paper_ids)) == 5
    fusion = next(m for m in first.matches if m.paper.title.startswith("From 2D"))
    assert [r.kind for r in fusion.reasons][:2] == ["author", "keyword"]  # topic reason kept


# ------------------------------------------------------------------ digest explain
def test_explain_command_prints_scores_reasons_and_the_cut(tmp_path):
    from click.testing import CliRunner

    from digest.cli_explain import explain

    config = tmp_path / "config.yaml"
    config.write_text(
        "sources:\n  - {name: sample, type: sample, dataset: trending}\n"
        "topics:\n  - name: Quantum\n    query: quantum\n    min_score: 0.8\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(explain, ["--config", str(config), "--topic", "Quantum", "--all"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:2] == ["Topic: Quantum", "Query: quantum"]
    assert "62 papers, 4 match" in result.output
    assert "why: “quantum” in title" in result.output
    assert "[below min_score 0.8: not sent]" in result.output
    assert "4 match, 3 kept" in result.output
    assert "Not matching (58):" in result.output
    bad = CliRunner().invoke(explain, ["--config", str(config), "--topic", "Quantm"])
    assert bad.exit_code != 0 and "did you mean 'Quantum'?" in bad.output
