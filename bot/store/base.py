"""The storage interface. The core depends on this Protocol only, never on a driver.

Kept narrow on purpose (rounds, answers, schedules, fires, gaps), with every uniqueness rule
the bot relies on enforced by the database itself, so another backend (PostgreSQL) only has
to keep the same constraints.
"""

from __future__ import annotations

from collections.abc import Awaitable, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from bot.chat import Channel, fast_init

UserAnswer = tuple[str, str, bool, date | None]  # card id, round kind, correct, daily round's local date


# Limits both stores keep, so a deployment behaves the same on SQLite and PostgreSQL.
# Unanswered questions kept for `studybot kb gaps` (each row takes up to ~1.5 kB with its index, so at most
# about 15 MB); past it the table is trimmed back to 90%.
MAX_GAPS = 10_000
# Deliveries seen are forgotten once older than remembered, checked every this many deliveries.
FORGET_DELIVERIES_EVERY = 500
# Command uses kept in a shared store are forgotten once older than every cooldown, checked every this many uses.
FORGET_COOLDOWNS_EVERY = 500


class StoreError(Exception):
    """The database cannot be used as it is; the message says why and what to do."""


class StoreUnavailable(StoreError):
    """The database server cannot be reached right now (restarting, network, a statement timed out).

    Raised by a store whose database can come back on its own (PostgreSQL): what needed it is
    answered with a "try again in a moment", and the work is retried later, nothing half-done.
    """


@dataclass(frozen=True)
class RoundRecord:
    """One question put to a channel (an on-demand quiz, a daily challenge or private practice)."""

    id: int
    channel: Channel
    kind: str  # "quiz", "daily" or "practice"
    card_id: str
    opened_at: datetime
    closes_at: datetime
    closed_at: datetime | None = None
    message_id: str | None = None
    remaining: int = 0  # questions still to come after this one in the same quiz
    seconds: int = 60
    topic: str | None = None
    owner_id: str | None = None  # the only user who may answer a practice round
    schedule_id: int | None = None
    local_date: date | None = None
    revealed_at: datetime | None = None  # its reveal was delivered (or given up): its points count from now
    game_id: int | None = None  # the game (one `quiz`) this round belongs to
    typed: bool = False  # answered by typing (an "Answer" button opens a text field), not by choice buttons


@dataclass(frozen=True)
class Game:
    """One `quiz`: its rounds, who started it (they and admins may stop or skip), how it ends."""

    id: int
    channel: Channel
    started_by: str
    started_by_name: str
    questions: int  # at most this many questions
    target: int | None  # the first to this many points wins and the game ends there
    typed: bool
    hints: bool
    started_at: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None  # "stopped", "target", "finished"


@dataclass(frozen=True)
class Outgoing:
    """A message for the outbox, written in the same transaction as the state change that causes it.

    ``reply`` is the neutral reply as JSON (the store knows no replies). An ``edit`` replaces the
    question message of ``round_id``, whatever id that message gets when it is delivered.
    ``purpose`` names what the message is for ("question", "closed-question", "reveal",
    "daily-intro", "daily-results"); delivering a "question" records the round's message id,
    delivering (or giving up) a "reveal" marks the round revealed.
    """

    channel: Channel
    action: str  # "post" or "edit"
    purpose: str
    reply: str
    round_id: int | None = None


@dataclass(frozen=True)
class PendingMessage:
    """An outbox message not yet delivered nor given up."""

    id: int
    channel: Channel
    action: str
    purpose: str
    reply: str
    round_id: int | None
    created_at: datetime
    attempts: int
    next_attempt_at: datetime


@fast_init
@dataclass(frozen=True)
class AnswerRecord:
    """One user's answer to one round."""

    round_id: int
    user_id: str
    display_name: str
    choice: int
    correct: bool
    points: int
    answered_at: datetime
    typed_text: str | None = None  # what was typed, in a typed round (choice is then the right one, or -1)


@dataclass(frozen=True)
class Schedule:
    """A daily challenge for one channel."""

    id: int
    channel: Channel
    local_time: str  # "HH:MM"
    timezone: str
    questions: int
    topic: str | None
    updated_at: datetime  # fires only for instants after this, so a new schedule never fires late
    enabled: bool = True
    typed: bool = False  # its questions are answered by typing


@dataclass(frozen=True)
class ScoreRow:
    """A user's totals over a period, for leaderboards."""

    user_id: str
    display_name: str
    points: int
    correct: int
    answered: int
    reached_at: datetime  # when the user reached these points (their last scoring answer; first answer if none)


@dataclass(frozen=True)
class Learner:
    """Whose review data: a person per platform and workspace, like their points."""

    platform: str
    workspace: str
    user_id: str


@dataclass(frozen=True)
class ReviewCard:
    """One person's memory state of one card.

    ``state`` is the fsrs package's ``Card`` as JSON (the store does not read it); ``due`` and
    ``reps`` (ratings so far; 0 for a card added but never rated) are its columns for queries.
    ``version`` grows with each rating, so a rating button pressed twice counts once.
    """

    learner: Learner
    card_id: str
    state: str
    due: datetime
    reps: int
    version: int
    added_at: datetime


@dataclass(frozen=True)
class ReviewEntry:
    """One rating of one card, as the review log (and its CSV export) keeps it."""

    learner: Learner
    card_id: str
    rating: int  # 1 Again, 2 Hard, 3 Good, 4 Easy (fsrs.Rating)
    source: str  # "review", or the round kind that fed it: "quiz", "daily", "practice"
    reviewed_at: datetime
    first: bool  # the card's first rating (a new card learned)
    due_before: datetime
    due_after: datetime
    stability: float | None
    difficulty: float | None


@dataclass(frozen=True)
class Reminder:
    """A person's daily review nudge, sent privately at a local time when cards are due."""

    id: int
    learner: Learner
    local_time: str  # "HH:MM"
    timezone: str
    updated_at: datetime  # fires only for instants after this, so a new reminder never fires late


class StoreUnit(Protocol):
    """The writes of one unit of work: all of them are committed together, or none.

    Reads through the unit see its own writes. Every claim in it (closing a round, a day's fire)
    is decided by the database: of two units racing for one claim, in one process or in several
    on one database, exactly one gets True. SQLite runs units one at a time; PostgreSQL runs them
    side by side, and a unit racing for a row another holds waits for that one to end.
    """

    async def open_round(self, record: RoundRecord) -> RoundRecord | None:
        """As :meth:`Store.open_round`, inside the unit."""
        ...

    async def close_round(self, round_id: int, at: datetime, revealed: bool = True) -> bool:
        """As :meth:`Store.close_round`, inside the unit."""
        ...

    async def claim_fire(self, schedule_id: int, local_date: date, at: datetime, status: str) -> bool:
        """As :meth:`Store.claim_fire`, inside the unit."""
        ...

    async def answers(self, round_id: int) -> list[AnswerRecord]:
        """As :meth:`Store.answers`, seeing the unit's writes."""
        ...

    async def day_scores(self, platform: str, workspace: str, schedule_id: int, local_date: date) -> list[ScoreRow]:
        """Per-user totals of one day's challenge over its closed rounds (revealed or not: the
        results are posted after the day's reveals, in the same channel, in order)."""
        ...

    async def enqueue(self, messages: Sequence[Outgoing], at: datetime) -> list[int]:
        """Adds messages to the outbox, due at ``at``; returns their ids, in order."""
        ...

    async def start_game(self, game: Game) -> Game:
        """Stores a new game (its id is ignored) and returns it with its id."""
        ...

    async def end_game(self, game_id: int, at: datetime, by: str | None, reason: str) -> bool:
        """Marks the game ended; True only for the one caller that actually ended it (a stop racing
        the timer's last reveal, two stops: one wins)."""
        ...

    async def game(self, game_id: int) -> Game | None:
        """As :meth:`Store.game`, seeing the unit's writes."""
        ...

    async def game_open_round(self, game_id: int) -> RoundRecord | None:
        """The game's round still open, if any, as the store has it now (not as memory remembers it)."""
        ...

    async def game_scores(self, game_id: int) -> list[ScoreRow]:
        """Per-user totals of one game over its closed rounds (its results are posted after its
        last reveal, in the same channel, in order)."""
        ...

    async def game_rounds(self, game_id: int) -> int:
        """How many rounds the game has had."""
        ...

    async def review_cards(self, learner: Learner, card_ids: Collection[str]) -> dict[str, ReviewCard]:
        """As :meth:`Store.review_cards`, seeing the unit's writes."""
        ...

    async def save_review(self, card: ReviewCard, entry: ReviewEntry) -> bool:
        """Stores a rated card's new state (``card.version`` is the new version) and its log entry;
        False, writing nothing, if the stored version is no longer ``card.version - 1`` (rated
        meanwhile) or, for version 1, the card already has a rated state."""
        ...

    async def claim_reminder(self, reminder_id: int, local_date: date, at: datetime, status: str) -> bool:
        """As :meth:`Store.claim_fire`, for a review reminder: False if that local date already had one."""
        ...


class Store(Protocol):
    """Everything the core persists.

    ``shared`` is True when other processes may write the same database (PostgreSQL): then rounds
    they open are looked up and closed here too, and nothing may be assumed from memory alone.
    """

    shared: bool

    def unit(self) -> AbstractAsyncContextManager[StoreUnit]:
        """A unit of work: ``async with store.unit() as unit: ...`` commits at the end, rolls back on error."""
        ...

    async def open_round(self, record: RoundRecord) -> RoundRecord | None:
        """Stores a new round and returns it with its id; None if the channel already has an
        open on-demand quiz (only one at a time)."""
        ...

    async def open_rounds(self) -> list[RoundRecord]:
        """Every round not yet closed."""
        ...

    async def get_round(self, round_id: int) -> RoundRecord | None:
        """One round by id."""
        ...

    async def close_round(self, round_id: int, at: datetime, revealed: bool = True) -> bool:
        """Marks the round closed; True only for the one caller that actually closed it.

        ``revealed``: nothing is left to show (practice, a withdrawn round), so its answers count
        at once; False when a reveal is queued, which marks the round revealed when it is delivered.
        """
        ...

    async def extend_round(self, round_id: int, closes_at: datetime) -> bool:
        """Moves an open round's closing time later (its question reached the channel late); False if
        it is closed already or would close later anyway."""
        ...

    def record_answer(self, answer: AnswerRecord, platform: str, workspace: str,
                      after_hints: tuple[int, ...] = ()) -> Awaitable[bool]:
        """Stores an answer; awaited, False if this user already answered this round.

        An awaitable rather than a coroutine, so a store that queues the answer for a batched writer
        can hand back the future it is woken by (a burst of presses then builds no coroutine each).

        ``after_hints``: what the answer is worth if its user took 1, 2, ... hints on the round (the
        last for more). The store reads the hints taken in the same statement or transaction that
        writes the answer and stores that instead of ``answer.points``: no read per press, and a hint
        taken through another process counts.
        """
        ...

    async def game(self, game_id: int) -> Game | None:
        """One game by id."""
        ...

    async def take_hint(self, round_id: int, user_id: str, most: int) -> int:
        """Counts one more hint for a player on a round, up to ``most``; returns how many they have now."""
        ...

    async def hints_taken(self, round_id: int, user_id: str) -> int:
        """How many hints a player took on a round (0 if none)."""
        ...

    async def answers(self, round_id: int) -> list[AnswerRecord]:
        """The answers to one round, in the order they came."""
        ...

    async def scores(self, platform: str, workspace: str, since: datetime | None, until: datetime | None,
                     card_ids: Collection[str] | None, daily: tuple[int, date] | None = None) -> list[ScoreRow]:
        """Per-user totals of points in the workspace in [since, until), from revealed rounds only
        (whose reveal was delivered, or given up for good);
        with ``card_ids``, only answers to those cards (a topic's cards: the store knows no decks, and a
        quiz round's own topic is its filter, None for a mixed quiz); with ``daily`` (schedule id,
        local date), only that day's challenge in its channel.

        An open round's answers stay out: points appearing before the reveal would tell everyone
        who pressed the right button.
        """
        ...

    async def user_answers(self, platform: str, workspace: str, user_id: str) -> list[UserAnswer]:
        """(card id, round kind, correct, local date of a daily round) of a user's answers in revealed rounds."""
        ...

    async def channel_card_stats(self, channel: Channel) -> dict[str, tuple[int, int]]:
        """Per card id: (answers, correct answers) in one channel."""
        ...

    async def used_daily_cards(self, channel: Channel) -> list[str]:
        """Card ids of the channel's daily rounds, oldest first."""
        ...

    async def save_schedule(self, channel: Channel, local_time: str, timezone: str, questions: int,
                            topic: str | None, at: datetime, typed: bool = False) -> Schedule:
        """Creates or replaces the channel's daily schedule."""
        ...

    async def schedule_for(self, channel: Channel) -> Schedule | None:
        """The channel's enabled schedule, if any."""
        ...

    async def disable_schedule(self, channel: Channel) -> bool:
        """Turns the channel's schedule off; False if there was none."""
        ...

    async def schedules(self) -> list[Schedule]:
        """Every enabled schedule."""
        ...

    async def claim_fire(self, schedule_id: int, local_date: date, at: datetime, status: str) -> bool:
        """Records that a schedule fired (or was skipped) for a local date; False if it already
        had, which is what makes daily posts exactly-once across restarts."""
        ...

    # The outbox

    async def due_messages(self, now: datetime, platforms: Collection[str],
                           channel: Channel | None = None) -> list[PendingMessage]:
        """For each channel of ``platforms`` (or just ``channel``), its oldest pending message, if due at ``now``.

        Only the oldest: a channel's messages are delivered in order, so an edit or a reveal never
        overtakes its question.
        """
        ...

    async def next_due(self, platforms: Collection[str]) -> datetime | None:
        """When the earliest pending message of ``platforms`` is due, if any is pending."""
        ...

    async def pending_messages(self, round_id: int | None = None) -> list[PendingMessage]:
        """Every pending message (of one round, if given), oldest first."""
        ...

    async def claim_message(self, outbox_id: int, now: datetime, lease_until: datetime, owner: str) -> bool:
        """Takes a due message for one delivery attempt by ``owner`` (a process): counts the attempt and
        makes it not due until ``lease_until`` (a crash mid-attempt retries it then). False if another
        worker took it, or it is no longer pending or due."""
        ...

    async def prune_outbox(self, before: datetime) -> int:
        """Forgets messages delivered or given up before ``before``; how many. (A round keeps its
        question's message id itself, so nothing depends on old outbox rows.)"""
        ...

    async def release_claims(self, now: datetime, owner: str) -> int:
        """Makes messages claimed by owners other than ``owner`` due at ``now``; how many. Only for a
        process that knows every other owner is gone (it holds the data folder's lock)."""
        ...

    async def round_message_id(self, round_id: int) -> str | None:
        """The platform's id of the round's question message, once delivered."""
        ...

    async def record_delivered(self, outbox_id: int, at: datetime, platform_id: str | None) -> None:
        """Marks a message delivered, with the platform's id for it (a question's id goes on its round,
        a reveal marks its round revealed), in one transaction."""
        ...

    async def record_retry(self, outbox_id: int, next_attempt_at: datetime, error: str, owner: str) -> bool:
        """Schedules another attempt of a pending message that ``owner`` holds the claim of. False if
        another process took the claim over meanwhile (this one's lease ran out): its attempt stands,
        and a late retry must not make the message due again under it."""
        ...

    async def record_given_up(self, outbox_id: int, at: datetime, reason: str, owner: str) -> bool:
        """Gives up on a message for good (a reveal still marks its round revealed), as ``owner``, the
        process holding its claim; False if it was no longer pending, or another process took the claim
        over meanwhile and decides now (so the caller logs it once)."""
        ...

    # Spaced repetition

    async def review_cards(self, learner: Learner, card_ids: Collection[str]) -> dict[str, ReviewCard]:
        """The person's stored states of these cards, by card id (cards never seen are absent)."""
        ...

    async def next_review(self, learner: Learner, now: datetime, reviews: bool, new: bool,
                          skip: Collection[str] = ()) -> ReviewCard | None:
        """The card to review next: the most overdue rated card due at ``now`` (if ``reviews``),
        else the earliest added unrated one (if ``new``), leaving out ``skip`` (cards no longer in
        any deck); None when nothing is."""
        ...

    async def add_review_cards(self, learner: Learner, cards: Sequence[tuple[str, str]], at: datetime) -> int:
        """Adds (card id, fsrs state JSON) as new cards due at ``at``, skipping ones the person
        already has; returns how many were added."""
        ...

    async def review_due_counts(self, learner: Learner, until: Sequence[datetime]) -> list[int]:
        """For each instant, how many of the person's cards are due by then (new cards included)."""
        ...

    async def review_log(self, learner: Learner, since: datetime | None = None) -> list[ReviewEntry]:
        """The person's ratings since ``since`` (all without), oldest first."""
        ...

    async def save_reminder(self, learner: Learner, local_time: str, timezone: str, at: datetime) -> Reminder:
        """Creates or replaces the person's review reminder."""
        ...

    async def reminder_for(self, learner: Learner) -> Reminder | None:
        """The person's enabled reminder, if any."""
        ...

    async def disable_reminder(self, learner: Learner) -> bool:
        """Turns the person's reminder off; False if there was none."""
        ...

    async def reminders(self) -> list[Reminder]:
        """Every enabled reminder."""
        ...

    async def claim_reminder(self, reminder_id: int, local_date: date, at: datetime, status: str) -> bool:
        """Records that a reminder fired (or was skipped) for a local date; False if it already had."""
        ...

    async def workspace_timezone(self, platform: str, workspace: str) -> str | None:
        """The workspace's time zone for days and weeks, if one was set."""
        ...

    async def set_workspace_timezone(self, platform: str, workspace: str, timezone: str) -> None:
        """Sets the workspace's time zone."""
        ...

    async def record_gap(self, query: str, at: datetime) -> None:
        """Counts a question that got no confident answer.

        Never raises and never waits for the disk (the count may be written after it returns,
        or lost and logged): a declined question's reply must not depend on it. Only the most
        useful questions are kept (a bounded table).
        """
        ...

    async def gaps(self, limit: int) -> list[tuple[str, int, datetime]]:
        """Unanswered questions, most asked first: (query, times asked, last asked)."""
        ...

    # What several processes must agree on

    async def use_cooldown(self, key: tuple[str, str, str, str], now: datetime, seconds: float,
                           token: str) -> float:
        """Takes a use of a command ((platform, workspace, user, command)) if its last use is at least
        ``seconds`` old, recording ``token`` as the taker: returns 0. Otherwise returns the seconds
        still to wait, and records nothing."""
        ...

    async def release_cooldown(self, key: tuple[str, str, str, str], token: str) -> None:
        """Forgets the use recorded by ``token`` (not an earlier or later one), so a retry is not refused."""
        ...

    async def forget_cooldowns(self, before: datetime) -> int:
        """Deletes every use recorded before ``before`` (the caller passes a time past every cooldown, so
        they refuse nothing any more); returns how many. Without it the table keeps a row for every
        member who ever used a command."""
        ...

    async def first_delivery(self, key: str, now: datetime, remember_seconds: float) -> bool:
        """True the first time a platform delivery id is seen within ``remember_seconds``; it is
        remembered from now on (a platform's resend, to this process or another, is then False)."""
        ...

    async def flush(self) -> None:
        """Waits until every answer already taken is written (shutdown drains through this)."""
        ...

    async def close(self) -> None:
        """Releases the connection."""
        ...
