"""The core's Discord outbox: round questions, reveals and daily challenges posted into channels.

Channels are addressed by id through partial messageables, so posting works without the
channel cache (right after a restart, for a channel on another shard, with minimal intents).

Failures are reported to the core's delivery worker as its typed exceptions. discord.py
already waits out a 429 and retries 500/502/504 a few times; what it still raises is sorted
here: a rate limit, any 5xx (503 included) or a network failure is :class:`DeliveryDeferred`;
403 (missing access or permission), 404 (channel or message gone) and other 4xx answers are
:class:`DeliveryRefused`, because Discord would answer the same request the same way.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import discord

from bot.adapters.discord.render import render, render_one
from bot.adapters.discord.views import view_for
from bot.chat import direct_user
from bot.core.events import Channel
from bot.core.outbox import DeliveryDeferred, DeliveryRefused
from bot.core.replies import Capabilities, Reply

log = logging.getLogger(__name__)
NO_MENTIONS = discord.AllowedMentions.none()


def delivery_failure(exc: BaseException) -> DeliveryDeferred | DeliveryRefused | None:
    """The core's verdict on a failed REST call; None for an exception that is not one (a bug)."""
    if isinstance(exc, discord.RateLimited):
        return DeliveryDeferred("rate limited", exc.retry_after)
    if isinstance(exc, discord.HTTPException):
        what = f"HTTP {exc.status} {exc.text or ''}".strip()
        if exc.status == 429:  # what discord.py gives up on, e.g. Cloudflare's 429 without Via
            retry_after = exc.response.headers.get("Retry-After") if exc.response is not None else None
            return DeliveryDeferred(what, float(retry_after) if retry_after and retry_after.isdigit() else None)
        if exc.status >= 500:
            return DeliveryDeferred(what)
        return DeliveryRefused(what)
    if isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        return DeliveryDeferred(f"{type(exc).__name__}: {exc}")
    return None


class DiscordOutbox:
    """Posts and edits messages the core sends on its own (the core's ``Outbox``)."""

    capabilities = Capabilities(edits=True)

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    def _target(self, channel: Channel) -> discord.PartialMessageable:
        # The same REST call a cached channel would make, without needing the cache.
        guild_id = int(channel.workspace) if channel.workspace.isdigit() else None
        return self.client.get_partial_messageable(int(channel.channel_id), guild_id=guild_id)

    async def _destination(self, channel: Channel) -> discord.abc.Messageable:
        """Where a post goes: the channel, or for a direct channel (a review reminder) the user's DM channel."""
        user_id = direct_user(channel)
        if user_id is None:
            return self._target(channel)
        return await self.client.create_dm(discord.Object(int(user_id)))

    async def post(self, channel: Channel, reply: Reply) -> str | None:
        """Sends ``reply`` (over several messages if long); returns the id of the one holding its buttons.

        A channel cannot whisper, so a private reply is posted publicly (the core words such
        replies so that this is harmless). A long reply that fails after its first message is
        sent whole again on retry (its first part twice): delivery is at least once.

        Raises:
            DeliveryDeferred: try again later. DeliveryRefused: Discord will not take it.
        """
        message_id: str | None = None
        try:
            target = await self._destination(channel)
            for message in render(reply):
                view = view_for(message.buttons)
                try:
                    if view is None:
                        sent = await target.send(embeds=list(message.embeds), allowed_mentions=NO_MENTIONS)
                    else:
                        sent = await target.send(embeds=list(message.embeds), view=view, allowed_mentions=NO_MENTIONS)
                finally:
                    if view is not None:
                        view.stop()  # presses reach the dynamic items by custom id; nothing to keep
                message_id = str(sent.id)
        except Exception as exc:
            failure = delivery_failure(exc)
            if failure is None:
                raise
            raise failure from exc
        return message_id

    async def edit(self, channel: Channel, message_id: str, reply: Reply) -> None:
        """Replaces an earlier message (e.g. a closed question loses its buttons).

        Raises:
            DeliveryDeferred: try again later. DeliveryRefused: Discord will not (e.g. the message was deleted).
        """
        message = render_one(reply)
        view = view_for(message.buttons)
        partial = self._target(channel).get_partial_message(int(message_id))
        try:
            await partial.edit(embeds=list(message.embeds), view=view, allowed_mentions=NO_MENTIONS)
        except Exception as exc:
            failure = delivery_failure(exc)
            if failure is None:
                raise
            raise failure from exc
        finally:
            if view is not None:
                view.stop()
