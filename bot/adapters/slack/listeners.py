"""Slack's slash command, button presses and mentions in, core events out; replies back to Slack.

Every listener acknowledges first: Slack shows an error when a command or a press is not
acknowledged within 3 seconds, and the core may touch the database. Replies then go where
Slack expects them: to a command or a press through its ``response_url`` (``ephemeral`` for
private replies, ``in_channel`` for public ones), to a mention as a threaded message (or an
ephemeral one in the thread, seen only by the person who asked).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.blocks import render
from bot.adapters.slack.modals import modal_view, submission
from bot.adapters.slack.mrkdwn import unescape
from bot.adapters.slack.outbox import SlackOutbox
from bot.adapters.slack.people import PLATFORM, UserDirectory
from bot.core import buttons
from bot.core.app import StudyBot
from bot.core.events import ButtonEvent, Channel, CommandEvent, TextSubmitEvent
from bot.core.parsing import parse_command
from bot.core.replies import Reply

log = logging.getLogger(__name__)

ANY_ACTION = re.compile(r".+")  # every button in our messages is the core's
TYPED_FIELD = re.compile(buttons.TYPED_TEMPLATE)  # the core's typed-answer fields
_LEADING_MENTIONS = re.compile(r"^(\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s,:]*)+")  # when our own id is unknown


def register_listeners(app: AsyncApp, bot: StudyBot, outbox: SlackOutbox, people: UserDirectory,
                       command: str) -> None:
    """Adds the slash command ``command``, button presses and ``app_mention`` to ``app``."""

    async def on_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        team = str(body.get("team_id", ""))
        channel = Channel(PLATFORM, team, str(body.get("channel_id", "")))
        user = await people.user(team, str(body.get("user_id", "")), str(body.get("user_name", "")))
        name, options = parse_command(unescape(str(body.get("text", ""))))
        event = CommandEvent(user, channel, name, options)
        replies = await bot.handle_command(event)
        for reply in replies:
            await _respond(respond, outbox, channel, reply)

    async def on_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                        respond: AsyncRespond, client: AsyncWebClient) -> None:
        await ack()
        user_payload = body.get("user") or {}
        team = str((body.get("team") or {}).get("id") or user_payload.get("team_id", ""))
        channel_id = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        channel = Channel(PLATFORM, team, str(channel_id))
        user = await people.user(team, str(user_payload.get("id", "")),
                                 str(user_payload.get("username") or user_payload.get("name") or ""))
        button_id = str(action.get("value") or action.get("action_id", ""))
        event = ButtonEvent(user, channel, button_id)
        for reply in await bot.handle_button(event):
            if reply.text_input is not None:  # a typed answer: Slack's modal, opened with this press's trigger
                await client.views_open(trigger_id=str(body.get("trigger_id", "")),
                                        view=modal_view(reply.text_input, team, str(channel_id)))
            else:
                await _respond(respond, outbox, channel, reply)

    async def on_submission(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                            client: AsyncWebClient) -> None:
        await ack()  # closes the modal; the verdict comes as a private message in the channel
        team, channel_id, text = submission(view)
        user_payload = body.get("user") or {}
        team = team or str((body.get("team") or {}).get("id") or user_payload.get("team_id", ""))
        channel = Channel(PLATFORM, team, channel_id)
        user = await people.user(team, str(user_payload.get("id", "")),
                                 str(user_payload.get("username") or user_payload.get("name") or ""))
        for reply in await bot.handle_text(TextSubmitEvent(user, channel, str(view.get("callback_id", "")), text)):
            message = render(reply)
            await client.chat_postEphemeral(channel=channel_id, user=user.user_id, text=message.text,
                                            blocks=message.blocks)

    async def on_mention(body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient,
                         context: AsyncBoltContext) -> None:
        if not event.get("user"):  # another app mentioning us; nobody to answer
            return
        team = str(body.get("team_id") or event.get("team", ""))
        channel = Channel(PLATFORM, team, str(event.get("channel", "")))
        user = await people.user(team, str(event["user"]))
        text = without_mention(str(event.get("text", "")), context.bot_user_id)
        name, options = parse_command(unescape(text))
        command_event = CommandEvent(user, channel, name, options)
        thread = str(event.get("thread_ts") or event.get("ts", ""))  # a reply in a thread goes to its parent
        for reply in await bot.handle_command(command_event):
            await _post_in_thread(client, outbox, channel, user.user_id, thread, reply)

    app.command(command)(on_command)
    app.block_action(ANY_ACTION)(on_button)
    app.view_submission(TYPED_FIELD)(on_submission)
    app.event("app_mention")(on_mention)


def without_mention(text: str, bot_user_id: str | None) -> str:
    """A mention's text without the mention of the bot (``<@U123>``, wherever it stands)."""
    if bot_user_id:
        return re.sub(rf"[ \t]*<@{re.escape(bot_user_id)}(?:\|[^>]*)?>[,:]?[ \t]*", " ", text).strip()
    return _LEADING_MENTIONS.sub("", text).strip()


async def _respond(respond: AsyncRespond, outbox: SlackOutbox, channel: Channel, reply: Reply) -> None:
    """A reply to a command or press, through its ``response_url``; edits go through ``chat.update``."""
    message = render(reply)
    response = await respond(text=message.text, blocks=message.blocks,
                             response_type="ephemeral" if reply.ephemeral else "in_channel",
                             replace_original=False, unfurl_links=False, unfurl_media=False)
    if response.status_code != 200:
        log.warning("Slack refused a reply through response_url (%s): %s", response.status_code, response.body)


async def _post_in_thread(client: AsyncWebClient, outbox: SlackOutbox, channel: Channel, user_id: str, thread: str,
                          reply: Reply) -> None:
    """A reply to a mention, in the mention's thread: private ones only for the person who asked."""
    message = render(reply)
    if reply.ephemeral:
        await client.chat_postEphemeral(channel=channel.channel_id, user=user_id, text=message.text,
                                        blocks=message.blocks, thread_ts=thread)
    else:
        await client.chat_postMessage(channel=channel.channel_id, thread_ts=thread, text=message.text,
                                      blocks=message.blocks, unfurl_links=False, unfurl_media=False)
