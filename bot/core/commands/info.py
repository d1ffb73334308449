"""What the bot knows and can do: ``help`` and ``topics``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.catalog import Args
from bot.core.events import CommandEvent
from bot.core.names import scope_of
from bot.core.replies import Reply, plural

if TYPE_CHECKING:
    from bot.core.app import StudyBot


async def help_text(bot: StudyBot, event: CommandEvent, args: Args) -> list[Reply]:
    """Every command with a working example, from the catalog."""
    return [Reply("\n".join(bot.catalog.help_lines()), title="StudyBot commands", ephemeral=True)]


async def topics(bot: StudyBot, event: CommandEvent, args: Args) -> list[Reply]:
    """Each deck and its topics, with the names ``quiz`` and ``leaderboard`` accept, and their counts."""
    lines = []
    for deck in bot.library.decks:
        lines.append(f"**{deck.title}** (`{deck.name}`): {plural(len(deck.entries), 'entry')}, "
                     f"{plural(len(deck.cards), 'card')}")
        for slug, name in deck.topics.items():
            entries = [e for e in deck.entries if e.topic == slug]
            cards = sum(len(e.quiz) for e in entries)
            lines.append(f"  `{scope_of(bot.library, deck.name, slug)}` — {name}: {plural(len(entries), 'entry')}, "
                         f"{plural(cards, 'card')}")
    return [Reply("\n".join(lines), title="Topics", ephemeral=True)]
