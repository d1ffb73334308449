"""The command catalog's vocabulary: a command and its typed options, declared once.

Each command is one :class:`Command` in ``bot.core.commands`` (name, aliases, description,
options with their kind, range, choices and suggestion source, cooldown, who may use it,
whether replies are private, handler). Everything else is generated from those
declarations: text parsing (``bot.core.parsing``), the help text and Slack's usage hint
(here), option checks with one wording (``bot.core.options``), suggestions while typing
(``bot.core.suggest``) and Discord's command tree (``bot.adapters.discord.commands``).
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.config import Config
from bot.core.events import CommandEvent
from bot.core.replies import Reply

if TYPE_CHECKING:
    from bot.core.app import StudyBot


class Kind(enum.Enum):
    """What an option's value is, which decides how it is read, checked and offered."""

    TEXT = "text"  # free text
    NUMBER = "number"  # a whole number within bounds
    CHOICE = "choice"  # one of fixed values (words people type map to them through aliases)
    USER = "user"  # a member: a mention, an id or a name
    TOPIC = "topic"  # a topic or deck as people type it (bot.core.names)


class Pace(enum.Enum):
    """How long the core takes, so a platform with a reply deadline knows whether to defer."""

    INSTANT = "instant"  # from memory only (help, topics)
    USUALLY_QUICK = "usually quick"  # from memory, sometimes a database write (ask)
    SLOW = "slow"  # reads or writes the database


@dataclass(frozen=True)
class Choice:
    """One allowed value of a choice option, its label and other words people type for it."""

    value: str
    label: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Option:
    """One input of a command."""

    name: str
    description: str
    kind: Kind = Kind.TEXT
    required: bool = False
    positional: bool = True  # may be written bare, in declaration order (the last takes the rest)
    keyed: bool = False  # may be written "name value" anywhere after the command ("questions 3")
    bounds: Callable[[Config], tuple[int, int]] | None = None  # NUMBER: inclusive range
    default: Callable[[Config], int] | None = None  # NUMBER: value when not given
    choices: tuple[Choice, ...] = ()  # CHOICE: allowed values, in the order they are offered
    suggest: str | None = None  # a source in bot.core.suggest offering values while typing
    max_length: int | None = None
    check: Callable[[str], str | None] | None = None  # extra check; returns the problem, worded for the user
    example: str = ""  # a value that works, for messages
    guess: bool = True  # CHOICE: an unknown single word may be taken as a mistyped value of this
    uncooled: bool = False  # giving this option skips the command's cooldown (it steers what already runs)

    def choice(self, text: str) -> Choice | None:
        """The choice ``text`` names (its value or an alias, any case), or None."""
        wanted = text.strip().casefold()
        return next((c for c in self.choices if wanted == c.value or wanted in c.aliases), None)


class Args:
    """A command's options after checking: numbers are ints, topics are scopes, absent ones None."""

    def __init__(self, values: Mapping[str, object]) -> None:
        self._values = dict(values)

    def text(self, name: str) -> str | None:
        """A text, choice, user or topic option's value."""
        value = self._values.get(name)
        return value if isinstance(value, str) else None

    def number(self, name: str) -> int:
        """A number option's value (its default when not given)."""
        value = self._values[name]
        assert isinstance(value, int)  # declared NUMBER options always have a value after checking
        return value

    def __repr__(self) -> str:
        return f"Args({self._values!r})"


Handler = Callable[["StudyBot", CommandEvent, Args], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Command:
    """One command: everything the platforms, the help and the checks need to know about it."""

    name: str
    description: str
    example: str  # a working invocation without the leading slash, shown in help
    # A group's own handler (optional) answers the group named alone, for anyone: an overview of what it is
    # about and how to use its subcommands (which have their own handlers and checks).
    handler: Handler | None = None
    options: tuple[Option, ...] = ()
    aliases: tuple[str, ...] = ()
    subcommands: tuple[Command, ...] = ()
    default_subcommand: str = ""  # a group's subcommand when none is named ("daily" means "daily show")
    cooldown: Callable[[Config], float] | None = None  # seconds between uses per member
    admin: bool = False  # only workspace admins (also hides it from others where the platform can)
    private: bool | Callable[[Config], bool] = True  # replies shown only to the caller
    pace: Pace = Pace.SLOW
    posts: bool = False  # starts something the bot posts into the channel (a round)
    more_examples: tuple[tuple[str, str], ...] = ()  # (invocation, what it does): one per option worth showing

    def is_private(self, config: Config) -> bool:
        """Whether this command's replies are for the caller only, under ``config``."""
        return self.private(config) if callable(self.private) else self.private

    def option(self, name: str) -> Option | None:
        """The option called ``name``, or None."""
        return next((o for o in self.options if o.name == name), None)

    def subcommand(self, name: str) -> Command | None:
        """The subcommand called ``name`` (any case), or None."""
        wanted = name.strip().casefold()
        return next((s for s in self.subcommands if s.name == wanted), None)

    def usage(self, parent: str = "") -> str:
        """``quiz [topic] [questions N] [seconds N]``: how to type it, for usage hints and refusals."""
        parts = [f"{parent} {self.name}".strip()]
        for option in self.options:
            token = {Kind.NUMBER: "N", Kind.CHOICE: "|".join(c.value for c in option.choices)}.get(option.kind,
                                                                                                 option.name)
            word = f"{option.name} {token}" if option.keyed and not option.positional else token
            parts.append(word if option.required else f"[{word}]")
        return " ".join(parts)


ACTION = "action"  # the option naming a group's subcommand ("daily set" -> action=set)


class Catalog:
    """Every command, found by name or alias."""

    def __init__(self, commands: tuple[Command, ...], fallback: str) -> None:
        self.commands = commands
        self.fallback = fallback  # text that starts with no command's name is this command's input
        self._names: dict[str, Command] = {}
        for command in commands:
            for name in (command.name, *command.aliases):
                if name in self._names:
                    raise ValueError(f"two commands are called {name!r}")
                self._names[name] = command

    def find(self, name: str) -> Command | None:
        """The command called ``name`` or one of its aliases (any case), or None."""
        return self._names.get(name.strip().casefold())

    def resembling(self, word: str) -> str | None:
        """The command name or alias that ``word`` looks like a typo of (``quizz``: ``quiz``), or None."""
        typed = word.strip().lstrip("/").casefold()
        if not typed or typed in self._names:
            return None
        close = difflib.get_close_matches(typed, self._names, n=1, cutoff=0.8)
        return close[0] if close else None

    @property
    def fallback_option(self) -> str:
        """The option that takes the whole text when it starts with no command's name."""
        command = self.find(self.fallback)
        assert command is not None and command.options, "the fallback command takes its text as its first option"
        return command.options[0].name

    def help_lines(self) -> list[str]:
        """One entry per command: name, description, a working example."""
        return [f"`{c.name}` — {c.description}\n    e.g. `{c.example}`"
                + "".join(f"\n    `{example}` — {what}" for example, what in c.more_examples) for c in self.commands]

    def usage_hint(self) -> str:
        """A one-line summary of every command, for a platform's hint beside its one slash command."""
        parts = []
        for command in self.commands:
            if command.subcommands:
                parts.append(f"{command.name} " + "|".join(s.name for s in command.subcommands))
            elif command.name == self.fallback:
                parts.append("[question]")
            else:
                parts.append(command.usage())
        return " | ".join(parts)
