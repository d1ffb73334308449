"""Quiz rounds: open, take answers, close and reveal, all state in the store.

Open rounds are also kept in memory (read-through) so a burst of presses costs no reads;
the store stays the source of truth, and closing is claimed in the database, so a round is
revealed exactly once even if two closers race or the bot restarts mid-close.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.events import ButtonEvent, Channel
from bot.core.replies import LABEL_LIMIT, Button, Field, Reply, fit, neutralize
from bot.kb.library import Library
from bot.kb.model import QuizCard
from bot.store.base import AnswerRecord, RoundRecord, Store

log = logging.getLogger(__name__)
LETTERS = "ABCDE"

Poster = Callable[[Channel, Reply], Awaitable[str | None]]
Editor = Callable[[Channel, str, Reply], Awaitable[bool]]


def answer_button_id(round_id: int, choice: int) -> str:
    """Self-describing, so a button still works after a restart: ``answer:<round>:<choice>``."""
    return f"answer:{round_id}:{choice}"


def question_reply(card: QuizCard, record: RoundRecord, topic_name: str, closed: bool = False,
                   zone: ZoneInfo | None = None) -> Reply:
    """The round's message: prompt and choice buttons (without buttons once closed).

    A daily question says when it closes in ``zone``, its schedule's zone (UTC without one).
    """
    lines = [card.prompt, ""] + [f"**{LETTERS[i]}.** {c.text}" for i, c in enumerate(card.choices)]
    kind = {"daily": "Daily challenge", "practice": "Practice question"}.get(record.kind, "Quiz")
    if closed:
        footer = f"{topic_name} · closed"
    elif record.kind == "daily":
        footer = f"{topic_name} · open until {closing_time(record, zone or ZoneInfo('UTC'))} · one answer each"
    else:
        footer = f"{topic_name} · {record.seconds} s · one answer each"
    buttons = () if closed else tuple(
        Button(answer_button_id(record.id, i), fit(f"{LETTERS[i]}. {c.text}", LABEL_LIMIT))
        for i, c in enumerate(card.choices))
    return Reply(title=f"{kind}: {card.entry_id.replace('-', ' ')}", body="\n".join(lines), buttons=buttons,
                 footer=footer, ephemeral=record.kind == "practice")


def closing_time(record: RoundRecord, zone: ZoneInfo) -> str:
    """When ``record`` closes as people in ``zone`` read a clock: "21:00 Europe/Berlin", "Tue 06:00 …" another day."""
    opens, closes = record.opened_at.astimezone(zone), record.closes_at.astimezone(zone)
    day = f"{closes:%a} " if closes.date() != opens.date() else ""
    return f"{day}{closes:%H:%M} {zone.key}"


class QuizMaster:
    """Owns the lifecycle of every round."""

    def __init__(self, library: Library, store: Store, now: Callable[[], datetime], rng: random.Random,
                 points: int) -> None:
        self.library = library
        self.store = store
        self.now = now
        self.rng = rng
        self.points = points
        self.open: dict[int, RoundRecord] = {}

    async def load(self) -> None:
        """Re-arms every round the database says is open (after a restart)."""
        self.open = {r.id: r for r in await self.store.open_rounds()}

    def pick_card(self, topic: str | None, exclude: set[str] = frozenset()) -> QuizCard | None:  # type: ignore[assignment]
        """A random card, from one topic if given, avoiding ``exclude`` while others remain."""
        cards = [c for d in self.library.decks for c in d.cards if topic is None or c.topic == topic]
        fresh = [c for c in cards if c.id not in exclude] or cards
        return self.rng.choice(fresh) if fresh else None

    async def open_round(self, channel: Channel, kind: str, card: QuizCard, seconds: int, remaining: int = 0,
                         topic: str | None = None, owner: str | None = None, schedule_id: int | None = None,
                         local_date: object = None) -> RoundRecord | None:
        """Stores a new round; None when the channel already has an on-demand quiz running."""
        now = self.now()
        record = await self.store.open_round(RoundRecord(
            id=0, channel=channel, kind=kind, card_id=card.id, opened_at=now,
            closes_at=now + timedelta(seconds=seconds), remaining=remaining, seconds=seconds, topic=topic,
            owner_id=owner, schedule_id=schedule_id, local_date=local_date))  # type: ignore[arg-type]
        if record is not None:
            self.open[record.id] = record
        return record

    async def publish(self, record: RoundRecord, post: Poster, zone: ZoneInfo | None = None) -> None:
        """Posts the round's question into its channel and remembers the message for the reveal.

        ``zone``: a daily round's schedule zone, in which its question says when it closes.
        """
        card = self.library.card(record.card_id)
        if card is None:
            return
        try:
            message_id = await post(record.channel, question_reply(card, record, self.library.topic_name(card),
                                                                   zone=zone))
        except Exception:
            # Nobody saw the question: withdraw the round so the channel is free for the next one.
            await self.store.close_round(record.id, self.now())
            self.open.pop(record.id, None)
            raise
        if message_id:
            await self.store.set_round_message(record.id, message_id)
            self.open[record.id] = replace(record, message_id=message_id)

    async def press(self, event: ButtonEvent, round_id: int, choice: int) -> Reply:
        """Records one answer. Every outcome is a private reply that never reveals the answer."""
        record = self.open.get(round_id)
        if record is None or record.closes_at <= self.now():
            return Reply("This round has closed. Watch the channel for the results, or start one with `quiz`.",
                         ephemeral=True)
        if record.kind == "practice" and record.owner_id != event.user.user_id:
            return Reply("This practice question belongs to someone else. Try `ask` and then "
                         "\"Quiz me on this\" for your own.", ephemeral=True)
        card = self.library.card(record.card_id)
        if card is None or not 0 <= choice < len(card.choices):
            return Reply("That button no longer matches a question I know.", ephemeral=True)
        correct = choice == card.correct_index
        points = self.points if correct and record.kind != "practice" else 0
        stored = await self.store.record_answer(
            AnswerRecord(round_id, event.user.user_id, event.user.display_name, choice, correct, points,
                         self.now()), event.user.platform, event.user.workspace)
        if not stored:
            return Reply("You already answered this round; your first answer counts.", ephemeral=True)
        if record.kind == "practice":
            await self.store.close_round(round_id, self.now())
            self.open.pop(round_id, None)
            return practice_result(card, choice)
        return Reply(f"Answer {LETTERS[choice]} locked in. Results when the round closes.", ephemeral=True)

    def due(self) -> list[RoundRecord]:
        """Open rounds whose time is up."""
        now = self.now()
        return [r for r in self.open.values() if r.closes_at <= now]

    async def close(self, record: RoundRecord, post: Poster, edit: Editor | None) -> bool:
        """Closes and reveals a round once; False if someone else already closed it."""
        if not await self.store.close_round(record.id, self.now()):
            self.open.pop(record.id, None)
            return False
        self.open.pop(record.id, None)
        card = self.library.card(record.card_id)
        if card is None:
            log.warning("round %s closed, but its card %s is no longer in any deck", record.id, record.card_id)
            return True
        if record.kind == "practice":
            return True
        if edit is not None and record.message_id:
            closed = question_reply(card, record, self.library.topic_name(card), closed=True)
            await edit(record.channel, record.message_id, closed)
        await post(record.channel, reveal_reply(card, await self.store.answers(record.id)))
        return True


def practice_result(card: QuizCard, choice: int) -> Reply:
    """The private verdict on a practice question, given at once."""
    right = card.choices[card.correct_index]
    verdict = "Correct!" if choice == card.correct_index else f"Not quite: the answer is **{right.text}**."
    return Reply(f"{verdict}\n\n{card.explanation}", title="Practice result", ephemeral=True)


def reveal_reply(card: QuizCard, answers: list[AnswerRecord]) -> Reply:
    """The public reveal: right choice, why, who got it, points."""
    right = card.choices[card.correct_index]
    winners = [a for a in answers if a.correct]
    names = ", ".join(neutralize(a.display_name) for a in winners[:20])
    if len(winners) > 20:
        names += f" and {len(winners) - 20} more"
    each = " each" if len(winners) > 1 else ""
    who = f"{names} (+{winners[0].points}{each})" if winners else "Nobody this time."
    fields = (Field("Correct", who, inline=False),
              Field("Answers", f"{len(answers)} ({len(winners)} right)"))
    return Reply(body=f"**{LETTERS[card.correct_index]}. {right.text}**\n\n{card.explanation}",
                 title=fit(f"Answer: {card.prompt}", 200), fields=fields, footer="Leaderboard: `leaderboard today`")
