"""Cooldowns kept in a shared store: expired uses are forgotten now and then, so the table stays small."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core import cooldowns
from bot.core.cooldowns import KEEP_SHARED_USES, Cooldowns
from tests.core.fakes import command, user

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class SharedUses:
    """The two calls Cooldowns makes on a shared store, recorded."""

    shared = True

    def __init__(self) -> None:
        self.uses = 0
        self.forgot: list[datetime] = []

    async def use_cooldown(self, key: Any, now: datetime, seconds: float, token: str) -> float:
        self.uses += 1
        return 0.0

    async def forget_cooldowns(self, before: datetime) -> int:
        self.forgot.append(before)
        return 0


@pytest.mark.parametrize(("longest", "horizon"), [(5.0, KEEP_SHARED_USES), (7200.0, timedelta(hours=2))])
async def test_a_shared_store_forgets_uses_older_than_every_cooldown_every_so_many_uses(
        monkeypatch: pytest.MonkeyPatch, longest: float, horizon: timedelta) -> None:
    monkeypatch.setattr(cooldowns, "FORGET_COOLDOWNS_EVERY", 3)
    store = SharedUses()
    kept = Cooldowns(longest, store)  # type: ignore[arg-type]
    for minute in range(7):
        event = command("ask what is dropout", user(f"u{minute}"))
        assert await kept.check(event, 3, NOON + timedelta(minutes=minute)) is None
    assert store.uses == 7
    assert store.forgot == [NOON + timedelta(minutes=2) - horizon, NOON + timedelta(minutes=5) - horizon]
