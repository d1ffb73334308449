"""Reaching a platform at start: the network is retried with backoff for the configured time, then named."""

from __future__ import annotations

import logging

import pytest

from bot.startup import StartupError, retry_network


class FakeTime:
    """A monotonic clock that only sleeping moves."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_the_network_coming_back_within_the_budget_is_waited_for(caplog: pytest.LogCaptureFixture) -> None:
    time, tries = FakeTime(), []

    async def attempt() -> str:
        tries.append(1)
        if len(tries) < 4:
            raise ConnectionRefusedError(111, "Connection refused")
        return "signed in"

    result = await retry_network(attempt, "Slack's Web API", 60, sleep=time.sleep, clock=time.clock)
    assert result == "signed in"
    assert time.sleeps == [1, 2, 4]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings[0] == ("cannot reach Slack's Web API (ConnectionRefusedError: [Errno 111] Connection refused); "
                           "retrying in 1 s")
    assert len(warnings) == 3


async def test_a_network_that_stays_down_ends_in_one_clear_error() -> None:
    time = FakeTime()

    async def attempt() -> None:
        raise TimeoutError("timed out")

    with pytest.raises(StartupError) as caught:
        await retry_network(attempt, "Discord's API (discord.com)", 60, sleep=time.sleep, clock=time.clock)
    assert time.sleeps == [1, 2, 4, 8, 16]  # 31 s slept; the next wait (30 s, the cap) would pass 60
    assert str(caught.value) == ("cannot reach Discord's API (discord.com) (TimeoutError: timed out); gave up after "
                                 "6 attempt(s) in 31 s (bot.start_retry_seconds = 60); check the network, proxy "
                                 "and firewall")


async def test_zero_budget_tries_once_and_a_refusal_is_not_retried() -> None:
    time = FakeTime()

    async def down() -> None:
        raise OSError("Network is unreachable")

    with pytest.raises(StartupError, match="gave up after 1 attempt"):
        await retry_network(down, "Slack", 0, sleep=time.sleep, clock=time.clock)

    async def refused() -> None:
        raise PermissionError("invalid_auth")  # an OSError, but the caller says it is not worth retrying

    with pytest.raises(PermissionError):
        await retry_network(refused, "Slack", 60, retryable=lambda exc: False, sleep=time.sleep, clock=time.clock)
    assert time.sleeps == []
