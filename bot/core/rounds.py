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

from bot.config import QuizSection
from bot.core.buttons import answer_id, hint_id, type_id, typed_answer_id
from bot.core.events import ButtonEvent, Channel, TextSubmitEvent
from bot.core.hints import HINT_LEVELS, fifty_fifty, letters_hint
from bot.core.replies import LABEL_LIMIT, Button, Field, Reply, TextInput, fit, neutralize, reply_to_json
from bot.core.shelf import Shelf
from bot.kb.answer_match import accepted_answers, judge
from bot.kb.library import Library
from bot.kb.model import QuizCard
from bot.store.base import AnswerRecord, Outgoing, RoundRecord, Store, StoreUnit

log = logging.getLogger(__name__)
LETTERS = "ABCDE"
# What every accepted press hears, by choice: built once, since a burst of presses would build it a thousand times.
_LOCKED_IN = tuple(Reply(f"Answer {letter} locked in. Results when the round closes.", ephemeral=True)
                   for letter in LETTERS)
# Called in the unit that closes a round, with its answers (spaced repetition feeds on them).
AnswerFeed = Callable[[StoreUnit, RoundRecord, list[AnswerRecord]], Awaitable[None]]


def question_reply(card: QuizCard, record: RoundRecord, topic_name: str, closed: bool = False,
                   zone: ZoneInfo | None = None, hints: bool = False) -> Reply:
    """The round's message: prompt and choice buttons (without buttons once closed).

    A typed round shows no choices, only an "Answer" button that opens a text field; ``hints``
    adds a "Hint" button (typed) or a "50/50" one (choices). A daily question says when it
    closes in ``zone``, its schedule's zone (UTC without one).
    """
    lines = [card.prompt] if record.typed else \
        [card.prompt, ""] + [f"**{LETTERS[i]}.** {c.text}" for i, c in enumerate(card.choices)]
    kind = {"daily": "Daily challenge", "practice": "Practice question"}.get(record.kind, "Quiz")
    how = "type your answer · one answer each" if record.typed else "one answer each"
    if closed:
        footer = f"{topic_name} · closed"
    elif record.kind == "practice":
        footer = f"{topic_name} · just for you: your answer is judged at once"
    elif record.kind == "daily":
        footer = f"{topic_name} · open until {closing_time(record, zone or ZoneInfo('UTC'))} · {how}"
    else:
        footer = f"{topic_name} · {record.seconds} s · {how}"
    buttons: tuple[Button, ...] = ()
    if not closed and record.typed:
        buttons = (Button(type_id(record.id), "Answer", "primary"),)
    elif not closed:
        buttons = tuple(Button(answer_id(record.id, i), fit(f"{LETTERS[i]}. {c.text}", LABEL_LIMIT))
                        for i, c in enumerate(card.choices))
    if not closed and hints and record.kind != "practice":
        buttons += (Button(hint_id(record.id), "Hint" if record.typed else "50/50"),)
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
                 settings: QuizSection) -> None:
        self.shelf = shelf
        self.store = store
        self.now = now
        self.rng = rng
        self.settings = settings
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

    def pick_card(self, topic: str | None, exclude: set[str] = frozenset(),  # type: ignore[assignment]
                  typed: bool = False) -> QuizCard | None:
        """A random card, from one scope (topic or deck, see bot.core.names) if given, avoiding ``exclude``
        while others remain; ``typed``: only cards that list answers to type."""
        scope = self.library.topic_cards(topic) if topic is not None else None
        cards = [c for d in self.library.decks for c in d.cards
                 if (scope is None or c.id in scope) and (c.answers or not typed)]
        fresh = [c for c in cards if c.id not in exclude] or cards
        return self.rng.choice(fresh) if fresh else None

    def new_round(self, channel: Channel, kind: str, card: QuizCard, seconds: int, remaining: int = 0,
                  topic: str | None = None, owner: str | None = None, schedule_id: int | None = None,
                  local_date: date | None = None, game_id: int | None = None, typed: bool = False) -> RoundRecord:
        """A round starting now, not yet stored (its id is 0)."""
        now = self.now()
        return RoundRecord(id=0, channel=channel, kind=kind, card_id=card.id, opened_at=now,
                           closes_at=now + timedelta(seconds=seconds), remaining=remaining, seconds=seconds,
                           topic=topic, owner_id=owner, schedule_id=schedule_id, local_date=local_date,
                           game_id=game_id, typed=typed)

    async def open_round(self, channel: Channel, kind: str, card: QuizCard, seconds: int,
                         owner: str | None = None) -> RoundRecord | None:
        """Stores a round that posts nothing (private practice) and arms it."""
        record = await self.store.open_round(self.new_round(channel, kind, card, seconds, topic=card.topic,
                                                           owner=owner))
        if record is not None:
            self.open[record.id] = record
            self._asked[record.id] = card
        return record

    async def start(self, unit: StoreUnit, record: RoundRecord, zone: ZoneInfo | None = None,
                    hints: bool = False) -> RoundRecord | None:
        """Within ``unit``: stores ``record`` and queues its question. None when the channel already
        has an on-demand quiz running. Call :meth:`arm` once the unit is committed.

        ``zone``: a daily round's schedule zone, in which its question says when it closes;
        ``hints``: its game offers hints.
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
        question = question_reply(card, stored, self.library.topic_name(card), zone=zone, hints=hints)
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
        now = self.now()  # one instant per press: it is when the answer came, and what it is worth then
        if record is None or record.closes_at <= now:
            return Reply("This round has closed. Watch the channel for the results, or start one with `quiz`.",
                         ephemeral=True)
        if record.kind == "practice" and record.owner_id != event.user.user_id:
            return Reply("This practice question belongs to someone else. Try `ask` and then "
                         "\"Quiz me on this\" for your own.", ephemeral=True)
        card = self.card_of(record)
        if card is None or not 0 <= choice < len(card.choices):
            return Reply("That button no longer matches a question I know.", ephemeral=True)
        if record.typed:
            return Reply("This question is answered by typing: press **Answer** and write it.", ephemeral=True)
        correct = choice == card.correct_index
        points, after_hints = self.award(card, record, now) if correct else (0, ())
        who = event.user
        answer = AnswerRecord(round_id, who.user_id, who.display_name, choice, correct, points, now)
        stored = await self.store.record_answer(answer, who.platform, who.workspace, after_hints)
        if not stored:
            return Reply("You already answered this round; your first answer counts.", ephemeral=True)
        if record.kind == "practice":
            async with self.store.unit() as unit:
                if await unit.close_round(round_id, self.now()) and self.feed is not None:
                    await self.feed(unit, record, [answer])
            self.disarm(round_id)
            return practice_result(card, choice)
        return _LOCKED_IN[choice]

    def award(self, card: QuizCard, record: RoundRecord, now: datetime) -> tuple[int, tuple[int, ...]]:
        """The points a right answer given at ``now`` is worth, by difficulty plus the speed bonus; and what
        it is worth after 1, 2, ... hints (each typed hint costs ``hint_cost`` percent, a 50/50 half).

        Computed once, when the answer is taken, and stored with it: later config changes never
        rewrite what was given. Which of them counts is the store's to pick, by the hints it holds
        when it writes the answer (a hint may have been taken through another process).
        """
        if record.kind == "practice":
            return 0, ()
        points = float(self.settings.points_for(card.difficulty))
        if self.settings.speed_bonus:
            total = (record.closes_at - record.opened_at).total_seconds()
            left = (record.closes_at - now).total_seconds()
            points += self.settings.speed_bonus * max(0.0, min(1.0, left / total)) if total > 0 else 0
        if not record.typed:
            return round(points), (round(points / 2),)  # a 50/50
        return round(points), tuple(round(points * max(0, 100 - self.settings.hint_cost * taken) / 100)
                                    for taken in range(1, HINT_LEVELS + 1))

    def ask_typed(self, round_id: int) -> Reply:
        """What pressing a typed round's "Answer" button gets: a text field, or why not."""
        record = self.open.get(round_id)
        if record is None or record.closes_at <= self.now():
            return Reply("This round has closed. Watch the channel for the results, or start one with `quiz`.",
                         ephemeral=True)
        card = self.card_of(record)
        if card is None:
            return Reply("That button no longer matches a question I know.", ephemeral=True)
        return Reply(ephemeral=True, text_input=TextInput(typed_answer_id(round_id), "Your answer",
                                                          placeholder=fit(card.prompt, 100),
                                                          title=fit(f"Answer: {self.library.topic_name(card)}", 45)))

    async def submit_typed(self, event: TextSubmitEvent, round_id: int) -> Reply:
        """Records one typed answer, judged by the matcher. Like a press, the reply never tells
        whether it was right: everyone learns that at the reveal."""
        record = self.open.get(round_id)
        now = self.now()
        if record is None or record.closes_at <= now:
            return Reply("This round closed before your answer arrived. Watch the channel for the results.",
                         ephemeral=True)
        card = self.card_of(record)
        if card is None or not record.typed:
            return Reply("That answer no longer matches a question I know.", ephemeral=True)
        text = event.text.strip()[:200]
        if not text:
            return Reply("That answer was empty; press **Answer** again and type it.", ephemeral=True)
        correct = judge(card, text).accepted
        points, after_hints = self.award(card, record, now) if correct else (0, ())
        stored = await self.store.record_answer(
            AnswerRecord(round_id, event.user.user_id, event.user.display_name,
                         card.correct_index if correct else -1, correct, points, now, text),
            event.user.platform, event.user.workspace, after_hints)
        if not stored:
            return Reply("You already answered this round; your first answer counts.", ephemeral=True)
        return Reply(f"Answer “{neutralize(fit(text, 80))}” locked in. Results when the round closes.",
                     ephemeral=True)

    async def hint(self, event: ButtonEvent, round_id: int, allowed: bool) -> Reply:
        """A private hint for one player: letters then words of a typed answer (each costs part of
        the question's points), or a 50/50 of the choices (half points). ``allowed``: the game offers hints."""
        record = self.open.get(round_id)
        if record is None or record.closes_at <= self.now():
            return Reply("This round has closed; no hints left to give.", ephemeral=True)
        card = self.card_of(record)
        if card is None or record.kind == "practice" or not allowed:
            return Reply("This game has no hints (it was started with `nohints`).", ephemeral=True)
        if any(a.user_id == event.user.user_id for a in await self.store.answers(round_id)):
            return Reply("You already answered this round; a hint would not change it.", ephemeral=True)
        if not record.typed:
            await self.store.take_hint(round_id, event.user.user_id, 1)
            kept = fifty_fifty(card, f"{round_id}:{event.user.user_id}")
            shown = " or ".join(f"**{LETTERS[i]}. {card.choices[i].text}**" for i in kept)
            return Reply(f"50/50: it is {shown}. A right answer now earns half points.", ephemeral=True)
        level = await self.store.take_hint(round_id, event.user.user_id, HINT_LEVELS)
        cost = min(100, self.settings.hint_cost * level)
        more = "" if level >= HINT_LEVELS else " Press **Hint** again for more."
        return Reply(f"Hint {level} of {HINT_LEVELS}: `{letters_hint(accepted_answers(card)[0], level)}`. "
                     f"A right answer now earns {100 - cost}% of the points.{more}", ephemeral=True)

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
        reveal = reveal_reply(card, answers, typed=record.typed)
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


def reveal_reply(card: QuizCard, answers: list[AnswerRecord], typed: bool = False) -> Reply:
    """The public reveal: right choice (and, typed, the accepted answers), why, who got it, points.

    Points are shown per person when they differ (difficulty is the same for all, but speed and
    hints are not)."""
    right = card.choices[card.correct_index]
    winners = [a for a in answers if a.correct]
    if len({a.points for a in winners}) > 1:
        names = ", ".join(f"{neutralize(a.display_name)} (+{a.points})" for a in winners[:20])
    else:
        names = ", ".join(neutralize(a.display_name) for a in winners[:20])
    if len(winners) > 20:
        names += f" and {len(winners) - 20} more"
    each = " each" if len(winners) > 1 else ""
    if not winners:
        who = "Nobody this time."
    elif len({a.points for a in winners}) > 1:
        who = names
    else:
        who = f"{names} (+{winners[0].points}{each})"
    fields: tuple[Field, ...] = (Field("Correct", who, inline=False),
                                 Field("Answers", f"{len(answers)} ({len(winners)} right)"))
    if typed:
        fields += (Field("Accepted answers", ", ".join(f"`{a}`" for a in accepted_answers(card)), inline=False),)
    return Reply(body=f"**{LETTERS[card.correct_index]}. {right.text}**\n\n{card.explanation}",
                 title=fit(f"Answer: {card.prompt}", 200), fields=fields, footer="Leaderboard: `leaderboard today`")
