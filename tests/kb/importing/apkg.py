"""Real Anki packages for the import tests, built with genanki (the library Anki deck authors use)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import genanki

DECK_ID = 2059400110


def build_apkg(path: Path, notes: list[tuple[str, str, list[str]]], cloze: list[tuple[str, str]] = (),
               title: str = "Test deck") -> Path:
    """Writes an .apkg with Basic notes (front, back, tags) and Cloze notes (text, back extra)."""
    deck = genanki.Deck(DECK_ID, title)
    for front, back, tags in notes:
        deck.add_note(genanki.Note(model=genanki.BASIC_MODEL, fields=[front, back], tags=tags))
    for text, extra in cloze:
        deck.add_note(genanki.Note(model=genanki.CLOZE_MODEL, fields=[text, extra]))
    genanki.Package(deck).write_to_file(str(path))
    return path


def rename_collection(path: Path, new_name: str, extra: dict[str, bytes] | None = None) -> Path:
    """Rewrites the package with its collection under ``new_name`` (and any ``extra`` members)."""
    with zipfile.ZipFile(path) as source:
        members = {name: source.read(name) for name in source.namelist()}
    members[new_name] = members.pop("collection.anki2")
    members.update(extra or {})
    with zipfile.ZipFile(path, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)
    return path


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    """A zip file holding ``members`` (for packages that are broken on purpose)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path
