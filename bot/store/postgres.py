"""The PostgreSQL implementation of the Store interface (asyncpg), for several processes on one database.

Every rule the core relies on is the database's: uniqueness by unique indexes, claims by
conditional updates and ``ON CONFLICT DO NOTHING`` inside the unit that queues their posts. Two
processes racing to close one round both run ``UPDATE ... WHERE closed_at IS NULL``; the second
waits on the row and then updates nothing, so exactly one reveal is queued. Outbox deliveries are
claimed with a lease (``next_attempt_at`` moved past now), so a process killed mid-delivery has its
message taken over when the lease runs out.

Answers from many concurrent presses are written in group commits as in the SQLite store: one
writer task takes every answer waiting and inserts them with ``INSERT ... SELECT FROM unnest``
(a big batch as two such statements on two connections at once), which also reads the hints
each user took. A press costs no other round trip.

A server that restarts or cannot be reached makes calls raise :class:`StoreUnavailable` (reads are
tried once more on a fresh connection first); the pool replaces broken connections, so the store
works again as soon as the server is back, with nothing half-written (each write is one transaction).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import asyncpg

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
    StoreUnavailable,
    UserAnswer,
)
from bot.store.batch import AnswerKey, AnswersRefused, BatchWriter, NewAnswer, PendingAnswer, write_answers
from bot.store.migrations import POSTGRES_MIGRATIONS

log = logging.getLogger(__name__)
T = TypeVar("T")
_REVIEW_COLUMNS = "platform, workspace, user_id, card_id, state, due, reps, version, added_at"
_LOG_COLUMNS = ("platform, workspace, user_id, card_id, rating, source, reviewed_at, first, due_before, due_after, "
                "stability, difficulty")
_LEARNER = "platform = $1 AND workspace = $2 AND user_id = $3"


def _who(learner: Learner) -> tuple[str, str, str]:
    return learner.platform, learner.workspace, learner.user_id


def _review_card(r: Any) -> ReviewCard:
    return ReviewCard(Learner(r[0], r[1], r[2]), r[3], r[4], r[5], int(r[6]), int(r[7]), r[8])


def _review_entry(r: Any) -> ReviewEntry:
    return ReviewEntry(Learner(r[0], r[1], r[2]), r[3], int(r[4]), r[5], r[6], bool(r[7]), r[8], r[9], r[10], r[11])

# Any constant works, as long as every StudyBot uses the same one: migrations run one process at a time.
MIGRATION_LOCK = 0x5354_5544_5942_4F54  # "STUDYBOT"
_ROUND_COLUMNS = ("id, platform, workspace, channel, kind, card_id, opened_at, closes_at, closed_at, message_id, "
                  "remaining, seconds, topic, owner_id, schedule_id, local_date, revealed_at, game_id, typed")
_GAME_COLUMNS = ("id, platform, workspace, channel, started_by, started_by_name, questions, target, typed, hints, "
                 "started_at, ended_at, ended_by, end_reason")
_PENDING_COLUMNS = ("id, platform, workspace, channel, action, purpose, reply, round_id, created_at, attempts, "
                    "next_attempt_at")
_PENDING = "delivered_at IS NULL AND given_up_at IS NULL"
# A batch of answers of at least 2 x ANSWERS_PER_PART is written in parts side by side, at most ANSWER_PARTS:
# two let a 2-core server write while this process waits; more only add statements that contend with
# other processes' on the same index pages (three processes with 4 parts each ran slower than with 1).
# Parts pay only for big batches: at ~13 us of server time a row, 1,000 answers in one statement beat two
# statements of 500 (bench.answers_pg: p99 42-45 ms against 41-61 ms, and three processes faster, the two
# parts contending for the same index pages), while 4,000 at once were answered sooner in two (p99 128-140
# against 179-181 ms). Between those sizes the threshold is a judgement, not a measurement.
ANSWERS_PER_PART = 1_000
ANSWER_PARTS = 2
_ANSWER_COLUMNS = ("round_id, platform, workspace, user_id, display_name, choice, correct, points, answered_at, "
                   "typed_text")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# A JSON array of answer texts, as compact as JSON goes (one encoder: json.dumps with options makes one a call).
_json = json.JSONEncoder(separators=(",", ":")).encode


def _literal(values: Iterable[object]) -> str:
    """An array literal of numbers or booleans (``str`` gives ``True``, which PostgreSQL reads as true)."""
    return "{" + ",".join(map(str, values)) + "}"


def _answer_insert(uniform: bool, after_hints: bool, skip_taken: bool, typed: bool) -> str:
    """The INSERT of a batch of answers, a column a parameter.

    Shaped for the server's time per row, which is most of what a burst of presses costs it:

    * The round is read once per statement, ``FOR KEY SHARE`` as a foreign key would lock it, and
      rows of a round that does not exist are not written (the caller names them). A foreign key
      ran its check once per row, a third of the server's time per answer (answers have none on
      PostgreSQL since migration 8).
    * ``skip_taken``: ``ON CONFLICT DO NOTHING`` keeps the first answer per user and round, and the
      rows written are returned. It costs an index probe and one more WAL record per row, so the
      store first tries without (a plain INSERT, which fails as a whole if any answer is already
      there) and uses this one only then.

    And for this process's CPU, most of a big batch's cost on the client: each answer column goes as
    one text, where asyncpg checked every element of an array parameter against three abstract base
    classes before encoding it (~1 µs a row for the six columns). Texts go as a JSON array ($4, $5,
    $10: ``json`` escapes them in C, ~0.05 µs a value; the server reads them back with
    ``json_array_elements_text``, ~0.2 µs a value more than a binary array); numbers and booleans as
    an array literal (``{1,0,2}``, $6-$9: ``str`` and ``join`` in C; the server parses it once, ~0.05
    µs a value more than binary, a third of what reading them from JSON cost). ``uniform`` (one round,
    platform and workspace, the usual batch) sends those three once ($1-$3) rather than as arrays;
    times go as microseconds since the epoch, exact. ``after_hints``: each row's points are picked by
    the hints its user took, read by this statement (LEFT JOIN hints): $11 holds every answer's
    points after 1 ... $12 hints, one answer after another (NULL: no change), an array literal read
    once per statement. ``typed``: some answers were typed, and $10 holds each one's text; otherwise
    $10 is one NULL.
    """
    fields = "user_id, display_name, choice, correct, points, answered_at" + (", typed_text" if typed else "")
    columns = ("json_array_elements_text($4::json), json_array_elements_text($5::json), unnest($6::text::int[]), "
               "unnest($7::text::bool[]), unnest($8::text::int[]), unnest($9::text::bigint[])"
               + (", json_array_elements_text($10::json)" if typed else ""))
    if uniform:
        platform, workspace = "$2::text", "$3::text"
        rows = (f"(SELECT id FROM rounds WHERE id = $1::bigint FOR KEY SHARE) r CROSS JOIN ROWS FROM ({columns}) "
                f"WITH ORDINALITY AS u({fields}, i)")
    else:
        platform, workspace = "u.platform", "u.workspace"
        rows = (f"ROWS FROM (unnest($1::bigint[]), unnest($2::text[]), unnest($3::text[]), {columns}) WITH "
                f"ORDINALITY AS u(round_id, platform, workspace, {fields}, i) JOIN (SELECT id FROM rounds WHERE "
                "id = ANY($1::bigint[]) FOR KEY SHARE) r ON r.id = u.round_id")
    points, hints = "u.points", ""
    if after_hints:
        # A subquery of the parameter alone: the server parses the array once per statement, not once per row.
        points = ("COALESCE(CASE WHEN h.level > 0 THEN (SELECT $11::text::int[])[(u.i::int - 1) * $12::int "
                  "+ LEAST(h.level, $12::int)] END, u.points)")
        hints = " LEFT JOIN hints h ON h.round_id = r.id AND h.user_id = u.user_id"
    return (f"INSERT INTO answers ({_ANSWER_COLUMNS}) SELECT r.id, {platform}, {workspace}, u.user_id, "
            f"u.display_name, u.choice, u.correct, {points}, timestamptz 'epoch' + u.answered_at * interval "
            f"'1 microsecond', {'u.typed_text' if typed else '$10::text'} FROM {rows}{hints}"
            + (" ON CONFLICT DO NOTHING RETURNING round_id, user_id" if skip_taken else ""))


# By (uniform, after_hints, skip_taken, typed).
_INSERT_ANSWERS = {(uniform, after, skip, typed): _answer_insert(uniform, after, skip, typed)
                   for uniform in (False, True) for after in (False, True) for skip in (False, True)
                   for typed in (False, True)}
# Rounds whose answers this process wrote, kept to tell a repeated press without asking the server
# (most recent last); past this many, the oldest round's are forgotten (a repeat then costs a retry).
WRITTEN_ROUNDS_KEPT = 64
# Errors that mean "the server is not there right now", not "this statement is wrong".
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError, asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError, asyncpg.exceptions.QueryCanceledError,
)


def _unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(f"the PostgreSQL server is unavailable ({type(exc).__name__}: {str(exc)[:200]})")


def _round(row: asyncpg.Record) -> RoundRecord:
    return RoundRecord(
        id=row[0], channel=Channel(row[1], row[2], row[3]), kind=row[4], card_id=row[5], opened_at=row[6],
        closes_at=row[7], closed_at=row[8], message_id=row[9], remaining=row[10], seconds=row[11], topic=row[12],
        owner_id=row[13], schedule_id=row[14], local_date=row[15], revealed_at=row[16], game_id=row[17],
        typed=bool(row[18]))


def _game(row: asyncpg.Record) -> Game:
    return Game(id=row[0], channel=Channel(row[1], row[2], row[3]), started_by=row[4], started_by_name=row[5],
                questions=row[6], target=row[7], typed=bool(row[8]), hints=bool(row[9]), started_at=row[10],
                ended_at=row[11], ended_by=row[12], end_reason=row[13])


def _pending(row: asyncpg.Record) -> PendingMessage:
    return PendingMessage(id=row[0], channel=Channel(row[1], row[2], row[3]), action=row[4], purpose=row[5],
                          reply=row[6], round_id=row[7], created_at=row[8], attempts=row[9],
                          next_attempt_at=row[10])


async def upgrade(con: asyncpg.Connection) -> int:
    """Applies pending migrations in one transaction under an advisory lock; returns the version reached.

    The lock makes concurrent starts on a fresh database safe: the second process waits for the
    first's transaction, then finds the schema current. PostgreSQL's DDL is transactional, so a
    failed migration leaves the database as it was.
    """
    async with con.transaction():
        await con.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        version = await con.fetchval("SELECT max(version) FROM schema_version") or 0
        if version > len(POSTGRES_MIGRATIONS):
            raise StoreError(f"the database schema is version {version}, newer than this StudyBot knows "
                             f"({len(POSTGRES_MIGRATIONS)}); upgrade StudyBot, or point [store] url at another "
                             "database")
        for number, script in enumerate(POSTGRES_MIGRATIONS[version:], start=version + 1):
            await con.execute(script)
            await con.execute("DELETE FROM schema_version")
            await con.execute("INSERT INTO schema_version (version) VALUES ($1)", number)
    return len(POSTGRES_MIGRATIONS)


class PostgresStore:
    """Store on a PostgreSQL database, shared by any number of StudyBot processes."""

    shared = True

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._answers: BatchWriter[PendingAnswer] = BatchWriter(self._write_answers)
        self._gaps: BatchWriter[tuple[str, str, datetime]] = BatchWriter(self._write_gaps)
        self._deliveries_seen = 0
        self._written: dict[int, set[str]] = {}  # round id -> users whose answer this process wrote

    @classmethod
    async def open(cls, dsn: str, password: str | None = None, pool_size: int = 10,
                   statement_timeout: float = 10.0) -> PostgresStore:
        """Connects a pool and brings the schema up to date.

        Raises:
            StoreUnavailable: the server cannot be reached (the caller retries at start, then names it).
            StoreError: the server refused (authentication, no such database) or the schema is too new.
        """
        try:
            # Connected up front as many as a batch of answers writes on at once: a burst of presses
            # would otherwise wait for connections to be made.
            pool = await asyncpg.create_pool(
                dsn, password=password, min_size=min(pool_size, ANSWER_PARTS), max_size=pool_size,
                command_timeout=statement_timeout + 5, timeout=statement_timeout,
                server_settings={"statement_timeout": str(int(statement_timeout * 1000)), "timezone": "UTC",
                                 "application_name": "studybot"},
                reset=_keep_session)
        except _UNAVAILABLE as exc:
            raise _unavailable(exc) from None
        except asyncpg.PostgresError as exc:
            raise StoreError(f"PostgreSQL refused the connection ({type(exc).__name__}: {exc}); check [store] url, "
                             "the user, the database name and the password variable named by [store] password_env"
                             ) from None
        try:
            async with pool.acquire() as con:
                await upgrade(con)
        except BaseException as exc:
            await pool.close()
            if isinstance(exc, _UNAVAILABLE):
                raise _unavailable(exc) from None
            raise
        return cls(pool)

    async def flush(self) -> None:
        while (writer := self._answers.task or self._gaps.task) is not None:
            await asyncio.shield(writer)

    async def close(self) -> None:
        if self._answers.task is not None:
            await asyncio.gather(self._answers.task, return_exceptions=True)
        if self._gaps.task is not None:
            await asyncio.gather(self._gaps.task, return_exceptions=True)
        try:
            await asyncio.wait_for(self._pool.close(), 5)
        except TimeoutError:
            self._pool.terminate()

    # Running statements

    async def _read(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Runs a read; once more on a fresh connection if the first died (a server restart kills the pool's)."""
        for attempt in (1, 2):
            try:
                async with self._pool.acquire() as con:
                    return await work(con)
            except _UNAVAILABLE as exc:
                if attempt == 2:
                    raise _unavailable(exc) from None
        raise AssertionError("unreachable")

    async def _write(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Runs ``work`` in one transaction. Not retried: whether a commit that lost its connection
        happened is unknown, so the caller is told (and retries, or the user presses again)."""
        try:
            async with self._pool.acquire() as con, con.transaction():
                return await work(con)
        except _UNAVAILABLE as exc:
            raise _unavailable(exc) from None

    async def _write_statement(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Runs ``work``, one statement, as :meth:`_write` does but without BEGIN and COMMIT: a single
        statement is its own transaction, and the two extra round trips were most of a small write's time."""
        try:
            async with self._pool.acquire() as con:
                return await work(con)
        except _UNAVAILABLE as exc:
            raise _unavailable(exc) from None

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[PostgresUnit]:
        try:
            async with self._pool.acquire() as con, con.transaction():
                yield PostgresUnit(self, con)
        except _UNAVAILABLE as exc:
            raise _unavailable(exc) from None

    # Rounds

    async def open_round(self, record: RoundRecord) -> RoundRecord | None:
        async with self.unit() as unit:
            return await unit.open_round(record)

    async def open_rounds(self) -> list[RoundRecord]:
        rows = await self._read(lambda con: con.fetch(
            f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE closed_at IS NULL ORDER BY id"))
        return [_round(r) for r in rows]

    async def get_round(self, round_id: int) -> RoundRecord | None:
        row = await self._read(lambda con: con.fetchrow(f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE id = $1",
                                                        round_id))
        return _round(row) if row else None

    async def close_round(self, round_id: int, at: datetime, revealed: bool = True) -> bool:
        async with self.unit() as unit:
            return await unit.close_round(round_id, at, revealed)

    async def extend_round(self, round_id: int, closes_at: datetime) -> bool:
        status = await self._write_statement(lambda con: con.execute(
            "UPDATE rounds SET closes_at = $1 WHERE id = $2 AND closed_at IS NULL AND closes_at < $1",
            closes_at, round_id))
        return _count(status) == 1

    # Answers

    def record_answer(self, answer: AnswerRecord, platform: str, workspace: str,
                      after_hints: tuple[int, ...] = ()) -> asyncio.Future[bool]:
        """Queues the answer for the batched writer; the future is woken with whether it was new."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._answers.put((answer, platform, workspace, after_hints, future))
        return future

    async def _write_answers(self, batch: list[PendingAnswer]) -> None:
        """Writes one batch of waiting answers, in up to ANSWER_PARTS statements at once (see
        :func:`write_answers`): the server writes them on as many connections while this process
        waits, and the first part's presses are answered while the others are still being written."""
        await write_answers(batch, self._insert_answers, min(ANSWER_PARTS, len(batch) // ANSWERS_PER_PART))

    async def _insert_answers(self, first: dict[AnswerKey, NewAnswer]) -> set[AnswerKey]:
        """Writes the answers of ``first`` that are new; returns the keys written.

        A press this process already wrote is a repeat without a statement. The rest go in one plain
        INSERT, in one order of (user, round); if one of them is already there (written by another
        process), the INSERT fails as a whole and is repeated with ``ON CONFLICT DO NOTHING`` (as it is
        after a deadlock, which that order should prevent). Answers to a round that does not exist
        are refused (:class:`AnswersRefused`), as a foreign key would refuse them.
        """
        # One row per new answer, its user first. Sorted, the rows are in one order of (user, round) in every
        # process, so two processes writing the same people wait for each other's rows in that order, where
        # opposite orders deadlocked (and failed every press of the statement that lost); and a batch of one
        # round, the usual one, sorts comparing users alone, in about half the time (round, user) keys took.
        # The columns are then the rows transposed (zip), with no loop in Python per column.
        written_before = self._written
        rows = sorted((a.user_id, round_id, platform, workspace, a.display_name, a.choice, a.correct, a.points,
                       a.answered_at, a.typed_text, after)
                      for (round_id, user_id), (a, platform, workspace, after, _) in first.items()
                      if user_id not in written_before.get(round_id, ()))
        if not rows:
            return set()
        users, rounds, platforms, workspaces, names, choices, correct, points, times, texts, afters = zip(*rows)
        uniform = all(column.count(column[0]) == len(rows) for column in (rounds, platforms, workspaces))
        columns: list[Any] = [rounds[0], platforms[0], workspaces[0]] if uniform else [
            list(rounds), list(platforms), list(workspaces)]
        typed = texts.count(None) < len(texts)
        columns += [_json(users), _json(names), _literal(choices), _literal(correct), _literal(points),
                    _literal([(t - _EPOCH) // _MICROSECOND for t in times]), _json(texts) if typed else None]
        widest = max(map(len, afters))
        if widest:
            # Shorter rows repeat their last value; rows without points after hints are NULL.
            nothing = ("NULL",) * widest
            columns.append(_literal([points for after in afters
                                     for points in (after + after[-1:] * (widest - len(after)) if after else nothing)]))
            columns.append(widest)
        keys = list(zip(rounds, users))
        missing: set[int] = set()
        try:
            sql = _INSERT_ANSWERS[uniform, bool(widest), False, typed]
            status = await self._write_statement(lambda con: con.execute(sql, *columns))
            written = set(keys)
            if _count(status) < len(keys):  # a plain INSERT leaves out only answers to missing rounds
                missing = await self._missing_rounds({key[0] for key in keys})
                written = {key for key in keys if key[0] not in missing}
        except (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError):  # the second: should key order not hold
            sql = _INSERT_ANSWERS[uniform, bool(widest), True, typed]
            returned = await self._write_statement(lambda con: con.fetch(sql, *columns))
            written = {(int(r[0]), str(r[1])) for r in returned}
            if len(written) < len(keys):  # already there, or their round is missing
                missing = await self._missing_rounds({key[0] for key in keys if key not in written})
        if uniform and len(written) == len(keys):
            self._remember_users({rounds[0]: users})  # the usual batch: no need to group the keys by round
        else:
            self._remember(written)
        if missing:
            raise AnswersRefused(written, {key for key in keys if key[0] in missing}, StoreError(
                f"an answer names round {', '.join(map(str, sorted(missing)))}, which is not in the database; "
                "answers are only taken for rounds the store opened"))
        return written

    def _remember(self, written: set[AnswerKey]) -> None:
        """Notes answers this process wrote, so a repeat of one is told without a statement."""
        by_round: dict[int, list[str]] = {}
        for round_id, user_id in written:
            by_round.setdefault(round_id, []).append(user_id)
        self._remember_users(by_round)

    def _remember_users(self, by_round: Mapping[int, Iterable[str]]) -> None:
        """Notes that this process wrote the answers of these users to these rounds."""
        for round_id, users in by_round.items():
            if round_id not in self._written and len(self._written) >= WRITTEN_ROUNDS_KEPT:
                del self._written[next(iter(self._written))]
            self._written.setdefault(round_id, set()).update(users)

    async def _missing_rounds(self, round_ids: set[int]) -> set[int]:
        found = await self._read(lambda con: con.fetch("SELECT id FROM rounds WHERE id = ANY($1::bigint[])",
                                                       sorted(round_ids)))
        return round_ids - {int(r[0]) for r in found}

    async def answers(self, round_id: int) -> list[AnswerRecord]:
        return await self._read(lambda con: _answers(con, round_id))

    # Games and hints

    async def game(self, game_id: int) -> Game | None:
        row = await self._read(lambda con: con.fetchrow(f"SELECT {_GAME_COLUMNS} FROM games WHERE id = $1", game_id))
        return _game(row) if row else None

    async def take_hint(self, round_id: int, user_id: str, most: int) -> int:
        level = await self._write_statement(lambda con: con.fetchval(
            "INSERT INTO hints AS h (round_id, user_id, level) VALUES ($1,$2,1) ON CONFLICT (round_id, user_id) "
            "DO UPDATE SET level = LEAST(h.level + 1, $3) RETURNING level", round_id, user_id, most))
        return int(level)

    async def hints_taken(self, round_id: int, user_id: str) -> int:
        level = await self._read(lambda con: con.fetchval(
            "SELECT level FROM hints WHERE round_id = $1 AND user_id = $2", round_id, user_id))
        return int(level or 0)

    async def scores(self, platform: str, workspace: str, since: datetime | None, until: datetime | None,
                     card_ids: Collection[str] | None, daily: tuple[int, date] | None = None) -> list[ScoreRow]:
        return await self._read(lambda con: _scores(con, platform, workspace, since, until, card_ids, daily,
                                                    "r.revealed_at IS NOT NULL"))

    async def user_answers(self, platform: str, workspace: str, user_id: str) -> list[UserAnswer]:
        rows = await self._read(lambda con: con.fetch(
            "SELECT r.card_id, r.kind, a.correct, r.local_date FROM answers a JOIN rounds r ON r.id = a.round_id "
            "WHERE a.platform = $1 AND a.workspace = $2 AND a.user_id = $3 AND r.revealed_at IS NOT NULL "
            "ORDER BY a.answered_at", platform, workspace, user_id))
        return [(r[0], r[1], bool(r[2]), r[3]) for r in rows]

    async def channel_card_stats(self, channel: Channel) -> dict[str, tuple[int, int]]:
        rows = await self._read(lambda con: con.fetch(
            "SELECT r.card_id, COUNT(a.user_id), COALESCE(SUM(a.correct::int), 0) FROM rounds r "
            "JOIN answers a ON a.round_id = r.id WHERE r.platform = $1 AND r.workspace = $2 AND r.channel = $3 "
            "GROUP BY r.card_id", channel.platform, channel.workspace, channel.channel_id))
        return {r[0]: (int(r[1]), int(r[2])) for r in rows}

    async def used_daily_cards(self, channel: Channel) -> list[str]:
        rows = await self._read(lambda con: con.fetch(
            "SELECT card_id FROM rounds WHERE platform = $1 AND workspace = $2 AND channel = $3 AND kind = 'daily' "
            "ORDER BY id", channel.platform, channel.workspace, channel.channel_id))
        return [r[0] for r in rows]

    # Schedules

    async def save_schedule(self, channel: Channel, local_time: str, timezone: str, questions: int,
                            topic: str | None, at: datetime, typed: bool = False) -> Schedule:
        await self._write_statement(lambda con: con.execute(
            "INSERT INTO schedules (platform, workspace, channel, local_time, timezone, questions, topic, enabled, "
            "updated_at, typed) VALUES ($1,$2,$3,$4,$5,$6,$7,TRUE,$8,$9) ON CONFLICT (platform, workspace, channel) "
            "DO UPDATE SET local_time = excluded.local_time, timezone = excluded.timezone, "
            "questions = excluded.questions, topic = excluded.topic, enabled = TRUE, updated_at = excluded.updated_at, "
            "typed = excluded.typed",
            channel.platform, channel.workspace, channel.channel_id, local_time, timezone, questions, topic, at,
            typed))
        schedule = await self.schedule_for(channel)
        assert schedule is not None
        return schedule

    async def schedule_for(self, channel: Channel) -> Schedule | None:
        rows = await self._schedules("WHERE platform = $1 AND workspace = $2 AND channel = $3 AND enabled",
                                     channel.platform, channel.workspace, channel.channel_id)
        return rows[0] if rows else None

    async def disable_schedule(self, channel: Channel) -> bool:
        status = await self._write_statement(lambda con: con.execute(
            "UPDATE schedules SET enabled = FALSE WHERE platform = $1 AND workspace = $2 AND channel = $3 AND enabled",
            channel.platform, channel.workspace, channel.channel_id))
        return _count(status) == 1

    async def schedules(self) -> list[Schedule]:
        return await self._schedules("WHERE enabled")

    async def _schedules(self, where: str, *params: object) -> list[Schedule]:
        rows = await self._read(lambda con: con.fetch(
            "SELECT id, platform, workspace, channel, local_time, timezone, questions, topic, updated_at, enabled, "
            f"typed FROM schedules {where} ORDER BY id", *params))
        return [Schedule(r[0], Channel(r[1], r[2], r[3]), r[4], r[5], r[6], r[7], r[8], r[9], r[10]) for r in rows]

    async def claim_fire(self, schedule_id: int, local_date: date, at: datetime, status: str) -> bool:
        async with self.unit() as unit:
            return await unit.claim_fire(schedule_id, local_date, at, status)

    # Spaced repetition

    async def review_cards(self, learner: Learner, card_ids: Collection[str]) -> dict[str, ReviewCard]:
        if not card_ids:
            return {}
        return await self._read(lambda con: _review_cards(con, learner, card_ids))

    async def next_review(self, learner: Learner, now: datetime, reviews: bool, new: bool,
                          skip: Collection[str] = ()) -> ReviewCard | None:
        for wanted, sql in ((reviews, "reps > 0 AND due <= $4 AND NOT (card_id = ANY($5)) ORDER BY due"),
                            (new, "reps = 0 AND due <= $4 AND NOT (card_id = ANY($5)) ORDER BY added_at, card_id")):
            if not wanted:
                continue
            query = f"SELECT {_REVIEW_COLUMNS} FROM review_cards WHERE {_LEARNER} AND {sql} LIMIT 1"
            row = await self._read(_fetchrow(query, *_who(learner), now, sorted(skip)))
            if row is not None:
                return _review_card(row)
        return None

    async def add_review_cards(self, learner: Learner, cards: Sequence[tuple[str, str]], at: datetime) -> int:
        rows = await self._write_statement(lambda con: con.fetch(
            f"INSERT INTO review_cards ({_REVIEW_COLUMNS}) SELECT $1, $2, $3, c, s, $4, 0, 0, $4 "
            "FROM unnest($5::text[], $6::text[]) AS t(c, s) ON CONFLICT DO NOTHING RETURNING card_id",
            *_who(learner), at, [c for c, _ in cards], [st for _, st in cards]))
        return len(rows)

    async def review_due_counts(self, learner: Learner, until: Sequence[datetime]) -> list[int]:
        query = f"SELECT COUNT(*) FROM review_cards WHERE {_LEARNER} AND due <= $4"
        return [int(await self._read(_fetchval(query, *_who(learner), t))) for t in until]

    async def review_log(self, learner: Learner, since: datetime | None = None) -> list[ReviewEntry]:
        rows = await self._read(lambda con: con.fetch(
            f"SELECT {_LOG_COLUMNS} FROM review_log WHERE {_LEARNER} AND ($4::timestamptz IS NULL OR "
            "reviewed_at >= $4) ORDER BY reviewed_at, id", *_who(learner), since))
        return [_review_entry(r) for r in rows]

    async def save_reminder(self, learner: Learner, local_time: str, timezone: str, at: datetime) -> Reminder:
        await self._write_statement(lambda con: con.execute(
            "INSERT INTO review_reminders (platform, workspace, user_id, local_time, timezone, enabled, updated_at) "
            "VALUES ($1,$2,$3,$4,$5,TRUE,$6) ON CONFLICT (platform, workspace, user_id) DO UPDATE SET "
            "local_time = excluded.local_time, timezone = excluded.timezone, enabled = TRUE, "
            "updated_at = excluded.updated_at", *_who(learner), local_time, timezone, at))
        reminder = await self.reminder_for(learner)
        assert reminder is not None
        return reminder

    async def reminder_for(self, learner: Learner) -> Reminder | None:
        rows = await self._reminders(f"WHERE {_LEARNER} AND enabled", *_who(learner))
        return rows[0] if rows else None

    async def disable_reminder(self, learner: Learner) -> bool:
        status = await self._write_statement(lambda con: con.execute(
            f"UPDATE review_reminders SET enabled = FALSE WHERE {_LEARNER} AND enabled", *_who(learner)))
        return _count(status) == 1

    async def reminders(self) -> list[Reminder]:
        return await self._reminders("WHERE enabled")

    async def _reminders(self, where: str, *params: object) -> list[Reminder]:
        rows = await self._read(lambda con: con.fetch(
            "SELECT id, platform, workspace, user_id, local_time, timezone, updated_at FROM review_reminders "
            f"{where} ORDER BY id", *params))
        return [Reminder(r[0], Learner(r[1], r[2], r[3]), r[4], r[5], r[6]) for r in rows]

    async def claim_reminder(self, reminder_id: int, local_date: date, at: datetime, status: str) -> bool:
        async with self.unit() as unit:
            return await unit.claim_reminder(reminder_id, local_date, at, status)

    # Workspaces and gaps

    async def workspace_timezone(self, platform: str, workspace: str) -> str | None:
        value = await self._read(lambda con: con.fetchval(
            "SELECT timezone FROM workspaces WHERE platform = $1 AND workspace = $2", platform, workspace))
        return str(value) if value is not None else None

    async def set_workspace_timezone(self, platform: str, workspace: str, timezone: str) -> None:
        await self._write_statement(lambda con: con.execute(
            "INSERT INTO workspaces (platform, workspace, timezone) VALUES ($1,$2,$3) "
            "ON CONFLICT (platform, workspace) DO UPDATE SET timezone = excluded.timezone",
            platform, workspace, timezone))

    async def record_gap(self, query: str, at: datetime) -> None:
        """Queues the count and returns at once; a background task writes it (a lost count is logged)."""
        self._gaps.put((" ".join(query.casefold().split()), query, at))

    async def _write_gaps(self, batch: list[tuple[str, str, datetime]]) -> None:
        try:
            await self._write(lambda con: _write_gap_batch(con, batch))
        except (StoreError, asyncpg.PostgresError) as exc:
            log.warning("could not record %d unanswered question(s) for `studybot kb gaps`: %s "
                        "(the questions were answered)", len(batch), exc)

    async def gaps(self, limit: int) -> list[tuple[str, int, datetime]]:
        if self._gaps.task is not None:
            await asyncio.shield(self._gaps.task)
        rows = await self._read(lambda con: con.fetch(
            "SELECT query, times, last_asked FROM gaps ORDER BY times DESC, last_asked DESC LIMIT $1", limit))
        return [(r[0], int(r[1]), r[2]) for r in rows]

    # Cooldowns and deliveries seen

    async def use_cooldown(self, key: tuple[str, str, str, str], now: datetime, seconds: float,
                           token: str) -> float:
        # One statement: the row is taken only if the last use is old enough; otherwise its time is read.
        row = await self._write_statement(lambda con: con.fetchrow(
            "WITH taken AS (INSERT INTO cooldowns AS c (platform, workspace, user_id, command, used_at, token) "
            "VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (platform, workspace, user_id, command) DO UPDATE SET "
            "used_at = excluded.used_at, token = excluded.token WHERE c.used_at <= $5 - make_interval(secs => $7) "
            "RETURNING 1) SELECT (SELECT count(*) FROM taken), (SELECT used_at FROM cooldowns WHERE platform = $1 "
            "AND workspace = $2 AND user_id = $3 AND command = $4)", *key, now, token, seconds))
        if row[0]:
            return 0.0
        return max(seconds - (now - row[1]).total_seconds(), 0.001)

    async def release_cooldown(self, key: tuple[str, str, str, str], token: str) -> None:
        await self._write_statement(lambda con: con.execute(
            "DELETE FROM cooldowns WHERE platform = $1 AND workspace = $2 AND user_id = $3 AND command = $4 "
            "AND token = $5", *key, token))

    async def forget_cooldowns(self, before: datetime) -> int:
        status = await self._write_statement(lambda con: con.execute(
            "DELETE FROM cooldowns WHERE used_at < $1", before))
        return _count(status)

    async def first_delivery(self, key: str, now: datetime, remember_seconds: float) -> bool:
        cutoff = now - timedelta(seconds=remember_seconds)
        self._deliveries_seen += 1
        forget = self._deliveries_seen % FORGET_DELIVERIES_EVERY == 0

        async def work(con: asyncpg.Connection) -> str:
            status = await con.execute(
                "INSERT INTO deliveries_seen AS d (key, seen_at) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET "
                "seen_at = excluded.seen_at WHERE d.seen_at < $3", key, now, cutoff)
            if forget:
                await con.execute("DELETE FROM deliveries_seen WHERE seen_at < $1", cutoff)
            return str(status)

        return _count(await (self._write(work) if forget else self._write_statement(work))) == 1

    # The outbox

    async def due_messages(self, now: datetime, platforms: Collection[str],
                           channel: Channel | None = None) -> list[PendingMessage]:
        where, params = f"{_PENDING} AND platform = ANY($2::text[])", [now, sorted(set(platforms))]
        if channel is not None:
            where += " AND platform = $3 AND workspace = $4 AND channel = $5"
            params += [channel.platform, channel.workspace, channel.channel_id]
        sql = (f"SELECT {_PENDING_COLUMNS} FROM outbox WHERE id IN (SELECT MIN(id) FROM outbox WHERE {where} "
               "GROUP BY platform, workspace, channel) AND next_attempt_at <= $1 ORDER BY id")
        rows = await self._read(lambda con: con.fetch(sql, *params))
        return [_pending(r) for r in rows]

    async def next_due(self, platforms: Collection[str]) -> datetime | None:
        value = await self._read(lambda con: con.fetchval(
            f"SELECT MIN(next_attempt_at) FROM outbox WHERE id IN (SELECT MIN(id) FROM outbox WHERE {_PENDING} "
            "AND platform = ANY($1::text[]) GROUP BY platform, workspace, channel)", sorted(set(platforms))))
        return value if isinstance(value, datetime) else None

    async def pending_messages(self, round_id: int | None = None) -> list[PendingMessage]:
        if round_id is None:
            sql, params = f"SELECT {_PENDING_COLUMNS} FROM outbox WHERE {_PENDING} ORDER BY id", []
        else:
            sql = f"SELECT {_PENDING_COLUMNS} FROM outbox WHERE {_PENDING} AND round_id = $1 ORDER BY id"
            params = [round_id]
        return [_pending(r) for r in await self._read(lambda con: con.fetch(sql, *params))]

    async def claim_message(self, outbox_id: int, now: datetime, lease_until: datetime, owner: str) -> bool:
        status = await self._write_statement(lambda con: con.execute(
            f"UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, claimed_by = $4 WHERE id = $2 "
            f"AND {_PENDING} AND next_attempt_at <= $3", lease_until, outbox_id, now, owner))
        return _count(status) == 1

    async def prune_outbox(self, before: datetime) -> int:
        status = await self._write_statement(lambda con: con.execute(
            "DELETE FROM outbox WHERE delivered_at < $1 OR given_up_at < $1", before))
        return _count(status)

    async def release_claims(self, now: datetime, owner: str) -> int:
        """As the protocol says: only for a process that knows every other owner is gone. With several
        processes on one database none can know that, so ``studybot run`` never calls it on PostgreSQL
        (claims of a dead process are taken over when their lease runs out)."""
        status = await self._write_statement(lambda con: con.execute(
            f"UPDATE outbox SET next_attempt_at = $1, claimed_by = NULL WHERE claimed_by IS NOT NULL "
            f"AND claimed_by != $2 AND {_PENDING}", now, owner))
        return _count(status)

    async def round_message_id(self, round_id: int) -> str | None:
        value = await self._read(lambda con: con.fetchval("SELECT message_id FROM rounds WHERE id = $1", round_id))
        return str(value) if value is not None else None

    async def record_delivered(self, outbox_id: int, at: datetime, platform_id: str | None) -> None:
        async def work(con: asyncpg.Connection) -> None:
            row = await con.fetchrow(f"UPDATE outbox SET delivered_at = $1, delivered_id = $2, claimed_by = NULL "
                                     f"WHERE id = $3 AND "
                                     f"{_PENDING} RETURNING purpose, round_id", at, platform_id, outbox_id)
            if row is not None:
                await _settle_round(con, row[0], row[1], at, platform_id)

        await self._write(work)

    async def record_retry(self, outbox_id: int, next_attempt_at: datetime, error: str, owner: str) -> bool:
        status = await self._write_statement(lambda con: con.execute(
            f"UPDATE outbox SET next_attempt_at = $1, last_error = $2, claimed_by = NULL WHERE id = $3 AND {_PENDING} "
            f"AND claimed_by = $4", next_attempt_at, error[:500], outbox_id, owner))
        return _count(status) == 1

    async def record_given_up(self, outbox_id: int, at: datetime, reason: str, owner: str) -> bool:
        async def work(con: asyncpg.Connection) -> bool:
            row = await con.fetchrow(f"UPDATE outbox SET given_up_at = $1, given_up_reason = $2, claimed_by = NULL "
                                     f"WHERE id = $3 AND {_PENDING} AND claimed_by = $4 RETURNING purpose, round_id",
                                     at, reason[:500], outbox_id, owner)
            if row is None:
                return False
            await _settle_round(con, row[0], row[1], at, None)
            return True

        return await self._write(work)


class PostgresUnit:
    """The writes of one unit of work on a :class:`PostgresStore`: one connection, one transaction."""

    def __init__(self, store: PostgresStore, con: asyncpg.Connection) -> None:
        self._store = store
        self._con = con

    async def open_round(self, record: RoundRecord) -> RoundRecord | None:
        c = record.channel
        # ON CONFLICT DO NOTHING (any unique index, here one open quiz per channel): the refusal is a
        # row not returned, not an error that would abort the whole transaction.
        row = await self._con.fetchrow(
            "INSERT INTO rounds (platform, workspace, channel, kind, card_id, opened_at, closes_at, remaining, "
            "seconds, topic, owner_id, schedule_id, local_date, game_id, typed) "
            "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15) "
            f"ON CONFLICT DO NOTHING RETURNING {_ROUND_COLUMNS}",
            c.platform, c.workspace, c.channel_id, record.kind, record.card_id, record.opened_at, record.closes_at,
            record.remaining, record.seconds, record.topic, record.owner_id, record.schedule_id, record.local_date,
            record.game_id, record.typed)
        return _round(row) if row else None

    async def close_round(self, round_id: int, at: datetime, revealed: bool = True) -> bool:
        status = await self._con.execute(
            "UPDATE rounds SET closed_at = $1, revealed_at = $2 WHERE id = $3 AND closed_at IS NULL",
            at, at if revealed else None, round_id)
        return _count(status) == 1

    async def claim_fire(self, schedule_id: int, local_date: date, at: datetime, status: str) -> bool:
        result = await self._con.execute(
            "INSERT INTO fires (schedule_id, local_date, fired_at, status) VALUES ($1,$2,$3,$4) "
            "ON CONFLICT DO NOTHING", schedule_id, local_date, at, status)
        return _count(result) == 1

    async def answers(self, round_id: int) -> list[AnswerRecord]:
        return await _answers(self._con, round_id)

    async def review_cards(self, learner: Learner, card_ids: Collection[str]) -> dict[str, ReviewCard]:
        return await _review_cards(self._con, learner, card_ids) if card_ids else {}

    async def save_review(self, card: ReviewCard, entry: ReviewEntry) -> bool:
        if card.version == 1:
            status = await self._con.execute(
                f"INSERT INTO review_cards AS rc ({_REVIEW_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) "
                "ON CONFLICT (platform, workspace, user_id, card_id) DO UPDATE SET state = excluded.state, "
                "due = excluded.due, reps = excluded.reps, version = excluded.version WHERE rc.version = 0",
                *_who(card.learner), card.card_id, card.state, card.due, card.reps, card.version, card.added_at)
        else:
            status = await self._con.execute(
                "UPDATE review_cards SET state = $4, due = $5, reps = $6, version = $7 WHERE "
                f"{_LEARNER} AND card_id = $8 AND version = $9", *_who(card.learner), card.state, card.due,
                card.reps, card.version, card.card_id, card.version - 1)
        if _count(status) != 1:
            return False
        e = entry
        await self._con.execute(
            f"INSERT INTO review_log ({_LOG_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
            *_who(e.learner), e.card_id, e.rating, e.source, e.reviewed_at, e.first, e.due_before, e.due_after,
            e.stability, e.difficulty)
        return True

    async def claim_reminder(self, reminder_id: int, local_date: date, at: datetime, status: str) -> bool:
        result = await self._con.execute(
            "INSERT INTO reminder_fires (reminder_id, local_date, fired_at, status) VALUES ($1,$2,$3,$4) "
            "ON CONFLICT DO NOTHING", reminder_id, local_date, at, status)
        return _count(result) == 1

    async def day_scores(self, platform: str, workspace: str, schedule_id: int, local_date: date) -> list[ScoreRow]:
        return await _scores(self._con, platform, workspace, None, None, None, (schedule_id, local_date),
                             "r.closed_at IS NOT NULL")

    async def enqueue(self, messages: Sequence[Outgoing], at: datetime) -> list[int]:
        ids = []
        for m in messages:
            c = m.channel
            ids.append(int(await self._con.fetchval(
                "INSERT INTO outbox (platform, workspace, channel, action, purpose, round_id, reply, created_at, "
                "next_attempt_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$8) RETURNING id",
                c.platform, c.workspace, c.channel_id, m.action, m.purpose, m.round_id, m.reply, at)))
        return ids

    async def start_game(self, game: Game) -> Game:
        c = game.channel
        row = await self._con.fetchrow(
            "INSERT INTO games (platform, workspace, channel, started_by, started_by_name, questions, target, typed, "
            f"hints, started_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING {_GAME_COLUMNS}",
            c.platform, c.workspace, c.channel_id, game.started_by, game.started_by_name, game.questions,
            game.target, game.typed, game.hints, game.started_at)
        return _game(row)

    async def end_game(self, game_id: int, at: datetime, by: str | None, reason: str) -> bool:
        status = await self._con.execute(
            "UPDATE games SET ended_at = $1, ended_by = $2, end_reason = $3 WHERE id = $4 AND ended_at IS NULL",
            at, by, reason, game_id)
        return _count(status) == 1

    async def game(self, game_id: int) -> Game | None:
        row = await self._con.fetchrow(f"SELECT {_GAME_COLUMNS} FROM games WHERE id = $1", game_id)
        return _game(row) if row else None

    async def game_open_round(self, game_id: int) -> RoundRecord | None:
        # FOR UPDATE: a stop and the timer's close of the same round wait for each other here.
        row = await self._con.fetchrow(f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE game_id = $1 AND closed_at IS NULL "
                                       "ORDER BY id LIMIT 1 FOR UPDATE", game_id)
        return _round(row) if row else None

    async def game_scores(self, game_id: int) -> list[ScoreRow]:
        game = await self.game(game_id)
        if game is None:
            return []
        return await _scores(self._con, game.channel.platform, game.channel.workspace, None, None, None, None,
                             "r.closed_at IS NOT NULL", game_id)

    async def game_rounds(self, game_id: int) -> int:
        return int(await self._con.fetchval("SELECT COUNT(*) FROM rounds WHERE game_id = $1", game_id))


async def _keep_session(con: asyncpg.Connection) -> None:
    """What the pool does to a connection it takes back, beyond rolling back an open transaction: nothing.

    asyncpg's default sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` on every
    release, one more round trip per statement. This store leaves no session state behind to undo:
    its only advisory lock is transaction-scoped, it listens to nothing, declares no cursors outside
    a transaction, and sets no session settings after connecting.
    """


def _count(status: str) -> int:
    """The row count of a command status such as ``UPDATE 1`` or ``INSERT 0 1``."""
    return int(status.rsplit(" ", 1)[-1])


async def _answers(con: asyncpg.Connection, round_id: int) -> list[AnswerRecord]:
    rows = await con.fetch("SELECT round_id, user_id, display_name, choice, correct, points, answered_at, typed_text "
                           "FROM answers WHERE round_id = $1 ORDER BY answered_at, user_id", round_id)
    return [AnswerRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]


async def _scores(con: asyncpg.Connection, platform: str, workspace: str, since: datetime | None,
                  until: datetime | None, card_ids: Collection[str] | None, daily: tuple[int, date] | None,
                  counted: str, game_id: int | None = None) -> list[ScoreRow]:
    if card_ids is not None and not card_ids:
        return []
    sql = ("SELECT a.user_id, (SELECT b.display_name FROM answers b WHERE b.platform = a.platform "
           "AND b.workspace = a.workspace AND b.user_id = a.user_id ORDER BY b.answered_at DESC LIMIT 1), "
           "SUM(a.points), SUM(a.correct::int), COUNT(*), "
           "COALESCE(MAX(CASE WHEN a.points > 0 THEN a.answered_at END), MIN(a.answered_at)) "
           "FROM answers a JOIN rounds r ON r.id = a.round_id "
           f"WHERE a.platform = $1 AND a.workspace = $2 AND r.kind != 'practice' AND {counted}")
    params: list[object] = [platform, workspace]

    def param(value: object) -> str:
        params.append(value)
        return f"${len(params)}"

    if since is not None:
        sql += f" AND a.answered_at >= {param(since)}"
    if until is not None:
        sql += f" AND a.answered_at < {param(until)}"
    if card_ids is not None:
        sql += f" AND r.card_id = ANY({param(sorted(set(card_ids)))}::text[])"
    if daily is not None:
        sql += f" AND r.kind = 'daily' AND r.schedule_id = {param(daily[0])} AND r.local_date = {param(daily[1])}"
    if game_id is not None:
        sql += f" AND r.game_id = {param(game_id)}"
    sql += " GROUP BY a.platform, a.workspace, a.user_id"
    rows = await con.fetch(sql, *params)
    return [ScoreRow(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), r[5]) for r in rows]


async def _write_gap_batch(con: asyncpg.Connection, batch: list[tuple[str, str, datetime]]) -> None:
    """Counts a batch of gaps and trims the table to ``MAX_GAPS``, in the caller's transaction."""
    merged: dict[str, tuple[str, str, datetime, int]] = {}
    for key, query, at in batch:  # one row per key: ON CONFLICT cannot touch a row twice in one statement
        times = merged[key][3] + 1 if key in merged else 1
        merged[key] = (key, query, at, times)
    await con.executemany(
        "INSERT INTO gaps AS g (query_key, query, times, last_asked) VALUES ($1,$2,$4,$3) "
        "ON CONFLICT (query_key) DO UPDATE SET times = g.times + excluded.times, query = excluded.query, "
        "last_asked = excluded.last_asked", list(merged.values()))
    await con.execute(
        "DELETE FROM gaps WHERE query_key IN (SELECT query_key FROM gaps ORDER BY times > 1, last_asked "
        "LIMIT (SELECT CASE WHEN COUNT(*) > $1 THEN COUNT(*) - $2 ELSE 0 END FROM gaps))",
        MAX_GAPS, MAX_GAPS - MAX_GAPS // 10)


async def _settle_round(con: asyncpg.Connection, purpose: str, round_id: int | None, at: datetime,
                        platform_id: str | None) -> None:
    """As in the SQLite store: a question's id goes on its round; a settled reveal lets its points count."""
    if round_id is None:
        return
    if purpose == "question" and platform_id is not None:
        await con.execute("UPDATE rounds SET message_id = $1 WHERE id = $2", platform_id, round_id)
    elif purpose == "reveal":
        await con.execute("UPDATE rounds SET revealed_at = $1 WHERE id = $2 AND revealed_at IS NULL", at, round_id)


async def _review_cards(con: asyncpg.Connection, learner: Learner, card_ids: Collection[str]) -> dict[str, ReviewCard]:
    rows = await con.fetch(f"SELECT {_REVIEW_COLUMNS} FROM review_cards WHERE {_LEARNER} AND card_id = ANY($4)",
                           *_who(learner), sorted(set(card_ids)))
    return {r[3]: _review_card(r) for r in rows}


def _fetchrow(query: str, *args: Any) -> Callable[[asyncpg.Connection], Awaitable[Any]]:
    """A read for :meth:`PostgresStore._read` (a lambda in a loop would bind the loop's last values)."""
    async def work(con: asyncpg.Connection) -> Any:
        return await con.fetchrow(query, *args)
    return work


def _fetchval(query: str, *args: Any) -> Callable[[asyncpg.Connection], Awaitable[Any]]:
    """A single value, as :func:`_fetchrow`."""
    async def work(con: asyncpg.Connection) -> Any:
        return await con.fetchval(query, *args)
    return work
