"""Chat text -> command name and options, read by the catalog's declarations.

Text platforms (console, Slack, mentions) call :func:`parse_command`; platforms with typed
options (Discord) fill the same option names directly. The rules, from the declarations:
the first word names a command or alias; a group's next word names its subcommand; a keyed
option may be written ``name value`` anywhere ("quiz keras questions 3"); a word that is one of
a choice option's values fills that option wherever it stands ("leaderboard keras all"); the
other words fill the positional options in order, the last taking the rest of the text.
"""

from __future__ import annotations

import shlex

from bot.core.catalog import ACTION, Catalog, Command, Kind, Option
from bot.core.commands import CATALOG


def parse_command(text: str, catalog: Catalog = CATALOG) -> tuple[str, dict[str, str]]:
    """Splits chat text like ``quiz keras questions 3`` into a command name and its options.

    Text starting with no command's name is a question (``ask``), because people type questions
    straight after the bot's name or slash command; but ``/whoami`` is an unknown command, kept
    as its name so the core says so instead of looking it up.
    """
    stripped = text.strip()
    words = stripped.lstrip("/").split(maxsplit=1)
    if not words:
        return "help", {}
    command = catalog.find(words[0])
    rest = words[1].strip() if len(words) > 1 else ""
    if command is None:
        if stripped.startswith("/"):
            return words[0].casefold(), {}
        return catalog.fallback, {catalog.fallback_option: stripped}
    if command.name == catalog.fallback:
        return command.name, {catalog.fallback_option: rest} if rest else {}
    return command.name, parse_options(command, _tokens(rest))


def parse_options(command: Command, tokens: list[str]) -> dict[str, str]:
    """The options in ``tokens`` (the words after the command's name), by the command's declaration."""
    options: dict[str, str] = {}
    if command.subcommands:
        if not tokens:
            return options
        options[ACTION] = tokens[0].casefold()
        sub = command.subcommand(tokens[0])
        if sub is None:
            return options
        command, tokens = sub, tokens[1:]
    positional: list[str] = []
    i = 0
    while i < len(tokens):
        option = _keyed(command, tokens[i])
        choice_of = _choice_option(command, tokens[i], options)
        if option is not None and option.name not in options:
            # A keyed word with nothing after it keeps an empty value: the check then says what is missing.
            options[option.name] = tokens[i + 1] if i + 1 < len(tokens) else ""
            i += 2
        elif choice_of is not None:
            options[choice_of.name] = tokens[i]
            i += 1
        else:
            positional.append(tokens[i])
            i += 1
    free = [o for o in command.options if o.positional and o.name not in options]
    for index, option in enumerate(free):
        if index < len(positional):
            last = index == len(free) - 1
            options[option.name] = " ".join(positional[index:]) if last else positional[index]
    return options


def _tokens(rest: str) -> list[str]:
    try:
        return shlex.split(rest)
    except ValueError:  # an unbalanced quote: read the words as typed
        return rest.split()


def _keyed(command: Command, word: str) -> Option | None:
    option = command.option(word.casefold())
    return option if option is not None and option.keyed else None


def _choice_option(command: Command, word: str, given: dict[str, str]) -> Option | None:
    return next((o for o in command.options if o.kind is Kind.CHOICE and o.name not in given and o.choice(word)),
                None)
