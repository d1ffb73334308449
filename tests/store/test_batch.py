"""The answer batch writer shared by both stores: parts written side by side, each caller woken with its own outcome."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.store.base import AnswerRecord
from bot.store.batch import AnswerKey, AnswersRefused, NewAnswer, PendingAnswer, points_after_hints, write_answers

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def pending(user: str, round_id: int = 1) -> PendingAnswer:
    answer = AnswerRecord(round_id, user, user.upper(), 0, True, 10, NOON)
    return answer, "test", "w1", (), asyncio.get_running_loop().create_future()


async def test_a_batch_in_parts_wakes_each_press_with_its_own_part_and_a_repeat_as_a_duplicate() -> None:
    batch = [pending(f"u{i}") for i in range(10)] + [pending("u3"), pending("u9")]
    stored_before = {(1, "u5")}  # already in the database: not new
    parts: list[set[AnswerKey]] = []
    release = asyncio.Event()

    async def insert(first: dict[AnswerKey, NewAnswer]) -> set[AnswerKey]:
        parts.append(set(first))
        if len(parts) == 1:
            await release.wait()  # the first part is slow: the others must not wait for it
        return set(first) - stored_before

    writing = asyncio.create_task(write_answers(batch, insert, parts=3))
    for _ in range(20):  # a few turns of the loop: every part starts, the fast ones finish
        await asyncio.sleep(0)
    slow = parts[0]
    assert sorted(len(p) for p in parts) == [2, 4, 4] and set().union(*parts) == {(1, f"u{i}") for i in range(10)}
    woken = [p for p in batch if p[4].done()]
    assert woken and all((1, p[0].user_id) not in slow for p in woken)
    release.set()
    await writing
    results = {(p[0].user_id, n): p[4].result() for n, p in enumerate(batch)}
    assert results == {**{(f"u{i}", i): i != 5 for i in range(10)}, ("u3", 10): False, ("u9", 11): False}


async def test_a_part_that_fails_fails_only_its_own_presses() -> None:
    batch = [pending(f"u{i}") for i in range(4)]

    async def insert(first: dict[AnswerKey, NewAnswer]) -> set[AnswerKey]:
        if (1, "u0") in first:
            raise ConnectionError("server gone")
        return set(first)

    await write_answers(batch, insert, parts=2)
    with pytest.raises(ConnectionError):
        batch[0][4].result()
    with pytest.raises(ConnectionError):
        batch[1][4].result()
    assert [p[4].result() for p in batch[2:]] == [True, True]


def test_points_after_hints_take_the_hints_held_and_the_last_for_more() -> None:
    answer = AnswerRecord(1, "u1", "U1", 0, True, 10, NOON)
    assert [points_after_hints(answer, (7, 5, 2), hints) for hints in range(5)] == [10, 7, 5, 2, 2]
    assert points_after_hints(answer, (), 2) == 10 and points_after_hints(answer, (5,), 3) == 5


async def test_answers_an_insert_refuses_fail_alone_and_the_rest_are_told_what_was_written() -> None:
    batch = [pending("u0"), pending("u1", round_id=2), pending("u2"), pending("u1", round_id=2)]

    async def insert(first: dict[AnswerKey, NewAnswer]) -> set[AnswerKey]:
        raise AnswersRefused({(1, "u0")}, {(2, "u1")}, LookupError("no round 2"))

    await write_answers(batch, insert)
    assert [batch[0][4].result(), batch[2][4].result()] == [True, False]
    for refused in (batch[1], batch[3]):
        with pytest.raises(LookupError, match="no round 2"):
            refused[4].result()
