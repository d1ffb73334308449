"""The library in service, and replacing it while the bot runs (``deck reload``, SIGHUP).

Every reader (commands, quiz rounds, daily picks, suggestions, adapters) reads the library
through one :class:`Shelf`, so a reload swaps one reference: a reader sees the old library or
the new one, never half of each. The new library is loaded, validated, indexed and compared
with the old one in a worker thread, so the event loop keeps answering meanwhile; when its
decks are broken it is dropped, the old one stays, and every problem is reported.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.replies import plural
from bot.kb.changes import IdChanges, LibraryChanges, compare
from bot.kb.library import Library
from bot.kb.loader import DeckError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReloadOutcome:
    """What one reload did: put new decks in service, refused broken ones, or found another reload running."""

    changes: LibraryChanges | None = None  # set when the new decks are in service
    problems: tuple[str, ...] = ()  # set when the new decks were refused and the old ones kept
    busy: bool = False  # another reload was running; this one did nothing
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for the log."""
        if self.busy:
            return "decks not reloaded: another reload is running"
        if self.changes is None:
            return (f"decks not reloaded: the new decks have {plural(len(self.problems), 'problem')}; "
                    "the old decks stay in service")
        c = self.changes
        return (f"decks reloaded in {self.seconds:.1f} s: {count_line('decks', c.decks)}; "
                f"{count_line('entries', c.entries)}; {count_line('cards', c.cards)}")


def count_line(things: str, changes: IdChanges) -> str:
    """``entries: 1 added, 0 removed, 40 kept (2 edited)``."""
    edited = f" ({changes.edited} edited)" if changes.edited else ""
    return (f"{things}: {len(changes.added)} added, {len(changes.removed)} removed, "
            f"{changes.kept} kept{edited}")


class Shelf:
    """Holds the library in service; :meth:`reload` replaces it whole, or not at all."""

    def __init__(self, library: Library, load: Callable[[], Library]) -> None:
        """``load`` builds a library from the deck files (raising DeckError when they are broken)."""
        self.library = library
        self._load = load
        self._reloading = False

    @property
    def reloading(self) -> bool:
        """Whether a reload is running now."""
        return self._reloading

    async def reload(self) -> ReloadOutcome:
        """Loads the decks again and puts them in service if they are sound; never raises.

        Only one reload runs at a time: a second one asked for meanwhile returns at once with ``busy``.
        """
        if self._reloading:
            return ReloadOutcome(busy=True)
        self._reloading = True
        started = time.monotonic()
        try:
            old = self.library
            try:
                new, changes = await asyncio.to_thread(self._build, old)
            except DeckError as exc:
                return ReloadOutcome(problems=tuple(str(p) for p in exc.problems))
            except Exception as exc:  # a bug or an OS error must not take the running bot down
                log.exception("deck reload failed")
                return ReloadOutcome(problems=(f"the decks could not be loaded: {exc!r} (see the log)",))
            self.library = new
            return ReloadOutcome(changes=changes, seconds=time.monotonic() - started)
        finally:
            self._reloading = False

    def _build(self, old: Library) -> tuple[Library, LibraryChanges]:
        """In a worker thread: the new library with its search index built, and what it changes."""
        new = self._load()
        new.index  # noqa: B018 - built here, so the first lookup after the swap does not build it on the loop
        return new, compare(old, new)
