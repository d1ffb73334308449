"""One data folder, one writer: the folder lock, migrations under SQLite's write lock, rollbacks, clean failures."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.events import Channel
from bot.store.base import RoundRecord, StoreError
from bot.store.lock import LOCK_FILE, DataFolderBusy, data_folder_lock
from bot.store.migrations import MIGRATIONS
from bot.store.sqlite import SqliteStore

DB_FILE = "studybot.sqlite3"
CHANNEL = Channel("test", "w1", "c1")
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_a_held_data_folder_is_refused_with_the_owner_pid(tmp_path: Path) -> None:
    with data_folder_lock(tmp_path / "data"):
        assert (tmp_path / "data" / LOCK_FILE).read_text() == f"{os.getpid()}\n"
        with pytest.raises(DataFolderBusy) as caught, data_folder_lock(tmp_path / "data"):
            pass
    assert str(caught.value) == (f"StudyBot is already running on the data folder {tmp_path / 'data'} "
                                 f"(pid {os.getpid()}); stop that one first, or give this one another --data-dir")
    with data_folder_lock(tmp_path / "data"):  # released on leaving the block
        pass


async def test_two_processes_starting_on_a_fresh_folder_apply_each_migration_once(tmp_path: Path) -> None:
    # Eight connections (eight threads) on each of ten fresh folders: switching a fresh file to WAL
    # answered "database is locked" at once about one start in twenty, without the busy timeout.
    for attempt in range(10):
        path = tmp_path / str(attempt) / DB_FILE
        stores = await asyncio.gather(*(SqliteStore.open(path) for _ in range(8)))
        for store in stores:
            await store.close()
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


async def test_a_refused_round_releases_the_write_lock(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / DB_FILE)
    try:
        record = RoundRecord(0, CHANNEL, "quiz", "tensorflow/eager-execution/1", NOON, NOON)
        assert await store.open_round(record) is not None
        assert await store.open_round(record) is None  # one open quiz per channel: refused
        other = sqlite3.connect(tmp_path / DB_FILE, timeout=0)  # another process, waiting for nobody
        try:
            other.execute("BEGIN IMMEDIATE")  # "database is locked" if the refused INSERT kept the lock
            other.rollback()
        finally:
            other.close()
    finally:
        await store.close()


async def test_a_file_that_is_not_a_database_is_named_and_nothing_is_left_running(tmp_path: Path) -> None:
    path = tmp_path / DB_FILE
    path.write_bytes(b"not a database" * 512)
    threads = set(threading.enumerate())
    with pytest.raises(StoreError, match=r"is not a SQLite database, or is damaged \(file is not a database\); "
                                         r"move it aside"):
        await SqliteStore.open(path)
    await asyncio.sleep(0.05)  # the worker thread ends after close
    left = [t for t in set(threading.enumerate()) - threads if t.is_alive() and not t.daemon]
    assert left == []  # nothing that could keep the process from exiting


async def test_a_data_folder_under_a_regular_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="part of that path is a file, not a folder"):
        await SqliteStore.open(tmp_path / "file" / "data" / DB_FILE)
