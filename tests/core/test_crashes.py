"""kill -9 at every step: a quiz and a daily challenge are crashed at each write to the store and
right after each message the platform took, then a fresh StudyBot opens the same file.

After the restart everything is delivered, in order, and nothing twice, except the one
documented window: the platform took a message but the process died before its id was recorded
(that message is sent again when the process restarts: at least once).

A crash is a BaseException raised at step k: nothing in the bot catches it, so nothing after it
runs, and the transaction it interrupts is rolled back, as SQLite does for a killed process.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config, DailySection, DeliverySection
from bot.core.app import StudyBot
from bot.core.events import Channel
from bot.core.replies import reply_to_json
from bot.store.base import StoreUnit
from bot.store.sqlite import SqliteStore
from tests.clock import FakeClock
from tests.core.fakes import OPEN_STORES, command, library
from tests.core.test_delivery import ALICE, FlakyPlatform, answer_new_questions

CONFIG = Config(delivery=DeliverySection(lease_seconds=60), daily=DailySection(open_hours=0.02, check_seconds=1))
DAILY_CHANNEL = Channel("test", "w1", "c2")
STORE_WRITES = ("open_round", "close_round", "record_answer", "claim_fire", "claim_message", "record_delivered",
                "record_retry", "record_given_up")
UNIT_WRITES = ("open_round", "close_round", "claim_fire", "enqueue", "start_game", "end_game")
# Crash points between "the platform took the message" and "its delivery is recorded": at least once.
WINDOW = ("platform took a message", "record_delivered")


class Crash(BaseException):
    """kill -9: raised at the chosen step, caught by nothing in the bot."""


@dataclass
class Steps:
    """Counts steps and crashes at step ``crash_at``; remembers where."""

    crash_at: int
    count: int = 0
    where: str = ""

    def step(self, what: str) -> None:
        self.count += 1
        if self.count == self.crash_at:
            self.where = what
            raise Crash(what)


class CrashingUnit:
    def __init__(self, inner: StoreUnit, steps: Steps) -> None:
        self._inner, self._steps = inner, steps

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in UNIT_WRITES:
            return attr

        async def write(*args: Any, **kwargs: Any) -> Any:
            self._steps.step(f"unit.{name}")
            return await attr(*args, **kwargs)
        return write


class CrashingStore:
    """The real store with a crash point before every write (and before each unit's commit)."""

    def __init__(self, inner: SqliteStore, steps: Steps) -> None:
        self._inner, self._steps = inner, steps

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in STORE_WRITES:
            return attr

        async def write(*args: Any, **kwargs: Any) -> Any:
            self._steps.step(name)
            return await attr(*args, **kwargs)
        return write

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[CrashingUnit]:
        async with self._inner.unit() as unit:
            yield CrashingUnit(unit, self._steps)
            self._steps.step("commit")


Scenario = Callable[[StudyBot, FlakyPlatform, FakeClock, set[str]], Awaitable[None]]


async def quiz(bot: StudyBot, platform: FlakyPlatform, clock: FakeClock, answered: set[str]) -> None:
    """A 2-question quiz, answered by two people, run to its end."""
    await bot.handle_command(command("quiz questions 2 seconds 10", ALICE))
    await settle(bot, platform, clock, answered)


async def stopped(bot: StudyBot, platform: FlakyPlatform, clock: FakeClock, answered: set[str]) -> None:
    """A 3-question quiz whose first question is answered, then stopped by its starter."""
    await bot.handle_command(command("quiz questions 3 seconds 10", ALICE))
    await bot.delivery.flush()
    await answer_new_questions(bot, platform, answered)
    await bot.handle_command(command("quiz stop", ALICE))
    await settle(bot, platform, clock, answered)


async def daily(bot: StudyBot, platform: FlakyPlatform, clock: FakeClock, answered: set[str]) -> None:
    """A 2-question daily challenge fires, is answered, closes, and posts the day's results."""
    clock.set(datetime(2026, 3, 2, 9, 0, 1, tzinfo=UTC))
    await settle(bot, platform, clock, answered)


async def settle(bot: StudyBot, platform: FlakyPlatform, clock: FakeClock, answered: set[str]) -> None:
    """Ticks (answering new questions) until nothing is open or pending."""
    for _ in range(60):
        await answer_new_questions(bot, platform, answered)
        clock.advance(seconds=7)
        await bot.tick()
        if not bot.quiz.open and not await bot.store.pending_messages():
            return


async def start(path: Path, platform: FlakyPlatform, clock: FakeClock, steps: Steps | None,
                owns_data_folder: bool = False) -> StudyBot:
    inner = await SqliteStore.open(path)
    OPEN_STORES.append(inner)
    store: Any = CrashingStore(inner, steps) if steps else inner
    bot = StudyBot(library(), store, CONFIG, clock=clock, rng=random.Random(7))
    bot.delivery.rng = random.Random(8)
    bot.attach("test", platform)
    await bot.start(owns_data_folder)
    return bot


async def run_with_crash(tmp_path: Path, scenario: Scenario, crash_at: int) -> tuple[Steps, FlakyPlatform, StudyBot]:
    """Runs ``scenario`` with a crash at step ``crash_at``, then restarts on the same file and settles."""
    path = tmp_path / f"crash{crash_at}.sqlite3"
    clock = FakeClock(datetime(2026, 3, 2, 8, 59, tzinfo=UTC))
    steps = Steps(crash_at)
    platform = FlakyPlatform()
    platform.after_effect = lambda: steps.step("platform took a message")
    bot = await start(path, platform, clock, steps)
    if scenario is daily:
        await bot.store.save_schedule(DAILY_CHANNEL, "09:00", "UTC", 2, None, clock.now())
        steps.count = 0  # set-up, not a step
    answered: set[str] = set()
    with suppress(Crash):
        await scenario(bot, platform, clock, answered)
    platform.after_effect = None
    await _abandon(bot)
    # The restarted process: same file, same platform, no crashes. It holds the data folder (as
    # `studybot run` does), so an attempt cut off by the crash is retried at once, not after its lease.
    clock.advance(seconds=1)
    bot2 = await start(path, platform, clock, None, owns_data_folder=True)
    await settle(bot2, platform, clock, answered)
    return steps, platform, bot2


async def _abandon(bot: StudyBot) -> None:
    """What kill -9 leaves: the file as last committed. The connection is closed only so no thread lingers."""
    inner = bot.store._inner if isinstance(bot.store, CrashingStore) else bot.store  # type: ignore[attr-defined]
    OPEN_STORES.remove(inner)
    await inner.close()


async def check(bot: StudyBot, platform: FlakyPlatform, steps: Steps) -> list[str]:
    """Every outbox message delivered; the platform saw each once, in order, except the crash window;
    every round revealed, and the leaderboard holds exactly the stored answers' points.
    Returns the purposes of the outbox's messages, in order, and closes the bot's store."""
    store = bot.store
    assert isinstance(store, SqliteStore)
    try:
        db = store._db
        rows = await db.execute_fetchall(
            "SELECT id, action, reply, delivered_at, given_up_at, purpose FROM outbox ORDER BY id")
        rounds = await db.execute_fetchall("SELECT id, closed_at, revealed_at FROM rounds")
        [(stored,)] = await db.execute_fetchall(
            "SELECT COALESCE(SUM(points), 0) FROM answers WHERE user_id = ?", (ALICE.user_id,))
        board = sum(r.points for r in await store.scores("test", "w1", None, None, None) if r.user_id == ALICE.user_id)
    finally:
        OPEN_STORES.remove(store)
        await store.close()
    assert all(r[3] is not None and r[4] is None for r in rows), (steps, rows)
    assert all(r[1] is not None and r[2] is not None for r in rounds), (steps, rounds)
    assert board == stored, steps
    expected = [(str(r[1]), str(r[2])) for r in rows]
    seen = [(action, reply_to_json(reply)) for action, _, reply in platform.log]
    if steps.where in WINDOW:
        # The one duplicate allowed: the message the platform took just before the crash comes again.
        dup = next(i for i in range(len(seen) - 1) if seen[i] == seen[i + 1])
        seen.pop(dup)
    assert seen == expected, steps
    return [str(r[5]) for r in rows]


async def scenario_steps(tmp_path: Path, scenario: Scenario) -> int:
    steps, platform, bot = await run_with_crash(tmp_path, scenario, 10 ** 9)
    await check(bot, platform, steps)
    return steps.count


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """A folder for the ~75 databases these tests create: in memory-backed /dev/shm where there is one
    (the same SQLite, without the disk's fsyncs on a shared machine), else the test's tmp_path."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    with tempfile.TemporaryDirectory(dir=shm, prefix="studybot-crash-") as folder:
        yield Path(folder)


async def test_a_quiz_survives_a_crash_at_every_step(scratch: Path) -> None:
    total = await scenario_steps(scratch, quiz)
    assert total >= 30
    for k in range(1, total + 1):
        steps, platform, bot = await run_with_crash(scratch, quiz, k)
        purposes = await check(bot, platform, steps)
        # The quiz always runs to its end, unless the crash came before its first round was stored.
        assert purposes in ([], ["question", "closed-question", "reveal"] * 2 + ["game-results"]), \
            (k, steps.where, purposes)


async def test_a_daily_challenge_survives_a_crash_at_every_step(scratch: Path) -> None:
    total = await scenario_steps(scratch, daily)
    assert total >= 30
    for k in range(1, total + 1):
        steps, platform, bot = await run_with_crash(scratch, daily, k)
        purposes = await check(bot, platform, steps)
        # The day fires exactly once, whatever step the crash hit.
        assert purposes == ["daily-intro", "question", "question", "closed-question", "reveal",
                            "closed-question", "reveal", "daily-results"], (k, steps.where, purposes)
        assert platform.questions(), k


async def test_a_stopped_game_survives_a_crash_at_every_step(scratch: Path) -> None:
    total = await scenario_steps(scratch, stopped)
    assert total >= 20
    seen = set()
    for k in range(1, total + 1):
        steps, platform, bot = await run_with_crash(scratch, stopped, k)
        purposes = await check(bot, platform, steps)
        # Stopped (one question, its reveal, the results), or, when the crash came before the stop was
        # committed, played to its end after the restart; never a question revealed twice or results twice.
        stopped_game = ["question", "closed-question", "reveal", "game-results"]
        full_game = ["question", "closed-question", "reveal"] * 3 + ["game-results"]
        assert purposes in ([], stopped_game, full_game), (k, steps.where, purposes)
        seen.add(len(purposes))
    assert seen == {0, 4, 10}  # every outcome happened at some crash point
