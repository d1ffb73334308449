"""Quiz answers through the core: answers per second and handling latency, beside the SQLite ceiling.

Prints figures; it is not a pass/fail test. Run from the repository root:
``python -m bench.answers [--answers 1000 10000]``.

For each size N, a fresh StudyBot on the real SqliteStore (a file in a temporary folder) and
the built-in library opens a quiz round, then N different users press an answer button at
the same moment (``asyncio.gather``), the way tests/core/test_rounds.py does it. Each
``handle_button`` call is timed from its start to its reply, so the figures include waiting
behind the other presses. The ceiling is a bare aiosqlite loop writing the same rows into the
same schema, one INSERT and one COMMIT per answer, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from bot.config import Config
from bot.core.app import StudyBot
from bot.core.events import ButtonEvent
from bot.kb.library import Library, load_library
from bot.run import run_event_loop
from bot.store.sqlite import SqliteStore, upgrade
from tests.core.fakes import RecordingOutbox, command, press, user

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class _StoppedClock:
    """Always START: every answer lands inside the round's window, whatever the machine's speed."""

    def now(self) -> datetime:
        return START
WARM_UP = 200  # answers through a throwaway bot first, so the first measured press pays no first-use costs


@dataclass(frozen=True)
class CoreRun:
    """One burst of N concurrent presses through the core."""

    answers: int
    seconds: float
    latencies_ms: list[float]  # per handle_button call, from its start
    since_release_ms: list[float]  # per press, from the moment the burst was released
    stored: int

    @property
    def rate(self) -> float:
        return self.answers / self.seconds


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


async def through_core(library: Library, path: Path, n: int) -> CoreRun:
    """N users answer one round at once; every press is timed and every answer counted back."""
    store = await SqliteStore.open(path)
    try:
        bot = StudyBot(library, store, Config(), clock=_StoppedClock(), rng=random.Random(1))
        bot.attach("test", RecordingOutbox())
        await bot.start()
        await bot.handle_command(command("quiz seconds 600", user("host")))
        round_id = next(iter(bot.quiz.open))
        card = library.card(bot.quiz.open[round_id].card_id)
        assert card is not None
        events = [press(f"answer:{round_id}:{i % len(card.choices)}", user(f"user{i}")) for i in range(n)]
        latencies: list[float] = []
        since_release: list[float] = []

        async def timed(event: ButtonEvent) -> str:
            start = time.perf_counter()
            [reply] = await bot.handle_button(event)
            end = time.perf_counter()
            latencies.append((end - start) * 1000)
            since_release.append((end - released) * 1000)
            return reply.body

        released = time.perf_counter()
        bodies = await asyncio.gather(*(timed(event) for event in events))
        seconds = time.perf_counter() - released
        refused = [body for body in bodies if "locked in" not in body]
        if refused:
            raise SystemExit(f"{len(refused)} of {n} presses were not accepted, e.g. {refused[0]!r}")
        stored = len(await store.answers(round_id))
        return CoreRun(n, seconds, latencies, since_release, stored)
    finally:
        await store.close()


async def bare_ceiling(path: Path, n: int) -> float:
    """Answers per second of a bare aiosqlite INSERT + COMMIT loop on the store's schema and settings."""
    db = await aiosqlite.connect(str(path))
    try:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=5000"):
            await db.execute(f"PRAGMA {pragma}")
        await upgrade(db)
        cursor = await db.execute(
            "INSERT INTO rounds (platform, workspace, channel, kind, card_id, opened_at, closes_at, seconds) "
            "VALUES ('test', 'w1', 'c1', 'quiz', 'card', ?, ?, 600)", (START.isoformat(), START.isoformat()))
        round_id = cursor.lastrowid
        await db.commit()
        rows = [(round_id, "test", "w1", f"u-user{i}", f"User{i}", i % 4, int(i % 4 == 0), 10 * (i % 4 == 0),
                 START.isoformat()) for i in range(n)]
        start = time.perf_counter()
        for row in rows:
            await db.execute(
                "INSERT OR IGNORE INTO answers (round_id, platform, workspace, user_id, display_name, choice, "
                "correct, points, answered_at) VALUES (?,?,?,?,?,?,?,?,?)", row)
            await db.commit()
        seconds = time.perf_counter() - start
        async with db.execute("SELECT COUNT(*) FROM answers") as cur:
            count = (await cur.fetchone() or (0,))[0]
        if count != n:
            raise SystemExit(f"the ceiling loop stored {count} of {n} rows")
        return n / seconds
    finally:
        await db.close()


async def run(sizes: Sequence[int]) -> None:
    library = load_library()
    print(f"SQLite {aiosqlite.sqlite_version}, WAL, synchronous=NORMAL (the store's settings); "
          f"a file in a temporary folder; {os.cpu_count()} cores\n")
    with tempfile.TemporaryDirectory(prefix="studybot-bench-") as folder:
        await through_core(library, Path(folder, "warm-up.sqlite3"), WARM_UP)
        ceilings = {n: await bare_ceiling(Path(folder, f"ceiling-{n}.sqlite3"), n) for n in sizes}
        runs = [await through_core(library, Path(folder, f"core-{n}.sqlite3"), n) for n in sizes]

    print("ceiling: bare aiosqlite loop, one INSERT + COMMIT per answer")
    for n in sizes:
        print(f"  {n:>7,} answers        {ceilings[n]:10,.0f} answers/s")
    print("\nthrough the core: StudyBot.handle_button -> QuizMaster -> SqliteStore, N users pressing at once")
    for result in runs:
        n = result.answers
        ok = "all stored" if result.stored == n else "MISMATCH"
        print(f"  {n:>7,} concurrent     {result.rate:10,.0f} answers/s   "
              f"{result.rate / ceilings[n]:5.2f} of ceiling   stored {result.stored:,}/{n:,} ({ok})")
        print(f"  {'':7} per press       p50 / p99 {statistics.median(result.latencies_ms):8.1f} / "
              f"{percentile(result.latencies_ms, 99):8.1f} ms   (since release: "
              f"{statistics.median(result.since_release_ms):.1f} / {percentile(result.since_release_ms, 99):.1f} ms)")
    print("\ntargets: >= 5,000 answers/s, >= 1/3 of the ceiling, p99 < 50 ms at 1,000 concurrent")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, nargs="+", default=[1_000, 10_000],
                        help="burst sizes (concurrent presses) to measure")
    args = parser.parse_args()
    run_event_loop(run(args.answers))


if __name__ == "__main__":
    main()
