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
