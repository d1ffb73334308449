"""The deck data model: frozen, so a loaded deck can be shared by every adapter safely."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class Choice:
    """One answer option of a quiz card."""

    text: str
    correct: bool = False


@dataclass(frozen=True)
class QuizCard:
    """A multiple-choice question about one entry.

    ``id`` is global (``entry-id/card-id``) because answers in the database refer to it.
    ``answers`` are the short texts a player may type instead of pressing a button; a card
    without them can only be played with buttons.
    """

    id: str
    entry_id: str
    deck: str
    topic: str
    prompt: str
    choices: tuple[Choice, ...]
    explanation: str
    difficulty: str | None = None
    answers: tuple[str, ...] = ()

    @cached_property
    def correct_index(self) -> int:
        """Index of the one correct choice (validation guarantees there is exactly one); worked out once."""
        return next(i for i, choice in enumerate(self.choices) if choice.correct)


@dataclass(frozen=True)
class Entry:
    """One concept: a question people ask, its answer, and quiz cards about it."""

    id: str
    deck: str
    topic: str
    question: str
    answer: str
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    quiz: tuple[QuizCard, ...] = ()


@dataclass(frozen=True)
class Deck:
    """A named collection of entries; ``topics`` maps topic slugs to display names."""

    name: str
    title: str
    description: str
    topics: dict[str, str]
    entries: tuple[Entry, ...]
    synonyms: dict[str, str] = field(default_factory=dict)

    def entry(self, entry_id: str) -> Entry | None:
        """The entry with this id, or None."""
        return next((e for e in self.entries if e.id == entry_id), None)

    @property
    def cards(self) -> tuple[QuizCard, ...]:
        """Every quiz card of the deck, in file order."""
        return tuple(card for entry in self.entries for card in entry.quiz)
