"""The Discord adapter: slash commands and buttons in, core replies out as embeds.

Modules, by what they hold: ``client`` (the discord.py client classes), ``commands`` (the
slash commands), ``interactions`` (interaction -> core event, replies -> responses),
``views`` (persistent buttons), ``render`` (replies -> embeds within Discord's limits),
``outbox`` (posts the core makes on its own), ``autocomplete`` (suggestions while typing).
"""

from __future__ import annotations

import logging

import discord

from bot.adapters.discord.client import StudyClient, make_client
from bot.adapters.discord.commands import add_commands
from bot.adapters.discord.interactions import answer_button, answer_modal_submit, answer_stale_press
from bot.adapters.discord.outbox import DiscordOutbox
from bot.adapters.discord.views import StudyButton
from bot.config import Config, ConfigError
from bot.core.app import StudyBot
from bot.startup import is_network_error, retry_network

__all__ = ["build_client", "run_discord", "sync_commands"]
log = logging.getLogger(__name__)


def build_client(bot: StudyBot, config: Config) -> StudyClient:
    """A client serving ``bot``: commands declared, persistent buttons registered, outbox attached."""
    client = make_client(bot, config)
    add_commands(client.tree, config)
    client.answer_press = answer_button
    client.add_dynamic_items(StudyButton)  # buttons from before a restart are answered too

    @client.event
    async def on_interaction(interaction: discord.Interaction[StudyClient]) -> None:
        await answer_stale_press(interaction)
        await answer_modal_submit(interaction)

    bot.attach("discord", DiscordOutbox(client))
    return client


async def run_discord(bot: StudyBot, config: Config) -> None:
    """Connects to Discord and serves ``bot`` until cancelled (the core's timers run elsewhere).

    Logging in is retried for ``bot.start_retry_seconds`` while the network is down; once
    logged in, discord.py reconnects the gateway by itself.

    Raises:
        ConfigError: the environment variable named by ``discord.token_env`` is not set, or
            Discord refused the token.
        StartupError: Discord stayed unreachable.
    """
    token = config.secret(config.discord.token_env, "discord.token_env")
    client = build_client(bot, config)
    async with client:
        await retry_network(lambda: _login(client, token, config.discord.token_env), "Discord's API (discord.com)",
                            config.bot.start_retry_seconds, retryable=_worth_retrying)
        await client.connect()


async def _login(client: discord.Client, token: str, env_name: str) -> None:
    try:
        await client.login(token)
    except discord.LoginFailure:
        raise ConfigError(f"discord.token_env: Discord refused the token in {env_name}; copy it again from the "
                          "Developer Portal (your application > Bot > Reset Token)") from None
    except Exception:
        # login() opened an HTTP session before failing; close it, and let the next try open a fresh one.
        await client.http.close()
        client.http.connector = discord.utils.MISSING
        raise


def _worth_retrying(exc: BaseException) -> bool:
    """The network, or Discord having a bad moment (5xx), rather than a refusal."""
    return isinstance(exc, discord.DiscordServerError) or is_network_error(exc)


async def sync_commands(config: Config, guild_id: int | None) -> int:
    """Registers the slash commands with Discord; returns how many were registered.

    With ``guild_id`` they are copied to that server, where they appear at once (for
    testing); without, they are registered globally, which Discord rolls out to every server.

    Raises:
        ConfigError: the token's environment variable is not set.
        discord.HTTPException: Discord refused (e.g. the bot is not in that server).
    """
    token = config.secret(config.discord.token_env, "discord.token_env")
    client = make_client(None, config)
    add_commands(client.tree, config)
    async with client:
        await client.login(token)
        if guild_id is None:
            synced = await client.tree.sync()
        else:
            guild = discord.Object(id=guild_id)
            client.tree.copy_global_to(guild=guild)
            synced = await client.tree.sync(guild=guild)
    log.info("registered %d Discord commands %s", len(synced), f"in server {guild_id}" if guild_id else "globally")
    return len(synced)
