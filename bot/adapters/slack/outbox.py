"""The core's Slack outbox: round questions, reveals and daily challenges posted with the Web API.

A message's id is its ``ts``, which is what ``chat.update`` needs to close a round's question
later. Failures are reported to the core's delivery worker as its typed exceptions: a rate
limit (HTTP 429 with Retry-After, or ``ratelimited``), a server error or a network failure is
:class:`DeliveryDeferred` (retried); an error Slack will repeat for the same request (not in
the channel, channel gone, message deleted, token revoked, a malformed message) is
:class:`DeliveryRefused`; when the bot is not a member of the channel, the refusal carries the
advice to invite it, which the core shows to whoever started the quiz.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.blocks import render
from bot.chat import direct_user
from bot.core.events import Channel
from bot.core.outbox import DeliveryDeferred, DeliveryRefused
from bot.core.replies import Capabilities, Reply

log = logging.getLogger(__name__)

# Error codes of the Web API that mean "invite the bot to this conversation first".
NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
INVITE_ME = ("I can't post in this conversation because I'm not a member of it. Invite me with "
             "`/invite @StudyBot` and try again. (In a direct message, use me in a channel instead.)")
# Error codes that say "later": everything else Slack answers with ok=false it will answer again.
TRANSIENT = frozenset({"ratelimited", "rate_limited", "service_unavailable", "internal_error", "fatal_error",
                       "request_timeout"})


def delivery_failure(exc: BaseException) -> DeliveryDeferred | DeliveryRefused | None:
    """The core's verdict on a Web API failure; None for an exception that is not one (a bug)."""
    if isinstance(exc, SlackApiError):
        response: Any = exc.response
        # Usually an AsyncSlackResponse; an aiohttp response when the body was not JSON (a proxy's 503 page).
        status = getattr(response, "status_code", None) or getattr(response, "status", None) or 0
        data = getattr(response, "data", None)
        code = str(data.get("error", "")) if isinstance(data, dict) else ""
        if status == 429 or code in ("ratelimited", "rate_limited"):
            return DeliveryDeferred(f"rate limited (HTTP {status})", _retry_after(response))
        if status >= 500 or code in TRANSIENT:
            return DeliveryDeferred(f"HTTP {status} {code}".strip())
        reason = code or f"HTTP {status}"
        return DeliveryRefused(reason, INVITE_ME if code in NOT_A_MEMBER else None)
    if isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        return DeliveryDeferred(f"{type(exc).__name__}: {exc}")
    return None


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    try:
        return max(0.0, float(headers.get("Retry-After", "")))
    except (TypeError, ValueError):
        return None


class SlackOutbox:
    """Posts and edits messages the core sends on its own (the core's ``Outbox``)."""

    capabilities = Capabilities(edits=True)

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post(self, channel: Channel, reply: Reply) -> str | None:
        """Posts ``reply`` with ``chat.postMessage``; returns its ``ts``, the id ``chat.update`` needs.

        A channel message cannot whisper, so a private reply is posted publicly (the core words
        such replies so that this is harmless).

        Raises:
            DeliveryDeferred: try again later. DeliveryRefused: Slack will not take it.
        """
        message = render(reply)
        try:
            user_id = direct_user(channel)
            if user_id is not None:  # a direct message (a review reminder): the app's DM with that person
                opened = await self.client.conversations_open(users=user_id)
                target = str(opened["channel"]["id"])
            else:
                target = channel.channel_id
            response = await self.client.chat_postMessage(channel=target, text=message.text,
                                                          blocks=message.blocks, unfurl_links=False,
                                                          unfurl_media=False)
        except Exception as exc:
            failure = delivery_failure(exc)
            if failure is None:
                raise
            raise failure from exc
        ts = response.get("ts")
        return str(ts) if ts else None

    async def edit(self, channel: Channel, message_id: str, reply: Reply) -> None:
        """Replaces an earlier message (a closed question loses its buttons) with ``chat.update``.

        Raises:
            DeliveryDeferred: try again later. DeliveryRefused: Slack will not (e.g. ``message_not_found``).
        """
        message = render(reply)
        try:
            await self.client.chat_update(channel=channel.channel_id, ts=message_id, text=message.text,
                                          blocks=message.blocks)
        except Exception as exc:
            failure = delivery_failure(exc)
            if failure is None:
                raise
            raise failure from exc
