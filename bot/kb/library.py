"""The loaded decks the bot serves, with lookups by id and the search index over all of them."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from bot.config import Config
from bot.kb import index_cache
from bot.kb.folders import served_deck_folders
from bot.kb.model import Deck, Entry, QuizCard
from bot.kb.search import SearchIndex, SearchResult


class Library:
    """Every deck in one place; entry ids are looked up as ``id`` or ``deck/id``."""

    def __init__(self, decks: Sequence[Deck]) -> None:
        self.decks = tuple(decks)
        self._entries: dict[str, Entry] = {}
        self._cards: dict[str, QuizCard] = {}
        self._topic_cards: dict[str, frozenset[str]] = {}
        for deck in self.decks:
            for entry in deck.entries:
                self._entries[f"{deck.name}/{entry.id}"] = entry
                self._entries.setdefault(entry.id, entry)
                for card in entry.quiz:
                    self._cards[card.id] = card

    @cached_property
    def index(self) -> SearchIndex:
        """Built on first use, so commands that never search never pay for it."""
        return SearchIndex(self.decks)

    def search(self, query: str, top: int = 3, deck: str | None = None) -> SearchResult:
        """Ranked matches for ``query`` across the decks (or within ``deck``)."""
        return self.index.search(query, top=top, deck=deck)

    def entry(self, entry_id: str) -> Entry | None:
        """The entry with this id (``id`` or ``deck/id``), or None."""
        return self._entries.get(entry_id)

    def card(self, card_id: str) -> QuizCard | None:
        """The quiz card with this global id (``deck/entry/card``), or None."""
        return self._cards.get(card_id)

    def topic_cards(self, scope: str) -> frozenset[str]:
        """The ids of every card in ``scope`` (cached: leaderboards ask often).

        A scope is a deck's name (all its topics), ``deck/topic``, or a topic slug (that topic
        in every deck that has it: how rounds stored before decks could share slugs say it).
        """
        if scope not in self._topic_cards:
            deck, slash, topic = scope.partition("/")
            if slash:
                cards = (c for c in self._cards.values() if c.deck == deck and c.topic == topic)
            elif self.deck(scope) is not None:
                cards = (c for c in self._cards.values() if c.deck == scope)
            else:
                cards = (c for c in self._cards.values() if c.topic == scope)
            self._topic_cards[scope] = frozenset(c.id for c in cards)
        return self._topic_cards[scope]

    def deck(self, name: str) -> Deck | None:
        """The deck with this name, or None."""
        return next((d for d in self.decks if d.name == name), None)

    def topic_name(self, entry: Entry | QuizCard) -> str:
        """The display name of an entry's or card's topic."""
        deck = self.deck(entry.deck)
        return deck.topics.get(entry.topic, entry.topic) if deck else entry.topic


def served_library(config: Config) -> Library:
    """The library a running bot serves: configured, indexed, prepared for many questions and set
    out of the garbage collector's way (``set_aside_long_lived``)."""
    library = configured_library(config)
    library.index.prepare()
    set_aside_long_lived()
    return library


def set_aside_long_lived() -> None:
    """Moves every object alive now out of the reach of Python's full garbage collections.

    Why: a full collection walks every tracked object, and a served index is hundreds of
    thousands of them that live as long as the process and form no cycles. With a 100,000-entry
    deck one collection took 220-240 ms, stalling the event loop and every chat with it; set
    aside, 45-72 ms (what 10,000 questions add to the caches). On the built-in deck it changes
    nothing ``bench.ask`` shows (p99 0.58-0.62 against 0.56-0.64 ms). Objects set aside are
    still freed by reference counting, as a reload's old index is; what was set aside at the
    last load is put back and collected first, so a cycle that has become garbage since is not
    kept for good.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def configured_library(config: Config) -> Library:
    """The decks ``config`` names ([decks]), kept built in its cache folder unless that is off."""
    return load_library(config.deck_paths, include_builtin=config.builtin_decks, cache=config.cache_dir())


def load_library(extra_paths: Sequence[Path] = (), include_builtin: bool = True,
                 cache: Path | None = None) -> Library:
    """Loads the built-in decks plus any deck folders (or folders of decks) in ``extra_paths``.

    With a ``cache`` folder, a library already built from the same deck files by the same code
    is read from there, index and all (``bot.kb.index_cache``); else it is built and kept there.

    Raises:
        DeckError: listing every problem in every deck.
    """
    folders = served_deck_folders(extra_paths, include_builtin)
    if cache is None:
        return _built(folders, index=False)
    # A library built while the meaning model could not be read is not kept: the next run tries again.
    return index_cache.remembered(cache, index_cache.fingerprint(folders), lambda: _built(folders, index=True),
                                  Library, keep=lambda library: not library.index.missing_model)


def _built(folders: list[Path], index: bool) -> Library:
    """The decks read and checked; indexed now when the library is to be kept with its index."""
    from bot.kb.loader import load_decks  # the YAML parser, only when there is YAML to read

    library = Library(load_decks(folders))
    if index:  # built, and each deck's answer threshold worked out, so both are kept with the library
        library.index.calibrate()
    return library
