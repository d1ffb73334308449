"""The aiosqlite implementation of the Store interface.

WAL mode with ``synchronous=NORMAL``: a commit is durable against a process crash (kill -9),
which is what the bot promises; only an OS crash could lose the last moments. Every statement
is parameterized. Answers from many concurrent presses are written in group commits: one
writer task takes every answer waiting and writes them in one transaction, as one multi-row
INSERT (each statement is a round trip to aiosqlite's thread), so 1,000 simultaneous presses
cost a couple of commits and statements instead of 1,000 (``python -m bench.answers``).

One connection is shared by every coroutine, so a transaction is only atomic if no other
coroutine's statements can run inside it: every write (a unit of work, an answer batch, a
single update) holds one asyncio lock from its ``BEGIN IMMEDIATE`` to its commit, and rolls
back on any failure. ``BEGIN IMMEDIATE`` also takes SQLite's write lock at once, so two
processes on one file serialize their units instead of failing halfway.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiosqlite

from bot.chat import Channel
from bot.store.base import (
    FORGET_DELIVERIES_EVERY,
    MAX_GAPS,
    AnswerRecord,
    Game,
    Learner,
    Outgoing,
    PendingMessage,
    Reminder,
    ReviewCard,
    ReviewEntry,
    RoundRecord,
    Schedule,
    ScoreRow,
    StoreError,
    UserAnswer,
)
from bot.store.batch import AnswerKey, BatchWriter, NewAnswer, PendingAnswer, points_after_hints, write_answers
from bot.store.lock import make_data_folder
from bot.store.migrations import MIGRATIONS

log = logging.getLogger(__name__)

_INSERT_ANSWER = ("INSERT OR IGNORE INTO answers (round_id, platform, workspace, user_id, display_name, choice, "
                  "correct, points, answered_at, typed_text) VALUES ")
_ANSWER_VALUES = "(?,?,?,?,?,?,?,?,?,?)"
# 10 parameters a row: 500 rows stay far under SQLite's limit of 32,766 parameters a statement.
ANSWERS_PER_INSERT = 500
# RETURNING (SQLite 3.35) says which rows an INSERT OR IGNORE wrote; older SQLite writes row by row.
_HAS_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)
_ROUND_COLUMNS = ("id, platform, workspace, channel, kind, card_id, opened_at, closes_at, closed_at, message_id, "
                  "remaining, seconds, topic, owner_id, schedule_id, local_date, revealed_at, game_id, typed")
_GAME_COLUMNS = ("id, platform, workspace, channel, started_by, started_by_name, questions, target, typed, hints, "
                 "started_at, ended_at, ended_by, end_reason")
_PENDING_COLUMNS = ("id, platform, workspace, channel, action, purpose, reply, round_id, created_at, attempts, "
                    "next_attempt_at")
_PENDING = "delivered_at IS NULL AND given_up_at IS NULL"
_REVIEW_COLUMNS = "platform, workspace, user_id, card_id, state, due, reps, version, added_at"
_LOG_COLUMNS = ("platform, workspace, user_id, card_id, rating, source, reviewed_at, first, due_before, due_after, "
                "stability, difficulty")
_LEARNER = "platform = ? AND workspace = ? AND user_id = ?"


def _who(learner: Learner) -> tuple[str, str, str]:
    return learner.platform, learner.workspace, learner.user_id


def _review_card(row: aiosqlite.Row) -> ReviewCard:
    return ReviewCard(Learner(row[0], row[1], row[2]), row[3], row[4], datetime.fromisoformat(row[5]), int(row[6]),
                      int(row[7]), datetime.fromisoformat(row[8]))


def _review_entry(row: aiosqlite.Row) -> ReviewEntry:
    return ReviewEntry(Learner(row[0], row[1], row[2]), row[3], int(row[4]), row[5], datetime.fromisoformat(row[6]),
                       bool(row[7]), datetime.fromisoformat(row[8]), datetime.fromisoformat(row[9]), row[10], row[11])


def _reminder(row: aiosqlite.Row) -> Reminder:
    return Reminder(row[0], Learner(row[1], row[2], row[3]), row[4], row[5], datetime.fromisoformat(row[6]))


def _ts(value: datetime | None) -> str | None:
    """ISO text in UTC. Timestamps are compared as text in SQL, which is only right when every
    one has the same offset: a local-zone bound such as Berlin's midnight must be converted first."""
    return value.astimezone(UTC).isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _round(row: aiosqlite.Row) -> RoundRecord:
    return RoundRecord(
        id=row[0], channel=Channel(row[1], row[2], row[3]), kind=row[4], card_id=row[5],
        opened_at=datetime.fromisoformat(row[6]), closes_at=datetime.fromisoformat(row[7]),
        closed_at=_dt(row[8]), message_id=row[9], remaining=row[10], seconds=row[11], topic=row[12],
        owner_id=row[13], schedule_id=row[14], local_date=date.fromisoformat(row[15]) if row[15] else None,
        revealed_at=_dt(row[16]), game_id=row[17], typed=bool(row[18]))


def _game(row: aiosqlite.Row) -> Game:
    return Game(id=row[0], channel=Channel(row[1], row[2], row[3]), started_by=row[4], started_by_name=row[5],
                questions=row[6], target=row[7], typed=bool(row[8]), hints=bool(row[9]),
                started_at=datetime.fromisoformat(row[10]), ended_at=_dt(row[11]), ended_by=row[12],
                end_reason=row[13])


def _pending(row: aiosqlite.Row) -> PendingMessage:
    return PendingMessage(id=row[0], channel=Channel(row[1], row[2], row[3]), action=row[4], purpose=row[5],
                          reply=row[6], round_id=row[7], created_at=datetime.fromisoformat(row[8]),
                          attempts=row[9], next_attempt_at=datetime.fromisoformat(row[10]))


def _platforms(platforms: Collection[str]) -> str:
    return json.dumps(sorted(set(platforms)))


async def upgrade(db: aiosqlite.Connection) -> int:
    """Applies pending migrations in one write transaction; returns the schema version reached.

    ``user_version`` is read after ``BEGIN IMMEDIATE`` has taken SQLite's write lock, so two
    processes starting on a fresh folder cannot both apply migration 1: the second waits
    (busy_timeout), then finds the schema current. Statements run one by one because
    ``executescript`` would commit the open transaction first.
    """
    await db.execute("BEGIN IMMEDIATE")
    try:
        async with db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            # Written by a newer StudyBot: running older code on it could lose or misread data.
            raise StoreError(f"the database schema is version {version}, newer than this StudyBot knows "
                             f"({len(MIGRATIONS)}); upgrade StudyBot, or point --data-dir at another folder")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in _statements(script):
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {number}")
        await db.commit()
    except BaseException:
        await db.rollback()
        raise
    return len(MIGRATIONS)


async def _use_wal(db: aiosqlite.Connection, tries: int = 50, pause: float = 0.1) -> None:
    """Switches the connection to WAL, waiting for a process that starts at the same moment.

    Switching a fresh file's journal mode needs an exclusive lock, and SQLite answers "database
    is locked" at once there instead of calling the busy handler; so it is tried again for up to
    ``tries * pause`` seconds (5 s, the same as every other wait for the lock).
    """
    for attempt in range(tries):
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or attempt == tries - 1:
                raise
            await asyncio.sleep(pause)


def _statements(script: str) -> list[str]:
    """``script`` split into complete SQL statements (a ``;`` inside a string or trigger does not split)."""
    statements, current = [], ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n\t;"):
                statements.append(current.strip())
            current = ""
    if current.strip(" \n\t;"):
        statements.append(current.strip())
    return statements


def _database_problem(path: Path | str, exc: sqlite3.Error) -> str:
    """What went wrong opening ``path``, and what would work, for the person starting the bot."""
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return (f"{path} is not a SQLite database, or is damaged ({text}); move it aside to start with an "
                "empty database, or restore it from a backup")
    if "readonly" in text or "unable to open" in text or "disk I/O" in text:
        return (f"cannot open {path} for writing ({text}); the data folder and its files must be writable by "
                "the user running StudyBot, or choose another folder with --data-dir or [bot] data_dir")
    if "locked" in text:
        return f"{path} is locked by another process ({text}); stop it, or choose another --data-dir"
    return f"{path}: {text}"


class SqliteStore:
    """Store on one SQLite file (or ``:memory:``), for one process (``studybot run`` locks its folder)."""

    shared = False

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._deliveries_seen = 0
        self._answers: BatchWriter[PendingAnswer] = BatchWriter(self._write_answers)
        self._gaps: BatchWriter[tuple[str, str, str | None]] = BatchWriter(self._write_gaps)
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> SqliteStore:
        """Opens (creating if needed) the database and brings its schema up to date.

        Raises:
            StoreError: the folder cannot be made, the file is not a database or cannot be
                written; the message names the file and what would work.
        """
        if str(path) != ":memory:":
            make_data_folder(Path(path).parent)
        connection = aiosqlite.connect(str(path))
        # aiosqlite's worker thread is not a daemon: a connection left open by any failure path would
        # keep the process alive after main() returned, a hang a supervisor sees as "running".
        connection._thread.daemon = True
        try:
            db = await connection
            await db.execute("PRAGMA busy_timeout=5000")
            await _use_wal(db)
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA foreign_keys=ON")
            await upgrade(db)
        except sqlite3.Error as exc:
            await connection.close()
            raise StoreError(_database_problem(path, exc)) from None
        except BaseException:
            await connection.close()
            raise
        return cls(db)

    async def flush(self) -> None:
        """Waits until every answer and unanswered question already taken is written (shutdown drains here)."""
        while (writer := self._answers.task or self._gaps.task) is not None:
            await asyncio.shield(writer)

    async def close(self) -> None:
        if self._answers.task is not None:
            await self._answers.task  # answers already taken are written before the connection goes
        if self._gaps.task is not None:
            await self._gaps.task
        await self._db.close()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """One write transaction, alone on the connection; committed at the end, rolled back on any error."""
        async with self._write_lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                await self._db.rollback()
                raise
            await self._db.commit()

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[SqliteUnit]:
        async with self._transaction():
            yield SqliteUnit(self)

    # Rounds

    async def open_round(self, record: RoundRecord) -> RoundRecord | None:
        async with self.unit() as unit:
            return await unit.open_round(record)

    async def open_rounds(self) -> list[RoundRecord]:
        async with self._db.execute(f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE closed_at IS NULL ORDER BY id") as cur:
            return [_round(row) for row in await cur.fetchall()]

    async def get_round(self, round_id: int) -> RoundRecord | None:
        async with self._db.execute(f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE id = ?", (round_id,)) as cur:
            row = await cur.fetchone()
        return _round(row) if row else None

    async def close_round(self, round_id: int, at: datetime, revealed: bool = True) -> bool:
        async with self.unit() as unit:
            return await unit.close_round(round_id, at, revealed)

    async def extend_round(self, round_id: int, closes_at: datetime) -> bool:
        async with self._transaction():
            cursor = await self._db.execute(
                "UPDATE rounds SET closes_at = ? WHERE id = ? AND closed_at IS NULL AND closes_at < ?",
                (_ts(closes_at), round_id, _ts(closes_at)))
        return cursor.rowcount == 1

    # Answers

    async def record_answer(self, answer: AnswerRecord, platform: str, workspace: str,
                            after_hints: tuple[int, ...] = ()) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._answers.put((answer, platform, workspace, after_hints, future))
        return await future

    async def _write_answers(self, batch: list[PendingAnswer]) -> None:
        """Writes one batch of waiting answers in one transaction (see :func:`write_answers`)."""
        await write_answers(batch, self._insert_in_transaction)

    async def _insert_in_transaction(self, first: dict[AnswerKey, NewAnswer]) -> set[AnswerKey]:
        async with self._transaction():
            hints = await self._hints_in(first) if any(new[3] for new in first.values()) else {}
            rows: dict[AnswerKey, tuple[object, ...]] = {
                key: (answer.round_id, platform, workspace, answer.user_id, answer.display_name, answer.choice,
                      int(answer.correct), points_after_hints(answer, after, hints.get(key, 0)),
                      _ts(answer.answered_at), answer.typed_text)
                for key, (answer, platform, workspace, after, _) in first.items()}
            return await self._insert_answers(rows)

    async def _hints_in(self, first: dict[AnswerKey, NewAnswer]) -> dict[AnswerKey, int]:
        """Hints taken by the batch's users whose points depend on them, read in the writing transaction."""
        users: dict[int, list[str]] = {}
        for (round_id, user_id), new in first.items():
            if new[3]:  # points after hints
                users.setdefault(round_id, []).append(user_id)
        hints: dict[AnswerKey, int] = {}
        for round_id, ids in users.items():
            for start in range(0, len(ids), ANSWERS_PER_INSERT):
                chunk = ids[start:start + ANSWERS_PER_INSERT]
                marks = ",".join("?" * len(chunk))
                rows = await self._db.execute_fetchall(
                    f"SELECT user_id, level FROM hints WHERE round_id = ? AND user_id IN ({marks})", [round_id, *chunk])
                hints.update(((round_id, str(r[0])), int(r[1])) for r in rows)
        return hints

    async def _insert_answers(self, rows: dict[tuple[int, str], tuple[object, ...]]) -> set[tuple[int, str]]:
        """Inserts answer rows in the open transaction; returns the (round, user) keys that were new."""
        written: set[tuple[int, str]] = set()
        if not _HAS_RETURNING:
            for key, row in rows.items():
                cursor = await self._db.execute(_INSERT_ANSWER + _ANSWER_VALUES, row)
                if cursor.rowcount == 1:
                    written.add(key)
            return written
        values = list(rows.values())
        for start in range(0, len(values), ANSWERS_PER_INSERT):
            chunk = values[start:start + ANSWERS_PER_INSERT]
            sql = f"{_INSERT_ANSWER}{','.join([_ANSWER_VALUES] * len(chunk))} RETURNING round_id, user_id"
            new = await self._db.execute_fetchall(sql, [value for row in chunk for value in row])
            written.update((int(r[0]), str(r[1])) for r in new)
        return written

    async def answers(self, round_id: int) -> list[AnswerRecord]:
        async with self._db.execute(
                "SELECT round_id, user_id, display_name, choice, correct, points, answered_at, typed_text FROM answers "
                "WHERE round_id = ? ORDER BY answered_at, user_id", (round_id,)) as cur:
            rows = await cur.fetchall()
        return [AnswerRecord(r[0], r[1], r[2], r[3], bool(r[4]), r[5], datetime.fromisoformat(r[6]), r[7])
                for r in rows]

    # Games and hints

    async def game(self, game_id: int) -> Game | None:
        async with self._db.execute(f"SELECT {_GAME_COLUMNS} FROM games WHERE id = ?", (game_id,)) as cur:
            row = await cur.fetchone()
        return _game(row) if row else None

    async def take_hint(self, round_id: int, user_id: str, most: int) -> int:
        async with self._transaction():
            await self._db.execute(
                "INSERT INTO hints (round_id, user_id, level) VALUES (?,?,1) ON CONFLICT (round_id, user_id) "
                "DO UPDATE SET level = MIN(level + 1, ?)", (round_id, user_id, most))
        return await self.hints_taken(round_id, user_id)

    async def hints_taken(self, round_id: int, user_id: str) -> int:
        async with self._db.execute("SELECT level FROM hints WHERE round_id = ? AND user_id = ?",
                                    (round_id, user_id)) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def scores(self, platform: str, workspace: str, since: datetime | None, until: datetime | None,
                     card_ids: Collection[str] | None, daily: tuple[int, date] | None = None) -> list[ScoreRow]:
        return await self._scores(platform, workspace, since, until, card_ids, daily, "r.revealed_at IS NOT NULL")

    async def _scores(self, platform: str, workspace: str, since: datetime | None, until: datetime | None,
                      card_ids: Collection[str] | None, daily: tuple[int, date] | None,
                      counted: str, game_id: int | None = None) -> list[ScoreRow]:
        if card_ids is not None and not card_ids:
            return []
        # reached_at: when the user reached their points (their last scoring answer), or, with no
        # points, their first answer; the leaderboard's last tie-break before the user id.
        # The name shown is the user's latest (people rename themselves), not whichever sorts last.
        sql = ("SELECT a.user_id, (SELECT b.display_name FROM answers b WHERE b.platform = a.platform "
               "AND b.workspace = a.workspace AND b.user_id = a.user_id ORDER BY b.answered_at DESC LIMIT 1), "
               "SUM(a.points), SUM(a.correct), COUNT(*), "
               "COALESCE(MAX(CASE WHEN a.points > 0 THEN a.answered_at END), MIN(a.answered_at)) "
               "FROM answers a JOIN rounds r ON r.id = a.round_id "
               f"WHERE a.platform = ? AND a.workspace = ? AND r.kind != 'practice' AND {counted}")
        params: list[object] = [platform, workspace]
        if since is not None:
            sql += " AND a.answered_at >= ?"
            params.append(_ts(since))
        if until is not None:
            sql += " AND a.answered_at < ?"
            params.append(_ts(until))
        if card_ids is not None:
            # One JSON parameter, however many cards a topic has (SQLite limits parameters a statement).
            sql += " AND r.card_id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(sorted(set(card_ids))))
        if daily is not None:
            sql += " AND r.kind = 'daily' AND r.schedule_id = ? AND r.local_date = ?"
            params.extend([daily[0], daily[1].isoformat()])
        if game_id is not None:
            sql += " AND r.game_id = ?"
            params.append(game_id)
        sql += " GROUP BY a.user_id"
        async with self._db.execute(sql, params) as cur:
            rows = await cur.fetchall()
        return [ScoreRow(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), datetime.fromisoformat(r[5])) for r in rows]

    async def user_answers(self, platform: str, workspace: str, user_id: str) -> list[UserAnswer]:
        async with self._db.execute(
                "SELECT r.card_id, r.kind, a.correct, r.local_date FROM answers a JOIN rounds r ON r.id = a.round_id "
                "WHERE a.platform = ? AND a.workspace = ? AND a.user_id = ? AND r.revealed_at IS NOT NULL "
                "ORDER BY a.answered_at",
                (platform, workspace, user_id)) as cur:
            rows = await cur.fetchall()
        return [(r[0], r[1], bool(r[2]), date.fromisoformat(r[3]) if r[3] else None) for r in rows]

    async def channel_card_stats(self, channel: Channel) -> dict[str, tuple[int, int]]:
        async with self._db.execute(
                "SELECT r.card_id, COUNT(a.user_id), COALESCE(SUM(a.correct), 0) FROM rounds r "
                "JOIN answers a ON a.round_id = r.id WHERE r.platform = ? AND r.workspace = ? AND r.channel = ? "
                "GROUP BY r.card_id", (channel.platform, channel.workspace, channel.channel_id)) as cur:
            return {r[0]: (int(r[1]), int(r[2])) for r in await cur.fetchall()}

    async def used_daily_cards(self, channel: Channel) -> list[str]:
        async with self._db.execute(
                "SELECT card_id FROM rounds WHERE platform = ? AND workspace = ? AND channel = ? AND kind = 'daily' "
                "ORDER BY id", (channel.platform, channel.workspace, channel.channel_id)) as cur:
            return [r[0] for r in await cur.fetchall()]

    # Schedules

    async def save_schedule(self, channel: Channel, local_time: str, timezone: str, questions: int,
                            topic: str | None, at: datetime, typed: bool = False) -> Schedule:
        async with self._transaction():
            await self._db.execute(
            "INSERT INTO schedules (platform, workspace, channel, local_time, timezone, questions, topic, enabled, "
            "updated_at, typed) VALUES (?,?,?,?,?,?,?,1,?,?) ON CONFLICT (platform, workspace, channel) DO UPDATE SET "
            "local_time = excluded.local_time, timezone = excluded.timezone, questions = excluded.questions, "
            "topic = excluded.topic, enabled = 1, updated_at = excluded.updated_at, typed = excluded.typed",
            (channel.platform, channel.workspace, channel.channel_id, local_time, timezone, questions, topic,
             _ts(at), int(typed)))
        schedule = await self.schedule_for(channel)
        assert schedule is not None
        return schedule

    async def schedule_for(self, channel: Channel) -> Schedule | None:
        rows = await self._schedules("WHERE platform = ? AND workspace = ? AND channel = ? AND enabled = 1",
                                     (channel.platform, channel.workspace, channel.channel_id))
        return rows[0] if rows else None

    async def disable_schedule(self, channel: Channel) -> bool:
        async with self._transaction():
            cursor = await self._db.execute(
                "UPDATE schedules SET enabled = 0 WHERE platform = ? AND workspace = ? AND channel = ? AND enabled = 1",
                (channel.platform, channel.workspace, channel.channel_id))
        return cursor.rowcount == 1

    async def schedules(self) -> list[Schedule]:
        return await self._schedules("WHERE enabled = 1", ())

    async def _schedules(self, where: str, params: tuple[object, ...]) -> list[Schedule]:
        async with self._db.execute(
                "SELECT id, platform, workspace, channel, local_time, timezone, questions, topic, updated_at, enabled, "
                f"typed FROM schedules {where} ORDER BY id", params) as cur:
            rows = await cur.fetchall()
        return [Schedule(r[0], Channel(r[1], r[2], r[3]), r[4], r[5], r[6], r[7], datetime.fromisoformat(r[8]),
                         bool(r[9]), bool(r[10])) for r in rows]

    async def claim_fire(self, schedule_id: int, local_date: date, at: datetime, status: str) -> bool:
        async with self.unit() as unit:
            return await unit.claim_fire(schedule_id, local_date, at, status)

    # Spaced repetition

    async def review_cards(self, learner: Learner, card_ids: Collection[str]) -> dict[str, ReviewCard]:
        if not card_ids:
            return {}
        async with self._db.execute(
                f"SELECT {_REVIEW_COLUMNS} FROM review_cards WHERE {_LEARNER} AND card_id IN "
                "(SELECT value FROM json_each(?))", (*_who(learner), json.dumps(sorted(set(card_ids))))) as cur:
            return {row[3]: _review_card(row) for row in await cur.fetchall()}

    async def next_review(self, learner: Learner, now: datetime, reviews: bool, new: bool,
                          skip: Collection[str] = ()) -> ReviewCard | None:
        # Rated cards by due time (the index's order); new ones in the order they were added.
        unwanted = " AND card_id NOT IN (SELECT value FROM json_each(?))" if skip else ""
        extra = (json.dumps(sorted(skip)),) if skip else ()
        for wanted, sql in ((reviews, f"reps > 0 AND due <= ?{unwanted} ORDER BY due"),
                            (new, f"reps = 0 AND due <= ?{unwanted} ORDER BY added_at, card_id")):
            if not wanted:
                continue
            async with self._db.execute(f"SELECT {_REVIEW_COLUMNS} FROM review_cards WHERE {_LEARNER} AND {sql} "
                                        "LIMIT 1", (*_who(learner), _ts(now), *extra)) as cur:
                row = await cur.fetchone()
            if row is not None:
                return _review_card(row)
        return None

    async def add_review_cards(self, learner: Learner, cards: Sequence[tuple[str, str]], at: datetime) -> int:
        async with self._transaction():
            cursor = await self._db.executemany(
                f"INSERT OR IGNORE INTO review_cards ({_REVIEW_COLUMNS}) VALUES (?,?,?,?,?,?,0,0,?)",
                [(*_who(learner), card_id, state, _ts(at), _ts(at)) for card_id, state in cards])
        return max(cursor.rowcount, 0)

    async def review_due_counts(self, learner: Learner, until: Sequence[datetime]) -> list[int]:
        counts = []
        for instant in until:
            async with self._db.execute(f"SELECT COUNT(*) FROM review_cards WHERE {_LEARNER} AND due <= ?",
                                        (*_who(learner), _ts(instant))) as cur:
                row = await cur.fetchone()
            counts.append(int(row[0]) if row else 0)
        return counts

    async def review_log(self, learner: Learner, since: datetime | None = None) -> list[ReviewEntry]:
        async with self._db.execute(
                f"SELECT {_LOG_COLUMNS} FROM review_log WHERE {_LEARNER} AND reviewed_at >= ? "
                "ORDER BY reviewed_at, id", (*_who(learner), _ts(since) or "")) as cur:
            return [_review_entry(row) for row in await cur.fetchall()]

    async def save_reminder(self, learner: Learner, local_time: str, timezone: str, at: datetime) -> Reminder:
        async with self._transaction():
            await self._db.execute(
                "INSERT INTO review_reminders (platform, workspace, user_id, local_time, timezone, enabled, "
                "updated_at) VALUES (?,?,?,?,?,1,?) ON CONFLICT (platform, workspace, user_id) DO UPDATE SET "
                "local_time = excluded.local_time, timezone = excluded.timezone, enabled = 1, "
                "updated_at = excluded.updated_at", (*_who(learner), local_time, timezone, _ts(at)))
        reminder = await self.reminder_for(learner)
        assert reminder is not None
        return reminder

    async def reminder_for(self, learner: Learner) -> Reminder | None:
        rows = await self._reminders(f"WHERE {_LEARNER} AND enabled = 1", _who(learner))
        return rows[0] if rows else None

    async def disable_reminder(self, learner: Learner) -> bool:
        async with self._transaction():
            cursor = await self._db.execute(f"UPDATE review_reminders SET enabled = 0 WHERE {_LEARNER} AND enabled = 1",
                                            _who(learner))
        return cursor.rowcount == 1

    async def reminders(self) -> list[Reminder]:
        return await self._reminders("WHERE enabled = 1", ())

    async def _reminders(self, where: str, params: tuple[object, ...]) -> list[Reminder]:
        async with self._db.execute(
                "SELECT id, platform, workspace, user_id, local_time, timezone, updated_at FROM review_reminders "
                f"{where} ORDER BY id", params) as cur:
            return [_reminder(row) for row in await cur.fetchall()]

    async def claim_reminder(self, reminder_id: int, local_date: date, at: datetime, status: str) -> bool:
        async with self.unit() as unit:
            return await unit.claim_reminder(reminder_id, local_date, at, status)

    # Workspaces and gaps

    async def workspace_timezone(self, platform: str, workspace: str) -> str | None:
        async with self._db.execute("SELECT timezone FROM workspaces WHERE platform = ? AND workspace = ?",
                                    (platform, workspace)) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def set_workspace_timezone(self, platform: str, workspace: str, timezone: str) -> None:
        async with self._transaction():
            await self._db.execute(
                "INSERT INTO workspaces (platform, workspace, timezone) VALUES (?,?,?) "
                "ON CONFLICT (platform, workspace) DO UPDATE SET timezone = excluded.timezone",
                (platform, workspace, timezone))

    async def record_gap(self, query: str, at: datetime) -> None:
        """Queues the count and returns at once: a background task writes it (see :meth:`_write_gaps`).

        A declined question is answered whatever the disk does: a full disk or a writer holding
        the lock delays or loses a count (logged), never the reply.
        """
        self._gaps.put((" ".join(query.casefold().split()), query, _ts(at)))

    async def _write_gaps(self, batch: list[tuple[str, str, str | None]]) -> None:
        """Writes one batch of queued gaps, trimming the table to ``MAX_GAPS`` in the same transaction."""
        try:
            async with self._transaction():
                await self._write_gap_batch(batch)
        except (sqlite3.Error, ValueError) as exc:  # ValueError: the connection was closed meanwhile
            log.warning("could not record %d unanswered question(s) for `studybot kb gaps`: %s "
                        "(the questions were answered)", len(batch), exc)

    async def _write_gap_batch(self, batch: list[tuple[str, str, str | None]]) -> None:
        """Counts a batch of gaps and trims the table to ``MAX_GAPS``, in the caller's transaction."""
        await self._db.executemany(
            "INSERT INTO gaps (query_key, query, times, last_asked) VALUES (?,?,1,?) "
            "ON CONFLICT (query_key) DO UPDATE SET times = times + 1, query = excluded.query, "
            "last_asked = excluded.last_asked", batch)
        # Past the cap, back to 90% of it (so the sort runs once per thousand questions, not on
        # each): questions asked once go first, oldest first; then the oldest of the rest.
        await self._db.execute(
            "DELETE FROM gaps WHERE query_key IN (SELECT query_key FROM gaps ORDER BY times > 1, "
            "last_asked LIMIT (SELECT CASE WHEN COUNT(*) > ? THEN COUNT(*) - ? ELSE 0 END FROM gaps))",
            (MAX_GAPS, MAX_GAPS - MAX_GAPS // 10))

    async def gaps(self, limit: int) -> list[tuple[str, int, datetime]]:
        if self._gaps.task is not None:
            await asyncio.shield(self._gaps.task)  # counts queued before this read are in it
        async with self._db.execute(
                "SELECT query, times, last_asked FROM gaps ORDER BY times DESC, last_asked DESC LIMIT ?",
                (limit,)) as cur:
            return [(r[0], int(r[1]), datetime.fromisoformat(r[2])) for r in await cur.fetchall()]

    # Cooldowns and deliveries seen

    async def use_cooldown(self, key: tuple[str, str, str, str], now: datetime, seconds: float,
                           token: str) -> float:
        async with self._transaction():
            async with self._db.execute(
                    "SELECT used_at FROM cooldowns WHERE platform = ? AND workspace = ? AND user_id = ? "
                    "AND command = ?", key) as cur:
                row = await cur.fetchone()
            if row is not None:
                waited = (now - datetime.fromisoformat(row[0])).total_seconds()
                if waited < seconds:
                    return seconds - waited
            await self._db.execute(
                "INSERT INTO cooldowns (platform, workspace, user_id, command, used_at, token) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT (platform, workspace, user_id, command) DO UPDATE SET used_at = excluded.used_at, "
                "token = excluded.token", (*key, _ts(now), token))
        return 0.0

    async def release_cooldown(self, key: tuple[str, str, str, str], token: str) -> None:
        async with self._transaction():
            await self._db.execute("DELETE FROM cooldowns WHERE platform = ? AND workspace = ? AND user_id = ? "
                                   "AND command = ? AND token = ?", (*key, token))

    async def forget_cooldowns(self, before: datetime) -> int:
        async with self._transaction():
            cursor = await self._db.execute("DELETE FROM cooldowns WHERE used_at < ?", (_ts(before),))
        return cursor.rowcount

    async def first_delivery(self, key: str, now: datetime, remember_seconds: float) -> bool:
        cutoff = _ts(now - timedelta(seconds=remember_seconds))
        async with self._transaction():
            cursor = await self._db.execute(
                "INSERT INTO deliveries_seen (key, seen_at) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                "seen_at = excluded.seen_at WHERE deliveries_seen.seen_at < ?", (key, _ts(now), cutoff))
            self._deliveries_seen += 1
            if self._deliveries_seen % FORGET_DELIVERIES_EVERY == 0:
                await self._db.execute("DELETE FROM deliveries_seen WHERE seen_at < ?", (cutoff,))
        return cursor.rowcount == 1

    # The outbox

    async def due_messages(self, now: datetime, platforms: Collection[str],
                           channel: Channel | None = None) -> list[PendingMessage]:
        # Each channel's oldest pending message, and only if it is due: a later one never overtakes it.
        where, params = f"{_PENDING} AND platform IN (SELECT value FROM json_each(?))", [_platforms(platforms)]
        if channel is not None:
            where += " AND platform = ? AND workspace = ? AND channel = ?"
            params += [channel.platform, channel.workspace, channel.channel_id]
        sql = (f"SELECT {_PENDING_COLUMNS} FROM outbox WHERE id IN (SELECT MIN(id) FROM outbox WHERE {where} "
               "GROUP BY platform, workspace, channel) AND next_attempt_at <= ? ORDER BY id")
        async with self._db.execute(sql, (*params, _ts(now))) as cur:
            return [_pending(row) for row in await cur.fetchall()]

    async def next_due(self, platforms: Collection[str]) -> datetime | None:
        sql = (f"SELECT MIN(next_attempt_at) FROM outbox WHERE id IN (SELECT MIN(id) FROM outbox WHERE {_PENDING} "
               "AND platform IN (SELECT value FROM json_each(?)) GROUP BY platform, workspace, channel)")
        async with self._db.execute(sql, (_platforms(platforms),)) as cur:
            row = await cur.fetchone()
        return _dt(row[0]) if row else None

    async def pending_messages(self, round_id: int | None = None) -> list[PendingMessage]:
        where, params = (f"{_PENDING} AND round_id = ?", (round_id,)) if round_id is not None else (_PENDING, ())
        async with self._db.execute(f"SELECT {_PENDING_COLUMNS} FROM outbox WHERE {where} ORDER BY id",
                                    params) as cur:
            return [_pending(row) for row in await cur.fetchall()]

    async def claim_message(self, outbox_id: int, now: datetime, lease_until: datetime, owner: str) -> bool:
        async with self._transaction():
            cursor = await self._db.execute(
                f"UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, claimed_by = ? WHERE id = ? "
                f"AND {_PENDING} AND next_attempt_at <= ?", (_ts(lease_until), owner, outbox_id, _ts(now)))
        return cursor.rowcount == 1

    async def prune_outbox(self, before: datetime) -> int:
        async with self._transaction():
            cursor = await self._db.execute(
                "DELETE FROM outbox WHERE delivered_at < ? OR given_up_at < ?", (_ts(before), _ts(before)))
        return cursor.rowcount

    async def release_claims(self, now: datetime, owner: str) -> int:
        async with self._transaction():
            cursor = await self._db.execute(
                f"UPDATE outbox SET next_attempt_at = ?, claimed_by = NULL WHERE claimed_by IS NOT NULL "
                f"AND claimed_by != ? AND {_PENDING}", (_ts(now), owner))
        return cursor.rowcount

    async def round_message_id(self, round_id: int) -> str | None:
        async with self._db.execute("SELECT message_id FROM rounds WHERE id = ?", (round_id,)) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row and row[0] is not None else None

    async def record_delivered(self, outbox_id: int, at: datetime, platform_id: str | None) -> None:
        async with self._transaction():
            cursor = await self._db.execute(
                f"UPDATE outbox SET delivered_at = ?, delivered_id = ?, claimed_by = NULL WHERE id = ? AND {_PENDING}",
                (_ts(at), platform_id, outbox_id))
            if cursor.rowcount == 1:
                await self._settle_round(outbox_id, at, platform_id)

    async def record_retry(self, outbox_id: int, next_attempt_at: datetime, error: str, owner: str) -> bool:
        async with self._transaction():
            cursor = await self._db.execute(
                f"UPDATE outbox SET next_attempt_at = ?, last_error = ?, claimed_by = NULL WHERE id = ? AND {_PENDING} "
                f"AND claimed_by = ?", (_ts(next_attempt_at), error[:500], outbox_id, owner))
        return cursor.rowcount == 1

    async def record_given_up(self, outbox_id: int, at: datetime, reason: str, owner: str) -> bool:
        async with self._transaction():
            cursor = await self._db.execute(
                f"UPDATE outbox SET given_up_at = ?, given_up_reason = ?, claimed_by = NULL WHERE id = ? "
                f"AND {_PENDING} AND claimed_by = ?",
                (_ts(at), reason[:500], outbox_id, owner))
            if cursor.rowcount == 1:
                await self._settle_round(outbox_id, at, None)
        return cursor.rowcount == 1

    async def _settle_round(self, outbox_id: int, at: datetime, platform_id: str | None) -> None:
        """What a settled message means for its round: a question's id is where the round was posted;
        a reveal delivered or given up for good lets the round's points count."""
        async with self._db.execute("SELECT purpose, round_id FROM outbox WHERE id = ?", (outbox_id,)) as cur:
            row = await cur.fetchone()
        if row is None or row[1] is None:
            return
        if row[0] == "question" and platform_id is not None:
            await self._db.execute("UPDATE rounds SET message_id = ? WHERE id = ?", (platform_id, row[1]))
        elif row[0] == "reveal":
            await self._db.execute("UPDATE rounds SET revealed_at = ? WHERE id = ? AND revealed_at IS NULL",
                                   (_ts(at), row[1]))


class SqliteUnit:
    """The writes of one unit of work on a :class:`SqliteStore` (see ``SqliteStore.unit``)."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._db = store._db

    async def open_round(self, record: RoundRecord) -> RoundRecord | None:
        c = record.channel
        try:
            cursor = await self._db.execute(
                "INSERT INTO rounds (platform, workspace, channel, kind, card_id, opened_at, closes_at, remaining, "
                "seconds, topic, owner_id, schedule_id, local_date, game_id, typed) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (c.platform, c.workspace, c.channel_id, record.kind, record.card_id, _ts(record.opened_at),
                 _ts(record.closes_at), record.remaining, record.seconds, record.topic, record.owner_id,
                 record.schedule_id, record.local_date.isoformat() if record.local_date else None,
                 record.game_id, int(record.typed)))
        except aiosqlite.IntegrityError:
            return None  # only this statement is undone; the unit goes on
        return await self._store.get_round(int(cursor.lastrowid or 0))

    async def close_round(self, round_id: int, at: datetime, revealed: bool = True) -> bool:
        cursor = await self._db.execute(
            "UPDATE rounds SET closed_at = ?, revealed_at = ? WHERE id = ? AND closed_at IS NULL",
            (_ts(at), _ts(at) if revealed else None, round_id))
        return cursor.rowcount == 1

    async def claim_fire(self, schedule_id: int, local_date: date, at: datetime, status: str) -> bool:
        cursor = await self._db.execute(
            "INSERT OR IGNORE INTO fires (schedule_id, local_date, fired_at, status) VALUES (?,?,?,?)",
            (schedule_id, local_date.isoformat(), _ts(at), status))
        return cursor.rowcount == 1

    async def answers(self, round_id: int) -> list[AnswerRecord]:
        return await self._store.answers(round_id)

    async def day_scores(self, platform: str, workspace: str, schedule_id: int, local_date: date) -> list[ScoreRow]:
        return await self._store._scores(platform, workspace, None, None, None, (schedule_id, local_date),
                                         counted="r.closed_at IS NOT NULL")

    async def enqueue(self, messages: Sequence[Outgoing], at: datetime) -> list[int]:
        ids = []
        for m in messages:
            c = m.channel
            cursor = await self._db.execute(
                "INSERT INTO outbox (platform, workspace, channel, action, purpose, round_id, reply, created_at, "
                "next_attempt_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (c.platform, c.workspace, c.channel_id, m.action, m.purpose, m.round_id, m.reply, _ts(at), _ts(at)))
            ids.append(int(cursor.lastrowid or 0))
        return ids

    async def start_game(self, game: Game) -> Game:
        c = game.channel
        cursor = await self._db.execute(
            "INSERT INTO games (platform, workspace, channel, started_by, started_by_name, questions, target, typed, "
            "hints, started_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (c.platform, c.workspace, c.channel_id, game.started_by, game.started_by_name, game.questions,
             game.target, int(game.typed), int(game.hints), _ts(game.started_at)))
        stored = await self.game(int(cursor.lastrowid or 0))
        assert stored is not None
        return stored

    async def end_game(self, game_id: int, at: datetime, by: str | None, reason: str) -> bool:
        cursor = await self._db.execute(
            "UPDATE games SET ended_at = ?, ended_by = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL",
            (_ts(at), by, reason, game_id))
        return cursor.rowcount == 1

    async def game(self, game_id: int) -> Game | None:
        return await self._store.game(game_id)

    async def game_open_round(self, game_id: int) -> RoundRecord | None:
        async with self._db.execute(f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE game_id = ? AND closed_at IS NULL "
                                    "ORDER BY id LIMIT 1", (game_id,)) as cur:
            row = await cur.fetchone()
        return _round(row) if row else None

    async def game_scores(self, game_id: int) -> list[ScoreRow]:
        game = await self.game(game_id)
        if game is None:
            return []
        return await self._store._scores(game.channel.platform, game.channel.workspace, None, None, None, None,
                                         counted="r.closed_at IS NOT NULL", game_id=game_id)

    async def game_rounds(self, game_id: int) -> int:
        async with self._db.execute("SELECT COUNT(*) FROM rounds WHERE game_id = ?", (game_id,)) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def review_cards(self, learner: Learner, card_ids: Collection[str]) -> dict[str, ReviewCard]:
        return await self._store.review_cards(learner, card_ids)

    async def save_review(self, card: ReviewCard, entry: ReviewEntry) -> bool:
        if card.version == 1:  # first rating: a new card (stored unrated by `review add`) or one never seen
            cursor = await self._db.execute(
                f"INSERT INTO review_cards ({_REVIEW_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (platform, workspace, user_id, card_id) DO UPDATE SET state = excluded.state, "
                "due = excluded.due, reps = excluded.reps, version = excluded.version WHERE version = 0",
                (*_who(card.learner), card.card_id, card.state, _ts(card.due), card.reps, card.version,
                 _ts(card.added_at)))
        else:
            cursor = await self._db.execute(
                f"UPDATE review_cards SET state = ?, due = ?, reps = ?, version = ? WHERE {_LEARNER} AND card_id = ? "
                "AND version = ?", (card.state, _ts(card.due), card.reps, card.version, *_who(card.learner),
                                    card.card_id, card.version - 1))
        if cursor.rowcount != 1:
            return False
        e = entry
        await self._db.execute(
            f"INSERT INTO review_log ({_LOG_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (*_who(e.learner), e.card_id, e.rating, e.source, _ts(e.reviewed_at), int(e.first), _ts(e.due_before),
             _ts(e.due_after), e.stability, e.difficulty))
        return True

    async def claim_reminder(self, reminder_id: int, local_date: date, at: datetime, status: str) -> bool:
        cursor = await self._db.execute(
            "INSERT OR IGNORE INTO reminder_fires (reminder_id, local_date, fired_at, status) VALUES (?,?,?,?)",
            (reminder_id, local_date.isoformat(), _ts(at), status))
        return cursor.rowcount == 1
