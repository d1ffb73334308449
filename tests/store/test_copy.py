"""``studybot db copy``: SQLite to PostgreSQL and back, every row kept, verified, never into a database with data."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.chat import Channel
from bot.cli import main
from bot.store.base import AnswerRecord, Outgoing, RoundRecord
from bot.store.sqlite import SqliteStore
from tests.postgres_server import PostgresServer

CHANNEL = Channel("slack", "T1", "C1")
NOON = datetime(2026, 3, 2, 12, 0, 0, 123456, tzinfo=UTC)
TABLES = ("schedules", "rounds", "answers", "fires", "workspaces", "gaps", "outbox", "cooldowns", "deliveries_seen")


async def fill(path: Path) -> None:
    """An installation with a row in every table, NULLs, microseconds, dates, booleans and quotes."""
    store = await SqliteStore.open(path)
    try:
        schedule = await store.save_schedule(CHANNEL, "09:00", "Europe/Berlin", 2, "keras", NOON)
        await store.claim_fire(schedule.id, date(2026, 3, 2), NOON, "posted")
        for i in range(3):
            record = await store.open_round(RoundRecord(0, CHANNEL, "daily" if i else "quiz", f"d/e{i}/1",
                                                        NOON + timedelta(minutes=i), NOON + timedelta(minutes=i + 1),
                                                        schedule_id=schedule.id if i else None,
                                                        local_date=date(2026, 3, 2) if i else None))
            assert record is not None
            for u in range(4):
                await store.record_answer(AnswerRecord(record.id, f"U{u}", f"O'Brien \"{u}\"", u % 2, u == 0,
                                                       10 if u == 0 else 0, NOON + timedelta(seconds=u)), "slack", "T1")
            if i < 2:
                async with store.unit() as unit:
                    await unit.close_round(record.id, NOON + timedelta(minutes=5), revealed=False)
                    await unit.enqueue([Outgoing(CHANNEL, "post", "reveal", '{"body": "é ✓"}', record.id)], NOON)
        [first, _] = await store.pending_messages()
        await store.record_delivered(first.id, NOON + timedelta(minutes=6), "1767000000.000001")
        await store.set_workspace_timezone("slack", "T1", "Europe/Berlin")
        await store.record_gap("what is a payload?", NOON)
        await store.use_cooldown(("slack", "T1", "U1", "ask"), NOON, 3, "tok")
        await store.first_delivery("event:Ev1", NOON, 900)
        await store.flush()
    finally:
        await store.close()


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(path) as db:
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}


def test_a_copy_to_postgresql_and_back_keeps_every_row(postgres_server: PostgresServer, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    original, back = tmp_path / "original.sqlite3", tmp_path / "back.sqlite3"
    asyncio.run(fill(original))
    url = postgres_server.fresh_database(migrated=False)
    assert main(["db", "copy", str(original), url]) == 0
    out = capsys.readouterr().out
    assert "rounds                   3 rows" in out and "answers                 12 rows" in out
    assert out.strip().endswith("counts and checksums verified.")
    assert main(["db", "copy", url, str(back)]) == 0
    assert dump(back) == dump(original)  # byte for byte, through PostgreSQL's types and back

    # The copy is a working database: new ids come after the copied ones.
    async def next_round_id() -> int:
        from bot.store.postgres import PostgresStore

        store = await PostgresStore.open(url, pool_size=1)
        try:
            record = await store.open_round(RoundRecord(0, Channel("slack", "T1", "C9"), "quiz", "d/x/1", NOON, NOON))
            assert record is not None
            points = {r.user_id: (r.points, r.answered) for r in await store.scores("slack", "T1", None, None, None)}
            # Only the round whose reveal was delivered counts (revealed_at came across).
            assert points == {"U0": (10, 1), "U1": (0, 1), "U2": (0, 1), "U3": (0, 1)}
            return record.id
        finally:
            await store.close()

    assert asyncio.run(next_round_id()) == 4


def test_a_copy_into_a_database_with_data_is_refused_and_changes_nothing(postgres_server: PostgresServer,
                                                                        tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    original, other = tmp_path / "original.sqlite3", tmp_path / "other.sqlite3"
    asyncio.run(fill(original))
    asyncio.run(fill(other))
    before = dump(other)
    assert main(["db", "copy", str(original), str(other)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Database error: {other} already holds data (schedules (1 rows), rounds (3 rows)")
    assert "never merges" in err
    assert dump(other) == before
    url = postgres_server.fresh_database(migrated=False)
    assert main(["db", "copy", str(original), url]) == 0
    assert main(["db", "copy", str(original), url]) == 1  # now it holds data
    assert "already holds data" in capsys.readouterr().err
