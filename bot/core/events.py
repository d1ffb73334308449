"""Neutral events: what an adapter hands the core after translating a platform's payload."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from bot.chat import Channel, User, fast_init

__all__ = ["ButtonEvent", "Channel", "CommandEvent", "TextSubmitEvent", "User"]


@dataclass(frozen=True)
class CommandEvent:
    """A command such as ``ask`` with its options (``{"query": "what is dropout"}``).

    Text-based platforms (console, Slack) build it with :func:`bot.core.parsing.parse_command`; platforms with
    typed options (Discord) fill ``options`` directly with the same names.
    """

    user: User
    channel: Channel
    name: str
    options: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@fast_init
@dataclass(frozen=True)
class ButtonEvent:
    """A press of a button the core created; ``button_id`` is the id the core gave it."""

    user: User
    channel: Channel
    button_id: str


@dataclass(frozen=True)
class TextSubmitEvent:
    """Text a person wrote in a field the core asked for (a :class:`bot.core.replies.TextInput`);
    ``input_id`` is that field's id."""

    user: User
    channel: Channel
    input_id: str
    text: str
