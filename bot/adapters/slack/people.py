"""Who is pressing and typing: display names and admin rights from ``users.info``, cached for a while.

Slack's payloads carry a user id and at best a login handle; neither says whether the person
may manage the daily challenge. ``users.info`` does (``is_admin``, ``is_owner``) and has the
name people chose (``profile.display_name``). One lookup per person every few minutes is
cheap (the method allows 100+ calls a minute) and keeps leaderboards and admin rights current
when someone is renamed or demoted. If Slack cannot be asked (say the ``users:read`` scope
is missing) the payload's handle is used and only ``slack.admin_user_ids`` count as admins.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.events import User

log = logging.getLogger(__name__)

PLATFORM = "slack"
CACHE_SECONDS = 300.0


@dataclass(frozen=True)
class Profile:
    """What the core needs to know about a person."""

    display_name: str
    is_admin: bool


class UserDirectory:
    """Turns Slack user ids into the core's users, asking ``users.info`` at most once per TTL."""

    def __init__(self, client: AsyncWebClient, admin_user_ids: Iterable[str] = (), ttl: float = CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.admin_user_ids = frozenset(admin_user_ids)
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[tuple[str, str], tuple[float, Profile]] = {}

    async def user(self, team_id: str, user_id: str, handle: str = "") -> User:
        """The core's user for ``user_id`` in workspace ``team_id``; ``handle`` names them if Slack cannot."""
        profile = await self._profile(team_id, user_id)
        name = (profile.display_name if profile else "") or handle or user_id
        admin = user_id in self.admin_user_ids or (profile is not None and profile.is_admin)
        return User(PLATFORM, team_id, user_id, name, is_admin=admin)

    async def _profile(self, team_id: str, user_id: str) -> Profile | None:
        key = (team_id, user_id)
        cached = self._cache.get(key)
        now = self.clock()
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        try:
            response = await self.client.users_info(user=user_id)
        except SlackApiError as exc:
            log.warning("users.info for %s failed (%s); using the name in the payload, and only "
                        "slack.admin_user_ids as admins", user_id, exc.response.get("error"))
            return None
        except OSError as exc:  # network trouble; the next command asks again
            log.warning("users.info for %s failed: %s", user_id, exc)
            return None
        profile = profile_of(response.get("user") or {})
        self._cache[key] = (now, profile)
        if len(self._cache) > 10_000:  # a bound for huge workspaces: forget the stalest half
            for stale in sorted(self._cache, key=lambda k: self._cache[k][0])[:5_000]:
                del self._cache[stale]
        return profile


def profile_of(user: dict[str, Any]) -> Profile:
    """A ``users.info`` user object reduced to a name and admin rights (owners administer too)."""
    profile = user.get("profile") or {}
    name = (profile.get("display_name") or profile.get("real_name") or user.get("real_name")
            or user.get("name") or "")
    admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
    return Profile(str(name).strip(), admin)
