"""The Store protocol's promises, checked on every store: a SQLite file and a real PostgreSQL database.

Each test runs twice (``[sqlite]``, ``[postgres]``). ``other`` is a second store on the same
database, standing for another process: claims raced between the two must go to exactly one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.chat import Channel
from bot.store.base import AnswerRecord, Game, Learner, Outgoing, ReviewCard, ReviewEntry, RoundRecord, Store
from bot.store.postgres import PostgresStore
from bot.store.sqlite import SqliteStore

CHANNEL = Channel("test", "w1", "c1")
OTHER_CHANNEL = Channel("test", "w1", "c2")
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CARD = "tensorflow/eager-execution/1"
Opener = Callable[[], Awaitable[Store]]


@pytest.fixture(params=["sqlite", "postgres"])
async def opener(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens stores on one fresh database of the kind the test runs on; closes them after."""
    opened: list[Store] = []
    if request.param == "sqlite":
        async def open_one() -> Store:
            store = await SqliteStore.open(tmp_path / "studybot.sqlite3")
            opened.append(store)
            return store
    else:
        url = request.getfixturevalue("postgres_url")

        async def open_one() -> Store:
            store = await PostgresStore.open(url, pool_size=4)
            opened.append(store)
            return store
    yield open_one
    for store in opened:
        await store.close()


@pytest.fixture
async def store(opener: Opener) -> Store:
    return await opener()


@pytest.fixture
async def other(opener: Opener, store: Store) -> Store:
    return await opener()


def quiz(at: datetime = NOON, channel: Channel = CHANNEL, kind: str = "quiz", card: str = CARD,
         seconds: int = 60, **extra: object) -> RoundRecord:
    return RoundRecord(0, channel, kind, card, at, at + timedelta(seconds=seconds), **extra)  # type: ignore[arg-type]


async def opened(store: Store, record: RoundRecord | None = None) -> RoundRecord:
    stored = await store.open_round(record or quiz())
    assert stored is not None
    return stored


def answer(round_id: int, user: str, at: datetime = NOON, points: int = 10, choice: int = 0) -> AnswerRecord:
    return AnswerRecord(round_id, user, user.upper(), choice, points > 0, points, at)


async def revealed_answer(store: Store, at: datetime, user: str = "u1", points: int = 10, card: str = CARD) -> int:
    record = await opened(store, quiz(at, card=card))
    assert await store.record_answer(answer(record.id, user, at, points), "test", "w1")
    assert await store.close_round(record.id, at + timedelta(seconds=5))
    return record.id


# Rounds


async def test_a_round_reads_back_as_written(store: Store) -> None:
    record = await opened(store, quiz(kind="daily", topic="keras", schedule_id=None, local_date=date(2026, 3, 2),
                                      remaining=2, owner_id="u9"))
    again = await store.get_round(record.id)
    assert again == record
    assert (again.kind, again.topic, again.local_date, again.remaining, again.owner_id, again.seconds) == (
        "daily", "keras", date(2026, 3, 2), 2, "u9", 60)
    assert again.opened_at == NOON and again.closes_at == NOON + timedelta(seconds=60)
    assert again.closed_at is None and again.revealed_at is None and again.message_id is None
    assert await store.get_round(record.id + 1000) is None


async def test_one_open_quiz_per_channel_but_daily_and_practice_rounds_beside_it(store: Store) -> None:
    first = await opened(store)
    assert await store.open_round(quiz()) is None
    assert await store.open_round(quiz(channel=OTHER_CHANNEL)) is not None
    assert await store.open_round(quiz(kind="daily")) is not None
    assert await store.open_round(quiz(kind="practice", owner_id="u1")) is not None
    assert await store.close_round(first.id, NOON)
    assert await store.open_round(quiz()) is not None  # free again once closed
    assert len(await store.open_rounds()) == 4


async def test_a_round_is_closed_once_even_when_two_processes_race(store: Store, other: Store) -> None:
    record = await opened(store)
    results = await asyncio.gather(*(s.close_round(record.id, NOON) for s in (store, other, store, other)))
    assert sorted(results) == [False, False, False, True]
    assert [r.id for r in await other.open_rounds()] == []


async def test_racing_units_close_and_queue_the_reveal_once(store: Store, other: Store) -> None:
    record = await opened(store)

    async def close_and_reveal(s: Store) -> bool:
        async with s.unit() as unit:
            if not await unit.close_round(record.id, NOON, revealed=False):
                return False
            await unit.enqueue([Outgoing(CHANNEL, "post", "reveal", "{}", record.id)], NOON)
            return True

    assert sorted(await asyncio.gather(close_and_reveal(store), close_and_reveal(other))) == [False, True]
    assert [m.purpose for m in await store.pending_messages(record.id)] == ["reveal"]


# Answers and scores


async def test_answers_once_per_user_and_round_across_processes(store: Store, other: Store) -> None:
    record = await opened(store)
    presses = [(store if i % 2 else other).record_answer(answer(record.id, f"u{i % 30}"), "test", "w1")
               for i in range(90)]
    stored = await asyncio.gather(*presses)
    assert stored.count(True) == 30
    assert sorted(a.user_id for a in await store.answers(record.id)) == sorted(f"u{i}" for i in range(30))


async def test_a_batch_mixing_rounds_and_workspaces_stores_each_answer_with_its_own(store: Store) -> None:
    first = await opened(store)
    elsewhere = await opened(store, quiz(channel=Channel("test", "w2", "c9")))
    await store.take_hint(elsewhere.id, "u2", 3)
    at = NOON + timedelta(microseconds=123_457)
    for after in ((5,), ()):  # one batch each: with points after hints, and without
        written = await asyncio.gather(
            store.record_answer(answer(first.id, f"u1{after}", at), "test", "w1", after),
            store.record_answer(answer(elsewhere.id, f"u2{after}", at), "test", "w2", after),
            store.record_answer(answer(elsewhere.id, "u2", at, choice=2), "test", "w2", after),
            store.record_answer(answer(first.id, f"u1{after}", at), "test", "w1", after))
        assert written == [True, True, bool(after), False]  # u2 answers in the first batch only
    assert [(a.user_id, a.points, a.answered_at) for a in await store.answers(first.id)] == [
        ("u1()", 10, at), ("u1(5,)", 10, at)]
    assert [(a.user_id, a.points, a.choice) for a in await store.answers(elsewhere.id)] == [
        ("u2", 5, 2), ("u2()", 10, 0), ("u2(5,)", 10, 0)]


async def test_answers_read_back_in_the_order_they_came(store: Store) -> None:
    record = await opened(store)
    for minute, user in enumerate(["b", "a", "c"]):
        await store.record_answer(answer(record.id, user, NOON + timedelta(minutes=minute), choice=minute), "test",
                                  "w1")
    rows = await store.answers(record.id)
    assert [(a.user_id, a.choice, a.correct, a.display_name) for a in rows] == [
        ("b", 0, True, "B"), ("a", 1, True, "A"), ("c", 2, True, "C")]
    assert rows[0].answered_at == NOON


async def test_an_answer_to_no_round_is_refused_and_the_store_goes_on(store: Store) -> None:
    with pytest.raises(Exception):  # noqa: B017 - each driver names the broken foreign key its own way
        await store.record_answer(answer(999_999, "u1"), "test", "w1")
    await revealed_answer(store, NOON)
    assert [r.user_id for r in await store.scores("test", "w1", None, None, None)] == ["u1"]


async def test_only_revealed_rounds_count_and_a_delivered_reveal_reveals(store: Store) -> None:
    record = await opened(store)
    await store.record_answer(answer(record.id, "u1"), "test", "w1")
    assert await store.scores("test", "w1", None, None, None) == []  # open
    async with store.unit() as unit:
        assert await unit.close_round(record.id, NOON + timedelta(seconds=60), revealed=False)
        [reveal] = await unit.enqueue([Outgoing(CHANNEL, "post", "reveal", "{}", record.id)], NOON)
        # Closed but not revealed: the day's results count it, the leaderboard does not yet.
        assert [r.user_id for r in await unit.day_scores("test", "w1", 0, date(2026, 3, 2))] == []
    assert await store.scores("test", "w1", None, None, None) == []
    assert await store.user_answers("test", "w1", "u1") == []
    await store.record_delivered(reveal, NOON + timedelta(seconds=61), "m1")
    [row] = await store.scores("test", "w1", None, None, None)
    assert (row.user_id, row.points, row.correct, row.answered) == ("u1", 10, 1, 1)
    assert (await store.get_round(record.id)).revealed_at == NOON + timedelta(seconds=61)  # type: ignore[union-attr]
    assert await store.user_answers("test", "w1", "u1") == [(CARD, "quiz", True, None)]


async def test_a_reveal_given_up_still_lets_the_points_count(store: Store) -> None:
    record = await opened(store)
    await store.record_answer(answer(record.id, "u1"), "test", "w1")
    async with store.unit() as unit:
        await unit.close_round(record.id, NOON, revealed=False)
        [reveal] = await unit.enqueue([Outgoing(CHANNEL, "post", "reveal", "{}", record.id)], NOON)
    assert await store.claim_message(reveal, NOON, NOON + timedelta(seconds=30), "me")
    assert await store.record_given_up(reveal, NOON, "channel gone", "me") is True
    assert await store.record_given_up(reveal, NOON, "again", "me") is False
    assert [r.points for r in await store.scores("test", "w1", None, None, None)] == [10]


async def test_scores_filter_by_time_card_and_name_the_latest_display_name(store: Store) -> None:
    await revealed_answer(store, NOON, "u1", card="d/a/1")
    await revealed_answer(store, NOON + timedelta(minutes=1), "u1", points=0, card="d/b/1")
    await revealed_answer(store, NOON + timedelta(minutes=2), "u2", points=0, card="d/b/1")
    rows = {r.user_id: r for r in await store.scores("test", "w1", None, None, None)}
    assert (rows["u1"].points, rows["u1"].correct, rows["u1"].answered, rows["u1"].reached_at) == (10, 1, 2, NOON)
    assert rows["u2"].reached_at == NOON + timedelta(minutes=2)
    assert [r.user_id for r in await store.scores("test", "w1", None, None, {"d/a/1"})] == ["u1"]
    assert await store.scores("test", "w1", None, None, set()) == []
    later = await store.scores("test", "w1", NOON + timedelta(seconds=30), None, None)
    assert {r.user_id: r.answered for r in later} == {"u1": 1, "u2": 1}
    assert await store.scores("test", "w1", None, NOON, None) == []  # until is exclusive
    assert await store.scores("test", "w2", None, None, None) == []


async def test_local_zone_bounds_compare_as_instants(store: Store) -> None:
    await revealed_answer(store, datetime(2026, 3, 1, 23, 30, tzinfo=UTC))  # 00:30 on 2 March in Berlin
    berlin = ZoneInfo("Europe/Berlin")
    march_2 = datetime(2026, 3, 2, tzinfo=berlin), datetime(2026, 3, 3, tzinfo=berlin)
    assert [r.user_id for r in await store.scores("test", "w1", *march_2, None)] == ["u1"]
    assert await store.scores("test", "w1", datetime(2026, 3, 1, tzinfo=berlin), march_2[0], None) == []


async def test_practice_rounds_never_score_and_channel_stats_count_every_answer(store: Store) -> None:
    practice = await opened(store, quiz(kind="practice", owner_id="u1"))
    await store.record_answer(answer(practice.id, "u1"), "test", "w1")
    await store.close_round(practice.id, NOON)
    await revealed_answer(store, NOON, "u2", points=0)
    assert [r.user_id for r in await store.scores("test", "w1", None, None, None)] == ["u2"]
    assert await store.channel_card_stats(CHANNEL) == {CARD: (2, 1)}
    assert await store.channel_card_stats(OTHER_CHANNEL) == {}


# Schedules and daily fires


async def test_a_schedule_is_one_per_channel_replaced_and_turned_off(store: Store) -> None:
    first = await store.save_schedule(CHANNEL, "09:00", "Europe/Berlin", 1, None, NOON)
    second = await store.save_schedule(CHANNEL, "10:30", "UTC", 3, "keras", NOON + timedelta(hours=1))
    assert second.id == first.id and (second.local_time, second.timezone, second.questions, second.topic) == (
        "10:30", "UTC", 3, "keras")
    assert second.updated_at == NOON + timedelta(hours=1) and second.enabled
    assert [s.id for s in await store.schedules()] == [first.id]
    assert await store.disable_schedule(CHANNEL) is True
    assert await store.disable_schedule(CHANNEL) is False
    assert await store.schedule_for(CHANNEL) is None and await store.schedules() == []
    again = await store.save_schedule(CHANNEL, "08:00", "UTC", 1, None, NOON)
    assert again.id == first.id and again.enabled


async def test_a_day_fires_once_even_when_processes_race(store: Store, other: Store) -> None:
    schedule = await store.save_schedule(CHANNEL, "09:00", "UTC", 1, None, NOON)
    day = date(2026, 3, 2)
    claims = await asyncio.gather(*(s.claim_fire(schedule.id, day, NOON, "posted")
                                    for s in (store, other, store, other)))
    assert sorted(claims) == [False, False, False, True]
    assert await store.claim_fire(schedule.id, day + timedelta(days=1), NOON, "skipped") is True


async def test_daily_rounds_and_day_scores(store: Store) -> None:
    schedule = await store.save_schedule(CHANNEL, "09:00", "UTC", 2, None, NOON)
    day = date(2026, 3, 2)
    ids = []
    for card in ("d/a/1", "d/b/1"):
        record = await opened(store, quiz(kind="daily", card=card, schedule_id=schedule.id, local_date=day))
        await store.record_answer(answer(record.id, "u1"), "test", "w1")
        ids.append(record.id)
    for round_id in ids:
        assert await store.close_round(round_id, NOON, revealed=False)
    async with store.unit() as unit:
        [row] = await unit.day_scores("test", "w1", schedule.id, day)
        assert (row.user_id, row.points, row.answered) == ("u1", 20, 2)
        assert await unit.day_scores("test", "w1", schedule.id, day + timedelta(days=1)) == []
    assert await store.used_daily_cards(CHANNEL) == ["d/a/1", "d/b/1"]
    assert await store.scores("test", "w1", None, None, None, daily=(schedule.id, day)) == []  # not revealed


# Units of work and the outbox


async def test_a_failed_unit_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.unit() as unit:
            record = await unit.open_round(quiz())
            assert record is not None
            await unit.enqueue([Outgoing(CHANNEL, "post", "question", "{}", record.id)], NOON)
            raise RuntimeError("the unit fails after its writes")
    assert await store.open_rounds() == [] and await store.pending_messages() == []
    assert await store.open_round(quiz()) is not None  # the channel is free: nothing was kept


async def test_a_refused_round_inside_a_unit_keeps_the_units_other_writes(store: Store) -> None:
    await opened(store)
    async with store.unit() as unit:
        assert await unit.open_round(quiz()) is None
        [message] = await unit.enqueue([Outgoing(CHANNEL, "post", "daily-intro", "{}")], NOON)
    assert [m.id for m in await store.pending_messages()] == [message]


async def test_the_outbox_offers_each_channels_oldest_message_in_order(store: Store) -> None:
    record = await opened(store)
    async with store.unit() as unit:
        ids = await unit.enqueue([Outgoing(CHANNEL, "post", "question", '{"a": 1}', record.id),
                                  Outgoing(CHANNEL, "edit", "closed-question", "{}", record.id),
                                  Outgoing(OTHER_CHANNEL, "post", "daily-intro", "{}")], NOON)
    assert ids == sorted(ids)
    due = await store.due_messages(NOON, ["test"])
    assert [(m.id, m.channel, m.action, m.reply, m.attempts) for m in due] == [
        (ids[0], CHANNEL, "post", '{"a": 1}', 0), (ids[2], OTHER_CHANNEL, "post", "{}", 0)]
    assert await store.due_messages(NOON, ["discord"]) == []
    assert [m.id for m in await store.due_messages(NOON, ["test"], OTHER_CHANNEL)] == [ids[2]]
    assert await store.next_due(["test"]) == NOON and await store.next_due(["slack"]) is None
    await store.record_delivered(ids[0], NOON, "msg-7")
    assert await store.round_message_id(record.id) == "msg-7"
    assert [m.id for m in await store.due_messages(NOON, ["test"], CHANNEL)] == [ids[1]]  # the edit, after its post
    assert [m.id for m in await store.pending_messages(record.id)] == [ids[1]]


async def test_a_claim_is_a_lease_taken_by_one_process_and_taken_over_after_it(store: Store, other: Store) -> None:
    async with store.unit() as unit:
        [message] = await unit.enqueue([Outgoing(CHANNEL, "post", "daily-intro", "{}")], NOON)
    lease = NOON + timedelta(seconds=30)
    claims = await asyncio.gather(store.claim_message(message, NOON, lease, "a"),
                                  other.claim_message(message, NOON, lease, "b"))
    assert sorted(claims) == [False, True]
    assert await store.due_messages(NOON + timedelta(seconds=29), ["test"]) == []  # held by the lease
    [again] = await other.due_messages(lease, ["test"])  # the holder died: due again when the lease ends
    assert again.attempts == 1
    assert await other.claim_message(message, lease, lease + timedelta(seconds=30), "b") is True
    await other.record_delivered(message, lease, None)
    assert await store.pending_messages() == []
    assert await store.claim_message(message, lease + timedelta(hours=1), lease, "a") is False  # delivered
    assert await store.prune_outbox(lease + timedelta(seconds=1)) == 1  # settled before then: forgotten
    assert await store.pending_messages() == []


async def test_a_late_retry_or_give_up_does_not_undo_a_claim_taken_over(store: Store, other: Store) -> None:
    async with store.unit() as unit:
        [message] = await unit.enqueue([Outgoing(CHANNEL, "post", "daily-intro", "{}")], NOON)
    lease = NOON + timedelta(seconds=30)
    assert await store.claim_message(message, NOON, lease, "a")
    assert await other.claim_message(message, lease, lease + timedelta(seconds=30), "b")  # a's lease ran out
    # a's attempt fails late: the message stays with b, not due again before b's lease ends, and a
    # late give-up of a's does not settle it under b either.
    assert await store.record_retry(message, lease + timedelta(seconds=1), "HTTP 503", "a") is False
    assert await store.record_given_up(message, lease + timedelta(seconds=1), "failed 5 times", "a") is False
    assert await store.due_messages(lease + timedelta(seconds=29), ["test"]) == []
    assert await other.record_retry(message, lease + timedelta(seconds=5), "HTTP 503", "b") is True
    [again] = await store.due_messages(lease + timedelta(seconds=5), ["test"])
    assert again.id == message and again.attempts == 2


async def test_claims_of_other_owners_are_released_by_a_sole_owner(store: Store) -> None:
    async with store.unit() as unit:
        first, second = await unit.enqueue([Outgoing(CHANNEL, "post", "daily-intro", "{}"),
                                            Outgoing(OTHER_CHANNEL, "post", "daily-intro", "{}")], NOON)
    lease = NOON + timedelta(minutes=2)
    assert await store.claim_message(first, NOON, lease, "dead-process")
    assert await store.claim_message(second, NOON, lease, "me")
    assert await store.release_claims(NOON, "me") == 1  # the dead process's attempt, not its own
    assert [m.id for m in await store.due_messages(NOON, ["test"])] == [first]


async def test_an_open_round_is_extended_only_later(store: Store) -> None:
    record = await opened(store)
    later = record.closes_at + timedelta(seconds=30)
    assert await store.extend_round(record.id, later) is True
    assert await store.extend_round(record.id, later - timedelta(seconds=60)) is False
    assert (await store.get_round(record.id)).closes_at == later  # type: ignore[union-attr]
    await store.close_round(record.id, NOON)
    assert await store.extend_round(record.id, later + timedelta(seconds=30)) is False


async def test_a_retry_moves_the_message_and_keeps_its_place(store: Store) -> None:
    async with store.unit() as unit:
        first, second = await unit.enqueue([Outgoing(CHANNEL, "post", "daily-intro", "{}"),
                                            Outgoing(CHANNEL, "post", "daily-results", "{}")], NOON)
    assert await store.claim_message(first, NOON, NOON + timedelta(seconds=60), "me")
    assert await store.record_retry(first, NOON + timedelta(seconds=10), "429 rate limited", "me")
    assert await store.due_messages(NOON, ["test"]) == []  # the second waits behind the first
    assert await store.next_due(["test"]) == NOON + timedelta(seconds=10)
    assert [m.id for m in await store.due_messages(NOON + timedelta(seconds=10), ["test"])] == [first]


# Workspaces, gaps, cooldowns, deliveries seen


async def test_workspace_timezone(store: Store) -> None:
    assert await store.workspace_timezone("test", "w1") is None
    await store.set_workspace_timezone("test", "w1", "Europe/Berlin")
    await store.set_workspace_timezone("test", "w1", "Asia/Tokyo")
    assert await store.workspace_timezone("test", "w1") == "Asia/Tokyo"
    assert await store.workspace_timezone("test", "w2") is None


async def test_gaps_most_asked_first(store: Store) -> None:
    for minute, query in enumerate(["center a div", "CENTER  a div", "what is rust", "'; DROP TABLE gaps; --"]):
        await store.record_gap(query, NOON + timedelta(minutes=minute))
    await store.flush()
    gaps = await store.gaps(10)
    assert [(q, n) for q, n, _ in gaps] == [("CENTER  a div", 2), ("'; DROP TABLE gaps; --", 1), ("what is rust", 1)]
    assert gaps[0][2] == NOON + timedelta(minutes=1)


async def test_a_cooldown_holds_across_processes_and_is_released_by_its_taker(store: Store, other: Store) -> None:
    key = ("test", "w1", "u1", "ask")
    assert await store.use_cooldown(key, NOON, 3, "event-1") == 0
    assert await other.use_cooldown(key, NOON + timedelta(seconds=1), 3, "event-2") == pytest.approx(2)
    await other.release_cooldown(key, "event-2")  # not its use: nothing is released
    assert await store.use_cooldown(key, NOON + timedelta(seconds=2), 3, "event-3") == pytest.approx(1)
    await store.release_cooldown(key, "event-1")
    assert await other.use_cooldown(key, NOON + timedelta(seconds=2), 3, "event-4") == 0
    assert await store.use_cooldown(key, NOON + timedelta(seconds=5), 3, "event-5") == 0  # passed
    assert await store.use_cooldown(("test", "w1", "u2", "ask"), NOON + timedelta(seconds=5), 3, "e") == 0


async def test_a_delivery_is_taken_once_across_processes_until_forgotten(store: Store, other: Store) -> None:
    firsts = await asyncio.gather(*(s.first_delivery("event:Ev1", NOON, 900) for s in (store, other, store)))
    assert sorted(firsts) == [False, False, True]
    assert await other.first_delivery("event:Ev2", NOON, 900) is True
    assert await store.first_delivery("event:Ev1", NOON + timedelta(seconds=899), 900) is False
    assert await store.first_delivery("event:Ev1", NOON + timedelta(seconds=1000), 900) is True


# Games, hints and typed answers (#13)


def game_of(channel: Channel = CHANNEL, **extra: object) -> Game:
    values: dict[str, object] = dict(started_by="u1", started_by_name="Alice", questions=3, target=30, typed=True,
                                     hints=False, started_at=NOON)
    values.update(extra)
    return Game(0, channel, **values)  # type: ignore[arg-type]


async def test_a_game_reads_back_as_written_and_ends_once_when_two_processes_race(store: Store,
                                                                                 other: Store) -> None:
    async with store.unit() as unit:
        game = await unit.start_game(game_of())
    assert game.id > 0 and await other.game(game.id) == game
    assert (game.target, game.typed, game.hints, game.ended_at) == (30, True, False, None)

    async def end(s: Store, who: str) -> bool:
        async with s.unit() as unit:
            return await unit.end_game(game.id, NOON, who, "stopped")

    results = await asyncio.gather(end(store, "u1"), end(other, "u2"), end(store, "u3"))
    assert sorted(results) == [False, False, True]
    ended = await store.game(game.id)
    assert ended is not None and ended.ended_at == NOON and ended.end_reason == "stopped"
    assert ended.ended_by in ("u1", "u2", "u3") and await store.game(game.id + 100) is None


async def test_a_games_rounds_open_round_and_standings(store: Store) -> None:
    async with store.unit() as unit:
        game = await unit.start_game(game_of())
        first = await unit.open_round(quiz(game_id=game.id, typed=True))
    assert first is not None and first.game_id == game.id and first.typed
    assert await store.record_answer(replace(answer(first.id, "u1"), typed_text="tf.Varaible"), "test", "w1")
    assert await store.record_answer(answer(first.id, "u2", points=0), "test", "w1")
    async with store.unit() as unit:
        assert (await unit.game_open_round(game.id)) == first
        assert await unit.game_scores(game.id) == []  # open rounds do not count yet
        assert await unit.close_round(first.id, NOON, revealed=False)
        second = await unit.open_round(quiz(game_id=game.id))
        assert second is not None and (await unit.game_open_round(game.id)) == second
        rows = {r.user_id: (r.points, r.correct, r.answered) for r in await unit.game_scores(game.id)}
        assert rows == {"u1": (10, 1, 1), "u2": (0, 0, 1)} and await unit.game_rounds(game.id) == 2
    [typed, _] = await store.answers(first.id)
    assert typed.typed_text == "tf.Varaible"


async def test_hints_count_up_to_the_most_per_player_and_round(store: Store, other: Store) -> None:
    record = await opened(store)
    assert await store.hints_taken(record.id, "u1") == 0
    levels = [await s.take_hint(record.id, "u1", 3) for s in (store, other, store, other)]
    assert levels == [1, 2, 3, 3]
    assert await other.hints_taken(record.id, "u1") == 3 and await store.hints_taken(record.id, "u2") == 0


async def test_uses_older_than_asked_are_forgotten_and_later_ones_still_refuse(store: Store, other: Store) -> None:
    old, recent = ("test", "w1", "u1", "ask"), ("test", "w1", "u2", "ask")
    assert await store.use_cooldown(old, NOON, 3, "event-1") == 0
    assert await store.use_cooldown(recent, NOON + timedelta(minutes=10), 3, "event-2") == 0
    assert await other.forget_cooldowns(NOON + timedelta(minutes=5)) == 1
    assert await other.forget_cooldowns(NOON + timedelta(minutes=5)) == 0
    assert await other.use_cooldown(recent, NOON + timedelta(minutes=10, seconds=1), 3, "e3") == pytest.approx(2)
    assert await other.use_cooldown(old, NOON + timedelta(minutes=10, seconds=1), 3, "event-4") == 0
    assert await store.forget_cooldowns(NOON + timedelta(minutes=11)) == 2


async def test_an_answer_is_worth_what_the_hints_held_when_it_is_written_leave(store: Store, other: Store) -> None:
    record = await opened(store)
    for user, hints in (("u1", 2), ("u3", 1), ("u5", 3), ("u6", 1)):
        for _ in range(hints):
            await other.take_hint(record.id, user, 3)  # through another process
    written = await asyncio.gather(  # one batch, rows of different widths
        store.record_answer(answer(record.id, "u1"), "test", "w1", (7, 5, 2)),
        store.record_answer(answer(record.id, "u2"), "test", "w1", (7, 5, 2)),
        store.record_answer(answer(record.id, "u3"), "test", "w1", (4,)),
        store.record_answer(answer(record.id, "u4", points=0), "test", "w1"),
        store.record_answer(answer(record.id, "u5"), "test", "w1", (6,)),
        store.record_answer(answer(record.id, "u6", points=0), "test", "w1"))
    assert written == [True] * 6
    points = {a.user_id: a.points for a in await store.answers(record.id)}
    assert points == {"u1": 5, "u2": 10, "u3": 4, "u4": 0, "u5": 6, "u6": 0}
    assert await other.record_answer(answer(record.id, "u3"), "test", "w1", (1,)) is False
    assert {a.user_id: a.points for a in await other.answers(record.id)}["u3"] == 4


async def test_a_schedule_keeps_whether_it_is_typed(store: Store) -> None:
    typed = await store.save_schedule(CHANNEL, "09:00", "UTC", 2, None, NOON, typed=True)
    assert typed.typed and (await store.schedules())[0].typed
    plain = await store.save_schedule(CHANNEL, "09:00", "UTC", 2, None, NOON)
    assert not plain.typed


# Spaced repetition

ALICE = Learner("test", "w1", "u-alice")


def _rated(card_id: str, version: int, at: datetime, due: datetime, rating: int = 3) -> tuple[ReviewCard, ReviewEntry]:
    return (ReviewCard(ALICE, card_id, '{"state": 1}', due, version, version, NOON),
            ReviewEntry(ALICE, card_id, rating, "review", at, version == 1, at, due, 2.5, 5.0))


async def test_review_cards_are_added_once_and_rated_with_optimistic_versions(store: Store, other: Store) -> None:
    assert await store.add_review_cards(ALICE, [("a", "{}"), ("b", "{}")], NOON) == 2
    assert await other.add_review_cards(ALICE, [("a", "{}"), ("c", "{}")], NOON) == 1
    card, entry = _rated("a", 1, NOON, NOON + timedelta(minutes=10))
    async with store.unit() as unit:
        assert await unit.save_review(card, entry)
    async with other.unit() as unit:  # the same rating pressed twice, in another process
        assert not await unit.save_review(card, entry)
    stored = (await other.review_cards(ALICE, ["a", "b", "zzz"]))
    assert set(stored) == {"a", "b"} and stored["a"].version == 1 and stored["a"].reps == 1
    assert stored["a"].due == NOON + timedelta(minutes=10)
    card2, entry2 = _rated("a", 2, NOON + timedelta(minutes=10), NOON + timedelta(days=3), rating=1)
    async with store.unit() as unit:
        assert await unit.save_review(card2, entry2)
    log = await other.review_log(ALICE)
    assert [(e.card_id, e.rating, e.first) for e in log] == [("a", 3, True), ("a", 1, False)]
    assert await other.review_log(ALICE, NOON + timedelta(minutes=5)) == log[1:]
    assert log[0].stability == 2.5 and log[0].reviewed_at == NOON


async def test_next_review_prefers_due_rated_cards_then_new_ones_and_skips(store: Store) -> None:
    await store.add_review_cards(ALICE, [("new1", "{}"), ("new2", "{}")], NOON)
    for card_id, due in (("late", NOON - timedelta(days=2)), ("later", NOON - timedelta(days=1)),
                         ("future", NOON + timedelta(days=1))):
        card, entry = _rated(card_id, 1, NOON - timedelta(days=5), due)
        async with store.unit() as unit:
            assert await unit.save_review(card, entry)
    pick = await store.next_review(ALICE, NOON, reviews=True, new=True)
    assert pick is not None and pick.card_id == "late"
    pick = await store.next_review(ALICE, NOON, reviews=True, new=True, skip={"late", "later"})
    assert pick is not None and pick.card_id == "new1"
    pick = await store.next_review(ALICE, NOON, reviews=False, new=True)
    assert pick is not None and pick.card_id == "new1"
    assert await store.next_review(ALICE, NOON, reviews=False, new=False) is None
    assert await store.review_due_counts(ALICE, [NOON, NOON + timedelta(days=2)]) == [4, 5]


async def test_reminders_are_per_person_and_claimed_once_per_local_date(store: Store, other: Store) -> None:
    reminder = await store.save_reminder(ALICE, "08:30", "Europe/Berlin", NOON)
    moved = await other.save_reminder(ALICE, "09:00", "UTC", NOON + timedelta(hours=1))
    assert moved.id == reminder.id and moved.local_time == "09:00"
    assert [r.learner for r in await store.reminders()] == [ALICE]
    day = date(2026, 3, 3)
    claims = await asyncio.gather(store.claim_reminder(reminder.id, day, NOON, "sent"),
                                  other.claim_reminder(reminder.id, day, NOON, "sent"))
    assert sorted(claims) == [False, True]
    assert await store.disable_reminder(ALICE)
    assert not await other.disable_reminder(ALICE)
    assert await store.reminder_for(ALICE) is None and await store.reminders() == []
