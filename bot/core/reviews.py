"""Spaced repetition: each person's cards, scheduled with FSRS (the ``fsrs`` package), reviewed privately.

A session keeps no state of its own: each message's buttons say which card, which version of
its memory state and what the press means (:mod:`bot.core.buttons`), and the store holds the
states, so a session survives a restart and a rating pressed twice counts once. The
scheduling itself is the package's (``Scheduler.review_card``); this module only decides
which card comes next, what a quiz answer means as a rating, and how it all reads in chat.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from fsrs import Card, Rating, Scheduler
from fsrs.scheduler import DEFAULT_PARAMETERS

from bot.core.buttons import review_id
from bot.core.replies import LABEL_LIMIT, Button, Reply, fit
from bot.core.shelf import Shelf
from bot.core.standings import streaks
from bot.kb.library import Library
from bot.store.base import AnswerRecord, Learner, ReviewCard, ReviewEntry, RoundRecord, Store, StoreUnit

if TYPE_CHECKING:
    from bot.config import ReviewSection

LETTERS = "ABCDE"
RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}


def scheduler_for(config: ReviewSection) -> Scheduler:
    """The package's scheduler with ``[review]``'s parameters (its own defaults unless changed)."""
    return Scheduler(parameters=tuple(config.parameters or DEFAULT_PARAMETERS),
                     desired_retention=config.desired_retention,
                     learning_steps=tuple(timedelta(minutes=m) for m in config.learning_steps_minutes),
                     relearning_steps=tuple(timedelta(minutes=m) for m in config.relearning_steps_minutes),
                     maximum_interval=config.maximum_interval_days, enable_fuzzing=config.enable_fuzzing)


def new_state(at: datetime) -> str:
    """A never-rated card's state as stored (``Card()`` otherwise pauses 1 ms to make its own id unique)."""
    return json.dumps(Card(card_id=0, due=at).to_dict())


def learner_of(platform: str, workspace: str, user_id: str) -> Learner:
    """Whose review data (per platform and workspace, like points)."""
    return Learner(platform, workspace, user_id)


@dataclass(frozen=True)
class Rated:
    """A rating turned into what the store keeps."""

    card: ReviewCard
    entry: ReviewEntry


class Reviewer:
    """Schedules ratings and builds the review session's messages."""

    def __init__(self, shelf: Shelf, store: Store, now: Callable[[], datetime], config: ReviewSection) -> None:
        self.shelf = shelf  # the decks in service, replaced whole by a reload
        self.store = store
        self.now = now
        self.config = config
        self.scheduler = scheduler_for(config)

    @property
    def library(self) -> Library:
        """The decks in service now (a reload may have replaced them; states of surviving card ids stay)."""
        return self.shelf.library

    # Scheduling

    def rate(self, learner: Learner, card_id: str, stored: ReviewCard | None, rating: int, at: datetime,
             source: str) -> Rated:
        """The card's next state after ``rating`` at ``at``, by the package's scheduler."""
        at = at.astimezone(UTC)  # the package takes UTC datetimes only
        card = _card(stored.state) if stored is not None else Card(card_id=0, due=at)
        due_before = card.due
        after, _ = self.scheduler.review_card(card, Rating(rating), review_datetime=at)
        version = stored.version + 1 if stored is not None else 1
        reps = stored.reps + 1 if stored is not None else 1
        added = stored.added_at if stored is not None else at
        state = json.dumps(after.to_dict())
        return Rated(ReviewCard(learner, card_id, state, after.due, reps, version, added),
                     ReviewEntry(learner, card_id, rating, source, at, reps == 1, due_before, after.due,
                                 after.stability, after.difficulty))

    def previews(self, stored: ReviewCard | None, at: datetime) -> dict[int, datetime]:
        """When the card would next be due after each rating (shown on the rating buttons)."""
        at = at.astimezone(UTC)
        card = _card(stored.state) if stored is not None else Card(card_id=0, due=at)
        return {r: self.scheduler.review_card(card, Rating(r), review_datetime=at)[0].due for r in RATINGS}

    async def feed(self, unit: StoreUnit, record: RoundRecord, answers: list[AnswerRecord]) -> None:
        """Within the unit that closes a round: each answer rates its card for its person
        (right is Good, wrong is Again), so quizzes and daily challenges feed reviews."""
        platform, workspace = record.channel.platform, record.channel.workspace
        for answer in answers:
            learner = Learner(platform, workspace, answer.user_id)
            stored = (await unit.review_cards(learner, [record.card_id])).get(record.card_id)
            rated = self.rate(learner, record.card_id, stored, 3 if answer.correct else 1, answer.answered_at,
                              record.kind)
            await unit.save_review(rated.card, rated.entry)

    async def add(self, learner: Learner, card_ids: Collection[str]) -> int:
        """Adds cards as new (due now); returns how many the person did not have yet."""
        at = self.now()
        state = new_state(at)
        return await self.store.add_review_cards(learner, [(c, state) for c in card_ids], at)

    # Limits

    async def done_today(self, learner: Learner, zone: ZoneInfo) -> tuple[int, int]:
        """(reviews, new cards) rated in review sessions since local midnight in ``zone``."""
        local = self.now().astimezone(zone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        log = [e for e in await self.store.review_log(learner, midnight) if e.source == "review"]
        new = sum(1 for e in log if e.first)
        return len(log) - new, new

    async def progress(self, learner: Learner, zone: ZoneInfo) -> Progress | None:
        """Due counts, 30-day retention, review streak and heatmap; None for someone with no cards."""
        now = self.now()
        local_now = now.astimezone(zone)
        end_of_today = (local_now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1))
        due_today, due_week = await self.store.review_due_counts(learner, [end_of_today, now + timedelta(days=7)])
        log = await self.store.review_log(learner, now - timedelta(weeks=8))
        if not log and not due_week and not await self.store.review_log(learner):
            return None
        retention, counted = retention_of([e for e in log if e.reviewed_at >= now - timedelta(days=30)])
        days: dict[date, int] = {}
        for e in log:
            day = e.reviewed_at.astimezone(zone).date()
            days[day] = days.get(day, 0) + 1
        run = streaks({d for d in days}, local_now.date())
        return Progress(due_today, due_week, retention, counted, run.current, run.best,
                        heatmap(days, local_now.date()))

    # Messages

    def card_reply(self, stored: ReviewCard, due_left: str = "", flash: bool = False) -> Reply:
        """The card's front: choices (and "Flip to flashcard") for a quiz card, "Show answer" for an
        entry; with ``flash`` (a flashcard session) a quiz card too is just its prompt and "Show answer"."""
        quiz = self.library.card(stored.card_id)
        stop = Button(review_id("stop", stored.version, "-"), "Stop")
        footer = ("Flashcards" if flash else "Review") + " · just for you" + (f" · {due_left}" if due_left else "")
        if quiz is not None and not flash:
            lines = [quiz.prompt, ""] + [f"**{LETTERS[i]}.** {c.text}" for i, c in enumerate(quiz.choices)]
            choices = tuple(Button(review_id(f"pick{i}", stored.version, stored.card_id),
                                   fit(f"{LETTERS[i]}. {c.text}", LABEL_LIMIT)) for i, c in enumerate(quiz.choices))
            flip = Button(review_id(flash_action("front"), stored.version, stored.card_id), "Flip to flashcard")
            return Reply("\n".join(lines), title=f"Review: {self.library.topic_name(quiz)}",
                         buttons=(*choices, flip, stop), footer=footer, ephemeral=True)
        show = Button(review_id(flash_action("show") if flash else "show", stored.version, stored.card_id),
                      "Show answer", style="primary")
        if quiz is not None:
            return Reply(quiz.prompt, title=f"Review: {self.library.topic_name(quiz)}", buttons=(show, stop),
                         footer=footer, ephemeral=True)
        entry = self.library.entry(stored.card_id)
        if entry is None:
            return Reply("That card is no longer in the decks.", ephemeral=True)
        return Reply(entry.question, title=f"Review: {self.library.topic_name(entry)}", buttons=(show, stop),
                     footer=footer, ephemeral=True)

    def back_reply(self, stored: ReviewCard, choice: int | None, flash: bool = False) -> Reply:
        """The answer, then the four ratings, each with when the card would come back (a quiz card
        answered by a choice suggests one; shown as a flashcard, the person judges alone)."""
        quiz = self.library.card(stored.card_id)
        suggested: int | None = None
        if quiz is not None:
            right = quiz.choices[quiz.correct_index]
            title = f"Review: {self.library.topic_name(quiz)}"
            if choice is None:
                body = f"{quiz.prompt}\n\n**{right.text}**\n\n{quiz.explanation}\n\nHow well did you know it?"
            else:
                correct = choice == quiz.correct_index
                suggested = 3 if correct else 1
                verdict = "Correct!" if correct else f"Not quite: the answer is **{right.text}**."
                body = (f"{verdict}\n\n{quiz.explanation}\n\nHow well did you know it? "
                        f"Suggested: {RATINGS[suggested]}; change it if it felt harder or easier.")
        else:
            entry = self.library.entry(stored.card_id)
            if entry is None:
                return Reply("That card is no longer in the decks.", ephemeral=True)
            body, title = f"{entry.answer}\n\nHow well did you know it?", entry.question
        now = self.now()
        due = self.previews(stored, now)
        rating_buttons = tuple(
            Button(review_id(flash_action(f"rate{r}") if flash else f"rate{r}", stored.version, stored.card_id),
                   f"{name} · {until(due[r], now)}",
                   style="primary" if r == suggested else ("danger" if r == 1 else "secondary"))
            for r, name in RATINGS.items())
        return Reply(fit(body, 3500), title=fit(title, 200), buttons=rating_buttons, ephemeral=True)


FLASH = "fc"  # a review action's prefix in a flashcard session (``fcshow``, ``fcrate3``): the mode rides in the id


def flash_action(action: str) -> str:
    """``action`` as pressed in a flashcard session, so the session's next card is a flashcard too."""
    return FLASH + action


def unflash(action: str) -> tuple[str, bool]:
    """A pressed review action without its flashcard-session prefix, and whether it had one."""
    return (action.removeprefix(FLASH), True) if action.startswith(FLASH) else (action, False)


def _card(state: str) -> Card:
    data: dict[str, Any] = json.loads(state)
    return Card.from_dict(data)  # type: ignore[arg-type]


def until(due: datetime, now: datetime) -> str:
    """A short "in 10 min", "in 3 d" for a due time."""
    seconds = max((due - now).total_seconds(), 0)
    if seconds < 3600:
        return f"{max(round(seconds / 60), 1)} min"
    if seconds < 86_400:
        return f"{round(seconds / 3600)} h"
    days = seconds / 86_400
    return f"{round(days)} d" if days < 365 else f"{days / 365:.1f} y"


# Progress (`stats`)

SHADES = "·░▒▓█"  # no reviews, then rising quarters of the busiest day; one character wide everywhere


@dataclass(frozen=True)
class Progress:
    """A person's review progress, for ``stats``."""

    due_today: int
    due_week: int
    retention: float | None  # share of reviews of already-learned cards recalled (not Again), last 30 days
    retention_reviews: int
    streak: int  # consecutive local days with a review session rating, up to today (or yesterday)
    best_streak: int
    heatmap: str


def retention_of(entries: list[ReviewEntry]) -> tuple[float | None, int]:
    """True retention: of the ratings of cards already learned before (not their first), how many were
    not Again; None without any."""
    later = [e for e in entries if not e.first]
    if not later:
        return None, 0
    return sum(1 for e in later if e.rating > 1) / len(later), len(later)


def heatmap(counts: dict[date, int], today: date, weeks: int = 8) -> str:
    """Ratings per local day for the last ``weeks`` weeks: one row per weekday, one column per week."""
    start = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    top = max(counts.values(), default=0)
    rows = []
    for weekday in range(7):
        cells = []
        for week in range(weeks):
            day = start + timedelta(days=7 * week + weekday)
            n = counts.get(day, 0)
            cells.append(" " if day > today else SHADES[0] if n == 0 else SHADES[min(4, 1 + (4 * n - 1) // top)])
        rows.append(f"{'MTWTFSS'[weekday]} {''.join(cells)}")
    return "\n".join(rows)
