"""Per-member command cooldowns, so one person cannot flood a channel others read.

In memory for a store of one process (SQLite); in the store when several processes share it
(PostgreSQL), since a member's next command may reach another process.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

from bot.core.events import CommandEvent
from bot.store.base import FORGET_COOLDOWNS_EVERY, Store

MAX_COOLDOWNS = 10_000  # remembered uses before the expired ones are dropped
# A shared store forgets uses at least this old, even when every cooldown is shorter: processes on one
# database may run with different cooldowns for a while (a config change rolling out), or clocks a little apart.
KEEP_SHARED_USES = timedelta(hours=1)

Key = tuple[str, str, str, str]


class Cooldowns:
    """Last use per (platform, workspace, member, command): when, and by which event."""

    def __init__(self, longest: float, store: Store | None = None) -> None:
        self.longest = timedelta(seconds=longest)  # no cooldown is longer: older uses can be forgotten
        self.last_use: dict[Key, tuple[datetime, int]] = {}
        self.store = store if store is not None and store.shared else None
        self._instance = uuid.uuid4().hex[:12]  # this process, in the token a shared store keeps per use
        self._shared_uses = 0

    async def check(self, event: CommandEvent, seconds: float, now: datetime) -> str | None:
        """Records this use, or says how long to wait when the last one was under ``seconds`` ago."""
        key = _key(event)
        if self.store is not None:
            wait = await self.store.use_cooldown(key, now, seconds, self._token(event))
            self._shared_uses += 1
            if self._shared_uses % FORGET_COOLDOWNS_EVERY == 0:
                await self.store.forget_cooldowns(now - max(self.longest, KEEP_SHARED_USES))
            return _easy_there(event, wait) if wait > 0 else None
        last = self.last_use.get(key)
        if last is not None and now - last[0] < timedelta(seconds=seconds):
            return _easy_there(event, seconds - (now - last[0]).total_seconds())
        self.last_use.pop(key, None)  # re-inserted at the end: the dict stays oldest first
        self.last_use[key] = (now, id(event))
        if len(self.last_use) > MAX_COOLDOWNS:
            self._forget(now)
        return None

    def _forget(self, now: datetime) -> None:
        """Drops uses older than every cooldown, oldest first, so memory does not grow with the users."""
        for key, (at, _) in list(self.last_use.items()):
            if now - at < self.longest:
                break
            del self.last_use[key]

    async def release(self, event: CommandEvent) -> None:
        """Forgets this event's use (a busy channel, a failure), so a retry is not refused.

        Only a use this very event recorded: a failure before the check must not erase an earlier one.
        """
        key = _key(event)
        if self.store is not None:
            await self.store.release_cooldown(key, self._token(event))
            return
        if key in self.last_use and self.last_use[key][1] == id(event):
            del self.last_use[key]


    def _token(self, event: CommandEvent) -> str:
        return f"{self._instance}:{id(event)}"


def _easy_there(event: CommandEvent, wait: float) -> str:
    return f"Easy there: you can use `{event.name}` again in {math.ceil(wait)} s."


def _key(event: CommandEvent) -> Key:
    return event.user.platform, event.user.workspace, event.user.user_id, event.name
