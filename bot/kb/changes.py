"""What replacing one library with another changes: decks, entries and cards added, removed and kept.

Ids are what the store remembers (answers and review history name a card by its global id), so
changes are counted by id: a card whose id survives is the same card to everyone's history,
even when its wording was edited; one whose id is gone is removed, whatever replaced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.kb.library import Library


@dataclass(frozen=True)
class IdChanges:
    """One kind of thing (decks, entries or cards) before and after, by id."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    kept: int
    edited: int  # kept ids whose content changed

    @property
    def any(self) -> bool:
        """Whether anything of this kind was added, removed or edited."""
        return bool(self.added or self.removed or self.edited)


@dataclass(frozen=True)
class LibraryChanges:
    """Decks by name, entries as ``deck/entry``, cards by their global ``deck/entry/card`` id."""

    decks: IdChanges
    entries: IdChanges
    cards: IdChanges

    @property
    def any(self) -> bool:
        """Whether the new library differs from the old one at all."""
        return self.decks.any or self.entries.any or self.cards.any


def compare(old: Library, new: Library) -> LibraryChanges:
    """What changed from ``old`` to ``new`` (linear in their size: run it off the event loop for big decks)."""
    return LibraryChanges(decks=_by_id(_decks(old), _decks(new)),
                          entries=_by_id(_entries(old), _entries(new)),
                          cards=_by_id(_cards(old), _cards(new)))


def _decks(library: Library) -> dict[str, object]:
    return {deck.name: deck for deck in library.decks}


def _entries(library: Library) -> dict[str, object]:
    return {f"{deck.name}/{entry.id}": entry for deck in library.decks for entry in deck.entries}


def _cards(library: Library) -> dict[str, object]:
    return {card.id: card for deck in library.decks for card in deck.cards}


def _by_id(old: Mapping[str, object], new: Mapping[str, object]) -> IdChanges:
    kept = old.keys() & new.keys()
    return IdChanges(added=tuple(k for k in new if k not in old), removed=tuple(k for k in old if k not in new),
                     kept=len(kept), edited=sum(1 for k in kept if old[k] != new[k]))
