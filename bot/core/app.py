"""The bot's brain: turns neutral events into neutral replies. Adapters call only this.

Every handler runs inside one guard that logs failures with their context and answers with a
short apology, so one bad event never takes the bot down.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.core import buttons
from bot.core.buttons import AnswerPress, EntryPress, ReviewPress, RoundPress
from bot.core.catalog import ACTION, Args, Catalog
from bot.core.clock import Clock, SystemClock
from bot.core.commands import CATALOG, lookup, reviews
from bot.core.cooldowns import Cooldowns
from bot.core.daily import DailyPlanner
from bot.core.delivery import Deliverer
from bot.core.events import ButtonEvent, Channel, CommandEvent, TextSubmitEvent
from bot.core.games import after_close
from bot.core.metrics import Heartbeat, Metrics
from bot.core.options import OptionProblem, check_options
from bot.core.outbox import Outbox
from bot.core.reminders import ReminderPlanner
from bot.core.replies import Reply, neutralize, plural, reply_to_json
from bot.core.reviews import Reviewer
from bot.core.rounds import QuizMaster
from bot.core.shelf import ReloadOutcome, Shelf
from bot.core.standings import board_lines, ranked
from bot.kb.library import Library, served_library
from bot.kb.model import QuizCard
from bot.store.base import Outgoing, PendingMessage, RoundRecord, Schedule, Store, StoreUnavailable, StoreUnit

log = logging.getLogger(__name__)

STOPPING = "StudyBot is restarting; please try again in a moment."
UNAVAILABLE = ("StudyBot cannot reach its database right now, so that was not done; please try again in a "
               "moment.")
APOLOGY = "Sorry, something went wrong while handling that. It has been logged; please try again in a moment."
# A tick that fails is retried with a backoff doubling up to TIMER_MAX_BACKOFF seconds; after
# TIMER_MAX_FAILURES in a row (about three minutes) the timer gives up and the process exits.
TIMER_MAX_FAILURES = 10
TIMER_MAX_BACKOFF = 30.0


class TimerFailure(RuntimeError):
    """The timer loop kept failing: reveals and daily posts have stopped, so the process must end."""


class StudyBot:
    """Commands, buttons and timers over one library and one store, for any number of adapters."""

    def __init__(self, library: Library, store: Store, config: Config, clock: Clock | None = None,
                 rng: random.Random | None = None) -> None:
        # The one reference to the library: every reader goes through it, so a reload swaps it whole.
        self.shelf = Shelf(library, lambda: served_library(config))
        self.store = store
        self.config = config
        self.clock = clock or SystemClock()
        self.heartbeat = Heartbeat()
        self.metrics = Metrics(self.heartbeat)
        self.outboxes: dict[str, Outbox] = {}
        self.quiz = QuizMaster(self.shelf, store, self.clock.now, rng or random.Random(), config.quiz)
        self.daily = DailyPlanner(self.shelf, store, self.clock.now, timedelta(minutes=config.daily.grace_minutes))
        self.reviews = Reviewer(self.shelf, store, self.clock.now, config.review)
        self.quiz.feed = self.reviews.feed  # every quiz, daily and practice answer rates its card for its person
        self.reminders = ReminderPlanner(store, self.clock.now,
                                         timedelta(minutes=config.review.reminder_grace_minutes))
        self.delivery = Deliverer(store, self.outboxes, self.clock, config.delivery, random.Random(),
                                  on_given_up=self._given_up, on_delivered=self._delivered,
                                  metrics=self.metrics)
        self.catalog: Catalog = CATALOG
        self.cooldowns = Cooldowns(max(config.cooldowns.ask_seconds, config.cooldowns.quiz_seconds), store)
        self._last_daily_check: datetime | None = None
        self.accepting = True  # False once shutdown began: events get STOPPING while work drains
        self.started_at = self.clock.now()  # for uptime (`about`); start() moves it to when serving began

    @property
    def library(self) -> Library:
        """The decks in service now (read it each time: a reload replaces it)."""
        return self.shelf.library

    async def reload_decks(self) -> ReloadOutcome:
        """Loads the decks from their files again and serves them, or keeps the old ones and says why.

        Open rounds keep the card they asked (see :class:`QuizMaster`), so they close and reveal as
        asked even when the reload removed or edited it. Never raises; a second reload meanwhile is
        refused.
        """
        outcome = await self.shelf.reload()
        self.metrics.deck_reloads.inc("busy" if outcome.busy else "refused" if outcome.changes is None else "reloaded")
        return outcome

    def attach(self, platform: str, outbox: Outbox) -> None:
        """Registers the adapter that posts into ``platform``'s channels."""
        self.outboxes[platform] = outbox

    async def start(self, owns_data_folder: bool = False) -> None:
        """Re-arms open rounds after a (re)start; overdue ones close on the first tick.

        ``owns_data_folder``: this process holds the data folder's lock, so deliveries a previous
        process was in the middle of are retried at once rather than after their lease.
        """
        self.started_at = self.clock.now()
        await self.quiz.load()
        if owns_data_folder:
            await self.delivery.resume()

    # Entry points for adapters

    async def handle_command(self, event: CommandEvent) -> list[Reply]:
        """Answers a command; never raises."""
        if not self.accepting:
            return [Reply(STOPPING, ephemeral=True)]
        command = self.catalog.find(event.name)
        self.metrics.commands.inc(command.name if command is not None else "unknown")
        return await self._guard(self._command(event),
                                 lambda: f"command {event.name} {dict(event.options)} from {event.user}",
                                 on_failure=lambda: self.cooldowns.release(event))

    async def handle_button(self, event: ButtonEvent) -> list[Reply]:
        """Answers a button press; never raises."""
        if not self.accepting:
            return [Reply(STOPPING, ephemeral=True)]
        # Dispatched and guarded here rather than through _guard and a handler coroutine: a burst of
        # presses is a thousand of them at once, and a press's own work is small, so two coroutines and a
        # closure fewer each is ~7% of its CPU.
        try:
            press = buttons.parse(event.button_id)
            if isinstance(press, AnswerPress):
                self.metrics.answer_presses.inc()
                return [await self.quiz.press(event, press.round_id, press.choice)]
            if isinstance(press, RoundPress) and press.kind == "type":
                return [self.quiz.ask_typed(press.round_id)]
            if isinstance(press, RoundPress):
                return [await self.quiz.hint(event, press.round_id, await self._hints_allowed(press.round_id))]
            if isinstance(press, EntryPress):
                return await lookup.press_entry(self, event, press)
            if isinstance(press, ReviewPress):
                return await reviews.press(self, event, press)
            return [Reply("That button is not one of mine.", ephemeral=True)]
        except Exception as exc:
            return [self._failed(exc, f"button {event.button_id} from {event.user}")]

    async def handle_text(self, event: TextSubmitEvent) -> list[Reply]:
        """Answers text written in a field the core asked for (a typed answer); never raises."""
        if not self.accepting:
            return [Reply(STOPPING, ephemeral=True)]
        return await self._guard(self._text(event), lambda: f"text for {event.input_id} from {event.user}")

    async def _text(self, event: TextSubmitEvent) -> list[Reply]:
        round_id = buttons.parse_typed_answer(event.input_id)
        if round_id is None:
            return [Reply("That form is not one of mine.", ephemeral=True)]
        self.metrics.answer_presses.inc()
        return [await self.quiz.submit_typed(event, round_id)]

    async def _guard(self, work: Awaitable[list[Reply]], context: Callable[[], str],
                     on_failure: Callable[[], Awaitable[None]] | None = None) -> list[Reply]:
        """Runs a handler; a failure is logged with ``context()`` (built only then: it is most of a
        press's own work) and answered with a private apology."""
        try:
            return await work
        except Exception as exc:
            reply = self._failed(exc, context())
        if on_failure is not None:
            try:
                await on_failure()
            except Exception as exc:
                log.warning("could not release the cooldown after a failure: %s", exc)
        return [reply]

    @staticmethod
    def _failed(exc: Exception, context: str) -> Reply:
        """Logs a handler's failure (``exc``, being handled) with its context; the private reply to give."""
        if isinstance(exc, StoreUnavailable):
            # Expected while a database server restarts: one line, no traceback, and a reply that says so.
            log.warning("not handled, the database is unavailable: %s (%s)", context, exc)
            return Reply(UNAVAILABLE, ephemeral=True)
        log.exception("handler failed: %s", context)
        return Reply(APOLOGY, ephemeral=True)

    # Timers

    async def tick(self) -> None:
        """Closes rounds whose time is up and fires due daily challenges. Safe to call any time.

        What they post is delivered by the delivery worker (:meth:`run_timers` runs it); without a
        running worker (tests, a one-off tick) it is delivered here before returning.
        """
        if self.store.shared:
            # Rounds opened by other processes on the database, and closed by them, are seen here;
            # a round of a process that died is closed by whichever process ticks first. Their posts
            # too: the worker looks at the outbox every tick, so a message another process queued, or
            # claimed and died holding, is delivered here within a tick of its lease ending.
            await self.quiz.load()
            self.delivery.wake()
        else:
            await self.quiz.notice_posted_elsewhere()  # two processes on one SQLite file
        for record in self.quiz.due():
            current = self.quiz.open.get(record.id)
            if current is None or current.closes_at > self.clock.now():
                continue  # closed meanwhile, or its question was posted late and it got its time again
            try:
                await self._close(record)
            except Exception:
                log.exception("closing round %s failed; it will be retried on the next tick", record.id)
        now = self.clock.now()
        every = timedelta(seconds=self.config.daily.check_seconds)
        if self._last_daily_check is None or now - self._last_daily_check >= every:
            self._last_daily_check = now
            await self.daily.tick(self._open_daily)
            if await self.reminders.tick():
                self.delivery.wake()
        if not self.delivery.running:
            await self.delivery.flush()

    async def run_timers(self, interval: float = 1.0, max_failures: int = TIMER_MAX_FAILURES,
                         max_backoff: float = TIMER_MAX_BACKOFF) -> None:
        """Ticks forever, with the delivery worker beside it (``studybot run`` runs this as a task
        beside the adapters).

        A tick that raises is logged and retried with backoff; each success beats the heartbeat
        that ``/healthz`` and the timer-lag metric read.

        Raises:
            TimerFailure: ``max_failures`` ticks in a row failed, or the delivery worker died. Reveals
                and daily posts have stopped while commands would still answer, so the process
                should end (non-zero) and its supervisor start it again.
        """
        worker = asyncio.create_task(self.delivery.run(), name="delivery")
        try:
            await self._tick_forever(worker, interval, max_failures, max_backoff)
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

    async def _tick_forever(self, worker: asyncio.Task[None], interval: float, max_failures: int,
                            max_backoff: float) -> None:
        failures = 0
        while True:
            if worker.done():
                raise TimerFailure("the delivery worker stopped, so nothing the bot posts on its own would "
                                   "reach its channels; StudyBot stops for its supervisor to restart it") \
                    from (None if worker.cancelled() else worker.exception())
            try:
                await self.tick()
            except Exception as exc:
                failures += 1
                self.metrics.timer_failures.inc()
                if failures >= max_failures:
                    raise TimerFailure(f"the timer failed {failures} times in a row, last with {exc!r}; "
                                       "rounds are not being revealed, so StudyBot stops for its supervisor "
                                       "to restart it") from exc
                delay = min(interval * 2 ** failures, max_backoff)
                log.exception("timer tick failed (%d in a row); retrying in %g s", failures, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            self.heartbeat.beat()
            await asyncio.sleep(interval)

    def stop_accepting(self) -> None:
        """Shutdown's first step: later commands and presses are answered "restarting" and not handled,
        while the connections stay open for what is drained (answers, the outbox)."""
        self.accepting = False

    async def drain(self, timeout: float) -> bool:
        """Finishes work already accepted, for at most ``timeout`` seconds; False if time ran out.

        Called on shutdown after the adapters stopped taking events and the timers stopped:
        answers waiting for the batched writer are written, then the outbox is delivered (waiting
        out retries) under the same deadline. What is left stays in the outbox and is delivered
        after the next start.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            await asyncio.wait_for(self.store.flush(), timeout)
        except TimeoutError:
            log.warning("shutdown: answers were still being written after %g s; stopping without waiting more",
                        timeout)
            return False
        left = max(deadline - loop.time(), 0.0)
        try:
            pending = await asyncio.wait_for(self.delivery.drain(left), left)
        except TimeoutError:
            pending = -1
        if pending:
            log.warning("shutdown: %s message(s) not yet delivered after %g s; they are kept and delivered "
                        "after the next start", "some" if pending < 0 else pending, timeout)
            return False
        return True

    async def close_open_rounds(self, channels: set[Channel] | None = None) -> None:
        """Closes and reveals open rounds now, and delivers what is due (the console does this at end of input)."""
        for record in list(self.quiz.open.values()):
            if channels is None or record.channel in channels:
                await self._close(record, next_question=False)
        await self.delivery.flush(wait=True)

    async def _close(self, record: RoundRecord, next_question: bool = True) -> bool:
        """Closes a round, and in the same transaction queues its closing edit and reveal, the day's
        results after a daily challenge's last question, and the next question of a quiz (or the
        game's results); False if someone else had closed it."""
        outbox = self.outboxes.get(record.channel.platform)
        edits = outbox is not None and outbox.capabilities.edits
        following: RoundRecord | None = None
        async with self.store.unit() as unit:
            closed = await self.quiz.close(unit, record, edits)
            if closed and record.kind == "daily" and not self._daily_still_open(record):
                results = await self._daily_leaderboard(unit, record)
                await unit.enqueue([Outgoing(record.channel, "post", "daily-results", reply_to_json(results),
                                             record.id)], self.clock.now())
            if closed and record.kind == "quiz" and record.game_id is not None:
                following = await after_close(self, unit, record, next_question)
            elif closed and next_question and record.remaining > 0 and record.kind == "quiz":
                card = self.quiz.pick_card(record.topic, exclude={record.card_id})
                if card is not None:
                    following = await self.quiz.start(unit, self.quiz.new_round(
                        record.channel, "quiz", card, record.seconds, record.remaining - 1, record.topic))
        self.quiz.disarm(record.id)
        if following is not None:
            self.quiz.arm(following)
        self.delivery.wake()
        return closed

    def _daily_still_open(self, record: RoundRecord) -> bool:
        """Whether another question of the same day's challenge is still open."""
        return any(r.kind == "daily" and r.schedule_id == record.schedule_id and r.local_date == record.local_date
                   and r.id != record.id for r in self.quiz.open.values())

    async def _daily_leaderboard(self, unit: StoreUnit, record: RoundRecord) -> Reply:
        """The day's results, posted once the challenge's last question is revealed.

        Only that challenge's answers count, whenever they came (a 21:00 challenge is answered
        past midnight too), and not quizzes elsewhere in the workspace.
        """
        assert record.schedule_id is not None and record.local_date is not None  # every daily round has both
        c = record.channel
        rows = ranked(await unit.day_scores(c.platform, c.workspace, record.schedule_id, record.local_date))
        body = "\n".join(board_lines(rows)) or "Nobody answered this challenge."
        return Reply(body, title=f"Daily challenge results for {record.local_date:%A %d %B}")


    async def _post_question_now(self, record: RoundRecord) -> str | None:
        """Delivers a just-opened round's question from the command that opened it, so the platform's
        answer reaches the person who asked: None if it was posted (or will be, after a retry), else
        why no quiz was started."""
        for outcome in await self.delivery.deliver_channel(record.channel):
            if outcome.message.round_id == record.id and outcome.message.purpose == "question" \
                    and outcome.state == "refused":
                why = outcome.advice or f"The platform said: {outcome.reason}."
                return f"I could not post the question in this channel, so no quiz was started. {why}"
        return None

    async def _delivered(self, message: PendingMessage) -> None:
        """A round may close once its question is out; a quiz question that reached its channel late
        (a rate limit, an outage) gets its full time: the round's clock restarts when people see it."""
        if message.purpose != "question" or message.round_id is None:
            return
        record = self.quiz.posted(message.round_id)
        if record is None or record.kind != "quiz":
            return  # a daily question keeps the closing time it announces
        closes_at = self.clock.now() + timedelta(seconds=record.seconds)
        if closes_at - record.closes_at > timedelta(seconds=1) \
                and await self.store.extend_round(record.id, closes_at) and record.id in self.quiz.open:
            self.quiz.open[record.id] = replace(record, closes_at=closes_at)

    async def _given_up(self, message: PendingMessage, reason: str) -> None:
        """A question nobody will ever see withdraws its round, so the channel is free for the next one."""
        if message.purpose != "question" or message.round_id is None:
            return
        if await self.store.close_round(message.round_id, self.clock.now(), revealed=True):
            # INFO: the give-up itself was logged once at WARNING with the platform's reason.
            log.info("round %s in %s withdrawn: its question could not be posted", message.round_id,
                     message.channel)
        self.quiz.disarm(message.round_id)

    async def _open_daily(self, schedule: Schedule, day: date, cards: list[QuizCard]) -> bool:
        """Claims the day's fire and queues its intro, rounds and questions, in one transaction;
        False if this day had already fired (another tick, another process)."""
        seconds = int(self.config.daily.open_hours * 3600)
        intro = Reply(f"Daily challenge for {day:%A %d %B}: {plural(len(cards), 'question')}, "
                      f"open for {self.config.daily.open_hours:g} hours.", title="Daily challenge")
        opened: list[RoundRecord] = []
        async with self.store.unit() as unit:
            if not await unit.claim_fire(schedule.id, day, self.clock.now(), "posted"):
                return False
            await unit.enqueue([Outgoing(schedule.channel, "post", "daily-intro", reply_to_json(intro))],
                               self.clock.now())
            for card in cards:
                record = await self.quiz.start(unit, self.quiz.new_round(
                    schedule.channel, "daily", card, seconds, topic=card.topic, schedule_id=schedule.id,
                    local_date=day, typed=schedule.typed), zone=ZoneInfo(schedule.timezone),
                    hints=self.config.quiz.hints)
                if record is not None:
                    opened.append(record)
        for record in opened:
            self.quiz.arm(record)
        self.delivery.wake()
        return True

    # Commands and buttons

    async def _command(self, event: CommandEvent) -> list[Reply]:
        """Checks the command against its declaration, then runs its handler."""
        command = self.catalog.find(event.name)
        if command is None:
            meant = self.catalog.resembling(event.name)
            hint = f"Did you mean the command `{meant}`?" if meant else "Try `help`."
            return [Reply(f"I don't know the command `{neutralize(event.name)}`. {hint}", ephemeral=True)]
        full_name = command.name
        if command.subcommands:
            action = event.options.get(ACTION) or command.default_subcommand
            if not action and command.handler is not None:  # the group named alone: its overview
                return await command.handler(self, event, Args({}))
            sub = command.subcommand(action)
            if sub is None:
                uses = [f"`{s.usage(command.name)}`" for s in command.subcommands]
                listed = f"{', '.join(uses[:-1])} or {uses[-1]}" if len(uses) > 1 else uses[0]
                typed = f"{command.name} {neutralize(action)}".strip()
                return [Reply(f"`{typed}` is not something I can do. Use {listed}; e.g. `{command.example}`.",
                              ephemeral=True)]
            command, full_name = sub, f"{command.name} {sub.name}"
        if command.admin and not event.user.is_admin:
            return [Reply(f"Only workspace admins can use `{full_name}`: it is about the whole channel. "
                          f"Ask an admin to run `{full_name}`.", ephemeral=True)]
        try:
            args = check_options(command, event.options, self.config, self.library, full_name)
        except OptionProblem as problem:
            return [Reply(str(problem), ephemeral=True)]
        steering = any(o.uncooled and o.name in event.options for o in command.options)
        cooling = None if steering else await self._cooldown(
            event, command.cooldown(self.config) if command.cooldown else 0)
        if cooling:
            return [Reply(cooling, ephemeral=True)]
        assert command.handler is not None, f"command {full_name} declares no handler"
        return await command.handler(self, event, args)

    async def _hints_allowed(self, round_id: int) -> bool:
        """Whether the round's game offers hints (a daily question offers them when the config does)."""
        record = self.quiz.open.get(round_id)
        if record is None or record.game_id is None:
            return self.config.quiz.hints
        game = await self.store.game(record.game_id)
        return game is not None and game.hints

    async def _cooldown(self, event: CommandEvent, seconds: float) -> str | None:
        outbox = self.outboxes.get(event.user.platform)
        if seconds <= 0 or (outbox is not None and not outbox.capabilities.shared_channels):
            return None
        return await self.cooldowns.check(event, seconds, self.clock.now())
