"""How well lookup does on a deck's own questions: decision, top-1 and top-3, per kind of question.

A deck folder may hold a ``queries.yaml`` beside its ``deck.yaml``: a list of ``{q, id, kind}``,
where ``id`` is the entry that should answer ``q``, or null when the deck should decline it, and
``kind`` groups the figures (paraphrase, typo, keywords, term, long, nearmiss, chat, ...). The
loader never reads it as entries. ``studybot kb score`` prints these figures, so a team writing
its own deck sees what its aliases and keywords are worth; the project's dev decks are scored the
same way (``tests/kb/devset_eval.py``).

Decision: an on-topic question is right when its entry is answered; a null one when declined.
Top-1/top-3 count the ranked candidates even when the bot declines. "Wrong deck" is the share
answered with an entry of another deck (only when other decks are loaded), unless that entry is
listed as answering the same question (``Same``): two decks of one field both have an entry on
class imbalance, and either one answers "SMOTE". Those are counted apart, as ``same_elsewhere``.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.kb.search import SearchIndex

KIND_ORDER = ["paraphrase", "typo", "keywords", "term", "long", "offtopic", "nearmiss", "chat"]

Case = dict[str, str | None]
EntryKey = tuple[str, str]  # (deck, entry id)
Same = Mapping[EntryKey, frozenset[EntryKey]]  # an entry -> the entries of other decks that answer the same


def read_cases(path: Path) -> list[Case]:
    """A query file: a YAML list of ``{q, id, kind}``."""
    return list(yaml.safe_load(path.read_text(encoding="utf-8")) or [])


@dataclass
class Rates:
    """Counts for one group of queries; top-k apply to on-topic queries only."""

    total: int = 0
    on_topic: int = 0
    decided: int = 0
    top1: int = 0
    top3: int = 0
    wrong_deck: int = 0
    same_elsewhere: int = 0

    def add(self, other: Rates) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def decision(self) -> float:
        return _share(self.decided, self.total)

    @property
    def top1_rate(self) -> float:
        return _share(self.top1, self.on_topic)

    @property
    def top3_rate(self) -> float:
        return _share(self.top3, self.on_topic)

    @property
    def wrong_deck_rate(self) -> float:
        return _share(self.wrong_deck, self.total)


def right_entries(deck: str, expected: str, same: Same | None = None) -> set[EntryKey]:
    """The entries that rightly answer a question whose entry is ``expected`` in ``deck``: it and its
    equals in other decks (``same``)."""
    return {(deck, expected), *(same or {}).get((deck, expected), ())}


def _share(count: int, of: int) -> float:
    """``count`` as a share of ``of``; NaN (printed "-") when there were none to count."""
    return count / of if of else math.nan


@dataclass
class DeckScore:
    """One deck's figures: overall, per kind, and the misses for reading."""

    deck: str
    overall: Rates = field(default_factory=Rates)
    kinds: dict[str, Rates] = field(default_factory=lambda: defaultdict(Rates))
    misses: list[str] = field(default_factory=list)


def evaluate(index: SearchIndex, cases: Iterable[Case], deck: str = "tensorflow", rank: bool = True,
             same: Same | None = None) -> DeckScore:
    """Scores one deck's queries on ``index`` (which may hold other decks too); ``rank=False`` skips top-k.
    An answer or a first candidate from ``same`` (the expected entry's equals in other decks) is right."""
    score = DeckScore(deck)
    for case in cases:
        query, expected, kind = str(case["q"]), case["id"], str(case.get("kind") or "?")
        result = index.search(query, top=3)
        rates = Rates(total=1)
        best = result.best
        answered_id = (best.entry.deck, best.entry.id) if result.answered and best else None
        ranked = [(m.entry.deck, m.entry.id) for m in index.rank(query, top=3)] if rank else []
        if expected is None:
            rates.decided = answered_id is None
        else:
            right = right_entries(deck, expected, same)
            rates.on_topic = 1
            rates.top1 = bool(ranked) and ranked[0] in right
            rates.top3 = bool(right.intersection(ranked[:3]))
            rates.decided = answered_id in right
            rates.same_elsewhere = rates.decided and answered_id != (deck, expected)
        rates.wrong_deck = answered_id is not None and answered_id[0] != deck and not rates.same_elsewhere
        score.overall.add(rates)
        score.kinds[kind].add(rates)
        if not rates.decided:
            got = f"answer {answered_id[1]}" if answered_id else "decline"
            score.misses.append(f"[{deck}/{kind}] {query!r}: want {expected}, got {got}; ranked "
                                f"{[i for _, i in ranked]}")
    return score


def percent(x: float) -> str:
    """A rate as the figures print it, six wide; "-" where nothing was counted."""
    return "    -" if math.isnan(x) else f"{x:6.1%}"


def score_lines(score: DeckScore, label: str) -> list[str]:
    """The figures as printed: overall on the first line, then one line per kind."""
    o = score.overall
    lines = [f"{label}: {o.total} queries ({o.on_topic} on-topic)  decision {percent(o.decision)}  "
             f"top-1 {percent(o.top1_rate)}  top-3 {percent(o.top3_rate)}"
             + (f"  wrong deck {percent(o.wrong_deck_rate)}" if o.wrong_deck else "")
             + (f"  (+{o.same_elsewhere} answered by the same entry of another deck)" if o.same_elsewhere else "")]
    for kind in sorted(score.kinds, key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else 99, k)):
        r = score.kinds[kind]
        lines.append(f"    {kind:<11} n={r.total:<4} decision {percent(r.decision)}  top-1 {percent(r.top1_rate)}  "
                     f"top-3 {percent(r.top3_rate)}")
    return lines


def checked_cases(path: Path, entry_ids: set[str]) -> tuple[list[Case], list[str]]:
    """A deck's query file read and checked: its cases (ids as text: ``id: 17``), or what is wrong
    with it, each line naming the file."""
    if not path.is_file():
        return [], [f"{path.parent}: no {path.name} to score: write one as a YAML list of {{q: the question, "
                    "id: the entry that answers it (null: decline), kind: paraphrase, typo, ...}"]
    try:
        cases = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        return [], [f"{path}: not YAML: {error}"]
    problems = case_problems(cases, entry_ids)
    if problems:
        return [], [f"{path}: {problem}" for problem in problems]
    return [{**case, "id": None if case.get("id") is None else str(case["id"])} for case in cases], []


def case_problems(cases: object, entry_ids: set[str]) -> list[str]:
    """What is wrong with a query file's contents, one line per item: a list of ``{q, id, kind}``
    whose ``q`` is text, ``id`` an entry of the deck or null, and ``kind`` text if given."""
    if not isinstance(cases, list):
        return ["must be a YAML list of {q: ..., id: ENTRY_ID or null, kind: ...}"]
    problems = []
    for n, case in enumerate(cases, start=1):
        if not isinstance(case, dict) or not isinstance(case.get("q"), str) or not case["q"].strip():
            problems.append(f"item {n}: needs q: the question as text")
        elif case.get("id") is not None and str(case["id"]) not in entry_ids:
            problems.append(f"item {n} ({case['q']!r}): id {case['id']!r} is no entry of the deck")
        elif case.get("kind") is not None and not isinstance(case["kind"], str):
            problems.append(f"item {n} ({case['q']!r}): kind must be text")
    return problems
