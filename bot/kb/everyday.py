"""Everyday chat, and the answer threshold each deck reads from how it scores it.

Why a threshold per deck: with one threshold for every deck, it had to sit where the decks most
like everyday chat (an IT helpdesk's, an expenses policy's: "how do I book leave" is their
subject) still declined 95% of it. Every other deck then declined questions it ranked right:
on the fifty-seven dev decks, the best threshold for each deck alone, its chat still declined
95.5%, was worth 3.3 points of mean decision. A deck shows where its own chat level is by how
it scores everyday chat, so each deck scores ``everyday_chat.txt`` once (when its index is
kept, or on the first question the rule cannot settle without it) and answers above what all
but the last few per cent of those lines reach there (``Tuning.everyday_quantile``,
``everyday_margin``), between ``threshold_floor`` and ``threshold_cap``: never on less than the
floor's odds, where chat reaches nothing, and never asking more than the one pooled threshold
did, where chat is the deck's subject.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import numpy as np

from bot.kb.tuning import Tuning

EVERYDAY_CHAT = Path(__file__).with_name("everyday_chat.txt")
# A line answered word for word (an entry's own question) or with nothing to weigh stands at the
# top or bottom: a finite stand-in, so a quantile between it and a real log-odds is a number.
OUT_OF_REACH = 50.0


@cache
def everyday_lines() -> tuple[str, ...]:
    """The everyday chat lines every deck is calibrated on (comments and blank lines aside)."""
    text = EVERYDAY_CHAT.read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def deck_threshold(logits: Sequence[float], tuning: Tuning) -> float:
    """A deck's answer threshold from the rule's log-odds on every everyday line
    (+-inf where it answers word for word or is not asked, ``OUT_OF_REACH`` stands in)."""
    if not logits:
        return tuning.threshold_cap
    levels = np.clip(np.asarray(logits, dtype=float), -OUT_OF_REACH, OUT_OF_REACH)
    level = float(np.quantile(levels, tuning.everyday_quantile)) + tuning.everyday_margin
    return min(tuning.threshold_cap, max(tuning.threshold_floor, level))


def line_logit(features: tuple[float, ...], verbatim: bool, rule: Callable[[tuple[float, ...]], float]) -> float:
    """What ``rule`` (log-odds from the answer features) gives an everyday line: +inf if a deck
    answers it word for word, -inf if the rule is not asked (no match, or too little evidence)."""
    if verbatim:
        return math.inf
    return rule(features) if features else -math.inf
