"""How common a word is in everyday English: what lets lookup tell chat from a deck's terms.

Why: a deck knows only its own words, so by itself it cannot tell "says" (a correct English word
it happens not to use) from "tensros" (a typo of one it does), nor "time" (said all day long)
from "tensor" (a term of art). English word counts can: a word people write every day carries
little information about what a question is about, and a word that is in the English list is
not a typo. The counts are pyspellchecker's English frequency list (MIT, see
``english_words.NOTICE``), of which ``english_words.txt`` keeps what the lookup can tell apart
(``tests/kb/english_words.py`` writes it); it is read on first use only, so commands that never
search never pay for it.
"""

from __future__ import annotations

import bisect
import math
import re
from functools import lru_cache
from pathlib import Path

from bot.kb.text import STOPWORDS

# Words seen less than this often are treated as unseen: the list puts ~100,000 rare or odd
# forms at exactly its floor count of 50, which says "exists", not "how common".
_FLOOR = 50
# "the" is about one word in twenty of English text (-log 0.05 = 3.0 nats); information is
# measured from it, so the list's total never needs summing.
_THE_INFORMATION = 3.0
SPLIT_AFTER = 200  # words looked up in the list's text before it is split into lines (see _WordList)
WORDS = Path(__file__).with_name("english_words.txt")  # "word count" lines, sorted by "word "
_COMMON_COUNT = re.compile(rb" (\d{5,})\n")  # a word's count, when it is 10,000 or more


@lru_cache(maxsize=1)
def _data() -> bytes:
    """The list's text, read on first use (0.75 MB, under a millisecond)."""
    return WORDS.read_bytes()


@lru_cache(maxsize=65_536)
def count(word: str) -> int:
    """How often ``word`` occurs in the list's English text (0 if never, or at most ``_FLOOR`` times)."""
    key = word.encode("ascii", "replace") + b" "
    line = _word_list().line_of(key)
    return int(line[len(key):]) if line.startswith(key) else 0


class _WordList:
    """The list's ``word count`` lines, in the sorted order they are written in, bisected.

    A one-shot ``studybot ask`` looks up a dozen words, so the text is bisected as it is: a probe
    at any byte reads the line that starts there or after (~13 µs a word; splitting the text into
    lines costs a few milliseconds). A process that looks up more (a bot, whose questions bring
    new words all day) splits it once and bisects the lines (~2 µs a word).
    """

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._lines: list[bytes] | None = None
        self._lookups = 0

    def line_of(self, key: bytes) -> bytes:
        """The first line that sorts at or after ``key`` (``b"~"`` past the last)."""
        self._lookups += 1
        if self._lookups > SPLIT_AFTER:
            self.split()
        if self._lines is not None:
            at = bisect.bisect_left(self._lines, key)
            return self._lines[at] if at < len(self._lines) else b"~"
        low, high = 0, len(self._data)
        while low < high:  # the first byte whose line (the one starting there or after) sorts at or after the key
            middle = (low + high) // 2
            if self._line_from(middle) < key:
                low = middle + 1
            else:
                high = middle
        return self._line_from(low)

    def split(self) -> None:
        """Splits the text into lines, once: bisecting them is ~6x faster than bisecting the text."""
        if self._lines is None:
            self._lines = self._data.splitlines()

    def _line_from(self, at: int) -> bytes:
        """The line starting at byte ``at`` or after it (``b"~"``, after every word, past the last one)."""
        start = 0 if at == 0 else self._data.find(b"\n", at - 1) + 1
        if (start == 0 and at > 0) or start >= len(self._data):  # no line break after ``at``, or the end
            return b"~"
        end = self._data.find(b"\n", start)
        return self._data[start:end if end >= 0 else len(self._data)]


def prepare() -> None:
    """Does now what a process answering many questions would otherwise do on its first ones:
    splits the list into lines, groups everyday words by length, imports the typo matcher."""
    _word_list().split()
    _common_by_length()
    stopwords_by_length()
    from rapidfuzz import process  # noqa: F401 - imported for nearby(), which imports it on first use


@lru_cache(maxsize=1)
def _word_list() -> _WordList:
    return _WordList(_data())


@lru_cache(maxsize=1)
def _log_the() -> float:
    return math.log(count("the"))


def is_common(word: str) -> bool:
    """Whether ``word`` is an everyday English word (so never a typo to repair).

    Words at the list's floor count (rare forms like "colum", "trass") are not: a deck word one
    edit away is a likelier reading.
    """
    return count(word) > _FLOOR


@lru_cache(maxsize=1)
def _common_by_length() -> tuple[dict[int, list[str]], dict[str, int]]:
    """Everyday words (seen 10,000+ times, ~1 in 160,000 words) grouped by length, for guessing what a typo meant.

    Only these, so a guess costs well under a millisecond, and because a typo of a rarer word
    is as likely a term the deck does not know.
    """
    common: dict[str, int] = {}
    data = _data()
    # Found by their five or more digits: one regex pass in C instead of a Python step per line.
    for match in _COMMON_COUNT.finditer(data):
        spelt = data[data.rfind(b"\n", 0, match.start()) + 1:match.start()]
        if spelt.isalpha() and int(match[1]) >= 10_000:
            common[spelt.decode()] = int(match[1])
    by_length: dict[int, list[str]] = {}
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


@lru_cache(maxsize=65_536)
def information(word: str) -> float:
    """How much saying ``word`` tells, in nats: -log of its share of English text.

    "the" is ~3, "time" ~6.4, "lunch" ~9.8, "tensor" ~16, a word English never uses ~17.3.
    """
    return _THE_INFORMATION + _log_the() - math.log(max(count(word), _FLOOR))


@lru_cache(maxsize=1)
def max_information() -> float:
    """The information of a word English never uses (a term of art, a name, a typo)."""
    return _THE_INFORMATION + _log_the() - math.log(_FLOOR)


def nearby(word: str, by_length: dict[int, list[str]], frequency: dict[str, int]) -> list[tuple[int, int, str]]:
    """Words of ``by_length`` within 1 edit (2 for words of 8+ letters), closest and most used first.

    Among equally close words, one with the same letters comes first: swapped letters are the
    commonest slip, so "mdoe" is "mode" before it is "mde". Two slips must leave the first letter
    as it is (people rarely get a word's first letter wrong), so "metaclass" is not "dataclass":
    on the seven dev decks no query needed a two-edit repair that changes it, and one was wrong.
    """
    from rapidfuzz import process  # here: most questions have no word to repair, and the import is ~15 ms
    from rapidfuzz.distance import OSA

    max_distance = 1 if len(word) <= 7 else 2
    found: list[tuple[int, int, str]] = []
    for length in range(len(word) - max_distance, len(word) + max_distance + 1):
        for candidate, distance, _ in process.extract(word, by_length.get(length, ()), scorer=OSA.distance,
                                                      score_cutoff=max_distance, limit=25):
            if distance < 2 or candidate[:1] == word[:1]:
                found.append((int(distance), -frequency.get(candidate, 0), candidate))
    letters = sorted(word)
    return sorted(found, key=lambda f: (f[0], sorted(f[2]) != letters, f[1], f[2]))
