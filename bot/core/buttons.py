"""Button ids: built and read here only, so a button keeps working after a restart or an upgrade.

An id says what pressing it means (``v1:answer:<round>:<choice>``, ``v1:type:<round>``,
``v1:hint:<round>``, ``v1:ask:<deck>/<entry>``, ``v1:practice:<deck>/<entry>``,
``v1:review:<action>:<version>:<card>``; a typed answer's text field is ``v1:typed:<round>``);
the core keeps no state per message. The ``v1:`` prefix names
the format: ids on messages posted before it existed (``answer:12:3``) still parse, and a
later format can change its fields without misreading old ones. Adapters that must declare
which ids they listen for (Discord's ``DynamicItem``) use :data:`TEMPLATE`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

VERSION = "v1"
_ROUND = r"\d+"
_ENTRY = r".+"
# Each kind's fields as regex groups, in order; the one place the format is written down.
_KINDS = {"answer": (_ROUND, _ROUND), "type": (_ROUND,), "hint": (_ROUND,), "ask": (_ENTRY,),
          "practice": (_ENTRY,), "review": (r"[a-z]+\d?", _ROUND, _ENTRY)}
_PATTERNS = {kind: re.compile(rf"(?:{VERSION}:)?{kind}:" + ":".join(f"({g})" for g in groups))
             for kind, groups in _KINDS.items()}
TEMPLATE = f"(?:{VERSION}:)?(?:" + "|".join(
    f"{kind}:" + ":".join(groups) for kind, groups in _KINDS.items()) + ")"


@dataclass(frozen=True)
class AnswerPress:
    """A choice in a quiz round."""

    round_id: int
    choice: int


@dataclass(frozen=True)
class EntryPress:
    """A deck entry: ``ask`` shows its card, ``practice`` starts a private question about it."""

    kind: str
    entry_key: str  # "deck/entry"


@dataclass(frozen=True)
class RoundPress:
    """A round's own button: ``type`` opens a text field for a typed answer, ``hint`` asks for a hint."""

    kind: str
    round_id: int


@dataclass(frozen=True)
class ReviewPress:
    """A button of a private review session (bot.core.reviews).

    ``action``: ``pick0``-``pick4`` (a choice), ``show`` (a flashcard's answer), ``rate1``-``rate4``
    (Again to Easy), ``add`` (new cards from the topic ``item``), ``stop``; prefixed ``fc`` in a
    flashcard session (``fcshow``, ``fcrate3``, ``fcfront``: "Flip to flashcard"), so its next card
    is one too. ``version``: the card's
    memory state the message was built from, so a rating pressed twice counts once.
    """

    action: str
    version: int
    item: str  # a card id, an entry id (a flashcard), a topic scope, or "-"


Press = AnswerPress | RoundPress | EntryPress | ReviewPress


def answer_id(round_id: int, choice: int) -> str:
    """The id of choice ``choice`` (0-based) in round ``round_id``."""
    return f"{VERSION}:answer:{round_id}:{choice}"


def ask_id(entry_key: str) -> str:
    """The id of a button that shows the entry ``deck/entry``."""
    return f"{VERSION}:ask:{entry_key}"


def practice_id(entry_key: str) -> str:
    """The id of a "Quiz me on this" button for the entry ``deck/entry``."""
    return f"{VERSION}:practice:{entry_key}"


def type_id(round_id: int) -> str:
    """The id of a typed round's "Answer" button (it opens a text field)."""
    return f"{VERSION}:type:{round_id}"


def hint_id(round_id: int) -> str:
    """The id of a round's "Hint" (typed) or "50/50" (buttons) button."""
    return f"{VERSION}:hint:{round_id}"


def review_id(action: str, version: int, item: str) -> str:
    """The id of a review session's button (see :class:`ReviewPress`)."""
    return f"{VERSION}:review:{action}:{version}:{item}"


def typed_answer_id(round_id: int) -> str:
    """The id of the text field a typed answer to round ``round_id`` is written in (a modal's field)."""
    return f"{VERSION}:typed:{round_id}"


TYPED_TEMPLATE = rf"{VERSION}:typed:{_ROUND}"  # for adapters that declare which fields they listen for
_TYPED = re.compile(rf"{VERSION}:typed:({_ROUND})")


def parse_typed_answer(input_id: str) -> int | None:
    """The round a submitted text field answers, or None if the id is not one of ours."""
    match = _TYPED.fullmatch(input_id)
    return int(match.group(1)) if match else None


@lru_cache(maxsize=4096)
def parse(button_id: str) -> Press | None:
    """What a pressed id means, for this format and the unversioned one before it; None if not ours.

    Cached: a round's hundreds of presses carry a handful of ids, and a press is frozen, so sharing is safe.
    """
    for kind, pattern in _PATTERNS.items():
        match = pattern.fullmatch(button_id)
        if match is None:
            continue
        if kind == "answer":
            return AnswerPress(int(match.group(1)), int(match.group(2)))
        if kind in ("type", "hint"):
            return RoundPress(kind, int(match.group(1)))
        if kind == "review":
            return ReviewPress(match.group(1), int(match.group(2)), match.group(3))
        return EntryPress(kind, match.group(1))
    return None
