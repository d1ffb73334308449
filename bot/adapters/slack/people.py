"""Who is pressing and typing: display names and admin rights from ``users.info``, cached for a while.

Slack's payloads carry a user id and at best a login handle; neither says whether the person
may manage the daily challenge. ``users.info`` does (``is_admin``, ``is_owner``) and has the
name people chose (``profile.display_name``). One lookup per person every few minutes is
cheap (the method allows 100+ calls a minute) and keeps leaderboards and admin rights current
when someone is renamed or demoted. If Slack cannot be asked (say the ``users:read`` scope
is missing) the payload's handle is used and only ``slack.admin_user_ids`` count as admins.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.events import User

log = logging.getLogger(__name__)

PLATFORM = "slack"
CACHE_SECONDS = 300.0
FAILURE_SECONDS = 60.0  # a failed lookup is not repeated (nor logged again) for this long
MAX_CACHED = 10_000
# users.info calls asked at the same moment. A round where 200 people press at once would otherwise
# open 200 calls together: Slack (100+ calls a minute for this method) answers most with 429s, and the
# process holds 200 connections. A few at a time spreads the burst out; a 429 still pauses everyone.
MAX_LOOKUPS_IN_FLIGHT = 8
# Seconds a command or press waits for its person's lookup; past this it goes on with the payload's
# name (the lookup continues and is remembered). Queued behind 8-at-a-time calls of ~150 ms, the last
# of 200 newcomers would otherwise wait about 4 s, and a typed round's modal must open within Slack's
# 3 s trigger validity.
LOOKUP_WAIT_SECONDS = 1.5


@dataclass(frozen=True)
class Profile:
    """What the core needs to know about a person."""

    display_name: str
    is_admin: bool


class UserDirectory:
    """Turns Slack user ids into the core's users, asking ``users.info`` at most once per TTL.

    Failures are remembered too (for ``failure_ttl``), so a person Slack will not describe costs
    one call and one log line per period rather than one per command; lookups of one person
    that overlap share a single call; and when Slack answers "rate limited" nobody is looked
    up until its ``Retry-After`` has passed (a 200-person round would otherwise keep asking).
    Different people are looked up at most ``MAX_LOOKUPS_IN_FLIGHT`` at a time, and nobody waits
    more than ``lookup_wait`` seconds for their own lookup (they get the payload's name meanwhile).
    """

    def __init__(self, client: AsyncWebClient, admin_user_ids: Iterable[str] = (), ttl: float = CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic, failure_ttl: float = FAILURE_SECONDS,
                 lookup_wait: float = LOOKUP_WAIT_SECONDS) -> None:
        self.client = client
        self.admin_user_ids = frozenset(admin_user_ids)
        self.ttl = ttl
        self.failure_ttl = failure_ttl
        self.lookup_wait = lookup_wait
        self.clock = clock
        # When each answer was had, and the profile (None: the lookup failed).
        self._cache: dict[tuple[str, str], tuple[float, Profile | None]] = {}
        self._in_flight: dict[tuple[str, str], asyncio.Task[Profile | None]] = {}
        self._paused_until = float("-inf")
        self._lookup_slots = asyncio.Semaphore(MAX_LOOKUPS_IN_FLIGHT)

    async def user(self, team_id: str, user_id: str, handle: str = "") -> User:
        """The core's user for ``user_id`` in workspace ``team_id``; ``handle`` names them if Slack cannot."""
        profile = await self._profile(team_id, user_id)
        name = (profile.display_name if profile else "") or handle or user_id
        admin = user_id in self.admin_user_ids or (profile is not None and profile.is_admin)
        return User(PLATFORM, team_id, user_id, name, is_admin=admin)

    async def _profile(self, team_id: str, user_id: str) -> Profile | None:
        key = (team_id, user_id)
        now = self.clock()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < (self.ttl if cached[1] is not None else self.failure_ttl):
            return cached[1]
        if now < self._paused_until:
            return cached[1] if cached is not None else None  # a stale name beats none while Slack asks for a pause
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._look_up(key))
            self._in_flight[key] = task
            task.add_done_callback(partial(self._landed, key))
        # asyncio.wait neither cancels the lookup when the wait ends nor when this waiter is cancelled:
        # others may be waiting on the same call, and its answer is remembered for next time.
        done, _ = await asyncio.wait({task}, timeout=self.lookup_wait)
        if task in done and not task.cancelled() and task.exception() is None:  # a failure is logged in _landed
            return task.result()
        return cached[1] if cached is not None else None  # Slack is slow or the queue is long: go on without it

    def _landed(self, key: tuple[str, str], task: asyncio.Task[Profile | None]) -> None:
        """A lookup is over: the next one of this person starts afresh (its answer is in the cache)."""
        self._in_flight.pop(key, None)
        if not task.cancelled() and task.exception() is not None:  # nobody may be left waiting to see it
            log.error("users.info for %s failed", key[1], exc_info=task.exception())

    async def _look_up(self, key: tuple[str, str]) -> Profile | None:
        """Waits for one of the few lookup slots, then asks Slack, unless it asked for a pause meanwhile."""
        async with self._lookup_slots:
            if self.clock() < self._paused_until:  # a 429 arrived while this one waited its turn
                cached = self._cache.get(key)
                return cached[1] if cached is not None else None
            return await self._ask(key)

    async def _ask(self, key: tuple[str, str]) -> Profile | None:
        """Asks ``users.info`` once and remembers the answer, or the failure (logged here, once per period)."""
        user_id = key[1]
        profile: Profile | None = None
        try:
            response = await self.client.users_info(user=user_id)
            profile = profile_of(response.get("user") or {})
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                self._pause(_retry_after(exc))
            else:
                log.warning("users.info for %s failed (%s); using the name in the payload, and only "
                            "slack.admin_user_ids as admins, for the next %g s", user_id, _error_of(exc),
                            self.failure_ttl)
        except (aiohttp.ClientError, OSError) as exc:  # network trouble: asked again after failure_ttl
            log.warning("users.info for %s failed: %s; asking again in %g s", user_id, exc or type(exc).__name__,
                        self.failure_ttl)
        self._remember(key, profile)
        return profile

    def _pause(self, seconds: float) -> None:
        now = self.clock()
        if now >= self._paused_until:  # the first of a burst of refusals says it; the rest are the same news
            log.warning("users.info is rate limited; using the names in payloads for the next %g s", seconds)
        self._paused_until = max(self._paused_until, now + seconds)

    def _remember(self, key: tuple[str, str], profile: Profile | None) -> None:
        if profile is None and key in self._cache and self._cache[key][1] is not None and \
                self.clock() < self._paused_until:
            return  # rate limited: keep the stale profile rather than forget who an admin is
        self._cache[key] = (self.clock(), profile)
        if len(self._cache) > MAX_CACHED:  # a bound for huge workspaces: forget the stalest half
            for stale in sorted(self._cache, key=lambda k: self._cache[k][0])[:MAX_CACHED // 2]:
                del self._cache[stale]


def _error_of(exc: SlackApiError) -> str:
    """Slack's error code, or the HTTP status when the answer was no JSON (a proxy's error page)."""
    data = exc.response.data
    error = data.get("error") if isinstance(data, dict) else None
    return str(error) if error else f"HTTP {exc.response.status_code}"


def _retry_after(exc: SlackApiError) -> float:
    """Slack's Retry-After in seconds (a minute when it gave none or something unreadable)."""
    headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(1.0, min(float(value), 3600.0)) if value is not None else 60.0
    except (TypeError, ValueError):
        return 60.0


def profile_of(user: dict[str, Any]) -> Profile:
    """A ``users.info`` user object reduced to a name and admin rights (owners administer too)."""
    profile = user.get("profile") or {}
    name = (profile.get("display_name") or profile.get("real_name") or user.get("real_name")
            or user.get("name") or "")
    admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
    return Profile(str(name).strip(), admin)
