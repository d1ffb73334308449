"""Neutral events: what an adapter hands the core after translating a platform's payload."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Channel:
    """Where something happens; ids are the platform's own, unique within (platform, workspace)."""

    platform: str
    workspace: str
    channel_id: str


@dataclass(frozen=True)
class User:
    """Who did it. A person is identified per platform and workspace."""

    platform: str
    workspace: str
    user_id: str
    display_name: str
    is_admin: bool = False


@dataclass(frozen=True)
class CommandEvent:
    """A command such as ``ask`` with its options (``{"query": "what is dropout"}``).

    Text-based platforms (console, Slack) build it with :func:`parse_command`; platforms with
    typed options (Discord) fill ``options`` directly with the same names.
    """

    user: User
    channel: Channel
    name: str
    options: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    event_id: str = ""  # the platform's id for de-duplicating retried deliveries, when it has one


@dataclass(frozen=True)
class ButtonEvent:
    """A press of a button the core created; ``button_id`` is the id the core gave it."""

    user: User
    channel: Channel
    button_id: str
    event_id: str = ""


# Command names and their positional options, in order. The last one takes the rest of the text.
COMMANDS: dict[str, tuple[str, ...]] = {
    "ask": ("query",),
    "quiz": ("topic",),
    "leaderboard": ("period", "topic"),
    "stats": ("user",),
    "topics": (),
    "daily": ("action", "time", "timezone"),
    "help": ("command",),
}
ALIASES = {"top": "leaderboard", "lb": "leaderboard", "q": "ask", "practice": "quiz"}
# Options written as "key value" pairs anywhere after the command ("quiz keras questions 3").
KEYED_OPTIONS = ("questions", "seconds", "topic")


def parse_command(text: str) -> tuple[str, dict[str, str]]:
    """Splits chat text like ``quiz keras questions 3`` into a command name and options.

    Unknown first words are treated as a question (``ask``), because people type questions
    straight after the bot's name or slash command.
    """
    words = text.strip().lstrip("/").split(maxsplit=1)
    if not words:
        return "help", {}
    name = ALIASES.get(words[0].lower(), words[0].lower())
    rest = words[1] if len(words) > 1 else ""
    if name not in COMMANDS:
        return "ask", {"query": text.strip()}
    if name == "ask":
        return name, {"query": rest.strip()} if rest.strip() else {}
    try:
        tokens = shlex.split(rest)
    except ValueError:
        tokens = rest.split()
    options: dict[str, str] = {}
    positional: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i].lower() in KEYED_OPTIONS and i + 1 < len(tokens):
            options[tokens[i].lower()] = tokens[i + 1]
            i += 2
        else:
            positional.append(tokens[i])
            i += 1
    names = COMMANDS[name]
    for index, option in enumerate(names):
        if index < len(positional) and option not in options:
            last = index == len(names) - 1
            options[option] = " ".join(positional[index:]) if last else positional[index]
    return name, options
