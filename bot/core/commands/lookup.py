"""Looking things up: ``ask``, the answer card, and the buttons on it (related entries, practice)."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.core import buttons
from bot.core.buttons import EntryPress
from bot.core.catalog import Args
from bot.core.events import ButtonEvent, CommandEvent
from bot.core.replies import LABEL_LIMIT, Button, Reply, fit, neutralize
from bot.core.rounds import question_reply
from bot.kb.model import Entry
from bot.store.base import Learner

if TYPE_CHECKING:
    from bot.core.app import StudyBot

MAX_QUERY = 300


def check_question(text: str) -> str | None:
    """Why ``text`` cannot be looked up, or None."""
    if not text.strip():
        return "Ask me something, e.g. `ask what is dropout`."
    if len(text) > MAX_QUERY:
        return f"That question is {len(text)} characters long; please keep it under {MAX_QUERY}."
    if _has_control(text):
        return "Your question contains control characters; please type it as plain text."
    return None


def _has_control(text: str) -> bool:
    """Whether ``text`` holds a control character other than tab and newline.

    Unicode category Cc, so C1 controls (U+0080-U+009F, e.g. the 8-bit CSI that starts terminal
    escape sequences) are refused like C0 ones and DEL.
    """
    return any(unicodedata.category(ch) == "Cc" and ch not in "\t\n" for ch in text)


async def ask(bot: StudyBot, event: CommandEvent, args: Args) -> list[Reply]:
    """The answer card when the decks answer confidently; otherwise suggestions, and the gap is noted."""
    query = args.text("query") or ""
    result = bot.library.search(query, top=3)
    bot.metrics.lookups.inc("answered" if result.answered and result.best else "declined")
    if result.answered and result.best:
        return [answer_card(bot, result.best.entry)]
    await bot.store.record_gap(query, bot.clock.now())
    shown = neutralize(query)
    # Text platforms read text starting with no command's name as a question: `quizz keras` is one.
    meant = bot.catalog.resembling(query.split(maxsplit=1)[0]) if query.split() else None
    hint = f" Did you mean the command `{meant}`?" if meant else ""
    if not result.matches:
        return [Reply(f"I have no confident answer for \"{shown}\" and nothing close in the decks.{hint} "
                      "Try other words, or `topics` to see what I cover.", ephemeral=True)]
    suggested = tuple(Button(buttons.ask_id(f"{m.entry.deck}/{m.entry.id}"), fit(m.entry.question, LABEL_LIMIT))
                      for m in result.matches)
    lines = "\n".join(f"{i}. {m.entry.question}" for i, m in enumerate(result.matches, 1))
    offer = f"{hint} Or one of these:" if meant else " Did you mean:"
    return [Reply(f"I have no confident answer for \"{shown}\".{offer}\n{lines}",
                  buttons=suggested, ephemeral=True)]


def answer_card(bot: StudyBot, entry: Entry) -> Reply:
    """The card for one entry: question, answer, topic, related entries and a practice button."""
    related = [r for r in (bot.library.entry(f"{entry.deck}/{rid}") for rid in entry.related[:3]) if r]
    shown = [Button(buttons.ask_id(f"{r.deck}/{r.id}"), fit(r.question, LABEL_LIMIT)) for r in related]
    if entry.quiz:
        shown.append(Button(buttons.practice_id(f"{entry.deck}/{entry.id}"), "Quiz me on this", style="primary"))
    return Reply(entry.answer, title=entry.question, footer=f"{bot.library.topic_name(entry)} · {entry.deck}",
                 buttons=tuple(shown))


async def press_entry(bot: StudyBot, event: ButtonEvent, press: EntryPress) -> list[Reply]:
    """A related entry's card (private: a picked suggestion), or a private practice question."""
    entry = bot.library.entry(press.entry_key)
    if entry is None:
        return [Reply("That entry is no longer in the decks.", ephemeral=True)]
    if press.kind == "ask":
        return [replace(answer_card(bot, entry), ephemeral=True)]
    card = bot.quiz.rng.choice(entry.quiz)
    # Quizzing yourself on an entry puts its cards in your reviews.
    await bot.reviews.add(Learner(event.user.platform, event.user.workspace, event.user.user_id),
                          [c.id for c in entry.quiz])
    record = await bot.quiz.open_round(event.channel, "practice", card, bot.config.quiz.max_seconds,
                                       owner=event.user.user_id)
    if record is None:
        return [Reply("Could not start a practice question right now.", ephemeral=True)]
    return [question_reply(card, record, bot.library.topic_name(card))]
