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

from bot.adapters.slack.mrkdwn import FENCE, escape, to_mrkdwn
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
    """Splits mrkdwn into pieces of at most ``limit`` characters, each with balanced code fences.

    Pieces end at paragraph breaks where possible, else at line breaks; only a line longer
    than a piece is cut inside, at a space when there is one, and never inside a ``<link>``
    or an ``&amp;`` entity. A code block cut in two is closed and reopened.
    """
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for paragraph in _paragraphs(text):
        for part in _fit_paragraph(paragraph, limit):
            joined = f"{current}\n\n{part}" if current else part
            if len(joined) <= limit:
                current = joined
            else:
                pieces.append(current)
                current = part
    if current:
        pieces.append(current)
    return pieces


def _paragraphs(text: str) -> list[str]:
    """Paragraphs: runs of lines between blank lines outside code blocks (a code block stays whole)."""
    paragraphs: list[list[str]] = [[]]
    in_code = False
    for line in text.split("\n"):
        if line == FENCE:
            in_code = not in_code
        elif not in_code and not line.strip():
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        paragraphs[-1].append(line)
    return ["\n".join(p) for p in paragraphs if p]


def _fit_paragraph(paragraph: str, limit: int) -> list[str]:
    """A paragraph in pieces of at most ``limit``, cut at lines, closing and reopening code blocks."""
    if len(paragraph) <= limit:
        return [paragraph]
    reserve = len(FENCE) + 1  # room for the closing fence a piece may need
    parts: list[str] = []
    buffer: list[str] = []
    size = 0
    in_code = False
    for line in paragraph.split("\n"):
        opens_or_closes = line == FENCE
        for chunk in _cut_line(line, limit - 2 * reserve):
            after = not in_code if opens_or_closes else in_code
            added = len(chunk) + (1 if buffer else 0)
            if buffer and size + added + (reserve if after else 0) > limit:
                dangling = in_code and buffer[-1] == FENCE and len(buffer) > 1
                if dangling:
                    buffer.pop()  # an opener with nothing after it moves to the next piece
                parts.append("\n".join(buffer + ([FENCE] if in_code and not dangling else [])))
                buffer = [FENCE] if in_code else []
                size = len(FENCE) if in_code else 0
                added = len(chunk) + (1 if buffer else 0)
            buffer.append(chunk)
            size += added
            in_code = after
    if buffer:
        parts.append("\n".join(buffer + ([FENCE] if in_code else [])))
    return parts


def _cut_line(line: str, room: int) -> list[str]:
    """A line in chunks of at most ``room`` characters, cut at spaces outside links and entities."""
    chunks: list[str] = []
    while len(line) > room:
        cut = _cut_point(line, room)
        chunks.append(line[:cut].rstrip())
        line = line[cut:].lstrip()
    chunks.append(line)
    return chunks


def _cut_point(line: str, room: int) -> int:
    def safe(index: int) -> bool:
        head = line[:index]
        in_link = head.rfind("<") > head.rfind(">")
        amp = head.rfind("&")
        in_entity = amp >= 0 and ";" not in head[amp:] and index - amp < 6
        return not in_link and not in_entity

    for index in range(room, room // 2, -1):
        if line[index - 1] == " " and safe(index):
            return index
    for index in range(room, room // 2, -1):
        if safe(index):
            return index
    return room


def _fit_mrkdwn(text: str, limit: int) -> str:
    return fit_markup(text, limit, split_mrkdwn)
