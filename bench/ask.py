"""Lookup speed: p50/p99 per query and index build time, ours beside the naive baseline.

Prints figures; it is not a pass/fail test. Run from the repository root:
``python -m bench.ask [--entries 100000] [--queries 2000]``.

Two decks are measured: the built-in library (queried with the dev set, tests/kb/devset.yaml)
and a generated deck of ``--entries`` entries (queried with reworded, misspelled, keyword-only
and off-topic questions). The naive baseline is rapidfuzz ``process.extractOne`` with ``WRatio``
over question texts, measured in the same run on the same queries so the two compare as a ratio.
Everything runs on one core: the bot answers lookups on one Python thread.
"""

from __future__ import annotations

import os

from bot.blas import one_thread

one_thread()  # as ``studybot`` does, before numpy is imported

import argparse  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from itertools import accumulate  # noqa: E402
from pathlib import Path  # noqa: E402

import yaml  # noqa: E402
from rapidfuzz import fuzz, process  # noqa: E402

from bot.kb.library import load_library, set_aside_long_lived  # noqa: E402
from bot.kb.model import Choice, Deck, Entry, QuizCard  # noqa: E402
from bot.kb.search import SearchIndex  # noqa: E402

DEVSET = Path(__file__).resolve().parent.parent / "tests" / "kb" / "devset.yaml"
DEVSET_PASSES = 5  # the dev set is a couple of hundred queries; more samples steady the p99
OFF_TOPIC = [
    "what's the weather like in lisbon this weekend",
    "how long should I boil an egg for a soft yolk",
    "who won the football match last night",
    "recommend a good fantasy novel series",
    "how do I fix a flat bicycle tire",
    "best way to learn the guitar as an adult",
    "is it going to rain tomorrow morning",
    "what time does the grocery store close on sunday",
    "how many calories are in a banana",
    "can you book me a table for two at eight",
    "lol",
    "where did I leave my keys",
]
CHATTER = (["hey", "so"], ["quick", "question:"], ["can", "someone", "explain"], ["pls", "help,"])


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def time_queries(run: Callable[[str], object], queries: Sequence[str],
                 passes: int = 1) -> tuple[float, float, float]:
    """p50 and p99 in milliseconds over every query, ``passes`` times, and p99 of the first pass alone.

    Later passes ask the same questions again, which finds their words' repairs and vectors
    remembered; the first pass says what questions never seen before cost.
    """
    for query in queries[:20]:
        run(query)  # warm caches the way a running bot would have them
    samples = []
    for _ in range(passes):
        for query in queries:
            start = time.perf_counter()
            run(query)
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), percentile(samples, 99), percentile(samples[:len(queries)], 99)


def synthetic_deck(size: int, seed: int = 7) -> Deck:
    """A deck shaped like a real one: Zipf-distributed words from a 40,000-word vocabulary.

    Questions of 8 words, answers of 40-90, two 6-word aliases and four one-word keywords per
    entry. The cumulative weights are computed once, so each word is one bisection (passing
    ``weights=`` to every ``choices`` call re-summed all 40,000 weights per call: ~10 minutes
    for 100,000 entries). The draws are the same, so the deck is the same as before.
    """
    rng = random.Random(seed)
    letters = "etaoinshrdlucmfwypvbgkqjxz"
    vocab = sorted({"".join(rng.choices(letters[:20], k=rng.randint(3, 11))) for _ in range(48_000)})[:40_000]
    cum_weights = list(accumulate(1 / (rank + 1) for rank in range(len(vocab))))

    def text(n: int) -> str:
        return " ".join(rng.choices(vocab, cum_weights=cum_weights, k=n))

    entries = []
    for i in range(size):
        card = QuizCard(id=f"big/e{i}/q1", entry_id=f"e{i}", deck="big", topic="t", prompt="p",
                        choices=(Choice("a", True), Choice("b")), explanation="x")
        entries.append(Entry(id=f"e{i}", deck="big", topic="t", question=f"What is {text(8)}?",
                             answer=text(rng.randint(40, 90)), aliases=(text(6), text(6)),
                             keywords=tuple(text(1) for _ in range(4)), quiz=(card,)))
    return Deck(name="big", title="Big", description="", topics={"t": "Generated"}, entries=tuple(entries))


def typo(word: str, rng: random.Random) -> str:
    """Swaps two neighbouring letters of a word of five letters or more."""
    if len(word) < 5:
        return word
    i = rng.randrange(len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def queries_for(deck: Deck, count: int, seed: int = 11) -> list[str]:
    """Questions the way people type them about a deck.

    Mostly its questions reworded (words dropped, one in five misspelled, chat filler around
    them), some bare keyword lists, and one in ten off-topic.
    """
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.1:
            out.append(rng.choice(OFF_TOPIC))
            continue
        entry = rng.choice(deck.entries)
        if roll < 0.25:
            out.append(" ".join(rng.sample(entry.keywords, k=min(len(entry.keywords), rng.randint(2, 3)))))
            continue
        words = entry.question.rstrip("?").split()
        kept = [typo(w, rng) if rng.random() < 0.2 else w for w in words if rng.random() < 0.8]
        out.append(" ".join([*rng.choice(CHATTER), *kept, "please"]) if rng.random() < 0.3 else " ".join(kept))
    return out


def devset_queries() -> list[str]:
    """The dev set's queries (on-topic and off-topic), in file order."""
    return [str(case["q"]) for case in yaml.safe_load(DEVSET.read_text(encoding="utf-8"))]


def bench(decks: Sequence[Deck], queries: Sequence[str], naive_queries: Sequence[str],
          passes: int = 1) -> tuple[float, float, tuple[float, float, float], tuple[float, float, float]]:
    """Index build and prepare seconds, and (p50, p99) ms per query for ours and for the naive baseline.

    The index is prepared as ``studybot run`` prepares it before its first question
    (``SearchIndex.prepare``, ``set_aside_long_lived``); a one-shot ``ask`` does not, and
    ``bench.oneshot`` times that.
    """
    start = time.perf_counter()
    index = SearchIndex(decks)
    build = time.perf_counter() - start
    index.prepare()
    set_aside_long_lived()
    prepare = time.perf_counter() - start - build
    ours = time_queries(index.search, queries, passes)
    questions = [e.question for deck in decks for e in deck.entries]
    naive = time_queries(lambda q: process.extractOne(q, questions, scorer=fuzz.WRatio), naive_queries, passes)
    return build, prepare, ours, naive


def report(label: str, index_build_s: float, prepare_s: float, ours: tuple[float, float, float],
           naive: tuple[float, float, float]) -> None:
    """Prints one deck's figures."""
    print(label)
    print(f"  index build            {index_build_s * 1000:10.1f} ms")
    print(f"  prepare for serving    {prepare_s * 1000:10.1f} ms  (once per process, before the first question)")
    print(f"  ours   p50 / p99       {ours[0]:8.3f} / {ours[1]:8.3f} ms per query")
    print(f"  naive  p50 / p99       {naive[0]:8.3f} / {naive[1]:8.3f} ms per query  (WRatio over questions)")
    print(f"  first pass p99         {ours[2]:8.3f} ms ours, {naive[2]:.3f} naive  (every question new to the process)")
    print(f"  ours/naive p50 / p99   {ours[0] / naive[0]:8.3f} / {ours[1] / naive[1]:8.3f}"
          f"   (naive/ours {naive[0] / ours[0]:.1f}x / {naive[1] / ours[1]:.1f}x)")


def pin_to_one_core() -> str:
    """Runs the process on a single CPU where the OS allows it; says which."""
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity here)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000, help="size of the generated deck")
    parser.add_argument("--queries", type=int, default=2_000, help="queries timed on the generated deck")
    parser.add_argument("--naive-queries", type=int, default=300,
                        help="of those, how many the naive baseline runs on the generated deck (it is slow)")
    args = parser.parse_args()
    print(f"one core: {pin_to_one_core()}; BLAS/OpenMP threads {os.environ['OPENBLAS_NUM_THREADS']}\n")

    library = load_library()
    devset = devset_queries()
    build, prepare, ours, naive = bench(library.decks, devset, devset, DEVSET_PASSES)
    entries = sum(len(d.entries) for d in library.decks)
    report(f"built-in decks ({', '.join(d.name for d in library.decks)}): {entries} entries, "
           f"dev set {len(devset)} queries x {DEVSET_PASSES} passes", build, prepare, ours, naive)

    start = time.perf_counter()
    big = synthetic_deck(args.entries)
    print(f"\n(generated {args.entries:,} entries in {time.perf_counter() - start:.1f} s)")
    queries = queries_for(big, args.queries)
    naive_count = min(args.naive_queries, len(queries))
    build, prepare, ours, naive = bench([big], queries, queries[:naive_count])
    report(f"generated deck: {args.entries:,} entries, {len(queries)} queries (naive: first {naive_count})",
           build, prepare, ours, naive)


if __name__ == "__main__":
    main()
