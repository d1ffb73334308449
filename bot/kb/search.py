"""The lookup engine behind ``ask``: field-weighted BM25 with typo repair and synonyms.

Why this shape: people ask in paraphrases, typos, bare keywords and single acronyms, so one
similarity measure is not enough. Each entry's question, aliases, keywords, topic and answer
are indexed with different weights (BM25F-style); query words the deck has never seen are
repaired to the closest deck word (rapidfuzz, edit distance with transpositions); deck
synonyms expand acronyms on both sides. Whether to *answer* is a separate decision made on how
much of the query's information the best entry explains, so an off-topic question is declined
even when some entry happens to rank first.

Postings are numpy arrays so a 100,000-entry deck still answers in milliseconds.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.kb.model import Deck, Entry
from bot.kb.text import STOPWORDS, stem, words

FIELD_WEIGHTS = {"question": 3.0, "aliases": 2.0, "keywords": 2.0, "topic": 1.0, "answer": 1.0}
K1 = 1.2
B = 0.75
CANDIDATES = 10
# An answer is given when the best entry explains at least this share of the query's
# information (idf mass) and clearly beats the runner-up; measured on tests/kb/devset.yaml.
MIN_COVERAGE = 0.6
MIN_SUGGESTION = 0.25


@dataclass(frozen=True)
class Match:
    """An entry and how well it matches the query (0..1)."""

    entry: Entry
    score: float


@dataclass(frozen=True)
class SearchResult:
    """Ranked matches, best first; ``answered`` says whether the first is a confident answer."""

    query: str
    matches: tuple[Match, ...]
    answered: bool

    @property
    def best(self) -> Match | None:
        """The first match, if any."""
        return self.matches[0] if self.matches else None


class SearchIndex:
    """An immutable index over the entries of one or more decks."""

    def __init__(self, decks: Sequence[Deck]) -> None:
        self.entries: tuple[Entry, ...] = tuple(e for deck in decks for e in deck.entries)
        self._synonyms: dict[str, list[str]] = {}
        for deck in decks:
            for term, expansion in deck.synonyms.items():
                self._synonyms.setdefault(term, words(expansion))
        self._deck_of = np.array([d for d, deck in enumerate(decks) for _ in deck.entries], dtype=np.int32)
        self._deck_index = {deck.name: d for d, deck in enumerate(decks)}
        self._surface_counts: Counter[str] = Counter()
        topic_names = {(deck.name, slug): name for deck in decks for slug, name in deck.topics.items()}
        self._build([self._weighted_terms(e, topic_names.get((e.deck, e.topic), e.topic))
                     for e in self.entries])

    def _analyze(self, text: str, surface: Counter[str] | None = None) -> list[str]:
        """Content-word stems of ``text``, synonyms expanded; records surface words for typo repair."""
        terms = []
        for word in words(text):
            for part in self._synonyms.get(word, (word,)):
                if part in STOPWORDS:
                    continue
                if surface is not None:
                    surface[part] += 1
                terms.append(stem(part))
        return terms

    def _weighted_terms(self, entry: Entry, topic_name: str) -> Counter[str]:
        fields = {
            "question": [entry.question],
            "aliases": list(entry.aliases),
            "keywords": list(entry.keywords),
            "topic": [topic_name],
            "answer": [entry.answer],
        }
        counts: Counter[str] = Counter()
        for name, texts in fields.items():
            weight = FIELD_WEIGHTS[name]
            for text in texts:
                for term in self._analyze(text, self._surface_counts):
                    counts[term] += weight
        return counts

    def _build(self, docs: list[Counter[str]]) -> None:
        n = len(docs)
        self._n = n
        term_ids: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        lengths = np.zeros(max(n, 1), dtype=np.float64)
        for doc_id, counts in enumerate(docs):
            lengths[doc_id] = sum(counts.values())
            for term, tf in counts.items():
                rows.append(term_ids.setdefault(term, len(term_ids)))
                cols.append(doc_id)
                vals.append(tf)
        self._term_ids = term_ids
        term_arr = np.array(rows, dtype=np.int32)
        order = np.argsort(term_arr, kind="stable")  # stable keeps each posting list in doc order
        self._docs = np.array(cols, dtype=np.int32)[order]
        tf_arr = np.array(vals, dtype=np.float64)[order]
        df = np.bincount(term_arr, minlength=len(term_ids))
        self._ptr = np.concatenate(([0], np.cumsum(df))).astype(np.int64)
        self._idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        self._oov_idf = math.log(1.0 + (n + 0.5) / 0.5)
        avg = float(lengths[:n].mean()) if n else 1.0
        norm = K1 * (1.0 - B + B * lengths[self._docs] / avg)
        self._weights = (np.repeat(self._idf, df) * tf_arr * (K1 + 1.0) / (tf_arr + norm)).astype(np.float32)
        # Typo repair looks only at words of similar length, so buckets keep it fast on big decks.
        self._by_length: dict[int, list[str]] = {}
        for word in self._surface_counts:
            self._by_length.setdefault(len(word), []).append(word)
        self._df_by_word = dict(self._surface_counts)

    def query_terms(self, query: str) -> list[str]:
        """The query's distinct content stems after synonym expansion and typo repair."""
        raw = words(query)
        terms: list[str] = []
        i = 0
        while i < len(raw):
            joined = raw[i] + raw[i + 1] if i + 1 < len(raw) else ""
            if joined and stem(joined) in self._term_ids and stem(raw[i]) not in self._term_ids:
                parts = [joined]  # "drop out" -> "dropout", "tensor flow" -> "tensorflow"
                i += 2
            else:
                parts = [raw[i]]
                i += 1
            for word in parts:
                for part in self._synonyms.get(word, (word,)):
                    if part in STOPWORDS:
                        continue
                    term = stem(part)
                    if term not in self._term_ids:
                        term = self._repair(part) or term
                    if term not in terms:
                        terms.append(term)
        return terms

    def _repair(self, word: str) -> str | None:
        """The stem of the closest deck word to a word the deck does not know, if close enough."""
        if len(word) < 4 or word.isdigit():
            return None
        max_distance = 1 if len(word) <= 5 else 2
        best: tuple[int, int, str] | None = None
        for length in range(len(word) - max_distance, len(word) + max_distance + 1):
            bucket = self._by_length.get(length)
            if not bucket:
                continue
            for candidate, distance, _ in process.extract(
                    word, bucket, scorer=OSA.distance, score_cutoff=max_distance, limit=5):
                key = (int(distance), -self._df_by_word[candidate], candidate)
                if best is None or key < best:
                    best = key
        return stem(best[2]) if best else None

    def search(self, query: str, top: int = 3, deck: str | None = None) -> SearchResult:
        """Ranks entries for ``query``; ``deck`` restricts the search to one deck by name."""
        terms = self.query_terms(query)
        known = [self._term_ids[t] for t in terms if t in self._term_ids]
        if not known or self._n == 0:
            return SearchResult(query, (), False)
        starts, ends = self._ptr[known], self._ptr[np.array(known) + 1]
        docs = np.concatenate([self._docs[s:e] for s, e in zip(starts, ends)])
        weights = np.concatenate([self._weights[s:e] for s, e in zip(starts, ends)])
        scores = np.bincount(docs, weights=weights, minlength=self._n)
        if deck is not None:
            scores[self._deck_of != self._deck_index.get(deck, -1)] = 0.0
        k = min(CANDIDATES, self._n)
        candidates = np.argpartition(-scores, k - 1)[:k]
        candidates = candidates[scores[candidates] > 0]
        if candidates.size == 0:
            return SearchResult(query, (), False)
        total = sum(self._idf[self._term_ids[t]] if t in self._term_ids else self._oov_idf for t in terms)
        coverage = np.zeros(candidates.size)
        for term_id, start, end in zip(known, starts, ends):
            posting = self._docs[start:end]
            pos = np.searchsorted(posting, candidates)
            hit = (pos < posting.size) & (posting[np.minimum(pos, posting.size - 1)] == candidates)
            coverage += hit * self._idf[term_id]
        coverage /= total
        bm25 = scores[candidates]
        relative = bm25 / bm25.max()
        final = 0.5 * coverage + 0.5 * relative * coverage.max()
        order = np.argsort(-final, kind="stable")
        matches = tuple(Match(self.entries[int(candidates[i])], round(float(final[i]), 4)) for i in order)
        answered = bool(coverage[order[0]] >= MIN_COVERAGE)
        shown = matches[:top] if answered else tuple(m for m in matches[:top] if m.score >= MIN_SUGGESTION)
        return SearchResult(query, shown, answered)
