"""``quiz``: a game of questions in the channel, and steering it (the rounds live in bot.core.rounds,
games in bot.core.games)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core import games
from bot.core.catalog import Args
from bot.core.events import CommandEvent
from bot.core.replies import Reply, plural

if TYPE_CHECKING:
    from bot.core.app import StudyBot


async def quiz(bot: StudyBot, event: CommandEvent, args: Args) -> list[Reply]:
    """Opens the first question; the next ones follow as each closes. ``stop``/``skip`` steer a running game."""
    control = args.text("control")
    if control == "stop":
        return await games.stop(bot, event)
    if control == "skip":
        return await games.skip(bot, event)
    topic, questions, seconds = args.text("topic"), args.number("questions"), args.number("seconds")
    target = args.number("to") or None
    if target is not None and "questions" not in event.options:
        questions = bot.config.quiz.max_questions  # a race to a score runs until someone gets there
    typed = args.text("mode") == "typed"
    hints = bot.config.quiz.hints and args.text("hints") != "nohints"
    card = bot.quiz.pick_card(topic, typed=typed)
    if card is None:
        await bot.cooldowns.release(event)
        if typed:
            return [Reply("No card on that topic can be answered by typing yet (a card needs `answers` in its "
                          "deck). Play it with buttons: `quiz` without `typed`; or try `quiz typed` on every "
                          "topic.", ephemeral=True)]
        return [Reply("There are no quiz cards for that topic yet. See `topics` for the ones that have cards.",
                      ephemeral=True)]
    record = await games.start_game(bot, event, card, seconds, questions, topic, target, typed, hints)
    if record is None:
        await bot.cooldowns.release(event)
        return [Reply("A quiz is already running in this channel; answer that one first, or ask whoever started "
                      "it to `quiz stop` it.", ephemeral=True)]
    refused = await bot._post_question_now(record)  # so a refusal (bot not in the channel) reaches the asker
    if refused is not None:
        await bot.cooldowns.release(event)
        return [Reply(refused, ephemeral=True)]
    parts = [f"{plural(questions, 'question')}, {seconds} s each"]
    if target is not None:
        parts.append(f"first to {target} points wins")
    if typed:
        parts.append("type your answers")
    return [Reply(f"Quiz started: {', '.join(parts)}. Good luck!", ephemeral=True)]
