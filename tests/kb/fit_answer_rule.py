"""Fits the answer rule (``Tuning.answer_weights``, ``answer_bias``, and ``everyday_quantile``,
``everyday_margin`` and ``threshold_cap``, how each deck reads its threshold) on the dev decks pooled,
and scores it leave-one-deck-out: all of them fitted on the other decks, scored on the one left out.

    python -m tests.kb.fit_answer_rule     # the numbers to paste into bot/kb/tuning.py, and per-deck figures

Why a fitted rule: whether the best candidate is the right entry shows in several quantities at
once (how much specific information it holds, how far it stands above the second, its closeness
in meaning above the deck's background, the most specific word it lacks), and hand-picked
thresholds on one or two of them traded right answers one for one against chat and near misses.

How: each query whose best candidate the rule is asked about (not verbatim, at least
``Tuning.min_evidence``) is a sample; it is positive when that candidate is the right entry, negative
otherwise (a wrong best, an off-topic or near-miss query, chat). A logistic regression (numpy,
Newton steps, a small ridge on standardized features) weighs every deck the same, and near misses
and off-topic queries ``NEAR_WEIGHT`` times a query: they look like questions, and it is them the
rule must learn to tell apart. Each deck's threshold is then read from the rule's log-odds on the
everyday chat lines (``bot.kb.everyday``): a quantile of them plus a margin, between a floor and a
cap. The quantile, margin and cap are the ones with the best summed decision over the decks that keep every deck's
chat declined >= ``CHAT_DECLINED`` (plus ``CHAT_MARGIN``) and the near misses declined (pooled)
>= ``NEAR_DECLINED``, the hand rule's own figure, so answering more is not paid in near misses.
A dev deck is calibrated here without any line that reads as one of its own queries (the first
eight of its chat lines are among the everyday lines), so what it declines of its chat is measured
on lines its threshold never read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.kb.deck_index import CANDIDATES, DeckIndex, DeckMatches
from bot.kb.everyday import OUT_OF_REACH, clamp, everyday_level, everyday_lines
from bot.kb.scoring import percent
from bot.kb.text import words
from bot.kb.tuning import Tuning
from tests.kb.devset_eval import DevDeck, dev_decks

CHAT_DECLINED = 0.95  # issue #10's target for every deck
# The fit keeps every deck's chat declined this much above the target, so a deck it has not seen
# declines 95% too: with thirty-nine dev decks, fitted at the target itself, the rule fitted without
# the support deck declined 94.7% of its chat (one line short). At 0.955, every deck left out
# declines >= 95.5%, for 85.10% mean decision left out against 85.18%; at 0.96, 84.46%.
CHAT_MARGIN = 0.005
NEAR_DECLINED = 0.839  # the near misses the hand rule (half the known information explained) declined, pooled
# How many queries a near miss or off-topic query counts for in the fit. Measured when the rule was
# made, on the dev decks of the time (LODO mean decision under the two constraints): 1 85.2%, 2 85.7%,
# 4 86.0%, 8 85.9%.
NEAR_WEIGHT = 4.0
RIDGE = 0.01  # per sample, on standardized features: keeps weights finite when a feature separates a few samples
# What ``Tuning``'s deck threshold may be made of: the quantile of the everyday lines' log-odds,
# the margin above it, and the cap (log-odds). The floor is ``Tuning.threshold_floor``, not fitted.
QUANTILES = (0.95, 0.97, 0.98, 0.99)
MARGINS = tuple(round(m, 2) for m in np.arange(-1.0, 2.51, 0.1))
CAPS = (0.0, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class Rule:
    """The answer rule as ``Tuning`` holds it: log-odds weights, and how each deck's threshold is read."""

    weights: tuple[float, ...]
    bias: float
    quantile: float
    margin: float
    floor: float
    cap: float

    @classmethod
    def from_tuning(cls, tuning: Tuning) -> Rule:
        """The rule ``tuning`` holds."""
        return cls(tuning.answer_weights, tuning.answer_bias, tuning.everyday_quantile, tuning.everyday_margin,
                   tuning.threshold_floor, tuning.threshold_cap)


@dataclass(frozen=True)
class Samples:
    """Every dev query's answer-rule inputs and what a right decision is, one row per query."""

    deck: np.ndarray      # deck name
    kind: np.ndarray      # query kind (paraphrase, nearmiss, chat, ...)
    features: np.ndarray  # ``Tuning.ANSWER_FEATURES``, then ``collect``'s extras (zeros where the rule is not asked)
    ruled: np.ndarray     # the rule decides (otherwise ``fixed`` does: verbatim, symbols, too little evidence)
    fixed: np.ndarray     # answered without the rule
    right: np.ndarray     # the best candidate is the expected entry
    on_topic: np.ndarray  # an entry is expected
    # One row per deck and everyday line (lines that read as the deck's own queries left out).
    everyday_deck: np.ndarray
    everyday_features: np.ndarray
    everyday_asked: np.ndarray     # the rule is asked (else the line stands at -``OUT_OF_REACH``)
    everyday_answered: np.ndarray  # answered without the rule (+``OUT_OF_REACH``)

    @property
    def decks(self) -> list[str]:
        return list(dict.fromkeys(self.deck.tolist()))


Extra = Callable[[DeckIndex, str, DeckMatches], tuple[float, ...]]


def _features(index: DeckIndex, text: str, found: DeckMatches | None, extra: Extra | None) -> tuple[float, ...]:
    """What the rule weighs for ``text`` (none where it is not asked), with ``extra``'s after."""
    if found is None or not found.features:
        return ()
    return found.features + extra(index, text, found) if extra else found.features


def calibration_lines(d: DevDeck) -> list[str]:
    """The everyday lines a dev deck calibrates on when fitting: all but those that read, as the
    lookup reads them (words), as one of its own queries, which it is scored on."""
    own = {tuple(words(str(case["q"]))) for case in d.cases}
    return [line for line in everyday_lines() if tuple(words(line)) not in own]


def collect(dev: Sequence[DevDeck], tuning: Tuning | None = None, extra: Extra | None = None) -> Samples:
    """Each dev deck alone, each of its queries and of the everyday lines matched once; ``extra``
    adds features after the rule's own wherever the rule is asked (``bench.contextual_model``)."""
    tuning = tuning or Tuning()
    rows: list[tuple[str, str, tuple[float, ...], bool, bool, bool]] = []
    everyday: list[tuple[str, tuple[float, ...], bool]] = []
    for d in dev:
        index = DeckIndex(d.deck, tuning)
        for case in d.cases:
            found = index.undecided(str(case["q"]), CANDIDATES)
            best = index.entries[int(found.entries[0])].id if found is not None and len(found.entries) else None
            features = _features(index, str(case["q"]), found, extra)
            fixed = found is not None and not features and found.answered
            rows.append((d.deck.name, str(case.get("kind") or "?"), features, fixed,
                         case["id"] is not None and best == case["id"], case["id"] is not None))
        for line in calibration_lines(d):
            found = index.undecided(line, CANDIDATES)
            everyday.append((d.deck.name, _features(index, line, found, extra),
                             found is not None and found.answered and not found.features))
    width = max((len(f) for f in [*(r[2] for r in rows), *(e[1] for e in everyday)] if f),
                default=len(Tuning.ANSWER_FEATURES))
    return Samples(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]),
                   np.array([r[2] or (0.0,) * width for r in rows], dtype=float),
                   np.array([bool(r[2]) for r in rows]), np.array([r[3] for r in rows]),
                   np.array([r[4] for r in rows]), np.array([r[5] for r in rows]),
                   np.array([e[0] for e in everyday]),
                   np.array([e[1] or (0.0,) * width for e in everyday], dtype=float),
                   np.array([bool(e[1]) for e in everyday]), np.array([e[2] for e in everyday]))


def fit_logistic(s: Samples, mask: np.ndarray) -> tuple[np.ndarray, float]:
    """Weights and intercept (on the raw features) of P(best is right), from the ruled rows in ``mask``."""
    rows = mask & s.ruled
    x, y = s.features[rows], s.right[rows].astype(float)
    mean, spread = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.hstack([(x - mean) / spread, np.ones((len(x), 1))])
    decks = s.deck[rows]
    weight = np.array([1.0 / np.count_nonzero(decks == d) for d in decks])
    weight *= np.where(np.isin(s.kind[rows], ["nearmiss", "offtopic"]), NEAR_WEIGHT, 1.0)
    weight *= len(weight) / weight.sum()
    ridge = RIDGE * len(y) * np.diag(np.r_[np.ones(z.shape[1] - 1), 0.0])  # the intercept is not shrunk
    w = np.zeros(z.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        step = np.linalg.solve((z * (weight * p * (1 - p))[:, None]).T @ z + ridge,
                               z.T @ (weight * (p - y)) + ridge @ w)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    raw = w[:-1] / spread
    return raw, float(w[-1] - raw @ mean)


def decided(s: Samples, answers: np.ndarray) -> np.ndarray:
    """Right decisions: the right entry answered, or a query with none declined."""
    return np.where(s.on_topic, answers & s.right, ~answers)


def _declined(s: Samples, answers: np.ndarray, rows: np.ndarray) -> float:
    return float(1.0 - answers[rows].mean()) if rows.any() else math.nan


class _Decks:
    """The samples' decks as positions, for per-deck sums in one pass (``np.bincount``)."""

    def __init__(self, s: Samples) -> None:
        self.names = s.decks
        at = {name: i for i, name in enumerate(self.names)}
        self.row = np.array([at[d] for d in s.deck])
        self.everyday_row = np.array([at[d] for d in s.everyday_deck])
        self.queries = np.bincount(self.row, minlength=len(self.names))
        self.chat = s.kind == "chat"
        self.chats = np.bincount(self.row[self.chat], minlength=len(self.names))

    def mean(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.row, weights=values, minlength=len(self.names)) / self.queries


def _everyday_quantiles(s: Samples, decks: _Decks, weights: np.ndarray, bias: float, quantile: float) -> np.ndarray:
    """Per deck, the ``quantile`` of the rule's log-odds on the everyday lines (``deck_threshold``'s)."""
    logits = np.where(s.everyday_answered, np.inf,
                      np.where(s.everyday_asked, s.everyday_features @ weights + bias, -np.inf))
    return np.array([everyday_level(logits[decks.everyday_row == i], quantile) if (decks.everyday_row == i).any()
                     else np.inf for i in range(len(decks.names))])


def _answered(s: Samples, logits: np.ndarray, thresholds: np.ndarray, decks: _Decks) -> np.ndarray:
    return s.fixed | (s.ruled & (logits >= thresholds[decks.row]))


def choose_levels(s: Samples, weights: np.ndarray, bias: float, names: Sequence[str], floor: float) -> Rule:
    """The deck threshold's quantile, margin and cap with the best summed decision over
    ``names`` that keeps their chat and near misses declined."""
    decks = _Decks(s)
    chosen = np.isin(decks.names, names)
    near = np.isin(s.deck, names) & (s.kind == "nearmiss")
    logits = s.features @ weights + bias
    best: tuple[float, Rule] | None = None
    for quantile in QUANTILES:
        levels = _everyday_quantiles(s, decks, weights, bias, quantile)
        for margin in MARGINS:
            for cap in CAPS:
                answers = _answered(s, logits, clamp(levels + margin, floor, cap), decks)
                chat_answered = np.bincount(decks.row[decks.chat], weights=answers[decks.chat],
                                            minlength=len(decks.names))
                if (1.0 - chat_answered[chosen] / decks.chats[chosen] < CHAT_DECLINED + CHAT_MARGIN).any():
                    continue
                if 1.0 - answers[near].mean() < NEAR_DECLINED:
                    continue
                total = float(decks.mean(decided(s, answers).astype(float))[chosen].sum())
                if best is None or total > best[0] + 1e-12:
                    best = (total, Rule(tuple(float(w) for w in weights), bias, quantile, margin, floor, cap))
    if best is None:  # nothing keeps the chat declined: answer only above every everyday line
        print("no threshold keeps every deck's chat declined; the rule answers above every everyday line")
        return Rule(tuple(float(w) for w in weights), bias, 1.0, 0.0, floor, OUT_OF_REACH)
    return best[1]


def fit_rule(s: Samples, decks: Sequence[str], floor: float = Tuning.threshold_floor) -> Rule:
    """``Tuning``'s answer rule (weights, and how each deck's threshold is read) fitted on ``decks``,
    each deck's threshold no lower than ``floor`` (``Tuning.threshold_floor``, not fitted)."""
    weights, intercept = fit_logistic(s, np.isin(s.deck, decks))
    return choose_levels(s, weights, intercept, decks, floor)


@dataclass(frozen=True)
class Figures:
    """One deck's decision, and its chat and near misses declined."""

    decision: float
    chat_declined: float
    near_declined: float


def answers(s: Samples, rule: Rule) -> np.ndarray:
    """Which queries ``rule`` answers, each deck at its own threshold."""
    decks, weights = _Decks(s), np.array(rule.weights)
    return _answered(s, s.features @ weights + rule.bias, thresholds(s, rule), decks)


def thresholds(s: Samples, rule: Rule) -> np.ndarray:
    """Each deck's threshold under ``rule`` (in ``s.decks``' order), as ``DeckIndex.answer_threshold`` reads it."""
    levels = _everyday_quantiles(s, _Decks(s), np.array(rule.weights), rule.bias, rule.quantile)
    return np.asarray(clamp(levels + rule.margin, rule.floor, rule.cap))


def figures(s: Samples, rule: Rule, deck: str) -> Figures:
    """``rule``'s figures on one deck."""
    said, rows = answers(s, rule), s.deck == deck
    return Figures(float(decided(s, said)[rows].mean()), _declined(s, said, rows & (s.kind == "chat")),
                   _declined(s, said, rows & (s.kind == "nearmiss")))


def lodo(s: Samples) -> dict[str, Figures]:
    """Per deck: the rule fitted (weights, quantile, margin and cap) on the other decks, scored on it."""
    return {deck: figures(s, fit_rule(s, [d for d in s.decks if d != deck]), deck) for deck in s.decks}


def main() -> None:
    s = collect(dev_decks())
    rule = fit_rule(s, s.decks)
    print("answer_weights: tuple[float, ...] = (" + ", ".join(f"{w:.4g}" for w in rule.weights) + ")")
    print(f"answer_bias: float = {rule.bias:.4g}")
    print(f"everyday_quantile: float = {rule.quantile}\neveryday_margin: float = {rule.margin}")
    print(f"threshold_cap: float = {rule.cap}   (threshold_floor, not fitted: {rule.floor})")
    print("   (" + ", ".join(Tuning.ANSWER_FEATURES) + ")")
    held = lodo(s)
    print(f"\n{'deck':<12} {'pooled: decision':>16}   chat   near   {'LODO: decision':>14}   chat   near")
    for deck in s.decks:
        a, b = figures(s, rule, deck), held[deck]
        print(f"{deck:<12} {percent(a.decision):>16} {percent(a.chat_declined)} {percent(a.near_declined)}   "
              f"{percent(b.decision):>14} {percent(b.chat_declined)} {percent(b.near_declined)}")
    for label, table in (("pooled", {d: figures(s, rule, d) for d in s.decks}), ("LODO", held)):
        print(f"{label}: mean decision {np.mean([f.decision for f in table.values()]):.2%}, lowest chat declined "
              f"{min(f.chat_declined for f in table.values()):.1%}")
    said = answers(s, rule)
    print(f"near misses declined, pooled: {_declined(s, said, s.kind == 'nearmiss'):.1%} "
          f"(kept at least {NEAR_DECLINED:.1%}, the hand rule's)")


if __name__ == "__main__":
    main()
