"""One data folder, one running bot: an OS lock on ``studybot.lock`` beside the database.

Two processes on one SQLite file (a double start, a rolling deploy) would each hold rounds in
memory and close them twice. ``fcntl.flock`` is released by the kernel when the process ends,
however it ends (kill -9 included), so a stale lock file never blocks a restart. The file
holds the owner's pid, for the refusal message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from bot.store.base import StoreError

LOCK_FILE = "studybot.lock"


class DataFolderError(StoreError):
    """The data folder cannot be created or written."""


class DataFolderBusy(DataFolderError):
    """Another StudyBot process holds the data folder; ``folder`` and the owner's ``pid`` say which."""

    def __init__(self, folder: Path, pid: str) -> None:
        super().__init__(f"StudyBot is already running on the data folder {folder} (pid {pid}); stop that one "
                         "first, or give this one another --data-dir")
        self.folder = folder
        self.pid = pid


def make_data_folder(folder: Path) -> None:
    """Creates the data folder, or says plainly why it cannot be.

    Raises:
        DataFolderError: part of the path is a file, or the folder cannot be created here.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise DataFolderError(f"cannot create the data folder {folder}: part of that path is a file, not a folder; "
                         "choose another folder with --data-dir or [bot] data_dir") from None
    except OSError as exc:
        raise DataFolderError(f"cannot create the data folder {folder} ({exc.strerror or exc}); choose a writable "
                         "folder with --data-dir or [bot] data_dir") from None


@contextlib.contextmanager
def data_folder_lock(folder: Path) -> Iterator[None]:
    """Holds ``folder``'s lock for the ``with`` block; creates the folder first.

    Raises:
        DataFolderBusy: another process holds it ("already running, pid N").
        DataFolderError: the folder or the lock file cannot be created.
    """
    make_data_folder(folder)
    path = folder / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise DataFolderError(f"cannot create {path} ({exc.strerror or exc}); the data folder must be writable by the "
                         "user running StudyBot, or choose another folder with --data-dir or [bot] data_dir") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            raise DataFolderBusy(folder, owner) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
