"""The core's text fields (a typed answer) as Discord modals; submissions are read here, answered in interactions.

Pressing a typed round's "Answer" must be answered with the modal itself (interaction callback
type 9): a deferral first would make it impossible to open. The core decides from memory
whether the round is open, so this stays well inside Discord's 3 seconds. The submission
(interaction type 5, MODAL_SUBMIT) is read from the raw payload by the modal's custom id, the
core's field id (``v1:typed:<round>``), so a modal opened before a restart is still taken.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import discord

from bot.core.replies import TextInput, fit

ANSWER_FIELD = "answer"  # the text input's custom id inside the modal
MODAL_SECONDS = 900.0  # discord.py forgets an unanswered modal after this (the submission is read by id anyway)
TITLE_LIMIT = LABEL_LIMIT = 45
PLACEHOLDER_LIMIT = 100


def modal_for(field: TextInput) -> discord.ui.Modal:
    """A modal with one short text input, named by the core's field id."""
    modal = discord.ui.Modal(title=fit(field.title, TITLE_LIMIT), custom_id=field.id, timeout=MODAL_SECONDS)
    modal.add_item(discord.ui.TextInput(label=fit(field.label, LABEL_LIMIT), custom_id=ANSWER_FIELD,
                                        placeholder=fit(field.placeholder, PLACEHOLDER_LIMIT) or None,
                                        max_length=field.max_length, style=discord.TextStyle.short))
    return modal


def submitted_text(data: dict[str, Any]) -> str:
    """The value of the answer field in a MODAL_SUBMIT's data (inside action rows or labels)."""
    def values(components: list[Any]) -> Iterator[str]:
        for component in components:
            if component.get("custom_id") == ANSWER_FIELD and isinstance(component.get("value"), str):
                yield component["value"]
            yield from values(component.get("components") or [])
            if isinstance(component.get("component"), dict):
                yield from values([component["component"]])
    return next(values(data.get("components") or []), "")
