"""Spaced repetition through the core: sessions, how cards enter, limits, reminders, stats, export."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fsrs import Card, Rating, Scheduler

from bot.chat import direct_channel
from bot.config import Config, CooldownSection, ReviewSection
from bot.core import buttons
from bot.core.app import StudyBot
from bot.core.buttons import ReviewPress
from bot.core.replies import Reply
from bot.core.review_export import write_csv
from bot.core.reviews import heatmap, scheduler_for
from bot.store.base import Learner
from tests.clock import FakeClock
from tests.core import fakes

EXACT = Config(cooldowns=CooldownSection(ask_seconds=0, quiz_seconds=0),
               review=ReviewSection(enable_fuzzing=False))  # so ratings compare exactly with the package's
ALICE = fakes.user("alice")
LEARNER = Learner("test", "w1", ALICE.user_id)


async def _bot(clock: FakeClock | None = None, path: Path | str = ":memory:",
               config: Config = EXACT) -> tuple[StudyBot, fakes.RecordingOutbox, FakeClock]:
    return await fakes.make_bot(path, clock=clock, config=config)


async def say(bot: StudyBot, text: str) -> list[Reply]:
    return await bot.handle_command(fakes.command(text, ALICE))


async def push(bot: StudyBot, reply: Reply, action: str) -> list[Reply]:
    """Presses the button of ``reply`` whose review action starts with ``action``."""
    button = next(b for b in reply.buttons if isinstance(p := buttons.parse(b.id), ReviewPress)
                  and p.action.startswith(action))
    return await bot.handle_button(fakes.press(button.id, ALICE))


def _card_of(reply: Reply) -> str:
    press = next(p for b in reply.buttons if isinstance(p := buttons.parse(b.id), ReviewPress) and p.item != "-")
    return press.item


async def test_a_session_answers_rates_shows_when_due_and_goes_on() -> None:
    bot, _, clock = await _bot()
    [added] = await say(bot, "review add keras")
    assert "Added" in added.text() and added.ephemeral
    [card] = await say(bot, "review")
    assert card.ephemeral and card.title and card.title.startswith("Review:")
    card_id = _card_of(card)
    quiz = bot.library.card(card_id)
    assert quiz is not None
    wrong = next(i for i in range(len(quiz.choices)) if i != quiz.correct_index)
    [back] = await push(bot, card, f"pick{wrong}")
    assert "Not quite" in back.body and "Suggested: Again" in back.body
    suggested = [b for b in back.buttons if b.style == "primary"]
    assert len(suggested) == 1 and suggested[0].label.startswith("Again")
    lead, following = await push(bot, back, "rate3")  # the person changes the suggestion to Good
    assert lead.body.startswith("Good. Next review of this card in 10 min")
    assert _card_of(following) != card_id  # the session goes on with the next due card
    state = (await bot.store.review_cards(LEARNER, [card_id]))[card_id]
    assert state.reps == 1 and state.due == clock.now() + timedelta(minutes=10)


async def test_a_rating_pressed_twice_counts_once() -> None:
    bot, _, _ = await _bot()
    await say(bot, "review add keras")
    [card] = await say(bot, "review")
    [back] = await push(bot, card, "pick0")
    await push(bot, back, "rate3")
    again = await push(bot, back, "rate4")
    assert "already rated" in again[0].body
    assert len(await bot.store.review_log(LEARNER)) == 1


async def test_ratings_are_scheduled_exactly_as_the_fsrs_package_schedules_them() -> None:
    bot, _, clock = await _bot()
    scheduler = Scheduler(enable_fuzzing=False)  # the package's defaults: [review]'s defaults are the same
    reference = Card(card_id=0, due=clock.now())
    await say(bot, "review add keras")
    card_id = ""
    for rating in (Rating.Good, Rating.Again, Rating.Good, Rating.Easy, Rating.Hard):
        [card] = await say(bot, "review")
        card_id = card_id or _card_of(card)
        stored = (await bot.store.review_cards(LEARNER, [card_id]))[card_id]
        [back] = await bot.handle_button(fakes.press(buttons.review_id("pick0", stored.version, card_id), ALICE))
        await push(bot, back, f"rate{int(rating)}")
        reference, _ = scheduler.review_card(reference, rating, review_datetime=clock.now())
        state = (await bot.store.review_cards(LEARNER, [card_id]))[card_id]
        assert state.due == reference.due
        assert json.loads(state.state)["stability"] == reference.stability
        clock.set(reference.due)  # so this card is the most overdue one next
    assert scheduler_for(ReviewSection()).parameters == Scheduler().parameters


async def test_scheduling_a_rating_costs_under_a_millisecond() -> None:
    bot, _, clock = await _bot()
    import time

    started = time.perf_counter()
    stored = None
    for i in range(200):
        rated = bot.reviews.rate(LEARNER, "x", stored, 1 + i % 4, clock.now() + timedelta(days=i), "review")
        stored = rated.card
    assert (time.perf_counter() - started) / 200 < 0.001


async def test_quiz_answers_feed_memory_states_wrong_soon_right_later() -> None:
    bot, _, clock = await _bot()
    bob = fakes.user("bob")
    await bot.handle_command(fakes.command("quiz keras seconds 30", ALICE))
    record = next(iter(bot.quiz.open.values()))
    card = bot.library.card(record.card_id)
    assert card is not None
    wrong = (card.correct_index + 1) % len(card.choices)
    await bot.handle_button(fakes.press(buttons.answer_id(record.id, card.correct_index), ALICE))
    await bot.handle_button(fakes.press(buttons.answer_id(record.id, wrong), bob))
    clock.advance(seconds=31)
    await bot.tick()
    right = (await bot.store.review_cards(LEARNER, [card.id]))[card.id]
    missed = (await bot.store.review_cards(Learner("test", "w1", bob.user_id), [card.id]))[card.id]
    assert missed.due < right.due
    assert missed.due - clock.now() <= timedelta(minutes=2)
    [entry] = await bot.store.review_log(LEARNER)
    assert entry.source == "quiz" and entry.rating == 3


async def test_quiz_me_on_this_adds_the_entrys_cards() -> None:
    bot, _, _ = await _bot()
    entry = next(e for d in bot.library.decks for e in d.entries if e.quiz)
    await bot.handle_button(fakes.press(buttons.practice_id(f"{entry.deck}/{entry.id}"), ALICE))
    have = await bot.store.review_cards(LEARNER, [c.id for c in entry.quiz])
    assert set(have) == {c.id for c in entry.quiz}


async def test_nothing_due_offers_new_cards_from_the_weakest_topics() -> None:
    bot, _, _ = await _bot()
    [offer] = await say(bot, "review")
    assert "Nothing is due" in offer.body and offer.buttons
    replies = await push(bot, offer, "add")
    assert replies[0].body.startswith("Added 5 new cards")
    assert replies[1].title and replies[1].title.startswith("Review:")


async def test_new_cards_stop_at_the_daily_limit() -> None:
    bot, _, _ = await _bot(config=replace(EXACT, review=ReviewSection(enable_fuzzing=False, new_per_day=2)))
    await say(bot, "review add keras")
    for _ in range(2):
        [card] = await say(bot, "review")
        [back] = await push(bot, card, "pick0")
        await push(bot, back, "rate4")
    [done] = await say(bot, "review")
    assert "today's 2 new cards" in done.body


async def test_review_add_refuses_an_unknown_name_and_says_what_works() -> None:
    bot, _, _ = await _bot()
    [reply] = await say(bot, "review add no-such-topic")
    assert "topics" in reply.body and "review add keras" in reply.body


async def test_states_survive_a_restart(tmp_path: Path) -> None:
    bot, _, clock = await _bot(path=tmp_path / "s.db")
    await say(bot, "review add keras")
    [card] = await say(bot, "review")
    [back] = await push(bot, card, "pick0")
    await bot.store.close()
    fakes.OPEN_STORES.clear()
    again, _, _ = await _bot(clock=clock, path=tmp_path / "s.db")
    await push(again, back, "rate3")  # a button from before the restart still works
    assert len(await again.store.review_log(LEARNER)) == 1


async def test_reminder_is_sent_once_per_local_date_across_restarts_and_dst(tmp_path: Path) -> None:
    # 28 March 2026: Europe/Berlin springs forward on the 29th (02:00 -> 03:00).
    clock = FakeClock(datetime(2026, 3, 28, 6, 0, tzinfo=UTC))
    bot, outbox, _ = await _bot(clock=clock, path=tmp_path / "r.db")
    await say(bot, "review add keras")
    [set_reply] = await say(bot, "review remind 02:30 Europe/Berlin")
    assert "02:30 Europe/Berlin" in set_reply.body
    clock.set(datetime(2026, 3, 29, 0, 0, tzinfo=UTC))  # 01:00 in Berlin: not yet
    await bot.tick()
    assert outbox.posts == []
    clock.set(datetime(2026, 3, 29, 1, 0, tzinfo=UTC))  # 03:00 CEST: 02:30 did not exist, fire after the gap
    await bot.tick()
    [(channel, reply, _)] = outbox.posts
    assert channel == direct_channel("test", "w1", ALICE.user_id)
    assert "cards due for review" in reply.body and reply.ephemeral
    await bot.store.close()
    fakes.OPEN_STORES.clear()
    again, outbox2, _ = await _bot(clock=clock, path=tmp_path / "r.db")
    clock.advance(minutes=5)
    await again.tick()
    assert outbox2.posts == []  # the same local date is not reminded twice
    clock.set(datetime(2026, 3, 30, 0, 31, tzinfo=UTC))  # 02:31 CEST the next day
    await again.tick()
    assert len(outbox2.posts) == 1
    [off] = await say(again, "review remind off")
    assert "off" in off.body
    clock.advance(days=1)
    await again.tick()
    assert len(outbox2.posts) == 1


async def test_no_reminder_when_nothing_is_due() -> None:
    bot, outbox, clock = await _bot()
    await say(bot, "review remind 12:30 UTC")
    clock.advance(minutes=31)
    await bot.tick()
    assert outbox.posts == []


async def test_stats_show_due_retention_streak_and_heatmap() -> None:
    bot, _, clock = await _bot()
    await say(bot, "review add keras")
    for _ in range(3):
        [card] = await say(bot, "review")
        [back] = await push(bot, card, "pick0")
        await push(bot, back, "rate1")
    clock.advance(minutes=2)
    [card] = await say(bot, "review")
    [back] = await push(bot, card, "pick0")
    await push(bot, back, "rate3")  # a second look at a card: counts for retention
    [stats] = await say(bot, "stats")
    fields = {f.name: f.value for f in stats.fields}
    assert fields["Due"].startswith("21 today")
    assert fields["Retention (30 days)"] == "100% of 1"
    assert fields["Review streak"].startswith("1 day")
    assert "█" in fields["Reviews, last 8 weeks"]


def test_heatmap_has_a_row_per_weekday_and_a_column_per_week() -> None:
    today = date(2026, 3, 4)  # a Wednesday
    rows = heatmap({today: 4, today - timedelta(days=7): 1}, today, weeks=3).splitlines()
    assert len(rows) == 7 and all(len(r) == 5 for r in rows)
    assert rows[2] == "W ·░█"
    assert rows[3] == "T ·· "  # Thursday of this week has not come yet


async def test_export_writes_the_review_log_as_csv() -> None:
    bot, _, _ = await _bot()
    await say(bot, "review add keras")
    [card] = await say(bot, "review")
    [back] = await push(bot, card, "pick0")
    await push(bot, back, "rate2")
    out = io.StringIO()
    write_csv(await bot.store.review_log(LEARNER), out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 1
    assert rows[0]["user_id"] == ALICE.user_id and rows[0]["rating_name"] == "Hard" and rows[0]["source"] == "review"
    assert datetime.fromisoformat(rows[0]["reviewed_at"]).tzinfo is not None


async def test_a_card_no_longer_in_any_deck_is_skipped_and_kept() -> None:
    bot, _, clock = await _bot()
    await bot.store.add_review_cards(LEARNER, [("gone/entry/1", "{}")], clock.now() - timedelta(days=1))
    await say(bot, "review add keras")
    [card] = await say(bot, "review")
    assert _card_of(card) != "gone/entry/1" and card.title and card.title.startswith("Review:")
    assert "gone/entry/1" in await bot.store.review_cards(LEARNER, ["gone/entry/1"])  # its history stays


async def test_an_entry_is_a_flashcard_with_show_answer_then_ratings() -> None:
    bot, _, _ = await _bot()
    entry = next(e for d in bot.library.decks for e in d.entries)
    key = f"{entry.deck}/{entry.id}"
    await bot.reviews.add(LEARNER, [key])  # what `review add` does for an entry without quiz cards
    [front] = await say(bot, "review")
    assert front.body == entry.question and [b.label for b in front.buttons] == ["Show answer", "Stop"]
    [stopped] = await push(bot, front, "stop")
    assert stopped.body.startswith("Review stopped") and not stopped.buttons
    [back] = await push(bot, front, "show")  # the same message still works: the session keeps no state
    assert entry.answer in back.body and [b.label.split(" · ")[0] for b in back.buttons] == [
        "Again", "Hard", "Good", "Easy"]
    lead, following = await push(bot, back, "rate4")
    assert lead.body.startswith("Easy. Next review of this card in")
    assert "Nothing is due" in following.body  # it was the only card


async def test_a_quiz_card_reviewed_as_a_flashcard_is_scheduled_as_after_its_choices() -> None:
    bot, _, _ = await _bot()
    bob = fakes.user("bob")
    await say(bot, "review add keras")
    await bot.handle_command(fakes.command("review add keras", bob))
    [front] = await say(bot, "review flashcards")
    card_id = _card_of(front)
    quiz = bot.library.card(card_id)
    assert quiz is not None  # a multiple-choice card, shown without its choices
    assert front.body == quiz.prompt and [b.label for b in front.buttons] == ["Show answer", "Stop"]
    assert front.ephemeral and front.footer and front.footer.startswith("Flashcards")
    [back] = await push(bot, front, "fcshow")
    assert quiz.choices[quiz.correct_index].text in back.body and quiz.explanation in back.body
    assert not any(b.style == "primary" for b in back.buttons)  # no suggestion: the person judges
    lead, following = await push(bot, back, "fcrate3")
    assert lead.body.startswith("Good. Next review of this card in 10 min")
    assert _card_of(following) != card_id and following.body == bot.library.card(_card_of(following)).prompt
    assert [b.label for b in following.buttons] == ["Show answer", "Stop"]  # the session stays flashcards

    [bob_front] = await bot.handle_command(fakes.command("review", bob))  # the same card, answered by choice
    assert _card_of(bob_front) == card_id and "Flip to flashcard" in [b.label for b in bob_front.buttons]
    pick = next(b for b in bob_front.buttons if b.id.split(":")[2] == f"pick{quiz.correct_index}")
    [bob_back] = await bot.handle_button(fakes.press(pick.id, bob))
    rate = next(b for b in bob_back.buttons if b.label.startswith("Good"))
    await bot.handle_button(fakes.press(rate.id, bob))
    flashed = (await bot.store.review_cards(LEARNER, [card_id]))[card_id]
    chosen = (await bot.store.review_cards(Learner("test", "w1", bob.user_id), [card_id]))[card_id]
    assert json.loads(flashed.state) == json.loads(chosen.state) and flashed.due == chosen.due
    [entry] = await bot.store.review_log(LEARNER)
    assert entry.source == "review" and entry.rating == 3


async def test_flip_to_flashcard_turns_the_session_into_flashcards_and_survives_a_restart(tmp_path: Path) -> None:
    bot, _, clock = await _bot(path=tmp_path / "f.db")
    await say(bot, "review add keras")
    [card] = await say(bot, "review")
    [flipped] = await push(bot, card, "fcfront")
    quiz = bot.library.card(_card_of(card))
    assert quiz is not None and flipped.body == quiz.prompt
    await bot.store.close()
    fakes.OPEN_STORES.clear()
    again, _, _ = await _bot(clock=clock, path=tmp_path / "f.db")
    [back] = await push(again, flipped, "fcshow")  # the mode is in the ids, not in memory
    _, following = await push(again, back, "fcrate1")
    assert [b.label for b in following.buttons] == ["Show answer", "Stop"]
    assert buttons.parse(buttons.review_id("rate1", 3, "d/e/1")) == ReviewPress("rate1", 3, "d/e/1")
    assert len(await again.store.review_log(LEARNER)) == 1
