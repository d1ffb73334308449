"""Shared test set-up: fixtures for a clock and a core, and stores opened by a test are closed after it,
so no database thread lingers."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from bot.config import Config, CooldownSection
from bot.core.app import StudyBot
from tests.clock import FakeClock
from tests.core import fakes
from tests.postgres_server import PostgresServer, ServerUnavailable, start_server

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NO_COOLDOWNS = Config(cooldowns=CooldownSection(ask_seconds=0, quiz_seconds=0))


@pytest.fixture(autouse=True, scope="session")
def _cache_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Built deck indexes ([decks] cache) go to a folder of the run's own, never the user's ~/.cache;
    processes the tests start inherit it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        yield


@pytest.fixture(autouse=True)
async def _close_stores() -> AsyncIterator[None]:
    yield
    while fakes.OPEN_STORES:
        await fakes.OPEN_STORES.pop().close()


# A real PostgreSQL server, started once for the run by the tests themselves (see tests/postgres_server.py).


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server. In CI (CI=true) a server that cannot start fails the run
    loudly; elsewhere, without PostgreSQL installed, the PostgreSQL tests are skipped with the reason."""
    try:
        server = start_server()
    except ServerUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true, but the test PostgreSQL server could not start: {exc}", pytrace=False)
        pytest.skip(f"no PostgreSQL server for the tests: {exc}")
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A migrated, empty database on the session's server (emptied for each test)."""
    return postgres_server.clean_database()


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
