"""An in-memory inverted index of one batch of papers, built once per run and shared by
every topic: per field the token sequence (term ids, paper after paper) and postings
(which papers hold a term, how often), built on demand for the terms queries ask for.

Built from the papers being matched (the new ones), never from the whole history, so a
daily run costs in proportion to what is new. Tokenising is vectorised
(digest/tokenize.py); postings for every term a batch of queries needs are built in one
pass over the sequence (`prepare`), so 1,000 topics cost one sort of their terms'
occurrences, not one scan each. numpy is imported here, not by `digest.select`, and scipy
only by `FieldIndex.counts` (TF-IDF similarity), so importing the package stays light.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from digest.analyze import Vocab, fold
from digest.models import Paper
from digest.tokenize import tokenize

TEXT_FIELDS = ("title", "abstract")
# Authors are joined with this id between names so a phrase never spans two people.
_GAP = -1


@dataclass
class FieldIndex:
    """One field: token sequences, lengths and (lazily) postings."""

    seq: np.ndarray  # all token ids, doc after doc (int32; _GAP between authors)
    offsets: np.ndarray  # doc d's tokens are seq[offsets[d]:offsets[d+1]]
    lengths: np.ndarray  # tokens per doc (float64)
    n_terms: int
    _postings: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)
    _counts: Any = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return len(self.offsets) - 1

    def postings(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        """Docs (sorted, int32) that contain term `tid`, and how often (float64)."""
        if tid < 0 or tid >= self.n_terms:
            return _EMPTY_I, _EMPTY_F
        hit = self._postings.get(tid)
        if hit is None:
            self.prepare((tid,))
            hit = self._postings[tid]
        return hit

    def prepare(self, tids: Iterable[int] | None = None) -> None:
        """Build the postings of these terms (None: all) in one pass over the sequence:
        their occurrences are picked out, keyed (term, doc), sorted and counted."""
        if tids is None:
            todo = np.arange(self.n_terms, dtype=np.int64)
        else:
            todo = np.unique(
                np.fromiter(
                    (t for t in tids if 0 <= t < self.n_terms and t not in self._postings), np.int64
                )
            )
        if not len(todo):
            return
        if tids is None or len(todo) == self.n_terms:
            pos = np.flatnonzero(self.seq >= 0)
        else:
            want = np.zeros(self.n_terms + 1, dtype=bool)  # the extra slot: _GAP (-1)
            want[todo] = True
            pos = np.flatnonzero(want[self.seq])
        n = max(self.n, 1)
        key = self.seq[pos].astype(np.int64) * n
        key += np.searchsorted(self.offsets, pos, side="right") - 1
        key.sort()
        if len(key):
            first = np.flatnonzero(np.diff(key, prepend=key[0] - 1))
            freq = np.diff(first, append=len(key)).astype(np.float64)
            key = key[first]
        else:
            freq = _EMPTY_F
        terms, docs = np.divmod(key, n)
        docs = docs.astype(np.int32)
        bounds = np.searchsorted(terms, np.append(todo, self.n_terms))
        for k, tid in enumerate(todo.tolist()):
            lo, hi = bounds[k], bounds[k + 1]
            self._postings[tid] = (docs[lo:hi], freq[lo:hi])

    @property
    def counts(self) -> Any:
        """The docs x terms count matrix (scipy.sparse.csc_matrix, int32)."""
        if self._counts is None:
            from scipy import sparse

            self.prepare(None)
            parts = [self._postings[t] for t in range(self.n_terms)]
            indptr = np.zeros(self.n_terms + 1, dtype=np.int64)
            np.cumsum([len(d) for d, _ in parts], out=indptr[1:])
            indices = np.concatenate([d for d, _ in parts]) if parts else _EMPTY_I
            data = np.concatenate([f for _, f in parts]).astype(np.int32) if parts else _EMPTY_I
            self._counts = sparse.csc_matrix(
                (data, indices, indptr), shape=(self.n, max(self.n_terms, 1))
            )
        return self._counts

    def phrase(self, tids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Docs that contain the terms consecutively, and how many times.

        Only the candidates (papers with every word) are scanned, all at once: their token
        slices are gathered into one array and the phrase is checked with shifted
        comparisons, so the cost follows the candidates' length, not the corpus."""
        docs = None
        for tid in tids:
            d, _ = self.postings(tid)
            docs = d if docs is None else np.intersect1d(docs, d, assume_unique=True)
            if not len(docs):
                return _EMPTY_I, _EMPTY_F
        lens = (self.offsets[docs + 1] - self.offsets[docs]).astype(np.int64)
        total = int(lens.sum())
        local_start = np.cumsum(lens) - lens
        owner = np.repeat(np.arange(len(docs)), lens)
        pos = np.arange(total, dtype=np.int64) - local_start[owner]  # position in its doc
        tokens = self.seq[self.offsets[docs][owner] + pos]
        width = len(tids)
        hit = tokens[: total - width + 1] == tids[0] if total >= width else np.zeros(0, bool)
        for k in range(1, width):
            hit &= tokens[k : total - width + 1 + k] == tids[k]
        starts = np.flatnonzero(hit)
        starts = starts[pos[starts] + width <= lens[owner[starts]]]  # not across two docs
        if not len(starts):
            return _EMPTY_I, _EMPTY_F
        which, freq = np.unique(owner[starts], return_counts=True)
        return docs[which].astype(np.int32), freq.astype(np.float64)


_EMPTY_I = np.zeros(0, dtype=np.int32)
_EMPTY_F = np.zeros(0, dtype=np.float64)


@dataclass
class Index:
    papers: Sequence[Paper]
    vocab: Vocab  # shared by title and abstract
    fields: dict[str, FieldIndex]
    names: Vocab  # author words (stemmed like the text, so queries meet them)
    labels: dict[str, dict[str, np.ndarray]]  # category/source value -> docs
    _sorted_terms: list[str] | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return len(self.papers)

    def doc_freq(self, tid: int) -> np.ndarray:
        """Docs that have the term in the title or the abstract."""
        a, _ = self.fields["title"].postings(tid)
        b, _ = self.fields["abstract"].postings(tid)
        return np.union1d(a, b)

    def prefix_ids(self, prefix: str) -> list[int]:
        """Ids of every (stemmed) term that starts with `prefix`."""
        if self._sorted_terms is None:
            self._sorted_terms = sorted(self.vocab.terms)
        terms = self._sorted_terms
        lo = bisect.bisect_left(terms, prefix)
        out = []
        for term in terms[lo:]:
            if not term.startswith(prefix):
                break
            out.append(self.vocab.term_ids[term])
        return out

    def label_docs(self, kind: str, value: str) -> np.ndarray:
        """Docs whose category (or source name/type) equals `value`, or, for categories,
        lies under it (`cs` covers `cs.LG`)."""
        table = self.labels[kind]
        value = fold(value)
        hits = [
            docs
            for label, docs in table.items()
            if label == value or (kind == "category" and label.startswith(value + "."))
        ]
        if not hits:
            return _EMPTY_I
        return np.unique(np.concatenate(hits))


def build_index(papers: Sequence[Paper]) -> Index:
    n = len(papers)
    vocab = Vocab()
    ids, off = tokenize([p.title for p in papers] + [p.abstract for p in papers], vocab)
    split = int(off[n])
    fields = {
        "title": _field(ids[:split], off[: n + 1], len(vocab.terms)),
        "abstract": _field(ids[split:], off[n:] - split, len(vocab.terms)),
    }
    names = Vocab()
    fields["author"] = _authors(papers, names)
    labels: dict[str, dict[str, list[int]]] = {"category": {}, "source": {}}
    folded: dict[str, str] = {}
    for d, p in enumerate(papers):
        for c in p.categories:
            labels["category"].setdefault(c, []).append(d)
        for x in {*p.sources, *p.source_types}:
            labels["source"].setdefault(x, []).append(d)
    arrays: dict[str, dict[str, np.ndarray]] = {}
    for kind, table in labels.items():
        merged: dict[str, list[int]] = {}
        for label, docs in table.items():
            key = folded.get(label) or folded.setdefault(label, fold(label))
            merged.setdefault(key, []).extend(docs)
        arrays[kind] = {k: np.unique(np.asarray(v, dtype=np.int32)) for k, v in merged.items()}
    return Index(papers, vocab, fields, names, arrays)


def _field(
    seq: np.ndarray, offsets: np.ndarray, n_terms: int, lengths: np.ndarray | None = None
) -> FieldIndex:
    if lengths is None:
        lengths = np.diff(offsets)
    return FieldIndex(seq, offsets, lengths.astype(np.float64), n_terms)


def _authors(papers: Sequence[Paper], names: Vocab) -> FieldIndex:
    """Every paper's author names in one sequence, a _GAP between two authors."""
    per_paper = np.fromiter((len(p.authors) for p in papers), np.int64, len(papers))
    ids, off = tokenize([a for p in papers for a in p.authors], names)
    first = np.zeros(len(papers) + 1, dtype=np.int64)  # each paper's first author
    np.cumsum(per_paper, out=first[1:])
    later = np.ones(int(first[-1]), dtype=bool)  # authors after their paper's first
    later[first[:-1][per_paper > 0]] = False
    seq = np.insert(ids, off[:-1][later], _GAP).astype(np.int32)
    gaps = np.zeros(len(papers) + 1, dtype=np.int64)
    np.cumsum(np.maximum(per_paper - 1, 0), out=gaps[1:])
    offsets = off[first] + gaps
    return _field(seq, offsets, len(names.terms), np.diff(off[first]))
