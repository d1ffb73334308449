"""Core replies rendered as Discord embeds and buttons, cut to Discord's limits.

Discord refuses a whole message (400 Invalid Form Body) when any one limit is exceeded, so
everything is fitted here rather than hoped for: long bodies are split into several embeds,
and those into several messages, at paragraph or line boundaries, and a piece never ends
inside a ``` code block: the fence is closed and reopened (with its language) in the next.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import discord

from bot.core.markup import split_markup
from bot.core.replies import Button, Reply, fit, fit_markup

log = logging.getLogger(__name__)

# https://discord.com/developers/docs/resources/message#embed-object-embed-limits
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_COUNT_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
MESSAGE_TOTAL_LIMIT = 6000  # title, description, field names and values, footer of every embed
EMBEDS_PER_MESSAGE = 10
# https://discord.com/developers/docs/components/reference#button
LABEL_LIMIT = 80
CUSTOM_ID_LIMIT = 100
BUTTONS_PER_ROW = 5
ROWS = 5
MESSAGES_PER_REPLY = 5  # beyond this a reply is cut short rather than flood a channel

COLOUR = discord.Colour(0x3B82F6)


@dataclass(frozen=True)
class RenderedMessage:
    """One Discord message: up to ten embeds, and the core's buttons to show under them."""

    embeds: tuple[discord.Embed, ...]
    buttons: tuple[Button, ...] = ()


def render(reply: Reply) -> list[RenderedMessage]:
    """The messages that show ``reply``; its buttons go under the last one."""
    title = fit(reply.title, TITLE_LIMIT) if reply.title else None
    footer = fit(reply.footer, FOOTER_LIMIT) if reply.footer else None
    body = reply.body.strip()
    # Any one embed can carry the title and the footer too; a body that needs several embeds
    # is cut into pieces of which two fit in a message, so long answers take fewer messages.
    room = MESSAGE_TOTAL_LIMIT - len(title or "") - len(footer or "")
    body_limit = min(DESCRIPTION_LIMIT, room if len(body) <= min(DESCRIPTION_LIMIT, room) else room // 2)
    bodies = split_markup(body, body_limit) if body else []
    embeds = [discord.Embed(description=body, colour=COLOUR) for body in bodies] or [discord.Embed(colour=COLOUR)]
    if title:
        embeds[0].title = title
    target = embeds[-1]
    for field in reply.fields:
        name = fit(field.name, FIELD_NAME_LIMIT) or "\u200b"
        value = fit_markup(field.value, FIELD_VALUE_LIMIT, split_markup) or "\u200b"
        room = MESSAGE_TOTAL_LIMIT - len(target) - len(footer or "")
        if len(target.fields) >= FIELD_COUNT_LIMIT or len(name) + len(value) > room:
            target = discord.Embed(colour=COLOUR)
            embeds.append(target)
        target.add_field(name=name, value=value, inline=field.inline)
    if footer:
        embeds[-1].set_footer(text=footer)
    if len(embeds[0]) == 0:  # Discord refuses an embed with nothing in it
        embeds[0].description = "\u200b"
    return _pack(embeds, fit_buttons(reply.buttons))


def render_one(reply: Reply) -> RenderedMessage:
    """``reply`` as a single message, for editing one in place (the rest is dropped, and logged)."""
    messages = render(reply)
    if len(messages) > 1:
        log.warning("reply %r is too long to edit into one message; showing its first part", reply.title)
    return replace(messages[0], buttons=messages[-1].buttons)


def _pack(embeds: list[discord.Embed], buttons: tuple[Button, ...]) -> list[RenderedMessage]:
    messages: list[list[discord.Embed]] = [[]]
    total = 0
    for embed in embeds:
        size = len(embed)
        if messages[-1] and (total + size > MESSAGE_TOTAL_LIMIT or len(messages[-1]) == EMBEDS_PER_MESSAGE):
            messages.append([])
            total = 0
        messages[-1].append(embed)
        total += size
    if len(messages) > MESSAGES_PER_REPLY:
        log.warning("cut a reply of %d messages to %d", len(messages), MESSAGES_PER_REPLY)
        del messages[MESSAGES_PER_REPLY:]
    rendered = [RenderedMessage(tuple(group)) for group in messages]
    rendered[-1] = replace(rendered[-1], buttons=buttons)
    return rendered


def fit_buttons(buttons: tuple[Button, ...]) -> tuple[Button, ...]:
    """Buttons Discord will accept: ids of at most 100 characters, labels of at most 80, 25 in all.

    A button whose id is too long cannot be shortened (the id is what the core reads back),
    so it is left out and logged rather than letting Discord refuse the whole message.
    """
    fitted: list[Button] = []
    for button in buttons:
        if len(button.id) > CUSTOM_ID_LIMIT:
            log.warning("left out button %r: its id is longer than Discord's %d characters", button.id,
                        CUSTOM_ID_LIMIT)
            continue
        fitted.append(replace(button, label=fit(button.label.strip() or button.id, LABEL_LIMIT)))
    if len(fitted) > BUTTONS_PER_ROW * ROWS:
        log.warning("left out %d buttons: a message holds at most %d", len(fitted) - BUTTONS_PER_ROW * ROWS,
                    BUTTONS_PER_ROW * ROWS)
    return tuple(fitted[: BUTTONS_PER_ROW * ROWS])
