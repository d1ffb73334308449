"""Core replies rendered as Slack Block Kit messages, cut to Slack's limits.

Slack refuses a whole message (``invalid_blocks``) when any one limit is exceeded, so every
limit is met here rather than hoped for: the title goes in a header block (150 characters),
the body is split into section blocks of at most 3000 characters at paragraph or line
boundaries, never ending inside a code block (the fence is closed and reopened in the next
section), fields go ten to a section, buttons 25 to an actions block, and the message keeps
to 50 blocks. Every message also carries a plain ``text`` fallback, which Slack shows in
notifications and wherever blocks cannot be drawn.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from bot.adapters.slack.mrkdwn import escape, to_mrkdwn
from bot.core.markup import split_markup
from bot.core.replies import Button, Field, Reply, fit, fit_markup

log = logging.getLogger(__name__)

# https://docs.slack.dev/reference/block-kit/blocks and .../block-elements/button-element
HEADER_LIMIT = 150
SECTION_TEXT_LIMIT = 3000
FIELDS_PER_SECTION = 10
FIELD_TEXT_LIMIT = 2000
CONTEXT_TEXT_LIMIT = 3000
BLOCKS_PER_MESSAGE = 50
ELEMENTS_PER_ACTIONS = 25
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
ACTION_ID_LIMIT = 255
FALLBACK_TEXT_LIMIT = 3000  # notifications show a line or two; the blocks carry the whole reply
CUT_NOTE = "_…the rest is too long for one Slack message._"

Block = dict[str, Any]


@dataclass(frozen=True)
class SlackMessage:
    """What ``chat.postMessage``, ``chat.update`` and ``response_url`` take: blocks and a text fallback."""

    text: str
    blocks: list[Block] = field(default_factory=list)


def render(reply: Reply) -> SlackMessage:
    """One Slack message showing ``reply``, within every Block Kit limit."""
    head = _title_blocks(reply.title)
    tail = _field_blocks(reply.fields)
    if reply.footer:
        tail.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _fit_mrkdwn(
            to_mrkdwn(reply.footer), CONTEXT_TEXT_LIMIT)}]})
    tail.extend(_actions_blocks(reply.buttons))
    body = reply.body.strip()
    sections = [_section(piece) for piece in split_mrkdwn(to_mrkdwn(body), SECTION_TEXT_LIMIT)] if body else []
    room = BLOCKS_PER_MESSAGE - len(head) - len(tail)
    if len(sections) > room:
        log.warning("cut a reply of %d blocks to Slack's %d", len(head) + len(sections) + len(tail),
                    BLOCKS_PER_MESSAGE)
        sections = sections[: max(room - 1, 0)] + [_section(CUT_NOTE)]
    blocks = (head + sections + tail)[:BLOCKS_PER_MESSAGE]
    text = fallback_text(reply)
    return SlackMessage(text=text, blocks=blocks or [_section(text)])


def fallback_text(reply: Reply) -> str:
    """The reply as mrkdwn text for notifications and screen readers; never empty."""
    text = _fit_mrkdwn(to_mrkdwn(reply.text()), FALLBACK_TEXT_LIMIT)
    return text or "StudyBot"


def _title_blocks(title: str | None) -> list[Block]:
    if not title or not title.strip():
        return []
    title = " ".join(title.split())
    if len(title) <= HEADER_LIMIT:
        return [{"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}}]
    # A header cannot hold it; a bold section can, so nothing of a long question is lost.
    return [_section(_fit_mrkdwn("*" + escape(title) + "*", SECTION_TEXT_LIMIT))]


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _field_blocks(fields: tuple[Field, ...]) -> list[Block]:
    """Inline fields side by side (ten to a section); a wide field gets a section of its own."""
    blocks: list[Block] = []
    row: list[dict[str, str]] = []
    for item in fields:
        name = escape(" ".join(item.name.split()))
        if item.inline:
            text = _fit_mrkdwn(f"*{name}*\n{to_mrkdwn(item.value)}", FIELD_TEXT_LIMIT)
            row.append({"type": "mrkdwn", "text": text})
            if len(row) == FIELDS_PER_SECTION:
                blocks.append({"type": "section", "fields": row})
                row = []
            continue
        if row:
            blocks.append({"type": "section", "fields": row})
            row = []
        blocks.append(_section(_fit_mrkdwn(f"*{name}*\n{to_mrkdwn(item.value)}", SECTION_TEXT_LIMIT)))
    if row:
        blocks.append({"type": "section", "fields": row})
    return blocks


def _actions_blocks(buttons: tuple[Button, ...]) -> list[Block]:
    """Buttons whose ``action_id`` and ``value`` carry the core's id (``value`` is what is read back)."""
    elements: list[Block] = []
    seen: set[str] = set()
    for button in buttons:
        if len(button.id) > ACTION_ID_LIMIT:
            # The id is what the core reads back, so it cannot be shortened; Slack would refuse it.
            log.warning("left out button %r: its id is longer than Slack's %d characters", button.id[:40],
                        ACTION_ID_LIMIT)
            continue
        action_id = button.id
        while action_id in seen:  # Slack requires action_ids unique within a block
            action_id = f"{button.id[: ACTION_ID_LIMIT - 3]}~{len(seen)}"
        seen.add(action_id)
        element: Block = {"type": "button", "action_id": action_id, "value": button.id,
                          "text": {"type": "plain_text", "emoji": True,
                                   "text": fit(" ".join(button.label.split()) or button.id, BUTTON_TEXT_LIMIT)}}
        if button.style in ("primary", "success"):
            element["style"] = "primary"
        elif button.style == "danger":
            element["style"] = "danger"
        elements.append(element)
    return [{"type": "actions", "block_id": f"studybot-actions-{i // ELEMENTS_PER_ACTIONS}",
             "elements": elements[i: i + ELEMENTS_PER_ACTIONS]}
            for i in range(0, len(elements), ELEMENTS_PER_ACTIONS)]


def split_mrkdwn(text: str, limit: int) -> list[str]:
    """mrkdwn in pieces of at most ``limit`` characters: the core's splitter, never cutting inside a
    ``<link>`` or an ``&amp;`` entity."""
    return split_markup(text, limit, outside_links_and_entities)


def outside_links_and_entities(line: str, index: int) -> bool:
    """Whether cutting ``line`` before ``index`` keeps every ``<…>`` link and ``&…;`` entity whole."""
    head = line[:index]
    in_link = head.rfind("<") > head.rfind(">")
    amp = head.rfind("&")
    in_entity = amp >= 0 and ";" not in head[amp:] and index - amp < 6
    return not in_link and not in_entity


def _fit_mrkdwn(text: str, limit: int) -> str:
    return fit_markup(text, limit, split_mrkdwn)
