"""The daily challenge: fire each schedule exactly once per local date, late within a grace window.

Exactly-once comes from the store: a fire is *claimed* (unique on schedule and local date) in
the same transaction that queues its posts in the outbox, so a restart, a second process or a
double tick cannot post twice, and a failed post or a crash cannot lose the day's challenge
(the outbox delivers it, retrying, see :mod:`bot.core.delivery`).

Question choice, per channel: cards the channel has had least often come first (so nothing
repeats until the pool, filtered by the schedule's topic, is used up); among those, cards
whose entry the channel answers worst come first (entries never answered count as 50%);
remaining ties are broken by a shuffle seeded with the channel and date, so it is
deterministic but not alphabetical.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

from bot.core.schedule import fire_instant, parse_local_time, parse_zone
from bot.core.shelf import Shelf
from bot.kb.library import Library
from bot.kb.model import QuizCard
from bot.store.base import Schedule, Store

log = logging.getLogger(__name__)

# Claims the fire and queues its posts in one transaction; False if the day had already fired.
OpenDaily = Callable[[Schedule, date, list[QuizCard]], Awaitable[bool]]


class DailyPlanner:
    """Decides when schedules fire and which cards they post."""

    def __init__(self, shelf: Shelf, store: Store, now: Callable[[], datetime], grace: timedelta) -> None:
        self.shelf = shelf
        self.store = store
        self.now = now
        self.grace = grace
        self._handled: set[tuple[int, date]] = set()

    @property
    def library(self) -> Library:
        """The decks in service now."""
        return self.shelf.library

    async def tick(self, open_daily: OpenDaily) -> None:
        """Fires every schedule whose time has come and that has not fired for that local date."""
        now = self.now()
        for schedule in await self.store.schedules():
            try:
                await self._check(schedule, now, open_daily)
            except Exception:
                log.exception("daily schedule %s for %s failed", schedule.id, schedule.channel)

    async def _check(self, schedule: Schedule, now: datetime, open_daily: OpenDaily) -> None:
        zone = parse_zone(schedule.timezone)
        at = parse_local_time(schedule.local_time)
        today = now.astimezone(zone).date()
        for day in (today - timedelta(days=1), today):
            key = (schedule.id, day)
            fire = fire_instant(day, at, zone)
            if key in self._handled or fire > now or fire <= schedule.updated_at:
                continue
            late = now - fire
            if late > self.grace:
                if await self.store.claim_fire(schedule.id, day, now, "skipped"):
                    log.warning("daily challenge for %s on %s skipped: the bot was down at %s and came back "
                                "%s later, past the %s grace window", schedule.channel, day, fire, late, self.grace)
            else:
                cards = await self.choose(schedule, day)
                if cards:
                    await open_daily(schedule, day, cards)
                elif await self.store.claim_fire(schedule.id, day, now, "posted"):
                    log.warning("daily challenge for %s: no cards for topic %r", schedule.channel, schedule.topic)
            # Only once handled: a failure above is tried again on the next check (the claim and the
            # posts are one transaction, so a retry can never post twice).
            self._handled.add(key)

    async def choose(self, schedule: Schedule, day: date) -> list[QuizCard]:
        """The day's cards by the rule in this module's docstring."""
        scope = self.library.topic_cards(schedule.topic) if schedule.topic else None
        pool = [c for d in self.library.decks for c in d.cards
                if (scope is None or c.id in scope) and (c.answers or not schedule.typed)]
        if not pool:
            return []
        used = Counter(await self.store.used_daily_cards(schedule.channel))
        stats = await self.store.channel_card_stats(schedule.channel)
        entry_totals: dict[str, list[int]] = {}
        for card_id, (answered, correct) in stats.items():
            card = self.library.card(card_id)
            if card is not None:
                totals = entry_totals.setdefault(card.entry_id, [0, 0])
                totals[0] += answered
                totals[1] += correct

        def accuracy(card: QuizCard) -> float:
            answered, correct = entry_totals.get(card.entry_id, (0, 0))
            return correct / answered if answered else 0.5

        shuffle = random.Random(f"{schedule.channel}:{day.isoformat()}")
        tiebreak = {c.id: shuffle.random() for c in pool}
        ranked = sorted(pool, key=lambda c: (used[c.id], accuracy(c), tiebreak[c.id]))
        return _one_per_entry_first(ranked, schedule.questions)


def _one_per_entry_first(ranked: list[QuizCard], wanted: int) -> list[QuizCard]:
    """The first ``wanted`` cards of ``ranked``, at most one per entry while other entries remain.

    A second pass fills up from the rest in rank order, so a topic with fewer entries than the
    schedule's questions (3 entries, 9 cards, 5 questions) still gets all its questions.
    """
    chosen: list[QuizCard] = []
    for card in ranked:
        if len(chosen) < wanted and all(c.entry_id != card.entry_id for c in chosen):
            chosen.append(card)
    rest = [c for c in ranked if c not in chosen]
    chosen.extend(rest[:wanted - len(chosen)])
    return chosen
