"""Selection: which new papers each topic matches (and why), and each subscriber's digest.

A topic matches a paper when its query matches (digest/query.py), when the paper resembles
one of its `similar_to` examples (digest/similar.py), or when one of its `authors` wrote it.
A topic with none of the three is a trending topic: every paper, ranked by popularity.
Scores are on the documented 0..1 scale of digest/rank.py (plus boosts); papers under
`min_score` are dropped. A topic's `max_papers` is applied per reader in build_digest, after
the papers they already received are removed (cutting the shared ranking first would hide
the lower-ranked papers from every reader for good).

The index is built once per call from `papers` (the new ones) and shared by every topic;
`history` is only read to find `similar_to` examples, by id or title (digest/similar.py
PaperLookup), so its size barely matters. numpy/scipy are imported on first use so
`import digest.select` stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from digest.analyze import name_matches, name_tokens
from digest.models import Digest, Issue, Match, Paper, Reason, Subscriber, TopicSection
from digest.query import Query, parse_query

AUTHORS_SECTION = "Followed authors"


def match_topics(
    papers: Sequence[Paper],
    topics: Sequence[Any],
    now: datetime,
    *,
    history: Sequence[Paper] | Callable[[str], Paper | None] = (),
    vector_cache: Any = None,
    embedder: Any = None,
    limit: int | None = None,
) -> dict[str, list[Match]]:
    """Every topic's matches, best first, after its min_score cut; with `limit`, only each
    topic's best `limit` (a search for the top-k; the pipeline wants every match, since
    each reader's cut comes after removing what they already received).

    `history` is where `similar_to` entries are looked up besides `papers`: older papers,
    or a function from an entry (an id or a title) to its paper or None, so a long
    history need not be loaded. `vector_cache` (digest.store.vectors.VectorCache) keeps
    embeddings between runs for `similarity: semantic`; `embedder` replaces the model
    (tests)."""
    batch = _Batch(list(papers), history, now, vector_cache, embedder)
    batch.prepare(topics)
    return {topic.name: batch.match(topic, limit) for topic in topics}


class _Batch:
    """What every topic shares: the papers, their index and TF-IDF model, built lazily."""

    def __init__(
        self, papers: list[Paper], history: Any, now: datetime, vector_cache: Any, embedder: Any
    ) -> None:
        self.papers, self.history, self.now = papers, history, now
        self.vector_cache, self._embedder = vector_cache, embedder
        self._index: Any = None
        self._tfidf: Any = None
        self._authors: dict[str, list[tuple[int, str, tuple[str, ...]]]] | None = None
        self._queries: dict[int, Query | None] = {}
        self._lookup: Any = None
        self._positions: dict[str, int] | None = None

    def prepare(self, topics: Sequence[Any]) -> None:
        """Parse every query once and build all their postings in one pass."""
        self._queries = {id(t): _query(t) for t in topics}
        queries = [q for q in self._queries.values() if q is not None]
        if queries and self.papers:
            from digest.query_eval import prepare

            prepare(queries, self.index)

    @property
    def index(self) -> Any:
        if self._index is None:
            from digest.index import build_index

            self._index = build_index(self.papers)
        return self._index

    @property
    def tfidf(self) -> Any:
        if self._tfidf is None:
            from digest.similar import TfidfModel

            self._tfidf = TfidfModel(self.index)
        return self._tfidf

    def embedder(self) -> Any:
        if self._embedder is None:
            from digest.similar import load_embedder

            self._embedder = load_embedder()
        return self._embedder

    # -------------------------------------------------------------------- one topic
    def match(self, topic: Any, limit: int | None = None) -> list[Match]:
        import numpy as np

        from digest import rank

        n = len(self.papers)
        if n == 0:
            return []
        query = self._queries[id(topic)] if id(topic) in self._queries else _query(topic)
        followed = [f for f in (getattr(topic, "authors", None) or []) if f.strip()]
        examples_refs = getattr(topic, "similar_to", None) or []
        reasons: dict[int, list[Reason]] = {}  # similar/author reasons, few
        trending = query is None and not followed and not examples_refs
        result = query.run(self.index) if query is not None else None
        authors = self._by_authors(followed)
        for d, name in authors:
            reasons.setdefault(d, []).append(Reason("author", name, "author"))
        similar_to, labels = None, []
        if trending or examples_refs:  # every paper is a candidate
            rel = np.zeros(n)
            matched = np.zeros(n, dtype=bool)
            if trending:
                rel = np.fromiter((rank.popularity(p) for p in self.papers), np.float64, n)
                matched[:] = True
            if result is not None:
                rel[result.docs] = result.scores
                matched[result.docs] = True
            if examples_refs:
                sims, labels = self._similar(topic, examples_refs)
                if sims.shape[1]:
                    best = sims.max(axis=1)
                    ok = best >= topic.min_similarity
                    rel = np.where(ok, 1.0 - (1.0 - rel) * (1.0 - best), rel)
                    matched |= ok
                    similar_to = np.where(ok, sims.argmax(axis=1), -1)
            for d, _ in authors:
                matched[d] = True
            docs = np.flatnonzero(matched)
            rel = rel[docs]
        else:  # only the query's papers (and the followed authors'): no O(n) work
            docs = result.docs if result is not None else np.zeros(0, dtype=np.int64)
            rel = result.scores if result is not None else np.zeros(0)
            if authors:
                merged = np.union1d(docs, [d for d, _ in authors])
                full = np.zeros(len(merged))
                full[np.searchsorted(merged, docs)] = rel
                docs, rel = merged, full
        pinned = np.zeros(len(docs), dtype=bool)
        if authors:
            at_author = np.searchsorted(docs, [d for d, _ in authors])
            pinned[at_author] = True
            rel = rel.copy()
            rel[at_author] = 1.0
        score = rel + rank.boosts(
            self.papers, docs, topic.boost_upvotes, topic.boost_recency, self.now
        )
        keep = pinned | (score >= topic.min_score)
        docs, score = docs[keep], score[keep]
        order = np.lexsort((docs, -score))  # best first; ties keep source order
        if limit is not None:
            order = order[:limit]
        out = []
        kept = docs[order]
        if result is not None:  # where each kept paper sits in the query's result
            at = np.minimum(np.searchsorted(result.docs, kept), max(len(result.docs) - 1, 0))
            in_query = (result.docs[at] == kept) if len(result.docs) else np.zeros(len(kept), bool)
        # Reasons are worked out for the kept papers only: they are the costly part.
        for k, j in enumerate(order.tolist()):
            d = int(docs[j])
            paper = self.papers[d]
            why: list[Reason] = []
            if result is not None and in_query[k]:
                why.extend(result.reasons(int(at[k])))
            if examples_refs and similar_to is not None and similar_to[d] >= 0:
                why.append(Reason("similar", labels[similar_to[d]]))
            why.extend(reasons.get(d, ()))
            if trending:
                why.append(Reason("trending", rank.trending_reason_text(paper)))
            out.append(Match(paper, topic.name, round(float(score[j]), 6), tuple(why)))
        return out

    def _similar(self, topic: Any, refs: Sequence[str]) -> tuple[Any, list[str]]:
        from digest.similar import PaperLookup, resolve_examples, semantic_similarity

        if self._lookup is None:  # once per run, whatever the number of topics
            if callable(self.history):
                batch, history = PaperLookup(self.papers), self.history
                self._lookup = lambda ref: history(ref) or batch(ref)
            else:
                self._lookup = PaperLookup(self.papers, self.history)
        examples = resolve_examples(refs, self._lookup)
        if getattr(topic, "similarity", "tfidf") == "semantic":
            sims = semantic_similarity(self.papers, examples, self.embedder(), self.vector_cache)
        else:
            sims = self.tfidf.similarity(examples)
        if self._positions is None:
            self._positions = {p.id: d for d, p in enumerate(self.papers)}
        positions = self._positions
        for k, ex in enumerate(examples):  # an example is not "like itself"
            if ex.paper is not None and ex.paper.id in positions:
                sims[positions[ex.paper.id], k] = 0.0
        return sims, [ex.label for ex in examples]

    def _by_authors(self, followed: Sequence[str]) -> list[tuple[int, str]]:
        if not followed:
            return []
        if self._authors is None:
            table: dict[str, list[tuple[int, str, tuple[str, ...]]]] = {}
            for d, p in enumerate(self.papers):
                for name in p.authors:
                    tokens = name_tokens(name)
                    for tok in set(tokens):
                        table.setdefault(tok, []).append((d, name, tokens))
            self._authors = table
        hits: dict[int, str] = {}
        for name in followed:
            want = name_tokens(name)
            if not want:
                continue
            for d, author, tokens in self._authors.get(want[-1], []):
                if d not in hits and name_matches(want, tokens):
                    hits[d] = author
        return sorted(hits.items())


def _query(topic: Any) -> Query | None:
    text = getattr(topic, "query", None)
    return parse_query(text) if text and text.strip() else None


def followed_author(paper: Paper, followed: Sequence[str]) -> str | None:
    """The paper's author that one of the `followed` names denotes, if any."""
    wanted = [w for w in (name_tokens(f) for f in followed) if w]
    for author in paper.authors:
        tokens = name_tokens(author)
        if any(name_matches(w, tokens) for w in wanted):
            return author
    return None


def build_digest(
    issue: Issue,
    subscriber: Subscriber,
    topic_matches: dict[str, list[Match]],
    exclude: Iterable[str],
    topic_order: Sequence[str],
    *,
    papers: Sequence[Paper] = (),
    topic_limits: Mapping[str, int | None] | None = None,
) -> Digest:
    """The subscriber's digest: "Followed authors" first (papers by subscriber.authors,
    found among every topic's matches and `papers`), then their topics (empty: all) in
    config order.

    Each paper appears once, in the topic where it scores best (the earlier topic on a
    tie); excluded ids are dropped. When there are more than max_papers, followed authors
    come first, then the topics take turns, each giving its next-best paper (round-robin
    by rank), so every topic gets a fair share whatever its score scale (a trending
    topic's popularity is not comparable with a query's relevance). `topic_limits` caps a
    topic's papers per digest (its max_papers), after the exclusions. `omitted` counts the
    papers cut (not sent, not marked seen: the next digest brings them)."""
    excluded = set(exclude)
    wanted = set(subscriber.topics or topic_order)
    order = [name for name in topic_order if name in wanted]
    best: dict[str, tuple[tuple, str, Match]] = {}
    for t, name in enumerate(order):
        for pos, m in enumerate(topic_matches.get(name, [])):
            if m.paper.id in excluded:
                continue
            key = (1, -m.score, t, pos)
            if m.paper.id not in best or key < best[m.paper.id][0]:
                best[m.paper.id] = (key, name, m)
    if subscriber.authors:
        pool: dict[str, Paper] = {}
        for matches in topic_matches.values():
            for m in matches:
                pool.setdefault(m.paper.id, m.paper)
        for p in papers:
            pool.setdefault(p.id, p)
        for pos, (pid, paper) in enumerate(pool.items()):
            author = None if pid in excluded else followed_author(paper, subscriber.authors)
            if author is None:
                continue
            prior = best.get(pid)
            score = max(1.0, prior[2].score) if prior else 1.0
            why = (Reason("author", author, "author"), *(prior[2].reasons if prior else ()))
            best[pid] = (
                (0, -score, -1, pos),
                AUTHORS_SECTION,
                Match(paper, AUTHORS_SECTION, score, tuple(dict.fromkeys(why))),
            )
    queues: dict[str, list[tuple[tuple, Match]]] = {}
    for key, section, m in sorted(best.values(), key=lambda item: item[0]):
        queues.setdefault(section, []).append((key, m))
    ranked = list(queues.pop(AUTHORS_SECTION, []))
    limits = topic_limits or {}
    lanes = [queues.get(name, []) for name in order]
    over_cap: list[Match] = []
    for i, name in enumerate(order):
        limit = limits.get(name)
        if limit is not None and len(lanes[i]) > limit:
            over_cap += [m for _, m in lanes[i][limit:]]
            lanes[i] = lanes[i][:limit]
    for turn in range(max((len(lane) for lane in lanes), default=0)):
        ranked.extend(lane[turn] for lane in lanes if turn < len(lane))
    kept = ranked[: subscriber.max_papers]
    by_section: dict[str, list[tuple[tuple, Match]]] = {}
    for key, m in kept:
        section = AUTHORS_SECTION if key[0] == 0 else order[key[2]]
        by_section.setdefault(section, []).append((key, m))
    sections = []
    for name in (AUTHORS_SECTION, *order):
        chosen = by_section.get(name)
        if chosen:
            chosen.sort(key=lambda item: item[0])
            sections.append(TopicSection(name, tuple(m for _, m in chosen)))
    left_out = (*(m for _, m in ranked[len(kept) :]), *over_cap)
    return Digest(issue, subscriber, tuple(sections), omitted=len(left_out), left_out=left_out)
