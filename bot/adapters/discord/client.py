"""The Discord client classes: discord.py's clients, plus the StudyBot they serve and their command tree.

Slash commands and persistent buttons are declared once per client, but dispatched by
discord.py; their callbacks find the StudyBot through ``interaction.client``, so the same
declarations serve a running bot and ``studybot discord sync`` (which has no StudyBot).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from bot.config import Config
from bot.core.app import StudyBot

log = logging.getLogger(__name__)


class StudyClient(discord.Client):
    """A discord.Client that knows its StudyBot (None when built only to sync commands)."""

    def __init__(self, studybot: StudyBot | None, **options: Any) -> None:
        super().__init__(**options)
        self.studybot = studybot
        # Answers a press on one of the core's buttons (set by build_client: interactions.answer_button).
        self.answer_press: Callable[[discord.Interaction[Any], str], Awaitable[None]] | None = None
        self.tree: app_commands.CommandTree[StudyClient] = app_commands.CommandTree(self)

    async def on_ready(self) -> None:
        """Logs who the bot is and where, the first thing to check when commands do not show up."""
        log.info("Discord: logged in as %s (application %s) in %d server(s)", self.user, self.application_id,
                 len(self.guilds))


RATE_LIMIT_WAIT_SECONDS = 30.0  # discord.py's smallest allowed value


class ShardedStudyClient(StudyClient, discord.AutoShardedClient):
    """The same, over several gateway shards: Discord requires sharding from 2,500 servers on."""


def make_client(studybot: StudyBot | None, config: Config) -> StudyClient:
    """A client that asks the gateway only for servers and channels, can never ping anyone, sharded if configured.

    Slash commands, buttons and autocomplete arrive as interactions, which carry their own user,
    member, channel and permissions whatever the intents; GUILDS keeps the server and channel
    cache (``on_ready``'s count, threads resolved for permission checks). Every other intent
    would be traffic (presence, typing, messages, reactions) the bot receives only to drop.
    """
    intents = discord.Intents.none()
    intents.guilds = True
    # The bot never joins voice. discord.py warns once per process, at WARNING, that PyNaCl and davey
    # (voice) are missing unless these switches of its own are off: a warning on every start that
    # operators learn to ignore. Other discord.client warnings still show.
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
    # A rate limit longer than this is raised (RateLimited) instead of slept through inside the
    # request: the outbox then retries after Retry-After instead of holding the channel's delivery
    # for minutes. A shorter one that outlasts the outbox's attempt (a third of [delivery]
    # lease_seconds, 10 s by default) is cut off there and retried with backoff.
    options: dict[str, Any] = {"intents": intents, "allowed_mentions": discord.AllowedMentions.none(),
                               "max_ratelimit_timeout": RATE_LIMIT_WAIT_SECONDS}
    if config.discord.shard_ids:
        # This process runs some of the shards; other processes (on the same database) run the rest.
        return ShardedStudyClient(studybot, shard_count=config.discord.shard_count,
                                  shard_ids=list(config.discord.shard_ids), **options)
    if config.discord.sharded:
        # shard_count None lets Discord recommend how many shards to use.
        return ShardedStudyClient(studybot, shard_count=config.discord.shard_count or None, **options)
    return StudyClient(studybot, **options)


def studybot_of(interaction: discord.Interaction[Any]) -> StudyBot:
    """The StudyBot behind the client that received ``interaction``.

    Raises:
        RuntimeError: the client was built without one (only to sync commands).
    """
    client = interaction.client
    if isinstance(client, StudyClient) and client.studybot is not None:
        return client.studybot
    raise RuntimeError("this Discord client serves no StudyBot (it was built only to sync commands)")
