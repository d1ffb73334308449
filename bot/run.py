"""``studybot run``: one process, one library, one database, any number of adapters.

Adapters are started through their registry (``bot.adapters.REGISTRY``), which imports a chat
library only for the adapters a config enables, so the console starts without Discord or Slack code.

SIGHUP reloads the decks from their files (as the admin command ``deck reload`` does) and logs
the outcome; broken decks leave the ones in service, and their problems are logged.

The run ends when the console's input ends, when SIGTERM or SIGINT asks it to stop (exit 0
after a bounded drain), or when an adapter or the timer loop fails (the error is raised, for
the command line to report and exit non-zero). Whatever ends it, the database is closed and
the data folder's lock released, so the process can always exit.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

from bot.adapters import adapter_runner
from bot.config import Config
from bot.core.app import StudyBot
from bot.database import DB_FILE, describe_store, opened_store
from bot.kb.library import Library
from bot.store.base import Learner, ReviewEntry

log = logging.getLogger(__name__)
__all__ = ["DB_FILE", "run", "run_event_loop", "upgrade_database", "show_gaps"]
T = TypeVar("T")
# Collections of the youngest generation after this many new tracked objects (Python's default: 700), and
# of the older ones after 10 of the one below (as the default).
GC_THRESHOLD = (20_000, 10, 10)
# Docker waits 10 s between SIGTERM and SIGKILL (systemd 90 s): at worst 3 + 2 + 4 = 9 s to stop.
ADAPTER_STOP_SECONDS = 3.0
TIMER_STOP_SECONDS = 2.0
DRAIN_SECONDS = 4.0


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, on uvloop where it is installed (Linux and macOS; a dependency there),
    with the cyclic garbage collector run less often.

    A burst of presses is mostly event-loop work (a task, a future and a wake-up per press):
    uvloop's loop did it with about a quarter less CPU in bench.answers_pg. Without uvloop
    (Windows) this is asyncio.run. Each press also allocates a few objects the collector tracks;
    at its default threshold (700) it ran many times per burst of 1,000, scanning the presses
    still waiting each time: GC_THRESHOLD took about 15% off the CPU of a burst.
    """
    gc.set_threshold(*GC_THRESHOLD)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


class StopSignal:
    """SIGTERM and SIGINT, caught on the event loop: they end the run gracefully instead of at once."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.received: str | None = None
        self.event = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        for sig in self.SIGNALS:
            self._loop.add_signal_handler(sig, self._set, sig)

    def _set(self, sig: signal.Signals) -> None:
        if self.received is None:
            self.received = sig.name
        self.event.set()

    def remove(self) -> None:
        for sig in self.SIGNALS:
            self._loop.remove_signal_handler(sig)


class ReloadSignal:
    """SIGHUP, caught on the event loop: the decks are read again and the outcome logged in one record."""

    def __init__(self, bot: StudyBot) -> None:
        self._bot = bot
        self._loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop.add_signal_handler(signal.SIGHUP, self._reload)

    def _reload(self) -> None:
        task = self._loop.create_task(reload_and_log(self._bot, "SIGHUP"), name="deck-reload")
        self._tasks.add(task)  # held until done: the loop keeps only a weak reference to tasks
        task.add_done_callback(self._tasks.discard)

    def remove(self) -> None:
        self._loop.remove_signal_handler(signal.SIGHUP)
        for task in self._tasks:
            task.cancel()


async def reload_and_log(bot: StudyBot, why: str) -> None:
    """Reloads the decks; logs what changed (INFO) or, as a list, why the old decks stay (ERROR)."""
    outcome = await bot.reload_decks()
    if outcome.changes is not None:
        log.info("%s: %s", why, outcome.summary())
    elif outcome.busy:
        log.warning("%s: %s", why, outcome.summary())
    else:
        log.error("%s: %s:%s", why, outcome.summary(), "".join(f"\n  - {p}" for p in outcome.problems))


async def run(config: Config, data_dir: Path, library: Library) -> None:
    """Runs the enabled adapters until the console ends, a signal asks to stop, or something fails.

    ``library`` is the decks the command line already loaded and checked (loaded once per run).

    Raises:
        DataFolderBusy: another StudyBot holds ``data_dir``.
        StoreError: the data folder or database cannot be used.
        ConfigError, StartupError: an adapter could not start.
        TimerFailure: the timer loop kept failing.
    """
    loop = type(asyncio.get_running_loop())
    log.debug("event loop: %s.%s", loop.__module__, loop.__qualname__)
    async with opened_store(config, data_dir) as store:
        await _serve(StudyBot(library, store, config), config)


async def _serve(bot: StudyBot, config: Config) -> None:
    stop = StopSignal()
    reload = ReloadSignal(bot)
    health = None
    tasks: dict[str, asyncio.Task[None]] = {}
    timers: asyncio.Task[None] | None = None
    try:
        if config.bot.metrics_port:
            health = await _start_health(bot, config)
        # A SQLite process holds the data folder's lock, so attempts claimed by any other process were cut
        # off; with PostgreSQL other processes may be mid-attempt, and their claims wait for their lease.
        await bot.start(owns_data_folder=not config.store.postgres)
        tasks = {name: asyncio.create_task(adapter_runner(name)(bot, config), name=f"adapter:{name}")
                 for name in config.bot.adapters}
        timers = asyncio.create_task(bot.run_timers(), name="timers")
        stopped = asyncio.create_task(stop.event.wait(), name="stop-signal")
        try:
            await _supervise(tasks, [timers, stopped])
        finally:
            stopped.cancel()
    finally:
        # Stop taking new events, stop the timers, finish what was already accepted while the
        # connections are still open (pending posts need them), then close the adapters (Discord
        # gateway, Slack socket or HTTP server) by cancelling them.
        started = time.monotonic()
        bot.stop_accepting()
        await _cancel([timers] if timers else [], TIMER_STOP_SECONDS)
        drained = await bot.drain(DRAIN_SECONDS)
        await _cancel(tasks.values(), ADAPTER_STOP_SECONDS)
        if health is not None:
            await health.cleanup()
        stop.remove()
        reload.remove()
        if stop.received:
            log.info("StudyBot stopped on %s: work %s and adapters closed in %.1f s", stop.received,
                     "drained" if drained else "left undrained", time.monotonic() - started)


async def _start_health(bot: StudyBot, config: Config) -> Any:
    from bot.health import start_health_server
    from bot.startup import StartupError

    host, port = config.bot.metrics_host, config.bot.metrics_port
    try:
        return await start_health_server(bot, host, port)
    except OSError as exc:
        raise StartupError(f"cannot listen on {host}:{port} (bot.metrics_host, bot.metrics_port): "
                           f"{exc.strerror or exc}; choose a free port, or 0 to turn the server off") from None


async def _cancel(tasks: Iterable[asyncio.Task[None]], timeout: float) -> None:
    """Cancels ``tasks`` and waits for them to finish their clean-up, at most ``timeout`` seconds."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        _, late = await asyncio.wait(pending, timeout=timeout)
        for task in late:
            log.warning("shutdown: %s did not stop within %g s; leaving it", task.get_name(), timeout)


async def _supervise(tasks: dict[str, asyncio.Task[None]], watch: Iterable[asyncio.Task[Any]] = ()) -> None:
    """Waits until the console ends, every adapter ends, or a ``watch``ed task ends (a stop signal,
    the timer loop); a failure is raised, never dropped.

    A Discord or Slack adapter that fails beside the console must stop the process with its error,
    not leave a console running while the team's channel stays silent; a timer loop that gave up
    must stop it too, for a supervisor to restart it.
    """
    watched = set(watch)
    running = set(tasks.values()) | watched
    while running - watched:
        done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # re-raises the adapter's or the timer's failure
        if done & watched:
            return
        if "console" in tasks and tasks["console"].done():
            return


async def upgrade_database(config: Config, data_dir: Path) -> str:
    """Creates or migrates the configured database (the SQLite file, or the PostgreSQL schema); names it.

    Raises:
        DataFolderBusy: a running StudyBot holds the SQLite folder (it migrated at its start). With
            PostgreSQL, running bots are no obstacle: migrations take an advisory lock.
    """
    async with opened_store(config, data_dir):
        pass
    return describe_store(config, data_dir)


async def show_gaps(config: Config, data_dir: Path, limit: int) -> list[tuple[str, int, str]]:
    """The most asked questions that got no confident answer."""
    from bot.database import open_postgres, open_sqlite

    store = await (open_postgres(config.store.url, config) if config.store.postgres
                   else open_sqlite(data_dir / DB_FILE))
    try:
        return [(query, times, last.isoformat(timespec="minutes")) for query, times, last in await store.gaps(limit)]
    finally:
        await store.close()


async def review_log(config: Config, data_dir: Path, platform: str, workspace: str,
                     user_id: str) -> list[ReviewEntry]:
    """Every rating one person gave, oldest first (for ``studybot review export``)."""
    from bot.database import open_postgres, open_sqlite

    store = await (open_postgres(config.store.url, config) if config.store.postgres
                   else open_sqlite(data_dir / DB_FILE))
    try:
        return await store.review_log(Learner(platform, workspace, user_id))
    finally:
        await store.close()
