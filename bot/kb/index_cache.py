"""Built decks kept on disk between runs, so ``studybot ask`` and start-up skip work already done.

Why: a one-shot ``studybot ask`` spent most of its time parsing the YAML decks and indexing
them, though they had not changed since the last run. A built library (its decks and their
index) is pickled into a cache folder under a key that hashes everything the result depends
on: the bytes of every file in each deck folder, the lookup code's own source, and the Python,
numpy, stemmer and WordLlama model files that built it. So an edited deck or an upgraded bot never reads an old index,
and a file that cannot be read (truncated, or from another version) counts as absent and is
written again. Building is what it was before: the cache only skips it.

Reading a pickle runs code named in it, as Python's own ``__pycache__`` does; the folder is
the user's own (``Config.cache_dir``), and nothing is read from anywhere else.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy
import snowballstemmer

from bot.kb.meaning import model_files

log = logging.getLogger(__name__)

T = TypeVar("T")
KEPT = 8  # files kept in the folder: a few deck sets and bot versions; the oldest go first
PREFIX = "library-"
SUFFIX = ".pickle"
_CODE = Path(__file__).parent  # bot/kb: the lookup code whose output is kept


def fingerprint(folders: Sequence[Path]) -> str:
    """A key for the library built from these deck folders by this code: equal only if the result is.

    Each folder's files are hashed whole (not their times: an edit within the same clock tick
    would go unseen), ~1 ms per MB of deck.
    """
    digest = hashlib.blake2b(digest_size=20)
    # snowballstemmer runs PyStemmer's C where installed; the model's tables are kept with the index
    libraries = [numpy, snowballstemmer, sys.modules.get("Stemmer")]
    files = [Path(module.__file__) for module in libraries if module is not None and module.__file__]
    for part in (sys.version, numpy.__version__, *map(_installed, [*files, *(model_files() or ())])):
        _add(digest, part.encode())
    for source in sorted(_CODE.glob("*.py")):
        _add(digest, source.name.encode(), source.read_bytes())
    for folder in folders:
        _add(digest, str(folder.resolve()).encode())
        for file in sorted(folder.iterdir()) if folder.is_dir() else ():
            if file.is_file():
                _add(digest, file.name.encode(), file.read_bytes())
    return digest.hexdigest()


def remembered(folder: Path, key: str, build: Callable[[], T], kind: type[T]) -> T:
    """What ``build`` returns, read from ``folder`` if it was kept under ``key``, else built and kept."""
    path = folder / f"{PREFIX}{key}{SUFFIX}"
    value = _read(path, kind)
    if value is None:
        value = build()
        _write(path, value)
    return value


def _read(path: Path, kind: type[T]) -> T | None:
    try:
        with path.open("rb") as file:
            value = pickle.load(file)
    except FileNotFoundError:
        return None
    except Exception as error:  # noqa: BLE001 - a damaged pickle raises almost anything; it is rebuilt
        log.warning("the deck index kept in %s cannot be read (%s: %s); indexing the decks again",
                    path, type(error).__name__, error)
        return None
    if not isinstance(value, kind):
        log.warning("the deck index kept in %s holds a %s; indexing the decks again", path, type(value).__name__)
        return None
    os.utime(path)  # kept files are pruned oldest-used first
    return value


def _write(path: Path, value: object) -> None:
    """Writes atomically (a reader sees the old file or the new one, never half of one)."""
    import tempfile  # only when writing: reading is what a one-shot ask does

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=".writing-", delete=False) as file:
            try:
                pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:
                os.unlink(file.name)
                raise
        os.replace(file.name, path)
    except OSError as error:
        log.warning("decks are indexed at every start: the index cannot be kept in %s (%s); "
                    "set [decks] cache = false to stop trying", path.parent, error)
        return
    _prune(path.parent)


def _prune(folder: Path) -> None:
    """Keeps the ``KEPT`` most recently used libraries: each deck edit writes a new one."""
    kept = sorted(folder.glob(f"{PREFIX}*{SUFFIX}"), key=_used, reverse=True)
    for old in kept[KEPT:]:
        old.unlink(missing_ok=True)


def _used(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _installed(path: Path) -> str:
    """Where a library's file is and when it was written: an upgrade changes it."""
    try:
        stat = path.stat()
    except OSError:
        return str(path)
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"


def _add(digest: hashlib.blake2b, *parts: bytes) -> None:
    """Length-prefixed, so no two different sequences of parts hash the same bytes."""
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
