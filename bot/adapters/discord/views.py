"""The core's buttons as Discord components that keep working after a restart.

Every button is a :class:`StudyButton`, a ``DynamicItem``: discord.py matches a press by its
custom id against the template, whichever message (or process) the button came from, so
nothing is kept in memory per message and a round posted before a restart is still answered.
The custom id *is* the core's ``Button.id``; the core reads everything it needs from it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot.adapters.discord.client import StudyClient
from bot.core import buttons
from bot.core.replies import Button

log = logging.getLogger(__name__)

# Every id the core builds or built before (bot.core.buttons writes the format down once).
BUTTON_TEMPLATE = re.compile(buttons.TEMPLATE)
STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
}
PER_ROW = 5


class StudyButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=BUTTON_TEMPLATE):
    """A button whose custom id is a core button id; a press becomes a ``ButtonEvent``."""

    def __init__(self, custom_id: str, label: str, style: discord.ButtonStyle = discord.ButtonStyle.secondary,
                 row: int | None = None) -> None:
        super().__init__(discord.ui.Button(custom_id=custom_id, label=label, style=style), row=row)

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> StudyButton:
        """Rebuilds the button from the pressed component (discord.py calls this on every press)."""
        label = getattr(item, "label", None) or match.string
        style = getattr(item, "style", discord.ButtonStyle.secondary)
        return cls(match.string, label, style)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hands the press to the client's press handler, which asks the core and sends its replies.

        The handler is the client's (``StudyClient.answer_press``), not imported: the module that
        answers presses builds its views with this one, and imports point one way.
        """
        client = interaction.client
        if isinstance(client, StudyClient) and client.answer_press is not None:
            await client.answer_press(interaction, self.custom_id)


def view_for(buttons: tuple[Button, ...]) -> discord.ui.View | None:
    """A view holding ``buttons`` (already fitted to Discord's limits), five to a row; None if empty.

    Buttons with ids the template does not know are left out and logged: Discord would
    deliver their presses to nobody.
    """
    view = discord.ui.View(timeout=None)
    for button in buttons:
        if not BUTTON_TEMPLATE.fullmatch(button.id):
            log.warning("left out button %r: its id matches no template this adapter listens for", button.id)
            continue
        style = STYLES.get(button.style, discord.ButtonStyle.secondary)
        view.add_item(StudyButton(button.id, button.label, style, row=len(view.children) // PER_ROW))
    return view if view.children else None


def shows_button(message: discord.Message | None, custom_id: str) -> bool:
    """Whether ``message`` still shows the button ``custom_id``, i.e. whether a press on it reaches a StudyButton.

    discord.py finds a dynamic item's button in the pressed message as Discord sends it; a
    press arriving after the message was edited (a round closed, buttons removed) finds none
    and would be dropped. This mirrors discord.py's lookup so such presses can be answered.
    """
    if message is None:
        return False
    view_class = discord.ui.LayoutView if message.flags.components_v2 else discord.ui.View
    view = view_class.from_message(message, timeout=None)
    return any(getattr(item, "custom_id", None) == custom_id for item in view.walk_children())

