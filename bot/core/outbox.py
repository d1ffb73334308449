"""How the core speaks first (round questions, reveals, daily posts): each adapter provides an Outbox.

The core never calls an Outbox while it changes state: it writes the message to the store's
outbox in the same transaction, and :mod:`bot.core.delivery` calls the Outbox later, retrying
as the adapter's typed exceptions say. An adapter therefore reports every failure as one of
the two exceptions below (never as text or a return value); anything else counts as a
transient failure of unknown cause, retried a bounded number of times.
"""

from __future__ import annotations

from typing import Protocol

from bot.core.events import Channel
from bot.core.replies import Capabilities, Reply


class DeliveryDeferred(Exception):
    """The platform cannot take the message now but may later (rate limit, 5xx, network down).

    Args:
        reason: what went wrong, for the log (e.g. "HTTP 429", "ratelimited", "connection reset").
        retry_after: seconds the platform asked us to wait (Retry-After), if it said.
    """

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class DeliveryRefused(Exception):
    """The platform will never take this message (channel gone, bot removed, message deleted,
    missing permission); retrying cannot help.

    Args:
        reason: the platform's reason, for the log (e.g. "not_in_channel", "HTTP 403 Missing Access").
        advice: what a person could do about it, worded for them, if the adapter knows (e.g. how to
            invite the bot); shown to whoever started the quiz whose question was refused.
    """

    def __init__(self, reason: str, advice: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.advice = advice


class Outbox(Protocol):
    """Posting into a platform's channels, for messages that are not replies to a command."""

    capabilities: Capabilities

    async def post(self, channel: Channel, reply: Reply) -> str | None:
        """Posts ``reply``; returns the platform's message id (for later edits), if it has one.

        Raises:
            DeliveryDeferred: try again later. DeliveryRefused: never try again.
        """
        ...

    async def edit(self, channel: Channel, message_id: str, reply: Reply) -> None:
        """Replaces an earlier message.

        Raises:
            DeliveryDeferred: try again later. DeliveryRefused: never try again (e.g. message deleted).
        """
        ...
