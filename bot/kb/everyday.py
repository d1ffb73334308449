"""Everyday chat, and the answer threshold each deck reads from how it scores it.

Why a threshold per deck: with one threshold for every deck, it had to sit where the decks most
like everyday chat (an IT helpdesk's, an expenses policy's: "how do I book leave" is their
subject) still declined 95% of it. Every other deck then declined questions it ranked right:
on the fifty-seven dev decks, the best threshold for each deck alone, its chat still declined
95.5%, was worth 3.3 points of mean decision. A deck shows where its own chat level is by how
it scores everyday chat, so each deck scores ``everyday_chat.txt`` once (before a bot serves,
when its index is kept, or on the first question the rule cannot settle without it) and answers
above what all but the last few per cent of those lines reach there (``Tuning.everyday_quantile``,
``everyday_margin``), between ``threshold_floor`` and ``threshold_cap``: never on less than the
floor's odds, where chat reaches nothing (a small deck), and never asking more than the cap,
where chat is the deck's subject.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import numpy as np

from bot.kb.tuning import Tuning

EVERYDAY_CHAT = Path(__file__).with_name("everyday_chat.txt")
# A line answered without the rule (an entry's own words) or with nothing to weigh stands at the
# top or bottom: a finite stand-in, so a quantile between it and a real log-odds is a number.
OUT_OF_REACH = 50.0


@cache
def everyday_lines() -> tuple[str, ...]:
    """The everyday chat lines every deck is calibrated on (comments and blank lines aside)."""
    text = EVERYDAY_CHAT.read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def deck_threshold(logits: Sequence[float], tuning: Tuning) -> float:
    """A deck's answer threshold from the rule's log-odds on every everyday line (+-inf where it
    answers without the rule or is not asked; ``OUT_OF_REACH`` stands in). No lines: the cap."""
    if not len(logits):
        return tuning.threshold_cap
    level = everyday_level(logits, tuning.everyday_quantile) + tuning.everyday_margin
    return float(clamp(level, tuning.threshold_floor, tuning.threshold_cap))


def everyday_level(logits: Sequence[float] | np.ndarray, quantile: float) -> float:
    """The ``quantile`` of the rule's log-odds on a deck's everyday lines, +-inf at ``OUT_OF_REACH``
    (the fit computes it for many rules, ``deck_threshold`` for the one in ``Tuning``)."""
    levels = np.clip(np.asarray(logits, dtype=float), -OUT_OF_REACH, OUT_OF_REACH)
    return float(np.quantile(levels, quantile))


def clamp(level: float | np.ndarray, floor: float, cap: float) -> float | np.ndarray:
    """No lower than ``floor``, no higher than ``cap`` (the cap wins should they cross), for one
    deck or (the fit) many at once."""
    return np.minimum(cap, np.maximum(floor, level))


def line_logit(features: tuple[float, ...], answered: bool, rule: Callable[[tuple[float, ...]], float]) -> float:
    """What ``rule`` (log-odds from the answer features) gives an everyday line: +inf if a deck
    answers it without the rule (an entry's own words, a symbol one entry names), -inf if the rule
    is not asked (no match, or too little evidence)."""
    if answered and not features:
        return math.inf
    return rule(features) if features else -math.inf
