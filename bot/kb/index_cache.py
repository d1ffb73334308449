"""Built decks kept on disk between runs, so ``studybot ask`` and start-up skip work already done.

Why: a one-shot ``studybot ask`` spent most of its time parsing the YAML decks and indexing
them, though they had not changed since the last run. A built library (its decks and their
index) is pickled into a cache folder under a key that hashes everything the result depends
on: the bytes of every file in each deck folder, the lookup code's own source and the everyday
chat each deck reads its answer threshold from (``bot/kb/everyday_chat.txt``), and the files
of the libraries that read and indexed them (Python, numpy, the stemmer, PyYAML, rapidfuzz,
the WordLlama model). So an edited deck or an upgraded bot never reads an old index, and a
file that cannot be read (truncated, or from another version) counts as absent and is written
again. Building is what it was before: the cache only skips it.

Reading a pickle runs code named in it, as Python's own ``__pycache__`` does: the folder is
created for this user alone (``Config.cache_dir``), and a file that another user owns or could
have written is not read.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import pickle
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy
import snowballstemmer

from bot.kb.english import WORDS
from bot.kb.everyday import EVERYDAY_CHAT
from bot.kb.meaning import model_files

log = logging.getLogger(__name__)

T = TypeVar("T")
KEPT = 8  # files kept in the folder: a few deck sets and bot versions; the oldest go first
PREFIX = "library-"
SUFFIX = ".pickle"
WRITING = ".writing-"  # a file being written; renamed into place when whole
_CODE = Path(__file__).parent  # bot/kb: the lookup code whose output is kept


def fingerprint(folders: Sequence[Path]) -> str:
    """A key for the library built from these deck folders by this code: equal only if the result is.

    Each folder's files are hashed whole (not their times: an edit within the same clock tick
    would go unseen), ~1 ms per MB of deck.
    """
    digest = hashlib.blake2b(digest_size=20)
    for part in (sys.version, numpy.__version__, *map(_installed, _library_files())):
        _add(digest, part.encode())
    for source in (*sorted(_CODE.glob("*.py")), EVERYDAY_CHAT):  # the everyday lines set each deck's threshold
        _add(digest, source.name.encode(), source.read_bytes())
    for folder in folders:
        _add(digest, str(folder.resolve()).encode())
        for file in sorted(folder.iterdir()) if folder.is_dir() else ():
            if file.is_file():
                _add(digest, file.name.encode(), file.read_bytes())
    return digest.hexdigest()


def remembered(folder: Path, key: str, build: Callable[[], T], kind: type[T],
               keep: Callable[[T], bool] = lambda value: True) -> T:
    """What ``build`` returns, read from ``folder`` if it was kept under ``key``, else built and kept
    (if ``keep`` says so: a library built without its meaning model is not worth keeping)."""
    path = folder / f"{PREFIX}{key}{SUFFIX}"
    value = _read(path, kind)
    if value is None:
        value = build()
        if keep(value):
            _write(path, value)
    return value


def _read(path: Path, kind: type[T]) -> T | None:
    try:
        with path.open("rb") as file:
            if not _trusted(file.fileno()):
                log.warning("the deck index kept in %s is not read: another user can write it or owns it; "
                            "indexing the decks again", path)
                return None
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
    with contextlib.suppress(OSError):  # a read-only folder: the order of pruning is all it costs
        os.utime(path)  # kept files are pruned oldest-used first
    return value


def _trusted(descriptor: int) -> bool:
    """Whether only this user could have written the file: reading a pickle runs what it names."""
    if not hasattr(os, "getuid"):
        return True  # Windows: the user's own profile folder is the protection
    stat = os.fstat(descriptor)
    return stat.st_uid == os.getuid() and not stat.st_mode & 0o022


def _write(path: Path, value: object) -> None:
    """Writes atomically (a reader sees the old file or the new one, never half of one)."""
    import tempfile  # only when writing: reading is what a one-shot ask does

    written = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=WRITING, delete=False) as file:
            written = Path(file.name)
            pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(written, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError) as error:
        if written is not None:
            written.unlink(missing_ok=True)
        log.warning("decks are indexed at every start: the index cannot be kept in %s (%s: %s); "
                    "set [decks] cache = false to stop trying", path.parent, type(error).__name__, error)
        return
    _prune(path.parent)


def _prune(folder: Path) -> None:
    """Keeps the ``KEPT`` most recently used libraries (each deck edit writes a new one), and drops
    files a writer killed midway left an hour ago or more."""
    kept = sorted(folder.glob(f"{PREFIX}*{SUFFIX}"), key=_used, reverse=True)
    stale = [p for p in folder.glob(f"{WRITING}*") if _used(p) < time.time() - 3600]
    for old in kept[KEPT:] + stale:
        with contextlib.suppress(OSError):  # in use elsewhere (Windows), or already gone
            old.unlink()


def _used(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _library_files() -> list[Path]:
    """Files whose change means the libraries that read, checked and indexed the decks changed.

    snowballstemmer runs PyStemmer's C where installed; the model's tables are kept with the index.
    The deck parser and its checks are found without importing them: a kept index is read without.
    The English word list ships with the lookup code, but as data it is not among its sources.
    """
    files = [Path(module.__file__) for module in (numpy, snowballstemmer, sys.modules.get("Stemmer"))
             if module is not None and module.__file__]
    for name in ("yaml", "rapidfuzz"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            files.append(Path(spec.origin))
    return [*files, *(model_files() or ()), WORDS]


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
