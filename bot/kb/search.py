"""The lookup engine behind ``ask``: field-weighted BM25 with typo repair and synonyms.

Why this shape: people ask in paraphrases, typos, bare keywords and single acronyms, so one
similarity measure is not enough. Each entry's question, aliases, keywords, topic and answer
are indexed with different weights (BM25F-style), and a second index over the "head" fields
(question, aliases, keywords) rewards entries that are *about* the query's words rather than
mention them in passing. Query words the deck has never seen are repaired to the closest deck
word (rapidfuzz, edit distance with transpositions); deck synonyms expand acronyms on both
sides. Whether to *answer* is decided separately, on how much of the query's information the
best entry explains, so an off-topic question is declined even though something ranks first.

Postings are numpy arrays, built with array operations, so a 100,000-entry deck indexes in
seconds and answers in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.kb.model import Deck, Entry
from bot.kb.text import STOPWORDS, stem, words

FIELD_WEIGHTS = {"question": 3.0, "aliases": 2.0, "keywords": 2.0, "topic": 1.0, "answer": 1.0}
HEAD_FIELDS = ("question", "aliases", "keywords")
HEAD_WEIGHT = 1.0
K1 = 1.2
B = 0.75
CANDIDATES = 10
# Unknown words count as this much information when judging coverage: chat filler is often
# unknown to the deck, so counting it at full idf would make long questions look off-topic.
OOV_WEIGHT = 2.0
# Answer when the best entry explains this share of the query's information, or a large
# absolute amount of it (long questions); tuned on tests/kb/devset.yaml, see the README.
MIN_COVERAGE = 0.6
MIN_MATCHED = 9.0
MIN_SUGGESTION = 0.25
_DROP = "\x00"  # repair target for misspelled stopwords ("diffrence"): the word is dropped


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


class _Postings:
    """BM25 postings for one group of fields: per term, the documents and their weights."""

    def __init__(self, terms: np.ndarray, docs: np.ndarray, weights: np.ndarray, n: int, n_terms: int) -> None:
        # Sum the weighted counts of each (term, doc) pair; sorting by term, then doc, gives postings.
        keys = terms * max(n, 1) + docs
        order = np.argsort(keys, kind="stable")
        keys, weights = keys[order], weights[order]
        first = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if keys.size else keys
        tf = np.add.reduceat(weights, first) if keys.size else np.zeros(0)
        posting_terms = keys[first] // max(n, 1)
        self.docs = (keys[first] % max(n, 1)).astype(np.int32)
        lengths = np.bincount(self.docs, weights=tf, minlength=n)
        df = np.bincount(posting_terms, minlength=n_terms)
        self.ptr = np.concatenate(([0], np.cumsum(df))).astype(np.int64)
        self.idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        norm = K1 * (1.0 - B + B * lengths[self.docs] / (float(lengths.mean()) if n else 1.0))
        self.weights = (self.idf[posting_terms] * tf * (K1 + 1.0) / (tf + norm)).astype(np.float32)
        self.n = n

    def scores(self, term_ids: list[int]) -> np.ndarray:
        """BM25 score of every document for these terms."""
        spans = [(self.ptr[t], self.ptr[t + 1]) for t in term_ids]
        docs = np.concatenate([self.docs[s:e] for s, e in spans])
        weights = np.concatenate([self.weights[s:e] for s, e in spans])
        return np.bincount(docs, weights=weights, minlength=self.n)

    def contains(self, term_id: int, docs: np.ndarray) -> np.ndarray:
        """Which of ``docs`` contain the term (posting lists are sorted by document)."""
        posting = self.docs[self.ptr[term_id]:self.ptr[term_id + 1]]
        if posting.size == 0:
            return np.zeros(docs.size, dtype=bool)
        pos = np.minimum(np.searchsorted(posting, docs), posting.size - 1)
        return posting[pos] == docs


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
        self._build(decks)

    def _expand(self, word: str) -> tuple[str, ...]:
        """The index terms one surface word stands for: synonyms expanded, stopwords dropped, stemmed."""
        return tuple(stem(part) for part in self._synonyms.get(word, (word,)) if part not in STOPWORDS)

    def _build(self, decks: Sequence[Deck]) -> None:
        topic_names = {(deck.name, slug): name for deck in decks for slug, name in deck.topics.items()}
        field_texts = {
            "question": [e.question for e in self.entries],
            "aliases": ["\n".join(e.aliases) for e in self.entries],
            "keywords": ["\n".join(e.keywords) for e in self.entries],
            "topic": [topic_names.get((e.deck, e.topic), e.topic) for e in self.entries],
            "answer": [e.answer for e in self.entries],
        }
        n = self._n = len(self.entries)
        tokens: list[str] = []
        doc_parts, weight_parts, head_parts = [], [], []
        for name, texts in field_texts.items():
            per_doc = [words(text) for text in texts]
            doc_parts.append(np.repeat(np.arange(n, dtype=np.int64), [len(t) for t in per_doc]))
            weight_parts.append(np.full(doc_parts[-1].size, FIELD_WEIGHTS[name]))
            head_parts.append(np.full(doc_parts[-1].size, name in HEAD_FIELDS))
            tokens.extend(chain.from_iterable(per_doc))
        vocabulary = list(dict.fromkeys(tokens))
        word_ids = {word: i for i, word in enumerate(vocabulary)}
        token_words = np.fromiter(map(word_ids.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        token_docs = np.concatenate(doc_parts)
        token_weights = np.concatenate(weight_parts)
        token_head = np.concatenate(head_parts)

        # A word maps to up to a few terms (the synonym "gan" expands to three); one slot each.
        expansions = [self._expand(word) for word in vocabulary]
        self._term_ids: dict[str, int] = {}
        slots = max((len(e) for e in expansions), default=0)
        table = np.full((slots, len(vocabulary)), -1, dtype=np.int64)
        for word_id, terms in enumerate(expansions):
            for slot, term in enumerate(terms):
                table[slot, word_id] = self._term_ids.setdefault(term, len(self._term_ids))
        pairs = [(table[slot][token_words], token_docs, token_weights, token_head) for slot in range(slots)]
        terms_arr, docs_arr, weights_arr, head_arr = (
            np.concatenate([p[i][p[0] >= 0] for p in pairs]) if pairs else np.zeros(0, np.int64)
            for i in range(4))
        head_arr = head_arr.astype(bool)
        n_terms = len(self._term_ids)
        self._full = _Postings(terms_arr, docs_arr, weights_arr.astype(np.float64), n, n_terms)
        self._head = _Postings(terms_arr[head_arr], docs_arr[head_arr], weights_arr[head_arr].astype(np.float64),
                               n, n_terms)

        # Typo repair compares unknown query words with deck words (and stopwords) of similar length.
        frequency = np.bincount(token_words, minlength=len(vocabulary))
        self._word_frequency = {w: int(frequency[i]) for i, w in enumerate(vocabulary) if expansions[i]}
        self._by_length: dict[int, list[str]] = {}
        for word in chain(self._word_frequency, STOPWORDS):
            self._by_length.setdefault(len(word), []).append(word)

    def query_terms(self, query: str) -> list[str]:
        """The query's distinct content stems after synonym expansion and typo repair."""
        raw = words(query)
        terms: list[str] = []
        i = 0
        while i < len(raw):
            joined = raw[i] + raw[i + 1] if i + 1 < len(raw) else ""
            if joined and stem(joined) in self._term_ids and stem(raw[i]) not in self._term_ids:
                word = joined  # "drop out" -> "dropout", "tensor flow" -> "tensorflow"
                i += 2
            else:
                word = raw[i]
                i += 1
            for part in self._synonyms.get(word, (word,)):
                if part in STOPWORDS:
                    continue
                term = stem(part)
                if term not in self._term_ids:
                    term = self._repair(part) or term
                if term != _DROP and term not in terms:
                    terms.append(term)
        return terms

    def _repair(self, word: str) -> str | None:
        """The stem of the closest deck word to a word the deck does not know, if close enough."""
        if len(word) < 3 or not word.isalpha():
            return None
        if len(word) == 3:  # too short to guess a term from; only chat spellings like "wat", "whta"
            return _DROP if process.extractOne(word, STOPWORDS, scorer=OSA.distance, score_cutoff=1) else None
        max_distance = 1 if len(word) <= 7 else 2
        best: tuple[int, int, str] | None = None
        for length in range(len(word) - max_distance, len(word) + max_distance + 1):
            for candidate, distance, _ in process.extract(
                    word, self._by_length.get(length, ()), scorer=OSA.distance,
                    score_cutoff=max_distance, limit=25):
                key = (int(distance), -self._word_frequency.get(candidate, 0), candidate)
                best = key if best is None or key < best else best
        if best is None:
            return None
        return _DROP if best[2] in STOPWORDS else stem(best[2])

    def search(self, query: str, top: int = 3, deck: str | None = None) -> SearchResult:
        """Ranks entries for ``query``; ``deck`` restricts the search to one deck by name."""
        terms = self.query_terms(query)
        known = [self._term_ids[t] for t in terms if t in self._term_ids]
        if not known or self._n == 0:
            return SearchResult(query, (), False)
        scores = self._full.scores(known) + HEAD_WEIGHT * self._head.scores(known)
        if deck is not None:
            scores[self._deck_of != self._deck_index.get(deck, -1)] = 0.0
        k = min(CANDIDATES, self._n)
        candidates = np.argpartition(-scores, k - 1)[:k]
        candidates = candidates[scores[candidates] > 0]
        if candidates.size == 0:
            return SearchResult(query, (), False)
        matched = np.zeros(candidates.size)
        for term_id in known:
            matched += self._full.contains(term_id, candidates) * self._full.idf[term_id]
        total = float(self._full.idf[known].sum()) + OOV_WEIGHT * (len(terms) - len(known))
        coverage = matched / total
        relative = scores[candidates] / scores[candidates].max()
        final = 0.5 * coverage + 0.5 * relative * coverage.max()
        order = np.argsort(-final, kind="stable")
        matches = tuple(Match(self.entries[int(candidates[i])], round(float(final[i]), 4)) for i in order)
        best = order[0]
        answered = bool(coverage[best] >= MIN_COVERAGE or matched[best] >= MIN_MATCHED)
        shown = matches[:top] if answered else tuple(m for m in matches[:top] if m.score >= MIN_SUGGESTION)
        return SearchResult(query, shown, answered)
