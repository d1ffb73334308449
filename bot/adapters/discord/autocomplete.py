"""Suggestions while a user types an option: the core's (``bot.core.suggest``), fitted to Discord.

Discord shows at most 25 choices, each name and value at most 100 characters, and gives an
autocomplete request 3 seconds with no way to defer; the core only reads memory for these.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord.client import studybot_of
from bot.core.replies import fit
from bot.core.suggest import suggest

log = logging.getLogger(__name__)
CHOICES_LIMIT = 25
CHOICE_LIMIT = 100


def choices_for(interaction: discord.Interaction[Any], source: str, current: str) -> list[app_commands.Choice[str]]:
    """The core's suggestions from ``source`` as Discord choices; none when that fails."""
    try:
        found = suggest(source, current, studybot_of(interaction).library, CHOICES_LIMIT)
    except Exception:  # an autocomplete failure must not cost the user their typing
        log.exception("%s suggestions for %r failed", source, current)
        return []
    choices: dict[str, app_commands.Choice[str]] = {}
    for suggestion in found:
        value = fit(suggestion.value, CHOICE_LIMIT)
        choices.setdefault(value, app_commands.Choice(name=fit(suggestion.label, CHOICE_LIMIT), value=value))
    return list(choices.values())
