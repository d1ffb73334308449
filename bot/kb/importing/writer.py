"""Writes an imported deck folder all at once, or not at all.

The deck is written to a hidden folder beside the target, loaded with the real loader (the one
``studybot kb validate`` and the bot use), and only then moved into place; a failure on the way
leaves the target as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from bot.kb.folders import DECK_FILE
from bot.kb.importing.deck_yaml import deck_yaml
from bot.kb.importing.notes import ImportRefused
from bot.kb.loader import DeckError, load_deck
from bot.kb.model import Deck

ENTRIES_FILE = "entries.yaml"


def check_target(folder: Path, force: bool) -> None:
    """Refuses a target that is a file, or a non-empty folder unless ``force`` and it holds a deck.

    ``--force`` replaces a deck folder only: a mistyped ``--out`` must not wipe unrelated files.
    """
    if folder.exists() and not folder.is_dir():
        raise ImportRefused(f"{folder} is a file; give --out a folder name")
    if not folder.is_dir() or not any(folder.iterdir()):
        return
    if not force:
        raise ImportRefused(f"{folder} is not empty; choose another --out, or add --force to replace the deck in it")
    if not (folder / DECK_FILE).is_file():
        raise ImportRefused(f"{folder} holds files but no {DECK_FILE}; --force only replaces a deck folder, "
                            "so choose another --out")


def write_deck(folder: Path, meta: dict[str, object], entries: list[dict[str, object]], header: str,
               force: bool) -> Deck:
    """Writes ``deck.yaml`` and the entries file, validates them, then puts the folder in place.

    Raises:
        ImportRefused: the target cannot be used, or (a bug) the written deck does not validate.
    """
    check_target(folder, force)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.import-", dir=folder.parent))
    except OSError as exc:
        raise ImportRefused(f"{folder}: cannot write there ({exc.strerror or exc}); choose another --out") from None
    try:
        _dump(staging / DECK_FILE, meta, header)
        _dump(staging / ENTRIES_FILE, {"entries": entries}, header)
        deck = load_deck(staging)
        _make_readable(staging)
        _replace(staging, folder)
    except DeckError as exc:
        raise ImportRefused(f"the converted deck does not validate, which is a bug in the importer; please "
                            f"report it with the file ({exc.problems[0]})") from None
    except OSError as exc:
        raise ImportRefused(f"{folder}: cannot write there ({exc.strerror or exc}); nothing was changed") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when it was moved into place
    return deck


def _dump(path: Path, data: dict[str, object], header: str) -> None:
    text = deck_yaml(data)
    path.write_text("".join(f"# {line}\n" for line in header.splitlines()) + text, encoding="utf-8")


def _make_readable(staging: Path) -> None:
    """mkdtemp makes a private folder; a deck folder gets the permissions any new folder would get."""
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)


def _replace(staging: Path, folder: Path) -> None:
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
    if not folder.exists():
        staging.rename(folder)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.replaced-", dir=folder.parent))
    replaced = old / folder.name
    folder.rename(replaced)
    try:
        staging.rename(folder)
    except OSError:
        replaced.rename(folder)  # put the old deck back
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)
