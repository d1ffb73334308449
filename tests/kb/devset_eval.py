"""Scores the lookup engine on tests/kb/devset.yaml; shared by the floor test and by hand runs.

Run ``python -m tests.kb.devset_eval`` to print the figures and every miss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.kb.library import Library, load_library

DEVSET = Path(__file__).with_name("devset.yaml")


@dataclass
class DevsetScore:
    """Counts over the dev set; rates are shares of the queries they apply to."""

    total: int = 0
    on_topic: int = 0
    decided_right: int = 0
    top1: int = 0
    top3: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def decision_accuracy(self) -> float:
        return self.decided_right / self.total

    @property
    def top1_rate(self) -> float:
        return self.top1 / self.on_topic

    @property
    def top3_rate(self) -> float:
        return self.top3 / self.on_topic


def load_devset() -> list[dict[str, str | None]]:
    return list(yaml.safe_load(DEVSET.read_text(encoding="utf-8")))


def evaluate(library: Library, cases: list[dict[str, str | None]]) -> DevsetScore:
    """Decision: answered with the right entry, or declined an off-topic query."""
    score = DevsetScore()
    for case in cases:
        query, expected = str(case["q"]), case["id"]
        result = library.search(query, top=3)
        ids = [m.entry.id for m in result.matches]
        score.total += 1
        if expected is None:
            right = not result.answered
        else:
            score.on_topic += 1
            # Ranking quality counts the candidates even when the bot would decline.
            ranked = [m.entry.id for m in library.index.search(query, top=3).matches] or ids
            score.top1 += ranked[:1] == [expected]
            score.top3 += expected in ranked[:3]
            right = result.answered and ids[:1] == [expected]
        score.decided_right += right
        if not right:
            score.misses.append(f"[{case['kind']}] {query!r}: want {expected}, got "
                                f"{'answer' if result.answered else 'decline'} {ids}")
    return score


def naive_rates(library: Library, cases: list[dict[str, str | None]]) -> tuple[float, float]:
    """Top-1 and top-3 of the naive baseline (rapidfuzz WRatio over question texts), for comparison."""
    from rapidfuzz import fuzz, process

    entries = [e for deck in library.decks for e in deck.entries]
    questions = [e.question for e in entries]
    top1 = top3 = on_topic = 0
    for case in cases:
        if case["id"] is None:
            continue
        on_topic += 1
        ranked = [entries[i].id for _, _, i in process.extract(str(case["q"]), questions, scorer=fuzz.WRatio, limit=3)]
        top1 += ranked[:1] == [case["id"]]
        top3 += case["id"] in ranked
    return top1 / on_topic, top3 / on_topic


if __name__ == "__main__":
    library, cases = load_library(), load_devset()
    result = evaluate(library, cases)
    for miss in result.misses:
        print(miss)
    print(f"queries {result.total} (on-topic {result.on_topic})  decision accuracy "
          f"{result.decision_accuracy:.1%}  top-1 {result.top1_rate:.1%}  top-3 {result.top3_rate:.1%}")
    naive_top1, naive_top3 = naive_rates(library, cases)
    print(f"naive baseline (WRatio over questions): top-1 {naive_top1:.1%}  top-3 {naive_top3:.1%}")
