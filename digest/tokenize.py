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
exactly in a dict. Every token is checked against another occurrence of its word (length,
first and last byte); should that ever fail (a 64-bit collision), the texts are
tokenised the plain way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from digest.analyze import Vocab, folded_words

_SPACE = 32
# ASCII letters -> lower case, digits and non-ASCII bytes (the UTF-8 of folded words) kept,
# everything else -> space.
_TABLE = bytes(
    (c | 0x20) if chr(c).isalpha() and c < 128
    else c if (c < 128 and chr(c).isdigit()) or c >= 128 else _SPACE
    for c in range(256)
)
_CHUNK = 1 << 24  # bytes scanned for boundaries at a time: bounds the temporaries
_LONG = 48
_MASKS = np.array([(1 << (8 * i)) - 1 for i in range(9)], dtype=np.uint64)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_LEN_MIX = np.uint64(0xC2B2AE3D27D4EB4F)


def tokenize(texts: Sequence[str], vocab: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """(term ids of every token, text after text, as int32; offsets: text d's tokens are
    ids[offsets[d]:offsets[d+1]])."""
    n = len(texts)
    parts = [t if t.isascii() else folded_words(t) for t in texts]
    blob = " ".join(parts)
    if blob.isascii():
        sizes = np.fromiter(map(len, parts), np.int64, n)
        raw = blob.encode("ascii")
    else:
        sizes = np.fromiter((len(p.encode()) for p in parts), np.int64, n)
        raw = blob.encode()
    buf = raw.translate(_TABLE)
    starts, lengths, keys = _scan(buf)
    doc_start = np.cumsum(sizes + 1) - (sizes + 1)
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[:n] = np.searchsorted(starts, doc_start)
    offsets[n] = len(starts)
    ids = _intern(buf, starts, lengths, keys, vocab)
    if ids is None:  # a hash collision: never seen, but then be exact
        return plain_tokenize(texts, vocab)
    return ids, offsets


def plain_tokenize(texts: Sequence[str], vocab: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """The reference: one text at a time through Vocab.ids."""
    seqs = [vocab.ids(t) for t in texts]
    offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in seqs], out=offsets[1:])
    flat = [tid for s in seqs for tid in s]
    return np.asarray(flat, dtype=np.int32).reshape(-1), offsets


def _term_id(vocab: Vocab, word: bytes) -> int:
    tid = vocab.get(word)
    return vocab[word] if tid is None else tid


def _scan(buf: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every token's start, length and key (never 0: 0 marks an empty slot).

    A token of up to 8 bytes is its own key (its bytes as one little-endian integer, times
    an odd constant: a bijection, so such keys never collide); a longer one mixes its
    8-byte words. Words are read straight from the buffer through a strided uint64 view."""
    # a space before and after, so every token has a start and an end edge
    padded = b" " + buf + b" " * (_LONG + 8)
    a = np.frombuffer(padded, dtype=np.uint8)
    window = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    starts_, ends_, lo = [], [], 0
    while lo < len(buf):  # chunks cut at a space: bounded temporaries
        hi = buf.find(b" ", lo + _CHUNK) if len(buf) - lo > _CHUNK else -1
        hi = len(buf) + 1 if hi < 0 else hi + 1
        word = (a[lo : hi + 1] != _SPACE).view(np.int8)
        edge = np.flatnonzero(word[1:] - word[:-1])  # +1 at a start, -1 after an end
        starts_.append(edge[0::2] + lo)
        ends_.append(edge[1::2] + lo)
        lo = hi
    if not starts_:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.uint64)
    starts, ends = np.concatenate(starts_), np.concatenate(ends_)
    lengths = ends - starts
    with np.errstate(over="ignore"):
        # up to 7 bytes: the bytes themselves, shifted up (the low byte stays 0)
        short = np.minimum(lengths, 8).astype(np.uint64)
        key = window[starts + 1] << ((np.uint64(8) - short) * np.uint64(8))
        longer = np.flatnonzero(lengths > 7)
        if len(longer):  # 8 bytes or more: a mix of the 8-byte words, low bit set
            acc = key[longer]
            for k in range(8, _LONG, 8):
                longer_k = lengths[longer] > k
                if not longer_k.any():
                    break
                at = longer[longer_k]
                w = window[starts[at] + 1 + k] & _MASKS[np.minimum(lengths[at] - k, 8)]
                acc[longer_k] = (acc[longer_k] ^ (acc[longer_k] >> np.uint64(31))) * _MIX + w
            acc = (acc ^ (acc >> np.uint64(29))) * _LEN_MIX
            acc ^= acc >> np.uint64(32)
            acc |= np.uint64(1)
            acc[lengths[longer] > _LONG] = 1  # looked up exactly instead
            key[longer] = acc
    return starts, lengths, key


def _intern(buf: bytes, starts: np.ndarray, lengths: np.ndarray, keys: np.ndarray,
            vocab: Vocab) -> np.ndarray | None:
    """Term ids of the tokens; None on a collision of two long words' keys."""
    placed, table = _hash_table(keys)
    used = np.flatnonzero(table)
    rep = np.full(len(table), -1, dtype=np.int64)  # a token of each long word's slot
    longer = np.flatnonzero(keys & np.uint64(1))
    longer = longer[lengths[longer] <= _LONG]
    if len(longer):
        rep[placed[longer]] = longer
        other = rep[placed[longer]]
        a = np.frombuffer(buf, dtype=np.uint8)
        end = starts + lengths - 1
        same = ((lengths[longer] == lengths[other]) & (a[starts[longer]] == a[starts[other]])
                & (a[end[longer]] == a[end[other]]))
        if not same.all():
            return None
    lut = np.zeros(len(table), dtype=np.int32)
    words = []
    for key, r in zip(table[used].tolist(), rep[used].tolist(), strict=True):
        if key & 1:  # the words' bytes are in the buffer
            s = starts[r]
            words.append(buf[s : s + lengths[r]] if key != 1 else b"")
        else:  # the key is the word
            words.append(key.to_bytes(8, "little").lstrip(b"\0"))
    lut[used] = [_term_id(vocab, w) if w else -1 for w in words]
    ids = lut[placed]
    huge = np.flatnonzero(lengths > _LONG)
    if len(huge):
        ids[huge] = [_term_id(vocab, buf[s : s + ln])
                     for s, ln in zip(starts[huge].tolist(), lengths[huge].tolist(),
                                      strict=True)]
    return ids


def _hash_table(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each token's slot in a table of the distinct keys (returned too): open addressing
    with linear probing, all tokens at once. Each round, the tokens still unplaced look at
    their slot: a token is placed where the slot holds its key, claims it when empty (of
    several keys claiming one slot, one wins), else moves to the next slot. Every token of
    one key moves in step, so a key gets exactly one slot. The table starts small (it must
    stay in cache: the distinct words are few) and grows when it fills."""
    m = len(keys)
    bits = 12
    if m > 4096:  # size for the distinct keys of a sample, with room for the rest
        sample = len(np.unique(keys[: 1 << 18]))
        bits = max(bits, (sample * 4).bit_length())
    while True:
        size = 1 << bits
        table = np.zeros(size, dtype=np.uint64)
        with np.errstate(over="ignore"):
            slot = ((keys * _MIX) >> np.uint64(64 - bits)).astype(np.int64)
        table[slot] = keys
        hit = table[slot] == keys
        placed = np.where(hit, slot, -1)
        todo = np.flatnonzero(~hit)
        k, s = keys[todo], (slot[todo] + 1) & (size - 1)
        while len(todo) and np.count_nonzero(table) <= size // 2:
            empty = table[s] == 0
            table[s[empty]] = k[empty]
            hit = table[s] == k
            placed[todo[hit]] = s[hit]
            miss = ~hit
            todo, k, s = todo[miss], k[miss], (s[miss] + 1) & (size - 1)
        if not len(todo):
            return placed, table
        bits += 2
