"""How the core speaks first (round reveals, daily posts): each adapter provides an Outbox."""

from __future__ import annotations

from typing import Protocol

from bot.core.events import Channel
from bot.core.replies import Capabilities, Reply


class PostRefused(Exception):
    """A platform refused a post for a reason the person who asked can fix; the message says how.

    The core answers the command with this message instead of its generic apology.
    """


class Outbox(Protocol):
    """Posting into a platform's channels, for messages that are not replies to a command."""

    capabilities: Capabilities

    async def post(self, channel: Channel, reply: Reply) -> str | None:
        """Posts ``reply``; returns the platform's message id (for later edits), if it has one."""
        ...

    async def edit(self, channel: Channel, message_id: str, reply: Reply) -> bool:
        """Replaces an earlier message; False if the platform could not."""
        ...
