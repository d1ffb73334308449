"""Commands through the core: ask, input hygiene, cooldowns, leaderboards, stats, topics, help,
failing handlers and which questions a channel gets. All time comes from a FakeClock."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from types import MappingProxyType

import pytest

from bot.config import BotSection, Config, CooldownSection
from bot.core import app, buttons, cooldowns
from bot.core.app import APOLOGY, StudyBot
from bot.core.commands import CATALOG, lookup
from bot.core.events import Channel, CommandEvent, User
from bot.core.parsing import parse_command
from bot.core.rounds import LETTERS
from bot.core.standings import ranked
from bot.kb.model import QuizCard
from bot.store.base import AnswerRecord, RoundRecord, ScoreRow
from tests.clock import FakeClock
from tests.core.fakes import CHANNEL, command, library, make_bot, press, user

NO_COOLDOWNS = Config(cooldowns=CooldownSection(ask_seconds=0, quiz_seconds=0))
ADMIN = user("admin", admin=True)


def no_cooldowns(timezone: str = "UTC") -> Config:
    return Config(bot=BotSection(timezone=timezone), cooldowns=CooldownSection(ask_seconds=0, quiz_seconds=0))


def ask_event(query: str, who: User | None = None) -> CommandEvent:
    """An ``ask`` with the query passed as is (as Discord's typed options do), not re-parsed."""
    return CommandEvent(who or user("alice"), CHANNEL, "ask", MappingProxyType({"query": query}))


def wrong_choice(card: QuizCard) -> int:
    return (card.correct_index + 1) % len(card.choices)


async def play_quiz(bot: StudyBot, clock: FakeClock, answers: dict[User, bool], topic: str = "",
                    host: User | None = None) -> QuizCard:
    """Starts a 5 s quiz, has each user answer right or wrong, then lets it close and reveal."""
    [started] = await bot.handle_command(command(f"quiz {topic} seconds 5", host or user("host")))
    assert "Quiz started" in started.body, started.body
    round_id = max(bot.quiz.open)
    card = bot.library.card(bot.quiz.open[round_id].card_id)
    assert card is not None
    for who, right in answers.items():
        choice = card.correct_index if right else wrong_choice(card)
        [ack] = await bot.handle_button(press(f"answer:{round_id}:{choice}", who))
        assert "locked in" in ack.body
    clock.advance(seconds=6)
    await bot.tick()
    assert round_id not in bot.quiz.open
    return card


# A ping is @everyone/@here/@channel as plain text, or Discord's <@id>, <@&role>, Slack's <!here>, <#C1>.
_PING = re.compile(r"@(everyone|here|channel)\b|<[@!#]", re.IGNORECASE)
HOSTILE = "@everyone @here <@&42> <@!7> <!channel> <!subteam^S1>"


def assert_cannot_ping(text: str) -> None:
    assert not _PING.search(text), text
    assert "@\u200beveryone" in text  # echoed, defused (not silently dropped)


# ask: answer card, suggestions, gaps


async def test_confident_answer_is_a_public_card_with_topic_related_entries_and_practice() -> None:
    bot, _, _ = await make_bot(config=NO_COOLDOWNS)
    entry = bot.library.entry("tensorflow/eager-execution")
    assert entry is not None
    for query in ("what is eager execution", "wat is eagr execution"):  # typos too
        [card] = await bot.handle_command(command(f"ask {query}"))
        assert not card.ephemeral
        assert card.title == entry.question
        assert card.body == entry.answer
        assert card.footer == "Basic Concepts and TensorFlow Overview · tensorflow"
        *related, practice = card.buttons
        assert [b.id for b in related] == [buttons.ask_id(f"tensorflow/{r}") for r in entry.related[:3]]
        assert practice.id == buttons.practice_id("tensorflow/eager-execution")
        assert practice.label == "Quiz me on this" and practice.style == "primary"
    assert await bot.store.gaps(10) == []  # a confident answer is not a gap


async def test_every_answer_card_has_at_most_three_related_entries_and_one_practice_button() -> None:
    bot, _, _ = await make_bot()
    for deck in bot.library.decks:
        for entry in deck.entries:
            card = lookup.answer_card(bot, entry)
            related = [b for b in card.buttons if b.id.startswith(buttons.ask_id(""))]
            practice = [b for b in card.buttons if b.id.startswith(buttons.practice_id(""))]
            assert len(related) <= 3 and len(practice) == (1 if entry.quiz else 0), entry.id
            assert card.title == entry.question


async def test_unsure_query_offers_at_most_three_suggestions_whose_press_shows_that_card() -> None:
    bot, _, _ = await make_bot()
    [unsure] = await bot.handle_command(command("ask tensor board games"))
    assert unsure.ephemeral
    assert unsure.body.startswith('I have no confident answer for "tensor board games". Did you mean:\n1. ')
    assert 1 <= len(unsure.buttons) <= 3
    for number, button in enumerate(unsure.buttons, 1):
        assert button.id.startswith(buttons.ask_id(""))
        entry = bot.library.entry(button.id.removeprefix(buttons.ask_id("")))
        assert entry is not None
        assert f"\n{number}. {entry.question}" in unsure.body
        [picked] = await bot.handle_button(press(button.id, user("alice")))
        assert picked.ephemeral  # a picked suggestion stays private
        assert picked.title == entry.question and picked.body == entry.answer
        assert any(b.label == "Quiz me on this" for b in picked.buttons)


async def test_query_with_nothing_close_says_so_without_buttons() -> None:
    bot, _, _ = await make_bot()
    [reply] = await bot.handle_command(command("ask how do I center a div"))
    assert reply.ephemeral and reply.buttons == ()
    assert reply.body == ('I have no confident answer for "how do I center a div" and nothing close in the decks. '
                          "Try other words, or `topics` to see what I cover.")


async def test_unanswered_queries_are_recorded_most_asked_first() -> None:
    bot, _, clock = await make_bot(config=NO_COOLDOWNS)
    asked = ["what is kubernetes", "tensor board games", "how do I center a div", "tensor board games",
             "How do I  center a DIV", "what is eager execution", "how do I center a div"]
    for query in asked:
        clock.advance(seconds=1)
        await bot.handle_command(command(f"ask {query}", user("alice")))
    gaps = await bot.store.gaps(10)
    # The same question in other case or spacing counts as one; the latest wording is kept.
    assert [(query, times) for query, times, _ in gaps] == [
        ("how do I center a div", 3), ("tensor board games", 2), ("what is kubernetes", 1)]
    assert gaps[0][2] == clock.now()
    assert [q for q, _, _ in await bot.store.gaps(1)] == ["how do I center a div"]


async def test_a_full_disk_never_turns_a_declined_question_into_an_apology(caplog: pytest.LogCaptureFixture) -> None:
    bot, _, _ = await make_bot(config=NO_COOLDOWNS)
    # SQLite's own "database or disk is full": the file may not grow by a single page.
    async with bot.store._db.execute("PRAGMA page_count") as cursor:  # type: ignore[attr-defined]
        pages = (await cursor.fetchone())[0]
    await bot.store._db.execute(f"PRAGMA max_page_count = {pages}")  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING):
        for i in range(40):  # long distinct questions: the gaps table soon needs a page it cannot have
            [reply] = await bot.handle_command(command(f"ask how do I center a div number {i} " + "x" * 250))
            assert reply.body.startswith("I have no confident answer"), reply.body
        await bot.store.gaps(1)  # waits for the gap writes still queued
    assert any("disk is full" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_declined_question_is_answered_while_the_database_is_locked(tmp_path: Path) -> None:
    """Recording the gap waits for the database; the reply does not wait for the gap."""
    path = tmp_path / "bot.sqlite3"
    bot, _, _ = await make_bot(path, config=NO_COOLDOWNS)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock (busy_timeout is 5 s)
    try:
        [reply] = await asyncio.wait_for(bot.handle_command(command("ask how do I center a div")), 2)
        assert reply.body.startswith("I have no confident answer")
    finally:
        other.rollback()
        other.close()
    assert [q for q, _, _ in await bot.store.gaps(5)] == ["how do I center a div"]


# Input hygiene


@pytest.mark.parametrize(("query", "expected"), [
    ("", "Ask me something, e.g. `ask what is dropout`."),
    ("   \t ", "Ask me something, e.g. `ask what is dropout`."),
    ("x" * 301, "That question is 301 characters long; please keep it under 300."),
    ("what is\x00 dropout", "Your question contains control characters; please type it as plain text."),
    ("\x1b[2J what is dropout", "Your question contains control characters; please type it as plain text."),
    ("what is dropout\x7f", "Your question contains control characters; please type it as plain text."),
    ("what is\r dropout", "Your question contains control characters; please type it as plain text."),
    ("\x9b31m what is dropout", "Your question contains control characters; please type it as plain text."),
])
async def test_empty_oversized_and_control_character_input_is_answered_clearly(query: str, expected: str) -> None:
    bot, _, _ = await make_bot()
    [reply] = await bot.handle_command(ask_event(query))
    assert reply.ephemeral and reply.body == expected
    assert await bot.store.gaps(10) == []  # refused input is not a gap in the decks


async def test_ask_without_a_query_is_answered_with_an_example() -> None:
    bot, _, _ = await make_bot()
    [reply] = await bot.handle_command(command("ask"))
    assert reply.body == "Ask me something, e.g. `ask what is dropout`."


async def test_longest_allowed_query_and_tabs_or_newlines_are_accepted() -> None:
    bot, _, _ = await make_bot(config=NO_COOLDOWNS)
    [longest] = await bot.handle_command(ask_event("eager execution " + "x" * 284))
    assert "characters long" not in longest.body
    [tabbed] = await bot.handle_command(ask_event("what is\teager\nexecution"))
    assert tabbed.title == bot.library.entry("tensorflow/eager-execution").question  # type: ignore[union-attr]


async def test_echoed_query_cannot_ping() -> None:
    bot, _, _ = await make_bot()
    [reply] = await bot.handle_command(ask_event(HOSTILE))
    assert reply.body.startswith("I have no confident answer for")
    assert_cannot_ping(reply.body)


@pytest.mark.parametrize("text", [f"quiz {HOSTILE}", "quiz questions @everyone", "leaderboard all @everyone"])
async def test_echoed_options_cannot_ping(text: str) -> None:
    bot, _, _ = await make_bot()
    [reply] = await bot.handle_command(command(text))
    assert reply.ephemeral
    assert_cannot_ping(reply.body)


async def test_unknown_command_name_cannot_ping() -> None:
    bot, _, _ = await make_bot()
    [reply] = await bot.handle_command(CommandEvent(user("alice"), CHANNEL, "@everyone"))
    assert reply.body.startswith("I don't know the command")
    assert_cannot_ping(reply.body)


@pytest.mark.parametrize("text", ["daily set @everyone UTC", "daily set 09:00 @everyone"])
async def test_daily_set_refusal_quoting_the_admins_text_cannot_ping(text: str) -> None:
    bot, _, _ = await make_bot()
    [reply] = await bot.handle_command(command(text, ADMIN))
    assert "Example: `daily set 09:00 Europe/Berlin`." in reply.body
    assert_cannot_ping(reply.body)


async def test_stats_target_name_cannot_ping() -> None:
    bot, _, _ = await make_bot()
    options = MappingProxyType({"user": "<@U9>", "user_name": HOSTILE})
    [reply] = await bot.handle_command(CommandEvent(user("alice"), CHANNEL, "stats", options))
    assert reply.body.endswith("has not answered any questions yet.")
    assert_cannot_ping(reply.body)


async def test_display_names_on_the_leaderboard_cannot_ping() -> None:
    bot, _, clock = await make_bot()
    prankster = User("test", "w1", "u-prank", HOSTILE)
    await play_quiz(bot, clock, {prankster: True})
    [board] = await bot.handle_command(command("leaderboard all"))
    assert board.body.startswith("1. @\u200beveryone")
    assert_cannot_ping(board.body)


async def test_the_leaderboard_shows_the_name_a_member_uses_now() -> None:
    bot, _, clock = await make_bot()
    await play_quiz(bot, clock, {User("test", "w1", "u-sam", "Zed"): True}, host=user("ann"))
    await play_quiz(bot, clock, {User("test", "w1", "u-sam", "Sam"): True}, host=user("ben"))
    [board] = await bot.handle_command(command("leaderboard all"))
    assert board.body.splitlines()[0] == "1. Sam — 20 pts (2/2 right)"


# Cooldowns


async def test_ask_cooldown_refuses_the_same_user_until_it_has_passed() -> None:
    bot, _, clock = await make_bot(config=Config(cooldowns=CooldownSection(ask_seconds=3, quiz_seconds=0)))
    alice, bob = user("alice"), user("bob")
    [first] = await bot.handle_command(command("ask what is eager execution", alice))
    assert first.title
    [again] = await bot.handle_command(command("ask what is dropout", alice))
    assert again.ephemeral and again.body == "Easy there: you can use `ask` again in 3 s."
    [other] = await bot.handle_command(command("ask what is dropout", bob))  # per user
    assert other.title
    clock.advance(seconds=2)
    [still] = await bot.handle_command(command("ask what is dropout", alice))
    assert still.body == "Easy there: you can use `ask` again in 1 s."
    clock.advance(seconds=1)
    [allowed] = await bot.handle_command(command("ask what is dropout", alice))
    assert allowed.title


async def test_expired_cooldowns_are_forgotten_once_many_are_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cooldowns, "MAX_COOLDOWNS", 3)
    bot, _, clock = await make_bot(config=Config(cooldowns=CooldownSection(ask_seconds=3, quiz_seconds=5)))
    for name in ("ann", "ben", "cat"):
        await bot.handle_command(command("ask what is dropout", user(name)))
    clock.advance(seconds=6)  # past every cooldown
    await bot.handle_command(command("ask what is dropout", user("dan")))
    await bot.handle_command(command("ask what is dropout", user("eve")))
    assert {key[2] for key in bot.cooldowns.last_use} == {"u-dan", "u-eve"}
    [refused] = await bot.handle_command(command("ask what is a tensor", user("eve")))
    assert refused.body.startswith("Easy there")  # a live cooldown is kept


async def test_refused_input_does_not_use_up_the_ask_cooldown() -> None:
    bot, _, _ = await make_bot()  # default: ask every 3 s
    [empty] = await bot.handle_command(ask_event(""))
    assert empty.body.startswith("Ask me something")
    [answered] = await bot.handle_command(command("ask what is eager execution"))
    assert answered.title


async def test_zero_cooldown_turns_it_off() -> None:
    bot, _, clock = await make_bot(config=NO_COOLDOWNS)
    for _ in range(5):
        [reply] = await bot.handle_command(command("ask what is eager execution"))
        assert reply.title and "Easy there" not in reply.body
    alice = user("alice")
    await play_quiz(bot, clock, {}, host=alice)
    await play_quiz(bot, clock, {}, host=alice)  # straight after the first closed


async def test_quiz_cooldown_and_a_busy_channel_does_not_use_it_up() -> None:
    bot, _, clock = await make_bot(config=Config(cooldowns=CooldownSection(ask_seconds=0, quiz_seconds=20)))
    alice, bob = user("alice"), user("bob")
    [started] = await bot.handle_command(command("quiz seconds 5", alice))
    assert "Quiz started" in started.body
    [busy] = await bot.handle_command(command("quiz seconds 5", bob))
    assert "already running" in busy.body
    clock.advance(seconds=6)
    await bot.tick()
    [again] = await bot.handle_command(command("quiz seconds 5", alice))
    assert again.ephemeral and again.body == "Easy there: you can use `quiz` again in 14 s."
    [bob_now] = await bot.handle_command(command("quiz seconds 5", bob))  # his refusal did not count
    assert "Quiz started" in bob_now.body
    clock.advance(seconds=14)
    await bot.tick()
    [later] = await bot.handle_command(command("quiz seconds 5", alice))
    assert "Quiz started" in later.body


# Leaderboards


async def test_top_ten_with_ranks_and_the_callers_own_rank_further_down() -> None:
    bot, _, clock = await make_bot(config=NO_COOLDOWNS)
    players = [user(f"p{i:02}") for i in range(12)]
    for n in range(12):  # player i answers right in rounds 0..11-i: 12, 11, ..., 1 right answers
        await play_quiz(bot, clock, {p: True for i, p in enumerate(players) if n <= 11 - i})
    [board] = await bot.handle_command(command("leaderboard all", players[11]))
    lines = board.body.splitlines()
    assert lines[:10] == [f"{rank}. P{rank - 1:02} — {(13 - rank) * 10} pts ({13 - rank}/{13 - rank} right)"
                          for rank in range(1, 11)]
    assert lines[10:] == ["…", "12. you — 10 pts"]
    assert board.title == "Leaderboard: All time" and not board.ephemeral
    [top] = await bot.handle_command(command("leaderboard all", players[0]))
    assert len(top.body.splitlines()) == 10  # inside the top 10: no extra line
    [outsider] = await bot.handle_command(command("leaderboard all", user("newcomer")))
    assert outsider.body.splitlines()[-1] == "You have no points in this period yet."


async def test_tie_goes_to_whoever_reached_the_score_first_not_whoever_answered_first() -> None:
    bot, _, clock = await make_bot(config=NO_COOLDOWNS)
    alice, bob = user("alice"), user("bob")
    await play_quiz(bot, clock, {alice: False})  # alice answers first of all, but wrong
    [started] = await bot.handle_command(command("quiz seconds 5", user("host")))
    assert "Quiz started" in started.body
    round_id = max(bot.quiz.open)
    card = bot.library.card(bot.quiz.open[round_id].card_id)
    assert card is not None
    await bot.handle_button(press(f"answer:{round_id}:{card.correct_index}", bob))
    clock.advance(seconds=1)
    await bot.handle_button(press(f"answer:{round_id}:{card.correct_index}", alice))
    clock.advance(seconds=5)
    await bot.tick()
    [board] = await bot.handle_command(command("leaderboard all"))
    assert board.body.splitlines() == ["1. Bob — 10 pts (1/1 right)", "2. Alice — 10 pts (1/2 right)"]


async def test_full_tie_at_the_same_instant_is_broken_by_user_id_not_name() -> None:
    bot, _, clock = await make_bot()
    zed, aaron = User("test", "w1", "u-1", "Zed"), User("test", "w1", "u-2", "Aaron")
    await play_quiz(bot, clock, {aaron: True, zed: True})  # the fake clock does not move between presses
    [board] = await bot.handle_command(command("leaderboard all"))
    assert [line.split(" — ")[0] for line in board.body.splitlines()[:2]] == ["1. Zed", "2. Aaron"]


def test_equal_points_rank_more_right_answers_first() -> None:
    at = datetime(2026, 3, 2, tzinfo=UTC)
    rows = [ScoreRow("u-a", "A", 20, 1, 1, at), ScoreRow("u-b", "B", 20, 2, 2, at.replace(hour=5))]
    assert [r.user_id for r in ranked(rows)] == ["u-b", "u-a"]


async def answer_at(bot: StudyBot, clock: FakeClock, when: datetime, who: User) -> None:
    clock.set(when)
    await play_quiz(bot, clock, {who: True})


async def board_names(bot: StudyBot, period: str, who: User | None = None) -> list[str]:
    [board] = await bot.handle_command(command(f"leaderboard {period}", who or user("viewer")))
    return [line.split(" — ")[0].split(". ", 1)[1] for line in board.body.splitlines() if " — " in line]


async def test_an_answer_just_after_local_midnight_counts_for_the_new_local_day() -> None:
    # 2026-03-01 23:30 UTC is Monday 2 March 00:30 in Berlin: a new day, week and (UTC) the old month.
    clock = FakeClock(datetime(2026, 3, 1, 23, 0, tzinfo=UTC))
    bot, _, _ = await make_bot(clock=clock, config=no_cooldowns("Europe/Berlin"))
    await answer_at(bot, clock, datetime(2026, 3, 1, 23, 30, tzinfo=UTC), user("alice"))
    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    for period in ("today", "week", "month", "all"):
        assert await board_names(bot, period) == ["Alice"], period
    [board] = await bot.handle_command(command("leaderboard today"))
    assert board.footer == "Days and weeks in Europe/Berlin"


async def test_an_answer_just_before_local_midnight_counts_for_the_old_local_day() -> None:
    # 2026-03-02 03:00 UTC is Sunday 1 March 22:00 in New York.
    clock = FakeClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    bot, _, _ = await make_bot(clock=clock, config=no_cooldowns("America/New_York"))
    await answer_at(bot, clock, datetime(2026, 3, 2, 3, 0, tzinfo=UTC), user("alice"))
    clock.set(datetime(2026, 3, 2, 4, 30, tzinfo=UTC))  # 23:30 on Sunday, New York
    assert await board_names(bot, "today") == ["Alice"]
    assert await board_names(bot, "week") == ["Alice"]
    clock.set(datetime(2026, 3, 2, 5, 30, tzinfo=UTC))  # 00:30 on Monday, New York: a new day and week
    assert await board_names(bot, "today") == []
    assert await board_names(bot, "week") == []
    assert await board_names(bot, "month") == ["Alice"]
    assert await board_names(bot, "all") == ["Alice"]


async def test_the_same_answer_falls_on_another_day_in_utc() -> None:
    clock = FakeClock(datetime(2026, 3, 1, 23, 0, tzinfo=UTC))
    bot, _, _ = await make_bot(clock=clock, config=no_cooldowns("UTC"))
    await answer_at(bot, clock, datetime(2026, 3, 1, 23, 30, tzinfo=UTC), user("alice"))  # Sunday in UTC
    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    assert await board_names(bot, "today") == []
    assert await board_names(bot, "week") == []
    assert await board_names(bot, "month") == ["Alice"]


async def test_months_follow_the_workspace_zone_set_by_daily_set() -> None:
    # 2026-03-31 22:30 UTC is 1 April 00:30 in Berlin (summer time since 29 March).
    clock = FakeClock(datetime(2026, 3, 31, 12, 0, tzinfo=UTC))
    bot, _, _ = await make_bot(clock=clock, config=NO_COOLDOWNS)  # [bot] timezone stays UTC
    [scheduled] = await bot.handle_command(command("daily set 09:00 Europe/Berlin", ADMIN))
    assert "Europe/Berlin" in scheduled.body
    await answer_at(bot, clock, datetime(2026, 3, 31, 22, 30, tzinfo=UTC), user("alice"))
    clock.set(datetime(2026, 4, 1, 6, 0, tzinfo=UTC))
    assert await board_names(bot, "month") == ["Alice"]
    assert await board_names(bot, "today") == ["Alice"]


async def test_period_titles_aliases_and_a_bad_period() -> None:
    bot, _, _ = await make_bot()
    titles = {}
    for text in ("leaderboard today", "leaderboard daily", "leaderboard week", "leaderboard", "leaderboard month",
                 "leaderboard all", "leaderboard all-time"):
        [board] = await bot.handle_command(command(text))
        titles[text] = board.title
        assert board.body == "No points yet in this period. Start one with `quiz`!"
    assert titles == {"leaderboard today": "Leaderboard: Today", "leaderboard daily": "Leaderboard: Today",
                      "leaderboard week": "Leaderboard: This week", "leaderboard": "Leaderboard: This week",
                      "leaderboard month": "Leaderboard: This month", "leaderboard all": "Leaderboard: All time",
                      "leaderboard all-time": "Leaderboard: All time"}
    [bad] = await bot.handle_command(command("leaderboard yesterday"))
    assert bad.ephemeral and bad.body == "Choose a period: today, week, month, all (e.g. `leaderboard week`)."


async def test_topic_board_counts_a_topics_questions_from_mixed_quizzes_too() -> None:
    bot, _, clock = await make_bot(config=NO_COOLDOWNS)
    alice, bob = user("alice"), user("bob")
    mixed = await play_quiz(bot, clock, {alice: True})  # no topic given: any card
    keras = await play_quiz(bot, clock, {bob: True}, topic="keras")
    assert keras.topic == "keras"
    other = next(t for t in library().decks[0].topics if t not in (mixed.topic, "keras"))
    [board] = await bot.handle_command(command(f"leaderboard all {mixed.topic}"))
    assert board.title == f"Leaderboard: All time · {mixed.topic}"
    names = await board_names(bot, f"all {mixed.topic}")
    assert "Alice" in names and ("Bob" in names) == (mixed.topic == "keras")
    assert "Bob" in await board_names(bot, "keras")  # "leaderboard keras": this week's keras board
    assert await board_names(bot, f"all {other}") == []
    [unknown] = await bot.handle_command(command("leaderboard all cooking"))
    assert "don't know the topic `cooking`" in unknown.body


# Stats


async def test_stats_show_answered_accuracy_per_topic_and_weakest_topics() -> None:
    bot, _, clock = await make_bot(config=NO_COOLDOWNS)
    alice = user("alice")
    for topic, right in (("keras", True), ("keras", False), ("basics", True), ("training", False)):
        await play_quiz(bot, clock, {alice: right}, topic=topic)
    [stats] = await bot.handle_command(command("stats", alice))
    assert stats.ephemeral and stats.title == "Stats: You"
    fields = {f.name: f.value for f in stats.fields}
    assert fields["Answered"] == "4"
    assert fields["Accuracy"] == "50%"
    assert fields["Daily streak"] == "0 (best 0)"  # streaks count daily challenges only
    assert fields["By topic"].splitlines() == ["training: 0% of 1", "keras: 50% of 2", "basics: 100% of 1"]
    assert stats.body == "Weakest topics: training, keras. Try `quiz training`."
    [nobody] = await bot.handle_command(command("stats", user("bob")))
    assert nobody.body == "You have not answered any questions yet."


async def test_stats_without_mistakes_say_no_weak_topics() -> None:
    bot, _, clock = await make_bot(config=NO_COOLDOWNS)
    await play_quiz(bot, clock, {user("alice"): True}, topic="keras")
    [stats] = await bot.handle_command(command("stats", user("alice")))
    assert stats.body == "No weak topics!"
    assert {f.name: f.value for f in stats.fields}["Accuracy"] == "100%"


async def test_stats_current_and_best_daily_streak() -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    bot, _, _ = await make_bot(clock=clock)
    await bot.handle_command(command("daily set 09:00 UTC", ADMIN))
    alice = user("alice")
    # Right on 1-3 June, wrong on the 4th, right on the 5th.
    for day, right in ((1, True), (2, True), (3, True), (4, False), (5, True)):
        clock.set(datetime(2026, 6, day, 9, 0, 1, tzinfo=UTC))
        await bot.tick()
        round_id = max(bot.quiz.open)
        card = bot.library.card(bot.quiz.open[round_id].card_id)
        assert card is not None
        await bot.handle_button(press(f"answer:{round_id}:{card.correct_index if right else wrong_choice(card)}",
                                      alice))
        clock.set(datetime(2026, 6, day, 21, 0, 2, tzinfo=UTC))
        await bot.tick()

    async def streak() -> str:
        [stats] = await bot.handle_command(command("stats", alice))
        return {f.name: f.value for f in stats.fields}["Daily streak"]

    assert await streak() == "1 (best 3)"
    clock.set(datetime(2026, 6, 6, 8, 0, tzinfo=UTC))  # today's may still come: yesterday's streak holds
    assert await streak() == "1 (best 3)"
    clock.set(datetime(2026, 6, 7, 8, 0, tzinfo=UTC))  # a whole day missed
    assert await streak() == "0 (best 3)"


# Topics, help, unknown commands


async def test_topics_lists_each_deck_and_topic_with_entry_and_card_counts() -> None:
    bot, _, _ = await make_bot()
    [reply] = await bot.handle_command(command("topics"))
    assert reply.ephemeral and reply.title == "Topics"
    lines = reply.body.splitlines()
    assert lines[0].endswith("(`tensorflow`): 40 entries, 117 cards")
    assert "  `advanced` — Advanced Topics: 3 entries, 9 cards" in lines
    counts = [re.search(r": (\d+) entries, (\d+) cards$", line) for line in lines[1:]]
    assert all(counts) and len(counts) == 7
    assert sum(int(m[1]) for m in counts if m) == 40
    assert sum(int(m[2]) for m in counts if m) == 117


async def test_help_lists_every_command_with_a_working_example() -> None:
    bot, _, _ = await make_bot()
    [reply] = await bot.handle_command(command("help"))
    assert reply.ephemeral and reply.title == "StudyBot commands"
    listed = dict(re.findall(r"^`(\w+)` — .+\n    e\.g\. `([^`]+)`$", reply.body, re.MULTILINE))
    assert set(listed) == {c.name for c in CATALOG.commands}
    for name, example in listed.items():
        assert parse_command(example)[0] == name, example


async def test_unknown_command_points_to_help() -> None:
    bot, _, _ = await make_bot()
    [reply] = await bot.handle_command(CommandEvent(user("alice"), CHANNEL, "frobnicate"))
    assert reply.ephemeral and reply.body == "I don't know the command `frobnicate`. Try `help`."


@pytest.mark.parametrize(("text", "meant"), [
    ("quizz", "quiz"),               # Slack: `/study quizz` is read as a question, and declined
    ("leaderbord all", "leaderboard"),
    ("/quizz", "quiz"),              # console: an unknown slash command
    ("/stat", "stats"),
])
async def test_a_mistyped_command_name_is_answered_with_the_command_it_resembles(text: str, meant: str) -> None:
    bot, _, _ = await make_bot()
    [reply] = await bot.handle_command(command(text))
    assert reply.ephemeral and f"Did you mean the command `{meant}`?" in reply.body


async def test_a_question_that_starts_like_no_command_gets_no_command_hint() -> None:
    bot, _, _ = await make_bot()
    for text in ("how do I center a div", "frobnicate the widget", "/frobnicate"):
        [reply] = await bot.handle_command(command(text))
        assert "the command" not in reply.body.replace("I don't know the command", ""), text


# Answers stay private (test_rounds covers the second press and the ack not naming the right text)


async def test_acknowledgement_reads_the_same_for_a_right_and_a_wrong_answer() -> None:
    bot, _, _ = await make_bot()
    await bot.handle_command(command("quiz", user("host")))
    round_id = max(bot.quiz.open)
    card = bot.library.card(bot.quiz.open[round_id].card_id)
    assert card is not None
    right, wrong = card.correct_index, wrong_choice(card)
    [right_ack] = await bot.handle_button(press(f"answer:{round_id}:{right}", user("alice")))
    [wrong_ack] = await bot.handle_button(press(f"answer:{round_id}:{wrong}", user("bob")))
    assert right_ack.ephemeral and wrong_ack.ephemeral
    assert right_ack.body.replace(LETTERS[right], "?") == wrong_ack.body.replace(LETTERS[wrong], "?")
    [right_again] = await bot.handle_button(press(f"answer:{round_id}:{wrong}", user("alice")))
    [wrong_again] = await bot.handle_button(press(f"answer:{round_id}:{right}", user("bob")))
    assert right_again == wrong_again


# A failing handler


async def test_failing_command_is_logged_with_context_and_answered_with_an_apology(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    bot, _, _ = await make_bot()

    async def broken(*args: object, **kwargs: object) -> list[ScoreRow]:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(bot.store, "scores", broken)
    caplog.set_level(logging.ERROR, logger="bot.core.app")
    [reply] = await bot.handle_command(command("leaderboard week", user("alice")))
    assert reply.ephemeral and reply.body == APOLOGY and len(reply.body) < 120
    assert "database is locked" not in reply.body  # no internals shown to the user
    [record] = [r for r in caplog.records if r.name == "bot.core.app"]
    message = record.getMessage()
    assert message.startswith("handler failed: command leaderboard {'period': 'week'} from User(")
    assert "u-alice" in message and "workspace='w1'" in message
    assert record.exc_info is not None and str(record.exc_info[1]) == "database is locked"

    monkeypatch.undo()
    [board] = await bot.handle_command(command("leaderboard week", user("alice")))
    assert board.title == "Leaderboard: This week"


async def test_failing_button_is_logged_and_the_round_goes_on(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    bot, _, _ = await make_bot()
    await bot.handle_command(command("quiz", user("host")))
    round_id = max(bot.quiz.open)

    async def broken(*args: object, **kwargs: object) -> bool:
        raise OSError("disk full")

    monkeypatch.setattr(bot.store, "record_answer", broken)
    [reply] = await bot.handle_button(press(f"answer:{round_id}:0", user("alice")))
    assert reply.body == APOLOGY
    assert f"handler failed: button answer:{round_id}:0 from User(" in caplog.text and "disk full" in caplog.text
    monkeypatch.undo()
    [retry] = await bot.handle_button(press(f"answer:{round_id}:0", user("alice")))
    assert "locked in" in retry.body  # the failed press stored nothing


async def test_a_failed_command_does_not_use_up_the_cooldown(monkeypatch: pytest.MonkeyPatch) -> None:
    bot, _, _ = await make_bot()  # default cooldowns: ask every 3 s

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(bot.store, "record_gap", broken)
    [apology] = await bot.handle_command(command("ask tensor board games"))
    assert apology.body == APOLOGY
    monkeypatch.undo()
    [retry] = await bot.handle_command(command("ask tensor board games"))  # at once, same user
    assert retry.body.startswith("I have no confident answer")


async def test_a_failure_before_the_cooldown_check_keeps_the_earlier_use(monkeypatch: pytest.MonkeyPatch) -> None:
    bot, _, _ = await make_bot()  # default cooldowns: ask every 3 s
    [first] = await bot.handle_command(command("ask what is eager execution"))
    assert first.title

    def broken(*args: object) -> None:
        raise RuntimeError("failed before the cooldown was checked")

    monkeypatch.setattr(app, "check_options", broken)
    [apology] = await bot.handle_command(command("ask what is dropout"))
    assert apology.body == APOLOGY
    monkeypatch.undo()
    [refused] = await bot.handle_command(command("ask what is dropout"))
    assert refused.body.startswith("Easy there")


# Which questions a channel gets


async def daily_rounds(bot: StudyBot, clock: FakeClock, days: range) -> list[list[str]]:
    """Runs the channel's daily challenge on the given June days; the card ids posted each day."""
    posted = []
    for day in days:
        before = set(bot.quiz.open)
        clock.set(datetime(2026, 6, day, 9, 0, 1, tzinfo=UTC))
        await bot.tick()
        posted.append([bot.quiz.open[r].card_id for r in sorted(set(bot.quiz.open) - before)])
        clock.set(datetime(2026, 6, day, 21, 0, 2, tzinfo=UTC))
        await bot.tick()
    return posted


async def test_daily_questions_do_not_repeat_until_the_topics_pool_is_used_up() -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    bot, _, _ = await make_bot(clock=clock)
    await bot.handle_command(command("daily set 09:00 UTC questions 3 topic advanced", ADMIN))
    pool = {c.id for c in library().decks[0].cards if c.topic == "advanced"}
    assert len(pool) == 9
    days = await daily_rounds(bot, clock, range(1, 5))
    first_three = [card for day in days[:3] for card in day]
    assert sorted(first_three) == sorted(pool)  # 9 questions, each card once
    for day in days:
        assert len(day) == 3 and set(day) <= pool
        entries = {bot.library.card(c).entry_id for c in day}  # type: ignore[union-attr]
        assert len(entries) == 3  # one card per entry in a day while entries allow
    assert len(set(days[3])) == 3  # the pool is used up: repeats start, still no card twice in a day
    assert await bot.store.used_daily_cards(CHANNEL) == first_three + days[3]


async def test_daily_asks_for_more_questions_than_the_topic_has_entries() -> None:
    bot, _, clock = await make_bot()
    schedule = await bot.store.save_schedule(CHANNEL, "09:00", "UTC", 5, "advanced", clock.now())
    cards = await bot.daily.choose(schedule, date(2026, 6, 1))
    assert len(cards) == 5 and len({c.id for c in cards}) == 5
    assert all(c.topic == "advanced" for c in cards)
    assert len({c.entry_id for c in cards[:3]}) == 3  # every entry before any entry twice


async def answered_in_channel(bot: StudyBot, card: QuizCard, results: list[bool]) -> None:
    """Past answers to ``card`` in the test channel, written straight to the store."""
    now = bot.clock.now()
    record = await bot.store.open_round(RoundRecord(0, CHANNEL, "quiz", card.id, now, now))
    assert record is not None
    for i, right in enumerate(results):
        choice = card.correct_index if right else wrong_choice(card)
        assert await bot.store.record_answer(AnswerRecord(record.id, f"u{i}", f"U{i}", choice, right, 0, now),
                                             "test", "w1")
    await bot.store.close_round(record.id, now)


async def test_daily_prefers_the_entries_the_channel_answers_worst() -> None:
    """Rule (bot/core/daily.py): least used first; then the entry's accuracy in this channel, lowest
    first, never-answered entries counting as 50%; then a shuffle seeded with channel and date."""
    bot, _, clock = await make_bot()
    entries = [e for e in library().decks[0].entries if e.topic == "advanced"]
    strong, unseen, weak = entries
    await answered_in_channel(bot, strong.quiz[0], [True, True])  # 100%
    await answered_in_channel(bot, weak.quiz[0], [False, True, False, False])  # 25%
    schedule = await bot.store.save_schedule(CHANNEL, "09:00", "UTC", 3, "advanced", clock.now())
    for day in (date(2026, 6, 1), date(2026, 6, 2)):  # whatever the day's shuffle
        cards = await bot.daily.choose(schedule, day)
        assert [c.entry_id for c in cards] == [weak.id, unseen.id, strong.id]
        assert cards == await bot.daily.choose(schedule, day)  # deterministic
    # Another channel has no history: the shuffle alone decides there.
    elsewhere = await bot.store.save_schedule(Channel("test", "w1", "c2"), "09:00", "UTC", 1, "advanced",
                                              clock.now())
    seen = {(await bot.daily.choose(elsewhere, date(2026, 6, d)))[0].entry_id for d in range(1, 15)}
    assert len(seen) > 1


async def test_on_demand_quiz_respects_the_topic_and_avoids_cards_already_in_the_quiz() -> None:
    bot, _, _ = await make_bot()
    keras = {c.id for c in library().decks[0].cards if c.topic == "keras"}
    picks = [bot.quiz.pick_card("keras") for _ in range(50)]
    assert all(p is not None and p.id in keras for p in picks)
    only = sorted(keras)[0]
    assert all(bot.quiz.pick_card("keras", exclude=keras - {only}).id == only  # type: ignore[union-attr]
               for _ in range(10))
    assert bot.quiz.pick_card("keras", exclude=keras) is not None  # everything used: any card of the topic
    assert bot.quiz.pick_card("no-such-topic") is None

