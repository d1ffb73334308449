"""Standings: ``leaderboard`` (the workspace's top ten) and ``stats`` (one member's record)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.chat import User
from bot.core.catalog import Args
from bot.core.events import CommandEvent
from bot.core.replies import Field, Reply, neutralize, plural
from bot.core.reviews import Progress
from bot.core.standings import PERIODS, TOP, board_lines, period_bounds, ranked, streaks, topic_accuracy
from bot.store.base import Learner

if TYPE_CHECKING:
    from bot.core.app import StudyBot


async def zone_of(bot: StudyBot, user: User) -> ZoneInfo:
    """The workspace's zone (set by ``daily set``), else the configured one: where days begin."""
    name = await bot.store.workspace_timezone(user.platform, user.workspace)
    return ZoneInfo(name or bot.config.bot.timezone)


async def leaderboard(bot: StudyBot, event: CommandEvent, args: Args) -> list[Reply]:
    """Top 10 of the workspace for a period, plus the caller's own rank when outside it."""
    user, period, topic = event.user, args.text("period") or "week", args.text("topic")
    zone = await zone_of(bot, user)
    since, until = period_bounds(period, bot.clock.now(), zone)
    # By the card's topic: a quiz round's own topic is only its filter (None in a mixed quiz).
    cards = bot.library.topic_cards(topic) if topic else None
    rows = ranked(await bot.store.scores(user.platform, user.workspace, since, until, cards))
    title = f"Leaderboard: {PERIODS[period][0]}" + (f" · {topic}" if topic else "")
    if not rows:
        return [Reply("No points yet in this period. Start one with `quiz`!", title=title)]
    lines = board_lines(rows)
    mine = next((i for i, r in enumerate(rows, 1) if r.user_id == user.user_id), None)
    if mine and mine > TOP:
        lines.append(f"…\n{mine}. you — {rows[mine - 1].points} pts")
    elif mine is None:
        lines.append("You have no points in this period yet.")
    return [Reply("\n".join(lines), title=title, footer=f"Days and weeks in {zone.key}")]


async def stats(bot: StudyBot, event: CommandEvent, args: Args) -> list[Reply]:
    """Answers, accuracy, daily streak and weakest topics: the caller's, or a named member's."""
    typed = args.text("user") or ""
    target, name = mentioned(typed)
    target = target or event.user.user_id
    user = event.user
    private = bot.config.bot.private_stats
    answers = await bot.store.user_answers(user.platform, user.workspace, target)
    who = "You" if target == user.user_id else neutralize(event.options.get("user_name") or name or target)
    zone = await zone_of(bot, user)
    progress = await bot.reviews.progress(Learner(user.platform, user.workspace, target), zone)
    if not answers and progress is not None:
        return [Reply("No quiz answers yet.", title=f"Stats: {who}", fields=review_fields(progress),
                      ephemeral=private)]
    if not answers:
        if who == "You":
            return [Reply("You have not answered any questions yet.", ephemeral=True)]
        if name is None and "user_name" not in event.options and not typed.strip().startswith("<@"):
            return [Reply(f"I have no answers from anyone called `{who}` here. Name a member with a mention, "
                          "e.g. `stats @alice`, or leave the name out for your own stats.", ephemeral=True)]
        return [Reply(f"{who} has not answered any questions yet.", ephemeral=True)]
    correct = sum(1 for _, _, ok, _ in answers if ok)
    streak = streaks({d for _, kind, ok, d in answers if kind == "daily" and ok and d},
                     bot.clock.now().astimezone(zone).date())
    by_topic = topic_accuracy([(_card_topic(bot, card_id), ok) for card_id, _, ok, _ in answers])
    fields: tuple[Field, ...] = (
        Field("Answered", str(len(answers))),
        Field("Accuracy", f"{correct / len(answers):.0%}"),
        Field("Daily streak", f"{streak.current} (best {streak.best})"),
        Field("By topic", "\n".join(f"{t.topic}: {t.accuracy:.0%} of {t.answered}" for t in by_topic[:8]),
              inline=False),
    )
    if progress is not None:
        fields += review_fields(progress)
    weakest = [t.topic for t in by_topic if t.accuracy < 1][:2]
    body = f"Weakest topics: {', '.join(weakest)}. Try `quiz {weakest[0]}`." if weakest else "No weak topics!"
    return [Reply(body, title=f"Stats: {who}", fields=fields, ephemeral=private)]


def review_fields(progress: Progress) -> tuple[Field, ...]:
    """Spaced-repetition progress: what is due, how well it is remembered, and the last weeks' activity."""
    retention = (f"{progress.retention:.0%} of {progress.retention_reviews}" if progress.retention is not None
                 else "no reviews of learned cards yet")
    return (
        Field("Due", f"{progress.due_today} today · {progress.due_week} within 7 days"),
        Field("Retention (30 days)", retention),
        Field("Review streak", f"{plural(progress.streak, 'day')} (best {progress.best_streak})"),
        # A code block: one character per day lines up in columns on every platform.
        Field("Reviews, last 8 weeks", f"```\n{progress.heatmap}\n```", inline=False),
    )


def _card_topic(bot: StudyBot, card_id: str) -> str:
    card = bot.library.card(card_id)
    return card.topic if card else "retired cards"


def mentioned(text: str) -> tuple[str, str | None]:
    """The user id and, where the mention carries one, the name in ``<@123>``, ``<@!123>``, ``<@U123|name>``."""
    text = text.strip()
    if text.startswith("<@") and text.endswith(">"):
        user_id, _, name = text[2:-1].lstrip("!").partition("|")
        return user_id, name or None
    return text.lstrip("@"), None
