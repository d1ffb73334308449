"""Neutral replies: what the core answers with; each adapter renders them its own way.

A reply is a card (errbot's idea): title, Markdown body, fields, buttons. Adapters that cannot
show buttons fall back to numbered text, ones that cannot whisper post publicly (the core
words private replies so that this is harmless), and ones that cannot edit post anew.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Button:
    """A clickable choice; ``id`` is stable and self-describing, so it survives restarts."""

    id: str
    label: str
    style: str = "secondary"  # "primary", "secondary", "success" or "danger"


@dataclass(frozen=True)
class Field:
    """A name/value pair shown beside the body (a leaderboard column, a stat)."""

    name: str
    value: str
    inline: bool = True


@dataclass(frozen=True)
class TextInput:
    """A request for one line of text from the person who pressed a button (a typed answer).

    Each adapter asks in its own way: a Discord modal, a Slack modal, a console prompt. What
    comes back is a :class:`bot.core.events.TextSubmitEvent` carrying ``id``.
    """

    id: str
    label: str
    placeholder: str = ""
    title: str = "Your answer"
    max_length: int = 200


@dataclass(frozen=True)
class Reply:
    """One message to show; with ``text_input``, a request for text shown only to the presser."""

    body: str = ""
    title: str | None = None
    fields: tuple[Field, ...] = ()
    buttons: tuple[Button, ...] = ()
    footer: str | None = None
    ephemeral: bool = False
    text_input: TextInput | None = None

    def text(self) -> str:
        """A plain-text rendering, the fallback for adapters without rich messages."""
        parts = [f"**{self.title}**"] if self.title else []
        if self.body:
            parts.append(self.body)
        parts.extend(f"**{f.name}:** {f.value}" for f in self.fields)
        if self.footer:
            parts.append(f"_{self.footer}_")
        return "\n".join(parts)


@dataclass(frozen=True)
class Capabilities:
    """What an adapter's platform can do; the core degrades where it cannot."""

    edits: bool = True
    # Cooldowns keep one member from flooding a channel others read; a one-person console has no
    # such channel, and a piped script asking twice in a row must not be refused.
    shared_channels: bool = True


_MENTION = re.compile(r"@(?=(everyone|here|channel|&|!|\w))", re.IGNORECASE)
_SLACK_SPECIAL = re.compile(r"<([!@#])")


# The core's own cap on a button label: the shortest platform limit it can meet without hiding
# meaning (Discord allows 80); adapters still fit labels to their platform's limit.
LABEL_LIMIT = 80


def fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending "…" when cut, at a word boundary where one is near.

    Labels and titles have hard limits on every platform; a cut mid-word reads as a typo.
    """
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def fit_markup(text: str, limit: int, split: Callable[[str, int], list[str]]) -> str:
    """Like :func:`fit`, for Markdown or mrkdwn that may hold code: keeps the first piece that
    ``split`` (a platform's fence-balancing splitter) makes, so a code block is never left open."""
    if len(text) <= limit:
        return text
    first = split(text, limit - 2)[0]
    return first + ("\n…" if first.endswith("```") else "…")


def neutralize(text: str) -> str:
    """User text made safe to echo: it can never ping @everyone, @here, users or roles.

    A zero-width space after ``@`` defuses plain-text mentions on every platform; Discord's
    ``<@id>``/``<@&role>`` and Slack's ``<!here>`` forms lose their angle bracket.
    """
    text = _SLACK_SPECIAL.sub(lambda m: "‹" + m.group(1), text)
    return _MENTION.sub("@\u200b", text)


# Replies waiting in the outbox are stored as JSON; the version lets a newer StudyBot read what an
# older one queued, and an older one refuse (rather than misread) what a newer one wrote.
REPLY_JSON_VERSION = 1


class ReplyFormatError(ValueError):
    """A stored reply this StudyBot cannot read (written by a newer version, or damaged)."""


def reply_to_json(reply: Reply) -> str:
    """``reply`` as versioned JSON, for the outbox. ``edit`` is not kept: outbox edits name their target."""
    data: dict[str, Any] = {"v": REPLY_JSON_VERSION, "body": reply.body, "title": reply.title,
                            "fields": [[f.name, f.value, f.inline] for f in reply.fields],
                            "buttons": [[b.id, b.label, b.style] for b in reply.buttons],
                            "footer": reply.footer, "ephemeral": reply.ephemeral}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def reply_from_json(text: str) -> Reply:
    """The reply :func:`reply_to_json` wrote.

    Raises:
        ReplyFormatError: the text is not a reply of a version this StudyBot knows.
    """
    try:
        data = json.loads(text)
        if data.get("v") != REPLY_JSON_VERSION:
            raise ReplyFormatError(f"stored reply has version {data.get('v')!r}; this StudyBot reads version "
                                   f"{REPLY_JSON_VERSION} (was the database written by a newer StudyBot?)")
        return Reply(body=data["body"], title=data["title"],
                     fields=tuple(Field(str(n), str(v), bool(i)) for n, v, i in data["fields"]),
                     buttons=tuple(Button(str(b), str(label), str(style)) for b, label, style in data["buttons"]),
                     footer=data["footer"], ephemeral=bool(data["ephemeral"]))
    except ReplyFormatError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ReplyFormatError(f"stored reply is not readable JSON of a reply: {exc}") from None


def plural(count: int, word: str) -> str:
    """``1 question``, ``2 questions``, ``1 entry``, ``3 entries``: counts read as sentences."""
    if count == 1:
        return f"1 {word}"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return f"{count} {word[:-1]}ies"
    return f"{count} {word}s"
