"""Hints a player can ask for privately: letters then words of a typed answer, or a 50/50.

Both are pure functions of the card (and, for the 50/50, a seed naming the player and the
round), so pressing again, or after a restart, shows the same hint.
"""

from __future__ import annotations

import random

from bot.kb.model import QuizCard

HINT_LEVELS = 3  # first letters; half of each word; every word but the last
MASK = "·"


def letters_hint(answer: str, level: int) -> str:
    """``answer`` partly masked: level 1 shows each word's first letter, level 2 half of each
    word's letters, level 3 every word but the last in full (a one-word answer: all but its
    last quarter). Spaces and punctuation always show, so the shape is there from the start."""
    words = answer.split(" ")
    if level >= 3:
        if len(words) > 1:
            return " ".join(words[:-1] + [_mask(words[-1], max(1, (len(words[-1]) + 1) // 2))])
        letters = sum(c.isalnum() for c in answer)
        return _mask(answer, max(1, letters - max(1, letters // 4)))
    return " ".join(_mask(w, 1 if level <= 1 else max(1, (len(w) + 1) // 2)) for w in words)


def _mask(word: str, shown: int) -> str:
    """``word`` with its letters and digits after the first ``shown`` masked."""
    out, seen = [], 0
    for char in word:
        if char.isalnum():
            seen += 1
            out.append(char if seen <= shown else MASK)
        else:
            out.append(char)
    return "".join(out)


def fifty_fifty(card: QuizCard, seed: str) -> list[int]:
    """The choice indexes a 50/50 leaves: the right one and one wrong one, in the card's order."""
    wrong = [i for i in range(len(card.choices)) if i != card.correct_index]
    kept = random.Random(seed).choice(wrong) if wrong else card.correct_index
    return sorted({card.correct_index, kept})
