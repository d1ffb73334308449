"""One deck's lookup: its own index, its own vocabulary for typo repair, its own answer rule.

Why one index per deck: idf, typo candidates and the answer decision then depend on that deck
alone, so loading a second deck cannot change whether the first deck's questions are answered
(``SearchIndex`` routes each question to one deck).

How a query is read: words the deck knows are looked up; a word it does not know is repaired
to a close deck word only when it is not an English word (``says`` stays ``says``); deck
synonyms expand acronyms, each part carrying a share of the word. Every word carries the
information it has in everyday English (``bot.kb.english``), so "time" says little and
"tensor" much, on any deck. Words find the candidates; their closeness in meaning to the
question (``bot.kb.meaning``) is blended into the order. Whether to answer is a small logistic
model (``Tuning.answer_logit``) over quantities that mean the same on any deck: how much specific
information the best entry holds and what share of the question it explains, how far it stands
above the second, how close it is in meaning above the deck's background, and the most specific
word it lacks; at the deck's own threshold (``answer_threshold``), read from how it scores
everyday chat (``bot.kb.everyday``).

Technical questions are read as people type them: a one-letter flag the deck uses ("-b") is a
word, two deck words run together ("logfile") are both, a question of symbols alone ("2>&1")
is looked up among the symbols entries name (``bot.kb.symbols``), and an entry that writes the
question's neighbouring words side by side ("NOT EXISTS") ranks above one that merely holds them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import overload

import numpy as np

from bot.kb import english
from bot.kb.english import nearby
from bot.kb.everyday import deck_threshold, everyday_lines, line_logit
from bot.kb.meaning import WORD_DIMENSIONS, meanings
from bot.kb.model import Deck, Entry
from bot.kb.postings import Postings, group_postings, posting_keys
from bot.kb.symbols import Symbols, symbol_tokens
from bot.kb.text import CODE_SPAN, STOPWORDS, fold, stem, stem_all, words
from bot.kb.tokens import DOC_END, tokenize
from bot.kb.tuning import Tuning

# "name" is the entry's id read as words ("join-duplicate-rows"): the author's own short name for
# it, a keyword every entry has (measured on the five dev decks: top-1 +0.5 to +2.4 points on four,
# none on SQL; decision +0.3 to +2.3; chat declined unchanged).
FIELD_WEIGHTS = {"question": 3.0, "aliases": 2.0, "keywords": 2.0, "name": 2.0, "topic": 1.0, "answer": 1.0,
                 "quiz": 1.0}
HEAD_FIELDS = ("question", "aliases", "keywords", "name")
# Dirichlet prior for the deck's word distribution (the usual 1,000-2,000 of Zhai & Lafferty):
# how many words of English the deck's own counts are blended with.
PRIOR = 1000.0
REPAIRS_KEPT = 10_000  # remembered typo repairs per deck; a bound, so a flood of junk cannot grow memory
NEIGHBOURS_KEPT = 10_000  # remembered nearest words (``DeckIndex._neighbour``) per deck, for the same reason
CANDIDATES = 10  # entries per deck whose coverage is measured; the rest rank too low to matter
# The best few candidates are read for word pairs: reading an entry's text costs ~0.1 ms, and
# on the dev decks 5 rank as 10 do (3 lost a top-3 answer on Python).
PHRASE_CANDIDATES = 5
FLAG_ENTRIES_READ = 500  # entries read to tell whether a letter is a flag of the deck (~30 µs each)
MAX_SPLIT = 40  # longer "words" are pasted junk, not two words run together (each cut is tried)
PAIRS_KEPT = 5_000  # entries whose word pairs are remembered (~5 KB each): all of a small deck
VECTORS_KEPT = 20_000  # remembered entry meanings per deck (1 KB each): all of a small deck, a bound on a big one
# Decks up to this size have every entry's meaning worked out when built (~0.3 ms an entry), so
# no question pays for it, and a kept index (bot.kb.index_cache) holds them; larger ones as met.
MEANINGS_AT_BUILD = 1_000
# Distinct deck words whose meanings are remembered for comparing questions word by word (256
# bytes each, 5 MB in all): every word of a small deck; on a large one the table starts over when full.
WORD_VECTORS_KEPT = 20_000
# Deck words a word the deck never uses may be read as (``DeckIndex._neighbour``): a small deck's
# every word; on a large one the most used (the rarer are not reachable), so the table is made
# with the index and kept with it (~0.1 s and 1.3 MB at most).
NEIGHBOUR_WORDS = 5_000
# Entries (evenly spaced) whose questions measure how close in meaning a deck's texts are to one
# another (``DeckIndex.background``): all of a small deck; a sample of a large one (~0.6 ms each).
BACKGROUND_SAMPLE = 200
# A three-letter word 100 times (e^4.6) rarer than a stopword one edit away is a chat spelling of it ("wat").
RARER = 4.6
_DROP = "\x00"  # repair target for misspelled stopwords ("wat"): the word is dropped


_CAPITALS = bytes(c if 65 <= c <= 90 else 32 for c in range(256))  # keeps A-Z, blanks the rest
_WORD_OR_LINE = re.compile(r"[a-z0-9]+|\n")  # ``words`` and the line breaks between them
_LINE = -2  # the term of a line break, for word pairs: none
_FLAG = re.compile(r"(?<![\w-])-([a-z0-9])(?![\w-])")
_CHAT = frozenset("ok okay hi hey hello thanks thank please pls".split())  # "Is it OK to ...?" is not code


def code_words(texts: list[str]) -> frozenset[str]:
    """Stopwords written as code in ``texts`` (a deck's questions, aliases, keywords): its terms there.

    "What's the difference between WHERE and HAVING?", "`is` or `==`?": in these decks "having"
    and "is" name things people look up, so they are not dropped from this deck's index and queries.
    Runs of capitals are found with one byte translation of all the texts, and backticks with one
    search: a regex over each text was 1.5 s of a 100,000-entry build.
    """
    joined = "\n".join(texts)
    capitals = {run.decode().lower() for run in joined.encode().translate(_CAPITALS).split()}
    ticked = {word for span in CODE_SPAN.findall(joined) for word in words(span)} if "`" in joined else set()
    return frozenset(word for word in (capitals | ticked) & STOPWORDS - _CHAT if len(word) > 1)


@dataclass(frozen=True)
class QueryTerm:
    """A content stem of the query: the information it carries and how sure we are it was meant."""

    term: str
    information: float
    certainty: float = 1.0
    neighbour: bool = False  # the deck word closest in meaning to a word it lacks (``DeckIndex._neighbour``)


@dataclass(frozen=True)
class DeckMatches:
    """One deck's candidates for a query, best first, and whether its best is a confident answer
    (from ``DeckIndex.undecided``: only whether it is answered without the rule)."""

    entries: np.ndarray  # entry positions in the deck
    scores: np.ndarray   # 0..1, for ranking and display
    coverage: float      # share of the query's information the best entry explains
    answered: bool
    about: float         # how much likelier the query's words are in this deck's text than in English
    closeness: float     # cosine between the meanings of the query and the best entry (0 without the model)
    verbatim: bool = False  # the query is the best entry's question, an alias, a keyword or its id, word for word
    features: tuple[float, ...] = ()  # what the answer rule weighs (``Tuning.ANSWER_FEATURES``), if it is asked
    # The best entry holds at least one specific word's worth of the question (``Tuning.min_evidence``),
    # or names its symbols: what a suggestion needs when the deck declines.
    specific: bool = True


def _entry_name(entry: Entry) -> str:
    """An entry's id read as words: ``join-duplicate-rows`` is the author's short name for it."""
    return entry.id.replace("-", " ")


def _head_texts(entry: Entry) -> tuple[str, ...]:
    """What names an entry: its question, aliases, keywords and id read as words."""
    return (entry.question, *entry.aliases, *entry.keywords, _entry_name(entry))


def _quiz_text(entry: Entry) -> str:
    """An entry's quiz prompts, explanations and right choices, in that order, one a line.

    A plain loop: the nested generator it replaces was a tenth of a 100,000-entry build.
    """
    parts: list[str] = []
    for card in entry.quiz:
        parts += (card.prompt, card.explanation)
        parts += [choice.text for choice in card.choices if choice.correct]
    return "\n".join(parts)


class DeckIndex:
    """An immutable index over one deck's entries."""

    def __init__(self, deck: Deck, tuning: Tuning) -> None:
        self.deck = deck
        self.tuning = tuning
        self.entries = deck.entries
        self._synonyms = {term: words(expansion) for term, expansion in deck.synonyms.items()}
        self._repairs: dict[str, str | None] = {}
        self._phrases: dict[int, tuple[str, ...]] = {}  # entry position -> its head phrases, as met
        self._rows: dict[int, int] = {}  # entry position -> its row in _meanings, as met
        self._meanings = np.empty((0, 0), dtype=np.float32)  # entries' meanings, allocated on first use
        self._pairs: dict[int, frozenset[int]] = {}  # entry position -> its word pairs, as met
        self._word_rows: dict[str, int] = {}  # deck word -> its row in _word_vectors, as met
        self._word_vectors = np.empty((0, WORD_DIMENSIONS), dtype=np.float32)  # grown as words are met
        self._entry_words: dict[int, np.ndarray] = {}  # entry position -> rows of its content words, as met
        self._symbols: Symbols | None = None  # built when a question of symbols alone is first asked
        self._flag_letters: dict[str, bool] = {}  # letter -> whether the deck writes it as a flag, as met
        self._neighbours: tuple[list[str], np.ndarray] | None = None  # ``_neighbour``'s words and their vectors
        self._neighbour_of: dict[str, tuple[str, float] | None] = {}  # word -> its neighbour, as met
        self._model = meanings() if tuning.meaning_weight > 0 else None  # kept with the index when it is pickled
        self._threshold: float | None = None  # ``answer_threshold``, worked out when first needed
        self._build()
        if self._model is not None and self.n <= MEANINGS_AT_BUILD:
            self._remember_meanings(list(range(self.n)))
            if tuning.soft_coverage > 0:
                self._entry_word_rows(list(range(self.n)))
        if self._reads_neighbours:  # a one-shot ``ask`` on a large deck would make it every run
            self._neighbour_table()
        self.background = self._background_closeness()  # for routing between decks (``SearchIndex``)
        if tuning.phrase_weight > 0 and self.n <= MEANINGS_AT_BUILD:  # word pairs too (~0.1 ms an entry)
            for at in range(self.n):
                self._entry_pairs(at)

    def prepare(self) -> None:
        """Does now, once, what would otherwise fall on the first questions of a running bot."""
        if self._model is not None:
            self._model.prepare()
        self.calibrate()

    def calibrate(self) -> None:
        """Works out ``answer_threshold`` now, so that an index kept on disk holds it."""
        self.answer_threshold  # noqa: B018 - the property remembers it

    @property
    def answer_threshold(self) -> float:
        """The answer rule's log-odds this deck answers at: read from how it scores everyday chat
        (``bot.kb.everyday``), once (~0.15 s on a small deck), and kept with the index."""
        if self._threshold is None:
            rule = self.tuning.answer_logit
            self._threshold = deck_threshold(
                [line_logit(m.features, m.answered, rule) if m is not None else -math.inf
                 for m in map(self.undecided, everyday_lines())], self.tuning)
        return self._threshold

    def _answers_at(self, logit: float) -> bool:
        """Whether the rule's log-odds answer on this deck. Outside the floor and the cap the
        deck's own threshold is not needed, so a clear question never waits for it."""
        if logit >= self.tuning.threshold_cap:
            return True
        return logit >= self.tuning.threshold_floor and logit >= self.answer_threshold

    @property
    def missing_model(self) -> bool:
        """Whether meaning was to rank (``Tuning.meaning_weight``) but its model could not be read."""
        return self._model is None and self.tuning.meaning_weight > 0

    def _expansions(self, vocabulary: list[str]) -> list[tuple[str, ...]]:
        """The index terms each deck word stands for: synonyms expanded, stopwords dropped, stemmed."""
        stopwords = self._stopwords
        parts = [() if word == DOC_END else tuple(p for p in self._synonyms.get(word, (word,)) if p not in stopwords)
                 for word in vocabulary]
        distinct = list(dict.fromkeys(p for word_parts in parts for p in word_parts))
        stems = dict(zip(distinct, stem_all(distinct)))
        return [tuple(stems[p] for p in word_parts) for word_parts in parts]

    def _build(self) -> None:
        deck = self.deck
        field_texts = {
            "question": [e.question for e in self.entries],
            "aliases": ["\n".join(e.aliases) for e in self.entries],
            "keywords": ["\n".join(e.keywords) for e in self.entries],
            "name": [_entry_name(e) for e in self.entries],
            "topic": [deck.topics.get(e.topic, e.topic) for e in self.entries],
            "answer": [e.answer for e in self.entries],
            "quiz": [_quiz_text(e) for e in self.entries],
        }
        code = code_words(field_texts["question"] + field_texts["aliases"] + field_texts["keywords"])
        self._stopwords = STOPWORDS - code
        # The deck's name and title name its field: a question that says it ("... in agile") says
        # only that it is for this deck, so where no entry uses the word it is not a word the
        # deck lacks (which counts against answering) but none at all (Agile +0.3 decision, no
        # other dev deck moved, alone, beside the built-in deck or with every deck loaded).
        self._field_words = frozenset(words(f"{deck.name.replace('-', ' ')} {deck.title}")) - self._stopwords
        self._code_terms = frozenset(stem(word) for word in code)  # English function words all the same
        weights_now = dict(FIELD_WEIGHTS, quiz=self.tuning.quiz_weight)
        n = self.n = len(self.entries)
        vocabulary, chunks = tokenize(list(field_texts.values()))

        # A word maps to up to a few terms (the synonym "gan" expands to three); one slot each.
        expansions = self._expansions(vocabulary)
        self.term_ids: dict[str, int] = {}
        slots = max((len(e) for e in expansions), default=0)
        table = np.full((slots, len(vocabulary)), -1, dtype=np.int32)
        for word_id, word_terms in enumerate(expansions):
            for slot, term in enumerate(word_terms):
                table[slot, word_id] = self.term_ids.setdefault(term, len(self.term_ids))
        n_terms = len(self.term_ids)

        # One sort of (term, doc, field) keys groups every posting; doc and field ride in the low bits.
        doc_bits = max(n - 1, 1).bit_length()
        weights = np.array([weights_now[name] for name in field_texts])
        head = np.array([weights_now[name] if name in HEAD_FIELDS else 0.0 for name in field_texts])
        del field_texts
        keys = posting_keys(table, chunks, doc_bits)
        del chunks  # as each array is done with, it goes: a large deck's build is bounded by its memory
        grouped = group_postings(keys, doc_bits, weights, head)
        del keys
        self.full = Postings(grouped.terms, grouped.docs, grouped.tf, n, n_terms)
        self._term_count = np.zeros(n_terms)
        np.add.at(self._term_count, grouped.terms, grouped.tf)
        self._log_size = float(np.log(self._term_count.sum() + PRIOR))
        self.head = Postings(grouped.terms[grouped.head_rows], grouped.docs[grouped.head_rows], grouped.head_tf,
                             n, n_terms)

        # Typo repair compares unknown query words with deck words of similar length, letters only:
        # a slip is not a number or an id ("e1234"), and a big deck has as many of those as entries.
        # How many entries use a word's term breaks ties between equally close candidates.
        frequency = self.full.df[table[0]] if slots else np.zeros(len(vocabulary), dtype=np.int64)
        self._word_frequency = {w: int(frequency[i]) for i, w in enumerate(vocabulary) if expansions[i]}
        # For word pairs: each content word's own term, its stem (a synonym's, "repo", may be a term
        # through another word, "repos"; else -1); stopwords are absent.
        self._word_terms = {w: self.term_ids[parts[0]] if w not in self._synonyms else self.term_ids.get(stem(w), -1)
                            for w, parts in zip(vocabulary, expansions) if parts}
        self._word_terms["\n"] = _LINE
        self._by_length: dict[int, list[str]] = {}
        for word in self._word_frequency:
            if word.isalpha():
                self._by_length.setdefault(len(word), []).append(word)

    # ------------------------------------------------------------------ reading the query

    def query_terms(self, query: str) -> list[QueryTerm]:
        """The query's distinct content stems after word joining, synonym expansion and typo repair."""
        # A lone letter ("B", "a") is not a topic, unless written as a command's flag ("checkout -b",
        # "kill -9") and the deck uses it: then it is much of what the question is about.
        flags = {f for f in _FLAG.findall(fold(query)) if self._is_flag(f)} if "-" in query else set()
        raw = [w for w in words(query) if len(w) > 1 or w in flags]  # (a lone "b" elsewhere counts too)
        if self._reads_neighbours:  # all at once (words the loop then repairs or splits are worked out in vain)
            self._find_neighbours([w for w in raw if w not in self._stopwords and w not in self._synonyms
                                   and stem(w) not in self.term_ids])
        found: dict[str, QueryTerm] = {}
        i = 0
        while i < len(raw):
            word, i = self._next_word(raw, i)
            if word in self._stopwords and word not in self._synonyms:
                continue
            if word in self._field_words and word not in self._synonyms and stem(word) not in self.term_ids:
                continue  # "a spike in agile", to a deck titled "Agile and Scrum ..." whose entries never say it
            certainty = 1.0
            split: tuple[str, ...] = ()
            neighbour: tuple[str, float] | None = None
            if word not in self._synonyms and stem(word) not in self.term_ids:
                repaired = self._repair(word)
                if repaired == _DROP:
                    continue
                if repaired is not None:  # a synonym too: "mdoe" -> "mde" -> "minimum detectable effect"
                    word, certainty = repaired, self.tuning.repair_certainty
                else:
                    split = self._split(word)
                    neighbour = None if split else self._neighbour(word)
            if split:  # "logfile" -> "log file": each part weighs what it does typed apart; a reading, as a repair is
                parts, share, certainty = list(split), 1.0, self.tuning.repair_certainty
            else:
                parts = [p for p in self._synonyms.get(word, (word,)) if p not in self._stopwords]
                share = 1.0 / max(len(parts), 1)  # "pr" -> "pull request": each part half of "pr"
            for part in parts:
                term = stem(part)
                weight = english.information(word if len(parts) > 1 and not split else part) * share
                # A word neither the deck nor English knows is a term the deck lacks ("metaclass",
                # full weight: a near miss) or a slip on an everyday word ("tiem": weigh it as that).
                if term not in self.term_ids and weight >= english.max_information():
                    weight = english.information(english.likely_word(part)) * share
                if term not in found or found[term].information < weight:
                    found[term] = QueryTerm(term, weight, certainty)
            if neighbour is not None:  # the word stays, a term the deck lacks, and its neighbour joins it
                near = stem(neighbour[0])
                if near not in found:
                    found[near] = QueryTerm(near, english.information(word), neighbour[1], neighbour=True)
        return list(found.values())

    def _neighbour(self, word: str) -> tuple[str, float] | None:
        """The deck word closest in meaning to a word the deck never uses, with their cosine, if that
        is at least ``Tuning.meaning_neighbour``; remembered, as repairs are.

        People ask in their own words: "my computer takes ages" to a deck that says "laptop". The
        question keeps its own word (a word the deck lacks counts against answering, as before),
        and gains the neighbour, as sure as the two are close, so the entries that use it become
        candidates. Only English words are read so: one English does not know is a name or a term
        of art ("javascript", "xpu"), and its neighbour ("tfjs", "tpu") a different thing. Word
        vectors are those of ``_soft_coverage``.
        """
        if not self._may_have_neighbour(word):
            return None
        if word not in self._neighbour_of:
            self._find_neighbours([word])
        return self._neighbour_of[word]

    @property
    def _reads_neighbours(self) -> bool:
        """Whether words the deck lacks are read as their nearest deck words (``Tuning.meaning_neighbour``
        below 1, and the model there to compare them)."""
        return self._model is not None and self.tuning.meaning_neighbour < 1.0

    def _may_have_neighbour(self, word: str) -> bool:
        """Whether ``_neighbour`` reads the word at all (its callers pass only words the deck lacks):
        an English word of three letters or more."""
        return (self._reads_neighbours and len(word) > 2
                and english.information(word) < english.max_information())  # else a name: "emacs", "rebase"

    def _find_neighbours(self, candidates: list[str]) -> None:
        """Works out at once the neighbours of a question's words the deck does not know: one product
        for all of them, as a long question has several (one at a time cost 0.2-0.5 ms of the first
        pass's p99 on the built-in deck, ``bench.ask``)."""
        assert self._model is not None
        new = [w for w in dict.fromkeys(candidates) if w not in self._neighbour_of and self._may_have_neighbour(w)]
        if not new:
            return
        if len(self._neighbour_of) + len(new) > NEIGHBOURS_KEPT:
            self._neighbour_of.clear()
        deck_words, vectors = self._neighbour_table()
        if not deck_words:
            self._neighbour_of.update(dict.fromkeys(new))
            return
        closeness = self._model.question_word_vectors(new) @ vectors.T  # the new words x the deck's words
        best = closeness.argmax(axis=1)
        for word, at, row in zip(new, best.tolist(), closeness):
            near = row[at] >= self.tuning.meaning_neighbour
            self._neighbour_of[word] = (deck_words[at], float(row[at])) if near else None

    def _neighbour_table(self) -> tuple[list[str], np.ndarray]:
        """The deck words ``_neighbour`` reads into, and their unit vectors: letters only (a slip is
        not an id either), the most used first, ``NEIGHBOUR_WORDS`` at most."""
        if self._neighbours is None:
            assert self._model is not None
            ranked = sorted((w for w in self._word_frequency if w.isalpha() and len(w) > 2 and w not in self._synonyms),
                            key=lambda w: -self._word_frequency[w])[:NEIGHBOUR_WORDS]
            self._neighbours = (ranked, self._model.word_vectors(ranked))
        return self._neighbours

    def _is_flag(self, letter: str) -> bool:
        """Whether the deck writes ``-letter`` as a command's flag ("-b" in "git checkout -b"): "b" for
        A/B tests in a statistics deck is no flag. Only entries holding the letter are read, once, and at
        most ``FLAG_ENTRIES_READ`` of them: on a large deck a flag written only further on goes unseen."""
        known = self._flag_letters.get(letter)
        if known is None:
            term = self.term_ids.get(letter)
            docs = () if term is None else self.full.docs[
                self.full.ptr[term]:min(self.full.ptr[term + 1], self.full.ptr[term] + FLAG_ENTRIES_READ)]
            # The text an entry's meaning is read from: its question, other names and answer.
            known = self._flag_letters[letter] = any(letter in _FLAG.findall(fold(self._meaning_text(int(at))))
                                                     for at in docs)
        return known

    def _split(self, word: str) -> tuple[str, ...]:
        """Two deck words that ``word`` is written together, or nothing: "logfile" is "log file".

        Only for a word neither the deck nor English knows and that no slip explains, and only
        when both parts are words of the deck of three letters or more: "rebase" ("re") and
        "dnssec" (a deck of the web has no "sec") stay terms the deck lacks. Of several ways to
        cut it, the most even.
        """
        if not 6 <= len(word) <= MAX_SPLIT or not word.isalpha() or english.is_common(word):
            return ()
        cuts = [(word[:at], word[at:]) for at in range(3, len(word) - 2)]
        known = [cut for cut in cuts if cut[0] in self._word_frequency and cut[1] in self._word_frequency]
        return max(known, key=lambda cut: min(len(cut[0]), len(cut[1])), default=())

    def _next_word(self, raw: list[str], i: int) -> tuple[str, int]:
        """The word at ``i``, or it joined with the next one when the deck means the joined form.

        "drop out" -> "dropout", "tensor flow" -> "tensorflow", and "post mortem" -> "postmortem"
        in a deck that says "post" but never "mortem"; but "a way" stays two words (a stopword
        starts it), and so do "batch size" and "one line" (the deck knows each word on its own)
        and "check out" (a stopword ends it).
        """
        if i + 1 < len(raw) and raw[i] not in self._stopwords:
            first, second = raw[i], raw[i + 1]
            if stem(first + second) in self.term_ids and (
                    stem(first) not in self.term_ids
                    or (stem(second) not in self.term_ids and second not in self._stopwords)):
                return first + second, i + 2
        return raw[i], i + 1

    def _repair(self, word: str) -> str | None:
        """``_repair_uncached``, remembered: people misspell the same words, and a guess costs ~0.2 ms."""
        if word not in self._repairs:
            if len(self._repairs) >= REPAIRS_KEPT:
                self._repairs.clear()
            self._repairs[word] = self._repair_uncached(word)
        return self._repairs[word]

    def _repair_uncached(self, word: str) -> str | None:
        """The deck word a word the deck does not know was meant to be, ``_DROP``, or None.

        Never repairs an everyday English word: "says" is not a typo of "stay". Three-letter words
        are repaired only when one deck word alone is one edit away.
        """
        if len(word) < 3 or not word.isalpha():
            return None
        stopword = self._misspelt_stopword(word)
        if stopword is not None and len(word) <= 3:
            return _DROP  # three letters are too few to weigh against a deck word: "wat" is "what"
        guess = None if english.is_common(word) else self._closest_deck_word(word)
        # "tets" is one edit from "gets" and from the deck's "test": the deck word is the likelier
        # meaning in a question to this deck.
        if stopword is not None and (guess is None or guess[0] > stopword):
            return _DROP
        return guess[1] if guess else None

    def _closest_deck_word(self, word: str) -> tuple[int, str] | None:
        """The deck word closest to ``word`` and its distance.

        For three letters, only an unambiguous one, and not an everyday word the deck never asks
        about (in no question, alias, keyword or id): three letters are little evidence, and chat
        ("brb") one slip from a name in an answer's example (SQL's "bob") was answered.
        """
        found = nearby(word, self._by_length, self._word_frequency)
        if not found:
            return None
        if len(word) == 3 and len(found) > 1 and found[1][0] == found[0][0]:
            return None  # "tpo": top? tpu? too short to choose
        if len(word) == 3 and english.is_common(found[0][2]) and not self._in_head(found[0][2]):
            return None  # "brb" is not the "bob" of an example in an answer; "tga" is still "tag"
        return found[0][0], found[0][2]

    def _in_head(self, word: str) -> bool:
        """Whether an entry's question, aliases, keywords or id hold the deck word ``word``."""
        terms = self._expansions([word])[0]
        return any(self.head.df[self.term_ids[t]] > 0 for t in terms if t in self.term_ids)

    @staticmethod
    def _misspelt_stopword(word: str) -> int | None:
        """How far a chat spelling of a question word ("wat", "whta", "differnce") is from it, or None.

        Such spellings are far rarer than the word meant; "says" is one edit from "say" but nearly
        as common, so it is a word of its own.
        """
        found = nearby(word, english.stopwords_by_length(), {})
        if not found:
            return None
        if english.is_common(word):  # "hash" is not "has"; but "wat" is "what"
            rarer = len(word) <= 3 and english.information(word) - english.information(found[0][2]) > RARER
            return found[0][0] if rarer else None
        return found[0][0]

    # ------------------------------------------------------------------ ranking and deciding

    def _asked_verbatim(self, query: str, candidates: np.ndarray) -> int | None:
        """Which candidate (by position) has ``query`` as its question, an alias, a keyword or its id, word for word.

        The author wrote that text for that entry, so it is answered even when its words are too
        common to pass the answer rule on their own ("What is the first thing?" in a small deck).
        A keyword counts as an alias does: "functional API", "Eager execution" typed bare are the
        terms the author listed for that entry (TensorFlow +0.3 decision / +0.5 top-1, Linux shell
        +0.3 / +0.5, no other dev deck moved); and so does the id read as words, the author's short
        name for the entry ("velocity" is the entry ``velocity``, not ``velocity-as-target``, whose
        question names velocity too: Agile +0.3 / +0.6, no other dev deck moved, alone, beside the
        built-in deck or with every deck loaded). Only the candidates are compared: such an entry
        holds every query word in its head, so it ranks among them, and the check stays a few
        microseconds on any deck.
        """
        said = " ".join(words(query))
        for position, entry_at in enumerate(candidates):
            if said in self._head_phrases(int(entry_at)):
                return position
        return None

    def _head_phrases(self, at: int) -> tuple[str, ...]:
        """An entry's question, aliases, keywords and id as words joined by spaces, worked out when first needed."""
        phrases = self._phrases.get(at)
        if phrases is None:
            phrases = self._phrases[at] = tuple(" ".join(words(text)) for text in _head_texts(self.entries[at]))
        return phrases

    def _closeness(self, query: str, candidates: np.ndarray) -> np.ndarray | None:
        """How close each candidate is to ``query`` in meaning (cosines), or None without the model.

        Words find the candidates; meaning helps order them, so "each customer shows up several
        times after the join" can rank "why does my join return duplicate rows?" first. Only the
        candidates are compared, so the cost is a few dot products however large the deck.
        """
        if self._model is None:
            return None
        positions = candidates.tolist()
        self._remember_meanings(positions)
        return self._meanings[[self._rows[i] for i in positions]] @ self._model.vector(query)

    def _soft_coverage(self, query: str, candidates: np.ndarray) -> np.ndarray | None:
        """Per candidate, the share of the query's information its words hold, each query word
        counting as much as it is close in meaning to the entry's nearest word.

        Word coverage counts a query word only where the entry has it, and a sentence's mean vector
        blurs a question's few telling words into its many others; word by word, a paraphrase's
        word counts for as much as the entry's nearest word is close to it ("mute" to "silence"),
        weighted by English information as coverage is (BERTScore's recall, with the model's static
        vectors, which are rougher for single words than for texts). On the fifteen dev decks
        it moved paraphrase top-1 from 67.5 to 68.2% ("what's the meeting at the end of the iteration
        where we talk about how we worked together" went from the stand-up's entry to the retrospective's).
        None without the model or a content word.
        """
        if self._model is None:
            return None
        said = [w for w in dict.fromkeys(words(query)) if len(w) > 1 and w not in self._stopwords]
        weights = np.array([max(english.information(w) - self.tuning.common_information, 0.0) for w in said])
        if not said or weights.sum() <= 0:
            return None
        asked = self._model.question_word_vectors(said)
        rows = self._entry_word_rows(candidates.tolist())
        closest = asked @ self._word_vectors[np.concatenate(rows)].T  # query words x every candidate's words
        starts = np.cumsum([0] + [len(r) for r in rows[:-1]])
        nearest = np.maximum.reduceat(closest, starts, axis=1)  # query words x candidates
        return np.clip(weights @ nearest / weights.sum(), 0.0, 1.0)

    def _entry_word_rows(self, positions: list[int]) -> list[np.ndarray]:
        """Each entry's distinct content words (naming texts, answer, quiz prompts) as rows of the
        deck's word table, worked out when first needed; both start over when full (a bound on a big deck)."""
        assert self._model is not None
        texts = {at: self._content_words(at) for at in positions if at not in self._entry_words}
        new = {w for found in texts.values() for w in found if w not in self._word_rows}
        if len(self._word_rows) + len(new) > WORD_VECTORS_KEPT or len(self._entry_words) + len(texts) > VECTORS_KEPT:
            self._word_rows.clear()
            self._entry_words.clear()
            texts = {at: self._content_words(at) for at in positions}
            new = {w for found in texts.values() for w in found}
        if new:
            added = list(new)
            start, end = len(self._word_rows), len(self._word_rows) + len(added)
            if end > len(self._word_vectors):  # grown as needed: a small deck's table is kept with its index
                grown = np.empty((max(end, min(WORD_VECTORS_KEPT, 2 * len(self._word_vectors))), WORD_DIMENSIONS),
                                 dtype=np.float32)
                grown[:start] = self._word_vectors[:start]
                self._word_vectors = grown
            self._word_vectors[start:end] = self._model.word_vectors(added)
            self._word_rows.update(zip(added, range(start, end)))
        for at, found in texts.items():
            self._entry_words[at] = np.array([self._word_rows[w] for w in found], dtype=np.int32)
        return [self._entry_words[at] for at in positions]

    def _content_words(self, at: int) -> list[str]:
        """An entry's distinct words that the index reads (no stopwords, none of one letter), or one
        stopword for an entry of none, so every entry has a row."""
        entry = self.entries[at]
        text = "\n".join((*_head_texts(entry), entry.answer, *(card.prompt for card in entry.quiz)))
        found = [w for w in dict.fromkeys(words(text)) if len(w) > 1 and w not in self._stopwords]
        return found or ["the"]

    def _remember_meanings(self, positions: list[int]) -> None:
        """Works out the meanings of the entries at ``positions`` that are not yet remembered."""
        assert self._model is not None
        missing = [i for i in dict.fromkeys(positions) if i not in self._rows]
        if not missing:
            return
        if len(self._rows) + len(missing) > min(self.n, VECTORS_KEPT):
            self._rows.clear()  # a bound on a big deck: start over rather than track what is least used
            missing = list(dict.fromkeys(positions))  # all of them now, the ones remembered a moment ago too
        vectors = self._model.vectors([self._meaning_text(i) for i in missing])
        if not self._meanings.size:
            self._meanings = np.empty((min(self.n, VECTORS_KEPT), vectors.shape[1]), dtype=np.float32)
        start = len(self._rows)
        self._meanings[start:start + len(missing)] = vectors
        self._rows.update(zip(missing, range(start, start + len(missing))))

    def _background_closeness(self) -> float:
        """How close in meaning the deck's questions are to its other entries, on average (0 without the model).

        Routing between decks counts an entry's closeness above this, not as it is: a deck of long,
        many-named entries is close in meaning to any question of its field (the TensorFlow deck's
        background is 0.35, the dev decks' 0.13-0.26), and took JavaScript and statistics
        questions on that alone. Read from the deck's own text when it is built, so the same on
        any deck; on a large deck from ``BACKGROUND_SAMPLE`` entries (a mean, so a sample is enough).
        """
        if self._model is None or self.n < 2:
            return 0.0
        sample = sorted(set(np.linspace(0, self.n - 1, min(self.n, BACKGROUND_SAMPLE)).astype(int).tolist()))
        if all(i in self._rows for i in sample):  # a small deck's, worked out at build
            entries = self._meanings[[self._rows[i] for i in sample]]
        else:  # a large deck's sample, not kept: the room is for the entries questions meet
            entries = self._model.vectors([self._meaning_text(i) for i in sample])
        cosines = self._model.vectors([self.entries[i].question for i in sample]) @ entries.T
        k = len(sample)
        return float((cosines.sum() - np.trace(cosines)) / (k * (k - 1)))  # each entry's own question left out

    def _meaning_text(self, at: int) -> str:
        """What an entry is about, for ``bot.kb.meaning``: its question, other names and answer."""
        entry = self.entries[at]
        return "\n".join((entry.question, *entry.aliases, " ".join(entry.keywords), entry.answer))

    def _about(self, terms: list[QueryTerm]) -> float:
        """Log-likelihood ratio of the query's words under this deck's text against everyday English.

        The deck's word counts are smoothed towards English (Dirichlet prior), so a word the deck
        never uses scores 0 and one it uses far more than English does scores high; the same
        yardstick for every deck, which is what routing between decks needs.
        """
        total = 0.0
        for q in terms:
            if q.term in self._code_terms:  # "where", "is": in every deck's questions, whatever it writes as code
                continue
            english_p = math.exp(-q.information)
            count = self._term_count[self.term_ids[q.term]] if q.term in self.term_ids else 0.0
            total += math.log((count + PRIOR * english_p) / english_p) - self._log_size
        return total

    def _phrase_share(self, terms: list[QueryTerm], candidates: np.ndarray) -> np.ndarray:
        """Per candidate, the share of the query's neighbouring word pairs it writes side by side.

        "NOT EXISTS", "cross site scripting", "distinct on": entries that hold both words
        somewhere are many, the one that says the phrase is the one about it. Pairs are of
        content words in the query's order, so "regression to the mean" is the pair (regression,
        mean) wherever the deck keeps "mean" as a word. Only the candidates are read.
        """
        stems = [q.term for q in terms]
        pairs = set(zip(stems, stems[1:]))
        width, term_id = len(self.term_ids) + 2, self.term_ids
        known = {(term_id[a] + 2) * width + term_id[b] + 2 for a, b in pairs if a in term_id and b in term_id}
        return np.array([len(known & self._entry_pairs(int(at))) for at in candidates]) / len(pairs)

    def _entry_pairs(self, at: int) -> frozenset[int]:
        """The neighbouring content-word pairs of an entry's text, worked out once when first needed.

        Pairs are within a line, of the words the index reads (a stopword between two words
        leaves them neighbours), each as one number: (first term + 2) * (terms + 2) + second + 2.
        """
        pairs = self._pairs.get(at)
        if pairs is None:
            entry = self.entries[at]
            text = "\n".join((*_head_texts(entry), entry.answer, _quiz_text(entry)))
            term_of, width = self._word_terms.get, len(self.term_ids) + 2
            ids = [i + 2 for i in map(term_of, _WORD_OR_LINE.findall(fold(text))) if i is not None]
            found = {a * width + b for a, b in zip(ids, ids[1:]) if a and b}  # a line break is 0
            if len(self._pairs) >= PAIRS_KEPT:
                self._pairs.clear()
            pairs = self._pairs[at] = frozenset(found)
        return pairs

    def _match_symbols(self, query: str, candidates: int) -> DeckMatches | None:
        """The entries naming the symbols of a question that has no words ("2>&1", "$?"), if any.

        One entry naming it in its question, aliases or keywords (or, failing that, in its
        answer's code) is the answer, as an alias typed back would be; several are suggestions.
        """
        tokens = symbol_tokens(query)
        if not tokens:
            return None
        if self._symbols is None:
            self._symbols = Symbols(self.entries)
        head, code = self._symbols.entries_naming(tokens)
        found = head or code
        if not found:
            return None
        ranked = np.array((head + code)[:candidates], dtype=np.int64)
        scores = (np.array([1.0] * len(head) + [1.0 - self.tuning.body_credit / 2] * len(code)) / len(found))[
            :candidates]
        closeness = self._closeness(query, ranked)
        return DeckMatches(ranked, np.round(scores, 4), 1.0, len(found) == 1, 0.0,
                           float(closeness[0]) if closeness is not None else 0.0)

    def match(self, query: str, candidates: int = CANDIDATES) -> DeckMatches | None:
        """The best entries for ``query`` and whether the best one answers it; None if nothing matches."""
        return self.decide(self.undecided(query, candidates))

    @overload
    def decide(self, found: DeckMatches) -> DeckMatches: ...
    @overload
    def decide(self, found: None) -> None: ...

    def decide(self, found: DeckMatches | None) -> DeckMatches | None:
        """``found`` with the answer rule's verdict, where the rule is asked (``features``)."""
        if found is None or not found.features:
            return found
        return replace(found, answered=self._answers_at(self.tuning.answer_logit(found.features)))

    def undecided(self, query: str, candidates: int = CANDIDATES) -> DeckMatches | None:
        """``match`` before the answer rule decides: ``answered`` only where no rule is asked (the
        query is an entry's own words, or symbols one entry alone names); ``features`` holds what
        the rule would weigh. Routing compares decks on this, so only the chosen deck decides."""
        terms = self.query_terms(query)
        known = [t for t in terms if t.term in self.term_ids]
        if not known or self.n == 0:
            return self._match_symbols(query, candidates) if not terms and self.n else None
        t = self.tuning
        ids = [self.term_ids[q.term] for q in known]
        weights = [q.certainty * (q.information / english.max_information() if t.query_weighting else 1.0)
                   for q in known]
        info = {q.term: max(q.information - t.common_information, 0.0) * q.certainty for q in terms}
        values = [info[q.term] for q in known]
        # Per entry: BM25 score, and the information of the query words it holds anywhere / in its head.
        full_scores, in_full = self.full.scores(ids, weights, values)
        head_scores, in_head = self.head.scores(ids, weights, values)
        scores = full_scores + t.head_weight * head_scores
        k = min(candidates, self.n)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[scores[top] > 0]
        if top.size == 0:
            return None
        # A word in the head counts whole, one only in the answer (or topic, quiz) ``body_credit``.
        matched = t.body_credit * in_full[top] + (1.0 - t.body_credit) * in_head[top]
        total = sum(info.values()) or 1.0
        coverage = matched / total
        relative = scores[top] / scores[top].max()
        # Ranking counts near words as partly explaining the question (``_soft_coverage``).
        soft = self._soft_coverage(query, top) if t.soft_coverage > 0 else None
        explains = coverage if soft is None else (1 - t.soft_coverage) * coverage + t.soft_coverage * soft
        final = t.rank_coverage * explains + (1 - t.rank_coverage) * relative * explains.max()
        closeness = self._closeness(query, top)
        if closeness is not None:  # still 0..1: the score people see keeps its meaning
            final = (final + t.meaning_weight * np.clip(closeness, 0.0, 1.0)) / (1.0 + t.meaning_weight)
        share = np.zeros(len(top))  # per candidate, the share of the query's word pairs it writes side by side
        if t.phrase_weight > 0 and len(terms) > 1:  # toward 1 (still 0..1) by the share of pairs the entry has
            near = np.argsort(-final, kind="stable")[:PHRASE_CANDIDATES]
            share[near] = self._phrase_share(terms, top[near])
            final = final + t.phrase_weight * share * (1.0 - final)
        order = np.argsort(-final, kind="stable")
        exact = self._asked_verbatim(query, top[order])
        if exact is not None:  # the deck's own question (alias, keyword), typed back: that entry, answered
            order = np.concatenate(([order[exact]], np.delete(order, exact)))
        best = order[0]
        about = self._about(terms)
        specific = bool(matched[best] >= t.min_evidence)
        features: tuple[float, ...] = ()
        if exact is None and specific:
            features = self._answer_features(terms, info, top, order, matched[best], final, closeness, share, about)
        return DeckMatches(top[order], np.round(final[order], 4), float(coverage[best]), exact is not None, about,
                           float(closeness[best]) if closeness is not None else 0.0, exact is not None, features,
                           exact is not None or specific)

    def _answer_features(self, terms: list[QueryTerm], info: dict[str, float], top: np.ndarray, order: np.ndarray,
                         evidence: float, final: np.ndarray, closeness: np.ndarray | None, phrase: np.ndarray,
                         about: float) -> tuple[float, ...]:
        """What the answer rule (``Tuning.answer_logit``) weighs, in the order of ``Tuning.ANSWER_FEATURES``.

        Each means the same on any deck: nats of English information, shares, cosines above the
        deck's own background, score differences on the 0..1 scale people see.
        """
        best, second = order[0], order[1] if len(order) > 1 else None
        doc = int(top[best])
        # The query words the best entry does not hold anywhere (a word the deck lacks included):
        # a near miss asks for one specific thing the entry never says ("argo rollouts").
        missed = [v for term, v in info.items()
                  if term not in self.term_ids or not self.full.holds(self.term_ids[term], doc)]
        cosines = closeness if closeness is not None else np.zeros(len(top))
        # Share of what the deck knows of the question that the best entry explains, less the share
        # the deck does not know at all: "string interpolation format" (one unknown word, the rest
        # explained) is explained, "what's a metaclass" (the point of it unknown) is not.
        total = sum(info.values()) or 1.0
        unknown = sum(v for term, v in info.items() if term not in self.term_ids)
        explained = float(evidence / max(total - unknown, 1e-9) - unknown / total)
        hand_rule = explained >= self.tuning.min_coverage or evidence >= self.tuning.long_evidence
        repaired = sum(info[q.term] for q in terms if q.certainty < 1.0 and not q.neighbour) / total
        # With no second candidate the score margin is the whole score, which says less: on a small
        # deck, "how do I quit emacs" has only "How do I quit vim?" to match, and with the eighth
        # round's rule 15 of the dev decks' 160 chat lines with one candidate were answered (9%,
        # against 1.5% of all chat). Hence ``only_candidate``.
        return (math.log1p(evidence), explained, float(hand_rule), repaired,
                float(cosines[best]) - self.background,
                float(cosines[best] - cosines[second]) if second is not None else 0.0,
                float(final[best] - final[second]) if second is not None else float(final[best]),
                float(phrase[best]),
                about / len(terms),
                max(missed, default=0.0),
                float(len(missed)),
                float(second is None))
