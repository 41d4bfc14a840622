"""An in-memory inverted index of one batch of papers, built once per run and shared by
every topic: per field a sparse term-document count matrix (CSC, so a term's postings are
one slice) and the token sequence (for phrases).

Built from the papers being matched (the new ones), never from the whole history, so a
daily run costs in proportion to what is new. numpy/scipy are imported here, not by
`digest.select`, so importing the package stays light.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from digest.analyze import Vocab, fold, words
from digest.models import Paper

TEXT_FIELDS = ("title", "abstract")
# Authors are joined with this id between names so a phrase never spans two people.
_GAP = -1


@dataclass
class FieldIndex:
    """One field: counts (docs x terms, CSC), token sequences and lengths."""

    counts: Any  # scipy.sparse.csc_matrix, int32
    seq: np.ndarray  # all token ids, doc after doc
    offsets: np.ndarray  # doc d's tokens are seq[offsets[d]:offsets[d+1]]
    lengths: np.ndarray  # tokens per doc (float64)

    def postings(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        """Docs (sorted) that contain term `tid`, and how often."""
        if tid < 0 or tid >= self.counts.shape[1]:
            return _EMPTY_I, _EMPTY_F
        lo, hi = self.counts.indptr[tid], self.counts.indptr[tid + 1]
        return self.counts.indices[lo:hi], self.counts.data[lo:hi].astype(np.float64)

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
    names: Vocab  # author words (unstemmed)
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
        hits = [docs for label, docs in table.items()
                if label == value or (kind == "category" and label.startswith(value + "."))]
        if not hits:
            return _EMPTY_I
        return np.unique(np.concatenate(hits))


def build_index(papers: Sequence[Paper]) -> Index:
    vocab = Vocab()
    text = {"title": [vocab.ids(p.title) for p in papers],
            "abstract": [vocab.ids(p.abstract) for p in papers]}
    names = Vocab()
    author_seqs = []
    for p in papers:
        seq: list[int] = []
        for a in p.authors:
            if seq:
                seq.append(_GAP)
            seq.extend(names[w] for w in words(a))
        author_seqs.append(seq)
    fields = {name: _field(seqs, len(vocab.terms)) for name, seqs in text.items()}
    fields["author"] = _field(author_seqs, len(names.terms))
    labels: dict[str, dict[str, list[int]]] = {"category": {}, "source": {}}
    for d, p in enumerate(papers):
        for c in p.categories:
            labels["category"].setdefault(fold(c), []).append(d)
        for s in {fold(x) for x in (*p.sources, *p.source_types)}:
            labels["source"].setdefault(s, []).append(d)
    arrays = {k: {v: np.unique(np.asarray(d, dtype=np.int32)) for v, d in t.items()}
              for k, t in labels.items()}
    return Index(papers, vocab, fields, names, arrays)


def _field(seqs: list[list[int]], n_terms: int) -> FieldIndex:
    n = len(seqs)
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    seq = np.fromiter(itertools.chain.from_iterable(seqs), dtype=np.int32, count=int(offsets[-1]))
    rows = np.repeat(np.arange(n, dtype=np.int32), lengths)
    real = seq != _GAP
    counts = sparse.csc_matrix(
        (np.ones(int(real.sum()), dtype=np.int32), (rows[real], seq[real])),
        shape=(n, max(n_terms, 1)),
    )
    counts.sum_duplicates()
    counts.sort_indices()
    real_len = lengths - np.bincount(rows[~real], minlength=n) if (~real).any() else lengths
    return FieldIndex(counts, seq, offsets, real_len.astype(np.float64))
