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

from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.kb.answer_forms import DIGITS, Form, forms, shortest_word, spans
from bot.kb.model import QuizCard

# Longer input is no typed answer (a pasted paragraph): refused before any work is spent on it.
MAX_TYPED = 200


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


def accepts(card: QuizCard, typed: str) -> bool:
    """Whether ``typed`` counts as the right answer to ``card``."""
    return judge(card, typed).accepted


def judge(card: QuizCard, typed: str) -> Verdict:
    """The verdict on ``typed`` for ``card``, with the reason and the closest accepted form."""
    if len(typed) > MAX_TYPED:
        return Verdict(False, "too-far")
    matcher = _card_matcher(card)
    typed_forms = forms(typed, matcher.droppable, typed=True)
    if not typed_forms:
        return Verdict(False, "empty")
    best: tuple[int, str] | None = None
    for form in typed_forms:
        # Nor may a typo add a whole word: "no overfitting" is not a slip of "overfitting".
        typed_cap = shortest_word(form) - 1
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
    readings = forms(text)
    return " ".join(readings[0].words) if readings else ""


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
    own_words = {span.joined for form in forms(right_text) for span in spans(form)}
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
        elif not any(form.joined in own_words for form in forms(answer)):
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
               for a in forms(typed) for b in forms(answer))


@dataclass(frozen=True)
class _CardMatcher:
    """What ``judge`` needs from one card, computed once per card.

    Wrong choices are kept whole (``wrong``) and as runs of their words (``wrong_parts``): typed
    text as close to a whole wrong choice as to an answer is refused, and so is text closer to a
    part of one ("supervised" inside "Supervised learning" when the answer is "unsupervised");
    an accepted answer typed exactly stays right even if a wrong choice happens to contain it.
    """

    right: tuple[tuple[str, Form, int], ...]  # answer, one of its forms, typos allowed against it
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
    right = tuple((answer, form, _allowance(form)) for answer in answers for form in forms(answer))
    wrong = [form for choice in card.choices if not choice.correct for form in forms(choice.text)]
    parts = [span for form in wrong for span in spans(form)[1:]]
    choice_words = {w for form in wrong for w in form.words} | {w for _, form, _ in right for w in form.words}
    # Words of the question a player may repeat ("LSTM layer", "rank 3") unless they tell choices apart.
    droppable = frozenset(word for form in forms(card.prompt) for word in form.words
                          if word not in choice_words and not DIGITS.search(word))
    return _CardMatcher(right=right, wrong=_strings(wrong), wrong_parts=_strings(parts), droppable=droppable)


def _strings(readings: list[Form]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(f.joined for f in readings), tuple(f.sorted_joined for f in readings)


def _closer_wrong(matcher: _CardMatcher, typed_forms: tuple[Form, ...], right_edits: int) -> bool:
    """Whether a wrong choice is as close to the typed text as the right answers, or a part of one closer."""
    checks = [(matcher.wrong, right_edits)] + ([(matcher.wrong_parts, right_edits - 1)] if right_edits else [])
    for form in typed_forms:
        for (joined, sorted_joined), cutoff in checks:
            if (process.extractOne(form.joined, joined, scorer=OSA.distance, score_cutoff=cutoff) is not None
                    or process.extractOne(form.sorted_joined, sorted_joined, scorer=OSA.distance,
                                          score_cutoff=cutoff) is not None):
                return True
    return False


def _distance(typed: Form, target: Form) -> int:
    """Typos between two forms, in written or in sorted word order, whichever is fewer."""
    return min(OSA.distance(typed.joined, target.joined), OSA.distance(typed.sorted_joined, target.sorted_joined))


def _allowance(target: Form) -> int:
    """Typos forgiven against ``target``: none for short answers, more for long ones, never a whole word."""
    length = len(target.joined)
    allowed = 0 if length <= 4 else 1 if length <= 9 else 2 if length <= 17 else 3
    return max(0, min(allowed, shortest_word(target) - 1))


