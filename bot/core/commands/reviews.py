"""``review``: a private session of the caller's due cards, ``review flashcards``, ``review add``,
``review remind``.

The scheduling and the card messages live in :mod:`bot.core.reviews`; reminders firing in
:mod:`bot.core.reminders`. Every reply here is private.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot.chat import User
from bot.core.buttons import ReviewPress, review_id
from bot.core.catalog import Args
from bot.core.commands.boards import zone_of
from bot.core.events import ButtonEvent, CommandEvent
from bot.core.names import resolve_scopes, scope_of
from bot.core.replies import Button, Reply, neutralize, plural
from bot.core.reviews import RATINGS, flash_action, learner_of, unflash, until
from bot.core.schedule import ScheduleInputError, parse_local_time, parse_zone
from bot.core.standings import topic_accuracy
from bot.store.base import Learner

if TYPE_CHECKING:
    from bot.core.app import StudyBot

REMIND_EXAMPLE = "review remind 08:30 Europe/Berlin"
_WEEK = timedelta(days=7)


def _learner(user: User) -> Learner:
    return learner_of(user.platform, user.workspace, user.user_id)


async def start(bot: StudyBot, event: CommandEvent, args: Args) -> list[Reply]:
    """The first due card (or new cards to start with)."""
    return await next_card(bot, event.user)


async def flashcards(bot: StudyBot, event: CommandEvent, args: Args) -> list[Reply]:
    """The same session, every card as question → "Show answer" → rating (quiz cards without their choices)."""
    return await next_card(bot, event.user, flash=True)


async def next_card(bot: StudyBot, user: User, lead: Reply | None = None, flash: bool = False) -> list[Reply]:
    """``lead`` (what the last press did), then the next card (a flashcard with ``flash``), or why there is none."""
    learner, now, limits = _learner(user), bot.clock.now(), bot.config.review
    reviews_done, new_done = await bot.reviews.done_today(learner, await zone_of(bot, user))
    gone: set[str] = set()  # cards no longer in any deck (a reload removed them) wait, with their history
    while True:
        card = await bot.store.next_review(learner, now, reviews_done < limits.reviews_per_day,
                                           new_done < limits.new_per_day, gone)
        if card is None or bot.library.card(card.card_id) or bot.library.entry(card.card_id) or len(gone) >= 50:
            break
        gone.add(card.card_id)
    replies = [lead] if lead is not None else []
    if card is None:
        return replies + [await _nothing_due(bot, user, reviews_done, new_done, flash)]
    due_now, = await bot.store.review_due_counts(learner, [now])
    return replies + [bot.reviews.card_reply(card, f"{due_now} due", flash)]


async def _nothing_due(bot: StudyBot, user: User, reviews_done: int, new_done: int, flash: bool) -> Reply:
    limits, learner = bot.config.review, _learner(user)
    now = bot.clock.now()
    due_now, due_week = await bot.store.review_due_counts(learner, [now, now + _WEEK])
    if due_now and reviews_done >= limits.reviews_per_day:
        return Reply(f"That was today's {plural(limits.reviews_per_day, 'review')}. {due_now} more are due; "
                     "they wait for tomorrow.", title="Review: done for today", ephemeral=True)
    text = "Nothing is due right now." + (f" {plural(due_week, 'card')} come due within a week." if due_week else "")
    if new_done >= limits.new_per_day:
        return Reply(f"{text} You started today's {plural(limits.new_per_day, 'new card')}; more tomorrow.",
                     title="Review: all done", ephemeral=True)
    offers = await _weakest_scopes(bot, user)
    if not offers:
        return Reply(f"{text} You have every card in your reviews already.", title="Review: all done",
                     ephemeral=True)
    offer = min(limits.new_offer, limits.new_per_day - new_done)
    add = flash_action("add") if flash else "add"  # the new cards come up as flashcards in a flashcard session
    buttons = tuple(Button(review_id(add, 0, scope), f"Learn {offer} new: {scope}", style="primary")
                    for scope in offers)
    return Reply(f"{text} Start a few new cards from your weakest topics?", title="Review: all done",
                 buttons=buttons, ephemeral=True)


async def _weakest_scopes(bot: StudyBot, user: User, count: int = 3) -> list[str]:
    """Up to ``count`` topic scopes with cards the person has not started, weakest first
    (by their answers; topics they never answered after those, in deck order)."""
    answers = await bot.store.user_answers(user.platform, user.workspace, user.user_id)
    scopes: dict[str, None] = {}
    pairs = []
    for card_id, _, correct, _ in answers:
        card = bot.library.card(card_id)
        if card is not None:
            pairs.append((scope_of(bot.library, card.deck, card.topic), correct))
    for row in topic_accuracy(pairs):
        scopes[row.topic] = None
    for deck in bot.library.decks:
        for slug in deck.topics:
            scopes.setdefault(scope_of(bot.library, deck.name, slug), None)
    chosen = []
    for scope in scopes:
        if await _unstarted(bot, _learner(user), scope, 1):
            chosen.append(scope)
        if len(chosen) == count:
            break
    return chosen


async def _unstarted(bot: StudyBot, learner: Learner, scope: str, limit: int) -> list[str]:
    """Up to ``limit`` card ids of ``scope`` the person does not have yet, in deck order."""
    cards = sorted(bot.library.topic_cards(scope))
    have = await bot.store.review_cards(learner, cards)
    return [c for c in cards if c not in have][:limit]


async def add(bot: StudyBot, event: CommandEvent, args: Args) -> list[Reply]:
    """Adds a topic's (or deck's) cards, or one entry's, as new cards."""
    text = args.text("what") or ""
    scopes = resolve_scopes(bot.library, text)
    entry = bot.library.entry(text.strip())
    if len(scopes) > 1:
        return [Reply(f"`{neutralize(text)}` could mean {', '.join(f'`{s}`' for s in scopes[:6])}. "
                      "Name one, e.g. `review add " + scopes[0] + "`.", ephemeral=True)]
    if scopes:
        cards, what = sorted(bot.library.topic_cards(scopes[0])), f"`{scopes[0]}`"
    elif entry is not None:
        cards = [c.id for c in entry.quiz] or [f"{entry.deck}/{entry.id}"]  # no quiz cards: a flashcard
        what = f"“{neutralize(entry.question)}”"
    else:
        return [Reply(f"I know no topic, deck or entry called `{neutralize(text)}`. See `topics` for the names, "
                      "e.g. `review add keras`.", ephemeral=True)]
    added = await bot.reviews.add(_learner(event.user), cards)
    if not added:
        return [Reply(f"You already have every card of {what} in your reviews. Start with `review`.",
                      ephemeral=True)]
    return [Reply(f"Added {plural(added, 'new card')} from {what}. They come up in `review` "
                  f"(up to {bot.config.review.new_per_day} new a day).", ephemeral=True)]


async def remind(bot: StudyBot, event: CommandEvent, args: Args) -> list[Reply]:
    """``review remind HH:MM ZONE`` sets a daily private nudge; ``review remind off`` stops it."""
    learner, typed = _learner(event.user), (args.text("time") or "").strip()
    if typed.casefold() == "off":
        done = await bot.store.disable_reminder(learner)
        return [Reply("Review reminders turned off." if done else "You had no review reminder.", ephemeral=True)]
    if not typed:
        reminder = await bot.store.reminder_for(learner)
        if reminder is None:
            return [Reply(f"You have no review reminder. Set one with `{REMIND_EXAMPLE}`.", ephemeral=True)]
        return [Reply(f"I remind you at {reminder.local_time} {reminder.timezone} when cards are due. "
                      "Stop with `review remind off`.", ephemeral=True)]
    try:
        at = parse_local_time(typed)
        zone = parse_zone(args.text("timezone") or (await zone_of(bot, event.user)).key)
    except ScheduleInputError as exc:
        return [Reply(f"{neutralize(str(exc))} Example: `{REMIND_EXAMPLE}`.", ephemeral=True)]
    await bot.store.save_reminder(learner, f"{at:%H:%M}", zone.key, bot.clock.now())
    return [Reply(f"I'll send you a private reminder at {at:%H:%M} {zone.key} on days when cards are due "
                  "(at most once a day). Stop with `review remind off`.", ephemeral=True)]


async def press(bot: StudyBot, event: ButtonEvent, pressed: ReviewPress) -> list[Reply]:
    """A review session's button: a choice, "Flip to flashcard", "Show answer", a rating, new cards, or stop
    (in a flashcard session, prefixed so the next card is a flashcard too)."""
    user, learner = event.user, _learner(event.user)
    action, flash = unflash(pressed.action)
    if action == "stop":
        return [Reply("Review stopped. `review` picks up where you left off.", ephemeral=True)]
    if action == "add":
        cards = await _unstarted(bot, learner, pressed.item, bot.config.review.new_offer)
        added = await bot.reviews.add(learner, cards)
        return await next_card(bot, user, Reply(f"Added {plural(added, 'new card')} from `{pressed.item}`.",
                                                ephemeral=True), flash)
    stored = (await bot.store.review_cards(learner, [pressed.item])).get(pressed.item)
    if stored is None or stored.version != pressed.version:
        return await next_card(bot, user, Reply("You already rated that card; here is the next one.",
                                                ephemeral=True), flash)
    if action == "front":
        return [bot.reviews.card_reply(stored, flash=True)]
    if action == "show":
        return [bot.reviews.back_reply(stored, None, flash)]
    if action.startswith("pick") and action[4:].isdigit():
        return [bot.reviews.back_reply(stored, int(action[4:]))]
    rating = int(action[4:]) if action[4:].isdigit() else 0
    if not action.startswith("rate") or rating not in RATINGS:
        return [Reply("That button is not one of mine.", ephemeral=True)]
    now = bot.clock.now()
    rated = bot.reviews.rate(learner, stored.card_id, stored, rating, now, "review")
    async with bot.store.unit() as unit:
        saved = await unit.save_review(rated.card, rated.entry)
    if not saved:
        return await next_card(bot, user, Reply("You already rated that card; here is the next one.",
                                                ephemeral=True), flash)
    zone = await zone_of(bot, user)
    when = rated.card.due.astimezone(zone)
    lead = Reply(f"{RATINGS[rating]}. Next review of this card in {until(rated.card.due, now)} "
                 f"({when:%a %d %b %H:%M} {zone.key}).", ephemeral=True)
    return await next_card(bot, user, lead, flash)

