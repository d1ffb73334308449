"""The timer loop is supervised: a failing tick is logged and retried, one that keeps failing ends the run."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.core.app import TimerFailure
from tests.core.fakes import make_bot


async def test_a_failing_tick_is_logged_and_retried_and_the_heartbeat_resumes(
        caplog: pytest.LogCaptureFixture) -> None:
    bot, _, _ = await make_bot()
    real_tick, calls = bot.tick, []

    async def flaky_tick() -> None:
        calls.append(1)
        if len(calls) <= 2:
            raise OSError("disk I/O error")
        await real_tick()

    bot.tick = flaky_tick  # type: ignore[method-assign]
    bot.heartbeat.last = -1.0  # stale until a tick succeeds
    timers = asyncio.create_task(bot.run_timers(interval=0.001, max_backoff=0.001))
    for _ in range(1000):  # bounded: a few milliseconds of ticks
        if len(calls) > 3:
            break
        await asyncio.sleep(0.001)
    timers.cancel()
    await asyncio.gather(timers, return_exceptions=True)
    assert len(calls) > 3, "the timer stopped after a failing tick"
    assert bot.metrics.timer_failures.value() == 2
    assert bot.heartbeat.last > 0 and bot.heartbeat.alive()
    failures = [r for r in caplog.records if r.levelno == logging.ERROR and "timer tick failed" in r.getMessage()]
    assert [r.getMessage().split(";")[0] for r in failures] == ["timer tick failed (1 in a row)",
                                                               "timer tick failed (2 in a row)"]
    assert all(r.exc_info for r in failures)  # with the traceback, for whoever reads the log


async def test_a_tick_that_keeps_failing_ends_the_timer_with_timer_failure() -> None:
    bot, _, _ = await make_bot()

    async def broken_tick() -> None:
        raise RuntimeError("database is locked")

    bot.tick = broken_tick  # type: ignore[method-assign]
    with pytest.raises(TimerFailure, match=r"the timer failed 5 times in a row, last with "
                                           r"RuntimeError\('database is locked'\)"):
        await asyncio.wait_for(bot.run_timers(interval=0.001, max_failures=5, max_backoff=0.001), 5)
    assert bot.metrics.timer_failures.value() == 5


async def test_drain_waits_for_answers_already_taken() -> None:
    bot, _, _ = await make_bot()
    assert await bot.drain(1.0) is True  # nothing pending: done at once

    release = asyncio.Event()

    async def slow_flush() -> None:
        await release.wait()

    bot.store.flush = slow_flush  # type: ignore[method-assign]
    assert await bot.drain(0.01) is False  # bounded: a stuck writer does not hold the shutdown


async def test_once_shutdown_began_events_are_answered_restarting_and_not_handled() -> None:
    from bot.core.app import STOPPING
    from tests.core.fakes import command, press, user

    bot, outbox, _ = await make_bot()
    bot.stop_accepting()
    replies = await bot.handle_command(command("quiz"))
    assert [(r.body, r.ephemeral) for r in replies] == [(STOPPING, True)]
    assert outbox.posts == []  # no round was opened
    assert [r.body for r in await bot.handle_button(press("answer:1:0", user("bob")))] == [STOPPING]
    assert bot.metrics.commands.value("quiz") == 0
