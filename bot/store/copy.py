"""``studybot db copy SRC DST``: moving an installation between SQLite and PostgreSQL, verified.

Both databases are first brought to the current schema (the same migrations in each SQL), so the
tables and their meaning match. Rows are read into one neutral form (ints, text, UTC datetimes,
dates, booleans), written with their ids, and then read back from the destination inside the same
transaction: counts and a SHA-256 over every table's rows in key order must equal the source's,
or the transaction is rolled back and nothing is kept. A destination that already holds data is
refused: a copy never merges.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from bot.store.base import Store, StoreError

# Table, its columns with their kinds, and the key that orders it; parents before children.
TABLES: list[tuple[str, list[tuple[str, str]], str]] = [
    ("schedules", [("id", "int"), ("platform", "text"), ("workspace", "text"), ("channel", "text"),
                   ("local_time", "text"), ("timezone", "text"), ("questions", "int"), ("topic", "text"),
                   ("enabled", "bool"), ("updated_at", "ts"), ("typed", "bool")], "id"),
    ("games", [("id", "int"), ("platform", "text"), ("workspace", "text"), ("channel", "text"),
               ("started_by", "text"), ("started_by_name", "text"), ("questions", "int"), ("target", "int"),
               ("typed", "bool"), ("hints", "bool"), ("started_at", "ts"), ("ended_at", "ts"), ("ended_by", "text"),
               ("end_reason", "text")], "id"),
    ("rounds", [("id", "int"), ("platform", "text"), ("workspace", "text"), ("channel", "text"), ("kind", "text"),
                ("card_id", "text"), ("opened_at", "ts"), ("closes_at", "ts"), ("closed_at", "ts"),
                ("message_id", "text"), ("remaining", "int"), ("seconds", "int"), ("topic", "text"),
                ("owner_id", "text"), ("schedule_id", "int"), ("local_date", "date"), ("revealed_at", "ts"),
                ("game_id", "int"), ("typed", "bool")], "id"),
    ("answers", [("round_id", "int"), ("platform", "text"), ("workspace", "text"), ("user_id", "text"),
                 ("display_name", "text"), ("choice", "int"), ("correct", "bool"), ("points", "int"),
                 ("answered_at", "ts"), ("typed_text", "text")], "round_id, user_id"),
    ("hints", [("round_id", "int"), ("user_id", "text"), ("level", "int")], "round_id, user_id"),
    ("fires", [("schedule_id", "int"), ("local_date", "date"), ("fired_at", "ts"), ("status", "text")],
     "schedule_id, local_date"),
    ("workspaces", [("platform", "text"), ("workspace", "text"), ("timezone", "text")], "platform, workspace"),
    ("gaps", [("query_key", "text"), ("query", "text"), ("times", "int"), ("last_asked", "ts")], "query_key"),
    ("outbox", [("id", "int"), ("platform", "text"), ("workspace", "text"), ("channel", "text"), ("action", "text"),
                ("purpose", "text"), ("round_id", "int"), ("reply", "text"), ("created_at", "ts"),
                ("attempts", "int"), ("next_attempt_at", "ts"), ("last_error", "text"), ("delivered_at", "ts"),
                ("delivered_id", "text"), ("given_up_at", "ts"), ("given_up_reason", "text"),
                ("claimed_by", "text")], "id"),
    ("cooldowns", [("platform", "text"), ("workspace", "text"), ("user_id", "text"), ("command", "text"),
                   ("used_at", "ts"), ("token", "text")], "platform, workspace, user_id, command"),
    ("deliveries_seen", [("key", "text"), ("seen_at", "ts")], "key"),
    ("review_cards", [("platform", "text"), ("workspace", "text"), ("user_id", "text"), ("card_id", "text"),
                      ("state", "text"), ("due", "ts"), ("reps", "int"), ("version", "int"), ("added_at", "ts")],
     "platform, workspace, user_id, card_id"),
    ("review_log", [("id", "int"), ("platform", "text"), ("workspace", "text"), ("user_id", "text"),
                    ("card_id", "text"), ("rating", "int"), ("source", "text"), ("reviewed_at", "ts"),
                    ("first", "bool"), ("due_before", "ts"), ("due_after", "ts"), ("stability", "real"),
                    ("difficulty", "real")], "id"),
    ("review_reminders", [("id", "int"), ("platform", "text"), ("workspace", "text"), ("user_id", "text"),
                          ("local_time", "text"), ("timezone", "text"), ("enabled", "bool"), ("updated_at", "ts")],
     "id"),
    ("reminder_fires", [("reminder_id", "int"), ("local_date", "date"), ("fired_at", "ts"), ("status", "text")],
     "reminder_id, local_date"),
]
IDENTITY_TABLES = ("schedules", "games", "rounds", "outbox", "review_log", "review_reminders")
BATCH = 1000


@dataclass(frozen=True)
class TableCopy:
    """What was copied of one table: its rows and the checksum both sides agreed on."""

    table: str
    rows: int
    checksum: str


def _neutral(kind: str, value: Any) -> Any:
    """A stored value in the form both databases are compared in."""
    if value is None:
        return None
    if kind == "ts":
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.astimezone(UTC)
    if kind == "date":
        return date.fromisoformat(value) if isinstance(value, str) else value
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return int(value)
    if kind == "real":
        return float(value)
    return str(value)


def _sqlite_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "ts":
        return value.astimezone(UTC).isoformat()
    if kind == "date":
        return value.isoformat()
    if kind == "bool":
        return int(value)
    return value


def checksum(rows: Sequence[Sequence[Any]]) -> str:
    """SHA-256 over rows in their neutral form, in key order (the same on either database)."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps([v.isoformat() if isinstance(v, (datetime, date)) else v for v in row]).encode())
        digest.update(b"\n")
    return digest.hexdigest()


class _Side:
    """One database's rows, read and written in the neutral form, behind either driver."""

    def __init__(self, store: Store) -> None:
        from bot.store.postgres import PostgresStore
        from bot.store.sqlite import SqliteStore

        self.sqlite = store._db if isinstance(store, SqliteStore) else None
        self.pool = store._pool if isinstance(store, PostgresStore) else None
        if self.sqlite is None and self.pool is None:
            raise StoreError(f"cannot copy with a {type(store).__name__}")

    async def read(self, con: Any, table: str, columns: list[tuple[str, str]], key: str) -> list[tuple[Any, ...]]:
        names = ", ".join(name for name, _ in columns)
        sql = f"SELECT {names} FROM {table} ORDER BY {key}"
        if self.sqlite is not None:
            raw = await self.sqlite.execute_fetchall(sql)
        else:
            raw = await con.fetch(sql)
        return [tuple(_neutral(kind, row[i]) for i, (_, kind) in enumerate(columns)) for row in raw]

    async def write(self, con: Any, table: str, columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> None:
        names = ", ".join(name for name, _ in columns)
        for start in range(0, len(rows), BATCH):
            chunk = rows[start:start + BATCH]
            if self.sqlite is not None:
                marks = ",".join("?" * len(columns))
                await self.sqlite.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})",
                    [tuple(_sqlite_value(kind, v) for (_, kind), v in zip(columns, row)) for row in chunk])
            else:
                await con.copy_records_to_table(table, records=chunk, columns=[n for n, _ in columns])
        if self.pool is not None and table in IDENTITY_TABLES:
            # Ids were written as they were: the next id handed out must come after them.
            await con.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1), "
                              f"MAX(id) IS NOT NULL) FROM {table}")

    async def count(self, con: Any, table: str) -> int:
        sql = f"SELECT COUNT(*) FROM {table}"
        if self.sqlite is not None:
            [(n,)] = await self.sqlite.execute_fetchall(sql)
            return int(n)
        return int(await con.fetchval(sql))


async def copy_database(source: Store, destination: Store, source_name: str, destination_name: str
                        ) -> list[TableCopy]:
    """Copies every table of ``source`` into the empty ``destination`` and verifies it; returns what was copied.

    Raises:
        StoreError: the destination holds data, or the copy read back differs (nothing is kept then).
    """
    src, dst = _Side(source), _Side(destination)
    if src.pool is not None:
        async with src.pool.acquire() as src_con, src_con.transaction(isolation="repeatable_read", readonly=True):
            tables = [(t, cols, key, await src.read(src_con, t, cols, key)) for t, cols, key in TABLES]
    else:
        tables = [(t, cols, key, await src.read(None, t, cols, key)) for t, cols, key in TABLES]
    if dst.pool is not None:
        async with dst.pool.acquire() as con, con.transaction():
            return await _write_and_verify(dst, con, tables, destination_name, source_name)
    assert dst.sqlite is not None
    await dst.sqlite.execute("BEGIN IMMEDIATE")
    try:
        copied = await _write_and_verify(dst, None, tables, destination_name, source_name)
    except BaseException:
        await dst.sqlite.rollback()
        raise
    await dst.sqlite.commit()
    return copied


async def _write_and_verify(dst: _Side, con: Any, tables: list[tuple[str, list[tuple[str, str]], str, list[Any]]],
                            destination_name: str, source_name: str) -> list[TableCopy]:
    busy = [f"{t} ({n} rows)" for t, *_ in tables if (n := await dst.count(con, t))]
    if busy:
        raise StoreError(f"{destination_name} already holds data ({', '.join(busy)}); db copy only copies into an "
                         "empty database, never merges: choose an empty database or file")
    copied = []
    for table, columns, key, rows in tables:
        await dst.write(con, table, columns, rows)
        back = await dst.read(con, table, columns, key)
        expected, got = checksum(rows), checksum(back)
        if len(back) != len(rows) or got != expected:
            raise StoreError(f"the copy of {table} read back from {destination_name} differs from {source_name} "
                             f"({len(rows)} rows, checksum {expected[:12]}; read back {len(back)} rows, checksum "
                             f"{got[:12]}); nothing was kept")
        copied.append(TableCopy(table, len(rows), expected))
    return copied
