"""Review sessions through the core over a large review store: latency per answer, and the cost of scheduling.

Prints figures; it is not a pass/fail test. Run from the repository root:
``python -m bench.review [--users 10000 --cards 500 --sessions 300]``.

A SQLite file is filled (with plain sqlite3, in one transaction, after the real migrations ran)
with ``users`` people x ``cards`` memory states each, as ratings leave them (fsrs states in the
Review state, due times spread over the past and the next months, so about a fifth are due),
plus a review log of 30 ratings a person. Then, on a real StudyBot over that file, ``sessions``
people chosen at random each do a review step as in chat, every call timed from its start to
its reply: ``review`` (finds and shows the next due card), pressing a choice (shows the answer
and the four ratings with their previews), pressing Good (schedules, stores state and log in
one transaction, and shows the next card). Baselines from the same run: a bare aiosqlite point
read of one state by primary key (the floor of any store call), ``help`` through the core (the
floor of the core's dispatch), and the fsrs package's ``review_card`` called directly beside
the core's ``Reviewer.rate`` (the scheduling cost, with and without the JSON round trip).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import aiosqlite
from fsrs import Card, Rating, Scheduler, State

from bot.config import Config, CooldownSection
from bot.core import buttons
from bot.core.app import StudyBot
from bot.core.buttons import ReviewPress
from bot.kb.library import load_library
from bot.store.base import Learner
from bot.store.sqlite import SqliteStore
from tests.core.fakes import RecordingOutbox, command, press, user

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
POINT_READ = "SELECT state FROM review_cards WHERE platform=? AND workspace=? AND user_id=? AND card_id=?"
CONFIG = Config(cooldowns=CooldownSection(ask_seconds=0, quiz_seconds=0))


class _Clock:
    def now(self) -> datetime:
        return NOW


def _fill(path: Path, users: int, cards: int, card_ids: list[str], rng: random.Random) -> None:
    """Writes the review states and logs straight into the migrated file (setup, not measured)."""
    ids = (card_ids + [f"bench/filler/{i}" for i in range(cards)])[:cards]
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    states = []
    for _ in range(64):  # a few realistic states, reused with different due times
        card = Card(card_id=0, state=State.Review, step=None, stability=rng.uniform(1, 200),
                    difficulty=rng.uniform(1, 10), due=NOW, last_review=NOW - timedelta(days=rng.randint(1, 90)))
        states.append(card.to_dict())

    # Each state's JSON around its due time, so a row costs a string join rather than json.dumps.
    halves = [json.dumps({**st, "due": "@"}).split('"@"') for st in states]
    added = (NOW - timedelta(days=100)).isoformat()
    hours = [NOW + timedelta(hours=h) for h in range(-24 * 30, 24 * 120)]

    def rows() -> object:
        for u in range(users):
            who = f"u-bench{u}"
            for i, card_id in enumerate(ids):
                before, after = halves[(u + i) % 64]
                # Cards of decks no longer loaded are never due here (the session skips them anyway).
                low = 24 * 60 if card_id.startswith("bench/") else 0
                due = hours[rng.randrange(low, len(hours))].isoformat()
                yield ("test", "w1", who, card_id, f'{before}"{due}"{after}', due, 5, 5, added)

    db.execute("BEGIN")
    db.executemany("INSERT INTO review_cards (platform, workspace, user_id, card_id, state, due, reps, version, "
                   "added_at) VALUES (?,?,?,?,?,?,?,?,?)", rows())  # type: ignore[arg-type]
    log = (("test", "w1", f"u-bench{u}", ids[k % len(ids)], rng.randint(1, 4), "review",
            (NOW - timedelta(hours=k * 20)).isoformat(), 0, NOW.isoformat(), NOW.isoformat(), 10.0, 5.0)
           for u in range(users) for k in range(30))
    db.executemany("INSERT INTO review_log (platform, workspace, user_id, card_id, rating, source, reviewed_at, "
                   "first, due_before, due_after, stability, difficulty) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", log)
    db.commit()
    db.execute("ANALYZE")
    # Into the main file now: else the first measured write would pay for checkpointing gigabytes of WAL.
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _line(name: str, values: list[float]) -> str:
    return (f"  {name:<34} n={len(values):<5} p50 {_pct(values, 0.50):7.2f} ms   p99 {_pct(values, 0.99):7.2f} ms   "
            f"max {max(values):7.2f} ms   mean {statistics.fmean(values):6.2f} ms")


async def _timed(work: Callable[[], Awaitable[object]], into: list[float]) -> object:
    started = time.perf_counter()
    result = await work()
    into.append((time.perf_counter() - started) * 1000)
    return result


def _button(replies: list, action: str) -> str:  # type: ignore[type-arg]
    for reply in replies:
        for b in reply.buttons:
            pressed = buttons.parse(b.id)
            if isinstance(pressed, ReviewPress) and pressed.action.startswith(action):
                return b.id
    raise AssertionError(f"no {action} button in {replies}")


async def run(users: int, cards: int, sessions: int, seed: int) -> None:
    rng = random.Random(seed)
    library = load_library()
    card_ids = sorted(c.id for d in library.decks for c in d.cards)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite3"
        store = await SqliteStore.open(path)
        await store.close()
        started = time.perf_counter()
        _fill(path, users, cards, card_ids, rng)
        size = path.stat().st_size / 1e6
        print(f"review store: {users:,} users x {cards} cards = {users * cards:,} states, "
              f"{users * 30:,} log rows, {size:,.0f} MB, filled in {time.perf_counter() - started:.1f} s")

        store = await SqliteStore.open(path)
        bot = StudyBot(library, store, CONFIG, clock=_Clock(), rng=random.Random(seed))
        bot.attach("test", RecordingOutbox())
        await bot.start()
        floor, help_ms, start_ms, pick_ms, rate_ms = [], [], [], [], []  # type: ignore[var-annotated]
        db = await aiosqlite.connect(path)
        for n in range(sessions + 20):  # the first 20 warm the caches and are not counted
            who = user(f"bench{rng.randrange(users)}")
            keep = n >= 20
            key = ("test", "w1", who.user_id, card_ids[n % len(card_ids)])
            await _timed(partial(db.execute_fetchall, POINT_READ, key), floor if keep else [])
            await _timed(partial(bot.handle_command, command("help", who)), help_ms if keep else [])
            shown = await _timed(partial(bot.handle_command, command("review", who)), start_ms if keep else [])
            pick = _button(shown, "pick")  # type: ignore[arg-type]
            back = await _timed(partial(bot.handle_button, press(pick, who)), pick_ms if keep else [])
            good = _button(back, "rate3")  # type: ignore[arg-type]
            await _timed(partial(bot.handle_button, press(good, who)), rate_ms if keep else [])
        await db.close()
        await store.close()
    print(f"\nthrough the core, {sessions} people picked at random (a review step each):")
    print(_line("baseline: aiosqlite point read", floor))
    print(_line("baseline: `help` through the core", help_ms))
    print(_line("`review` (next due card shown)", start_ms))
    print(_line("press a choice (answer + ratings)", pick_ms))
    print(_line("press Good (stored, next card)", rate_ms))
    everything = start_ms + pick_ms + rate_ms
    print(_line("every review answer", everything))

    scheduler = Scheduler()
    rated_core, rated_raw = [], []
    stored = None
    reviewer = bot.reviews
    for i in range(5000):
        at = NOW + timedelta(days=i)
        t0 = time.perf_counter()
        rated = reviewer.rate(Learner("test", "w1", "x"), "c", stored, 1 + i % 4, at, "review")
        t1 = time.perf_counter()
        rated_core.append((t1 - t0) * 1000)
        stored = rated.card
    card = Card(card_id=0, due=NOW)
    for i in range(5000):
        t0 = time.perf_counter()
        card, _ = scheduler.review_card(card, Rating(1 + i % 4), review_datetime=NOW + timedelta(days=i))
        rated_raw.append((time.perf_counter() - t0) * 1000)
    print("\nscheduling one rating (5,000 in a row):")
    print(_line("baseline: fsrs Scheduler.review_card", rated_raw))
    print(_line("Reviewer.rate (+ JSON state)", rated_core))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--cards", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(run(args.users, args.cards, args.sessions, args.seed))


if __name__ == "__main__":
    main()
