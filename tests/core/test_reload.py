"""``deck reload`` through the core: admins only, a private report of what changed, broken decks keep the
old ones, history of surviving card ids still counts, and rounds open on a removed card close cleanly."""

from __future__ import annotations

import asyncio
import random
import threading
from pathlib import Path

import pytest

from bot.config import Config, CooldownSection, DecksSection
from bot.core import buttons
from bot.core.app import StudyBot
from bot.core.commands.decks import reload_reply
from bot.core.events import User
from bot.core.shelf import ReloadOutcome
from bot.kb.library import Library, load_library
from bot.store.sqlite import SqliteStore
from tests.clock import FakeClock
from tests.core.fakes import CHANNEL, OPEN_STORES, RecordingOutbox, command, press, user

ADMIN = user("admin", admin=True)
DECK_YAML = "name: demo\ntitle: Demo deck\ntopics:\n  basics: Basics\n  extra: Extras\n"


def entry_yaml(entry_id: str, topic: str = "basics", right: str = "") -> str:
    return f"""\
  - id: {entry_id}
    topic: {topic}
    question: What is the {entry_id} widget?
    answer: The {entry_id} widget is what comes {entry_id}.
    quiz:
      - id: q1
        prompt: Which one is the {entry_id} widget?
        choices:
          - text: {right or f"The {entry_id} one"}
            correct: true
          - text: Some other one
        explanation: It is the {entry_id} one.
"""


def write_decks(root: Path, *entries: str, broken: str = "") -> None:
    """The deck folder ``root/demo`` with these entries (ids, or (id, topic) pairs), and a broken file if asked."""
    folder = root / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "deck.yaml").write_text(DECK_YAML)
    (folder / "entries.yaml").write_text("entries:\n" + "".join(entry_yaml(*e.split(":")) for e in entries))
    (folder / "more.yaml").unlink(missing_ok=True)
    if broken:
        (folder / "more.yaml").write_text(broken)


def config_for(root: Path) -> Config:
    return Config(decks=DecksSection(builtin=False, paths=[str(root)]),
                  cooldowns=CooldownSection(ask_seconds=0, quiz_seconds=0))


async def bot_over(root: Path, clock: FakeClock) -> tuple[StudyBot, RecordingOutbox]:
    config = config_for(root)
    store = await SqliteStore.open(":memory:")
    OPEN_STORES.append(store)
    bot = StudyBot(load_library(config.deck_paths, include_builtin=False), store, config, clock=clock,
                   rng=random.Random(3))
    outbox = RecordingOutbox()
    bot.attach("test", outbox)
    await bot.start()
    return bot, outbox


async def open_quiz_on(bot: StudyBot, entry_id: str) -> int:
    """A 5 s quiz round on the card of ``entry_id`` (its topic holds only that entry in these tests)."""
    card = bot.library.card(f"demo/{entry_id}/q1")
    assert card is not None
    [started] = await bot.handle_command(command(f"quiz demo/{card.topic} seconds 5", user("host")))
    assert "Quiz started" in started.body, started.body
    round_id = max(bot.quiz.open)
    assert bot.quiz.open[round_id].card_id == card.id
    return round_id


async def test_an_admin_reload_serves_an_added_entry_and_says_privately_what_changed(tmp_path: Path,
                                                                                     clock: FakeClock) -> None:
    write_decks(tmp_path, "first", "second")
    bot, _ = await bot_over(tmp_path, clock)
    write_decks(tmp_path, "first", "second", "third")
    [report] = await bot.handle_command(command("deck reload", ADMIN))
    assert report.ephemeral and report.title == "Decks reloaded"
    assert report.body.splitlines()[:3] == [
        "**Decks:** 0 added, 0 removed, 1 kept (1 edited).",
        "**Entries:** 1 added (`demo/third`), 0 removed, 2 kept.",
        "**Cards:** 1 added (`demo/third/q1`), 0 removed, 2 kept.",
    ]
    [answer] = await bot.handle_command(command("ask what is the third widget", user("alice")))
    assert answer.title == "What is the third widget?"


async def test_removed_and_edited_entries_are_reported_by_id(tmp_path: Path, clock: FakeClock) -> None:
    write_decks(tmp_path, "first", "second", "third")
    bot, _ = await bot_over(tmp_path, clock)
    write_decks(tmp_path, "first", "fourth")
    (tmp_path / "demo" / "entries.yaml").write_text((tmp_path / "demo" / "entries.yaml").read_text()
                                                    .replace("comes first.", "comes before all others."))
    [report] = await bot.handle_command(command("deck reload", ADMIN))
    lines = report.body.splitlines()
    assert lines[1] == ("**Entries:** 1 added (`demo/fourth`), 2 removed (`demo/second`, `demo/third`), "
                        "1 kept (1 edited).")
    assert lines[2] == ("**Cards:** 1 added (`demo/fourth/q1`), 2 removed (`demo/second/q1`, `demo/third/q1`), "
                        "1 kept.")
    assert "Open rounds keep the question they asked" in lines[3]
    assert bot.library.entry("demo/second") is None and bot.library.entry("demo/fourth") is not None


async def test_a_reload_with_nothing_changed_says_so(tmp_path: Path, clock: FakeClock) -> None:
    write_decks(tmp_path, "first", "second")
    bot, _ = await bot_over(tmp_path, clock)
    [report] = await bot.handle_command(command("deck reload", ADMIN))
    assert report.body == "Nothing changed: 1 deck, 2 entries and 2 cards, as before."


async def test_a_member_who_is_not_an_admin_is_refused_and_nothing_is_reloaded(tmp_path: Path,
                                                                               clock: FakeClock) -> None:
    write_decks(tmp_path, "first")
    bot, _ = await bot_over(tmp_path, clock)
    before = bot.library
    write_decks(tmp_path, "first", "second")
    [refusal] = await bot.handle_command(command("deck reload", user("mallory")))
    assert refusal.ephemeral and refusal.body.startswith("Only workspace admins can use `deck reload`")
    assert bot.library is before


async def test_broken_decks_keep_the_old_ones_and_every_problem_is_listed_with_file_and_line(
        tmp_path: Path, clock: FakeClock) -> None:
    write_decks(tmp_path, "first", "second")
    bot, _ = await bot_over(tmp_path, clock)
    before = bot.library
    broken = ("entries:\n  - id: Bad Id\n    topic: nowhere\n    question: Broken?\n    answer: Yes.\n"
              "  - id: second\n    topic: basics\n    question: What is @everyone?\n    answer: A duplicate.\n")
    write_decks(tmp_path, "first", "second", "third", broken=broken)
    [report] = await bot.handle_command(command("deck reload", ADMIN))
    assert report.ephemeral and report.title == "Decks not reloaded"
    more = str(tmp_path / "demo" / "more.yaml")
    problems = [line for line in report.body.splitlines() if line.startswith("- ")]
    assert len(problems) >= 3 and all(p.startswith(f"- {more}:") for p in problems), problems
    assert any(f"{more}:2: " in p and "Bad Id" in p for p in problems)
    assert any(f"{more}:3: " in p and "nowhere" in p for p in problems)
    assert "the decks in service stay as they were" in report.body
    assert bot.metrics.deck_reloads.value("refused") == 1
    assert bot.library is before and bot.library.entry("demo/third") is None
    [answer] = await bot.handle_command(command("ask what is the first widget", user("alice")))
    assert answer.title == "What is the first widget?"


async def test_a_missing_deck_folder_is_a_problem_and_the_old_decks_stay(tmp_path: Path, clock: FakeClock) -> None:
    write_decks(tmp_path / "decks", "first")
    bot, _ = await bot_over(tmp_path / "decks", clock)
    (tmp_path / "decks").rename(tmp_path / "moved")
    [report] = await bot.handle_command(command("deck reload", ADMIN))
    assert report.title == "Decks not reloaded" and str(tmp_path / "decks") in report.body
    assert bot.library.entry("demo/first") is not None


@pytest.mark.parametrize("who", [ADMIN, user("alice")], ids=["admin", "member"])
async def test_deck_alone_lists_the_decks_and_how_to_reload_them(tmp_path: Path, clock: FakeClock,
                                                                   who: User) -> None:
    write_decks(tmp_path, "first", "second:extra")
    bot, _ = await bot_over(tmp_path, clock)
    [reply] = await bot.handle_command(command("deck", who))
    deck = bot.library.decks[0]
    assert reply.ephemeral and reply.title == "Decks"
    assert reply.body.splitlines()[0] == f"**{deck.title}** (`{deck.name}`): 2 entries, 2 cards"
    assert "`deck reload` (admins): read the deck files again" in reply.body
    assert "e.g. `deck reload`" in reply.body and "`topics`" in reply.body
    assert "not something I can do" not in reply.body


async def test_deck_with_an_unknown_subcommand_names_the_reload(tmp_path: Path, clock: FakeClock) -> None:
    write_decks(tmp_path, "first")
    bot, _ = await bot_over(tmp_path, clock)
    [reply] = await bot.handle_command(command("deck relaod", ADMIN))
    assert reply.body == "`deck relaod` is not something I can do. Use `deck reload`; e.g. `deck reload`."


async def test_scores_of_a_card_whose_id_survives_still_count_after_the_reload(tmp_path: Path,
                                                                              clock: FakeClock) -> None:
    write_decks(tmp_path, "first", "second:extra")
    bot, _ = await bot_over(tmp_path, clock)
    alice = user("alice")
    round_id = await open_quiz_on(bot, "first")
    await bot.handle_button(press(f"answer:{round_id}:0", alice))
    clock.advance(seconds=6)
    await bot.tick()
    write_decks(tmp_path, "first", "third:extra")  # "first" keeps its ids; its wording changes below
    entries = tmp_path / "demo" / "entries.yaml"
    entries.write_text(entries.read_text().replace("Which one is the first widget?", "Which is the first widget?"))
    [report] = await bot.handle_command(command("deck reload", ADMIN))
    assert report.title == "Decks reloaded" and "1 kept (1 edited)" in report.body
    [board] = await bot.handle_command(command("leaderboard all demo/basics", alice))
    assert board.body.splitlines()[0] == "1. Alice — 10 pts (1/1 right)"
    [stats] = await bot.handle_command(command("stats", alice))
    by_topic = next(f.value for f in stats.fields if f.name == "By topic")
    assert by_topic == "basics: 100% of 1"


async def test_a_round_open_on_a_card_the_reload_removed_is_judged_and_revealed_as_asked(
        tmp_path: Path, clock: FakeClock) -> None:
    write_decks(tmp_path, "first", "second:extra")
    bot, outbox = await bot_over(tmp_path, clock)
    round_id = await open_quiz_on(bot, "second")
    alice, bob = user("alice"), user("bob")
    [early] = await bot.handle_button(press(f"answer:{round_id}:0", alice))
    assert "locked in" in early.body
    write_decks(tmp_path, "first")  # "second" and its card are gone
    [report] = await bot.handle_command(command("deck reload", ADMIN))
    assert "`demo/second/q1`" in report.body and bot.library.card("demo/second/q1") is None
    [late] = await bot.handle_button(press(f"answer:{round_id}:1", bob))
    assert "locked in" in late.body  # still the question people see, still judged by it
    clock.advance(seconds=6)
    await bot.tick()
    assert round_id not in bot.quiz.open
    reveal = outbox.posts[-1][1]
    assert reveal.title == "Answer: Which one is the second widget?"
    assert reveal.body.startswith("**A. The second one**")
    assert next(f.value for f in reveal.fields if f.name == "Correct") == "Alice (+10)"
    assert [e[2].footer for e in outbox.edits] == ["Extras · closed"]


async def test_a_round_whose_card_was_edited_keeps_the_choices_people_saw(tmp_path: Path, clock: FakeClock) -> None:
    write_decks(tmp_path, "first")
    bot, outbox = await bot_over(tmp_path, clock)
    round_id = await open_quiz_on(bot, "first")
    entries = tmp_path / "demo" / "entries.yaml"
    # The right choice moves from A to B: answers to the open round are still judged by what was shown.
    entries.write_text(entries.read_text().replace(
        "          - text: The first one\n            correct: true\n          - text: Some other one\n",
        "          - text: Some other one\n          - text: The first one\n            correct: true\n"))
    await bot.handle_command(command("deck reload", ADMIN))
    assert bot.library.card("demo/first/q1").correct_index == 1  # type: ignore[union-attr]
    await bot.handle_button(press(f"answer:{round_id}:0", user("alice")))
    clock.advance(seconds=6)
    await bot.tick()
    reveal = outbox.posts[-1][1]
    assert reveal.body.startswith("**A. The first one**")
    assert next(f.value for f in reveal.fields if f.name == "Correct") == "Alice (+10)"


async def test_buttons_of_an_entry_a_reload_removed_say_so(tmp_path: Path, clock: FakeClock) -> None:
    write_decks(tmp_path, "first", "second")
    bot, _ = await bot_over(tmp_path, clock)
    write_decks(tmp_path, "first")
    await bot.handle_command(command("deck reload", ADMIN))
    for button in (buttons.practice_id("demo/second"), buttons.ask_id("demo/second")):
        [reply] = await bot.handle_button(press(button, user("alice")))
        assert reply.ephemeral and reply.body == "That entry is no longer in the decks."


async def test_a_second_reload_while_one_runs_is_told_and_the_first_one_finishes(tmp_path: Path,
                                                                                 clock: FakeClock) -> None:
    write_decks(tmp_path, "first")
    bot, _ = await bot_over(tmp_path, clock)
    loading, release = threading.Event(), threading.Event()

    def slow_load() -> Library:
        loading.set()
        assert release.wait(10)
        return load_library([tmp_path], include_builtin=False)

    bot.shelf._load = slow_load  # the deck files load slowly (a big deck, a slow disk)
    write_decks(tmp_path, "first", "second")
    first = asyncio.create_task(bot.handle_command(command("deck reload", ADMIN)))
    assert await asyncio.to_thread(loading.wait, 10)
    [answer] = await bot.handle_command(command("ask what is the first widget", user("alice")))
    assert answer.title == "What is the first widget?"  # the loop answers while the decks load
    [busy] = await bot.handle_command(command("deck reload", ADMIN))
    assert busy.ephemeral and busy.body.startswith("A deck reload is already running")
    release.set()
    [report] = await asyncio.wait_for(first, 10)
    assert "1 added (`demo/second`)" in report.body
    [again] = await bot.handle_command(command("deck reload", ADMIN))
    assert again.body.startswith("Nothing changed")
    assert [bot.metrics.deck_reloads.value(o) for o in ("reloaded", "busy", "refused")] == [2, 1, 0]


async def test_the_report_is_private_and_nothing_is_posted_in_the_channel(tmp_path: Path, clock: FakeClock) -> None:
    write_decks(tmp_path, "first")
    bot, outbox = await bot_over(tmp_path, clock)
    write_decks(tmp_path, "first", "second")
    replies = await bot.handle_command(command("deck reload", ADMIN, CHANNEL))
    assert all(r.ephemeral for r in replies) and outbox.posts == []


async def test_an_unexpected_failure_while_loading_keeps_the_old_decks_and_is_logged(
        tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    write_decks(tmp_path, "first")
    bot, _ = await bot_over(tmp_path, clock)
    before = bot.library

    def failing_load() -> Library:
        raise RuntimeError("disk on fire")

    bot.shelf._load = failing_load
    [report] = await bot.handle_command(command("deck reload", ADMIN))
    assert report.title == "Decks not reloaded"
    assert "- the decks could not be loaded: RuntimeError('disk on fire') (see the log)" in report.body
    assert bot.library is before and not bot.shelf.reloading
    assert [r.getMessage() for r in caplog.records if r.exc_info] == ["deck reload failed"]


def test_a_very_long_list_of_problems_is_cut_with_a_pointer_to_the_validator() -> None:
    problems = tuple(f"decks/demo/entries.yaml:{n}: id: bad" for n in range(1, 106))
    report = reload_reply(ReloadOutcome(problems=problems))
    listed = [line for line in report.body.splitlines() if line.startswith("- ")]
    assert len(listed) == 101 and listed[99] == "- decks/demo/entries.yaml:100: id: bad"
    assert listed[100] == "- … and 5 more: run `studybot kb validate` on the host to see them all."
    assert report.body.startswith("The new decks have 105 problems")
