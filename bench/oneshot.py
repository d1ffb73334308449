"""One-shot ``studybot ask``: the wall time of a whole process, with the deck index kept and without.

Prints figures; it is not a pass/fail test. Run from the repository root:
``python -m bench.oneshot [--runs 15]``.

Each run is a new ``python -m bot ask QUESTION`` process on the built-in decks, timed from
start to exit, with dev-set questions of every kind in turn. Three ways, in the same run:
- **kept**: the deck index read from the cache folder ([decks] cache = true, the default;
  the folder is warmed once first);
- **not kept** (the baseline, what every run cost before): [decks] cache = false, so each
  process parses the YAML decks and indexes them;
- **floors**: ``python -c pass`` and ``python -c "import numpy"``, which no lookup avoids.

Whether Python may write bytecode matters here: with ``PYTHONDONTWRITEBYTECODE`` set and an
editable install, the bot's own modules are compiled again by every process (~0.1 s). The
figures say which was the case; ``python -m compileall -q bot`` writes it once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEVSET = ROOT / "tests" / "kb" / "devset.yaml"


def questions(count: int) -> list[str]:
    """Dev-set questions, kinds taken in turn so typos and long ones are in every sample."""
    by_kind: dict[str, list[str]] = {}
    for case in yaml.safe_load(DEVSET.read_text()):
        by_kind.setdefault(case["kind"], []).append(case["q"])
    kinds = sorted(by_kind)
    return [by_kind[kinds[i % len(kinds)]][i // len(kinds) % len(by_kind[kinds[i % len(kinds)]])]
            for i in range(count)]


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, timeout=120)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed


def report(label: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    print(f"  {label:34} median {statistics.median(samples) * 1000:6.0f} ms   min {ordered[0] * 1000:6.0f} ms"
          f"   p90 {p90 * 1000:6.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="processes timed per way")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "no-cache.toml"
        config.write_text("[decks]\ncache = false\n")
        env = dict(os.environ, XDG_CACHE_HOME=str(Path(folder) / "cache"))
        ask = [sys.executable, "-m", "bot", "ask"]
        timed([*ask, "warm the cache"], env)
        asked = questions(args.runs)
        kept: list[float] = []
        not_kept: list[float] = []
        for question in asked:  # interleaved, so a busy moment of the machine weighs on both alike
            kept.append(timed([*ask, question], env))
            not_kept.append(timed([*ask, question, "--config", str(config)], env))
        floor = [timed([sys.executable, "-c", "pass"], env) for _ in range(args.runs)]
        numpy = [timed([sys.executable, "-c", "import numpy"], env) for _ in range(args.runs)]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    writes = "no (PYTHONDONTWRITEBYTECODE is set)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "yes"
    print(f"one-shot `studybot ask`, {args.runs} processes each, dev-set questions of every kind; "
          f"load average {load:.2f}; Python writes bytecode: {writes}")
    report("kept index ([decks] cache = true)", kept)
    report("baseline: cache = false", not_kept)
    report("floor: python -c pass", floor)
    report("floor: python -c 'import numpy'", numpy)


if __name__ == "__main__":
    main()
