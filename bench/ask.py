"""Lookup speed: p50/p99 per query and index build time, ours beside the naive baseline.

Prints figures; it is not a pass/fail test. Run: ``python bench/ask.py [--entries 100000]``.
The naive baseline is rapidfuzz ``process.extractOne`` with ``WRatio`` over question texts,
measured in the same run on the same queries so the two can be compared as a ratio.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence

from rapidfuzz import fuzz, process

from bot.kb.library import load_library
from bot.kb.model import Choice, Deck, Entry, QuizCard
from bot.kb.search import SearchIndex


def percentile(samples: Sequence[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def time_queries(run: Callable[[str], object], queries: Sequence[str]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    for query in queries[:20]:
        run(query)  # warm caches the way a running bot would have them
    samples = []
    for query in queries:
        start = time.perf_counter()
        run(query)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), percentile(samples, 99)


def synthetic_deck(size: int, seed: int = 7) -> Deck:
    """A deck shaped like a real one: Zipf-distributed words from a 40,000-word vocabulary."""
    rng = random.Random(seed)
    letters = "etaoinshrdlucmfwypvbgkqjxz"
    vocab = sorted({"".join(rng.choices(letters[:20], k=rng.randint(3, 11))) for _ in range(48_000)})[:40_000]
    weights = [1 / (rank + 1) for rank in range(len(vocab))]

    def text(n: int) -> str:
        return " ".join(rng.choices(vocab, weights=weights, k=n))

    entries = []
    for i in range(size):
        card = QuizCard(id=f"big/e{i}/q1", entry_id=f"e{i}", deck="big", topic="t", prompt="p",
                        choices=(Choice("a", True), Choice("b")), explanation="x")
        entries.append(Entry(id=f"e{i}", deck="big", topic="t", question=f"What is {text(8)}?",
                             answer=text(rng.randint(40, 90)), aliases=(text(6), text(6)),
                             keywords=tuple(text(1) for _ in range(4)), quiz=(card,)))
    return Deck(name="big", title="Big", description="", topics={"t": "Generated"}, entries=tuple(entries))


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def queries_for(deck: Deck, count: int, seed: int = 11) -> list[str]:
    """Questions reworded the way people type: words dropped, a typo, extra chatter."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        entry = rng.choice(deck.entries)
        words = entry.question.rstrip("?").split()
        kept = [typo(w, rng) if rng.random() < 0.2 else w for w in words if rng.random() < 0.8]
        out.append(" ".join(["hey", "so", *kept, "please"]) if rng.random() < 0.3 else " ".join(kept))
    return out


def report(label: str, index_build_s: float, ours: tuple[float, float], naive: tuple[float, float]) -> None:
    print(f"{label}")
    print(f"  index build            {index_build_s * 1000:10.1f} ms")
    print(f"  ours   p50 / p99       {ours[0]:8.3f} / {ours[1]:8.3f} ms per query")
    print(f"  naive  p50 / p99       {naive[0]:8.3f} / {naive[1]:8.3f} ms per query  (WRatio over questions)")
    print(f"  naive/ours p99 ratio   {naive[1] / ours[1]:8.1f}x")


def bench(deck: Deck, queries: list[str], naive_queries: int) -> tuple[float, tuple[float, float], tuple[float, float]]:
    start = time.perf_counter()
    index = SearchIndex([deck])
    build = time.perf_counter() - start
    ours = time_queries(index.search, queries)
    questions = [e.question for e in deck.entries]
    naive = time_queries(lambda q: process.extractOne(q, questions, scorer=fuzz.WRatio),
                         queries[:naive_queries])
    return build, ours, naive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000, help="size of the generated deck")
    parser.add_argument("--queries", type=int, default=2_000)
    args = parser.parse_args()

    builtin = load_library().decks[0]
    build, ours, naive = bench(builtin, queries_for(builtin, args.queries), args.queries)
    report(f"built-in deck {builtin.name!r}: {len(builtin.entries)} entries, {args.queries} queries",
           build, ours, naive)

    start = time.perf_counter()
    big = synthetic_deck(args.entries)
    print(f"\n(generated {args.entries:,} entries in {time.perf_counter() - start:.1f} s)")
    build, ours, naive = bench(big, queries_for(big, args.queries), 200)
    report(f"generated deck: {args.entries:,} entries, {args.queries} queries (naive: first 200)",
           build, ours, naive)


if __name__ == "__main__":
    main()
