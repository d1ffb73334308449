"""The command catalog and the names people type: parsing, topics, and every refusal saying what would work.

Each test below pins one item of issue #12's list of what a new user tried.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot.config import Config, CooldownSection
from bot.core import buttons
from bot.core.app import StudyBot
from bot.core.catalog import Kind
from bot.core.commands import CATALOG
from bot.core.events import CommandEvent
from bot.core.names import resolve_scopes
from bot.core.parsing import parse_command
from bot.core.replies import plural
from bot.core.suggest import SOURCES, suggest
from bot.kb.library import Library
from bot.kb.model import Choice, Deck, Entry, QuizCard
from bot.store.sqlite import SqliteStore
from tests.clock import FakeClock
from tests.core import fakes
from tests.core.fakes import CHANNEL, command, library, make_bot, user

ADMIN = user("admin", admin=True)
REPO = Path(__file__).resolve().parents[2]


def deck(name: str, title: str, topics: dict[str, str]) -> Deck:
    """A small deck with one entry and one card per topic."""
    entries = []
    for slug in topics:
        entry_id = f"{slug}-entry"
        card = QuizCard(f"{name}/{entry_id}/q1", entry_id, name, slug, f"A question on {name} {slug}?",
                        (Choice("right", correct=True), Choice("wrong")), "Because.")
        entries.append(Entry(entry_id, name, slug, f"What is {name} {slug}?", "An answer.", quiz=(card,)))
    return Deck(name, title, "", topics, tuple(entries))


TWO_DECKS = Library([deck("tensorflow", "TensorFlow", {"basics": "Basic Concepts", "keras": "Keras API"}),
                     deck("pytorch", "PyTorch", {"basics": "PyTorch Basics", "autograd": "Autograd"})])


async def bot_over(lib: Library) -> tuple[StudyBot, FakeClock]:
    clock = FakeClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    store = await SqliteStore.open(":memory:")
    fakes.OPEN_STORES.append(store)
    bot = StudyBot(lib, store, Config(cooldowns=CooldownSection(ask_seconds=0, quiz_seconds=0)), clock=clock,
                   rng=random.Random(1))
    bot.attach("test", fakes.RecordingOutbox())
    await bot.start()
    return bot, clock


# Names people type


async def test_a_deck_name_means_all_its_topics() -> None:
    """`/quiz tensorflow` (the deck name `topics` shows) quizzes on the whole deck, not one topic."""
    assert resolve_scopes(library(), "tensorflow") == ["tensorflow"]
    assert resolve_scopes(library(), "TensorFlow") == ["tensorflow"]  # any case
    bot, _, _ = await make_bot(config=Config(cooldowns=CooldownSection(ask_seconds=0, quiz_seconds=0)))
    [started] = await bot.handle_command(command("quiz tensorflow seconds 600"))
    assert started.body.startswith("Quiz started"), started.body
    assert {r.topic for r in bot.quiz.open.values()} == {"tensorflow"}
    topics = {bot.quiz.pick_card("tensorflow").topic for _ in range(60)}  # type: ignore[union-attr]
    assert len(topics) > 3


def test_topics_are_found_by_slug_deck_slash_topic_and_display_name_in_any_case() -> None:
    lib = library()
    assert resolve_scopes(lib, "keras") == ["keras"]
    assert resolve_scopes(lib, "tensorflow/keras") == ["keras"]
    assert resolve_scopes(lib, "KERAS") == ["keras"]
    name = lib.decks[0].topics["keras"]
    assert resolve_scopes(lib, name.upper()) == ["keras"]


async def test_a_topic_two_decks_share_is_reached_as_deck_slash_topic_and_the_bare_name_asks_which() -> None:
    assert resolve_scopes(TWO_DECKS, "pytorch/basics") == ["pytorch/basics"]
    assert TWO_DECKS.topic_cards("pytorch/basics") == {"pytorch/basics-entry/q1"}
    bot, _ = await bot_over(TWO_DECKS)
    [ambiguous] = await bot.handle_command(command("quiz basics"))
    assert ambiguous.ephemeral
    assert ambiguous.body == ("`basics` could mean 2 topics: `tensorflow/basics`, `pytorch/basics`. "
                              "Say which one, e.g. `quiz tensorflow/basics`.")
    [started] = await bot.handle_command(command("quiz pytorch/basics"))
    assert started.body.startswith("Quiz started")
    [record] = bot.quiz.open.values()
    assert record.card_id == "pytorch/basics-entry/q1"


async def test_topic_names_with_a_prefix_that_fits_several_topics_list_them() -> None:
    bot, _ = await bot_over(TWO_DECKS)
    [reply] = await bot.handle_command(command("leaderboard a"))  # Autograd only: a prefix that fits one
    assert reply.title == "Leaderboard: This week · autograd"


async def test_period_and_topic_in_any_order(studybot: StudyBot) -> None:
    """`/leaderboard ecosystem all` is the all-time ecosystem board (the period was dropped)."""
    bot = studybot
    for text in ("leaderboard ecosystem all", "leaderboard all ecosystem", "top ever ecosystem"):
        [board] = await bot.handle_command(command(text))
        assert board.title == "Leaderboard: All time · ecosystem", text


# Refusals that say what was wrong and what would work


async def test_a_keyed_option_without_its_number_says_so_with_an_example(studybot: StudyBot) -> None:
    """`/quiz keras questions` said "I don't know the topic `keras questions`"."""
    bot = studybot
    [reply] = await bot.handle_command(command("quiz keras questions"))
    assert reply.ephemeral
    assert reply.body == ("`questions` needs a whole number from 1 to 10 after it. "
                          "Example: `quiz keras questions 3`.")


async def test_daily_set_without_a_zone_names_the_missing_zone(studybot: StudyBot) -> None:
    """`/daily set 09:00` said "'' is not a time zone I know"."""
    bot = studybot
    [reply] = await bot.handle_command(command("daily set 09:00", ADMIN))
    assert reply.body == ("`daily set` needs `timezone` (Time zone, e.g. Europe/Berlin). "
                          "Example: `daily set 09:00 Europe/Berlin questions 2`.")


async def test_stats_for_a_name_nobody_has_says_how_to_name_someone(studybot: StudyBot) -> None:
    """`/stats nobody` said "nobody has not answered any questions yet."."""
    bot = studybot
    [reply] = await bot.handle_command(command("stats nobody"))
    assert reply.body == ("I have no answers from anyone called `nobody` here. Name a member with a mention, "
                          "e.g. `stats @alice`, or leave the name out for your own stats.")


async def test_an_unknown_topic_lists_decks_and_topics_with_an_example(studybot: StudyBot) -> None:
    bot = studybot
    [reply] = await bot.handle_command(command("quiz cooking"))
    assert reply.body.startswith("I don't know the topic `cooking`. Topics and decks: tensorflow, ")
    assert reply.body.endswith("(e.g. `quiz keras`).")


async def test_range_checks_read_the_same_from_text_and_typed_options(studybot: StudyBot) -> None:
    bot = studybot
    [typed] = await bot.handle_command(CommandEvent(user("alice"), CHANNEL, "quiz", {"seconds": "9999"}))
    [text] = await bot.handle_command(command("quiz seconds 9999"))
    assert typed.body == text.body == ("`seconds` must be a whole number from 5 to 600; got `9999`. "
                                       "Example: `quiz keras questions 3`.")


async def test_an_unknown_slash_command_is_not_looked_up_as_a_question(studybot: StudyBot) -> None:
    """`kb gaps` logged `/whoami` as a question."""
    bot = studybot
    assert parse_command("/whoami") == ("whoami", {})
    assert parse_command("whoami") == ("ask", {"query": "whoami"})  # a bare word after the bot's name is a question
    [reply] = await bot.handle_command(command("/whoami"))
    assert reply.body == "I don't know the command `whoami`. Try `help`."
    assert await bot.store.gaps(10) == []


async def test_counts_read_as_sentences() -> None:
    """"1 question(s)", "1 entries, 1 cards" read as "1 question", "1 entry, 1 card"."""
    assert [plural(1, "question"), plural(2, "question"), plural(1, "entry"), plural(3, "entry")] == [
        "1 question", "2 questions", "1 entry", "3 entries"]
    bot, _ = await bot_over(TWO_DECKS)
    [topics] = await bot.handle_command(command("topics"))
    assert "**TensorFlow** (`tensorflow`): 2 entries, 2 cards" in topics.body
    assert "  `tensorflow/basics` — Basic Concepts: 1 entry, 1 card" in topics.body
    [scheduled] = await bot.handle_command(command("daily set 09:00 UTC", ADMIN))
    assert "1 question." in scheduled.body and "(s)" not in scheduled.body


async def test_question_titles_name_the_topic_not_the_entry_id() -> None:
    """Headers said "Quiz: tfjs" (an internal id, often the answer itself)."""
    bot, outbox, _ = await make_bot()
    await bot.handle_command(command("quiz seconds 600"))
    [record] = bot.quiz.open.values()
    card = bot.library.card(record.card_id)
    assert card is not None
    _, question, _ = outbox.posts[-1]
    assert question.title == f"Quiz: {bot.library.topic_name(card)}"


# The catalog generates the rest


def test_help_usage_and_parsing_come_from_the_declarations() -> None:
    for command_ in CATALOG.commands:
        assert parse_command(command_.example)[0] == command_.name
        for alias in command_.aliases:
            assert parse_command(alias + " x")[0] == command_.name


def test_slack_usage_hint_in_the_manifest_is_the_catalogs() -> None:
    manifest = yaml.safe_load((REPO / "bot/adapters/slack/manifest.yaml").read_text(encoding="utf-8"))
    [slash] = manifest["features"]["slash_commands"]
    assert slash["usage_hint"] == CATALOG.usage_hint()


def test_every_number_option_has_bounds_every_choice_option_choices_and_suggestions_a_source() -> None:
    for command_ in CATALOG.commands:
        for cmd in (command_, *command_.subcommands):
            for option in cmd.options:
                assert option.kind is not Kind.NUMBER or option.bounds is not None, (cmd.name, option.name)
                assert option.kind is not Kind.CHOICE or option.choices, (cmd.name, option.name)
                assert option.suggest in (None, *SOURCES), (cmd.name, option.name)


def test_topic_suggestions_are_ranked_as_the_core_matches() -> None:
    found = suggest("topics", "ker", library())
    assert found[0].value == "keras"
    assert [s.value for s in suggest("topics", "tensorflow", library())][0] == "tensorflow"
    assert suggest("timezones", "berl", library())[0].value == "Europe/Berlin"


# Button ids


def test_button_ids_carry_a_version_and_old_ids_still_parse() -> None:
    assert buttons.answer_id(12, 3) == "v1:answer:12:3"
    assert buttons.parse("v1:answer:12:3") == buttons.AnswerPress(12, 3)
    assert buttons.parse("answer:12:3") == buttons.AnswerPress(12, 3)  # a message posted before the prefix
    assert buttons.parse("ask:tensorflow/dropout") == buttons.EntryPress("ask", "tensorflow/dropout")
    assert buttons.parse(buttons.practice_id("tensorflow/dropout")) == buttons.EntryPress("practice",
                                                                                         "tensorflow/dropout")
    for bad in ("answer:x:1", "v2:answer:1:2", "bogus", "answer:1"):
        assert buttons.parse(bad) is None, bad
    template = re.compile(buttons.TEMPLATE)
    for good in (buttons.answer_id(1, 0), buttons.ask_id("d/e"), "answer:1:0", "practice:d/e"):
        assert template.fullmatch(good), good
    assert not template.fullmatch("bogus")


@pytest.mark.parametrize("text, expected", [
    ("quiz keras questions 3", ("quiz", {"topic": "keras", "questions": "3"})),
    ("quiz questions 3 keras", ("quiz", {"topic": "keras", "questions": "3"})),
    ("lb all keras", ("leaderboard", {"period": "all", "topic": "keras"})),
    ("daily set 9:00 Europe/Berlin questions 2", ("daily", {"action": "set", "time": "9:00",
                                                          "timezone": "Europe/Berlin", "questions": "2"})),
    ("daily", ("daily", {})),
    ("what is dropout", ("ask", {"query": "what is dropout"})),
])
def test_text_parsing(text: str, expected: tuple[str, dict[str, str]]) -> None:
    assert parse_command(text) == expected


async def test_about_names_the_version_decks_and_uptime() -> None:
    import bot as package

    bot, _, clock = await make_bot()
    clock.advance(days=1, hours=2, minutes=5)
    [about] = await bot.handle_command(command("about"))
    fields = {f.name: f.value for f in about.fields}
    assert about.ephemeral and about.title == "About StudyBot"
    assert fields["Version"] == package.__version__
    assert fields["Decks"] == "TensorFlow & Deep Learning Interview Prep (`tensorflow`)"
    assert fields["Entries"] == "40 entries, 117 cards"
    assert fields["Up for"] == "1 d 2 h 5 min"


async def test_an_unknown_subcommand_lists_the_ones_that_exist(studybot: StudyBot) -> None:
    [reply] = await studybot.handle_command(command("daily foo", ADMIN))
    assert reply.body == ("`daily foo` is not something I can do. Use `daily set time timezone [questions N] "
                          "[topic] [typed|buttons]`, `daily show` or `daily off`; e.g. "
                          "`daily set 09:00 Europe/Berlin questions 2`.")
