"""Slack's retries, recognised: a delivery Slack sends again is acknowledged but not handled again.

Slack resends a request it thinks went unanswered (``X-Slack-Retry-Num``; Socket Mode sets the
same header for its ``retry_attempt``). Handling a resend would post a quiz round twice or
count a press twice, so every delivery is remembered by the id Slack gave it (``event_id``
for events, ``trigger_id`` for commands and presses) for longer than Slack keeps retrying
(its last retry comes about 5 minutes after the first try). A delivery is remembered when it
arrives, not when it is done, so a resend that overtakes a slow original is dropped too.
The core refuses double answers in the database as a second line of defence.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.core.clock import Clock
from bot.store.base import Store

log = logging.getLogger(__name__)

REMEMBER_SECONDS = 15 * 60.0


def delivery_id(body: dict[str, Any]) -> str | None:
    """The id that stays the same when Slack resends this delivery, or None if it has none."""
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    actions = body.get("actions") or []
    if actions and isinstance(actions[0], dict) and actions[0].get("action_ts"):
        user = body.get("user") or {}
        return f"action:{user.get('id', '')}:{actions[0]['action_ts']}"
    return None


class DeliveryLog:
    """Delivery ids seen in the last ``ttl`` seconds, oldest first so expiry is cheap."""

    def __init__(self, ttl: float = REMEMBER_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen within ``ttl``; it is remembered from now on."""
        now = self.clock()
        while self._seen:
            oldest, seen_at = next(iter(self._seen.items()))
            if now - seen_at < self.ttl:
                break
            del self._seen[oldest]
        if key in self._seen:
            return False
        self._seen[key] = now
        return True


class SharedDeliveryLog:
    """Delivery ids remembered in the store, for HTTP workers side by side on one database: a resend
    load-balanced to another worker than the original is recognised there too."""

    def __init__(self, store: Store, clock: Clock, ttl: float = REMEMBER_SECONDS) -> None:
        self.store = store
        self.clock = clock
        self.ttl = ttl

    async def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen by any process within ``ttl``."""
        return await self.store.first_delivery(key, self.clock.now(), self.ttl)


class RetryFilter(AsyncMiddleware):
    """Bolt middleware: answers a resent delivery with an empty 200 (so Slack stops) and drops it.

    It runs after bolt's signature check, so a forged request cannot mark an id as seen.
    """

    def __init__(self, deliveries: DeliveryLog | SharedDeliveryLog | None = None) -> None:
        self.deliveries = deliveries or DeliveryLog()

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse | None:
        key = delivery_id(req.body)
        first = key is None or self.deliveries.first_time(key)
        if not isinstance(first, bool):
            first = await first
        if first:
            return await next()
        retry = req.headers.get("x-slack-retry-num", ["?"])[0]
        reason = req.headers.get("x-slack-retry-reason", ["unknown"])[0]
        log.info("ignored Slack's resend #%s of %s (reason: %s): it was already taken in", retry, key, reason)
        return BoltResponse(status=200, body="")
