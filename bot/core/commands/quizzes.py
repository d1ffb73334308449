"""``quiz``: a round of questions in the channel (the rounds themselves live in bot.core.rounds)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.catalog import Args
from bot.core.events import CommandEvent
from bot.core.replies import Reply

if TYPE_CHECKING:
    from bot.core.app import StudyBot


async def quiz(bot: StudyBot, event: CommandEvent, args: Args) -> list[Reply]:
    """Opens the first question; the next ones follow as each closes."""
    topic, questions, seconds = args.text("topic"), args.number("questions"), args.number("seconds")
    card = bot.quiz.pick_card(topic)
    if card is None:
        await bot.cooldowns.release(event)
        return [Reply("There are no quiz cards for that topic yet. See `topics` for the ones that have cards.",
                      ephemeral=True)]
    record = await bot._start_round(event.channel, card, seconds, questions - 1, topic)
    if record is None:
        await bot.cooldowns.release(event)
        return [Reply("A quiz is already running in this channel; answer that one first!", ephemeral=True)]
    refused = await bot._post_question_now(record)  # so a refusal (bot not in the channel) reaches the asker
    if refused is not None:
        await bot.cooldowns.release(event)
        return [Reply(refused, ephemeral=True)]
    plural = f"{questions} questions" if questions > 1 else "1 question"
    return [Reply(f"Quiz started: {plural}, {seconds} s each. Good luck!", ephemeral=True)]
