"""Text analysis shared by queries, ranking and similarity: one tokenizer, one stemmer.

A query term and a paper's text go through the same steps, so they meet as equals:
Unicode-fold (NFKD, accents dropped, case-folded), split into runs of letters and digits,
then a light English stemmer (plurals, -ing, -ed, a final -e). "Transformers" and
"transformer" meet at `transformer`; "inferencing" and "inference" at `inferenc`;
"Flash-LLM" is the two-token phrase `flash llm`; "LLM.int8()" is `llm int8`.

The stemmer is deliberately light: an aggressive one (Porter/Snowball) merges
"generative" with "generation" and "university" with "universe", which costs precision on
short topic queries more than it buys recall.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+")
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_VOWELS = frozenset("aeiouy")
# ASCII fast path: bytes.translate maps letters to lower case and everything that is not
# a letter or digit to a space, then split(); ~3x faster than the regex on abstracts.
_ASCII_TABLE = bytes(
    (c | 0x20) if chr(c).isalpha() and c < 128 else c if chr(c).isdigit() and c < 128 else 32
    for c in range(256)
)


def fold(text: str) -> str:
    """Case- and accent-insensitive form: "Bäck" -> "back", "ﬁ" -> "fi"."""
    if text.isascii():
        return text.lower()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text)).casefold()


def words(text: str) -> list[str]:
    """The folded, unstemmed words of a text (used for names)."""
    return _WORD.findall(fold(text))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Light English stemmer for one folded word. Words with digits, and short words,
    are kept as they are ("int8", "gpt", "vit")."""
    if len(word) <= 3 or not word.isalpha():
        return word
    w = word
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if not w.endswith(suffix) or (suffix == "ed" and w.endswith("eed")):
            continue
        base = w[: -len(suffix)]
        if len(base) >= 3 and any(ch in _VOWELS for ch in base):
            w = base
            # embedd(ing) -> embed, but keep "ll", "ss", "zz" (modelling, passing)
            if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz" + "aeiou":
                w = w[:-1]
        break
    if len(w) > 3 and w.endswith("e") and not w.endswith("ee"):
        w = w[:-1]
    return w


def folded_words(text: str) -> str:
    """The folded words of a text joined by spaces (what the batch tokenizer reads)."""
    return " ".join(_WORD.findall(fold(text)))


def terms(text: str) -> list[str]:
    """The stemmed terms of a text, in order: what the index stores and queries look up."""
    return [stem(w) for w in _WORD.findall(fold(text))]


class Vocab(dict):
    """Raw folded word -> term id, with the stem computed once per distinct word.

    `ids(text)` maps a whole text in C-level passes (bytes.translate, split, map over
    dict.get), which is what keeps indexing 100,000 abstracts fast: the Python work is per
    distinct word, not per token."""

    def __init__(self) -> None:
        super().__init__()
        self.term_ids: dict[str, int] = {}  # stemmed term -> id
        self.terms: list[str] = []  # id -> stemmed term

    def __missing__(self, word: str | bytes) -> int:
        if isinstance(word, bytes):  # the byte-level paths' key (UTF-8) for the same word
            tid = self[word.decode()]
            self[word] = tid
            return tid
        term = stem(word)
        tid = self.term_ids.get(term)
        if tid is None:
            tid = self.term_ids[term] = len(self.terms)
            self.terms.append(term)
        self[word] = tid
        return tid

    def word_ids(self, words: list[bytes]) -> list[int]:
        """The ids of UTF-8 words: what `self[w]` gives for each, in one loop (the batch
        tokeniser's per-distinct-word work, without two __missing__ calls per new word)."""
        get, term_ids, terms, out = self.get, self.term_ids, self.terms, []
        for raw in words:
            tid = get(raw)
            if tid is None:
                word = raw.decode()
                tid = get(word)
                if tid is None:
                    term = stem(word)
                    tid = term_ids.get(term)
                    if tid is None:
                        tid = term_ids[term] = len(terms)
                        terms.append(term)
                    self[word] = tid
                self[raw] = tid
            out.append(tid)
        return out

    def ids(self, text: str) -> list[int]:
        toks: list[str] | list[bytes]
        if text.isascii():
            toks = text.encode().translate(_ASCII_TABLE).split()
        else:
            text = fold(text)
            toks = (
                text.encode().translate(_ASCII_TABLE).split()
                if text.isascii()
                else _WORD.findall(text)
            )
        # dict.get is a fast C call; the rare new word goes through __missing__.
        ids = list(map(self.get, toks))
        if None in ids:
            ids = [self[w] if i is None else i for i, w in zip(ids, toks, strict=True)]
        return ids  # type: ignore[return-value]

    def lookup(self, term: str) -> int | None:
        """The id of an already stemmed term, or None when no paper has it."""
        return self.term_ids.get(term)


# ----------------------------------------------------------------------------- names
def name_tokens(name: str) -> tuple[str, ...]:
    return tuple(words(name))


def name_matches(followed: tuple[str, ...], author: tuple[str, ...]) -> bool:
    """Whether a followed name ("hinton", "geoffrey hinton", "g hinton") denotes an author
    ("Geoffrey E. Hinton"): its words appear in the author's name in order; an initial
    matches a word with that first letter, and the last word must be the surname."""
    if not followed or not author:
        return False
    if not _same(followed[-1], author[-1]) and len(followed) > 1:
        return False
    if len(followed) == 1:
        return any(followed[0] == a for a in author)
    pos = 0
    for part in followed:
        while pos < len(author) and not _same(part, author[pos]):
            pos += 1
        if pos == len(author):
            return False
        pos += 1
    return True


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) == 1 or len(b) == 1:
        return a[0] == b[0]
    return False


def title_words_key(title: str) -> str:
    """A title reduced to its folded words, for "is this the same title" checks."""
    return " ".join(words(title))
