"""The batch tokeniser's chunked paths: many chunks, a hash table that grows mid-batch,
words longer than the hashed limit, and the fall-back on a (forced) key collision, each
checked against the plain per-text tokeniser."""

from __future__ import annotations

import random

import numpy as np
import pytest

from digest import tokenize as tok
from digest.analyze import Vocab


def _texts(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = [
        "".join(
            rng.choice(letters) for _ in range(rng.choice((1, 3, 7, 8, 9, 16, 17, 40, 48, 49, 70)))
        )
        for _ in range(3000)
    ]
    words += ["Zoë", "naïve", "Straße", "東京", "fine-tuning", "3.14", "GPT-4o"]
    return [
        ""
        if i % 17 == 0
        else " ".join(rng.choice(words) for _ in range(rng.randint(1, 60))) + rng.choice(".,; ")
        for i in range(n)
    ]


def _same(texts: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch path gives the plain path's tokens, without falling back to it."""
    reference = tok.plain_tokenize
    with monkeypatch.context() as m:
        m.setattr(tok, "plain_tokenize", lambda *_: pytest.fail("fell back to plain"))
        fast = Vocab()
        ids, offsets = tok.tokenize(texts, fast)
    plain = Vocab()
    want, want_offsets = reference(texts, plain)
    assert offsets.tolist() == want_offsets.tolist()
    assert [fast.terms[i] for i in ids] == [plain.terms[i] for i in want]
    assert ids.dtype == np.int32


@pytest.mark.parametrize("chunk", [1, 64, 1000])
def test_many_chunks_and_a_growing_table_agree_with_the_plain_tokeniser(monkeypatch, chunk):
    monkeypatch.setattr(tok, "_CHUNK", chunk)
    monkeypatch.setattr(tok, "_BITS", 4)  # 16 slots: grows many times
    _same(_texts(1, 400), monkeypatch)


def test_no_texts_and_only_empty_texts(monkeypatch):
    _same([], monkeypatch)
    _same(["", " ", "..."], monkeypatch)


def test_a_key_collision_falls_back_to_the_exact_path(monkeypatch):
    texts = ["alphabetical alphabetically", "alphabetically alphabetical"]
    mixed = tok._scan

    def colliding(a, window, lo, hi):  # every long word gets one key
        starts, lengths, keys, longer = mixed(a, window, lo, hi)
        keys[longer] = np.uint64(3)
        return starts, lengths, keys, longer

    monkeypatch.setattr(tok, "_scan", colliding)
    calls = []
    plain = tok.plain_tokenize
    monkeypatch.setattr(tok, "plain_tokenize", lambda t, v: calls.append(1) or plain(t, v))
    vocab = Vocab()
    ids, offsets = tok.tokenize(texts, vocab)
    assert calls == [1], "the collision went unnoticed"
    assert offsets.tolist() == [0, 2, 4]
    ref = Vocab()
    want, _ = plain(texts, ref)
    assert [vocab.terms[i] for i in ids] == [ref.terms[i] for i in want]
    assert ids[0] != ids[1]  # the two words sharing a key are still told apart
