"""Scores the typed-answer matcher on tests/kb/typed_answers*.yaml; shared by the floor tests and hand runs.

``typed_answers.yaml`` is the tuning part (the matcher was fitted looking at it);
``typed_answers_heldout.yaml`` was only scored once tuning had ended, so its figures say how the
matcher does on answers it was not fitted to. Run ``python -m tests.kb.typed_answers_eval`` to
print the tuning part's figures and misses, and ``python -m tests.kb.typed_answers_eval --held-out``
to add the held-out part's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from bot.kb.answer_match import Verdict, accepted_answers, judge
from bot.kb.folders import builtin_decks_root
from bot.kb.loader import load_deck
from bot.kb.model import QuizCard

HERE = Path(__file__).parent
TUNING = HERE / "typed_answers.yaml"
HELD_OUT = HERE / "typed_answers_heldout.yaml"
DECK = "tensorflow"


@dataclass
class MatcherScore:
    """Counts over one case file; rates are shares of the cases they apply to."""

    should_accept: int = 0
    accepted: int = 0
    should_refuse: int = 0
    refused: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def accept_rate(self) -> float:
        return self.accepted / self.should_accept

    @property
    def refuse_rate(self) -> float:
        return self.refused / self.should_refuse

    @property
    def accuracy(self) -> float:
        return (self.accepted + self.refused) / (self.should_accept + self.should_refuse)

    def __str__(self) -> str:
        total = self.should_accept + self.should_refuse
        return (f"cases {total}  accuracy {self.accuracy:.1%}  accept-rate {self.accept_rate:.1%} "
                f"({self.accepted}/{self.should_accept})  refuse-rate {self.refuse_rate:.1%} "
                f"({self.refused}/{self.should_refuse})")


@cache
def load_cases(path: Path) -> list[dict[str, object]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return list(yaml.load(path.read_text(encoding="utf-8"), Loader=loader))


@cache
def deck_cards() -> dict[str, QuizCard]:
    """The built-in deck's cards by id without the deck name (``keras-api/q2``), as the case files name them."""
    deck = load_deck(builtin_decks_root() / DECK)
    return {card.id.split("/", 1)[1]: card for card in deck.cards}


def naive_accepts(card: QuizCard, typed: str) -> bool:
    """The baseline a matcher must beat: rapidfuzz WRatio >= 85 against any accepted answer."""
    from rapidfuzz import fuzz, utils

    texts = accepted_answers(card) + (card.choices[card.correct_index].text,)
    return max(fuzz.WRatio(typed, text, processor=utils.default_process) for text in texts) >= 85


def evaluate(cards: dict[str, QuizCard], cases: list[dict[str, object]], naive: bool = False) -> MatcherScore:
    """Scores ``judge`` (or, with ``naive``, the WRatio baseline) on the cases."""
    score = MatcherScore()
    for case in cases:
        card, typed, want = cards[str(case["card"])], str(case["typed"]), bool(case["accept"])
        verdict = Verdict(naive_accepts(card, typed), "naive") if naive else judge(card, typed)
        if want:
            score.should_accept += 1
            score.accepted += verdict.accepted
        else:
            score.should_refuse += 1
            score.refused += not verdict.accepted
        if verdict.accepted != want:
            score.misses.append(f"[{case['kind']}] {typed!r} on {case['card']}: want "
                                f"{'accept' if want else 'refuse'}, got {verdict}")
    return score


def time_per_check(cards: dict[str, QuizCard], cases: list[dict[str, object]],
                   check: Callable[[QuizCard, str], object]) -> tuple[float, float]:
    """Mean seconds per ``check`` call: on texts it has not seen yet, and on texts seen before.

    Each card is warmed up first (its matcher is built once per card); the first pass then reads
    every typed text for the first time, later passes find its reading cached.
    """
    pairs = [(cards[str(case["card"])], str(case["typed"])) for case in cases]
    for card in {id(card): card for card, _ in pairs}.values():
        check(card, "warm-up")
    start = time.perf_counter()
    for card, typed in pairs:
        check(card, typed)
    first = (time.perf_counter() - start) / len(pairs)
    rounds = 5
    start = time.perf_counter()
    for _ in range(rounds):
        for card, typed in pairs:
            check(card, typed)
    return first, (time.perf_counter() - start) / (rounds * len(pairs))


if __name__ == "__main__":
    import sys

    all_cards = deck_cards()
    parts = [("tuning", TUNING)] + ([("held-out", HELD_OUT)] if "--held-out" in sys.argv[1:] else [])
    for name, path in parts:
        cases = load_cases(path)
        result = evaluate(all_cards, cases)
        print(f"--- {name} ({path.name})")
        for miss in result.misses:
            print(miss)
        print(f"{name}: {result}")
        print(f"{name}, naive baseline (WRatio >= 85): {evaluate(all_cards, cases, naive=True)}")
    every = load_cases(TUNING) + load_cases(HELD_OUT)
    first, again = time_per_check(all_cards, every, judge)
    naive, _ = time_per_check(all_cards, every, naive_accepts)
    print(f"mean time per check over {len(every)} cases: {first * 1e6:.1f} µs for a new text, {again * 1e6:.1f} µs "
          f"for a text seen before (naive baseline in the same run: {naive * 1e6:.1f} µs)")
