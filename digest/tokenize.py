"""Tokenising a whole batch of texts at once, in numpy: the per-token work of indexing.

`tokenize(texts, vocab)` gives the same term ids, in the same order, as calling
`vocab.ids(text)` on each text (digest/analyze.py), but without a Python object per token:
100,000 abstracts are ~20 million tokens, and creating, hashing and looking up a bytes
object for each of them was most of the cost of a run.

How: the texts are joined into one byte buffer (each non-ASCII text first reduced to its
folded words, so only letters, digits and spaces remain) and mapped to lower case with
bytes.translate. Token boundaries are where a space meets a non-space. A token of up to 8
bytes is keyed by its own bytes read as one integer (exact); a longer one by a 64-bit mix
of its 8-byte words. A vectorised open-addressing hash table turns the keys into dense
word numbers, and only the distinct words (tens of thousands) go through Python, to be
stemmed and given a term id. Tokens longer than `_LONG` bytes (rare) are looked up
exactly in a dict. Every long token is checked against the first occurrence of its key
(length, first and last byte); should that ever fail (a 64-bit collision), the texts are
tokenised the plain way.

The buffer is processed in chunks of `_CHUNK` bytes, from boundaries to term ids, so every
temporary is a few hundred kilobytes that stays in cache and is reused, where whole-buffer
passes made several arrays of hundreds of megabytes each (page faults and memory traffic
were most of the time). The hash table persists across chunks and grows when half full.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from digest.analyze import Vocab, folded_words

_SPACE = 32
# ASCII letters -> lower case, digits and non-ASCII bytes (the UTF-8 of folded words) kept,
# everything else -> space.
_TABLE = bytes(
    (c | 0x20)
    if chr(c).isalpha() and c < 128
    else c
    if (c < 128 and chr(c).isdigit()) or c >= 128
    else _SPACE
    for c in range(256)
)
_CHUNK = 1 << 20  # bytes per chunk (cut at a space): its temporaries stay in cache
_BITS = 17  # the table's first size: more slots than a chunk has tokens
_LONG = 48
_MASKS = np.array([(1 << (8 * i)) - 1 for i in range(9)], dtype=np.uint64)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_LEN_MIX = np.uint64(0xC2B2AE3D27D4EB4F)
_UNSET = -2  # a slot whose word has no term id yet (-1: a word looked up exactly)


def tokenize(texts: Sequence[str], vocab: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """(term ids of every token, text after text, as int32; offsets: text d's tokens are
    ids[offsets[d]:offsets[d+1]])."""
    n = len(texts)
    parts = [t if t.isascii() else folded_words(t) for t in texts]
    pad = " " * (_LONG + 7)  # room to read 8-byte words past the last token
    blob = " ".join(["", *parts, pad])  # a space before, between and after the texts
    if blob.isascii():
        sizes = np.fromiter(map(len, parts), np.int64, n)
        raw = blob.encode("ascii")
    else:
        sizes = np.fromiter((len(p.encode()) for p in parts), np.int64, n)
        raw = blob.encode()
    buf = raw.translate(_TABLE)
    del blob, raw
    text_end = len(buf) - len(pad) - 1  # the space after the last text
    doc_start = np.cumsum(sizes + 1) - sizes  # where each text begins in buf
    offsets = np.empty(n + 1, dtype=np.int64)
    ids = np.empty(text_end // 2 + 1, dtype=np.int32)  # room for the most tokens possible
    words = _Words(buf, vocab)
    lo, total, done = 0, 0, 0
    while lo < text_end:
        s = buf.find(b" ", lo + _CHUNK, text_end) if lo + _CHUNK < text_end else -1
        s = text_end if s < 0 else s
        starts, lengths, keys, longer = _scan(words.a, words.window, lo, s)
        upto = int(np.searchsorted(doc_start, s, side="right"))
        offsets[done:upto] = total + np.searchsorted(starts, doc_start[done:upto])
        done = upto
        if words.add(starts, lengths, keys, longer, ids[total : total + len(keys)]):
            return plain_tokenize(texts, vocab)  # a hash collision: never seen, be exact
        total += len(keys)
        lo = s
    offsets[done:] = total
    ids.resize(total, refcheck=False)  # shrinks in place: no view of it exists
    return ids, offsets


def plain_tokenize(texts: Sequence[str], vocab: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """The reference: one text at a time through Vocab.ids."""
    seqs = [vocab.ids(t) for t in texts]
    offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in seqs], out=offsets[1:])
    flat = [tid for s in seqs for tid in s]
    return np.asarray(flat, dtype=np.int32).reshape(-1), offsets


def _scan(
    a: np.ndarray, window: np.ndarray, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Start, length and key (never 0: 0 marks an empty slot) of every token in
    buf[lo:hi+1], which begins and ends with a space, and which tokens are over 7 bytes.

    A token of up to 8 bytes is its own key (its bytes as one little-endian integer,
    shifted up: a bijection, so such keys never collide); a longer one mixes its 8-byte
    words, low bit set. Words are read straight from the buffer through a strided uint64
    view."""
    word = a[lo : hi + 1] != _SPACE
    # a start, then an end, alternately (nonzero on bools is several times faster than
    # on the int8 difference)
    edge = np.flatnonzero(word[1:] != word[:-1])
    starts = edge[0::2] + (lo + 1)
    lengths = edge[1::2] - edge[0::2]
    with np.errstate(over="ignore"):
        # up to 7 bytes: the bytes themselves, shifted up (the low byte stays 0)
        shift = ((8 - np.minimum(lengths, 8)) << 3).astype(np.uint64)
        key = window[starts] << shift
        longer = np.flatnonzero(lengths > 7)
        if len(longer):  # 8 bytes or more: a mix of the 8-byte words, low bit set
            acc = key[longer]
            for k in range(8, _LONG, 8):
                longer_k = lengths[longer] > k
                if not longer_k.any():
                    break
                at = longer[longer_k]
                w = window[starts[at] + k] & _MASKS[np.minimum(lengths[at] - k, 8)]
                acc[longer_k] = (acc[longer_k] ^ (acc[longer_k] >> np.uint64(31))) * _MIX + w
            acc = (acc ^ (acc >> np.uint64(29))) * _LEN_MIX
            acc ^= acc >> np.uint64(32)
            acc |= np.uint64(1)
            acc[lengths[longer] > _LONG] = 1  # looked up exactly instead
            key[longer] = acc
    return starts, lengths, key, longer


class _Words:
    """The distinct words met so far: an open-addressing hash table of their keys, with
    each slot's term id and, for a hashed (long) word, the length, first and last byte of
    its first occurrence (`_sig`), which every later token of the key must match."""

    def __init__(self, buf: bytes, vocab: Vocab) -> None:
        self.buf, self.vocab = buf, vocab
        self.a = np.frombuffer(buf, dtype=np.uint8)
        self.window = np.ndarray((len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
        self.bits, self.count = _BITS, 0
        self.table = np.zeros(1 << _BITS, dtype=np.uint64)
        self.lut = np.full(1 << _BITS, _UNSET, dtype=np.int32)
        self.sig = np.zeros(1 << _BITS, dtype=np.int64)

    def add(
        self,
        starts: np.ndarray,
        lengths: np.ndarray,
        keys: np.ndarray,
        longer: np.ndarray,
        out: np.ndarray,
    ) -> bool:
        """Write the tokens' term ids to `out`; True on a collision of two long words.
        `longer`: the tokens of over 7 bytes."""
        while self.count + len(keys) >= len(self.table):  # an empty slot for every key
            self._grow()
        slot = self._place(keys)
        np.take(self.lut, slot, out=out, mode="clip")  # clip: unbuffered
        if len(longer):
            ln = lengths[longer]
            at = starts[longer]
            sig = (ln << 16) | (self.a[at].astype(np.int64) << 8) | self.a[at + ln - 1]
            sig[ln > _LONG] = 0  # looked up exactly, so never checked
        new = np.flatnonzero(out == _UNSET)
        if len(new):
            fresh, first = np.unique(slot[new], return_index=True)
            first = new[first]
            self.lut[fresh] = self._term_ids(
                self.table[fresh].tolist(), starts[first].tolist(), lengths[first].tolist()
            )
            out[new] = self.lut[slot[new]]
            self.count += len(fresh)
            if len(longer):
                was = np.zeros(len(keys), dtype=np.int64)  # each new long word's signature
                was[longer] = sig
                self.sig[fresh] = was[first]
        if len(longer):
            if not (self.sig[slot[longer]] == sig).all():
                return True
            huge = longer[sig == 0]
            if len(huge):
                out[huge] = [
                    self.vocab[self.buf[s : s + ln]]
                    for s, ln in zip(starts[huge].tolist(), lengths[huge].tolist(), strict=True)
                ]
        if self.count > len(self.table) // 2:
            self._grow()
        return False

    def _term_ids(self, keys: list[int], starts: list[int], lengths: list[int]) -> list[int]:
        """The term ids of new words (the Python work: once per distinct word)."""
        buf, words, where = self.buf, [], []
        for i, (key, s, ln) in enumerate(zip(keys, starts, lengths, strict=True)):
            if key == 1:  # too long to key: each token is looked up exactly
                continue
            where.append(i)
            # a long word's bytes are in the buffer; a short word is its key
            words.append(buf[s : s + ln] if key & 1 else key.to_bytes(8, "little").lstrip(b"\0"))
        out = [-1] * len(keys)
        for i, tid in zip(where, self.vocab.word_ids(words), strict=True):
            out[i] = tid
        return out

    def _grow(self) -> None:
        used = np.flatnonzero(self.table)
        keys, lut, sig = self.table[used], self.lut[used], self.sig[used]
        self.bits += 1
        size = 1 << self.bits
        self.table = np.zeros(size, dtype=np.uint64)
        self.lut = np.full(size, _UNSET, dtype=np.int32)
        self.sig = np.zeros(size, dtype=np.int64)
        slot = self._place(keys)
        self.lut[slot], self.sig[slot] = lut, sig

    def _place(self, keys: np.ndarray) -> np.ndarray:
        """Each key's slot, claiming an empty one for a new key: linear probing, all keys at
        once. Each round, the keys still unplaced look at their slot: a key is placed where
        the slot holds it, claims it when empty (of several keys claiming one slot, one
        wins), else moves to the next slot. Every token of one key moves in step, so a key
        gets exactly one slot; with no deletions, a known key is met before any empty slot."""
        table, mask = self.table, len(self.table) - 1
        with np.errstate(over="ignore"):
            slot = ((keys * _MIX) >> np.uint64(64 - self.bits)).astype(np.intp)
        todo = np.flatnonzero(table[slot] != keys)
        k, s = keys[todo], slot[todo]
        while len(todo):
            empty = table[s] == 0
            table[s[empty]] = k[empty]
            hit = table[s] == k
            slot[todo[hit]] = s[hit]
            miss = ~hit
            todo, k, s = todo[miss], k[miss], (s[miss] + 1) & mask
        return slot
