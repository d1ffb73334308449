"""What every reader hands on: flashcard notes, the rows it skipped, and what it could not read.

A reader (CSV/TSV, Anki package) knows its format and nothing about decks; the entry builder
knows decks and nothing about formats. These types are the seam between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class ImportRefused(Exception):
    """The file cannot be imported; the message is one line naming the file and what would work."""


@dataclass(frozen=True)
class Note:
    """One flashcard as read from a file, its text already Markdown.

    ``where`` locates it for messages ("line 12", "note 3"); ``choices`` and ``correct`` are as
    written (``correct`` may be a choice's text, its number or its letter).
    """

    where: str
    question: str
    answer: str
    topic: str = ""
    keywords: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    correct: str = ""
    explanation: str = ""
    short_answer: str = ""  # the answer in a few words, for a choice (a cloze note's gaps)


@dataclass(frozen=True)
class Skip:
    """A note or row left out of the deck, and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class SourceNotes:
    """Everything a reader got from one file."""

    kind: str  # how the file was read, for the report: "CSV (comma-separated)", "Anki package (...)"
    notes: list[Note] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    mapping: list[str] = field(default_factory=list)  # which columns or fields became what
