"""The core's Slack outbox: round questions, reveals and daily challenges posted with the Web API.

A message's id is its ``ts``, which is what ``chat.update`` needs to close a round's question
later. A post into a channel the bot is not a member of fails with ``not_in_channel``; that
failure is raised as the core's :class:`PostRefused`, whose message tells the person who
started the round to invite the bot, instead of a generic apology.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.blocks import render
from bot.core.events import Channel
from bot.core.outbox import PostRefused
from bot.core.replies import Capabilities, Reply

log = logging.getLogger(__name__)

# Error codes of the Web API that mean "invite the bot to this conversation first".
NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
INVITE_ME = ("I can't post in this conversation because I'm not a member of it. Invite me with "
             "`/invite @StudyBot` and try again. (In a direct message, use me in a channel instead.)")


class SlackOutbox:
    """Posts and edits messages the core sends on its own (the core's ``Outbox``)."""

    capabilities = Capabilities(edits=True)

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post(self, channel: Channel, reply: Reply) -> str | None:
        """Posts ``reply`` with ``chat.postMessage``; returns its ``ts``, the id ``chat.update`` needs.

        A channel message cannot whisper, so a private reply is posted publicly (the core words
        such replies so that this is harmless). Failures propagate: the core logs them.

        Raises:
            PostRefused: the bot is not a member of the channel (the message says to invite it).
            SlackApiError: any other refusal.
        """
        message = render(reply)
        try:
            response = await self.client.chat_postMessage(channel=channel.channel_id, text=message.text,
                                                          blocks=message.blocks, unfurl_links=False,
                                                          unfurl_media=False)
        except SlackApiError as exc:
            code = str(exc.response.get("error", "unknown_error"))
            log.warning("Slack refused a post to channel %s: %s", channel.channel_id, code)
            if code in NOT_A_MEMBER:
                raise PostRefused(INVITE_ME) from exc
            raise
        ts = response.get("ts")
        return str(ts) if ts else None

    async def edit(self, channel: Channel, message_id: str, reply: Reply) -> bool:
        """Replaces an earlier message (a closed question loses its buttons); False if Slack refused."""
        message = render(reply)
        try:
            await self.client.chat_update(channel=channel.channel_id, ts=message_id, text=message.text,
                                          blocks=message.blocks)
        except SlackApiError as exc:
            log.warning("could not update message %s in channel %s: %s", message_id, channel.channel_id,
                        exc.response.get("error"))
            return False
        return True
