"""The lookup engine behind ``ask``: one index per deck, and a question routed to one deck.

Why this shape: people ask in paraphrases, typos, bare keywords and single acronyms, and a team
may load several decks. Each deck is indexed on its own (``bot.kb.deck_index``: field-weighted
BM25, typo repair that knows English, synonyms), and decides on its own, at its own threshold,
whether its best entry answers the question. With several decks loaded, the decks are compared
before any decides and the question goes to the one it is most about; only that deck decides, so
a second deck can take a question only by being more about it, and never changes how the first
deck decides its own questions.

Postings are numpy arrays, built with array operations, so a 100,000-entry deck indexes in
a few seconds and answers in milliseconds (``python -m bench.ask``).
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass

from bot.kb import english
from bot.kb.deck_index import CANDIDATES, DeckIndex, DeckMatches
from bot.kb.model import Deck, Entry
from bot.kb.tuning import Tuning

__all__ = ["Match", "SearchIndex", "SearchResult", "Tuning"]

# Without a confident answer, suggestions below this score are noise rather than "did you mean".
MIN_SUGGESTION = 0.25
# ... and a declined question gets suggestions only when the best entry holds a specific word of it
# (``DeckMatches.specific``) or is this much closer to it in meaning than the deck's background:
# "what time is lunch" shares only everyday words with any entry, and "did you mean: the common
# types of layers?" says the bot misunderstood rather than that it does not know. On the
# twenty-three dev decks' declined queries with a candidate: without the condition, 39.1% of the
# chat and 67.4% of the on-topic ones (the right entry) had suggestions; with it, 28.8% and
# 66.3%; with the specific word alone, 27.1% and 65.6%; 0.05, 29.7% and 66.5%.
SUGGESTION_LIFT = 0.1


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

    def __init__(self, decks: Sequence[Deck], tuning: Tuning | None = None) -> None:
        self.tuning = tuning or Tuning()
        self.entries: tuple[Entry, ...] = tuple(e for deck in decks for e in deck.entries)
        gc_was_enabled = gc.isenabled()
        gc.disable()  # the build makes no cycles, and collections would walk every loaded entry in vain
        try:
            self._decks = [DeckIndex(deck, self.tuning) for deck in decks]
        finally:
            if gc_was_enabled:
                gc.enable()
        self._by_name = {index.deck.name: index for index in self._decks}

    def prepare(self) -> None:
        """Readies everything that is otherwise prepared on first use, for a process that will answer
        many questions (``studybot run``): its first questions would each pay tens of milliseconds.
        A one-shot ``ask`` skips this, as it needs only what its one question uses."""
        english.prepare()
        for index in self._decks:
            index.prepare()

    def calibrate(self) -> None:
        """Works out each deck's answer threshold now (``DeckIndex.answer_threshold``), so an index
        kept on disk holds them and a one-shot ``ask`` does not read the everyday chat each run."""
        for index in self._decks:
            index.calibrate()

    @property
    def missing_model(self) -> bool:
        """Whether meaning was to rank but its model could not be read (the decks rank by words alone)."""
        return any(index.missing_model for index in self._decks)

    def _route(self, query: str, deck: str | None) -> tuple[DeckIndex, DeckMatches] | None:
        """The deck ``query`` is about: whose text makes its words likeliest, against everyday English.

        Only that deck then decides whether to answer, so a second deck can take a question only
        by being more about it, and never changes how the first deck decides its own questions.
        How close the deck's best entry is in meaning (``Tuning.route_meaning``) counts too, so a
        paraphrase goes to the deck that means it even where another deck uses more of its words;
        above the deck's background (``DeckIndex.background``: how close its own questions are to
        entries they are not about), so a deck of long entries does not win on length alone. So
        does the share of the question the deck's best entry explains (``Tuning.route_coverage``):
        with many decks loaded, several use a question's words, and the one with an entry about
        all of them is the one it is about. A deck with an entry whose question, alias, keyword
        or id the query is, word for word, takes it first: its author wrote those words for that
        entry ("functional API" went to a JavaScript entry).
        Measured with the four dev decks loaded together and left out: routing by the explained
        share (wrong deck up to 8.2% on Python), preferring decks that would answer (4.5%), or
        "about" plus ten times the share (mixed: 2.2% TensorFlow, 3.1% Python against 2.8, 2.4).
        With nineteen dev decks loaded, "about" and meaning alone sent 20% of their questions to
        another deck, and 40 nats per unit of the share 14.6% (``Tuning.route_coverage``).
        """
        indexes = [self._by_name[deck]] if deck in self._by_name else [] if deck is not None else self._decks
        found = [(index, m) for index in indexes if (m := index.undecided(query, CANDIDATES)) is not None]
        if not found:
            return None
        t = self.tuning
        return max(found, key=lambda pair: (pair[1].verbatim, pair[1].about + t.route_coverage * pair[1].coverage
                                            + t.route_meaning * (pair[1].closeness - pair[0].background)))

    def search(self, query: str, top: int = 3, deck: str | None = None) -> SearchResult:
        """Ranks entries for ``query``; ``deck`` restricts the search to one deck by name."""
        routed = self._route(query, deck)
        if routed is None:
            return SearchResult(query, (), False)
        index, undecided = routed
        found = index.decide(undecided)
        suggest = found.specific or found.closeness - index.background >= SUGGESTION_LIFT
        shown = tuple(Match(index.entries[int(i)], float(s)) for i, s in zip(found.entries[:top], found.scores[:top])
                      if found.answered or (suggest and s >= MIN_SUGGESTION))
        return SearchResult(query, shown, found.answered)

    def rank(self, query: str, top: int = 3) -> list[Match]:
        """The routed deck's best entries whether or not it would answer (for evaluating ranking)."""
        routed = self._route(query, None)
        if routed is None:
            return []
        index, found = routed
        return [Match(index.entries[int(i)], float(s)) for i, s in zip(found.entries[:top], found.scores[:top])]
