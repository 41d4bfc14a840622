"""Evaluating a parsed query over an index, vectorised.

Only candidate papers are touched: those that contain at least one term the query asks
for (a query that can match without any, like `NOT quantum`, takes every paper). Each
term becomes one postings slice of the sparse matrix; AND/OR/NOT are numpy boolean
operations over the candidates; phrases check positions only in papers that have every
word. Scoring is described in digest/rank.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digest.index import Index
from digest.models import Reason
from digest.query import And, Not, Query, Term
from digest.rank import TITLE_WEIGHT, TextStats, idf

_NONE = np.zeros(0, dtype=np.int32)


@dataclass
class _Leaf:
    term: Term
    positive: bool
    hits: dict[str, np.ndarray]  # field -> bool over candidates
    score: np.ndarray  # 0..1 over candidates
    weight: float | None  # idf, None for non-text terms


@dataclass
class QueryResult:
    """The matching papers (index positions, ascending), their relevance (0..1) and, per
    positive term, where it was found."""

    docs: np.ndarray
    scores: np.ndarray
    leaves: list[tuple[Term, dict[str, np.ndarray]]]

    def reasons(self, i: int) -> tuple[Reason, ...]:
        """The reasons of the i-th matching paper (i indexes `docs`)."""
        out: list[Reason] = []
        seen: set[tuple[str, str]] = set()
        for term, hits in self.leaves:
            where = next((f for f, mask in hits.items() if mask[i]), None)
            if where is None or (term.text.lower(), where) in seen:
                continue
            seen.add((term.text.lower(), where))
            out.append(_reason(term, where))
        return tuple(out)


def _reason(term: Term, where: str) -> Reason:
    if term.field == "category":
        return Reason("category", f"category {term.text}", "category")
    if term.field == "source":
        return Reason("source", f"from {term.text}", "source")
    if term.field == "author":
        return Reason("author", term.text, "author")
    return Reason(term.kind, term.text + ("*" if term.prefix else ""), where)


def _stats(index: Index) -> TextStats:
    cached = getattr(index, "_text_stats", None)
    if cached is None:
        cached = TextStats(index.fields["title"].lengths, index.fields["abstract"].lengths)
        index._text_stats = cached  # type: ignore[attr-defined]
    return cached


def _postings(index: Index, term: Term, field: str) -> tuple[np.ndarray, np.ndarray]:
    """Docs with the term in `field` and the term's frequency there."""
    fidx = index.fields[field]
    lookup = index.names.lookup if field == "author" else index.vocab.lookup
    if term.prefix:
        ids = index.prefix_ids(term.tokens[0]) if field != "author" else []
        if not ids:
            return np.zeros(0, np.int32), np.zeros(0)
        fidx.prepare(ids)
        parts = [fidx.postings(t) for t in ids]
        docs = np.concatenate([p[0] for p in parts])
        freq = np.concatenate([p[1] for p in parts])
        uniq, inv = np.unique(docs, return_inverse=True)
        return uniq, np.bincount(inv, weights=freq, minlength=len(uniq))
    ids = [lookup(t) for t in term.tokens]
    if any(t is None for t in ids):
        return np.zeros(0, np.int32), np.zeros(0)
    if len(ids) == 1:
        return fidx.postings(ids[0])  # type: ignore[arg-type]
    return fidx.phrase(ids)  # type: ignore[arg-type]


def prepare(queries: list[Query], index: Index) -> None:
    """Build, in one pass per field, the postings every one of these queries will ask
    for: 1,000 topics then cost one sort of their terms' occurrences, not a scan each."""
    want: dict[str, set[int]] = {f: set() for f in index.fields}
    for query in queries:
        for term, _ in query.leaves():
            if term.field in ("category", "source"):
                continue
            for f in _fields_of(term):
                if term.prefix:
                    if f != "author":
                        want[f].update(index.prefix_ids(term.tokens[0]))
                    continue
                lookup = index.names.lookup if f == "author" else index.vocab.lookup
                want[f].update(t for t in map(lookup, term.tokens) if t is not None)
    for f, tids in want.items():
        if tids:
            index.fields[f].prepare(tids)


def _fields_of(term: Term) -> tuple[str, ...]:
    return ("title", "abstract") if term.field is None else (term.field,)


def _term_docs(index: Index, term: Term) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    if term.field in ("category", "source"):
        docs = index.label_docs(term.field, term.tokens[0])
        return {term.field: (docs, np.ones(len(docs)))}
    return {f: _postings(index, term, f) for f in _fields_of(term)}


def _satisfiable_without_terms(node) -> bool:
    """Whether the query holds for a paper that has none of its terms."""
    if isinstance(node, Term):
        return False
    if isinstance(node, Not):
        return not _satisfiable_without_terms(node.child)
    values = [_satisfiable_without_terms(c) for c in node.children]
    return all(values) if isinstance(node, And) else any(values)


def evaluate(query: Query, index: Index) -> QueryResult:
    leaves = query.leaves()
    postings = [_term_docs(index, term) for term, _ in leaves]
    if _satisfiable_without_terms(query.root):
        cand = np.arange(index.n, dtype=np.int32)
    else:  # the union of the positive terms' postings
        parts = [
            docs
            for (_, positive), per_field in zip(leaves, postings, strict=True)
            if positive
            for docs, _ in per_field.values()
        ]
        total = sum(len(d) for d in parts)
        if total * 8 > index.n:  # common words: a dense mark is cheaper than a sort
            seen = np.zeros(index.n, dtype=bool)
            for docs in parts:
                seen[docs] = True
            cand = np.flatnonzero(seen).astype(np.int32)
        else:
            cand = np.unique(np.concatenate(parts)).astype(np.int32) if total else _NONE
    stats = _stats(index)
    m = len(cand)
    built: dict[int, _Leaf] = {}
    for (term, positive), per_field in zip(leaves, postings, strict=True):
        hits: dict[str, np.ndarray] = {}
        tf = np.zeros(m)
        doc_sets = []
        for f, (docs, freq) in per_field.items():
            pos = np.searchsorted(cand, docs)
            ok = pos < m
            ok[ok] = cand[pos[ok]] == docs[ok]
            mask = np.zeros(m, dtype=bool)
            mask[pos[ok]] = True
            hits[f] = mask
            weight = TITLE_WEIGHT if f == "title" else 1.0
            np.add.at(tf, pos[ok], weight * freq[ok])
            doc_sets.append(docs)
        if term.field in (None, "title", "abstract"):
            score = stats.saturate(tf, cand) if m else tf
            # candidates hold every paper with a positive term, so this is its true df
            df = int(np.count_nonzero(tf)) if positive else len(doc_sets[0])
            weight_idf: float | None = idf(df, index.n)
        else:
            score = (tf > 0).astype(np.float64)
            weight_idf = None
        built[id(term)] = _Leaf(term, positive, hits, score, weight_idf)
    match, score = _node(query.root, built, m)
    keep = np.flatnonzero(match)
    result_leaves = [
        (leaf.term, {f: h[keep] for f, h in leaf.hits.items()})
        for leaf in built.values()
        if leaf.positive
    ]
    return QueryResult(cand[keep], score[keep], result_leaves)


def _node(node, built: dict[int, _Leaf], m: int) -> tuple[np.ndarray, np.ndarray]:
    """(matches, relevance) over the candidates, both arrays of length m."""
    if isinstance(node, Term):
        leaf = built[id(node)]
        return leaf.score > 0, leaf.score
    if isinstance(node, Not):
        inner, _ = _node(node.child, built, m)
        ok = ~inner
        return ok, ok.astype(np.float64)
    results = [_node(c, built, m) for c in node.children]
    weights = _weights(node.children, built)
    if isinstance(node, And):
        ok = np.logical_and.reduce([r[0] for r in results])
        scored = [
            (r[1], w)
            for c, r, w in zip(node.children, results, weights, strict=True)
            if not isinstance(c, Not)
        ]
        if not scored:
            return ok, ok.astype(np.float64)
        total = sum(w for _, w in scored)
        score = sum(s * w for s, w in scored) / total
        return ok, np.where(ok, score, 0.0)
    ok = np.logical_or.reduce([r[0] for r in results])
    keep = np.ones(m)
    for (_, s), w in zip(results, weights, strict=True):
        keep *= np.power(np.clip(1.0 - s, 0.0, 1.0), w)
    return ok, np.where(ok, 1.0 - keep, 0.0)


def _weights(children, built: dict[int, _Leaf]) -> list[float]:
    """Each child's weight relative to the rarest text term among them (1 at most)."""
    raw = [built[id(c)].weight if isinstance(c, Term) else None for c in children]
    known = [w for w in raw if w is not None]
    top = max(known) if known else 1.0
    return [1.0 if w is None or top <= 0 else max(w / top, 1e-6) for w in raw]
