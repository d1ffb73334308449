"""Shared test set-up: fixtures for a clock and a core, and stores opened by a test are closed after it,
so no database thread lingers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.config import Config, CooldownSection
from bot.core.app import StudyBot
from tests.clock import FakeClock
from tests.core import fakes

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NO_COOLDOWNS = Config(cooldowns=CooldownSection(ask_seconds=0, quiz_seconds=0))


@pytest.fixture(autouse=True)
async def _close_stores() -> AsyncIterator[None]:
    yield
    while fakes.OPEN_STORES:
        await fakes.OPEN_STORES.pop().close()


@pytest.fixture
def clock() -> FakeClock:
    """A clock standing at Monday 2 March 2026, 12:00 UTC, moved by hand."""
    return FakeClock(START)


@pytest.fixture
async def studybot(clock: FakeClock) -> AsyncIterator[StudyBot]:
    """A core over the built-in decks and an in-memory store, without cooldowns, posting into a recording outbox
    (``studybot.outboxes["test"]``)."""
    bot, _, _ = await fakes.make_bot(clock=clock, config=NO_COOLDOWNS)
    yield bot
