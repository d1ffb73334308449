"""Quiz rounds: open, take answers, close and reveal, all state in the store.

Open rounds are also kept in memory (read-through) so a burst of presses costs no reads;
the store stays the source of truth. Opening a round and queueing its question, closing it
and queueing its closing edit and reveal, are each one unit of work (one transaction), and
closing is claimed in that transaction, so a round is revealed once even if two closers race,
and is never closed without its reveal queued, even if the bot dies mid-close.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.buttons import answer_id
from bot.core.events import ButtonEvent, Channel
from bot.core.replies import LABEL_LIMIT, Button, Field, Reply, fit, neutralize, reply_to_json
from bot.core.shelf import Shelf
from bot.kb.library import Library
from bot.kb.model import QuizCard
from bot.store.base import AnswerRecord, Outgoing, RoundRecord, Store, StoreUnit

log = logging.getLogger(__name__)
LETTERS = "ABCDE"
# Called in the unit that closes a round, with its answers (spaced repetition feeds on them).
AnswerFeed = Callable[[StoreUnit, RoundRecord, list[AnswerRecord]], Awaitable[None]]


def question_reply(card: QuizCard, record: RoundRecord, topic_name: str, closed: bool = False,
                   zone: ZoneInfo | None = None) -> Reply:
    """The round's message: prompt and choice buttons (without buttons once closed).

    A daily question says when it closes in ``zone``, its schedule's zone (UTC without one).
    """
    lines = [card.prompt, ""] + [f"**{LETTERS[i]}.** {c.text}" for i, c in enumerate(card.choices)]
    kind = {"daily": "Daily challenge", "practice": "Practice question"}.get(record.kind, "Quiz")
    if closed:
        footer = f"{topic_name} · closed"
    elif record.kind == "practice":
        footer = f"{topic_name} · just for you: your answer is judged at once"
    elif record.kind == "daily":
        footer = f"{topic_name} · open until {closing_time(record, zone or ZoneInfo('UTC'))} · one answer each"
    else:
        footer = f"{topic_name} · {record.seconds} s · one answer each"
    buttons = () if closed else tuple(
        Button(answer_id(record.id, i), fit(f"{LETTERS[i]}. {c.text}", LABEL_LIMIT))
        for i, c in enumerate(card.choices))
    # Titled by topic: the entry's id is an internal name, and often the answer itself.
    return Reply(title=f"{kind}: {topic_name}", body="\n".join(lines), buttons=buttons,
                 footer=footer, ephemeral=record.kind == "practice")


def closing_time(record: RoundRecord, zone: ZoneInfo) -> str:
    """When ``record`` closes as people in ``zone`` read a clock: "21:00 Europe/Berlin", "Tue 06:00 …" another day."""
    opens, closes = record.opened_at.astimezone(zone), record.closes_at.astimezone(zone)
    day = f"{closes:%a} " if closes.date() != opens.date() else ""
    return f"{day}{closes:%H:%M} {zone.key}"


class QuizMaster:
    """Owns the lifecycle of every round."""

    def __init__(self, shelf: Shelf, store: Store, now: Callable[[], datetime], rng: random.Random,
                 points: int) -> None:
        self.shelf = shelf
        self.store = store
        self.now = now
        self.rng = rng
        self.points = points
        self.open: dict[int, RoundRecord] = {}
        self.feed: AnswerFeed | None = None
        # Open rounds whose question is queued but not yet delivered: they do not close before people
        # could see them (a rate limit or an outage delays the question, not the answering time).
        self.unposted: set[int] = set()
        # The card each open round asked, as it was asked: a deck reload that removes or edits it
        # leaves the round judging and revealing the question people saw.
        self._asked: dict[int, QuizCard] = {}

    @property
    def library(self) -> Library:
        """The decks in service now."""
        return self.shelf.library

    async def load(self) -> None:
        """Re-arms every round the database says is open (after a restart)."""
        self.open = {r.id: r for r in await self.store.open_rounds()}
        self.unposted = {m.round_id for m in await self.store.pending_messages()
                         if m.purpose == "question" and m.round_id in self.open}
        self._asked = {r.id: card for r in self.open.values() if (card := self.library.card(r.card_id))}

    def card_of(self, record: RoundRecord) -> QuizCard | None:
        """The card ``record`` asked, as it was asked (None for a round restored after a restart whose card
        no deck has any more)."""
        return self._asked.get(record.id) or self.library.card(record.card_id)

    def pick_card(self, topic: str | None, exclude: set[str] = frozenset()) -> QuizCard | None:  # type: ignore[assignment]
        """A random card, from one scope (topic or deck, see bot.core.names) if given, avoiding ``exclude``
        while others remain."""
        scope = self.library.topic_cards(topic) if topic is not None else None
        cards = [c for d in self.library.decks for c in d.cards if scope is None or c.id in scope]
        fresh = [c for c in cards if c.id not in exclude] or cards
        return self.rng.choice(fresh) if fresh else None

    def new_round(self, channel: Channel, kind: str, card: QuizCard, seconds: int, remaining: int = 0,
                  topic: str | None = None, owner: str | None = None, schedule_id: int | None = None,
                  local_date: date | None = None) -> RoundRecord:
        """A round starting now, not yet stored (its id is 0)."""
        now = self.now()
        return RoundRecord(id=0, channel=channel, kind=kind, card_id=card.id, opened_at=now,
                           closes_at=now + timedelta(seconds=seconds), remaining=remaining, seconds=seconds,
                           topic=topic, owner_id=owner, schedule_id=schedule_id, local_date=local_date)

    async def open_round(self, channel: Channel, kind: str, card: QuizCard, seconds: int,
                         owner: str | None = None) -> RoundRecord | None:
        """Stores a round that posts nothing (private practice) and arms it."""
        record = await self.store.open_round(self.new_round(channel, kind, card, seconds, topic=card.topic,
                                                           owner=owner))
        if record is not None:
            self.open[record.id] = record
            self._asked[record.id] = card
        return record

    async def start(self, unit: StoreUnit, record: RoundRecord, zone: ZoneInfo | None = None) -> RoundRecord | None:
        """Within ``unit``: stores ``record`` and queues its question. None when the channel already
        has an on-demand quiz running. Call :meth:`arm` once the unit is committed.

        ``zone``: a daily round's schedule zone, in which its question says when it closes.
        """
        card = self.library.card(record.card_id)
        stored = await unit.open_round(record)
        if stored is None:
            return None
        # Noted now, while the card is the one asked; a rolled-back id used again is noted again here.
        if card is None:
            self._asked.pop(stored.id, None)
            return stored
        self._asked[stored.id] = card
        question = question_reply(card, stored, self.library.topic_name(card), zone=zone)
        await unit.enqueue([Outgoing(stored.channel, "post", "question", reply_to_json(question), stored.id)],
                           self.now())
        return stored

    def arm(self, record: RoundRecord) -> None:
        """Takes a round committed by :meth:`start` into the in-memory set of open rounds."""
        self.open[record.id] = record
        if record.kind != "practice" and record.id in self._asked:
            self.unposted.add(record.id)  # start() queued its question

    async def notice_posted_elsewhere(self) -> None:
        """Rounds whose time is up but whose question this process has not seen posted: if another
        process on the same database posted it, the round may close, at the time the store holds."""
        now = self.now()
        for round_id in [i for i in self.unposted if i in self.open and self.open[i].closes_at <= now]:
            if await self.store.round_message_id(round_id) is None:
                continue  # not posted yet by anyone: it waits for its question
            stored = await self.store.get_round(round_id)
            if stored is None or stored.closed_at is not None:
                self.disarm(round_id)  # gone, or closed by the other process
            else:
                self.unposted.discard(round_id)
                self.open[round_id] = stored

    def posted(self, round_id: int) -> RoundRecord | None:
        """Notes that a round's question reached its channel; the open round, if it still is."""
        self.unposted.discard(round_id)
        return self.open.get(round_id)

    async def press(self, event: ButtonEvent, round_id: int, choice: int) -> Reply:
        """Records one answer. Every outcome is a private reply that never reveals the answer."""
        record = self.open.get(round_id)
        if record is None and self.store.shared:
            record = await self._shared_round(round_id)
        if record is None or record.closes_at <= self.now():
            return Reply("This round has closed. Watch the channel for the results, or start one with `quiz`.",
                         ephemeral=True)
        if record.kind == "practice" and record.owner_id != event.user.user_id:
            return Reply("This practice question belongs to someone else. Try `ask` and then "
                         "\"Quiz me on this\" for your own.", ephemeral=True)
        card = self.card_of(record)
        if card is None or not 0 <= choice < len(card.choices):
            return Reply("That button no longer matches a question I know.", ephemeral=True)
        correct = choice == card.correct_index
        points = self.points if correct and record.kind != "practice" else 0
        answer = AnswerRecord(round_id, event.user.user_id, event.user.display_name, choice, correct, points,
                              self.now())
        stored = await self.store.record_answer(answer, event.user.platform, event.user.workspace)
        if not stored:
            return Reply("You already answered this round; your first answer counts.", ephemeral=True)
        if record.kind == "practice":
            async with self.store.unit() as unit:
                if await unit.close_round(round_id, self.now()) and self.feed is not None:
                    await self.feed(unit, record, [answer])
            self.disarm(round_id)
            return practice_result(card, choice)
        return Reply(f"Answer {LETTERS[choice]} locked in. Results when the round closes.", ephemeral=True)

    async def _shared_round(self, round_id: int) -> RoundRecord | None:
        """A round another process opened (its presses can reach this one), if it is still open;
        kept in memory from now on, like this process's own."""
        record = await self.store.get_round(round_id)
        if record is None or record.closed_at is not None:
            return None
        self.open[round_id] = record
        return record

    def due(self) -> list[RoundRecord]:
        """Open rounds whose time is up (never one whose question has not been posted yet)."""
        now = self.now()
        return [r for r in self.open.values() if r.closes_at <= now and r.id not in self.unposted]

    async def close(self, unit: StoreUnit, record: RoundRecord, edits: bool) -> bool:
        """Within ``unit``: closes the round and queues its closing edit (if the platform ``edits``)
        and its reveal; False if someone else already closed it. Call :meth:`disarm` once the unit
        is committed (or on False)."""
        card = self.card_of(record)
        public = record.kind != "practice" and card is not None
        if not await unit.close_round(record.id, self.now(), revealed=not public):
            return False
        answers = await unit.answers(record.id)
        if self.feed is not None and card is not None and answers:
            await self.feed(unit, record, answers)
        if card is None:
            log.warning("round %s closed, but its card %s is no longer in any deck", record.id, record.card_id)
        if not public or card is None:
            return True
        messages = []
        if edits:
            closed = question_reply(card, record, self.library.topic_name(card), closed=True)
            messages.append(Outgoing(record.channel, "edit", "closed-question", reply_to_json(closed), record.id))
        reveal = reveal_reply(card, answers)
        messages.append(Outgoing(record.channel, "post", "reveal", reply_to_json(reveal), record.id))
        await unit.enqueue(messages, self.now())
        return True

    def disarm(self, round_id: int) -> None:
        """Forgets a round that is closed (or withdrawn) in the store."""
        self.open.pop(round_id, None)
        self._asked.pop(round_id, None)
        self.unposted.discard(round_id)


def practice_result(card: QuizCard, choice: int) -> Reply:
    """The private verdict on a practice question, given at once."""
    right = card.choices[card.correct_index]
    verdict = "Correct!" if choice == card.correct_index else f"Not quite: the answer is **{right.text}**."
    return Reply(f"{verdict}\n\n{card.explanation}", title="Practice result", ephemeral=True)


def practice_reveal(card: QuizCard) -> Reply:
    """The answer to a practice question nobody answered, shown when it is closed early (end of a console session)."""
    right = card.choices[card.correct_index]
    return Reply(f"**{LETTERS[card.correct_index]}. {right.text}**\n\n{card.explanation}",
                 title=fit(f"Practice answer: {card.prompt}", 200), ephemeral=True)


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
