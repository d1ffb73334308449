"""The core's text fields (a typed answer) as Slack modals, and their ``view_submission`` back as core events.

A press on a typed round's "Answer" carries a ``trigger_id``; ``views.open`` with it (within
Slack's 3 seconds) shows the modal. Its ``callback_id`` is the core's field id
(``v1:typed:<round>``) and its ``private_metadata`` the channel, so a submission is understood
without any state kept here, also after a restart. Nothing needs a channel-history scope.
"""

from __future__ import annotations

import json
from typing import Any

from bot.core.replies import TextInput, fit

ANSWER_BLOCK = ANSWER_ACTION = "answer"
TITLE_LIMIT = 24  # Slack's limit on a modal's title
LABEL_LIMIT = 2000
PLACEHOLDER_LIMIT = 150


def modal_view(field: TextInput, team: str, channel_id: str) -> dict[str, Any]:
    """The ``views.open`` view asking for one line of text."""
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": ANSWER_ACTION, "max_length": field.max_length}
    if field.placeholder:
        element["placeholder"] = {"type": "plain_text", "text": fit(field.placeholder, PLACEHOLDER_LIMIT)}
    return {
        "type": "modal",
        "callback_id": field.id,
        "private_metadata": json.dumps({"team": team, "channel": channel_id}),
        "title": {"type": "plain_text", "text": fit(field.title, TITLE_LIMIT)},
        "submit": {"type": "plain_text", "text": "Submit"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [{"type": "input", "block_id": ANSWER_BLOCK, "label": {"type": "plain_text",
                                                                          "text": fit(field.label, LABEL_LIMIT)},
                    "element": element}],
    }


def submission(view: dict[str, Any]) -> tuple[str, str, str]:
    """(team, channel id, text typed) of a submitted modal view."""
    try:
        where = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        where = {}
    value = (((view.get("state") or {}).get("values") or {}).get(ANSWER_BLOCK) or {}).get(ANSWER_ACTION) or {}
    return str(where.get("team", "")), str(where.get("channel", "")), str(value.get("value") or "")
