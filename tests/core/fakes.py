"""An in-memory adapter for core tests (errbot's test backend idea): records what the core posts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.config import Config
from bot.core.app import StudyBot
from bot.core.events import ButtonEvent, Channel, CommandEvent, User
from bot.core.parsing import parse_command
from bot.core.replies import Capabilities, Reply
from bot.kb.library import Library, load_library
from bot.store.sqlite import SqliteStore
from tests.clock import FakeClock

_LIBRARY: Library | None = None
OPEN_STORES: list[SqliteStore] = []  # closed after each test by tests/conftest.py


def library() -> Library:
    """The built-in decks, loaded once per test session."""
    global _LIBRARY
    if _LIBRARY is None:
        _LIBRARY = load_library()
    return _LIBRARY


class RecordingOutbox:
    """Keeps every post and edit, with sequential message ids."""

    def __init__(self, capabilities: Capabilities | None = None) -> None:
        self.capabilities = capabilities or Capabilities()
        self.posts: list[tuple[Channel, Reply, str]] = []
        self.edits: list[tuple[Channel, str, Reply]] = []

    async def post(self, channel: Channel, reply: Reply) -> str | None:
        message_id = f"m{len(self.posts) + 1}"
        self.posts.append((channel, reply, message_id))
        return message_id

    async def edit(self, channel: Channel, message_id: str, reply: Reply) -> bool:
        self.edits.append((channel, message_id, reply))
        return True


CHANNEL = Channel("test", "w1", "c1")


def user(name: str, admin: bool = False) -> User:
    return User("test", "w1", f"u-{name}", name.title(), is_admin=admin)


def command(text: str, who: User | None = None, channel: Channel = CHANNEL) -> CommandEvent:
    name, options = parse_command(text)
    return CommandEvent(who or user("alice"), channel, name, options)


def press(button_id: str, who: User, channel: Channel = CHANNEL) -> ButtonEvent:
    return ButtonEvent(who, channel, button_id)


async def make_bot(path: Path | str = ":memory:", clock: FakeClock | None = None, config: Config | None = None,
                   seed: int = 1) -> tuple[StudyBot, RecordingOutbox, FakeClock]:
    import random

    clock = clock or FakeClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    store = await SqliteStore.open(path)
    OPEN_STORES.append(store)
    bot = StudyBot(library(), store, config or Config(), clock=clock, rng=random.Random(seed))
    outbox = RecordingOutbox()
    bot.attach("test", outbox)
    await bot.start()
    return bot, outbox, clock
