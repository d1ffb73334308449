"""The bot's brain: turns neutral events into neutral replies. Adapters call only this.

Every handler runs inside one guard that logs failures with their context and answers with a
short apology, so one bad event never takes the bot down.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.core.clock import Clock, SystemClock
from bot.core.daily import DailyPlanner
from bot.core.delivery import Deliverer
from bot.core.events import ButtonEvent, Channel, CommandEvent, User
from bot.core.metrics import Heartbeat, Metrics
from bot.core.outbox import Outbox
from bot.core.replies import LABEL_LIMIT, Button, Field, Reply, fit, neutralize, reply_to_json
from bot.core.rounds import QuizMaster, question_reply
from bot.core.schedule import ScheduleInputError, parse_local_time, parse_zone
from bot.core.standings import PERIOD_ALIASES, PERIODS, TOP, period_bounds, ranked, streaks, topic_accuracy
from bot.kb.library import Library
from bot.kb.model import Entry, QuizCard
from bot.store.base import Outgoing, PendingMessage, RoundRecord, Schedule, ScoreRow, Store, StoreUnit

log = logging.getLogger(__name__)

MAX_QUERY = 300
MAX_COOLDOWNS = 10_000  # remembered uses before the expired ones are dropped
STOPPING = "StudyBot is restarting; please try again in a moment."
APOLOGY = "Sorry, something went wrong while handling that. It has been logged; please try again in a moment."
HELP: list[tuple[str, str, str]] = [
    ("ask", "Look up a concept in the decks", "ask what is eager execution"),
    ("quiz", "Start a quiz round in this channel (topic, questions, seconds optional)", "quiz keras questions 3"),
    ("leaderboard", "Top 10 for today, week, month or all time, optionally for one topic", "leaderboard week"),
    ("stats", "Answers, accuracy, streaks and weakest topics (yours, or someone's)", "stats"),
    ("topics", "Decks and topics with their entry and card counts", "topics"),
    ("daily", "Admins: schedule a daily challenge here (set HH:MM ZONE, show, off)",
     "daily set 09:00 Europe/Berlin questions 2"),
    ("help", "This list", "help"),
]
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
        self.library = library
        self.store = store
        self.config = config
        self.clock = clock or SystemClock()
        self.heartbeat = Heartbeat()
        self.metrics = Metrics(self.heartbeat)
        self.outboxes: dict[str, Outbox] = {}
        self.quiz = QuizMaster(library, store, self.clock.now, rng or random.Random(), config.quiz.points_correct)
        self.daily = DailyPlanner(library, store, self.clock.now, timedelta(minutes=config.daily.grace_minutes))
        self.delivery = Deliverer(store, self.outboxes, self.clock, config.delivery, random.Random(),
                                  on_given_up=self._given_up, metrics=self.metrics)
        # Last use per (platform, workspace, user, command): when, and by which event.
        self._last_use: dict[tuple[str, str, str, str], tuple[datetime, int]] = {}
        self._last_daily_check: datetime | None = None
        self.accepting = True  # False once shutdown began: events get STOPPING while work drains
        self._commands: dict[str, Callable[[CommandEvent], Awaitable[list[Reply]]]] = {
            "ask": self._ask, "quiz": self._quiz, "leaderboard": self._leaderboard, "stats": self._stats,
            "topics": self._topics, "daily": self._daily, "help": self._help,
        }

    def attach(self, platform: str, outbox: Outbox) -> None:
        """Registers the adapter that posts into ``platform``'s channels."""
        self.outboxes[platform] = outbox

    async def start(self) -> None:
        """Re-arms open rounds after a (re)start; overdue ones close on the first tick."""
        await self.quiz.load()

    # Entry points for adapters

    async def handle_command(self, event: CommandEvent) -> list[Reply]:
        """Answers a command; never raises."""
        if not self.accepting:
            return [Reply(STOPPING, ephemeral=True)]
        handler = self._commands.get(event.name)
        self.metrics.commands.inc(event.name if handler is not None else "unknown")
        if handler is None:
            return [Reply(f"I don't know the command `{neutralize(event.name)}`. Try `help`.", ephemeral=True)]
        return await self._guard(handler(event), f"command {event.name} {dict(event.options)} from {event.user}",
                                 on_failure=lambda: self._release_cooldown(event))

    async def handle_button(self, event: ButtonEvent) -> list[Reply]:
        """Answers a button press; never raises."""
        if not self.accepting:
            return [Reply(STOPPING, ephemeral=True)]
        return await self._guard(self._button(event), f"button {event.button_id} from {event.user}")

    async def _guard(self, work: Awaitable[list[Reply]], context: str,
                     on_failure: Callable[[], None] | None = None) -> list[Reply]:
        try:
            return await work
        except Exception:
            log.exception("handler failed: %s", context)
            if on_failure is not None:
                on_failure()
            return [Reply(APOLOGY, ephemeral=True)]

    # Timers

    async def tick(self) -> None:
        """Closes rounds whose time is up and fires due daily challenges. Safe to call any time.

        What they post is delivered by the delivery worker (:meth:`run_timers` runs it); without a
        running worker (tests, a one-off tick) it is delivered here before returning.
        """
        for record in self.quiz.due():
            try:
                await self._close(record)
            except Exception:
                log.exception("closing round %s failed; it will be retried on the next tick", record.id)
        now = self.clock.now()
        every = timedelta(seconds=self.config.daily.check_seconds)
        if self._last_daily_check is None or now - self._last_daily_check >= every:
            self._last_daily_check = now
            await self.daily.tick(self._open_daily)
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

    async def _close(self, record: RoundRecord, next_question: bool = True) -> None:
        """Closes a round, and in the same transaction queues its closing edit and reveal, the day's
        results after a daily challenge's last question, and the next question of a quiz."""
        outbox = self.outboxes.get(record.channel.platform)
        edits = outbox is not None and outbox.capabilities.edits
        following: RoundRecord | None = None
        async with self.store.unit() as unit:
            closed = await self.quiz.close(unit, record, edits)
            if closed and record.kind == "daily" and not self._daily_still_open(record):
                results = await self._daily_leaderboard(unit, record)
                await unit.enqueue([Outgoing(record.channel, "post", "daily-results", reply_to_json(results),
                                             record.id)], self.clock.now())
            if closed and next_question and record.remaining > 0 and record.kind == "quiz":
                card = self.quiz.pick_card(record.topic, exclude={record.card_id})
                if card is not None:
                    following = await self.quiz.start(unit, self.quiz.new_round(
                        record.channel, "quiz", card, record.seconds, record.remaining - 1, record.topic))
        self.quiz.disarm(record.id)
        if following is not None:
            self.quiz.arm(following)
        self.delivery.wake()

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
        body = "\n".join(_board_lines(rows)) or "Nobody answered this challenge."
        return Reply(body, title=f"Daily challenge results for {record.local_date:%A %d %B}")

    async def _start_round(self, channel: Channel, card: QuizCard, seconds: int, remaining: int,
                           topic: str | None) -> RoundRecord | None:
        """Opens a quiz round and queues its question, in one transaction; None if the channel is busy."""
        async with self.store.unit() as unit:
            record = await self.quiz.start(unit, self.quiz.new_round(channel, "quiz", card, seconds, remaining,
                                                                     topic))
        if record is not None:
            self.quiz.arm(record)
            self.delivery.wake()
        return record

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
        intro = Reply(f"Daily challenge for {day:%A %d %B}: {len(cards)} question(s), "
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
                    local_date=day), zone=ZoneInfo(schedule.timezone))
                if record is not None:
                    opened.append(record)
        for record in opened:
            self.quiz.arm(record)
        self.delivery.wake()
        return True

    # Shared checks

    def _cooldown(self, event: CommandEvent, seconds: float) -> Reply | None:
        outbox = self.outboxes.get(event.user.platform)
        if seconds <= 0 or (outbox is not None and not outbox.capabilities.shared_channels):
            return None
        key = _cooldown_key(event)
        now = self.clock.now()
        last = self._last_use.get(key)
        if last is not None and now - last[0] < timedelta(seconds=seconds):
            wait = seconds - (now - last[0]).total_seconds()
            return Reply(f"Easy there: you can use `{event.name}` again in {math.ceil(wait)} s.", ephemeral=True)
        self._last_use.pop(key, None)  # re-inserted at the end: the dict stays oldest first
        self._last_use[key] = (now, id(event))
        if len(self._last_use) > MAX_COOLDOWNS:
            self._forget_cooldowns(now)
        return None

    def _forget_cooldowns(self, now: datetime) -> None:
        """Drops uses older than every cooldown, oldest first, so memory does not grow with the users."""
        longest = timedelta(seconds=max(self.config.cooldowns.ask_seconds, self.config.cooldowns.quiz_seconds))
        for key, (at, _) in list(self._last_use.items()):
            if now - at < longest:
                break
            del self._last_use[key]

    def _release_cooldown(self, event: CommandEvent) -> None:
        """Forgets this event's use (a busy channel, a failure), so a retry is not refused.

        Only a use this very event recorded: a failure before the check must not erase an earlier one.
        """
        key = _cooldown_key(event)
        if key in self._last_use and self._last_use[key][1] == id(event):
            del self._last_use[key]

    async def _zone(self, user: User) -> ZoneInfo:
        name = await self.store.workspace_timezone(user.platform, user.workspace)
        return ZoneInfo(name or self.config.bot.timezone)

    def _topic(self, text: str | None) -> tuple[str | None, Reply | None]:
        """A topic slug from a slug or display name; a helpful refusal when unknown."""
        if not text:
            return None, None
        wanted = text.strip().casefold()
        for deck in self.library.decks:
            for slug, name in deck.topics.items():
                if wanted in (slug, name.casefold()) or name.casefold().startswith(wanted):
                    return slug, None
        known = ", ".join(sorted({s for d in self.library.decks for s in d.topics}))
        return None, Reply(f"I don't know the topic `{neutralize(text)}`. Topics: {known}.", ephemeral=True)

    # Commands

    async def _help(self, event: CommandEvent) -> list[Reply]:
        lines = [f"`{name}` — {text}\n    e.g. `{example}`" for name, text, example in HELP]
        return [Reply("\n".join(lines), title="StudyBot commands", ephemeral=True)]

    async def _ask(self, event: CommandEvent) -> list[Reply]:
        query = event.options.get("query", "")
        problem = _check_text(query)
        if problem:
            return [Reply(problem, ephemeral=True)]
        cooling = self._cooldown(event, self.config.cooldowns.ask_seconds)
        if cooling:
            return [cooling]
        result = self.library.search(query, top=3)
        self.metrics.lookups.inc("answered" if result.answered and result.best else "declined")
        if result.answered and result.best:
            return [self.answer_card(result.best.entry)]
        await self.store.record_gap(query, self.clock.now())
        shown = neutralize(query)
        if not result.matches:
            return [Reply(f"I have no confident answer for \"{shown}\" and nothing close in the decks. "
                          "Try other words, or `topics` to see what I cover.", ephemeral=True)]
        buttons = tuple(Button(f"ask:{m.entry.deck}/{m.entry.id}", fit(m.entry.question, LABEL_LIMIT))
                        for m in result.matches)
        lines = "\n".join(f"{i}. {m.entry.question}" for i, m in enumerate(result.matches, 1))
        return [Reply(f"I have no confident answer for \"{shown}\". Did you mean:\n{lines}",
                      buttons=buttons, ephemeral=True)]

    def answer_card(self, entry: Entry) -> Reply:
        """The card for one entry: question, answer, topic, related entries and a practice button."""
        related = [r for r in (self.library.entry(f"{entry.deck}/{rid}") for rid in entry.related[:3]) if r]
        buttons = [Button(f"ask:{r.deck}/{r.id}", fit(r.question, LABEL_LIMIT)) for r in related]
        if entry.quiz:
            buttons.append(Button(f"practice:{entry.deck}/{entry.id}", "Quiz me on this", style="primary"))
        return Reply(entry.answer, title=entry.question, footer=f"{self.library.topic_name(entry)} · {entry.deck}",
                     buttons=tuple(buttons))

    async def _quiz(self, event: CommandEvent) -> list[Reply]:
        topic, problem = self._topic(event.options.get("topic"))
        if problem:
            return [problem]
        quiz = self.config.quiz
        questions = _bounded(event.options.get("questions"), 1, 1, quiz.max_questions, "questions")
        seconds = _bounded(event.options.get("seconds"), quiz.round_seconds, quiz.min_seconds, quiz.max_seconds,
                           "seconds")
        for value in (questions, seconds):
            if isinstance(value, str):
                return [Reply(value, ephemeral=True)]
        assert isinstance(questions, int) and isinstance(seconds, int)
        cooling = self._cooldown(event, self.config.cooldowns.quiz_seconds)
        if cooling:
            return [cooling]
        card = self.quiz.pick_card(topic)
        if card is None:
            return [Reply("There are no quiz cards for that topic yet.", ephemeral=True)]
        record = await self._start_round(event.channel, card, seconds, questions - 1, topic)
        if record is None:
            self._release_cooldown(event)
            return [Reply("A quiz is already running in this channel; answer that one first!", ephemeral=True)]
        refused = await self._post_question_now(record)
        if refused is not None:
            self._release_cooldown(event)
            return [Reply(refused, ephemeral=True)]
        plural = f"{questions} questions" if questions > 1 else "1 question"
        return [Reply(f"Quiz started: {plural}, {seconds} s each. Good luck!", ephemeral=True)]

    async def _leaderboard(self, event: CommandEvent) -> list[Reply]:
        period = event.options.get("period", "week").strip().lower() or "week"
        period = PERIOD_ALIASES.get(period, period)
        topic_text = event.options.get("topic")
        if period not in PERIODS:  # "leaderboard keras" means this week's keras board
            if self._topic(period)[0] is None:
                return [Reply(f"Choose a period: {', '.join(PERIODS)} (e.g. `leaderboard week`).", ephemeral=True)]
            period, topic_text = "week", period
        topic, problem = self._topic(topic_text)
        if problem:
            return [problem]
        return [await self.leaderboard(event.user, period, topic)]

    async def leaderboard(self, user: User, period: str, topic: str | None) -> Reply:
        """Top 10 of the workspace for a period, plus the caller's own rank when outside it."""
        zone = await self._zone(user)
        since, until = period_bounds(period, self.clock.now(), zone)
        # By the card's topic: a quiz round's own topic is only its filter (None in a mixed quiz).
        cards = self.library.topic_cards(topic) if topic else None
        rows = ranked(await self.store.scores(user.platform, user.workspace, since, until, cards))
        label = {"today": "Today", "week": "This week", "month": "This month", "all": "All time"}[period]
        title = f"Leaderboard: {label}" + (f" · {topic}" if topic else "")
        if not rows:
            return Reply("No points yet in this period. Start one with `quiz`!", title=title)
        lines = _board_lines(rows)
        mine = next((i for i, r in enumerate(rows, 1) if r.user_id == user.user_id), None)
        if mine and mine > TOP:
            lines.append(f"…\n{mine}. you — {rows[mine - 1].points} pts")
        elif mine is None:
            lines.append("You have no points in this period yet.")
        return Reply("\n".join(lines), title=title, footer=f"Days and weeks in {zone.key}")

    async def _stats(self, event: CommandEvent) -> list[Reply]:
        target, name = _mentioned(event.options.get("user", ""))
        target = target or event.user.user_id
        user = event.user
        answers = await self.store.user_answers(user.platform, user.workspace, target)
        who = "You" if target == user.user_id else neutralize(event.options.get("user_name") or name or target)
        if not answers:
            return [Reply(f"{who} have not answered any questions yet." if who == "You"
                          else f"{who} has not answered any questions yet.", ephemeral=True)]
        correct = sum(1 for _, _, ok, _ in answers if ok)
        zone = await self._zone(user)
        streak = streaks({d for _, kind, ok, d in answers if kind == "daily" and ok and d},
                         self.clock.now().astimezone(zone).date())
        by_topic = topic_accuracy([(self._card_topic(card_id), ok) for card_id, _, ok, _ in answers])
        fields = (
            Field("Answered", str(len(answers))),
            Field("Accuracy", f"{correct / len(answers):.0%}"),
            Field("Daily streak", f"{streak.current} (best {streak.best})"),
            Field("By topic", "\n".join(f"{t.topic}: {t.accuracy:.0%} of {t.answered}" for t in by_topic[:8]),
                  inline=False),
        )
        weakest = [t.topic for t in by_topic if t.accuracy < 1][:2]
        body = f"Weakest topics: {', '.join(weakest)}. Try `quiz {weakest[0]}`." if weakest else "No weak topics!"
        return [Reply(body, title=f"Stats: {who}", fields=fields, ephemeral=True)]

    def _card_topic(self, card_id: str) -> str:
        card = self.library.card(card_id)
        return card.topic if card else "retired cards"

    async def _topics(self, event: CommandEvent) -> list[Reply]:
        lines = []
        for deck in self.library.decks:
            lines.append(f"**{deck.title}** (`{deck.name}`): {len(deck.entries)} entries, {len(deck.cards)} cards")
            for slug, name in deck.topics.items():
                entries = [e for e in deck.entries if e.topic == slug]
                cards = sum(len(e.quiz) for e in entries)
                lines.append(f"  `{slug}` — {name}: {len(entries)} entries, {cards} cards")
        return [Reply("\n".join(lines), title="Topics", ephemeral=True)]

    async def _daily(self, event: CommandEvent) -> list[Reply]:
        action = event.options.get("action", "show").lower()
        if action not in ("set", "show", "off"):
            return [Reply("Use `daily set HH:MM ZONE`, `daily show` or `daily off`.", ephemeral=True)]
        if not event.user.is_admin:
            return [Reply("Only workspace admins can manage the daily challenge. Ask an admin to run "
                          f"`daily {action}`.", ephemeral=True)]
        if action == "show":
            schedule = await self.store.schedule_for(event.channel)
            if schedule is None:
                return [Reply("No daily challenge is scheduled in this channel. Set one with "
                              "`daily set 09:00 Europe/Berlin`.", ephemeral=True)]
            return [Reply(_describe_schedule(schedule), ephemeral=True)]
        if action == "off":
            done = await self.store.disable_schedule(event.channel)
            return [Reply("Daily challenge turned off for this channel." if done
                          else "There was no daily challenge in this channel.", ephemeral=True)]
        return [await self._daily_set(event)]

    async def _daily_set(self, event: CommandEvent) -> Reply:
        try:
            at = parse_local_time(event.options.get("time", ""))
            zone = parse_zone(event.options.get("timezone", ""))
        except ScheduleInputError as exc:
            # The message quotes what the admin typed, which may be "@everyone".
            return Reply(f"{neutralize(str(exc))} Example: `daily set 09:00 Europe/Berlin`.", ephemeral=True)
        questions = _bounded(event.options.get("questions"), 1, 1, 5, "questions")
        if isinstance(questions, str):
            return Reply(questions, ephemeral=True)
        topic, problem = self._topic(event.options.get("topic"))
        if problem:
            return problem
        schedule = await self.store.save_schedule(event.channel, f"{at:%H:%M}", zone.key, questions, topic,
                                                  self.clock.now())
        await self.store.set_workspace_timezone(event.user.platform, event.user.workspace, zone.key)
        return Reply(f"Scheduled. {_describe_schedule(schedule)} Leaderboard days and weeks now follow {zone.key}.",
                     ephemeral=True)

    # Buttons

    async def _button(self, event: ButtonEvent) -> list[Reply]:
        kind, _, rest = event.button_id.partition(":")
        if kind == "answer":
            self.metrics.answer_presses.inc()
            round_text, _, choice_text = rest.partition(":")
            if not (round_text.isdigit() and choice_text.isdigit()):
                return [Reply("That button is not one of mine.", ephemeral=True)]
            return [await self.quiz.press(event, int(round_text), int(choice_text))]
        entry = self.library.entry(rest)
        if entry is None:
            return [Reply("That entry is no longer in the decks.", ephemeral=True)]
        if kind == "ask":
            return [replace(self.answer_card(entry), ephemeral=True)]  # a picked suggestion stays private
        if kind == "practice":
            return [await self._practice(event, entry)]
        return [Reply("That button is not one of mine.", ephemeral=True)]

    async def _practice(self, event: ButtonEvent, entry: Entry) -> Reply:
        card = self.quiz.rng.choice(entry.quiz)
        seconds = self.config.quiz.max_seconds
        record = await self.quiz.open_round(event.channel, "practice", card, seconds, owner=event.user.user_id)
        if record is None:
            return Reply("Could not start a practice question right now.", ephemeral=True)
        return question_reply(card, record, self.library.topic_name(card))


def _check_text(text: str) -> str | None:
    if not text.strip():
        return "Ask me something, e.g. `ask what is dropout`."
    if len(text) > MAX_QUERY:
        return f"That question is {len(text)} characters long; please keep it under {MAX_QUERY}."
    if _has_control(text):
        return "Your question contains control characters; please type it as plain text."
    return None


def _cooldown_key(event: CommandEvent) -> tuple[str, str, str, str]:
    return event.user.platform, event.user.workspace, event.user.user_id, event.name


def _board_lines(rows: list[ScoreRow]) -> list[str]:
    """The top ten of ranked rows, one line each."""
    return [f"{i}. {neutralize(r.display_name)} — {r.points} pts ({r.correct}/{r.answered} right)"
            for i, r in enumerate(rows[:TOP], 1)]


def _has_control(text: str) -> bool:
    """Whether ``text`` holds a control character other than tab and newline.

    Unicode category Cc, so C1 controls (U+0080-U+009F, e.g. the 8-bit CSI that starts terminal
    escape sequences) are refused like C0 ones and DEL.
    """
    return any(unicodedata.category(ch) == "Cc" and ch not in "\t\n" for ch in text)


def _bounded(text: str | None, default: int, low: int, high: int, name: str) -> int | str:
    """An integer option within bounds, or the message explaining what is allowed."""
    if text is None or text == "":
        return default
    if not text.strip().isdigit() or not low <= int(text) <= high:
        return f"`{name}` must be a whole number from {low} to {high}; got `{neutralize(text)}`."
    return int(text)


def _mentioned(text: str) -> tuple[str, str | None]:
    """The user id and, where the mention carries one, the name in ``<@123>``, ``<@!123>``, ``<@U123|name>``."""
    text = text.strip()
    if text.startswith("<@") and text.endswith(">"):
        user_id, _, name = text[2:-1].lstrip("!").partition("|")
        return user_id, name or None
    return text.lstrip("@"), None


def _describe_schedule(schedule: Schedule) -> str:
    topic = f" on `{schedule.topic}`" if schedule.topic else ""
    return (f"Daily challenge here at {schedule.local_time} {schedule.timezone}: {schedule.questions} "
            f"question(s){topic}.")
