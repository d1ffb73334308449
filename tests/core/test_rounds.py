"""Quiz rounds through the core: answers, privacy, reveal, multi-question rounds, concurrency, restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Config, QuizSection
from bot.core import buttons
from bot.core.outbox import DeliveryRefused
from bot.core.rounds import reveal_reply
from bot.store.base import AnswerRecord
from tests.core.fakes import command, library, make_bot, press, user


def question_posts(outbox):  # type: ignore[no-untyped-def]
    return [(reply, mid) for _, reply, mid in outbox.posts if reply.buttons]


async def test_round_runs_from_question_to_reveal_with_points() -> None:
    bot, outbox, clock = await make_bot()
    alice, bob = user("alice"), user("bob")
    [ack] = await bot.handle_command(command("quiz seconds 10", alice))
    assert ack.ephemeral and "1 question, 10 s" in ack.body
    question, message_id = question_posts(outbox)[0]
    card = bot.library.card(bot.quiz.open[next(iter(bot.quiz.open))].card_id)
    right = next(b for b in question.buttons if b.id.endswith(f":{card.correct_index}"))
    wrong = next(b for b in question.buttons if b is not right)

    [first] = await bot.handle_button(press(right.id, alice))
    assert first.ephemeral and "locked in" in first.body
    assert card.choices[card.correct_index].text not in first.body  # the ack never reveals the answer
    [again] = await bot.handle_button(press(wrong.id, alice))
    assert again.ephemeral and "already answered" in again.body
    await bot.handle_button(press(wrong.id, bob))

    clock.advance(seconds=9)
    await bot.tick()
    assert len(outbox.posts) == 1  # not yet
    clock.advance(seconds=2)
    await bot.tick()
    reveal = outbox.posts[-1][1]
    assert card.explanation in reveal.body
    assert card.choices[card.correct_index].text in reveal.body
    assert "Alice (+10)" in reveal.fields[0].value
    assert "2 (1 right)" in reveal.fields[1].value
    assert outbox.edits and outbox.edits[0][1] == message_id and outbox.edits[0][2].buttons == ()

    [late] = await bot.handle_button(press(right.id, bob))
    assert late.ephemeral and "closed" in late.body
    [board] = await bot.handle_command(command("leaderboard today", bob))
    assert board.body.splitlines()[0] == "1. Alice — 10 pts (1/1 right)"


async def test_one_on_demand_round_per_channel() -> None:
    bot, outbox, _ = await make_bot()
    await bot.handle_command(command("quiz", user("alice")))
    [refusal] = await bot.handle_command(command("quiz", user("bob")))
    assert "already running" in refusal.body
    assert len(question_posts(outbox)) == 1


async def test_multi_question_round_posts_the_next_question_after_each_reveal() -> None:
    bot, outbox, clock = await make_bot()
    await bot.handle_command(command("quiz keras questions 3 seconds 5", user("alice")))
    for _ in range(3):
        clock.advance(seconds=6)
        await bot.tick()
    questions = question_posts(outbox)
    assert len(questions) == 3
    assert len({q.body for q, _ in questions}) == 3  # no card twice in one quiz
    assert all("Keras" in q.footer for q, _ in questions)
    assert not bot.quiz.open


async def test_bad_quiz_options_are_refused_with_what_would_work() -> None:
    bot, _, _ = await make_bot(config=Config(quiz=QuizSection(max_questions=5)))
    [too_many] = await bot.handle_command(command("quiz questions 9", user("a")))
    assert "from 1 to 5" in too_many.body
    [bad_topic] = await bot.handle_command(command("quiz cooking", user("b")))
    assert "don't know the topic" in bad_topic.body and "keras" in bad_topic.body
    [bad_seconds] = await bot.handle_command(command("quiz seconds 1", user("c")))
    assert "`seconds` must be a whole number from 5 to 600" in bad_seconds.body


async def test_thousand_concurrent_answers_are_each_stored_and_scored_once(tmp_path: Path) -> None:
    bot, outbox, clock = await make_bot(tmp_path / "bot.sqlite3")
    await bot.handle_command(command("quiz seconds 60", user("host")))
    round_id = next(iter(bot.quiz.open))
    card = bot.library.card(bot.quiz.open[round_id].card_id)
    users = [user(f"user{i}") for i in range(1000)]
    presses = [bot.handle_button(press(f"answer:{round_id}:{i % len(card.choices)}", u)) for i, u in enumerate(users)]
    duplicates = [bot.handle_button(press(f"answer:{round_id}:0", u)) for u in users[:200]]
    results = await asyncio.gather(*presses, *duplicates)
    first, second = results[:1000], results[1000:]
    assert all("locked in" in r[0].body for r in first)
    assert all("already answered" in r[0].body for r in second)
    answers = await bot.store.answers(round_id)
    assert len(answers) == 1000
    assert len({a.user_id for a in answers}) == 1000
    right = sum(a.correct for a in answers)
    assert right == sum(1 for i in range(1000) if i % len(card.choices) == card.correct_index)
    assert sum(a.points for a in answers) == 10 * right
    clock.advance(seconds=61)
    await bot.tick()
    assert f"1000 ({right} right)" in outbox.posts[-1][1].fields[1].value


async def test_restart_rearms_open_rounds_and_closes_overdue_ones_once(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    bot, outbox, clock = await make_bot(path)
    await bot.handle_command(command("quiz seconds 30", user("alice")))
    round_id = next(iter(bot.quiz.open))
    await bot.handle_button(press(f"answer:{round_id}:0", user("alice")))
    # kill -9: nothing is closed or flushed by hand; a new process opens the same file.
    clock.advance(seconds=10)
    bot2, outbox2, _ = await make_bot(path, clock=clock)
    assert round_id in bot2.quiz.open
    [answer] = await bot2.handle_button(press(f"answer:{round_id}:1", user("bob")))
    assert "locked in" in answer.body
    [dup] = await bot2.handle_button(press(f"answer:{round_id}:1", user("alice")))
    assert "already answered" in dup.body
    clock.advance(seconds=30)
    await asyncio.gather(bot.tick(), bot2.tick())  # both processes race to close it
    reveals = [r for _, r, _ in outbox.posts + outbox2.posts if r.title and r.title.startswith("Answer:")]
    assert len(reveals) == 1
    assert "2 (" in reveals[0].fields[1].value


async def test_practice_round_is_private_and_answered_at_once() -> None:
    bot, outbox, _ = await make_bot()
    alice = user("alice")
    [card] = await bot.handle_command(command("ask what is eager execution", alice))
    practice = next(b for b in card.buttons if b.id.startswith(buttons.practice_id("")))
    [question] = await bot.handle_button(press(practice.id, alice))
    assert question.ephemeral and question.buttons
    [stranger] = await bot.handle_button(press(question.buttons[0].id, user("bob")))
    assert "belongs to someone else" in stranger.body
    [result] = await bot.handle_button(press(question.buttons[0].id, alice))
    assert result.ephemeral and result.title == "Practice result"
    assert outbox.posts == []  # nothing public
    [board] = await bot.handle_command(command("leaderboard all", alice))
    assert "No points yet" in board.body


async def test_unknown_or_forged_buttons_are_answered_politely() -> None:
    bot, _, _ = await make_bot()
    for button in ("answer:999:0", "answer:x:y", "ask:tensorflow/nope", "bogus"):
        [reply] = await bot.handle_button(press(button, user("alice")))
        assert reply.ephemeral and reply.body


async def test_a_question_the_platform_refuses_does_not_block_the_channel() -> None:
    """Refused for good (bot removed, channel gone): the round is withdrawn and the person told why."""
    bot, outbox, _ = await make_bot()
    working_post = outbox.post

    async def refusing_post(channel, reply):  # type: ignore[no-untyped-def]
        raise DeliveryRefused("not_in_channel", "Invite me first.")

    outbox.post = refusing_post  # type: ignore[method-assign]
    [refusal] = await bot.handle_command(command("quiz", user("alice")))
    assert refusal.ephemeral and "no quiz was started" in refusal.body and "Invite me first." in refusal.body
    assert bot.quiz.open == {} and await bot.store.open_rounds() == []
    outbox.post = working_post  # type: ignore[method-assign]
    [started] = await bot.handle_command(command("quiz", user("bob")))
    assert "Quiz started" in started.body
    assert len(question_posts(outbox)) == 1


async def test_a_question_that_could_not_be_posted_yet_is_posted_when_the_service_is_back() -> None:
    """A network failure is transient: the quiz starts and its question is retried until it is posted."""
    bot, outbox, clock = await make_bot()
    working_post = outbox.post

    async def broken_post(channel, reply):  # type: ignore[no-untyped-def]
        raise ConnectionError("chat service unreachable")

    outbox.post = broken_post  # type: ignore[method-assign]
    [started] = await bot.handle_command(command("quiz", user("alice")))
    assert "Quiz started" in started.body and question_posts(outbox) == []
    outbox.post = working_post  # type: ignore[method-assign]
    clock.advance(seconds=5)
    await bot.tick()
    assert len(question_posts(outbox)) == 1


async def test_stats_of_someone_else_by_mention() -> None:
    bot, outbox, clock = await make_bot()
    bob = user("bob")
    await bot.handle_command(command("quiz", user("alice")))
    [(question, _)] = question_posts(outbox)
    await bot.handle_button(press(question.buttons[0].id, bob))
    clock.advance(seconds=61)
    await bot.tick()
    [stats] = await bot.handle_command(command(f"stats <@{bob.user_id}|bob>", user("alice")))
    assert stats.title == "Stats: bob" and stats.ephemeral
    assert dict((f.name, f.value) for f in stats.fields)["Answered"] == "1"


async def test_standings_count_a_round_only_once_it_is_revealed() -> None:
    """Points visible before the reveal would tell everyone who pressed the right button."""
    bot, outbox, clock = await make_bot()
    bob = user("bob")
    await bot.handle_command(command("quiz", user("alice")))
    [(question, _)] = question_posts(outbox)
    card = bot.library.card(next(iter(bot.quiz.open.values())).card_id)
    assert card is not None
    await bot.handle_button(press(question.buttons[card.correct_index].id, bob))

    [during] = await bot.handle_command(command("leaderboard all", user("alice")))
    [stats_during] = await bot.handle_command(command(f"stats <@{bob.user_id}|bob>", user("alice")))
    assert "Bob" not in during.body
    assert stats_during.body == "bob has not answered any questions yet."

    clock.advance(seconds=61)
    await bot.tick()
    [after] = await bot.handle_command(command("leaderboard all", user("alice")))
    assert "1. Bob — 10 pts (1/1 right)" in after.body


def test_reveal_names_winners_without_pinging_and_says_each_only_for_several() -> None:
    card = library().decks[0].cards[0]
    at = datetime(2026, 3, 2, tzinfo=UTC)

    def answer(name: str, correct: bool) -> AnswerRecord:
        return AnswerRecord(1, name, name, card.correct_index if correct else -1, correct, 10 if correct else 0, at)

    one = reveal_reply(card, [answer("ann", True), answer("ben", False)])
    several = reveal_reply(card, [answer("ann", True), answer("@everyone", True), answer("ben", False)])
    assert one.fields[0].value == "ann (+10)"
    assert several.fields[0].value.endswith("(+10 each)")
    assert "@everyone" not in several.fields[0].value  # a display name cannot ping
    assert several.fields[1].value == "3 (2 right)"
