"""Leaderboards and personal stats: periods in the workspace's zone, ranks, streaks."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.replies import neutralize
from bot.store.base import ScoreRow

# Each period: how titles name it, and other words people type for it. Options and titles read this.
PERIODS: dict[str, tuple[str, tuple[str, ...]]] = {
    "today": ("Today", ("day", "daily")),
    "week": ("This week", ("weekly",)),
    "month": ("This month", ("monthly",)),
    "all": ("All time", ("alltime", "all-time", "ever")),
}
TOP = 10


def period_bounds(period: str, now: datetime, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """[start, end) of the period containing ``now``, as aware datetimes; (None, None) for all time.

    Weeks start on Monday. Local midnights are converted with the zone, so a DST change inside
    the period shortens or lengthens it by an hour instead of shifting it.
    """
    today = now.astimezone(zone).date()
    if period == "all":
        return None, None
    if period == "today":
        start, end = today, today + timedelta(days=1)
    elif period == "week":
        start = today - timedelta(days=today.weekday())
        end = start + timedelta(days=7)
    else:
        start = today.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    return _midnight(start, zone), _midnight(end, zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def board_lines(rows: list[ScoreRow]) -> list[str]:
    """The top ten of ranked rows, one line each."""
    return [f"{i}. {neutralize(r.display_name)} — {r.points} pts ({r.correct}/{r.answered} right)"
            for i, r in enumerate(rows[:TOP], 1)]


def ranked(rows: list[ScoreRow]) -> list[ScoreRow]:
    """Best first. Ties: more correct answers, then whoever reached the score first, then user id."""
    return sorted(rows, key=lambda r: (-r.points, -r.correct, r.reached_at, r.user_id))


@dataclass(frozen=True)
class Streaks:
    """Consecutive local days with a correct daily answer."""

    current: int
    best: int


def streaks(days: set[date], today: date) -> Streaks:
    """The current streak counts only if it reaches today or yesterday (today's may be pending)."""
    ordered = sorted(days)
    best = run = 0
    previous: date | None = None
    for day in ordered:
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        best = max(best, run)
        previous = day
    current = run if previous is not None and (today - previous).days <= 1 else 0
    return Streaks(current=current, best=best)


@dataclass(frozen=True)
class TopicAccuracy:
    """How a user does on one topic."""

    topic: str
    answered: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


def topic_accuracy(answers: list[tuple[str, bool]]) -> list[TopicAccuracy]:
    """Per topic from (topic, correct) pairs, weakest first (ties by topic name)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for topic, correct in answers:
        counts[topic][0] += 1
        counts[topic][1] += int(correct)
    rows = [TopicAccuracy(t, a, c) for t, (a, c) in counts.items()]
    return sorted(rows, key=lambda r: (r.accuracy, r.topic))
