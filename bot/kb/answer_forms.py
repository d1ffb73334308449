"""Canonical readings of short answers, so what a player types and what a deck lists compare alike.

A text becomes folded words grouped in pieces (one per name: ``to_numpy`` stays one piece),
without articles, "and" or "it is", with number words as digits ("twenty five" -> "25"),
plurals as singulars, and, for code, a second reading without qualifiers (``model.predict()``
also reads as "predict"). The matcher in ``answer_match`` compares these readings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.kb.text import fold

# Left out before comparing: articles; "and" ("optimizer, loss and metrics" lists the same things as
# "optimizer loss metrics"); the "it is" / "it's" people put before an answer.
SKIPPED = frozenset({"a", "an", "the", "and", "it", "is", "its", "s"})
UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
         "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
         "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
        "ninety": 90}
SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
NEGATIVES = frozenset({"minus", "negative"})
NUMBER_WORDS = frozenset(UNITS) | frozenset(TENS) | frozenset(SCALES) | NEGATIVES
_VOWELS = frozenset("aeiouy")
# Runs of wrong-choice words this long are compared with the typed text ("supervised" inside
# "Supervised learning"); typed answers are a few words, so longer runs add nothing.
MAX_SPAN = 4
# A number (with sign, thousands separators and decimals) or a dotted identifier, optionally called.
_PIECE = re.compile(
    r"(?P<num>(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w]))"
    r"|(?P<ident>[^\W_]\w*(?:\.\w+)*)(?P<call>\s*\()?"
)
DIGITS = re.compile(r"-?\d+(?:\.\d+)?")
_HAS_DIGIT = re.compile(r"\d")
# Call arguments and keyword values, at most one level of nested brackets deep.
_ARGUMENTS = re.compile(r"\s*=\s*(?:\([^()]*\)|\[[^\[\]]*\]|[^\s,()]+)|\((?:[^()]|\([^()]*\))*\)")


@dataclass(frozen=True)
class Form:
    """One canonical reading of a text: its words, and the strings compared with edit distance."""

    pieces: tuple[tuple[str, ...], ...]
    words: tuple[str, ...]
    joined: str
    sorted_joined: str
    numbers: tuple[str, ...]


def shortest_word(form: Form) -> int:
    """Length of the form's shortest word that is not a number (numbers are never forgiven anyway)."""
    return min((len(w) for w in form.words if not DIGITS.fullmatch(w)), default=len(form.joined))


def spans(form: Form) -> list[Form]:
    """The form itself and every run of up to MAX_SPAN of its pieces (a name like to_numpy stays whole)."""
    runs = [form]
    for size in range(1, min(MAX_SPAN, len(form.pieces) - 1) + 1):
        for i in range(len(form.pieces) - size + 1):
            runs.append(_make_form(form.pieces[i:i + size]))
    return runs


@lru_cache(maxsize=16384)
def forms(text: str, droppable: frozenset[str] = frozenset(), typed: bool = False) -> tuple[Form, ...]:
    """The canonical readings of ``text``: as written, and with code qualifiers dropped.

    ``model.predict()`` reads as "model predict" and as "predict"; a dotted name counts as code
    (so its qualifiers may be left out) when it is called, has three or more parts, or its last
    part looks like an API name (capitals or underscores), which keeps ``TensorFlow.js`` whole.
    What a player typed (``typed``) is also read without call arguments and keyword values
    (``Dropout(0.5)``, ``validation_data=(x_val, y_val)``), which answers rarely spell out.
    ``droppable`` words (the question's, see ``answer_match``) are left out when others remain.
    Cached: a channel's players type the same few answers.
    """
    texts = [text]
    if typed:
        bare = _ARGUMENTS.sub(lambda m: "()" if m[0].startswith("(") else "", text)
        if bare != text:
            texts.append(bare)
    found: list[Form] = []
    for variant in texts:
        for pieces in _readings(variant):
            kept = _drop_words(pieces, droppable)
            if kept:
                form = _make_form(kept)
                if form not in found:
                    found.append(form)
    return tuple(found)


def _readings(text: str) -> list[list[tuple[str, ...]]]:
    """The text's pieces (each a tuple of folded words) as written and with code qualifiers dropped."""
    full: list[tuple[str, ...]] = []
    short: list[tuple[str, ...]] = []
    for match in _PIECE.finditer(text.replace("`", " ").replace("@", " ")):
        if match["num"]:
            number = (_number(match["num"]),)
            full.append(number)
            short.append(number)
            continue
        parts = match["ident"].split(".")
        last = parts[-1]
        pieces = [piece for piece in (tuple(w for w in fold(part).split("_") if w) for part in parts) if piece]
        full.extend(pieces)
        code = len(parts) >= 3 or match["call"] is not None or "_" in last or last[1:] != last[1:].lower()
        short.extend(pieces[-1:] if len(parts) > 1 and code else pieces)
    readings = [full] if short == full else [full, short]
    return [_numbers_as_digits(reading) for reading in readings]


def _numbers_as_digits(pieces: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Runs of number words as digits ("twenty five" -> "25", "minus one" -> "-1"), each its own piece."""
    if not any(w in NUMBER_WORDS for piece in pieces for w in piece):
        return pieces
    words = [w for piece in pieces for w in piece]
    out: list[tuple[str, ...]] = []
    i = 0
    while i < len(words):
        value, i_after = _number_at(words, i)
        if value is None:
            out.append((words[i],))
            i += 1
        else:
            out.append((value,))
            i = i_after
    return out


def _number_at(words: list[str], i: int) -> tuple[str | None, int]:
    """The number spelled by the words from ``i`` on, and where it ends; None when there is none."""
    sign = ""
    if words[i] in NEGATIVES and i + 1 < len(words) and (words[i + 1] in UNITS or words[i + 1] in TENS):
        sign, i = "-", i + 1
    total = current = used = 0
    while i < len(words):
        word = words[i]
        if word in UNITS:
            current += UNITS[word]
        elif word in TENS:
            current += TENS[word]
        elif word in SCALES and used:
            current = max(current, 1) * SCALES[word]
            if SCALES[word] >= 1000:
                total, current = total + current, 0
        elif not (word == "and" and used and i + 1 < len(words) and words[i + 1] in UNITS):
            break
        used += 1
        i += 1
    return (sign + str(total + current), i) if used else (None, i)


def _drop_words(pieces: list[tuple[str, ...]], droppable: frozenset[str]) -> tuple[tuple[str, ...], ...]:
    """Singular words without articles, joiners, fillers and (if anything else is left) droppable words."""
    kept = [tuple(_singular(w) for w in piece if w not in SKIPPED) for piece in pieces]
    kept = [piece for piece in kept if piece]
    if droppable:
        trimmed = [p for p in (tuple(w for w in piece if w not in droppable) for piece in kept) if p]
        kept = trimmed or kept
    return tuple(kept)


def _make_form(pieces: tuple[tuple[str, ...], ...]) -> Form:
    words = tuple(w for piece in pieces for w in piece)
    numbers = tuple(sorted(DIGITS.findall(" ".join(words)))) if _HAS_DIGIT.search("".join(words)) else ()
    return Form(pieces=pieces, words=words, joined="".join(words), sorted_joined="".join(sorted(words)),
                 numbers=numbers)


def _number(text: str) -> str:
    """A number in one spelling: "3.0" and "+3" are "3", "10,000" is "10000"."""
    value = float(text.replace(",", ""))
    return str(int(value)) if value.is_integer() else repr(value)


@lru_cache(maxsize=65536)
def _singular(word: str) -> str:
    """A plural's singular by the common English endings; short words and codes stay as they are."""
    if len(word) <= 3 or word[-1] != "s" or not _VOWELS.intersection(word) or _HAS_DIGIT.search(word):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is")):
        return word
    return word[:-1]
