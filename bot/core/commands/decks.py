"""``deck reload``: the decks read again from their files while the bot runs (the reload is bot.core.shelf)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.catalog import Args
from bot.core.events import CommandEvent
from bot.core.replies import Reply, neutralize, plural
from bot.core.shelf import ReloadOutcome
from bot.kb.changes import IdChanges

if TYPE_CHECKING:
    from bot.core.app import StudyBot

SHOWN_IDS = 10  # ids listed per kind; the rest are counted
SHOWN_PROBLEMS = 100  # a reply may take a few messages on Discord; beyond this the host's validator lists them


async def reload(bot: StudyBot, event: CommandEvent, args: Args) -> list[Reply]:
    """Reloads the decks; privately says what changed, or every problem and that the old decks stay."""
    return [reload_reply(await bot.reload_decks())]


async def overview(bot: StudyBot, event: CommandEvent, args: Args) -> list[Reply]:
    """``deck`` typed alone: the decks in service, and how to reload them (anyone may ask; reloading is for admins)."""
    lines = [f"**{deck.title}** (`{deck.name}`): {plural(len(deck.entries), 'entry')}, "
             f"{plural(len(deck.cards), 'card')}" for deck in bot.library.decks] or ["No decks are in service."]
    group = bot.catalog.find("deck")
    assert group is not None and group.subcommands, "the catalog declares `deck` with its subcommands"
    for sub in group.subcommands:
        admins = " (admins)" if sub.admin else ""
        lines.append(f"`deck {sub.name}`{admins}: {sub.description[:1].lower()}{sub.description[1:]}; "
                     f"e.g. `{sub.example}`.")
    lines.append("`topics` lists each deck's topics.")
    return [Reply("\n".join(lines), title="Decks", ephemeral=True)]


def reload_reply(outcome: ReloadOutcome) -> Reply:
    """The admin's private report of one reload."""
    if outcome.busy:
        return Reply("A deck reload is already running; whoever started it gets its result. "
                     "Run `deck reload` again once it is done if the files changed since.", ephemeral=True)
    if outcome.changes is None:
        problems = outcome.problems
        listed = [f"- {neutralize(p)}" for p in problems[:SHOWN_PROBLEMS]]
        if len(problems) > SHOWN_PROBLEMS:
            listed.append(f"- … and {len(problems) - SHOWN_PROBLEMS} more: run `studybot kb validate` on the host "
                          "to see them all.")
        body = (f"The new decks have {plural(len(problems), 'problem')}, so the decks in service stay as they "
                "were. Fix these and run `deck reload` again:\n" + "\n".join(listed))
        return Reply(body, title="Decks not reloaded", ephemeral=True)
    changes = outcome.changes
    if not changes.any:
        body = (f"Nothing changed: {plural(changes.decks.kept, 'deck')}, {plural(changes.entries.kept, 'entry')} "
                f"and {plural(changes.cards.kept, 'card')}, as before.")
        return Reply(body, title="Decks reloaded", ephemeral=True)
    lines = [_line("Decks", changes.decks), _line("Entries", changes.entries), _line("Cards", changes.cards)]
    if changes.cards.removed:
        lines.append("Open rounds keep the question they asked until they close; scores and history of "
                     "removed cards stay in the records.")
    return Reply("\n".join(lines), title="Decks reloaded", ephemeral=True)


def _line(things: str, changes: IdChanges) -> str:
    """``Entries: 1 added (`demo/third`), 1 removed (`demo/second`), 40 kept (2 edited).``"""
    edited = f" ({changes.edited} edited)" if changes.edited else ""
    return (f"**{things}:** {len(changes.added)} added{_ids(changes.added)}, {len(changes.removed)} removed"
            f"{_ids(changes.removed)}, {changes.kept} kept{edited}.")


def _ids(ids: tuple[str, ...]) -> str:
    if not ids:
        return ""
    shown = ", ".join(f"`{i}`" for i in ids[:SHOWN_IDS])
    more = f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else ""
    return f" ({shown}{more})"
