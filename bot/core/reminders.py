"""Review reminders: a private nudge at a person's local time, exactly once per local date.

The daily challenge's guarantees (:mod:`bot.core.daily`), for one person instead of a channel:
the nudge is *claimed* (unique on reminder and local date) in the same transaction that
queues it in the outbox as a direct message, so a restart, a double tick or a second process
cannot send it twice, and a failed send is retried by the delivery worker. A day with
nothing due is claimed as "nothing due" and sends nothing; a reminder due while the bot was
down is sent late within a grace window, else skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

from bot.chat import direct_channel
from bot.core.replies import Reply, plural, reply_to_json
from bot.core.schedule import fire_instant, parse_local_time, parse_zone
from bot.store.base import Outgoing, Reminder, Store

log = logging.getLogger(__name__)


def reminder_reply(due: int) -> Reply:
    """The nudge itself."""
    return Reply(f"You have {plural(due, 'card')} due for review. Type `review` to start; "
                 "`review remind off` stops these reminders.", title="Time to review", ephemeral=True)


class ReminderPlanner:
    """Decides when reminders fire, and queues them."""

    def __init__(self, store: Store, now: Callable[[], datetime], grace: timedelta) -> None:
        self.store = store
        self.now = now
        self.grace = grace
        self._handled: set[tuple[int, date]] = set()

    async def tick(self) -> int:
        """Sends every reminder whose local time has come today; returns how many were queued."""
        now, sent = self.now(), 0
        for reminder in await self.store.reminders():
            try:
                sent += await self._check(reminder, now)
            except Exception:
                log.exception("review reminder %s for %s failed", reminder.id, reminder.learner)
        return sent

    async def _check(self, reminder: Reminder, now: datetime) -> int:
        zone = parse_zone(reminder.timezone)
        at = parse_local_time(reminder.local_time)
        today = now.astimezone(zone).date()
        sent = 0
        for day in (today - timedelta(days=1), today):
            key = (reminder.id, day)
            fire = fire_instant(day, at, zone)
            if key in self._handled or fire > now or fire <= reminder.updated_at:
                continue
            sent += await self._fire(reminder, day, now, late=now - fire > self.grace)
            self._handled.add(key)  # only once handled: a failure above is tried again next tick
        return sent

    async def _fire(self, reminder: Reminder, day: date, now: datetime, late: bool) -> int:
        if late:
            await self.store.claim_reminder(reminder.id, day, now, "skipped")
            return 0
        due, = await self.store.review_due_counts(reminder.learner, [now])
        learner = reminder.learner
        async with self.store.unit() as unit:
            if not await unit.claim_reminder(reminder.id, day, now, "sent" if due else "nothing due"):
                return 0
            if not due:
                return 0
            channel = direct_channel(learner.platform, learner.workspace, learner.user_id)
            await unit.enqueue([Outgoing(channel, "post", "review-reminder", reply_to_json(reminder_reply(due)))],
                               now)
        return 1
