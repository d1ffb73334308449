"""Quiz answers through the core on PostgreSQL, with one process and with three, beside SQLite in the same run.

Prints figures; it is not a pass/fail test. Run from the repository root:
``python -m bench.answers_pg [--bursts 5] [--size 1000] [--pairs 3] [--url postgresql://...]``.

Without ``--url`` a throwaway PostgreSQL server is started on loopback the way the tests start
one (tests/postgres_server.py: initdb + pg_ctl in a temporary folder, fsync off, so the figures
measure the bot and the server's CPU, not this machine's disk).

Each process runs a StudyBot on the real PostgresStore and presses answers through
``StudyBot.handle_button`` in bursts of ``--size`` different users pressing at the same moment
(``asyncio.gather``), ``--bursts`` bursts one after the other, all on one open round. Every call is
timed from its start to its reply. With three processes, each is a separate Python process (its
own pool of connections to the one database); they warm up, then start together on a signal, and
the rate is every answer of the three over the time from the first start to the last end.
One process and three take turns ``--pairs`` times, each time with new users: on a shared machine
the same code's one-process rate moves by a third between runs seconds apart, so each pair's ratio
is printed and the median of them is the figure to read.
SQLite's figure is ``bench.answers``' one-process burst, measured here in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.answers import percentile, through_core
from bot.config import Config
from bot.core.app import StudyBot
from bot.kb.library import load_library
from bot.run import run_event_loop
from bot.store.postgres import PostgresStore
from tests.clock import FakeClock
from tests.core.fakes import RecordingOutbox, command, press, user
from tests.postgres_server import PostgresServer, start_server

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WORKERS = 3


async def _bot(url: str) -> tuple[StudyBot, PostgresStore]:
    store = await PostgresStore.open(url, pool_size=4)
    bot = StudyBot(load_library(), store, Config(), clock=FakeClock(START), rng=random.Random(1))
    bot.attach("test", RecordingOutbox())
    await bot.start()
    return bot, store


async def open_round(url: str) -> tuple[int, int]:
    """Opens the one round every process answers; returns its id and its number of choices."""
    bot, store = await _bot(url)
    try:
        await bot.handle_command(command("quiz seconds 600", user("host")))
        round_id = next(iter(bot.quiz.open))
        card = bot.library.card(bot.quiz.open[round_id].card_id)
        assert card is not None
        return round_id, len(card.choices)
    finally:
        await store.close()


async def bursts(bot: StudyBot, round_id: int, choices: int, prefix: str, count: int, size: int
                 ) -> tuple[float, float, list[float], float]:
    """``count`` bursts of ``size`` concurrent presses; (start, end, per-press milliseconds, this process's
    CPU seconds)."""
    latencies: list[float] = []

    async def timed(i: int) -> None:
        event = press(f"answer:{round_id}:{i % choices}", user(f"{prefix}{i}"))
        began = time.perf_counter()
        [reply] = await bot.handle_button(event)
        latencies.append((time.perf_counter() - began) * 1000)
        if "locked in" not in reply.body:
            raise SystemExit(f"a press was not accepted: {reply.body!r}")

    cpu = time.process_time()
    start = time.time()
    for b in range(count):
        await asyncio.gather(*(timed(b * size + i) for i in range(size)))
    return start, time.time(), latencies, time.process_time() - cpu


async def worker(url: str, round_id: int, choices: int, prefix: str, count: int, size: int) -> None:
    """One of the three processes: warm up, say ready, wait for "go", press, print the figures as JSON."""
    bot, store = await _bot(url)
    try:
        await bursts(bot, round_id, choices, f"warm-{prefix}", 1, 200)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        start, end, latencies, cpu = await bursts(bot, round_id, choices, prefix, count, size)
        print(json.dumps({"start": start, "end": end, "latencies": latencies, "cpu": cpu}), flush=True)
    finally:
        await store.close()


def several(url: str, round_id: int, choices: int, count: int, size: int, server: PostgresServer | None = None,
            prefix: str = "p") -> tuple[float, list[float], float, float | None]:
    """Three processes pressing at once; (answers per second over all, per-press milliseconds, the
    processes' CPU seconds while pressing, the server's from "go" to the last result)."""
    procs = [subprocess.Popen([sys.executable, "-m", "bench.answers_pg", "--worker", url, str(round_id),
                               str(choices), f"{prefix}{i}-", str(count), str(size)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for i in range(WORKERS)]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        server_before = server.cpu_seconds() if server else None
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [json.loads(p.stdout.readline()) for p in procs if p.stdout is not None]
        server_after = server.cpu_seconds() if server else None
        for p in procs:
            p.communicate(timeout=600)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
    latencies = [ms for r in results for ms in r["latencies"]]
    server_cpu = server_after - server_before if server_before is not None and server_after is not None else None
    return len(latencies) / seconds, latencies, sum(r["cpu"] for r in results), server_cpu


def line(label: str, rate: float, latencies: list[float]) -> str:
    return (f"  {label:<34} {rate:9,.0f} answers/s   per press p50 / p99 {statistics.median(latencies):6.1f} / "
            f"{percentile(latencies, 99):6.1f} ms")


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, or "unknown" where the system does not say."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def cpu_line(python: float, server: float | None, answers: int) -> str:
    """Python's CPU per answer while pressing, and the server's (all its processes: anything else it did
    meanwhile, such as autovacuum, counts too; not measured on a server given with --url)."""
    server_text = f"server {server * 1e6 / answers:.0f} µs" if server is not None else "server not measured"
    return f"Python {python * 1e6 / answers:.0f} µs + {server_text}"


async def count_answers(url: str, round_id: int) -> int:
    store = await PostgresStore.open(url, pool_size=1)
    try:
        return len(await store.answers(round_id))
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bursts", type=int, default=5, help="bursts one after another, per process")
    parser.add_argument("--size", type=int, default=1_000, help="concurrent presses in a burst")
    parser.add_argument("--pairs", type=int, default=3, help="times one process and three take turns")
    parser.add_argument("--url", help="an empty PostgreSQL database to use (default: start a throwaway server)")
    parser.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        url, round_id, choices, prefix, count, size = args.worker
        run_event_loop(worker(url, int(round_id), int(choices), prefix, int(count), int(size)))
        return
    server = None
    if args.url is None:
        server = start_server()
    try:
        run(args.url or (server.fresh_database() if server else ""), args.bursts, args.size, args.pairs, server)
    finally:
        if server is not None:
            server.remove()


def run(url: str, count: int, size: int, pairs: int, server: PostgresServer | None = None) -> None:
    total = count * size
    print(f"{os.cpu_count()} cores; bursts of {size:,} concurrent presses, {count} bursts per process; "
          "PostgreSQL on loopback (fsync off), pool of 4 connections per process; load average "
          f"{load_average()} at the start\n")
    with tempfile.TemporaryDirectory(prefix="studybot-bench-") as folder:
        sqlite = run_event_loop(_sqlite(Path(folder), size))
    round_id, choices = run_event_loop(open_round(url))

    async def one(pair: int) -> tuple[float, list[float], float, float | None]:
        bot, store = await _bot(url)
        try:
            await bursts(bot, round_id, choices, f"warm-one{pair}-", 1, 200)
            before = server.cpu_seconds() if server else None
            start, end, latencies, cpu = await bursts(bot, round_id, choices, f"one{pair}-", count, size)
            after = server.cpu_seconds() if server else None
            used = after - before if before is not None and after is not None else None
            return total / (end - start), latencies, cpu, used
        finally:
            await store.close()

    print(line(f"SQLite, 1 process ({size:,} at once)", sqlite[0], sqlite[1]))
    ratios, one_all, three_all = [], [], []
    for pair in range(pairs):
        one_rate, one_latencies, one_cpu, one_server = run_event_loop(one(pair))
        three_rate, three_latencies, three_cpu, three_server = several(url, round_id, choices, count, size, server,
                                                                       prefix=f"p{pair}.")
        ratios.append(three_rate / one_rate)
        one_all += one_latencies
        three_all += three_latencies
        print(f"\n  pair {pair + 1} of {pairs}:  {WORKERS} processes / 1 process: {ratios[-1]:.2f}x")
        print(line(f"PostgreSQL, 1 process ({count}x{size:,})", one_rate, one_latencies))
        print(line(f"PostgreSQL, {WORKERS} processes ({count}x{size:,} each)", three_rate, three_latencies))
        print(f"  CPU per answer, 1 process: {cpu_line(one_cpu, one_server, total)};  "
              f"{WORKERS} processes: {cpu_line(three_cpu, three_server, WORKERS * total)}")
    stored = run_event_loop(count_answers(url, round_id))
    expected = pairs * (200 + total + WORKERS * (200 + total))
    print(f"\n  {WORKERS} processes / 1 process, median of {pairs}: {statistics.median(ratios):.2f}x "
          f"(each: {', '.join(f'{r:.2f}' for r in ratios)});  p99 per press over every pair: 1 process "
          f"{percentile(one_all, 99):.1f} ms, {WORKERS} processes {percentile(three_all, 99):.1f} ms")
    print(f"  answers stored {stored:,} of {expected:,} ({'all' if stored == expected else 'MISMATCH'})")
    print(f"  load average at the end: {load_average()} (other work on the machine takes CPU from every figure)")
    print("\ntargets: >= 5,000 answers/s with 1 process, >= 1.5x that with 3, p99 < 50 ms per press at 1,000 at once")


async def _sqlite(folder: Path, size: int) -> tuple[float, list[float]]:
    library = load_library()
    await through_core(library, folder / "warm-up.sqlite3", 200)
    result = await through_core(library, folder / "core.sqlite3", size)
    return result.rate, result.latencies_ms


if __name__ == "__main__":
    main()
