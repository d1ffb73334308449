"""Interactions in, core events out; core replies back as interaction responses.

Discord fails an interaction the user sees ("This interaction failed") when it gets no
response within 3 seconds, so work that touches the database is deferred first and answered
with follow-ups. ``ask`` answers directly unless the core takes longer than ``DEFER_AFTER``
(the search itself is quick; recording an unanswered question writes to the database).
Every path ends in a response: failures are logged and answered with a short private apology.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Mapping
from typing import Any

import discord
from discord import app_commands
from discord.utils import MISSING

from bot.adapters.discord.client import studybot_of
from bot.adapters.discord.modals import modal_for, submitted_text
from bot.adapters.discord.render import RenderedMessage, render
from bot.adapters.discord.views import BUTTON_TEMPLATE, shows_button, view_for
from bot.core import buttons
from bot.core.app import APOLOGY, StudyBot
from bot.core.events import ButtonEvent, Channel, CommandEvent, TextSubmitEvent, User
from bot.core.replies import Reply, neutralize

log = logging.getLogger(__name__)

PLATFORM = "discord"
NO_MENTIONS = discord.AllowedMentions.none()
# What posting a round needs, by the names Discord's settings show. In a thread Discord checks
# Send Messages in Threads instead of Send Messages (a thread ignores the latter entirely).
POST_PERMISSIONS = {"view_channel": "View Channel", "send_messages": "Send Messages", "embed_links": "Embed Links"}
THREAD_POST_PERMISSIONS = {"view_channel": "View Channel", "send_messages_in_threads": "Send Messages in Threads",
                           "embed_links": "Embed Links"}
# Defer.AUTO's patience: well inside Discord's 3 s, with room for the deferral's own round trip.
DEFER_AFTER = 2.0


class Defer(enum.Enum):
    """Whether to acknowledge a command before the core works on it, and how visibly."""

    NO = "no"  # the core answers in milliseconds without the database (help, topics): respond directly
    AUTO = "auto"  # respond directly when the core is quick, else say "thinking…" publicly first
    PUBLIC = "public"  # "StudyBot is thinking…" for everyone; the answer is public
    PRIVATE = "private"  # the same, seen only by the user; every answer is private


def workspace_of(interaction: discord.Interaction[Any]) -> str:
    """The core's workspace: the server id, or "dm" outside servers."""
    return str(interaction.guild_id) if interaction.guild_id else "dm"


def is_admin(interaction: discord.Interaction[Any]) -> bool:
    """Manage Server or Administrator, as Discord resolved it for this interaction.

    ``interaction.permissions`` comes with every interaction, so this needs no member or
    role cache (and no privileged intent). Outside a server nobody is an admin.
    """
    if interaction.guild_id is None:
        return False
    permissions = interaction.permissions
    return permissions.manage_guild or permissions.administrator


def user_of(interaction: discord.Interaction[Any]) -> User:
    """The core's user for whoever started the interaction."""
    return User(PLATFORM, workspace_of(interaction), str(interaction.user.id), interaction.user.display_name,
                is_admin=is_admin(interaction))


def channel_of(interaction: discord.Interaction[Any]) -> Channel:
    """The core's channel the interaction happened in."""
    return Channel(PLATFORM, workspace_of(interaction), str(interaction.channel_id))


def missing_post_permissions(interaction: discord.Interaction[Any]) -> list[str]:
    """Permissions the bot lacks in this server channel to post questions and reveals (by their names)."""
    if interaction.guild_id is None:
        return []  # in a DM there are no channel permissions to grant
    needed = THREAD_POST_PERMISSIONS if isinstance(interaction.channel, discord.Thread) else POST_PERMISSIONS
    permissions = interaction.app_permissions
    return [label for name, label in needed.items() if not getattr(permissions, name)]


async def answer_command(interaction: discord.Interaction[Any], name: str, options: Mapping[str, str],
                         defer: Defer = Defer.NO) -> None:
    """Runs the core command ``name`` and answers the interaction with its replies."""
    try:
        bot = studybot_of(interaction)
        if defer in (Defer.PUBLIC, Defer.PRIVATE):
            await interaction.response.defer(ephemeral=defer is Defer.PRIVATE, thinking=True)
        event = CommandEvent(user_of(interaction), channel_of(interaction), name,
                             {key: value for key, value in options.items() if value is not None})
        work = asyncio.ensure_future(bot.handle_command(event))
        if defer is Defer.AUTO and not (await asyncio.wait({work}, timeout=DEFER_AFTER))[0]:
            # Public "thinking…": a private answer after it deletes it and follows up privately.
            await interaction.response.defer(thinking=True)
        replies = await work
        await send_replies(interaction, bot, replies, private=defer is Defer.PRIVATE)
    except Exception:
        log.exception("Discord command /%s %s from %s failed", name, dict(options), interaction.user.id)
        await apologize(interaction)


async def answer_button(interaction: discord.Interaction[Any], button_id: str) -> None:
    """Hands a press to the core and sends its (private) replies as follow-ups.

    The press is acknowledged first without a visible "thinking" state (deferred update):
    answers are written to the database, and a burst of presses must not miss 3 seconds.
    """
    try:
        bot = studybot_of(interaction)
        event = ButtonEvent(user_of(interaction), channel_of(interaction), button_id)
        if _opens_text_field(button_id):
            # The response must be the modal itself; the core answers this from memory, at once.
            replies = await bot.handle_button(event)
            field = next((r.text_input for r in replies if r.text_input is not None), None)
            if field is not None:
                await interaction.response.send_modal(modal_for(field))
            else:
                await send_replies(interaction, bot, replies, private=True)
            return
        await interaction.response.defer()
        await send_replies(interaction, bot, await bot.handle_button(event), private=False)
    except Exception:
        log.exception("Discord button %s from %s failed", button_id, interaction.user.id)
        await apologize(interaction)


def _opens_text_field(button_id: str) -> bool:
    press = buttons.parse(button_id)
    return isinstance(press, buttons.RoundPress) and press.kind == "type"


async def answer_modal_submit(interaction: discord.Interaction[Any]) -> None:
    """A submitted typed answer: handed to the core, answered privately. Other interactions are left alone."""
    if interaction.type is not discord.InteractionType.modal_submit or interaction.data is None:
        return
    custom_id = interaction.data.get("custom_id")
    if not isinstance(custom_id, str) or buttons.parse_typed_answer(custom_id) is None:
        return
    try:
        bot = studybot_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)  # the answer is written to the database
        text = submitted_text(dict(interaction.data))
        replies = await bot.handle_text(TextSubmitEvent(user_of(interaction), channel_of(interaction), custom_id,
                                                        text))
        await send_replies(interaction, bot, replies, private=True)
    except Exception:
        log.exception("Discord typed answer %s from %s failed", custom_id, interaction.user.id)
        await apologize(interaction)


async def answer_stale_press(interaction: discord.Interaction[Any]) -> None:
    """A press on a button its message no longer shows: answered here, since no StudyButton will be.

    Happens when someone presses a question's button just as the round closes and the
    buttons are edited away; the core then says privately that the round has closed,
    instead of Discord showing "This interaction failed".
    """
    if interaction.type is not discord.InteractionType.component or interaction.data is None:
        return
    custom_id = interaction.data.get("custom_id")
    if isinstance(custom_id, str) and BUTTON_TEMPLATE.fullmatch(custom_id) \
            and not shows_button(interaction.message, custom_id):
        await answer_button(interaction, custom_id)


async def send_replies(interaction: discord.Interaction[Any], bot: StudyBot, replies: list[Reply],
                       private: bool) -> None:
    """Sends replies in order: the first answers the interaction, the rest follow up.

    After a "thinking" deferral the first message replaces the thinking message, whose
    visibility was fixed by the deferral; a private reply after a public deferral deletes
    it and follows up privately instead, so nothing private is ever shown to everyone.
    """
    thinking = interaction.response.type is discord.InteractionResponseType.deferred_channel_message
    for reply in replies:
        for message in render(reply):
            if thinking and (private or not reply.ephemeral):
                await _edit_original(interaction, message)
            else:
                if thinking:
                    await interaction.delete_original_response()
                await _send(interaction, message, reply.ephemeral or private)
            thinking = False
    if thinking:  # the core had nothing to say; never leave "thinking…" hanging
        await interaction.delete_original_response()


async def _send(interaction: discord.Interaction[Any], message: RenderedMessage, ephemeral: bool) -> None:
    view = view_for(message.buttons)
    embeds = list(message.embeds)
    if not interaction.response.is_done():
        await interaction.response.send_message(embeds=embeds, view=view or MISSING, ephemeral=ephemeral,
                                                allowed_mentions=NO_MENTIONS)
    else:
        await interaction.followup.send(embeds=embeds, view=view or MISSING, ephemeral=ephemeral,
                                        allowed_mentions=NO_MENTIONS)
    _release(view)


async def _edit_original(interaction: discord.Interaction[Any], message: RenderedMessage) -> None:
    view = view_for(message.buttons)
    await interaction.edit_original_response(embeds=list(message.embeds), view=view, allowed_mentions=NO_MENTIONS)
    _release(view)


def _release(view: discord.ui.View | None) -> None:
    """Stops a sent view: presses reach the dynamic items by custom id, so it need not wait for them.

    (discord.py would otherwise keep a 15-minute timer running for each private view.)
    """
    if view is not None:
        view.stop()


async def apologize(interaction: discord.Interaction[Any], text: str = APOLOGY) -> None:
    """A short private message when something failed, so the user never sees "interaction failed"."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException:
        log.exception("could not even apologize for interaction %s", interaction.id)


async def on_tree_error(interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
    """Errors raised by discord.py around a command (unknown command, bad option, failed check)."""
    if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
        log.warning("Discord sent a command this bot does not have in that shape (%s); run `studybot discord sync`",
                    error)
        await apologize(interaction, "This command changed since Discord last saw it. Please try again in a "
                                     "minute; if it keeps happening, tell the bot's admin to run "
                                     "`studybot discord sync`.")
    elif isinstance(error, app_commands.NoPrivateMessage):
        await apologize(interaction, "That command only works in a server channel.")
    elif isinstance(error, app_commands.TransformerError):
        log.warning("Discord option could not be read: %s", error)
        value = neutralize(str(error.value))
        await apologize(interaction, f"I could not read the value {value!r}. Please pick one from the list.")
    else:
        log.exception("Discord command failed", exc_info=error)
        await apologize(interaction)
