"""Delivers the store's outbox: every message the bot posts on its own, at least once, in order.

The core writes a message to the outbox in the same transaction as the state change that
causes it (a round closed and its reveal); this worker hands it to the platform's Outbox and
records the result before it moves on:

- per channel, strictly in order: a channel's next message waits until the one before it is
  delivered or given up, so a closing edit or a reveal never overtakes its question; a channel
  that keeps failing never holds up another channel;
- each attempt is claimed in the store first (a lease of ``lease_seconds``), so two workers, or two
  processes on one database, never send the same message at once; a crash mid-attempt leaves the
  lease, and the message is sent again when it runs out (the one window for a duplicate: the
  platform took the message, but the process died before its id was recorded);
- each attempt is bounded: the platform gets a third of the lease to answer (:data:`ATTEMPT_SHARE`),
  then the attempt is abandoned (cancelled) and retried with backoff like a network failure. So a
  live process has stopped sending well before its lease runs out and another process may take the
  message over: the lease never needs renewing, and it can be short (30 s by default), which bounds
  how long a dead process's message waits. The rest of the lease covers recording the outcome and
  clocks of different hosts that disagree a little. An abandoned attempt may still have reached the
  platform (the same at-least-once window as a crash), so it is logged at WARNING;
- :class:`DeliveryDeferred` (rate limit, 5xx, network) is retried after the platform's
  Retry-After, or with exponential backoff and jitter; :class:`DeliveryRefused` (channel gone,
  bot removed, message deleted) is given up at once; any other exception is retried at most
  ``unknown_error_attempts`` times; anything still failing after ``give_up_hours`` is given up.
  Giving up is logged once, at WARNING, with the reason;
- an edit of a question that was never delivered is dropped: there is nothing to edit.

Time comes from the injected clock and randomness from an injected RNG, so tests run retries
without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import DeliverySection
from bot.core.clock import Clock
from bot.core.events import Channel
from bot.core.metrics import Metrics
from bot.core.outbox import DeliveryDeferred, DeliveryRefused, Outbox
from bot.core.replies import ReplyFormatError, reply_from_json
from bot.store.base import PendingMessage, Store

log = logging.getLogger(__name__)

# The share of the lease an attempt may take, from its claim to the platform's answer. A third leaves
# two thirds for recording the outcome (a statement or two) and for clock differences between hosts.
ATTEMPT_SHARE = 1 / 3
IDLE_SECONDS = 60.0  # the worker looks at the outbox at least this often, even when nothing woke it
MAX_RETRY_AFTER = 3600.0  # a Retry-After beyond an hour is taken as an hour
# When the worker is stopped, posts already in flight get this long to finish: one cut off after the
# platform took it but before its id was recorded would be sent again after the restart. Shorter
# than `studybot run`'s wait for the timers to stop.
STOP_GRACE_SECONDS = 1.5
# Delivered and given-up messages are kept this long (to look into what happened), then forgotten,
# so the outbox does not grow with every round ever played.
KEEP_SETTLED = timedelta(days=7)
PRUNE_EVERY = timedelta(hours=1)

GivenUp = Callable[[PendingMessage, str], Awaitable[None]]
Delivered = Callable[[PendingMessage], Awaitable[None]]


@dataclass(frozen=True)
class Outcome:
    """What one attempt at one message came to: "delivered", "deferred", "refused" or "dropped"."""

    message: PendingMessage
    state: str
    reason: str | None = None
    advice: str | None = None  # for a refusal: what a person could do (from the adapter)


class NothingToEdit(Exception):
    """An edit of a question that was never delivered."""


class Deliverer:
    """Delivers due outbox messages through the adapters' Outboxes, retrying and giving up as above."""

    def __init__(self, store: Store, outboxes: Mapping[str, Outbox], clock: Clock, settings: DeliverySection,
                 rng: random.Random | None = None, on_given_up: GivenUp | None = None,
                 on_delivered: Delivered | None = None, metrics: Metrics | None = None) -> None:
        self.store = store
        self.outboxes = outboxes  # the bot's live mapping: adapters attached later are seen
        self.clock = clock
        self.settings = settings
        self.rng = rng or random.Random()
        self.on_given_up = on_given_up
        self.on_delivered = on_delivered
        self.metrics = metrics
        self.running = False
        self.owner = uuid.uuid4().hex  # this process, in the attempts it claims
        self._wake = asyncio.Event()
        self._locks: dict[Channel, asyncio.Lock] = {}
        self._tasks: dict[Channel, asyncio.Task[list[Outcome]]] = {}
        self._pruned_at: datetime | None = None

    @property
    def attempt_seconds(self) -> float:
        """How long one attempt may take before it is abandoned and retried: well inside its lease."""
        return self.settings.lease_seconds * ATTEMPT_SHARE

    async def resume(self) -> int:
        """Retries at once the attempts a previous process was in the middle of when it died.

        Call only while holding the data folder's lock (no other process can be delivering);
        without it, such attempts are retried when their lease runs out.
        """
        released = await self.store.release_claims(self.clock.now(), self.owner)
        if released:
            log.info("%d message(s) were being posted when StudyBot last stopped; posting them again now "
                     "(one may show twice if the platform had already taken it)", released)
            self.wake()
        return released

    def wake(self) -> None:
        """Tells the worker that new messages were written (it delivers them at once)."""
        self._wake.set()

    async def flush(self, wait: bool = False) -> list[Outcome]:
        """Delivers every channel's due messages now, channels side by side; returns what happened.

        A channel another task is delivering is skipped (that task takes the new messages too),
        unless ``wait``, which waits for it and then delivers what is left.
        """
        due = await self.store.due_messages(self.clock.now(), list(self.outboxes))
        channels = list(dict.fromkeys(m.channel for m in due))
        results = await asyncio.gather(*(self.deliver_channel(c, wait) for c in channels))
        return [outcome for result in results for outcome in result]

    async def deliver_channel(self, channel: Channel, wait: bool = False) -> list[Outcome]:
        """Delivers one channel's due messages in order, until none is due or one must wait."""
        # The lock keeps this process from working a channel twice at once; order itself comes from the
        # store, which only ever offers a channel's oldest pending message (so holds across processes).
        lock = self._locks.setdefault(channel, asyncio.Lock())
        if lock.locked() and not wait:
            return []
        outcomes: list[Outcome] = []
        async with lock:
            while True:
                due = await self.store.due_messages(self.clock.now(), list(self.outboxes), channel)
                if not due:
                    break
                outcome = await self._attempt(due[0])
                if outcome is None:
                    break  # someone else holds it
                outcomes.append(outcome)
                if outcome.state == "deferred":
                    break
        return outcomes

    async def drain(self, seconds: float) -> int:
        """Delivers until nothing is pending or ``seconds`` of the clock have passed (shutdown);
        returns how many messages are still pending."""
        deadline = self.clock.now() + timedelta(seconds=seconds)
        while True:
            await self.flush(wait=True)
            pending = await self.store.next_due(list(self.outboxes))
            if pending is None or pending >= deadline:
                return len(await self.store.pending_messages())
            await asyncio.sleep(max(0.0, min((pending - self.clock.now()).total_seconds(),
                                             (deadline - self.clock.now()).total_seconds())))

    async def run(self) -> None:
        """Delivers forever: at once when woken, otherwise when the next message is due.

        Each channel is delivered by a task of its own, so one slow or failing channel never
        delays another. A failure of the store is logged and retried a little later.
        """
        self.running = True
        try:
            while True:
                self._wake.clear()
                timeout = await self._start_due_channels()
                # Not asyncio.wait_for: on Python 3.11 it drops a cancellation that lands as the event
                # is set, and the worker would sleep on instead of stopping at shutdown.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
        finally:
            self.running = False
            tasks = list(self._tasks.values())
            self._tasks.clear()
            if tasks:
                await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _start_due_channels(self) -> float:
        """Starts a task for every channel with a due message and none running; seconds to wait next."""
        for channel, task in list(self._tasks.items()):
            if task.done():
                del self._tasks[channel]
                if not task.cancelled() and task.exception() is not None:
                    log.error("delivering to %s failed", channel, exc_info=task.exception())
        try:
            now = self.clock.now()
            if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
                self._pruned_at = now
                await self.store.prune_outbox(now - KEEP_SETTLED)
            for message in await self.store.due_messages(now, list(self.outboxes)):
                if message.channel not in self._tasks:
                    self._tasks[message.channel] = asyncio.create_task(self.deliver_channel(message.channel, True))
            next_due = await self.store.next_due(list(self.outboxes))
        except Exception:
            log.exception("could not read the outbox; trying again in %g s", self.settings.first_retry_seconds)
            return self.settings.first_retry_seconds
        if next_due is None:
            return IDLE_SECONDS
        # A channel whose task is still finishing may show as due: look again soon, without spinning.
        return min(IDLE_SECONDS, max(0.05, (next_due - self.clock.now()).total_seconds()))

    async def _attempt(self, message: PendingMessage) -> Outcome | None:
        """One delivery attempt, recorded; None if the message was taken by someone else."""
        now = self.clock.now()
        lease = now + timedelta(seconds=self.settings.lease_seconds)
        if not await self.store.claim_message(message.id, now, lease, self.owner):
            return None
        attempts = message.attempts + 1
        outbox = self.outboxes[message.channel.platform]
        try:
            # Bounded from the claim on, so this process has stopped sending long before its lease ends.
            async with asyncio.timeout(self.attempt_seconds) as deadline:
                platform_id = await self._send(outbox, message)
        except asyncio.CancelledError:
            raise  # the lease brings it back after a restart
        except NothingToEdit:
            return await self._drop(message, "its question was never delivered, so there is nothing to edit")
        except TimeoutError as exc:
            if not deadline.expired():  # a timeout of the adapter's own, not this attempt's bound
                return await self._failed(message, attempts, exc)
            return await self._abandon(message, attempts)
        except DeliveryRefused as exc:
            return await self._give_up(message, f"the platform refused it: {exc.reason}", exc.advice)
        except ReplyFormatError as exc:
            return await self._give_up(message, str(exc), None)
        except DeliveryDeferred as exc:
            return await self._retry(message, attempts, exc.reason, exc.retry_after)
        except Exception as exc:
            return await self._failed(message, attempts, exc)
        await self.store.record_delivered(message.id, self.clock.now(), platform_id)
        if self.metrics is not None:
            self.metrics.posts_delivered.inc(message.channel.platform)
        if self.on_delivered is not None:
            await self.on_delivered(message)
        return Outcome(message, "delivered")

    async def _send(self, outbox: Outbox, message: PendingMessage) -> str | None:
        """Hands ``message`` to the platform; the id of the message posted or edited."""
        reply = reply_from_json(message.reply)
        if message.action != "edit":
            return await outbox.post(message.channel, reply)
        assert message.round_id is not None  # the schema requires it for edits
        target = await self.store.round_message_id(message.round_id)
        if target is None:
            raise NothingToEdit
        await outbox.edit(message.channel, target, reply)
        return target

    async def _failed(self, message: PendingMessage, attempts: int, exc: BaseException) -> Outcome:
        """An error of unknown cause: retried a few times (``unknown_error_attempts``), then given up."""
        reason = f"{type(exc).__name__}: {exc}"
        if attempts >= self.settings.unknown_error_attempts:
            log.debug("last attempt failed", exc_info=exc)
            return await self._give_up(message, f"failed {attempts} times, last with {reason}", None)
        log.warning("posting %s %s to %s failed (attempt %d of %d); retrying", message.purpose, message.id,
                    message.channel, attempts, self.settings.unknown_error_attempts, exc_info=exc)
        return await self._retry(message, attempts, reason, None)

    async def _abandon(self, message: PendingMessage, attempts: int) -> Outcome:
        """An attempt the platform did not answer in time: retried with backoff, like a network failure."""
        reason = f"no answer within {self.attempt_seconds:g} s"
        log.warning("posting %s %s to %s got %s (attempt %d); abandoned before its lease of %g s runs out and "
                    "retried (it may show twice if the platform took it after all)", message.purpose, message.id,
                    message.channel, reason, attempts, self.settings.lease_seconds)
        return await self._retry(message, attempts, reason, None)

    async def _retry(self, message: PendingMessage, attempts: int, reason: str,
                     retry_after: float | None) -> Outcome:
        now = self.clock.now()
        if now - message.created_at >= timedelta(hours=self.settings.give_up_hours):
            return await self._give_up(message, f"still failing after {self.settings.give_up_hours:g} hours "
                                                f"({attempts} attempts), last with {reason}", None)
        delay = self.backoff(attempts) if retry_after is None else min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        if not await self.store.record_retry(message.id, now + timedelta(seconds=delay), reason, self.owner):
            log.info("posting %s %s to %s failed (%s) after another process took it over; its attempt stands",
                     message.purpose, message.id, message.channel, reason)
            return Outcome(message, "deferred", reason)
        if self.metrics is not None:
            self.metrics.posts_retried.inc(message.channel.platform)
        log.info("posting %s %s to %s deferred (%s); attempt %d again in %.1f s", message.purpose, message.id,
                 message.channel, reason, attempts + 1, delay)
        return Outcome(message, "deferred", reason)

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failures: doubling up to the cap, with
        "equal jitter" (half fixed, half random) so many channels hit by one outage spread out."""
        s = self.settings
        ceiling = min(s.max_retry_seconds, s.first_retry_seconds * 2 ** min(attempts - 1, 30))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    async def _give_up(self, message: PendingMessage, reason: str, advice: str | None) -> Outcome:
        if await self.store.record_given_up(message.id, self.clock.now(), reason, self.owner):
            log.warning("gave up posting %s %s to %s: %s", message.purpose, message.id, message.channel, reason)
            if self.metrics is not None:
                self.metrics.posts_given_up.inc(message.channel.platform)
            if self.on_given_up is not None:
                await self.on_given_up(message, reason)
        return Outcome(message, "refused", reason, advice)

    async def _drop(self, message: PendingMessage, reason: str) -> Outcome:
        # Expected, not alarming (a question that could not be posted): INFO, once.
        if await self.store.record_given_up(message.id, self.clock.now(), reason, self.owner):
            log.info("dropped %s %s for %s: %s", message.purpose, message.id, message.channel, reason)
        return Outcome(message, "dropped", reason)
