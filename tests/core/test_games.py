"""Games people steer (#13): stop, skip, first to N, typed answers, hints and fair points, through the core."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.config import Config, CooldownSection, QuizSection
from bot.core import buttons
from bot.core.app import StudyBot
from bot.core.events import TextSubmitEvent
from bot.core.replies import Reply
from bot.kb.library import Library
from bot.kb.model import Choice, Deck, Entry, QuizCard
from tests.clock import FakeClock
from tests.conftest import START
from tests.core import fakes
from tests.core.fakes import CHANNEL, RecordingOutbox, command, make_bot, press, user

ALICE, BOB, ADMIN = user("alice"), user("bob"), user("root", admin=True)
TYPED_CARD = "tensorflow/constant-vs-variable/q1"  # answers: tf.Variable (easy)


def always(bot: StudyBot, card_id: str) -> QuizCard:
    """Makes every question of ``bot`` ask the card ``card_id``."""
    card = bot.library.card(card_id)
    assert card is not None
    bot.quiz.pick_card = lambda topic, exclude=frozenset(), typed=False: card  # type: ignore[method-assign]
    return card


def titles(outbox: RecordingOutbox) -> list[str]:
    return [(reply.title or "").split(":")[0] for _, reply, _ in outbox.posts]


def open_round(bot: StudyBot) -> int:
    [round_id] = list(bot.quiz.open)
    return round_id


def answer_button(bot: StudyBot, round_id: int, right: bool) -> str:
    card = bot.library.card(bot.quiz.open[round_id].card_id)
    assert card is not None
    index = card.correct_index if right else (card.correct_index + 1) % len(card.choices)
    return buttons.answer_id(round_id, index)


async def typed(bot: StudyBot, who: Any, round_id: int, text: str) -> Reply:
    [reply] = await bot.handle_text(TextSubmitEvent(who, CHANNEL, buttons.typed_answer_id(round_id), text))
    return reply


# Round control


async def test_the_starter_stops_the_game_the_open_question_is_revealed_then_the_results() -> None:
    bot, outbox, _ = await make_bot()
    await bot.handle_command(command("quiz questions 5 seconds 60", ALICE))
    round_id = open_round(bot)
    await bot.handle_button(press(answer_button(bot, round_id, True), BOB))
    [ack] = await bot.handle_command(command("quiz stop", ALICE))
    assert ack.ephemeral and "stopped" in ack.body
    assert titles(outbox) == ["Quiz", "Answer", "Quiz results"]
    results = outbox.posts[-1][1]
    assert "Stopped by Alice after 1 question" in results.body and "1. Bob — 10 pts (1/1 right)" in results.body
    assert not bot.quiz.open
    game = await bot.store.game(1)
    assert game is not None and game.end_reason == "stopped" and game.ended_by == ALICE.user_id
    [again] = await bot.handle_command(command("quiz stop", ALICE))
    assert "No quiz is running" in again.body
    [board] = await bot.handle_command(command("leaderboard today", BOB))
    assert board.body.splitlines()[0] == "1. Bob — 10 pts (1/1 right)"  # a stopped game's points hold


async def test_others_are_told_privately_to_ask_the_starter_or_an_admin() -> None:
    bot, outbox, _ = await make_bot()
    await bot.handle_command(command("quiz questions 3", ALICE))
    for text in ("quiz stop", "quiz skip"):
        [refusal] = await bot.handle_command(command(text, BOB))
        assert refusal.ephemeral and "Ask Alice or an admin" in refusal.body
    assert titles(outbox) == ["Quiz"] and len(bot.quiz.open) == 1
    [ack] = await bot.handle_command(command("quiz stop", ADMIN))
    assert "stopped" in ack.body and titles(outbox) == ["Quiz", "Answer", "Quiz results"]


async def test_skip_reveals_the_question_and_the_next_one_follows() -> None:
    bot, outbox, clock = await make_bot()
    await bot.handle_command(command("quiz questions 2 seconds 60", ALICE))
    first = open_round(bot)
    [ack] = await bot.handle_command(command("quiz skip", ALICE))
    assert "next question follows" in ack.body
    assert titles(outbox) == ["Quiz", "Answer", "Quiz"] and open_round(bot) != first
    [last] = await bot.handle_command(command("quiz skip", ALICE))
    assert "last question" in last.body
    assert titles(outbox) == ["Quiz", "Answer", "Quiz", "Answer", "Quiz results"] and not bot.quiz.open


async def test_stop_and_skip_need_a_running_game_and_are_not_rate_limited() -> None:
    bot, _, _ = await make_bot(config=Config(cooldowns=CooldownSection(quiz_seconds=600)))
    [none] = await bot.handle_command(command("quiz skip", ALICE))
    assert "No quiz is running" in none.body
    await bot.handle_command(command("quiz questions 2", ALICE))
    [ack] = await bot.handle_command(command("quiz stop", ALICE))  # within the quiz cooldown
    assert "stopped" in ack.body


async def test_a_stop_racing_the_timer_reveals_once_and_posts_the_results_once() -> None:
    bot, outbox, clock = await make_bot()
    await bot.handle_command(command("quiz questions 2 seconds 10", ALICE))
    clock.advance(seconds=11)
    await asyncio.gather(bot.tick(), bot.handle_command(command("quiz stop", ALICE)))
    await bot.delivery.flush(wait=True)
    assert titles(outbox).count("Answer") == titles(outbox).count("Quiz")  # each question revealed once
    assert titles(outbox).count("Quiz results") == 1 and not bot.quiz.open
    assert not await bot.store.pending_messages()


async def test_a_skip_racing_the_timer_reveals_once() -> None:
    bot, outbox, clock = await make_bot()
    await bot.handle_command(command("quiz questions 3 seconds 10", ALICE))
    clock.advance(seconds=11)
    _, [ack] = await asyncio.gather(bot.tick(), bot.handle_command(command("quiz skip", ALICE)))
    await bot.delivery.flush(wait=True)
    assert titles(outbox) == ["Quiz", "Answer", "Quiz"]
    assert "just closed" in ack.body or "next question follows" in ack.body


async def test_two_stops_at_once_end_the_game_once() -> None:
    bot, outbox, _ = await make_bot()
    await bot.handle_command(command("quiz questions 3", ALICE))
    replies = await asyncio.gather(bot.handle_command(command("quiz stop", ALICE)),
                                   bot.handle_command(command("quiz stop", ADMIN)))
    bodies = sorted(r[0].body for r in replies)
    assert sum("stopped" in b for b in bodies) == 1, bodies
    assert titles(outbox) == ["Quiz", "Answer", "Quiz results"]


async def test_a_stopped_game_stays_stopped_after_a_restart(tmp_path: Any) -> None:
    path = tmp_path / "bot.sqlite3"
    bot, outbox, clock = await make_bot(path)
    await bot.handle_command(command("quiz questions 3 seconds 10", ALICE))
    await bot.handle_command(command("quiz stop", ALICE))
    again, outbox2, _ = await make_bot(path, clock=clock)
    clock.advance(seconds=30)
    await again.tick()
    assert not again.quiz.open and outbox2.posts == []


async def test_a_running_game_can_be_stopped_after_a_restart(tmp_path: Any) -> None:
    path = tmp_path / "bot.sqlite3"
    bot, _, clock = await make_bot(path)
    await bot.handle_command(command("quiz questions 3 seconds 60", ALICE))
    again, outbox2, _ = await make_bot(path, clock=clock)
    [ack] = await again.handle_command(command("quiz stop", ALICE))
    assert "stopped" in ack.body and titles(outbox2) == ["Answer", "Quiz results"]


# Games with an end


async def test_first_to_the_target_wins_and_the_game_ends_there() -> None:
    bot, outbox, clock = await make_bot(config=fakes_config())
    [ack] = await bot.handle_command(command("quiz to 20 seconds 10", ALICE))
    assert "first to 20 points wins" in ack.body and "10 questions" in ack.body  # questions: up to the most
    for _ in range(2):
        round_id = open_round(bot)
        await bot.handle_button(press(answer_button(bot, round_id, True), BOB))
        await bot.handle_button(press(answer_button(bot, round_id, False), ALICE))
        clock.advance(seconds=11)
        await bot.tick()
    assert not bot.quiz.open
    assert titles(outbox) == ["Quiz", "Answer", "Quiz", "Answer", "Quiz results"]
    results = outbox.posts[-1][1].body
    assert results.startswith("🏆 **Bob** wins: first to 20 points!")
    assert "1. Bob — 20 pts (2/2 right)" in results and "2. Alice — 0 pts (0/2 right)" in results


async def test_results_list_the_whole_games_standings_not_only_the_last_question() -> None:
    bot, outbox, clock = await make_bot(config=fakes_config())
    await bot.handle_command(command("quiz questions 2 seconds 10", ALICE))
    await bot.handle_button(press(answer_button(bot, open_round(bot), True), BOB))
    clock.advance(seconds=11)
    await bot.tick()
    await bot.handle_button(press(answer_button(bot, open_round(bot), True), ALICE))
    clock.advance(seconds=11)
    await bot.tick()
    results = outbox.posts[-1][1]
    assert results.title == "Quiz results"
    assert "Alice — 10 pts (1/1 right)" in results.body and "Bob — 10 pts (1/1 right)" in results.body


def fakes_config(**quiz: Any) -> Config:
    return Config(cooldowns=CooldownSection(ask_seconds=0, quiz_seconds=0), quiz=QuizSection(**quiz))


# Typed answers


async def test_a_typed_round_takes_a_typo_refuses_a_second_answer_and_reveals_accepted_answers() -> None:
    bot, outbox, clock = await make_bot()
    card = always(bot, TYPED_CARD)
    [ack] = await bot.handle_command(command("quiz typed seconds 30", ALICE))
    assert "type your answers" in ack.body
    question = outbox.posts[0][1]
    assert "tf.Variable" not in question.body  # no choices shown
    round_id = open_round(bot)
    assert [b.label for b in question.buttons] == ["Answer", "Hint"]
    [field] = await bot.handle_button(press(question.buttons[0].id, ALICE))
    assert field.ephemeral and field.text_input is not None
    assert field.text_input.id == buttons.typed_answer_id(round_id)
    locked = await typed(bot, ALICE, round_id, "tf.Varaible")
    assert "locked in" in locked.body and "right" not in locked.body.casefold()
    again = await typed(bot, ALICE, round_id, "tf.Variable")
    assert again.ephemeral and "already answered" in again.body
    assert "locked in" in (await typed(bot, BOB, round_id, "tf.constant")).body
    [pressed] = await bot.handle_button(press(buttons.answer_id(round_id, card.correct_index), BOB))
    assert "answered by typing" in pressed.body
    clock.advance(seconds=31)
    await bot.tick()
    reveal = outbox.posts[-1][1]
    fields = {f.name: f.value for f in reveal.fields}
    assert fields["Correct"] == "Alice (+10)" and fields["Answers"] == "2 (1 right)"
    assert fields["Accepted answers"] == "`tf.Variable`"
    [stored, _] = await bot.store.answers(round_id)
    assert stored.typed_text == "tf.Varaible" and stored.correct


async def test_typed_is_refused_clearly_where_no_card_has_answers() -> None:
    card = QuizCard("d/e/q1", "e", "d", "t", "Which?", (Choice("right", correct=True), Choice("wrong")), "Why.")
    lib = Library([Deck("d", "D", "", {"t": "T"}, (Entry("e", "d", "t", "What is e?", "E.", quiz=(card,)),))])
    bot = StudyBot(lib, await _store(), fakes_config(), clock=FakeClock(START))
    bot.attach("test", RecordingOutbox())
    await bot.start()
    [refusal] = await bot.handle_command(command("quiz typed", ALICE))
    assert refusal.ephemeral and "can be answered by typing" in refusal.body and "answers" in refusal.body
    [started] = await bot.handle_command(command("quiz", ALICE))
    assert "Quiz started" in started.body


async def _store() -> Any:
    from bot.store.sqlite import SqliteStore
    store = await SqliteStore.open(":memory:")
    fakes.OPEN_STORES.append(store)
    return store


async def test_a_daily_schedule_can_be_typed() -> None:
    bot, outbox, clock = await make_bot()
    [ok] = await bot.handle_command(command("daily set 09:00 UTC typed", ADMIN))
    assert "answered by typing" in ok.body
    clock.set(datetime(2026, 3, 3, 9, 0, 1, tzinfo=UTC))
    await bot.tick()
    question = next(r for _, r, _ in outbox.posts if r.buttons)
    assert question.buttons[0].label == "Answer"
    record = next(iter(bot.quiz.open.values()))
    assert record.typed and bot.library.card(record.card_id).answers  # type: ignore[union-attr]


# Hints


async def test_typed_hints_reveal_letters_then_words_and_cost_points() -> None:
    bot, outbox, clock = await make_bot()
    always(bot, TYPED_CARD)
    await bot.handle_command(command("quiz typed seconds 30", ALICE))
    round_id = open_round(bot)
    hint = buttons.hint_id(round_id)
    [first] = await bot.handle_button(press(hint, ALICE))
    assert first.ephemeral and "Hint 1 of 3: `t·.········`" in first.body and "75%" in first.body
    [second] = await bot.handle_button(press(hint, ALICE))
    assert "`tf.Vari····`" in second.body and "50%" in second.body
    await typed(bot, ALICE, round_id, "tf.variable")
    await typed(bot, BOB, round_id, "tf variable")
    [late] = await bot.handle_button(press(hint, BOB))
    assert "already answered" in late.body
    clock.advance(seconds=31)
    await bot.tick()
    assert dict((f.name, f.value) for f in outbox.posts[-1][1].fields)["Correct"] == "Alice (+5), Bob (+10)"


async def test_fifty_fifty_leaves_two_choices_privately_at_half_points() -> None:
    bot, outbox, clock = await make_bot()
    card = always(bot, "tensorflow/tf-vs-pytorch/q3")
    await bot.handle_command(command("quiz seconds 30", ALICE))
    round_id = open_round(bot)
    assert outbox.posts[0][1].buttons[-1].label == "50/50"
    [hint] = await bot.handle_button(press(buttons.hint_id(round_id), BOB))
    assert hint.ephemeral and "half points" in hint.body and card.choices[card.correct_index].text in hint.body
    assert hint.body.count("**") == 4  # two choices left
    await bot.handle_button(press(answer_button(bot, round_id, True), BOB))
    await bot.handle_button(press(answer_button(bot, round_id, True), ALICE))
    clock.advance(seconds=31)
    await bot.tick()
    assert dict((f.name, f.value) for f in outbox.posts[-1][1].fields)["Correct"] == "Alice (+10), Bob (+5)"


async def test_nohints_games_and_the_config_switch_show_no_hint_button() -> None:
    bot, outbox, _ = await make_bot()
    await bot.handle_command(command("quiz nohints", ALICE))
    assert all(b.label != "50/50" for b in outbox.posts[0][1].buttons)
    [refused] = await bot.handle_button(press(buttons.hint_id(open_round(bot)), BOB))
    assert "no hints" in refused.body
    off, outbox2, _ = await make_bot(config=fakes_config(hints=False))
    await off.handle_command(command("quiz typed", ALICE))
    assert [b.label for b in outbox2.posts[0][1].buttons] == ["Answer"]


# Fair points


async def test_points_follow_difficulty_and_speed_and_stored_points_never_change() -> None:
    config = fakes_config(points={"easy": 5, "medium": 10, "hard": 20}, speed_bonus=10)
    bot, outbox, clock = await make_bot(config=config)
    always(bot, TYPED_CARD)  # easy
    await bot.handle_command(command("quiz seconds 40", ALICE))
    round_id = open_round(bot)
    await bot.handle_button(press(answer_button(bot, round_id, True), ALICE))  # at once: 5 + 10
    clock.advance(seconds=30)
    await bot.handle_button(press(answer_button(bot, round_id, True), BOB))  # a quarter left: 5 + 2.5 -> 2
    clock.advance(seconds=11)
    await bot.tick()
    assert dict((f.name, f.value) for f in outbox.posts[-1][1].fields)["Correct"] == "Alice (+15), Bob (+8)"
    bot.config = fakes_config()  # a config change later
    bot.quiz.settings = bot.config.quiz
    [board] = await bot.handle_command(command("leaderboard today", BOB))
    assert board.body.splitlines()[:2] == ["1. Alice — 15 pts (1/1 right)", "2. Bob — 8 pts (1/1 right)"]


@pytest.mark.parametrize(("table", "problem"), [
    ("points = { easy = 5, tricky = 9 }", "quiz.points: unknown difficulty 'tricky'"),
    ("points = { easy = -1 }", "quiz.points.easy: must be 0 or more"),
    ("points = 10", "quiz.points: expected a table of whole numbers"),
    ("speed_bonus = -3", "quiz.speed_bonus: must be 0 or more"),
])
def test_points_config_is_validated(tmp_path: Any, table: str, problem: str) -> None:
    from bot.config import ConfigError, load_config
    path = tmp_path / "c.toml"
    path.write_text(f"[quiz]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=problem.replace("(", r"\(")):
        load_config(path)


def test_helps_game_examples_parse_to_the_options_they_describe() -> None:
    from bot.core.commands import CATALOG
    from bot.core.options import check_options
    from bot.core.parsing import parse_command
    quiz = CATALOG.find("quiz")
    assert quiz is not None
    wanted = {"quiz to 30": ("to", 30), "quiz typed": ("mode", "typed"), "quiz nohints": ("hints", "nohints"),
              "quiz skip": ("control", "skip"), "quiz stop": ("control", "stop")}
    assert [e for e, _ in quiz.more_examples] == list(wanted)
    for example, (option, value) in wanted.items():
        name, options = parse_command(example)
        args = check_options(quiz, options, Config(), fakes.library(), name)
        got = args.number(option) if isinstance(value, int) else args.text(option)
        assert got == value, example
    assert all(f"`{e}`" in "\n".join(CATALOG.help_lines()) for e in wanted)
