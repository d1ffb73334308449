"""Which store a config asks for, opened the way that store needs.

SQLite (no ``[store] url``): one file in the data folder, held by one process through the folder's
lock. PostgreSQL: a pool on the server at ``[store] url``, shared with any number of processes (no
folder lock); a server that is not up yet is waited for within ``[bot] start_retry_seconds``, then
named in one line.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from bot.config import Config
from bot.startup import retry_network
from bot.store.base import Store, StoreUnavailable
from bot.store.lock import data_folder_lock

DB_FILE = "studybot.sqlite3"


def describe_store(config: Config, data_dir: Path) -> str:
    """The database in words, for messages: the SQLite file, or the PostgreSQL URL (it holds no password)."""
    return config.store.url if config.store.postgres else str(data_dir / DB_FILE)


async def open_postgres(url: str, config: Config, retry_seconds: float | None = None) -> Store:
    """Opens a PostgreSQL store on ``url``, retrying an unreachable server for the start-up budget.

    Raises:
        StartupError: still unreachable when the budget is spent (one line naming the URL).
        StoreError: the server refused (wrong user, database, password) or the schema is too new.
        ConfigError: the password variable named by ``[store] password_env`` is not set.
    """
    from bot.store.postgres import PostgresStore

    store = config.store
    password = config.secret(store.password_env, "store.password_env") if store.password_env else None
    budget = config.bot.start_retry_seconds if retry_seconds is None else retry_seconds
    return await retry_network(
        lambda: PostgresStore.open(url, password, store.pool_size, store.statement_timeout_seconds),
        f"the PostgreSQL server at {url} (store.url)", budget,
        retryable=lambda exc: isinstance(exc, StoreUnavailable))


async def open_sqlite(path: Path) -> Store:
    """Opens (creating, migrating) the SQLite store at ``path``."""
    from bot.store.sqlite import SqliteStore

    return await SqliteStore.open(path)


async def open_location(location: str, config: Config) -> Store:
    """A store from a path or a ``postgresql://`` URL (``studybot db copy``'s SRC and DST)."""
    if location.startswith(("postgresql://", "postgres://")):
        return await open_postgres(location, config, retry_seconds=0)
    path = Path(location)
    return await open_sqlite(path / DB_FILE if path.is_dir() else path)


@contextlib.asynccontextmanager
async def opened_store(config: Config, data_dir: Path) -> AsyncIterator[Store]:
    """The configured store, open for the ``async with`` block (with the folder lock for SQLite), closed after.

    Raises:
        DataFolderBusy: another StudyBot holds the SQLite data folder.
        StoreError, StartupError: the database cannot be used or reached.
    """
    if config.store.postgres:
        store = await open_postgres(config.store.url, config)
        try:
            yield store
        finally:
            await store.close()
        return
    with data_folder_lock(data_dir):
        store = await open_sqlite(data_dir / DB_FILE)
        try:
            yield store
        finally:
            await store.close()
