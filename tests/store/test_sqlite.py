"""The SQLite store: versioned migrations, WAL and foreign keys, UTC timestamps, gaps, `studybot db upgrade`."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosqlite
import pytest

from bot.cli import main
from bot.core.events import Channel
from bot.store import sqlite as sqlite_store
from bot.store.base import AnswerRecord, Outgoing, RoundRecord
from bot.store.lock import data_folder_lock
from bot.store.migrations import MIGRATIONS
from bot.store.sqlite import SqliteStore, upgrade

DB_FILE = "studybot.sqlite3"  # the file name `studybot run`/`db upgrade` use inside the data directory
CHANNEL = Channel("test", "w1", "c1")
TABLES = {"rounds", "answers", "schedules", "fires", "workspaces", "gaps"}
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def inspect(path: Path) -> tuple[int, set[str], str]:
    """(user_version, table names, journal mode) read with the standard library, beside the store."""
    with sqlite3.connect(path) as db:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    return version, tables, mode


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / DB_FILE)
    yield opened
    await opened.close()


async def revealed_answer(store: SqliteStore, at: datetime, user_id: str = "u1", points: int = 10,
                          card_id: str = "tensorflow/eager-execution/1") -> None:
    """A closed quiz round in CHANNEL with one answer given at ``at``."""
    record = await store.open_round(RoundRecord(0, CHANNEL, "quiz", card_id, at, at + timedelta(seconds=5)))
    assert record is not None
    stored = await store.record_answer(AnswerRecord(record.id, user_id, user_id.upper(), 0, points > 0, points, at),
                                       "test", "w1")
    assert stored
    assert await store.close_round(record.id, at + timedelta(seconds=5))


# Migrations


async def test_opening_applies_every_migration_and_reopening_keeps_the_version(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "data" / DB_FILE  # folders are created
    first = await SqliteStore.open(path)
    await first.save_schedule(CHANNEL, "09:00", "Europe/Berlin", 1, None, NOON)
    await first.close()
    version, tables, _ = inspect(path)
    assert version == len(MIGRATIONS) >= 1
    assert tables >= TABLES

    second = await SqliteStore.open(path)  # the migrations are not run again (they would fail: tables exist)
    try:
        schedule = await second.schedule_for(CHANNEL)
        assert schedule is not None and schedule.timezone == "Europe/Berlin"
    finally:
        await second.close()
    assert inspect(path)[0] == len(MIGRATIONS)


async def test_upgrade_is_idempotent_and_migrates_an_unversioned_file(tmp_path: Path) -> None:
    path = tmp_path / DB_FILE
    sqlite3.connect(path).close()  # an empty file at version 0
    assert inspect(path)[0] == 0
    async with aiosqlite.connect(path) as db:
        assert await upgrade(db) == len(MIGRATIONS)
        assert await upgrade(db) == len(MIGRATIONS)  # nothing pending: no error, same version
        async with db.execute("PRAGMA user_version") as cursor:
            assert (await cursor.fetchone()) == (len(MIGRATIONS),)
    version, tables, _ = inspect(path)
    assert version == len(MIGRATIONS) and tables >= TABLES


# Connection settings


async def test_wal_mode_is_on(store: SqliteStore, tmp_path: Path) -> None:
    assert inspect(tmp_path / DB_FILE)[2] == "wal"  # a property of the file, seen by any connection


async def test_foreign_keys_are_enforced(store: SqliteStore) -> None:
    orphan = AnswerRecord(999, "u1", "U1", 0, True, 10, NOON)
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        await store.record_answer(orphan, "test", "w1")
    # The failed write was rolled back and the store keeps working.
    await revealed_answer(store, NOON)
    assert [r.user_id for r in await store.scores("test", "w1", None, None, None)] == ["u1"]


async def test_one_answer_per_user_and_round(store: SqliteStore) -> None:
    record = await store.open_round(RoundRecord(0, CHANNEL, "quiz", "tensorflow/eager-execution/1", NOON, NOON))
    assert record is not None
    answer = AnswerRecord(record.id, "u1", "U1", 0, True, 10, NOON)
    assert await store.record_answer(answer, "test", "w1") is True
    assert await store.record_answer(answer, "test", "w1") is False
    assert len(await store.answers(record.id)) == 1


@pytest.mark.parametrize("returning", [True, False], ids=["multi-row-returning", "row-by-row"])
async def test_concurrent_answers_are_each_stored_once(store: SqliteStore, monkeypatch: pytest.MonkeyPatch,
                                                       returning: bool) -> None:
    """Both write paths: one multi-row INSERT ... RETURNING, and row by row for SQLite before 3.35."""
    monkeypatch.setattr(sqlite_store, "_HAS_RETURNING", returning)
    record = await store.open_round(RoundRecord(0, CHANNEL, "quiz", "tensorflow/eager-execution/1", NOON, NOON))
    assert record is not None
    presses = [AnswerRecord(record.id, f"u{i % 50}", f"U{i % 50}", 0, True, 10, NOON) for i in range(120)]
    stored = await asyncio.gather(*(store.record_answer(a, "test", "w1") for a in presses))
    assert stored == [True] * 50 + [False] * 70  # each user's first press counts, the rest are refused
    assert len(await store.answers(record.id)) == 50


async def test_a_cancelled_press_does_not_strand_the_others_in_its_batch(store: SqliteStore) -> None:
    record = await store.open_round(RoundRecord(0, CHANNEL, "quiz", "tensorflow/eager-execution/1", NOON, NOON))
    assert record is not None
    tasks = [asyncio.create_task(store.record_answer(AnswerRecord(record.id, f"u{i}", "U", 0, True, 10, NOON),
                                                     "test", "w1")) for i in range(20)]
    await asyncio.sleep(0)  # every press has queued its answer; the writer has started
    tasks[0].cancel()
    # A stranded batch would wait forever; the timeout only turns that hang into a failure.
    results = await asyncio.wait_for(asyncio.gather(*tasks[1:]), timeout=10)
    assert results == [True] * 19
    assert len(await store.answers(record.id)) == 20  # the cancelled caller's answer was already taken


# Time and scores


async def test_local_zone_bounds_compare_as_instants(store: SqliteStore) -> None:
    """Bounds in a workspace's zone select by instant, not by the text of the local time."""
    await revealed_answer(store, datetime(2026, 3, 1, 23, 30, tzinfo=UTC))  # 00:30 on 2 March in Berlin
    berlin = ZoneInfo("Europe/Berlin")
    march_2 = datetime(2026, 3, 2, tzinfo=berlin), datetime(2026, 3, 3, tzinfo=berlin)
    march_1 = datetime(2026, 3, 1, tzinfo=berlin), datetime(2026, 3, 2, tzinfo=berlin)
    assert [r.user_id for r in await store.scores("test", "w1", *march_2, None)] == ["u1"]
    assert await store.scores("test", "w1", *march_1, None) == []


async def test_times_are_stored_in_utc(store: SqliteStore, tmp_path: Path) -> None:
    tokyo = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    await revealed_answer(store, tokyo)
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        [(answered_at,)] = db.execute("SELECT answered_at FROM answers").fetchall()
    assert answered_at == "2026-03-02T00:00:00+00:00"


async def test_scores_filter_by_card_and_say_when_each_user_reached_the_score(store: SqliteStore) -> None:
    await revealed_answer(store, NOON, "u1", card_id="d/a/1")
    await revealed_answer(store, NOON + timedelta(minutes=1), "u1", points=0, card_id="d/b/1")
    await revealed_answer(store, NOON + timedelta(minutes=2), "u2", points=0, card_id="d/b/1")
    await revealed_answer(store, NOON + timedelta(minutes=3), "u2", points=0, card_id="d/a/1")
    rows = {r.user_id: r for r in await store.scores("test", "w1", None, None, None)}
    assert (rows["u1"].points, rows["u1"].correct, rows["u1"].answered) == (10, 1, 2)
    assert rows["u1"].reached_at == NOON  # the last answer that scored, not the last answer
    assert rows["u2"].reached_at == NOON + timedelta(minutes=2)  # no points: the first answer
    only_a = await store.scores("test", "w1", None, None, {"d/a/1"})
    assert {(r.user_id, r.answered) for r in only_a} == {("u1", 1), ("u2", 1)}
    assert await store.scores("test", "w1", None, None, set()) == []


async def test_open_rounds_do_not_count_towards_scores(store: SqliteStore) -> None:
    record = await store.open_round(RoundRecord(0, CHANNEL, "quiz", "d/a/1", NOON, NOON + timedelta(seconds=60)))
    assert record is not None
    await store.record_answer(AnswerRecord(record.id, "u1", "U1", 0, True, 10, NOON), "test", "w1")
    assert await store.scores("test", "w1", None, None, None) == []
    await store.close_round(record.id, NOON + timedelta(seconds=60))
    assert [r.points for r in await store.scores("test", "w1", None, None, None)] == [10]


# Gaps


async def test_gaps_most_asked_first_then_most_recent(store: SqliteStore) -> None:
    asked = ["what is kubernetes", "center a div", "CENTER  a div", "what is rust", "center a div",
             "'; DROP TABLE gaps; --", "what is rust"]
    for minute, query in enumerate(asked):
        await store.record_gap(query, NOON + timedelta(minutes=minute))
    gaps = await store.gaps(10)
    assert [(q, n) for q, n, _ in gaps] == [("center a div", 3), ("what is rust", 2),
                                           ("'; DROP TABLE gaps; --", 1), ("what is kubernetes", 1)]
    assert gaps[0][2] == NOON + timedelta(minutes=4)
    assert len(await store.gaps(2)) == 2


async def test_gaps_are_capped_dropping_one_off_questions_oldest_first(store: SqliteStore,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_store, "MAX_GAPS", 4)
    asked = ["old favourite", "old favourite", "one-off 1", "one-off 2", "one-off 3", "one-off 4", "one-off 5"]
    for minute, query in enumerate(asked):
        await store.record_gap(query, NOON + timedelta(minutes=minute))
    assert [q for q, _, _ in await store.gaps(10)] == ["old favourite", "one-off 5", "one-off 4", "one-off 3"]
    async with store._db.execute("SELECT COUNT(*) FROM gaps") as cursor:
        assert (await cursor.fetchone()) == (4,)


async def test_flush_writes_queued_gaps_too(store: SqliteStore, tmp_path: Path) -> None:
    await store.record_gap("what is rust", NOON)
    await store.flush()  # what shutdown drains through
    with sqlite3.connect(tmp_path / DB_FILE) as other:
        assert other.execute("SELECT query, times FROM gaps").fetchall() == [("what is rust", 1)]


# The command line


def test_db_upgrade_creates_the_file_and_running_it_again_keeps_it(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert main(["db", "upgrade", "--data-dir", str(data)]) == 0
    path = data / DB_FILE
    assert capsys.readouterr().out == f"Database {path} is up to date.\n"
    version, tables, mode = inspect(path)
    assert version == len(MIGRATIONS) and tables >= TABLES and mode == "wal"
    assert main(["db", "upgrade", "--data-dir", str(data)]) == 0
    assert inspect(path)[0] == len(MIGRATIONS)


def test_db_upgrade_beside_a_running_bot_says_not_upgraded_and_what_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    with data_folder_lock(data):  # what a running `studybot run` holds
        assert main(["db", "upgrade", "--data-dir", str(data)]) == 1
    assert capsys.readouterr().err == (
        f"Not upgraded: StudyBot is running on the data folder {data} (pid {os.getpid()}) and applied the "
        "migrations when it started; to upgrade, stop it first, then run `studybot db upgrade` again\n")


def test_db_upgrade_migrates_an_unversioned_file(tmp_path: Path) -> None:
    path = tmp_path / DB_FILE
    sqlite3.connect(path).close()
    assert main(["db", "upgrade", "--data-dir", str(tmp_path)]) == 0
    assert inspect(path)[0] == len(MIGRATIONS)


def test_a_database_from_a_newer_studybot_is_refused_untouched(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / DB_FILE
    newer = len(MIGRATIONS) + 1
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {newer}")
    assert main(["db", "upgrade", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"Database error: the database schema is version {newer}, newer than this StudyBot knows" in err
    assert inspect(path)[0] == newer and not inspect(path)[1]  # no table created, version kept


def test_kb_gaps_lists_the_recorded_questions_most_asked_first(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    async def record() -> None:
        store = await SqliteStore.open(tmp_path / DB_FILE)
        for minute, query in enumerate(["what is rust", "center a div", "center a div"]):
            await store.record_gap(query, NOON + timedelta(minutes=minute))
        await store.close()

    assert main(["kb", "gaps", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "No unanswered questions recorded yet.\n"
    asyncio.run(record())
    assert main(["kb", "gaps", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["    2  2026-03-02T12:02+00:00  center a div",
                                                    "    1  2026-03-02T12:00+00:00  what is rust"]


# Units of work and the outbox


async def test_a_failed_unit_rolls_back_only_its_own_writes(store: SqliteStore) -> None:
    """Coroutines share one connection: another's write while a unit is open must neither join the
    unit's transaction (and vanish in its rollback) nor be lost."""
    started = asyncio.Event()

    async def failing_unit() -> None:
        async with store.unit() as unit:
            assert await unit.open_round(RoundRecord(0, CHANNEL, "quiz", "d/a/1", NOON, NOON))
            started.set()
            for _ in range(5):
                await asyncio.sleep(0)  # the other coroutine runs meanwhile
            raise RuntimeError("the platform's reply could not be built")

    async def other_writer() -> None:
        await started.wait()
        await store.set_workspace_timezone("test", "w1", "Europe/Berlin")
        await store.record_gap("what is a tensor", NOON)

    results = await asyncio.gather(failing_unit(), other_writer(), return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and results[1] is None
    assert await store.open_rounds() == []
    assert await store.workspace_timezone("test", "w1") == "Europe/Berlin"
    assert [g[0] for g in await store.gaps(5)] == ["what is a tensor"]


async def test_a_refused_round_inside_a_unit_keeps_the_rest_of_the_unit(store: SqliteStore) -> None:
    first = await store.open_round(RoundRecord(0, CHANNEL, "quiz", "d/a/1", NOON, NOON))
    assert first is not None
    async with store.unit() as unit:
        assert await unit.open_round(RoundRecord(0, CHANNEL, "quiz", "d/a/2", NOON, NOON)) is None  # one per channel
        [ids] = [await unit.enqueue([Outgoing(CHANNEL, "post", "daily-intro", "{}")], NOON)]
    assert [m.id for m in await store.pending_messages()] == ids


async def test_the_outbox_offers_each_channel_its_oldest_pending_message_only(store: SqliteStore) -> None:
    other = Channel("test", "w1", "c2")
    record = await store.open_round(RoundRecord(0, CHANNEL, "quiz", "d/a/1", NOON, NOON))
    assert record is not None
    async with store.unit() as unit:
        q, edit, reveal = await unit.enqueue([Outgoing(CHANNEL, "post", "question", "{}", record.id),
                                             Outgoing(CHANNEL, "edit", "closed-question", "{}", record.id),
                                             Outgoing(CHANNEL, "post", "reveal", "{}", record.id)], NOON)
        [elsewhere] = await unit.enqueue([Outgoing(other, "post", "daily-intro", "{}")], NOON)
    assert [m.id for m in await store.due_messages(NOON, ["test"])] == [q, elsewhere]
    assert await store.due_messages(NOON, ["discord"]) == []
    # Claimed: not due again until its lease ends, and nothing behind it in its channel overtakes it.
    assert await store.claim_message(q, NOON, NOON + timedelta(seconds=60), "process-1")
    assert not await store.claim_message(q, NOON, NOON + timedelta(seconds=60), "process-2")
    assert [m.id for m in await store.due_messages(NOON, ["test"])] == [elsewhere]
    # The process that holds the data folder knows process-1 is gone: its attempt is due again at once.
    assert await store.release_claims(NOON, "process-1") == 0  # its own claims stay
    assert await store.release_claims(NOON, "process-2") == 1
    assert [m.id for m in await store.due_messages(NOON, ["test"])] == [q, elsewhere]
    assert await store.claim_message(q, NOON, NOON + timedelta(seconds=60), "process-2")
    assert await store.next_due(["test"]) == NOON
    await store.record_delivered(q, NOON, "m1")
    assert await store.round_message_id(record.id) == "m1"
    assert [m.id for m in await store.due_messages(NOON, ["test"], CHANNEL)] == [edit]
    assert await store.claim_message(edit, NOON, NOON + timedelta(seconds=60), "process-2")
    assert await store.record_given_up(edit, NOON, "message deleted", "process-2")
    assert not await store.record_given_up(edit, NOON, "message deleted", "process-2")  # once
    assert await store.claim_message(reveal, NOON, NOON + timedelta(seconds=60), "process-2")
    assert await store.record_retry(reveal, NOON + timedelta(seconds=5), "HTTP 503", "process-2")
    assert await store.due_messages(NOON, ["test"], CHANNEL) == []
    assert await store.next_due(["test"]) == NOON  # the other channel's message is still due
    assert (await store.get_round(record.id)).revealed_at is None  # type: ignore[union-attr]
    await store.record_delivered(reveal, NOON + timedelta(seconds=5), "m2")
    assert (await store.get_round(record.id)).revealed_at == NOON + timedelta(seconds=5)  # type: ignore[union-attr]


async def test_a_closed_round_counts_once_its_reveal_is_out(store: SqliteStore) -> None:
    record = await store.open_round(RoundRecord(0, CHANNEL, "quiz", "d/a/1", NOON, NOON + timedelta(seconds=60)))
    assert record is not None
    await store.record_answer(AnswerRecord(record.id, "u1", "Ann", 0, True, 10, NOON), "test", "w1")
    async with store.unit() as unit:
        assert await unit.close_round(record.id, NOON + timedelta(seconds=60), revealed=False)
        [reveal] = await unit.enqueue([Outgoing(CHANNEL, "post", "reveal", "{}", record.id)], NOON)
    assert await store.scores("test", "w1", None, None, None) == []
    assert await store.user_answers("test", "w1", "u1") == []
    await store.record_delivered(reveal, NOON + timedelta(seconds=61), "m9")
    [row] = await store.scores("test", "w1", None, None, None)
    assert row.points == 10 and len(await store.user_answers("test", "w1", "u1")) == 1


def test_rounds_closed_before_the_outbox_count_as_revealed(tmp_path: Path) -> None:
    path = tmp_path / DB_FILE
    with sqlite3.connect(path) as db:
        db.executescript(f"BEGIN; {MIGRATIONS[0]}; {MIGRATIONS[1]}; PRAGMA user_version = 2; COMMIT;")
        db.execute("INSERT INTO rounds (platform, workspace, channel, kind, card_id, opened_at, closes_at, closed_at, "
                   "seconds) VALUES ('test', 'w1', 'c1', 'quiz', 'd/a/1', ?, ?, ?, 60)",
                   (NOON.isoformat(), NOON.isoformat(), NOON.isoformat()))
    asyncio.run(_upgrade(path))
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT revealed_at FROM rounds").fetchone()[0] == NOON.isoformat()


async def _upgrade(path: Path) -> None:
    store = await SqliteStore.open(path)
    await store.close()


async def test_settled_outbox_messages_are_forgotten_after_a_while(store: SqliteStore) -> None:
    record = await store.open_round(RoundRecord(0, CHANNEL, "quiz", "d/a/1", NOON, NOON))
    assert record is not None
    async with store.unit() as unit:
        old, refused, pending = await unit.enqueue([Outgoing(CHANNEL, "post", "question", "{}", record.id),
                                                    Outgoing(CHANNEL, "post", "reveal", "{}", record.id),
                                                    Outgoing(CHANNEL, "post", "daily-intro", "{}")], NOON)
    await store.record_delivered(old, NOON, "m1")
    assert await store.claim_message(refused, NOON, NOON + timedelta(seconds=60), "me")
    assert await store.record_given_up(refused, NOON + timedelta(days=1), "gone", "me")
    assert await store.prune_outbox(NOON + timedelta(hours=1)) == 1
    assert await store.round_message_id(record.id) == "m1"  # the round keeps where its question is
    assert await store.prune_outbox(NOON + timedelta(days=2)) == 1
    assert [m.id for m in await store.pending_messages()] == [pending]  # pending ones are never pruned
