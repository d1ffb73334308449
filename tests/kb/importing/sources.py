"""Source files for import tests, and imports whose written deck is loaded again with the real loader."""

from __future__ import annotations

from pathlib import Path

from bot.kb.importing import ImportReport, import_file
from bot.kb.loader import load_deck
from bot.kb.model import Deck


def imported(source: Path, out: Path | None = None, **options: object) -> tuple[ImportReport, Deck]:
    """Imports ``source`` next to it and loads the written folder the way the bot would."""
    report = import_file(source, out=out or source.parent / "deck", **options)  # type: ignore[arg-type]
    deck = load_deck(report.folder)
    assert deck == report.deck
    return report, deck


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding, newline="")
    return path
