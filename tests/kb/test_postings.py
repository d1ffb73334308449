"""Small decks score from a dense matrix; the figures must be the postings' own, to the last bit."""

from __future__ import annotations

import numpy as np

from bot.kb.library import load_library


def test_dense_scores_equal_the_postings_scores_exactly() -> None:
    rng = np.random.default_rng(3)
    for deck_index in load_library().index._decks:
        for postings in (deck_index.full, deck_index.head):
            assert postings._dense is not None  # the built-in deck is small enough
            dense = postings._dense
            n_terms = dense[0].shape[0]
            for size in (1, 2, 7, 30):
                ids = [int(t) for t in rng.choice(n_terms, size=size, replace=False)]
                weights = [float(w) for w in rng.random(size) * rng.choice([1e-3, 1.0, 7.0], size=size)]
                values = [float(v) for v in rng.random(size) * 17]
                fast = postings.scores(ids, weights, values)
                postings._dense = None
                try:
                    slow = postings.scores(ids, weights, values)
                finally:
                    postings._dense = dense
                assert all(np.array_equal(f, s) for f, s in zip(fast, slow))
