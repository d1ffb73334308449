"""``studybot kb import``: flashcards from CSV/TSV files and Anki packages into a deck folder.

Reading (``csv_file``, ``anki_package``) gives notes; ``entries`` turns them into entries with
stable ids and one quiz card each (rules in ``cards``); ``writer`` writes the folder, validated
by the real loader before it is moved into place. Nothing is written when the file is refused.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.kb.importing.anki_package import read_package
from bot.kb.importing.cards import WRONG_CHOICES, shorten
from bot.kb.importing.csv_file import read_csv
from bot.kb.importing.entries import build_entries, slugify
from bot.kb.importing.notes import ImportRefused, Skip, SourceNotes
from bot.kb.importing.writer import check_target, write_deck
from bot.kb.loader import ID_PATTERN, MAX_ID, MAX_LENGTH
from bot.kb.model import Deck

__all__ = ["ImportRefused", "ImportReport", "import_file"]

PACKAGE_SUFFIXES = (".apkg", ".colpkg")
TEXT_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
LISTED = 20  # skipped rows and warnings shown one by one; the rest are counted


@dataclass
class ImportReport:
    """What an import read, left out and wrote, for the person who ran it."""

    source: Path
    folder: Path  # as given (relative to where the command ran, when it was)
    deck: Deck
    read: SourceNotes
    skipped: list[Skip] = field(default_factory=list)
    generated: int = 0
    short: int = 0

    def lines(self) -> list[str]:
        """The report as printed by ``studybot kb import``."""
        total = len(self.read.notes) + len(self.read.skipped)
        lines = [f"Read {self.source} as {self.read.kind}: {total} card(s).", *self.read.mapping]
        lines += _listed(f"Skipped {len(self.skipped)}:", [str(s) for s in self.skipped])
        lines += _listed(f"Warnings ({len(self.read.warnings)}):", self.read.warnings)
        if self.generated:
            lines.append(f"{self.generated} entries had no choices: each got a multiple-choice card with its "
                         f"answer among up to {WRONG_CHOICES} other entries' answers, picked the same way on "
                         "every import (knowledge/README.md, \"Importing cards\").")
        if self.short:
            lines.append(f"  {self.short} of these cards have fewer than {WRONG_CHOICES + 1} choices: the file "
                         "has too few different short answers.")
        deck = self.deck
        lines.append(f"Wrote deck {deck.name!r} to {self.folder}: {len(deck.entries)} entries, "
                     f"{len(deck.cards)} quiz cards, {len(deck.topics)} topic(s).")
        lines.append(f"Next: list {self.folder} under [decks] paths in your config; `studybot kb validate "
                     f"{self.folder}` checks it again after you edit it.")
        return lines


def _listed(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    more = [f"  … and {len(items) - LISTED} more"] if len(items) > LISTED else []
    return [title, *(f"  {item}" for item in items[:LISTED]), *more]


def import_file(path: Path, deck_name: str | None = None, out: Path | None = None,
                force: bool = False) -> ImportReport:
    """Converts ``path`` into a deck folder (``out``, default ``./<deck name>``).

    Raises:
        ImportRefused: the file cannot be read or holds nothing importable, or the target is taken;
            nothing has been written then.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file" + (" (it is a folder)" if path.is_dir() else ""))
    name = _deck_name(path, deck_name)
    given = Path(out) if out is not None else Path(name)  # reported as the person wrote it
    folder = Path(os.path.abspath(given))
    check_target(folder, force)  # before the work: a big import should not end in "folder taken"
    source = read_package(path) if _is_package(path) else read_csv(path, _read_bytes(path))
    built = build_entries(source.notes)
    skipped = sorted(source.skipped + built.skipped, key=_position)
    if not skipped and not built.entries:
        raise ImportRefused(f"{path}: holds no cards; export the deck again or choose another file")
    if not built.entries:
        first = f"; first: {skipped[0]}" if skipped else ""
        raise ImportRefused(f"{path}: nothing to import ({len(skipped)} card(s) skipped{first})")
    title = shorten(path.stem.replace("_", " ").strip(), MAX_LENGTH["title"]) or name
    description = shorten(f"Imported from {path.name} with studybot kb import.", MAX_LENGTH["description"])
    meta: dict[str, object] = {"name": name, "title": title, "description": description, "topics": built.topics}
    header = (f"Made by `studybot kb import` from {path.name}. Entry ids come from the questions, so\n"
              "importing the same file again keeps them, and the scores and history that refer to them.")
    deck = write_deck(folder, meta, built.entries, header, force)
    return ImportReport(source=path, folder=given, deck=deck, read=source, skipped=skipped,
                        generated=built.generated, short=built.short)


def _position(skip: Skip) -> int:
    """Where a skipped card sits in the file ("line 12", "note 3"), to list them in file order."""
    number = re.search(r"\d+", skip.where)
    return int(number.group()) if number else 0


def _deck_name(path: Path, given: str | None) -> str:
    if given is None:
        return slugify(path.stem) or "imported"
    if not ID_PATTERN.match(given) or len(given) > MAX_ID:
        example = slugify(given) or "my-deck"
        raise ImportRefused(f"--deck {given!r} is not a deck name: use lowercase letters, digits and '-', at most "
                            f"{MAX_ID} characters (for example {example!r})")
    return given


def _is_package(path: Path) -> bool:
    """Anki packages by name, or any zip not named like a text file (the CSV reader explains those)."""
    suffix = path.suffix.lower()
    if suffix in PACKAGE_SUFFIXES:
        return True
    return suffix not in TEXT_SUFFIXES and _read_bytes(path, 4) == b"PK\x03\x04"


def _read_bytes(path: Path, size: int = -1) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(size)
    except OSError as exc:
        raise ImportRefused(f"{path}: cannot read it ({exc.strerror or exc}); check the file name") from None
