"""The core's Discord outbox: round questions, reveals and daily challenges posted into channels.

Channels are addressed by id through partial messageables, so posting works without the
channel cache (right after a restart, for a channel on another shard, with minimal intents).
"""

from __future__ import annotations

import logging

import discord

from bot.adapters.discord.render import render, render_one
from bot.adapters.discord.views import view_for
from bot.core.events import Channel
from bot.core.replies import Capabilities, Reply

log = logging.getLogger(__name__)
NO_MENTIONS = discord.AllowedMentions.none()


class DiscordOutbox:
    """Posts and edits messages the core sends on its own (the core's ``Outbox``)."""

    capabilities = Capabilities(edits=True)

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    def _target(self, channel: Channel) -> discord.PartialMessageable:
        # The same REST call a cached channel would make, without needing the cache.
        guild_id = int(channel.workspace) if channel.workspace.isdigit() else None
        return self.client.get_partial_messageable(int(channel.channel_id), guild_id=guild_id)

    async def post(self, channel: Channel, reply: Reply) -> str | None:
        """Sends ``reply`` (over several messages if long); returns the id of the one holding its buttons.

        A channel cannot whisper, so a private reply is posted publicly (the core words such
        replies so that this is harmless). Failures propagate: the core logs them with context.
        """
        target = self._target(channel)
        message_id: str | None = None
        for message in render(reply):
            view = view_for(message.buttons)
            if view is None:
                sent = await target.send(embeds=list(message.embeds), allowed_mentions=NO_MENTIONS)
            else:
                sent = await target.send(embeds=list(message.embeds), view=view, allowed_mentions=NO_MENTIONS)
            if view is not None:
                view.stop()  # presses reach the dynamic items by custom id; nothing to keep
            message_id = str(sent.id)
        return message_id

    async def edit(self, channel: Channel, message_id: str, reply: Reply) -> bool:
        """Replaces an earlier message (e.g. a closed question loses its buttons); False if Discord refused."""
        message = render_one(reply)
        view = view_for(message.buttons)
        partial = self._target(channel).get_partial_message(int(message_id))
        try:
            await partial.edit(embeds=list(message.embeds), view=view, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning("could not edit message %s in channel %s: %s", message_id, channel.channel_id, exc)
            return False
        finally:
            if view is not None:
                view.stop()
        return True
