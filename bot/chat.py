"""Shared value types: where something happens and who did it.

The bottom room of the house: the store keeps these, the core reasons with them, adapters
build them. This module imports nothing from ``bot``, so every layer may import it.
"""

from __future__ import annotations

from dataclasses import dataclass


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


# A direct message to one person is addressed as a channel whose id is "@" and their user id:
# no platform's channel ids start with "@", so the outbox keeps one queue per person and each
# adapter opens the platform's DM (Discord: the user's DM channel; Slack: conversations.open).
DIRECT = "@"


def direct_channel(platform: str, workspace: str, user_id: str) -> Channel:
    """Where a private message to ``user_id`` goes (a reminder the core sends on its own)."""
    return Channel(platform, workspace, DIRECT + user_id)


def direct_user(channel: Channel) -> str | None:
    """The person a direct channel addresses, or None for an ordinary channel."""
    return channel.channel_id[len(DIRECT):] if channel.channel_id.startswith(DIRECT) else None
