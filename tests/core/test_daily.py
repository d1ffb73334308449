"""Daily challenge: exactly once per local date, DST, grace window, admin-only, streaks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from bot.core.events import Channel
from bot.core.schedule import ScheduleInputError, fire_instant, parse_local_time, parse_zone
from bot.core.standings import streaks
from tests.clock import FakeClock
from tests.core.fakes import CHANNEL, command, make_bot, press, user

ADMIN = user("admin", admin=True)


def daily_questions(outbox):  # type: ignore[no-untyped-def]
    return [r for _, r, _ in outbox.posts if r.buttons and r.title and r.title.startswith("Daily challenge:")]


def test_missing_local_time_fires_at_the_end_of_the_gap() -> None:
    berlin = parse_zone("Europe/Berlin")
    # 2026-03-29 02:30 does not exist in Berlin: clocks jump from 02:00 to 03:00 (01:00 UTC).
    assert fire_instant(date(2026, 3, 29), time(2, 30), berlin) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    new_york = parse_zone("America/New_York")
    assert fire_instant(date(2026, 3, 8), time(2, 15), new_york) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_doubled_local_time_fires_at_its_first_occurrence() -> None:
    berlin = parse_zone("Europe/Berlin")
    # 2026-10-25 02:30 happens twice (CEST then CET); the first is 00:30 UTC.
    assert fire_instant(date(2026, 10, 25), time(2, 30), berlin) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(("text", "hint"), [("Europe/Berln", "Did you mean Europe/Berlin?"),
                                            ("Mars/Olympus", "Europe/Berlin"), ("../../etc/passwd", "IANA")])
def test_bad_zone_is_refused_with_examples(text: str, hint: str) -> None:
    with pytest.raises(ScheduleInputError, match="not a time zone") as caught:
        parse_zone(text)
    assert hint in str(caught.value)


@pytest.mark.parametrize("text", ["25:00", "9am", "", "12:60"])
def test_bad_time_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(ScheduleInputError, match="for example 09:00"):
        parse_local_time(text)


async def test_non_admin_cannot_schedule() -> None:
    bot, _, _ = await make_bot()
    [reply] = await bot.handle_command(command("daily set 09:00 UTC", user("bob")))
    assert reply.ephemeral and "Only workspace admins" in reply.body
    assert await bot.store.schedule_for(command("help").channel) is None


async def test_posts_exactly_once_per_local_date_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    clock = FakeClock(datetime(2026, 3, 28, 7, 0, tzinfo=UTC))
    bot, outbox, _ = await make_bot(path, clock=clock)
    [ok] = await bot.handle_command(command("daily set 09:00 Europe/Berlin questions 2", ADMIN))
    assert "Scheduled" in ok.body
    clock.set(datetime(2026, 3, 28, 8, 0, 30, tzinfo=UTC))  # 09:00:30 CET
    await bot.tick()
    assert len(daily_questions(outbox)) == 2
    bot2, outbox2, _ = await make_bot(path, clock=clock)  # restart right after posting
    await bot2.tick()
    clock.advance(minutes=5)
    await bot.tick()
    await bot2.tick()
    assert len(daily_questions(outbox)) + len(daily_questions(outbox2)) == 2

    # Next day is the spring-forward day: 09:00 CEST is 07:00 UTC.
    clock.set(datetime(2026, 3, 29, 6, 59, tzinfo=UTC))
    await bot2.tick()
    assert daily_questions(outbox2) == []
    clock.set(datetime(2026, 3, 29, 7, 0, 1, tzinfo=UTC))
    await bot2.tick()
    assert len(daily_questions(outbox2)) == 2


async def test_late_start_within_grace_posts_and_after_grace_skips(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 6, 0, tzinfo=UTC))
    bot, outbox, _ = await make_bot(tmp_path / "a.sqlite3", clock=clock)
    await bot.handle_command(command("daily set 09:00 UTC", ADMIN))
    clock.set(datetime(2026, 6, 1, 10, 30, tzinfo=UTC))  # down at 09:00, back 1.5 h later
    await bot.tick()
    assert len(daily_questions(outbox)) == 1
    clock.set(datetime(2026, 6, 2, 11, 30, tzinfo=UTC))  # 2.5 h late: skipped, and said why
    await bot.tick()
    assert len(daily_questions(outbox)) == 1
    assert "skipped" in caplog.text and "grace" in caplog.text


async def test_new_schedule_does_not_fire_for_a_time_already_past_today() -> None:
    clock = FakeClock(datetime(2026, 6, 1, 10, 0, tzinfo=UTC))
    bot, outbox, _ = await make_bot(clock=clock)
    await bot.handle_command(command("daily set 09:00 UTC", ADMIN))
    await bot.tick()
    assert daily_questions(outbox) == []


async def test_daily_closes_after_window_reveals_and_counts_streaks() -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    bot, outbox, _ = await make_bot(clock=clock)
    await bot.handle_command(command("daily set 09:00 UTC", ADMIN))
    alice = user("alice")
    for day in (1, 2, 3):
        clock.set(datetime(2026, 6, day, 9, 0, 1, tzinfo=UTC))
        await bot.tick()
        round_id = max(bot.quiz.open)
        card = bot.library.card(bot.quiz.open[round_id].card_id)
        [ack] = await bot.handle_button(press(f"answer:{round_id}:{card.correct_index}", alice))
        assert "locked in" in ack.body
        clock.set(datetime(2026, 6, day, 21, 0, 2, tzinfo=UTC))  # 12 h window
        await bot.tick()
        assert round_id not in bot.quiz.open
    ids = [r.title for _, r, _ in outbox.posts]
    assert sum(1 for t in ids if t and t.startswith("Answer:")) == 3
    cards = [r.body for r in daily_questions(outbox)]
    assert len(set(cards)) == 3  # no repeats while the pool lasts
    [stats] = await bot.handle_command(command("stats", alice))
    assert dict((f.name, f.value) for f in stats.fields)["Daily streak"] == "3 (best 3)"


def test_streaks_count_consecutive_local_days() -> None:
    days = {date(2026, 1, d) for d in (1, 2, 3, 5, 6)}
    assert streaks(days, date(2026, 1, 7)).current == 2
    assert streaks(days, date(2026, 1, 7)).best == 3
    assert streaks(days, date(2026, 1, 9)).current == 0
    assert streaks(set(), date(2026, 1, 9)).best == 0


async def test_day_results_are_posted_once_after_the_last_question_of_the_day_closes() -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    bot, outbox, _ = await make_bot(clock=clock)
    await bot.handle_command(command("daily set 22:00 UTC questions 2", ADMIN))
    clock.set(datetime(2026, 6, 1, 22, 0, 1, tzinfo=UTC))
    await bot.tick()
    alice, bob = user("alice"), user("bob")
    first, second = sorted(bot.quiz.open)
    for round_id in (first, second):
        card = bot.library.card(bot.quiz.open[round_id].card_id)
        await bot.handle_button(press(f"answer:{round_id}:{card.correct_index}", alice))
    clock.set(datetime(2026, 6, 2, 0, 30, tzinfo=UTC))  # bob answers after midnight: it still counts
    card = bot.library.card(bot.quiz.open[first].card_id)
    await bot.handle_button(press(f"answer:{first}:{card.correct_index}", bob))
    # A quiz elsewhere in the workspace is not part of the challenge's results.
    elsewhere = Channel("test", "w1", "c2")
    await bot.handle_command(command("quiz seconds 5", user("carol"), channel=elsewhere))
    quiz_id = max(bot.quiz.open)
    quiz_card = bot.library.card(bot.quiz.open[quiz_id].card_id)
    await bot.handle_button(press(f"answer:{quiz_id}:{quiz_card.correct_index}", user("carol"), channel=elsewhere))
    clock.advance(seconds=6)
    await bot.tick()

    clock.set(datetime(2026, 6, 2, 10, 0, 2, tzinfo=UTC))  # 12 h after it opened
    await bot.tick()
    posts = [(channel, r.title or "") for channel, r, _ in outbox.posts]
    assert sum(t.startswith("Answer:") for c, t in posts if c == CHANNEL) == 2
    [results] = [r for _, r, _ in outbox.posts if (r.title or "").startswith("Daily challenge results")]
    assert posts[-1] == (CHANNEL, "Daily challenge results for Monday 01 June")  # the challenge's day
    assert results.body.splitlines() == ["1. Alice — 20 pts (2/2 right)", "2. Bob — 10 pts (1/1 right)"]
    await bot.tick()
    assert sum((r.title or "").startswith("Daily challenge results") for _, r, _ in outbox.posts) == 1


@pytest.mark.parametrize(("schedule", "fires_at", "footer"), [
    # 09:00 CET is 08:00 UTC; open 12 hours (the default), so until 21:00 in Berlin, 20:00 UTC.
    ("09:00 Europe/Berlin", datetime(2026, 3, 2, 8, 0, 30, tzinfo=UTC), "open until 21:00 Europe/Berlin"),
    # 18:00 in New York (23:00 UTC) closes at 06:00 there the next morning: the day is named.
    ("18:00 America/New_York", datetime(2026, 3, 2, 23, 0, 30, tzinfo=UTC),
     "open until Tue 06:00 America/New_York"),
], ids=["same-day", "next-morning"])
async def test_daily_question_says_when_it_closes_in_the_schedules_zone(schedule: str, fires_at: datetime,
                                                                        footer: str) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
    bot, outbox, _ = await make_bot(clock=clock)
    await bot.handle_command(command(f"daily set {schedule} questions 1", ADMIN))
    clock.set(fires_at)
    await bot.tick()
    [question] = daily_questions(outbox)
    assert question.footer is not None and f"· {footer} ·" in question.footer and "UTC" not in question.footer
