"""Where decks are found: the shipped ones, and the deck folders a configured path names.

Kept apart from the loader (which parses YAML) so that finding a cached index for those
folders (``bot.kb.index_cache``) imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

DECK_FILE = "deck.yaml"
# A deck's own query set, beside its entries: questions and the entry each should find, which
# `python -m tests.kb.devset_eval FOLDER` scores the lookup on. Never read as entries.
QUERIES_FILE = "queries.yaml"


def builtin_decks_root() -> Path:
    """Where the shipped decks live.

    A wheel carries them inside the package (``bot/knowledge``, see pyproject.toml); a source
    checkout or editable install reads the repository's top-level ``knowledge/`` folder.
    """
    packaged = Path(__file__).resolve().parent.parent / "knowledge"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "knowledge"


def deck_folders(paths: list[Path]) -> list[Path]:
    """Deck folders named by ``paths``: a deck folder itself, or a folder of deck folders.

    A path that is neither (missing, empty, a folder of something else) is kept as it is, so
    loading reports it by name instead of silently serving no deck from it.
    """
    folders: list[Path] = []
    for path in map(Path, paths):
        if (path / DECK_FILE).is_file() or not path.is_dir():
            folders.append(path)
        else:
            folders.extend(sorted(p.parent for p in path.glob(f"*/{DECK_FILE}")) or [path])
    return folders


def served_deck_folders(paths: Sequence[Path], include_builtin: bool) -> list[Path]:
    """The deck folders a bot serves: the shipped decks' (when included), then those ``paths`` name."""
    return deck_folders(([builtin_decks_root()] if include_builtin else []) + list(paths))
