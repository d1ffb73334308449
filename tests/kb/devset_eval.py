"""Scores the lookup engine on dev decks: per deck and per kind, beside two baselines.

A dev deck is a deck folder with a ``queries.yaml`` beside its ``deck.yaml``: a list of
``{q, id, kind}`` where ``id`` is an entry id of that deck, or null when the deck should decline.
The built-in TensorFlow deck's queries are ``tests/kb/devset.yaml``. Every deck is also scored
on the everyday chat set ``tests/kb/chat.yaml`` (all null), because a deck must decline chat.

    python -m tests.kb.devset_eval                        # the built-in deck and every deck in tests/kb/decks
    python -m tests.kb.devset_eval path/to/deck ...       # those decks, each on its own
    python -m tests.kb.devset_eval path/to/deck --with-builtin   # ... with the built-in decks loaded beside
    python -m tests.kb.devset_eval --lodo                 # constants chosen on the other decks, scored on the one out
    python -m tests.kb.fit_answer_rule                    # the answer rule's weights, refitted and left out likewise
    python -m tests.kb.devset_eval tests/kb/decks/* --lodo --with-builtin  # ... and routing's, beside the built-in
    python -m tests.kb.devset_eval --ablate aliases       # the same decks with every alias removed
    python -m tests.kb.devset_eval --misses               # every wrong decision, for reading
    python -m tests.kb.devset_eval path/to/deck --no-chat # only the deck's own queries

Decision: an on-topic query is right when the right entry is answered; a null one when declined.
Top-1/top-3 count the ranked candidates even when the bot declines. "wrong deck" is the share of
queries answered with an entry of another deck (only when other decks are loaded).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

from bot.kb.folders import QUERIES_FILE, builtin_decks_root, deck_folders
from bot.kb.loader import load_decks
from bot.kb.model import Deck
from bot.kb.scoring import Case, DeckScore, EntryKey, Same, evaluate, percent, read_cases, score_lines
from bot.kb.search import SearchIndex, Tuning
from bot.kb.text import STOPWORDS, stem, words

HERE = Path(__file__).parent
DEVSET = HERE / "devset.yaml"  # the built-in TensorFlow deck's queries
CHAT = HERE / "chat.yaml"
SAME_CONCEPT = HERE / "same_concept.yaml"
DEV_DECKS = HERE / "decks"
QUERIES = QUERIES_FILE


@dataclass(frozen=True)
class DevDeck:
    """A deck and the queries it is scored on (chat included)."""

    deck: Deck
    cases: tuple[Case, ...]


def load_devset() -> list[Case]:
    """The built-in TensorFlow deck's dev set (without the chat set)."""
    return read_cases(DEVSET)


def chat_cases() -> list[Case]:
    """Everyday chat, scored against every deck (empty until the file exists)."""
    return read_cases(CHAT) if CHAT.is_file() else []


def same_concept() -> Same:
    """Entries of different dev decks that answer the same question, each mapped to its equals."""
    same: dict[EntryKey, set[EntryKey]] = {}
    for group in yaml.safe_load(SAME_CONCEPT.read_text(encoding="utf-8")):
        keys = [(deck, entry) for deck, entry in (str(name).split("/", 1) for name in group)]
        for key in keys:
            same.setdefault(key, set()).update(k for k in keys if k[0] != key[0])
    return {key: frozenset(equals) for key, equals in same.items()}


def builtin_decks() -> list[Deck]:
    return load_decks(deck_folders([builtin_decks_root()]))


def add_chat(own: list[Case], chat: list[Case]) -> tuple[Case, ...]:
    """A deck's queries and the chat set, less the chat lines the deck's queries list themselves.

    The chat set is everyday team chat for most decks, but "how do I request time off" is what
    an HR handbook is for: its author lists the line in the deck's queries with the entry that
    answers it, and it is scored as that, not as chat to decline.
    """
    claimed = {str(case["q"]).strip().lower() for case in own}
    return tuple(own + [case for case in chat if str(case["q"]).strip().lower() not in claimed])


def dev_decks(folders: Sequence[Path] = (), with_chat: bool = True) -> list[DevDeck]:
    """The decks named (or the built-in one and every folder in tests/kb/decks), with their queries."""
    chat = chat_cases() if with_chat else []
    if folders:
        return [DevDeck(deck, add_chat(read_cases(folder / QUERIES), chat))
                for folder, deck in zip(folders, load_decks(folders))]
    out = [DevDeck(deck, add_chat(load_devset(), chat)) for deck in builtin_decks() if deck.name == "tensorflow"]
    folders = sorted(p.parent for p in DEV_DECKS.glob(f"*/{QUERIES}")) if DEV_DECKS.is_dir() else []
    out += [DevDeck(deck, add_chat(read_cases(folder / QUERIES), chat))
            for folder, deck in zip(folders, load_decks(folders))]
    return out


# ---------------------------------------------------------------- baselines


def naive_rates(decks: Sequence[Deck], cases: Iterable[Case]) -> tuple[float, float]:
    """Top-1/top-3 of rapidfuzz WRatio over question texts (what a first version would do)."""
    entries = [e for deck in decks for e in deck.entries]
    questions = [e.question for e in entries]
    top1 = top3 = on_topic = 0
    for case in cases:
        if case["id"] is None:
            continue
        on_topic += 1
        ranked = [entries[i].id for _, _, i in process.extract(str(case["q"]), questions, scorer=fuzz.WRatio, limit=3)]
        top1 += ranked[:1] == [case["id"]]
        top3 += case["id"] in ranked
    return top1 / max(on_topic, 1), top3 / max(on_topic, 1)


def _content(text: str) -> list[str]:
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def bm25_rates(decks: Sequence[Deck], cases: Iterable[Case]) -> tuple[float, float, float]:
    """Decision/top-1/top-3 of plain BM25 (k1 1.2, b 0.75) over each entry's whole text, stemmed.

    It answers whenever any entry shares a word with the query, as plain BM25 has no decline rule.
    """
    entries = [e for deck in decks for e in deck.entries]
    docs = [Counter(_content(" ".join([e.question, *e.aliases, *e.keywords, e.answer]))) for e in entries]
    lengths = [sum(d.values()) for d in docs]
    mean = sum(lengths) / max(len(lengths), 1)
    df = Counter(t for d in docs for t in d)
    n = len(docs)
    idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
    decided = total = top1 = top3 = on_topic = 0
    for case in cases:
        terms = set(_content(str(case["q"])))
        scores = [sum(idf[t] * d[t] * 2.2 / (d[t] + 1.2 * (0.25 + 0.75 * length / mean)) for t in terms if t in d)
                  for d, length in zip(docs, lengths)]
        ranked = [entries[i].id for i in sorted(range(n), key=lambda i: -scores[i])[:3] if scores[i] > 0]
        total += 1
        if case["id"] is None:
            decided += not ranked
            continue
        on_topic += 1
        top1 += ranked[:1] == [case["id"]]
        top3 += case["id"] in ranked
        decided += ranked[:1] == [case["id"]]
    return decided / max(total, 1), top1 / max(on_topic, 1), top3 / max(on_topic, 1)


# ---------------------------------------------------------------- ablation and leave-one-deck-out


def ablate(deck: Deck, part: str) -> Deck:
    """The deck without its aliases, keywords or synonyms: what lookup is worth without them."""
    if part == "synonyms":
        return dataclasses.replace(deck, synonyms={})
    entries = tuple(dataclasses.replace(e, **{part: ()}) for e in deck.entries)
    return dataclasses.replace(deck, entries=entries)


def tuning_grid(spans: dict[str, tuple[float, ...]] | None = None) -> list[Tuning]:
    """The constants leave-one-deck-out chooses among: each kept constant at a few values around its default."""
    base = Tuning()
    grid = []
    for name, values in (spans or Tuning.GRID).items():
        grid += [dataclasses.replace(base, **{name: v}) for v in values if v != getattr(base, name)]
    return [base, *grid]


def lodo(dev: Sequence[DevDeck], spans: dict[str, tuple[float, ...]] | None = None, beside: Sequence[Deck] = (),
         ) -> list[tuple[str, Tuning, DeckScore]]:
    """For each deck: the grid point (of ``spans``, default ``Tuning.GRID``) with the best mean
    decision on the others, scored on it; each deck alone, or loaded with the decks ``beside``
    (routing's constants are chosen that way: answers from the wrong deck are wrong decisions)."""
    grid = tuning_grid(spans)
    table = [[evaluate(SearchIndex([*beside, d.deck], tuning), d.cases, d.deck.name, rank=False) for d in dev]
             for tuning in grid]
    out = []
    for held, d in enumerate(dev):
        others = [i for i in range(len(dev)) if i != held]
        best = max(range(len(grid)), key=lambda g: (sum(table[g][i].overall.decision for i in others), -g))
        out.append((d.deck.name, grid[best],
                    evaluate(SearchIndex([*beside, d.deck], grid[best]), d.cases, d.deck.name)))
    return out


# ---------------------------------------------------------------- printing


def print_score(score: DeckScore, label: str) -> None:
    print("\n".join(score_lines(score, label)))


def _changed(tuning: Tuning) -> dict[str, float]:
    return {f.name: getattr(tuning, f.name) for f in dataclasses.fields(tuning)
            if getattr(tuning, f.name) != getattr(Tuning(), f.name)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path, help="deck folders, each with a queries.yaml")
    parser.add_argument("--with-builtin", action="store_true", help="also score with the built-in decks loaded")
    parser.add_argument("--lodo", action="store_true", help="leave-one-deck-out: constants chosen on the others")
    parser.add_argument("--ablate", choices=["aliases", "keywords", "synonyms"], action="append", default=[],
                        help="remove this part of every deck first (repeatable)")
    parser.add_argument("--misses", action="store_true", help="print every wrong decision")
    parser.add_argument("--no-chat", action="store_true", help="score only each deck's own queries, not the chat set")
    args = parser.parse_args(argv)
    folders: list[Path] = []
    for path in args.folders:
        folders += deck_folders([path])
    dev = dev_decks(folders, with_chat=not args.no_chat)
    for part in args.ablate:
        dev = [DevDeck(ablate(d.deck, part), d.cases) for d in dev]
    builtin = [d for d in builtin_decks() if all(d.name != x.deck.name for x in dev)]
    same = same_concept()
    start = time.perf_counter()
    for d in dev:
        name = d.deck.name
        alone = evaluate(SearchIndex([d.deck]), d.cases, name)
        print_score(alone, f"\n{name} ({len(d.deck.entries)} entries, alone)")
        n1, n3 = naive_rates([d.deck], d.cases)
        bd, b1, b3 = bm25_rates([d.deck], d.cases)
        print(f"    baselines: naive WRatio top-1 {percent(n1)} top-3 {percent(n3)};  "
              f"plain BM25 decision {percent(bd)} top-1 {percent(b1)} top-3 {percent(b3)}")
        misses = alone.misses
        if args.with_builtin and builtin:
            together = evaluate(SearchIndex([*builtin, d.deck]), d.cases, name, same=same)
            print_score(together, f"{name} with built-in decks ({', '.join(b.name for b in builtin)})")
            misses = together.misses
        if args.misses:
            print("\n".join("    " + m for m in misses))
    if len(dev) > 1:
        every = [d.deck for d in dev]
        for d in dev:
            together = evaluate(SearchIndex(every), d.cases, d.deck.name, same=same)
            print_score(together, f"\n{d.deck.name} with every deck above loaded")
    if args.lodo and len(dev) > 1:
        print("\nleave-one-deck-out (constants chosen on the other decks):")
        for name, tuning, score in lodo(dev):
            print_score(score, f"{name}  chosen {_changed(tuning) or 'defaults'}")
        if args.with_builtin and builtin:
            print("\nleave-one-deck-out beside the built-in decks (routing's constants chosen on the other decks):")
            for name, tuning, score in lodo(dev, Tuning.ROUTE_GRID, builtin):
                print_score(score, f"{name}  chosen {_changed(tuning) or 'defaults'}")
    print(f"\n(scored in {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
