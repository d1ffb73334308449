"""How common a word is in everyday English: what lets lookup tell chat from a deck's terms.

Why: a deck knows only its own words, so by itself it cannot tell "says" (a correct English word
it happens not to use) from "tensros" (a typo of one it does), nor "time" (said all day long)
from "tensor" (a term of art). English word counts can: a word people write every day carries
little information about what a question is about, and a word that is in the English list is
not a typo. The counts are pyspellchecker's English frequency list (MIT), which ships inside
that package; it is read on first use only, so commands that never search never pay for it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import marshal
import math
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.kb.text import STOPWORDS

# Words seen less than this often are treated as unseen: the list puts ~100,000 rare or odd
# forms at exactly its floor count of 50, which says "exists", not "how common".
_FLOOR = 50


@lru_cache(maxsize=1)
def _counts() -> tuple[dict[str, int], float]:
    """The counts of words above the floor and the log of the total; loaded once, on first use.

    Parsing the list's 160,000-word JSON costs ~150 ms of CPU, most of a one-shot ``studybot
    ask``; the ~57,000 words that matter are kept in a cache file named by the list's hash, which
    loads in ~10 ms. Without a writable cache folder it is parsed every time, which still works.
    """
    data = (resources.files("spellchecker") / "resources" / "en.json.gz").read_bytes()
    cache = _cache_folder() / f"english-{hashlib.blake2b(data, digest_size=8).hexdigest()}.marshal"
    try:
        counts, log_total = marshal.loads(cache.read_bytes())
        return counts, log_total
    except (OSError, ValueError, EOFError, TypeError):
        pass
    every: dict[str, int] = json.loads(gzip.decompress(data))
    counts, log_total = {w: c for w, c in every.items() if c > _FLOOR}, math.log(sum(every.values()))
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(marshal.dumps((counts, log_total)))
        partial.replace(cache)  # atomic: a concurrent reader sees the old file or the whole new one
    except OSError:
        pass
    return counts, log_total


def _cache_folder() -> Path:
    """Where derived data is kept between runs: ``$XDG_CACHE_HOME/studybot`` or ``~/.cache/studybot``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "studybot"


def is_common(word: str) -> bool:
    """Whether ``word`` is an everyday English word (so never a typo to repair).

    Words at the list's floor count (rare forms like "colum", "trass") are not: a deck word one
    edit away is a likelier reading.
    """
    return _counts()[0].get(word, 0) > _FLOOR


@lru_cache(maxsize=1)
def _common_by_length() -> tuple[dict[int, list[str]], dict[str, int]]:
    """Everyday words (seen 10,000+ times, ~1 in 160,000 words) grouped by length, for guessing what a typo meant.

    Only these, so a guess costs well under a millisecond, and because a typo of a rarer word
    is as likely a term the deck does not know.
    """
    counts = _counts()[0]
    by_length: dict[int, list[str]] = {}
    common = {w: c for w, c in counts.items() if c >= 10_000 and w.isalpha()}
    for word in common:
        by_length.setdefault(len(word), []).append(word)
    return by_length, common


@lru_cache(maxsize=4096)
def likely_word(word: str) -> str:
    """The everyday word one edit from ``word`` that it most likely is ("tiem" -> "time"), else ``word``."""
    by_length, common = _common_by_length()
    found = nearby(word, by_length, common) if len(word) >= 4 else []
    return found[0][2] if found else word


@lru_cache(maxsize=1)
def stopwords_by_length() -> dict[int, list[str]]:
    """The stopwords grouped by length, for spotting misspelt ones."""
    by_length: dict[int, list[str]] = {}
    for word in STOPWORDS:
        by_length.setdefault(len(word), []).append(word)
    return by_length


def information(word: str) -> float:
    """How much saying ``word`` tells, in nats: -log of its share of English text.

    "the" is ~3, "time" ~6.4, "lunch" ~9.8, "tensor" ~16, a word English never uses ~17.3.
    """
    counts, log_total = _counts()
    return log_total - math.log(max(counts.get(word, 0), _FLOOR))


def max_information() -> float:
    """The information of a word English never uses (a term of art, a name, a typo)."""
    return _counts()[1] - math.log(_FLOOR)


def nearby(word: str, by_length: dict[int, list[str]], frequency: dict[str, int]) -> list[tuple[int, int, str]]:
    """Words of ``by_length`` within 1 edit (2 for words of 8+ letters), closest and most used first."""
    max_distance = 1 if len(word) <= 7 else 2
    found: list[tuple[int, int, str]] = []
    for length in range(len(word) - max_distance, len(word) + max_distance + 1):
        for candidate, distance, _ in process.extract(word, by_length.get(length, ()), scorer=OSA.distance,
                                                      score_cutoff=max_distance, limit=25):
            found.append((int(distance), -frequency.get(candidate, 0), candidate))
    return sorted(found)
