"""``studybot run``: one process, one library, one database, any number of adapters.

Chat libraries are imported only for the adapters a config enables, so the console starts
without touching Discord or Slack code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from bot.config import Config
from bot.core.app import StudyBot
from bot.kb.library import load_library
from bot.store.sqlite import SqliteStore

log = logging.getLogger(__name__)
DB_FILE = "studybot.sqlite3"


async def run(config: Config, data_dir: Path) -> None:
    """Runs the enabled adapters until the console ends (or forever, for chat platforms)."""
    library = load_library(config.deck_paths, include_builtin=config.builtin_decks)
    store = await SqliteStore.open(data_dir / DB_FILE)
    bot = StudyBot(library, store, config)
    try:
        await bot.start()
        adapters = [_adapter(name, bot, config) for name in config.bot.adapters]
        timers = asyncio.create_task(bot.run_timers())
        try:
            if "console" in config.bot.adapters:
                # The console decides when the process ends (end of input or /quit).
                others = [asyncio.create_task(a) for a, name in zip(adapters, config.bot.adapters) if name != "console"]
                await adapters[config.bot.adapters.index("console")]
                for task in others:
                    task.cancel()
            else:
                await asyncio.gather(*adapters)
        finally:
            timers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timers
    finally:
        await store.close()


def _adapter(name: str, bot: StudyBot, config: Config):  # type: ignore[no-untyped-def]
    if name == "console":
        from bot.adapters.console import ConsoleAdapter

        return ConsoleAdapter(bot).run()
    if name == "discord":
        from bot.adapters.discord import run_discord

        return run_discord(bot, config)
    from bot.adapters.slack import run_slack

    return run_slack(bot, config)


async def upgrade_database(data_dir: Path) -> Path:
    """Creates or migrates the database file; returns its path."""
    path = data_dir / DB_FILE
    store = await SqliteStore.open(path)
    await store.close()
    return path


async def show_gaps(data_dir: Path, limit: int) -> list[tuple[str, int, str]]:
    """The most asked questions that got no confident answer."""
    store = await SqliteStore.open(data_dir / DB_FILE)
    try:
        return [(query, times, last.isoformat(timespec="minutes")) for query, times, last in await store.gaps(limit)]
    finally:
        await store.close()
