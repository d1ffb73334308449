"""The quiz card every imported entry needs (the loader requires at least one per entry).

Two rules, applied in this order:

1. A note with choices (a ``choices`` column, ``choice 1``..``choice 5`` / ``option A``.. columns,
   or ``wrong`` answers next to the right one) becomes a multiple-choice card with those choices
   in the given order; ``correct`` (or the answer) names the right one by its text, its number
   (1-5) or its letter (A-E).
2. A plain front/back flashcard becomes a multiple-choice card whose right choice is its answer
   and whose wrong choices are the answers of up to three other entries of the same import,
   same topic first. Choices are picked and ordered by hashing entry ids, never at random, so
   importing the same file again gives the same cards. An answer too long to be a choice (over
   ``CHOICE_LIMIT`` characters, or holding code or a table), or one no other entry offers wrong
   answers for, turns the card around: the answer is the prompt and the entry's question is the
   right choice among other entries' questions.

A note for which neither rule makes a valid card is left out, with the reason.
"""

from __future__ import annotations

import hashlib
import re

from bot.kb.importing.notes import Note
from bot.kb.loader import MAX_LENGTH

# Longest text offered as a choice: the round message shows choices whole, but a paragraph
# among the options is no longer a multiple-choice question.
CHOICE_LIMIT = 120
WRONG_CHOICES = 3
SCAN_ALL = 50  # groups up to this size are searched whole for wrong choices
PROBES = 30  # hashed picks from a larger group: enough to find three different texts
MAX_CHOICES = 5
_MARKER = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+|#+\s+|>\s?)")
_LETTERS = "abcde"
_EMPHASIS = re.compile(r"(\*\*|__|~~|\*)(\S(?:.*?\S)?)\1")


class NoCard(Exception):
    """No valid quiz card can be made for a note; the message says why, for the import report."""


class ChoicePool:
    """Other entries' short answers (or questions), by topic, to draw wrong choices from.

    Built once per import. Each entry looks at a fixed handful of positions chosen by hashing
    its id, not at every other entry, so a 10,000-note deck costs the same per note as a small one.
    """

    def __init__(self, items: list[tuple[str, str, str]]) -> None:
        """``items``: (entry id, topic, text) of every entry whose text can be a choice."""
        self.everything = [(entry_id, text) for entry_id, _, text in items]
        self.by_topic: dict[str, list[tuple[str, str]]] = {}
        for entry_id, topic, text in items:
            self.by_topic.setdefault(topic, []).append((entry_id, text))

    def wrong_choices(self, entry_id: str, topic: str, right: str) -> list[str]:
        """Up to WRONG_CHOICES texts unlike ``right`` and each other, same topic first."""
        seen = {fold(right)}
        wrong: list[str] = []
        for group in (self.by_topic.get(topic, []), self.everything):
            for other_id, text in _positions(entry_id, group):
                if len(wrong) == WRONG_CHOICES:
                    return wrong
                if other_id != entry_id and fold(text) not in seen:
                    seen.add(fold(text))
                    wrong.append(text)
        return wrong


def _positions(entry_id: str, group: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A small group whole, in an order fixed by ``entry_id``; from a large one, PROBES hashed picks."""
    if len(group) <= SCAN_ALL:
        return sorted(group, key=lambda item: _digest(entry_id, item[0]))
    return [group[int(_digest(entry_id, str(k)), 16) % len(group)] for k in range(PROBES)]


def fold(text: str) -> str:
    """Text compared the way the loader compares choices: case and spacing do not matter."""
    return " ".join(text.casefold().split())


def one_line(markdown: str, joiner: str = " ") -> str:
    """``markdown`` on one line: code fences dropped, list and heading marks removed."""
    lines = [_MARKER.sub("", line).strip() for line in markdown.splitlines() if not line.lstrip().startswith("```")]
    return joiner.join(line for line in lines if line)


def shorten(markdown: str, limit: int) -> str:
    """``markdown`` as it is when it fits ``limit``, else on one line, cut at a word with "…".

    Used for the text a card repeats (a turned-around card's prompt, an explanation): the entry
    keeps the full answer, and a cut on one line cannot leave a code fence open.
    """
    if len(markdown) <= limit:
        return markdown
    flat = one_line(markdown)
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


def as_choice(markdown: str) -> str | None:
    """``markdown`` as a choice's text (one line, no bold or italics), or None when too long, code or a table."""
    if "```" in markdown or any(line.lstrip().startswith("|") for line in markdown.splitlines()):
        return None
    text = _EMPHASIS.sub(r"\2", one_line(markdown, " · "))  # a button shows ** as it is
    return text if text and len(text) <= CHOICE_LIMIT else None


def card_from_choices(note: Note, prompt: str) -> tuple[dict[str, object], str]:
    """The note's own multiple-choice card, and the entry's answer (the right choice when only a label was given).

    Raises:
        NoCard: too few or too many choices, two alike, or no way to tell which one is right.
    """
    choices = list(note.choices)
    if not 2 <= len(choices) <= MAX_CHOICES:
        raise NoCard(f"has {len(choices)} choice(s); a card needs 2 to {MAX_CHOICES}")
    seen: set[str] = set()
    for choice in choices:
        if len(choice) > MAX_LENGTH["text"]:
            raise NoCard(f"a choice is {len(choice)} characters long; a deck allows {MAX_LENGTH['text']}")
        if fold(choice) in seen:
            raise NoCard(f"two choices read the same ({choice!r})")
        seen.add(fold(choice))
    named = note.correct or note.answer
    if not named:
        raise NoCard("has choices but no correct answer; name the right one in a correct column")
    index = _correct_index(choices, named)
    if index is None:
        listed = ", ".join(repr(c) for c in choices)
        raise NoCard(f"the correct answer {named!r} is none of the choices ({listed}); give its text, "
                     "number or letter")
    answer = note.answer
    if not answer or _is_label(choices, answer):  # "B" or "2" says which choice; the entry wants its text
        answer = choices[index]
    card: dict[str, object] = {"id": "q1", "prompt": shorten(prompt, MAX_LENGTH["prompt"]),
                               "choices": _choice_dicts(choices, index),
                               "explanation": shorten(note.explanation or answer, MAX_LENGTH["explanation"])}
    return card, answer


def _is_label(choices: list[str], text: str) -> bool:
    """Whether ``text`` is a choice's number or letter rather than words of its own."""
    folded = fold(text)
    return all(fold(c) != folded for c in choices) and _correct_index(choices, text) is not None


def _correct_index(choices: list[str], named: str) -> int | None:
    """Which choice ``named`` means: its text first, then its number (1-5), then its letter (A-E)."""
    folded = fold(named).rstrip(".)")
    for i, choice in enumerate(choices):
        if fold(choice) == fold(named):
            return i
    if folded.isdigit() and 1 <= int(folded) <= len(choices):
        return int(folded) - 1
    if len(folded) == 1 and folded in _LETTERS[: len(choices)]:
        return _LETTERS.index(folded)
    return None


def generated_card(entry_id: str, topic: str, prompt: str, question: str, answer: str,
                   answers: ChoicePool, questions: ChoicePool, short_answer: str = "") -> dict[str, object]:
    """A multiple-choice card for a plain flashcard, its wrong choices taken from other entries.

    Raises:
        NoCard: both sides are too long to be choices, or no other entry offers a different text.
    """
    right_answer, right_question = as_choice(short_answer or answer), as_choice(question)
    if right_answer is None and right_question is None:
        raise NoCard(f"the answer and the question are both too long to be a choice (over {CHOICE_LIMIT} "
                     "characters, or code); add choices and a correct column for it")
    if right_answer is not None:  # forward: pick the answer among other answers
        wrong = answers.wrong_choices(entry_id, topic, right_answer)
        if wrong:
            return _card(entry_id, prompt, right_answer, wrong, answer)
    if right_question is not None:  # turned around: pick the question the answer belongs to
        wrong = questions.wrong_choices(entry_id, topic, right_question)
        if wrong:
            return _card(entry_id, f"Which question does this answer?\n\n{answer}", right_question, wrong,
                         f"It answers: {one_line(question)}")
    raise NoCard("no other entry has a different short answer to offer as a wrong choice; import more "
                 "cards together, or give this one choices")


def _card(entry_id: str, prompt: str, right: str, wrong: list[str], explanation: str) -> dict[str, object]:
    choices = sorted([right, *wrong], key=lambda text: _digest(entry_id, text))
    return {"id": "q1", "prompt": shorten(prompt, MAX_LENGTH["prompt"]),
            "choices": _choice_dicts(choices, choices.index(right)),
            "explanation": shorten(explanation, MAX_LENGTH["explanation"])}


def _choice_dicts(choices: list[str], right: int) -> list[dict[str, object]]:
    return [{"text": text, "correct": True} if i == right else {"text": text} for i, text in enumerate(choices)]


def _digest(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()
