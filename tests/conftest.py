"""Shared test set-up: stores opened by a test are closed after it, so no database thread lingers."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.core import fakes
from tests.postgres_server import PostgresServer, ServerUnavailable, start_server


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
