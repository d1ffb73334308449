"""BM25 postings for one deck, built with array operations so a 100,000-entry deck indexes in seconds.

Why arrays: a Python loop per posting costs ~1 µs, so a large deck's tens of millions of tokens
are grouped by one numpy sort of packed ``(term, doc, field)`` keys instead.
"""

from __future__ import annotations

from itertools import count

import numpy as np

from bot.kb.text import DOC_END, field_words

K1 = 1.2  # the usual BM25 constants (Robertson & Zaragoza): term-frequency saturation ...
B = 0.75  # ... and length normalization
FIELD_BITS = 3  # room for up to eight fields in an index key (deck_index.FIELD_WEIGHTS has seven)
CHUNK = 8192  # documents tokenized at a time while indexing


class Postings:
    """BM25 postings for one group of fields: per term, the documents and their weights."""

    def __init__(self, terms: np.ndarray, docs: np.ndarray, tf: np.ndarray, n: int, n_terms: int) -> None:
        """``terms``, ``docs`` and ``tf`` (weighted term frequency) are one row per posting, sorted."""
        self.docs = docs.astype(np.int32)
        lengths = np.bincount(docs, weights=tf, minlength=n)
        self.df = df = np.bincount(terms, minlength=n_terms)
        self.ptr = np.concatenate(([0], np.cumsum(df))).astype(np.int64)
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

    def scores(self, term_ids: list[int], query_weights: list[float],
               values: list[float]) -> tuple[np.ndarray, np.ndarray]:
        """Per document: the BM25 score for these terms (each scaled by its query weight), and
        the sum of ``values`` of the terms it contains; one pass over the postings for both."""
        spans = [(self.ptr[t], self.ptr[t + 1]) for t in term_ids]
        docs = np.concatenate([self.docs[s:e] for s, e in spans])
        weights = np.concatenate([self.weights[s:e] * w for (s, e), w in zip(spans, query_weights)])
        present = np.repeat(values, [e - s for s, e in spans])
        return (np.bincount(docs, weights=weights, minlength=self.n),
                np.bincount(docs, weights=present, minlength=self.n))


def tokenize(fields: list[list[str]]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """The vocabulary, and every word of every field of every document as (word id, document, field) arrays.

    This is most of the work of indexing a large deck. Documents are split a chunk at a time so
    the memory for their word strings is reused rather than grown, and each word costs one dict
    call: it is numbered by the position where it first occurs, then those numbers are made dense.
    """
    first_seen: dict[str, int] = {}
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    total = 0
    for field, texts in enumerate(fields):
        for start in range(0, len(texts), CHUNK):
            tokens = field_words(texts[start:start + CHUNK])
            positions = np.fromiter(map(first_seen.setdefault, tokens, count(total)), np.int32, len(tokens))
            total += len(tokens)
            is_end = positions == first_seen[DOC_END]
            docs = start + np.cumsum(is_end, dtype=np.int32) - is_end  # each text ends with DOC_END
            keep = ~is_end
            parts.append((positions[keep], docs[keep], np.full(int(keep.sum()), field, dtype=np.int8)))
    vocabulary = list(first_seen)
    dense = np.zeros(total, dtype=np.int32)
    dense[np.fromiter(first_seen.values(), dtype=np.int64, count=len(vocabulary))] = np.arange(len(vocabulary))
    positions, docs, field_of = (np.concatenate([p[i] for p in parts] or [np.zeros(0, np.int32)]) for i in range(3))
    return vocabulary, dense[positions], docs, field_of


def posting_keys(table: np.ndarray, words: np.ndarray, docs: np.ndarray, fields: np.ndarray,
                 doc_bits: int) -> np.ndarray:
    """Sortable keys ``(term, doc, field)``, one for each term each token stands for.

    ``table[slot, word]`` is the word's slot-th term or -1 (stopwords have none, synonyms several).
    """
    parts = [np.zeros(0, np.int64)]
    for slot_terms in table:
        terms = slot_terms[words]
        has_term = terms >= 0
        parts.append((terms[has_term].astype(np.int64) << doc_bits | docs[has_term]) << FIELD_BITS
                     | fields[has_term])
    return np.concatenate(parts)
