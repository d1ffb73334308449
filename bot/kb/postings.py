"""BM25 postings for one deck, built with array operations so a 100,000-entry deck indexes in seconds.

Why arrays: a Python loop per posting costs ~1 µs, so a large deck's tens of millions of tokens
are grouped by one numpy sort of packed ``(term, doc, field)`` keys instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from bot.kb.tokens import Tokens

K1 = 1.2  # the usual BM25 constants (Robertson & Zaragoza): term-frequency saturation ...
B = 0.75  # ... and length normalization
FIELD_BITS = 3  # room for up to eight fields in an index key (deck_index.FIELD_WEIGHTS has seven)
BLOCK = 1 << 20  # posting keys grouped at a time
DENSE_CELLS = 1 << 20  # up to this many terms x documents, a deck's postings are also kept as a matrix


class Postings:
    """BM25 postings for one group of fields: per term, the documents and their weights."""

    def __init__(self, terms: np.ndarray, docs: np.ndarray, tf: np.ndarray, n: int, n_terms: int) -> None:
        """``terms``, ``docs`` and ``tf`` (weighted term frequency) are one row per posting, sorted."""
        self.docs = docs.astype(np.int32, copy=False)
        # Sums and counts without np.bincount, which would copy int32 rows to int64 first (a large
        # deck's build pays for fresh memory): np.add.at sums in row order too; terms are sorted.
        lengths = np.zeros(n)
        np.add.at(lengths, docs, tf)
        self.ptr = np.searchsorted(terms, np.arange(n_terms + 1)).astype(np.int64)
        self.df = df = np.diff(self.ptr)
        self.idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        # Per document first, then spread over the postings: one gather instead of arithmetic per posting.
        norm = (K1 * (1.0 - B + B * lengths / (float(lengths.mean()) if n else 1.0))).astype(np.float32)
        tf = tf.astype(np.float32)
        weights = self.idf.astype(np.float32)[terms]
        weights *= tf
        weights *= K1 + 1.0
        tf += norm[docs]
        weights /= tf
        self.weights = weights
        self.n = n
        self._dense: tuple[np.ndarray, np.ndarray] | None = None
        if n_terms * n <= DENSE_CELLS:
            self._dense = np.zeros((n_terms, n), dtype=np.float32), np.zeros((n_terms, n), dtype=bool)
            self._dense[0][terms, docs] = weights
            self._dense[1][terms, docs] = True

    def scores(self, term_ids: list[int], query_weights: list[float],
               values: list[float]) -> tuple[np.ndarray, np.ndarray]:
        """Per document: the BM25 score for these terms (each scaled by its query weight), and
        the sum of ``values`` of the terms it contains; one pass over the postings for both."""
        if self._dense is not None and all(type(w) is float for w in query_weights):
            return _dense_scores(self._dense, term_ids, query_weights, values)
        spans = [(self.ptr[t], self.ptr[t + 1]) for t in term_ids]
        docs = np.concatenate([self.docs[s:e] for s, e in spans])
        weights = np.concatenate([self.weights[s:e] * w for (s, e), w in zip(spans, query_weights)])
        present = np.repeat(values, [e - s for s, e in spans])
        return (np.bincount(docs, weights=weights, minlength=self.n),
                np.bincount(docs, weights=present, minlength=self.n))

    def holds(self, term_id: int, doc: int) -> bool:
        """Whether document ``doc`` contains the term: a look in the matrix, or a binary search of the
        term's postings (their documents are in order)."""
        if self._dense is not None:
            return bool(self._dense[1][term_id, doc])
        docs = self.docs[self.ptr[term_id]:self.ptr[term_id + 1]]
        at = int(np.searchsorted(docs, doc))
        return at < docs.size and int(docs[at]) == doc


def _dense_scores(dense: tuple[np.ndarray, np.ndarray], term_ids: list[int], query_weights: list[float],
                  values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """``scores`` for a small deck, from its terms x documents matrix: a few array operations
    instead of a few per term, which is most of a long question's time on a 40-entry deck.

    The same numbers to the last bit: each weight is scaled in float32 as ``scores`` does
    (a Python float times a float32 array), and the terms are summed in float64 in the same
    order, by accumulation (a reduction may sum pairwise). An absent term adds 0.0.
    The scores and the values are accumulated together, in one pass.
    """
    weights, present = dense
    n = weights.shape[1]
    both = np.empty((len(term_ids), 2 * n))  # per term: its scaled weights, then its values, per document
    # float32 times float32 (the loop is chosen by the inputs), widened into float64 as bincount does.
    np.multiply(weights.take(term_ids, axis=0), np.array(query_weights, dtype=np.float32)[:, None], out=both[:, :n])
    np.multiply(present.take(term_ids, axis=0), np.array(values, dtype=np.float64)[:, None], out=both[:, n:])
    np.cumsum(both, axis=0, out=both)
    return both[-1, :n], both[-1, n:]


def posting_keys(table: np.ndarray, chunks: list[Tokens], doc_bits: int) -> np.ndarray:
    """Sortable keys ``(term, doc, field)``, one for each term each token stands for.

    ``table[slot, word]`` is the word's slot-th term or -1 (stopwords have none, synonyms several).
    Written a chunk at a time into one array sized for the most keys there could be: the part
    never written is never touched, so it costs no memory.
    """
    keys = np.empty(sum(chunk.words.size for chunk in chunks) * len(table), dtype=np.int64)
    filled = 0
    for chunk in chunks:
        doc_field = chunk.docs.astype(np.int64)
        doc_field <<= FIELD_BITS
        doc_field |= chunk.field
        for slot_terms in table:
            terms = slot_terms[chunk.words]
            has_term = terms >= 0
            out = keys[filled:filled + int(np.count_nonzero(has_term))]
            out[:] = terms[has_term]
            out <<= doc_bits + FIELD_BITS
            out |= doc_field[has_term]
            filled += out.size
    return keys[:filled]


class Grouped(NamedTuple):
    """Postings grouped from their keys: one row per (term, doc), sorted, and the rows in the head."""

    terms: np.ndarray      # int32
    docs: np.ndarray       # int32
    tf: np.ndarray         # the weights of the fields the row's term occurs in, summed
    head_rows: np.ndarray  # the rows whose term occurs in a field of positive head weight ...
    head_tf: np.ndarray    # ... and their head weights, summed


def group_postings(keys: np.ndarray, doc_bits: int, weights: np.ndarray, head_weights: np.ndarray) -> Grouped:
    """The (term, doc) postings of ``posting_keys``, with their weighted term frequencies.

    One sort groups every posting (``keys`` is sorted in place); then the keys are read a block
    at a time, so temporaries stay a few megabytes instead of growing with the deck. Blocks end
    where a posting ends, so each posting's weights are summed in one pass, in key order.
    """
    keys.sort()
    new_pair = _pair_starts(keys)
    n_postings = int(np.count_nonzero(new_pair))
    terms, docs = np.empty(n_postings, dtype=np.int32), np.empty(n_postings, dtype=np.int32)
    tf = np.empty(n_postings)
    head_rows: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    head_tf: list[np.ndarray] = [np.zeros(0)]
    done = 0  # postings before the block
    for lo, hi in _blocks(new_pair):
        block, begins = keys[lo:hi], new_pair[lo:hi]
        posting_of = np.cumsum(begins)
        posting_of -= 1
        fields = np.bitwise_and(block, (1 << FIELD_BITS) - 1, out=np.empty(block.size, dtype=np.int8),
                                casting="unsafe")
        pairs = block[begins] >> FIELD_BITS
        rows = slice(done, done + pairs.size)
        tf[rows] = np.bincount(posting_of, weights=weights[fields])
        head = np.bincount(posting_of, weights=head_weights[fields])
        in_head = np.flatnonzero(head > 0)
        head_rows.append(in_head + done)
        head_tf.append(head[in_head])
        np.right_shift(pairs, doc_bits, out=terms[rows], casting="unsafe")
        np.bitwise_and(pairs, (1 << doc_bits) - 1, out=docs[rows], casting="unsafe")
        done += pairs.size
    return Grouped(terms, docs, tf, np.concatenate(head_rows), np.concatenate(head_tf))


def _pair_starts(keys: np.ndarray) -> np.ndarray:
    """Where the (term, doc) pair of sorted keys changes: the first key of each posting."""
    starts = np.empty(keys.size, dtype=bool)
    starts[:1] = True
    for lo in range(1, keys.size, BLOCK):
        hi = min(lo + BLOCK, keys.size)
        np.greater_equal(keys[lo:hi] ^ keys[lo - 1:hi - 1], 1 << FIELD_BITS, out=starts[lo:hi])
    return starts


def _blocks(starts: np.ndarray) -> Iterator[tuple[int, int]]:
    """Ranges of about ``BLOCK`` keys, each beginning where a posting begins."""
    lo = 0
    while lo < starts.size:
        hi = lo + BLOCK
        if hi < starts.size:
            ahead = int(np.argmax(starts[hi:]))  # the next posting's first key, if there is one
            hi = hi + ahead if starts[hi + ahead] else starts.size
        yield lo, min(hi, starts.size)
        lo = hi
