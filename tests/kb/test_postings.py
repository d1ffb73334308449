"""Small decks score from a dense matrix; the figures must be the postings' own, to the last bit."""

from __future__ import annotations

import numpy as np
import pytest

from bot.kb import postings
from bot.kb.library import load_library
from bot.kb.postings import FIELD_BITS, group_postings


def test_dense_scores_equal_the_postings_scores_exactly() -> None:
    rng = np.random.default_rng(3)
    for deck_index in load_library().index._decks:
        for index in (deck_index.full, deck_index.head):
            assert index._dense is not None  # the built-in deck is small enough
            dense = index._dense
            n_terms = dense[0].shape[0]
            for size in (1, 2, 7, 30):
                ids = [int(t) for t in rng.choice(n_terms, size=size, replace=False)]
                weights = [float(w) for w in rng.random(size) * rng.choice([1e-3, 1.0, 7.0], size=size)]
                values = [float(v) for v in rng.random(size) * 17]
                fast = index.scores(ids, weights, values)
                index._dense = None
                try:
                    slow = index.scores(ids, weights, values)
                finally:
                    index._dense = dense
                assert all(np.array_equal(f, s) for f, s in zip(fast, slow))


@pytest.mark.parametrize("block", [1, 2, 3, 1 << 20])
def test_grouping_sums_each_postings_weights_in_key_order_whatever_the_block(
        block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postings, "BLOCK", block)
    rng = np.random.default_rng(5)
    doc_bits = 3
    triples = [(int(t), int(d), int(f)) for t, d, f in zip(rng.integers(0, 4, 60), rng.integers(0, 8, 60),
                                                           rng.integers(0, 6, 60))]
    keys = np.array([(t << doc_bits | d) << FIELD_BITS | f for t, d, f in triples], dtype=np.int64)
    weights = np.array([0.1, 0.7, 1.3, 0.3, 2.9, 0.17])  # sums that depend on their order
    head_weights = np.array([0.1, 0.7, 1.3, 0.0, 0.0, 0.0])
    expected: dict[tuple[int, int], list[float]] = {}
    for t, d, f in sorted(triples):  # key order: term, doc, field
        tf, head = expected.setdefault((t, d), [0.0, 0.0])
        expected[(t, d)] = [tf + weights[f], head + head_weights[f]]
    grouped = group_postings(keys, doc_bits, weights, head_weights)
    assert list(zip(grouped.terms.tolist(), grouped.docs.tolist())) == list(expected)
    assert grouped.tf.tolist() == [tf for tf, _ in expected.values()]
    in_head = [row for row, (_, head) in enumerate(expected.values()) if head > 0]
    assert grouped.head_rows.tolist() == in_head
    assert grouped.head_tf.tolist() == [list(expected.values())[row][1] for row in in_head]
