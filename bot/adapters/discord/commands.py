"""The slash commands, generated from the core's command catalog (``bot.core.commands``).

Each catalog command becomes one Discord command (a group becomes a command group) whose
typed parameters are the command's options: ranges, choices and suggestions come from the
declarations, values go back to the core as the strings its options are checked from. So a
new command needs nothing here.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord.autocomplete import choices_for
from bot.adapters.discord.client import StudyClient
from bot.adapters.discord.interactions import Defer, answer_command, apologize, missing_post_permissions, on_tree_error
from bot.config import Config
from bot.core.catalog import ACTION, Command, Kind, Option, Pace
from bot.core.commands import CATALOG

log = logging.getLogger(__name__)
Callback = Callable[..., Awaitable[None]]


def add_commands(tree: app_commands.CommandTree[StudyClient], config: Config) -> None:
    """Declares every catalog command on ``tree`` (and its error handler)."""
    for command in CATALOG.commands:
        if command.subcommands:
            tree.add_command(_group(command, config))
        else:
            tree.add_command(_command(command, config, command.name, {}))
    tree.error(on_tree_error)


def _group(command: Command, config: Config) -> app_commands.Group:
    # Discord hides an admin group from members without Manage Server by default; servers can
    # change that, so the core checks again (User.is_admin) on every run.
    admin = discord.Permissions(manage_guild=True) if command.admin else None
    group = app_commands.Group(name=command.name, description=command.description[:100],
                               guild_only=command.admin, default_permissions=admin)
    for sub in command.subcommands:
        group.add_command(_command(sub, config, command.name, {ACTION: sub.name}))
    return group


def _command(command: Command, config: Config, core_name: str,
             fixed: dict[str, str]) -> app_commands.Command[Any, ..., None]:
    """One slash command whose callback hands its options to the core command ``core_name``."""
    defer = _defer(command, config)

    async def callback(interaction: discord.Interaction[Any], **values: Any) -> None:
        if command.posts and await _refuse_if_cannot_post(interaction):
            return
        await answer_command(interaction, core_name, {**fixed, **_options(command, values)}, defer=defer)

    parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    annotation=discord.Interaction)]
    ordered = sorted(command.options, key=lambda o: not o.required)  # Discord lists required options first
    parameters += [inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, annotation=_annotation(o, config),
                                     default=inspect.Parameter.empty if o.required else None) for o in ordered]
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    described = app_commands.describe(**{o.name: o.description[:100] for o in command.options})(callback)
    choices = {o.name: [app_commands.Choice(name=c.label, value=c.value) for c in o.choices]
               for o in command.options if o.kind is Kind.CHOICE}
    suggested = {o.name: _suggester(o.suggest) for o in command.options if o.suggest}
    described = app_commands.autocomplete(**suggested)(app_commands.choices(**choices)(described))
    slash: app_commands.Command[Any, ..., None] = app_commands.Command(
        name=command.name, description=command.description[:100], callback=described)
    slash.guild_only = command.admin
    return slash


def _annotation(option: Option, config: Config) -> Any:
    if option.kind is Kind.NUMBER:
        assert option.bounds is not None
        low, high = option.bounds(config)
        typed: Any = app_commands.Range[int, low, high]
    elif option.kind is Kind.CHOICE:
        typed = app_commands.Choice[str]
    elif option.kind is Kind.USER:
        typed = discord.Member | discord.User
    elif option.max_length:
        typed = app_commands.Range[str, 1, option.max_length]
    else:
        typed = str
    return typed if option.required else typed | None


def _options(command: Command, values: dict[str, Any]) -> dict[str, str]:
    """The options that were given, as the strings the core checks."""
    options: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, app_commands.Choice):
            options[name] = str(value.value)
        elif isinstance(value, discord.User | discord.Member):
            options[name], options[f"{name}_name"] = str(value.id), value.display_name
        else:
            options[name] = str(value)
    return options


def _defer(command: Command, config: Config) -> Defer:
    """How to acknowledge: at once when the core answers from memory, else by the reply's privacy."""
    if command.pace is Pace.INSTANT:
        return Defer.NO
    if command.pace is Pace.USUALLY_QUICK:
        return Defer.AUTO
    return Defer.PRIVATE if command.is_private(config) else Defer.PUBLIC


Suggester = Callable[[discord.Interaction[Any], str], Coroutine[Any, Any, list[app_commands.Choice[str]]]]


def _suggester(source: str) -> Suggester:
    async def suggest(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
        return choices_for(interaction, source, current)

    return suggest


async def _refuse_if_cannot_post(interaction: discord.Interaction[Any]) -> bool:
    """True (after telling the user what to grant) when the bot could not post rounds in this channel."""
    missing = missing_post_permissions(interaction)
    if missing:
        await apologize(interaction, f"I can't post questions in this channel: I need {', '.join(missing)} here. "
                                     "Ask an admin to grant them, or use another channel.")
    return bool(missing)
