"""Decides whether what a player typed is a card's answer: lenient with form, strict about content.

People type "Soft max", "the sigmoid", "model.predict", "three" or "sofmax" and expect to be
right; they type "supervised" for "unsupervised" or "categorical crossentropy" for the sparse one
and expect to be wrong. So both sides are reduced to the same canonical words (case, accents,
punctuation, articles, code decorations, number words and plurals fall away), compared without
spaces (``EarlyStopping`` = ``early stopping``) in written and in sorted word order, and allowed a
few typos that grow with the answer's length but never delete a whole word. Numbers are never
forgiven: "32" is not "3", ``Conv1D`` is not ``Conv2D``.

An answer within reach is still refused when a wrong choice is as close to what was typed, or a
run of a wrong choice's words is closer ("supervised" inside "Supervised learning" when the
answer is "unsupervised"): the matcher never takes one choice for another.

Pure functions of a card and a string: no I/O, deterministic, a few tens of µs a check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.kb.model import QuizCard
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
# Longer input is no typed answer (a pasted paragraph): refused before any work is spent on it.
MAX_TYPED = 200

# A number (with sign, thousands separators and decimals) or a dotted identifier, optionally called.
_PIECE = re.compile(
    r"(?P<num>(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w]))"
    r"|(?P<ident>[^\W_]\w*(?:\.\w+)*)(?P<call>\s*\()?"
)
_DIGITS = re.compile(r"-?\d+(?:\.\d+)?")
_HAS_DIGIT = re.compile(r"\d")
# Call arguments and keyword values, at most one level of nested brackets deep.
_ARGUMENTS = re.compile(r"\s*=\s*(?:\([^()]*\)|\[[^\[\]]*\]|[^\s,()]+)|\((?:[^()]|\([^()]*\))*\)")


@dataclass(frozen=True)
class Verdict:
    """Why a typed text was accepted or refused, for logs, tests and a player-facing reason.

    ``reason`` is one of ``exact``, ``close`` (accepted within the typo allowance), ``empty``,
    ``too-far`` or ``other-choice`` (as close to a wrong choice as to the right answers).
    ``edits`` counts the typos between the typed text and ``matched``, the accepted form it came
    closest to (None when nothing was within reach).
    """

    accepted: bool
    reason: str
    matched: str | None = None
    edits: int | None = None


@dataclass(frozen=True)
class _Form:
    """One canonical reading of a text: its words, and the strings compared with edit distance."""

    pieces: tuple[tuple[str, ...], ...]
    words: tuple[str, ...]
    joined: str
    sorted_joined: str
    numbers: tuple[str, ...]


def accepts(card: QuizCard, typed: str) -> bool:
    """Whether ``typed`` counts as the right answer to ``card``."""
    return judge(card, typed).accepted


def judge(card: QuizCard, typed: str) -> Verdict:
    """The verdict on ``typed`` for ``card``, with the reason and the closest accepted form."""
    if len(typed) > MAX_TYPED:
        return Verdict(False, "too-far")
    matcher = _card_matcher(card)
    typed_forms = _forms(typed, matcher.droppable, typed=True)
    if not typed_forms:
        return Verdict(False, "empty")
    best: tuple[int, str] | None = None
    for form in typed_forms:
        # Nor may a typo add a whole word: "no overfitting" is not a slip of "overfitting".
        typed_cap = _shortest_word(form) - 1
        for answer, target, allowed in matcher.right:
            if form.numbers != target.numbers:
                continue
            edits = _distance(form, target)
            if edits <= min(allowed, typed_cap) and (best is None or edits < best[0]):
                best = (edits, answer)
    if best is None:
        return Verdict(False, "too-far")
    edits, answer = best
    if _closer_wrong(matcher, typed_forms, edits):
        return Verdict(False, "other-choice", answer, edits)
    return Verdict(True, "exact" if edits == 0 else "close", answer, edits)


def accepted_answers(card: QuizCard) -> tuple[str, ...]:
    """What the reveal of a typed round shows: the card's answers, or its right choice's text."""
    return card.answers or (card.choices[card.correct_index].text,)


def canonical(text: str) -> str:
    """The canonical words of ``text`` joined by spaces: two answers with the same one are duplicates."""
    forms = _forms(text)
    return " ".join(forms[0].words) if forms else ""


def answer_problems(card: QuizCard) -> list[str]:
    """What is wrong with a card's typed answers, one message each, for the deck loader to report.

    An answer must keep some words after normalization, differ from the card's other answers,
    be accepted when typed as written (an answer as close to a wrong choice as to the others is
    refused), and not be one the matcher would accept for a wrong choice's text: within typo
    reach of it, like "sigmod" next to "Sigmoid". Words of the right choice itself are exempt
    from that last rule ("unsupervised learning" next to "Supervised learning"), since the
    choices already stand for different things.
    """
    problems: list[str] = []
    seen: dict[str, str] = {}
    if not card.answers:
        return problems
    right_text = card.choices[card.correct_index].text
    own_words = {span.joined for form in _forms(right_text) for span in _spans(form)}
    wrong = [(i, choice.text) for i, choice in enumerate(card.choices) if not choice.correct]
    for answer in card.answers:
        key = canonical(answer)
        if not key:
            problems.append(f"{answer!r} has no letters or digits a player could type")
        elif key in seen:
            problems.append(f"{answer!r} is the same answer as {seen[key]!r} once case, punctuation, "
                            f"articles and plurals are set aside; keep one")
        elif not judge(card, answer).accepted:
            problems.append(f"{answer!r} would be taken for a wrong choice: it is as close to one as to the "
                            f"right answers, so players typing it would be refused; make it more specific")
        elif not any(form.joined in own_words for form in _forms(answer)):
            for i, text in wrong:
                if _within_reach(answer, text):
                    problems.append(f"{answer!r} is a typo away from choice {i + 1} ({text!r}), a wrong one: "
                                    f"a player who meant that choice would be counted right; use another form")
        seen.setdefault(key, answer)
    for i, text in wrong:
        if judge(card, text).accepted:
            problems.append(f"typing choice {i + 1} ({text!r}), a wrong one, would be accepted; "
                            f"an answer is too close to it")
    return problems


def _within_reach(typed: str, answer: str) -> bool:
    """Whether ``typed`` is within the typo allowance of ``answer``, numbers alike."""
    return any(a.numbers == b.numbers and _distance(a, b) <= _allowance(b)
               for a in _forms(typed) for b in _forms(answer))


@dataclass(frozen=True)
class _CardMatcher:
    """What ``judge`` needs from one card, computed once per card.

    Wrong choices are kept whole (``wrong``) and as runs of their words (``wrong_parts``): typed
    text as close to a whole wrong choice as to an answer is refused, and so is text closer to a
    part of one ("supervised" inside "Supervised learning" when the answer is "unsupervised");
    an accepted answer typed exactly stays right even if a wrong choice happens to contain it.
    """

    right: tuple[tuple[str, _Form, int], ...]  # answer, one of its forms, typos allowed against it
    wrong: tuple[tuple[str, ...], tuple[str, ...]]  # joined and sorted-joined strings
    wrong_parts: tuple[tuple[str, ...], tuple[str, ...]]
    droppable: frozenset[str]


_MATCHERS: dict[int, tuple[QuizCard, _CardMatcher]] = {}
MAX_CACHED_CARDS = 4096


def _card_matcher(card: QuizCard) -> _CardMatcher:
    """The card's matcher, cached by identity: hashing a whole card costs more than a check."""
    cached = _MATCHERS.get(id(card))
    if cached is not None and cached[0] is card:
        return cached[1]
    if len(_MATCHERS) >= MAX_CACHED_CARDS:
        _MATCHERS.clear()
    matcher = _build_matcher(card)
    _MATCHERS[id(card)] = (card, matcher)  # holding the card keeps its id from being reused
    return matcher


def _build_matcher(card: QuizCard) -> _CardMatcher:
    answers = (*card.answers, card.choices[card.correct_index].text) if card.choices else card.answers
    right = tuple((answer, form, _allowance(form)) for answer in answers for form in _forms(answer))
    wrong = [form for choice in card.choices if not choice.correct for form in _forms(choice.text)]
    parts = [span for form in wrong for span in _spans(form)[1:]]
    choice_words = {w for form in wrong for w in form.words} | {w for _, form, _ in right for w in form.words}
    # Words of the question a player may repeat ("LSTM layer", "rank 3") unless they tell choices apart.
    droppable = frozenset(word for form in _forms(card.prompt) for word in form.words
                          if word not in choice_words and not _DIGITS.search(word))
    return _CardMatcher(right=right, wrong=_strings(wrong), wrong_parts=_strings(parts), droppable=droppable)


def _strings(forms: list[_Form]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(f.joined for f in forms), tuple(f.sorted_joined for f in forms)


def _closer_wrong(matcher: _CardMatcher, typed_forms: tuple[_Form, ...], right_edits: int) -> bool:
    """Whether a wrong choice is as close to the typed text as the right answers, or a part of one closer."""
    checks = [(matcher.wrong, right_edits)] + ([(matcher.wrong_parts, right_edits - 1)] if right_edits else [])
    for form in typed_forms:
        for (joined, sorted_joined), cutoff in checks:
            if (process.extractOne(form.joined, joined, scorer=OSA.distance, score_cutoff=cutoff) is not None
                    or process.extractOne(form.sorted_joined, sorted_joined, scorer=OSA.distance,
                                          score_cutoff=cutoff) is not None):
                return True
    return False


def _distance(typed: _Form, target: _Form) -> int:
    """Typos between two forms, in written or in sorted word order, whichever is fewer."""
    return min(OSA.distance(typed.joined, target.joined), OSA.distance(typed.sorted_joined, target.sorted_joined))


def _allowance(target: _Form) -> int:
    """Typos forgiven against ``target``: none for short answers, more for long ones, never a whole word."""
    length = len(target.joined)
    allowed = 0 if length <= 4 else 1 if length <= 9 else 2 if length <= 17 else 3
    return max(0, min(allowed, _shortest_word(target) - 1))


def _shortest_word(form: _Form) -> int:
    """Length of the form's shortest word that is not a number (numbers are never forgiven anyway)."""
    return min((len(w) for w in form.words if not _DIGITS.fullmatch(w)), default=len(form.joined))


def _spans(form: _Form) -> list[_Form]:
    """The form itself and every run of up to MAX_SPAN of its pieces (a name like to_numpy stays whole)."""
    spans = [form]
    for size in range(1, min(MAX_SPAN, len(form.pieces) - 1) + 1):
        for i in range(len(form.pieces) - size + 1):
            spans.append(_make_form(form.pieces[i:i + size]))
    return spans


@lru_cache(maxsize=16384)
def _forms(text: str, droppable: frozenset[str] = frozenset(), typed: bool = False) -> tuple[_Form, ...]:
    """The canonical readings of ``text``: as written, and with code qualifiers dropped.

    ``model.predict()`` reads as "model predict" and as "predict"; a dotted name counts as code
    (so its qualifiers may be left out) when it is called, has three or more parts, or its last
    part looks like an API name (capitals or underscores), which keeps ``TensorFlow.js`` whole.
    What a player typed is also read without call arguments and keyword values
    (``Dropout(0.5)``, ``validation_data=(x_val, y_val)``), which answers rarely spell out.
    """
    texts = [text]
    if typed:
        bare = _ARGUMENTS.sub(lambda m: "()" if m[0].startswith("(") else "", text)
        if bare != text:
            texts.append(bare)
    forms: list[_Form] = []
    for variant in texts:
        for pieces in _readings(variant):
            kept = _drop_words(pieces, droppable)
            if kept:
                form = _make_form(kept)
                if form not in forms:
                    forms.append(form)
    return tuple(forms)


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


def _make_form(pieces: tuple[tuple[str, ...], ...]) -> _Form:
    words = tuple(w for piece in pieces for w in piece)
    numbers = tuple(sorted(_DIGITS.findall(" ".join(words)))) if _HAS_DIGIT.search("".join(words)) else ()
    return _Form(pieces=pieces, words=words, joined="".join(words), sorted_joined="".join(sorted(words)),
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
