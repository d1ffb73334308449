"""What the bot knows and can do: ``help``, ``topics`` and ``about``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import __version__
from bot.core.catalog import Args
from bot.core.events import CommandEvent
from bot.core.names import scope_of
from bot.core.replies import Field, Reply, plural

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


async def about(bot: StudyBot, event: CommandEvent, args: Args) -> list[Reply]:
    """Which StudyBot this is, what it serves, and how long it has been up."""
    decks = bot.library.decks
    entries = sum(len(d.entries) for d in decks)
    up = int((bot.clock.now() - bot.started_at).total_seconds())
    days, rest = divmod(up, 86_400)
    uptime = (f"{days} d " if days else "") + f"{rest // 3600} h {rest % 3600 // 60} min"
    fields = (Field("Version", __version__),
              Field("Decks", ", ".join(f"{d.title} (`{d.name}`)" for d in decks) or "none", inline=False),
              Field("Entries", f"{plural(entries, 'entry')}, {plural(sum(len(d.cards) for d in decks), 'card')}"),
              Field("Up for", uptime))
    return [Reply("A study bot for team chat: `ask`, `quiz`, `leaderboard`. Try `help`.", title="About StudyBot",
                  fields=fields, ephemeral=True)]
