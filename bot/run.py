"""``studybot run``: one process, one library, one database, any number of adapters.

Adapters are started through their registry (``bot.adapters.REGISTRY``), which imports a chat
library only for the adapters a config enables, so the console starts without Discord or Slack code.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.adapters import adapter_runner
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
        tasks = {name: asyncio.create_task(adapter_runner(name)(bot, config), name=f"adapter:{name}")
                 for name in config.bot.adapters}
        timers = asyncio.create_task(bot.run_timers())
        try:
            await _supervise(tasks)
        finally:
            for task in [*tasks.values(), timers]:
                task.cancel()
            await asyncio.gather(*tasks.values(), timers, return_exceptions=True)
    finally:
        await store.close()


async def _supervise(tasks: dict[str, asyncio.Task[None]]) -> None:
    """Waits until the console ends, or every adapter ends; an adapter's failure is raised, never dropped.

    A Discord or Slack adapter that fails beside the console must stop the process with its error,
    not leave a console running while the team's channel stays silent.
    """
    running = set(tasks.values())
    while running:
        done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # re-raises the adapter's failure
        if "console" in tasks and tasks["console"].done():
            return


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
