"""Shared test set-up: stores opened by a test are closed after it, so no database thread lingers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.core import fakes


@pytest.fixture(autouse=True)
async def _close_stores() -> AsyncIterator[None]:
    yield
    while fakes.OPEN_STORES:
        await fakes.OPEN_STORES.pop().close()
