"""The slash commands, declared with typed options, each mapped to the core command of the same name.

Option names are the core's (see ``bot.core.events.COMMANDS``), values are passed as the
strings the core parses, so Discord adds only typing, ranges, choices and autocomplete.

No ``from __future__ import annotations`` here: discord.py reads the option types from the
annotations, and the ranges come from the config, i.e. from local variables.
"""

import logging
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord.autocomplete import question_choices, timezone_choices, topic_choices
from bot.adapters.discord.client import StudyClient, studybot_of
from bot.adapters.discord.interactions import Defer, answer_command, apologize, missing_post_permissions, on_tree_error
from bot.config import Config
from bot.core.app import MAX_QUERY

log = logging.getLogger(__name__)
Choices = list[app_commands.Choice[str]]
PERIODS = [app_commands.Choice(name="Today", value="today"), app_commands.Choice(name="This week", value="week"),
           app_commands.Choice(name="This month", value="month"), app_commands.Choice(name="All time", value="all")]


async def suggest_questions(interaction: discord.Interaction[Any], current: str) -> Choices:
    """Autocomplete for /ask: deck questions matching what has been typed."""
    try:
        return question_choices(studybot_of(interaction).library, current)
    except Exception:  # an autocomplete failure must not cost the user their typing
        log.exception("question suggestions for %r failed", current)
        return []


async def suggest_topics(interaction: discord.Interaction[Any], current: str) -> Choices:
    """Autocomplete for topic options: deck topics."""
    try:
        return topic_choices(studybot_of(interaction).library, current)
    except Exception:
        log.exception("topic suggestions for %r failed", current)
        return []


async def suggest_timezones(interaction: discord.Interaction[Any], current: str) -> Choices:
    """Autocomplete for /daily set timezone: IANA zone names."""
    return timezone_choices(current)


async def _refuse_if_cannot_post(interaction: discord.Interaction[Any]) -> bool:
    """True (after telling the user what to grant) when the bot could not post rounds in this channel."""
    missing = missing_post_permissions(interaction)
    if missing:
        await apologize(interaction, f"I can't post questions in this channel: I need {', '.join(missing)} here. "
                                     "Ask an admin to grant them, or use another channel.")
    return bool(missing)


def add_commands(tree: app_commands.CommandTree[StudyClient], config: Config) -> None:
    """Declares every slash command on ``tree`` (and its error handler)."""
    quiz = config.quiz
    questions_range = app_commands.Range[int, 1, quiz.max_questions]
    seconds_range = app_commands.Range[int, quiz.min_seconds, quiz.max_seconds]

    @tree.command(name="ask", description="Look up a concept in the decks")
    @app_commands.describe(query="Your question, e.g. what is eager execution")
    @app_commands.autocomplete(query=suggest_questions)
    async def ask(interaction: discord.Interaction[Any], query: app_commands.Range[str, 1, MAX_QUERY]) -> None:
        await answer_command(interaction, "ask", {"query": query}, defer=Defer.AUTO)

    @tree.command(name="quiz", description="Start a quiz round in this channel")
    @app_commands.describe(topic="Only questions on this topic", questions="How many questions in a row",
                           seconds="Seconds to answer each question")
    @app_commands.autocomplete(topic=suggest_topics)
    async def quiz_command(interaction: discord.Interaction[Any], topic: str | None = None,
                           questions: questions_range | None = None,  # type: ignore[valid-type]
                           seconds: seconds_range | None = None) -> None:  # type: ignore[valid-type]
        if await _refuse_if_cannot_post(interaction):
            return
        await answer_command(interaction, "quiz", _options(topic=topic, questions=questions, seconds=seconds),
                             defer=Defer.PRIVATE)

    @tree.command(name="leaderboard", description="Top 10 for today, this week, this month or all time")
    @app_commands.describe(period="Which days count (default: this week)", topic="Only points from this topic")
    @app_commands.choices(period=PERIODS)
    @app_commands.autocomplete(topic=suggest_topics)
    async def leaderboard(interaction: discord.Interaction[Any], period: app_commands.Choice[str] | None = None,
                          topic: str | None = None) -> None:
        await answer_command(interaction, "leaderboard",
                             _options(period=period.value if period else None, topic=topic), defer=Defer.PUBLIC)

    @tree.command(name="stats", description="Answers, accuracy, streaks and weakest topics")
    @app_commands.describe(user="Whose stats (default: yours)")
    async def stats(interaction: discord.Interaction[Any], user: discord.Member | discord.User | None = None) -> None:
        private = config.discord.private_stats
        await answer_command(interaction, "stats", _options(user=user.id if user else None,
                                                           user_name=user.display_name if user else None),
                             defer=Defer.PRIVATE if private else Defer.PUBLIC, public=not private)

    @tree.command(name="topics", description="Decks and topics with their entry and card counts")
    async def topics(interaction: discord.Interaction[Any]) -> None:
        await answer_command(interaction, "topics", {})

    @tree.command(name="help", description="What StudyBot can do")
    async def help_command(interaction: discord.Interaction[Any]) -> None:
        await answer_command(interaction, "help", {})

    # Discord hides the group from members without Manage Server by default; servers can
    # change that, so the core checks again (User.is_admin) on every run.
    daily = app_commands.Group(name="daily", description="Admins: a daily challenge in this channel",
                               guild_only=True, default_permissions=discord.Permissions(manage_guild=True))

    @daily.command(name="set", description="Post a daily challenge here every day at a local time")
    @app_commands.describe(time="Local time, 24-hour HH:MM, e.g. 09:00", timezone="Time zone, e.g. Europe/Berlin",
                           questions="Questions per day", topic="Only questions on this topic")
    @app_commands.autocomplete(timezone=suggest_timezones, topic=suggest_topics)
    async def daily_set(interaction: discord.Interaction[Any], time: app_commands.Range[str, 1, 16],
                        timezone: app_commands.Range[str, 1, 64],
                        questions: app_commands.Range[int, 1, 5] | None = None, topic: str | None = None) -> None:
        if await _refuse_if_cannot_post(interaction):
            return
        await answer_command(interaction, "daily", _options(action="set", time=time, timezone=timezone,
                                                            questions=questions, topic=topic), defer=Defer.PRIVATE)

    @daily.command(name="show", description="Show this channel's daily challenge")
    async def daily_show(interaction: discord.Interaction[Any]) -> None:
        await answer_command(interaction, "daily", {"action": "show"}, defer=Defer.PRIVATE)

    @daily.command(name="off", description="Stop this channel's daily challenge")
    async def daily_off(interaction: discord.Interaction[Any]) -> None:
        await answer_command(interaction, "daily", {"action": "off"}, defer=Defer.PRIVATE)

    tree.add_command(daily)
    tree.error(on_tree_error)


def _options(**values: object) -> dict[str, str]:
    """The options that were given, as the strings the core parses."""
    return {name: str(value) for name, value in values.items() if value is not None}
