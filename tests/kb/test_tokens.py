"""The array tokenizer behind indexing splits and numbers words exactly as ``words`` reads them."""

from __future__ import annotations

import numpy as np
import pytest

from bot.kb import tokens
from bot.kb.text import words
from bot.kb.tokens import _KeyTable, tokenize

TRICKY = [
    "What is a tensor?",
    "",
    "   ",
    "ab abcdefgh abcdefghi abcdefghijkl abcdefghijklm abcdefghijklmnopqrstuvwxyz0123456789 abcdefghijklm",
    "abcdefgh abcdefgha abcdefghb aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa aaaaaaaaaaaa aaaaaaaa",
    "Ｔｅｎｓｏｒ café naïve Straße ﬁle 中文 x\u0301y tab\tnew\nline",
    "control\x01inside\x00and\x1fothers 42 4a2 007",
    "z",
    "9",
]


def _words_of_documents(texts: list[str], chunk: int, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    monkeypatch.setattr(tokens, "CHUNK", chunk)
    vocabulary, chunks = tokenize([texts, list(reversed(texts))])
    found: list[list[str]] = [[] for _ in range(2 * len(texts))]
    for chunk in chunks:
        for word_id, doc in zip(chunk.words.tolist(), chunk.docs.tolist()):
            found[chunk.field * len(texts) + doc].append(vocabulary[word_id])
    return found


@pytest.mark.parametrize("chunk", [1, 2, 8192])
def test_every_document_holds_the_words_that_words_reads(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = [words(text) for text in TRICKY] + [words(text) for text in reversed(TRICKY)]
    assert _words_of_documents(TRICKY, chunk, monkeypatch) == expected


def test_vocabulary_is_distinct_and_in_first_seen_order() -> None:
    vocabulary, chunks = tokenize([["b a b", "c a"], ["d b"]])
    assert [w for w in vocabulary if w != tokens.DOC_END] == ["b", "a", "c", "d"]
    assert [vocabulary[i] for chunk in chunks for i in chunk.words.tolist()] == ["b", "a", "b", "c", "a", "d", "b"]


def test_no_documents_give_no_words() -> None:
    assert tokenize([[], []]) == ([], [])


def test_key_table_finds_every_key_it_was_given_through_growth_and_collisions() -> None:
    table = _KeyTable(bits=1)
    rng = np.random.default_rng(1)
    given: dict[int, int] = {}
    for _ in range(20):
        keys = np.unique(rng.integers(0, 3000, size=200)).astype(np.uint64)
        found = table.find(keys)
        assert found.tolist() == [given.get(k, -1) for k in keys.tolist()]
        new = keys[found < 0]
        ids = np.arange(len(given), len(given) + new.size, dtype=np.int32)
        table.add(new, ids)
        given.update(zip(new.tolist(), ids.tolist()))
    colliding = np.arange(1, 40, dtype=np.uint64) << np.uint64(58)  # same low bits, one home slot apart at most
    table.add(colliding, np.arange(39, dtype=np.int32) + 10_000)
    assert table.find(colliding).tolist() == list(range(10_000, 10_039))
    assert table.find(np.array([1 << 40], dtype=np.uint64)).tolist() == [-1]
