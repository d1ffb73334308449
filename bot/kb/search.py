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
under five seconds and answers in milliseconds (``python -m bench.ask``).
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, count

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.kb.model import Deck, Entry
from bot.kb.text import DOC_END, STOPWORDS, field_words, stem, stem_all, words

FIELD_WEIGHTS = {"question": 3.0, "aliases": 2.0, "keywords": 2.0, "topic": 1.0, "answer": 1.0}
HEAD_FIELDS = ("question", "aliases", "keywords")
HEAD_WEIGHT = 1.0
K1 = 1.2
B = 0.75
CANDIDATES = 10
# A repaired word is a guess at what the person meant, so it explains less of the query: "wat is
# eagr execution" is still answered, "xyzzy plugh" (read as "plug") is not.
REPAIR_CERTAINTY = 0.85
FIELD_BITS = 3  # room for the five fields in an index key
CHUNK = 8192  # documents tokenized at a time while indexing
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


def _tokenize(fields: list[list[str]]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
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
        gc_was_enabled = gc.isenabled()
        gc.disable()  # the build makes no cycles, and collections would walk every loaded entry in vain
        try:
            self._build(decks)
        finally:
            if gc_was_enabled:
                gc.enable()

    def _expansions(self, vocabulary: list[str]) -> list[tuple[str, ...]]:
        """The index terms each deck word stands for: synonyms expanded, stopwords dropped, stemmed."""
        parts = [() if word == DOC_END else tuple(p for p in self._synonyms.get(word, (word,)) if p not in STOPWORDS)
                 for word in vocabulary]
        distinct = list(dict.fromkeys(p for word_parts in parts for p in word_parts))
        stems = dict(zip(distinct, stem_all(distinct)))
        return [tuple(stems[p] for p in word_parts) for word_parts in parts]

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
        vocabulary, token_words, token_docs, token_field = _tokenize(list(field_texts.values()))

        # A word maps to up to a few terms (the synonym "gan" expands to three); one slot each.
        expansions = self._expansions(vocabulary)
        self._term_ids: dict[str, int] = {}
        slots = max((len(e) for e in expansions), default=0)
        table = np.full((slots, len(vocabulary)), -1, dtype=np.int32)
        for word_id, word_terms in enumerate(expansions):
            for slot, term in enumerate(word_terms):
                table[slot, word_id] = self._term_ids.setdefault(term, len(self._term_ids))
        n_terms = len(self._term_ids)

        # One sort of (term, doc, field) keys groups every posting; doc and field ride in the low bits.
        doc_bits = max(n - 1, 1).bit_length()
        keys = self._posting_keys(table, token_words, token_docs, token_field, doc_bits)
        keys.sort()
        pairs = keys >> FIELD_BITS
        new_pair = np.ones(keys.size, dtype=bool)
        np.not_equal(pairs[1:], pairs[:-1], out=new_pair[1:])
        posting_of = np.cumsum(new_pair) - 1  # which (term, doc) posting each key adds to
        fields = keys & (1 << FIELD_BITS) - 1
        weights = np.array([FIELD_WEIGHTS[name] for name in field_texts])
        head = np.array([FIELD_WEIGHTS[name] if name in HEAD_FIELDS else 0.0 for name in field_texts])
        full_tf = np.bincount(posting_of, weights=weights[fields])
        head_tf = np.bincount(posting_of, weights=head[fields])
        pairs = pairs[new_pair]
        terms, docs = pairs >> doc_bits, pairs & (1 << doc_bits) - 1
        self._full = _Postings(terms, docs, full_tf, n, n_terms)
        in_head = head_tf > 0
        self._head = _Postings(terms[in_head], docs[in_head], head_tf[in_head], n, n_terms)

        # Typo repair compares unknown query words with deck words (and stopwords) of similar length.
        # How many entries use a word's term breaks ties between equally close candidates.
        frequency = self._full.df[table[0]] if slots else np.zeros(len(vocabulary), dtype=np.int64)
        self._word_frequency = {w: int(frequency[i]) for i, w in enumerate(vocabulary) if expansions[i]}
        self._by_length: dict[int, list[str]] = {}
        for word in chain(self._word_frequency, STOPWORDS):
            self._by_length.setdefault(len(word), []).append(word)

    @staticmethod
    def _posting_keys(table: np.ndarray, words: np.ndarray, docs: np.ndarray, fields: np.ndarray,
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

    def query_terms(self, query: str) -> dict[str, float]:
        """The query's distinct content stems after synonym expansion and typo repair.

        Each maps to how sure we are the person meant it: 1, or ``REPAIR_CERTAINTY`` for a repaired word.
        """
        raw = words(query)
        terms: dict[str, float] = {}
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
                term, certainty = stem(part), 1.0
                if term not in self._term_ids:
                    repaired = self._repair(part)
                    term, certainty = (repaired, REPAIR_CERTAINTY) if repaired else (term, 1.0)
                if term != _DROP:
                    terms[term] = max(certainty, terms.get(term, 0.0))
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
        certainty = {self._term_ids[t]: sure for t, sure in terms.items() if t in self._term_ids}
        known = list(certainty)
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
            matched += self._full.contains(term_id, candidates) * self._full.idf[term_id] * certainty[term_id]
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
