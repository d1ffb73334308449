"""Group commits shared by both stores: one writer task writes whatever many callers queued.

The writer is a task of its own rather than whichever caller came first, so a caller that is
cancelled mid-write cannot strand the others in its batch, and they all wake together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from bot.store.base import AnswerRecord

T = TypeVar("T")

# An answer waiting to be written: the answer, its platform and workspace, its points after 1, 2, ... hints,
# and the caller's future.
PendingAnswer = tuple[AnswerRecord, str, str, tuple[int, ...], "asyncio.Future[bool]"]
# An answer to write, as an insert gets it: the pending answer itself (the insert leaves its future alone).
NewAnswer = PendingAnswer
# (round id, user id): one answer per user per round.
AnswerKey = tuple[int, str]


class AnswersRefused(Exception):
    """Raised by an ``insert`` (see :func:`write_answers`) that wrote some answers and refused others:
    the callers of ``refused`` get ``error``, the rest their outcome by ``written``."""

    def __init__(self, written: set[AnswerKey], refused: set[AnswerKey], error: Exception) -> None:
        super().__init__(str(error))
        self.written = written
        self.refused = refused
        self.error = error


class BatchWriter(Generic[T]):
    """Queues items and writes them with ``write_batch``, a batch (everything waiting) at a time."""

    def __init__(self, write_batch: Callable[[list[T]], Awaitable[None]]) -> None:
        self._write_batch = write_batch
        self._queue: list[T] = []
        self.task: asyncio.Task[None] | None = None  # the writer while one runs; None when idle

    def put(self, item: T) -> None:
        """Queues one item and starts the writer if it is idle."""
        self._queue.append(item)
        if self.task is None:
            self.task = asyncio.create_task(self._write_all())

    async def _write_all(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                await self._write_batch(batch)
        finally:
            self.task = None


async def write_answers(batch: list[PendingAnswer],
                        insert: Callable[[dict[AnswerKey, NewAnswer]], Awaitable[set[AnswerKey]]],
                        parts: int = 1) -> None:
    """Inserts a batch of answers with ``insert`` and wakes each caller with whether its answer was new.

    ``insert`` gets the first answer of each (round, user) and returns the keys it wrote; it raises
    to fail every caller, or :class:`AnswersRefused` to fail only some (their round is gone). A user
    pressing twice within one batch: the first press is the one written and the rest are
    duplicates, decided here rather than by the order the database happens to insert rows in.
    A caller whose future is already done was cancelled and no longer waits.

    ``parts``: the batch is split into up to this many inserts that run at once (a database server
    with a connection each and cores to spare writes them side by side), and each wakes its own
    callers as soon as it is written. Every key is in exactly one part.
    """
    first: dict[AnswerKey, NewAnswer] = {}
    for pending in batch:
        first.setdefault((pending[0].round_id, pending[0].user_id), pending)
    if parts <= 1 or len(first) < 2:
        await _write_part(first, batch, insert)
        return
    size = -(-len(first) // parts)
    part_of = {key: n // size for n, key in enumerate(first)}
    chunks: list[dict[AnswerKey, NewAnswer]] = [{} for _ in range(max(part_of.values()) + 1)]
    callers: list[list[PendingAnswer]] = [[] for _ in chunks]
    for key, new in first.items():
        chunks[part_of[key]][key] = new
    for pending in batch:
        callers[part_of[(pending[0].round_id, pending[0].user_id)]].append(pending)
    await asyncio.gather(*(_write_part(chunk, waiting, insert) for chunk, waiting in zip(chunks, callers)))


async def _write_part(first: dict[AnswerKey, NewAnswer], batch: list[PendingAnswer],
                      insert: Callable[[dict[AnswerKey, NewAnswer]], Awaitable[set[AnswerKey]]]) -> None:
    """Inserts ``first`` and wakes the callers in ``batch`` (every one whose key is in ``first``, the first
    of each key being the one in ``first``)."""
    try:
        written = await insert(first)
    except AnswersRefused as partly:
        written = partly.written
        for pending in batch:
            if (pending[0].round_id, pending[0].user_id) in partly.refused and not pending[4].done():
                pending[4].set_exception(partly.error)
    except Exception as exc:
        for pending in batch:
            if not pending[4].done():
                pending[4].set_exception(exc)
        return
    for key, pending in first.items():
        if not pending[4].done():
            pending[4].set_result(key in written)
    if len(batch) > len(first):  # someone pressed twice within the batch: only the first press was written
        for pending in batch:
            if first[pending[0].round_id, pending[0].user_id] is not pending and not pending[4].done():
                pending[4].set_result(False)


def points_after_hints(answer: AnswerRecord, after_hints: tuple[int, ...], hints: int) -> int:
    """The points to store for ``answer`` when its user took ``hints`` hints (see ``Store.record_answer``)."""
    if hints <= 0 or not after_hints:
        return answer.points
    return after_hints[min(hints, len(after_hints)) - 1]
