"""Game control on PostgreSQL, where a stop and the timer run in two transactions at once."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import asyncpg

from bot.config import Config
from bot.core.app import StudyBot
from bot.kb.library import load_library
from bot.store.postgres import PostgresStore
from tests.clock import FakeClock
from tests.core.fakes import RecordingOutbox, command, user

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ALICE = user("alice")


async def _wait_for_a_lock_wait(url: str) -> None:
    """Until some statement on the database waits for a row lock (bounded: 10 s)."""
    con = await asyncpg.connect(url)
    try:
        for _ in range(1000):
            if await con.fetchval("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                  "AND datname = current_database()"):
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the stop never waited for the timer's lock")
    finally:
        await con.close()


async def test_a_stop_while_the_timer_opens_the_next_question_closes_that_question(postgres_url: str) -> None:
    store = await PostgresStore.open(postgres_url, pool_size=4)
    timer = await PostgresStore.open(postgres_url, pool_size=2)  # another process's timer
    try:
        bot = StudyBot(load_library(), store, Config(), clock=FakeClock(NOON), rng=random.Random(1))
        outbox = RecordingOutbox()
        bot.attach("test", outbox)
        await bot.start()
        await bot.handle_command(command("quiz questions 3 seconds 10", ALICE))
        [first] = bot.quiz.open.values()
        async with timer.unit() as unit:  # the timer's close of the first question, and the second opened
            assert await unit.close_round(first.id, NOON + timedelta(seconds=10))
            second = await unit.open_round(bot.quiz.new_round(
                first.channel, "quiz", bot.library.card(first.card_id), 10, 1, game_id=first.game_id))  # type: ignore[arg-type]
            assert second is not None
            stopping = asyncio.create_task(bot.handle_command(command("quiz stop", ALICE)))
            await _wait_for_a_lock_wait(postgres_url)  # the stop waits on the first question's row
        [ack] = await asyncio.wait_for(stopping, 10)
        assert ack.body == "Quiz stopped: the answer and the results are posted."
        closed = await store.get_round(second.id)
        assert closed is not None and closed.closed_at is not None
        assert (await store.open_rounds()) == []
        titles = [reply.title or "" for _, reply, _ in outbox.posts]
        assert titles[-2].startswith("Answer: ") and titles[-1] == "Quiz results"  # the second one's reveal
    finally:
        await timer.close()
        await store.close()
