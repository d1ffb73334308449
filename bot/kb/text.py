"""Text normalization shared by indexing and querying, so both sides see the same terms."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

_TOKEN = re.compile(r"[a-z0-9]+")
CODE_SPAN = re.compile(r"`([^`\n]+)`")  # text in backticks, as decks write code: its inside
# Combining marks left by NFKD decomposition ("café" -> "cafe" + U+0301): the usual blocks.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_STEMMER = snowballstemmer.stemmer("english")
# PyStemmer's own cache holds 10,000 words and is purged when full: stemming a large deck's
# vocabulary (40,000 words) through it took 8x as long as without. ``stem`` has its own cache.
if hasattr(_STEMMER, "maxCacheSize"):
    _STEMMER.maxCacheSize = 0

# Words that carry no topic: question scaffolding and chat filler. Kept small on purpose;
# BM25's idf already discounts words that are common in the deck itself.
STOPWORDS = frozenset("""
a about above after again all also am an and any are aren as at be because been before being
below between both but by can cannot could did didn do does doesn doing don down during each
even ever every few for from further get gets getting got had has have having he her here hers
herself him himself his how i if in into is isn it its itself just let like ll me mean means
more most my myself no nor not now of off on once only or other our ours out over own please
pls re really s same say she should so some someone something such t tell than thank thanks that
the their theirs them themselves then there these they this those through to too under until
up us ve very want was wasn way we were weren what whats when where which while who whom why
will with won would wouldn you your yours yourself yourselves anyone anybody guys hey hi hello
ok okay explain explaining know knows thing things stuff kind sort actually basically
question questions difference differences work works working use used using
im d m y e g eg ie etc vs versus
""".split())


def fold(text: str) -> str:
    """Lowercases and strips accents and compatibility forms ("Ｔｅｎｓｏｒ", "café" -> "tensor", "cafe")."""
    if text.isascii():  # the common case, and far faster than decomposing
        return text.lower()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold()))


def words(text: str) -> list[str]:
    """The folded alphanumeric words of ``text``, stopwords included."""
    return _TOKEN.findall(fold(text))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The English Snowball stem, cached because decks repeat words endlessly."""
    return str(_STEMMER.stemWord(word))


def stem_all(words: list[str]) -> list[str]:
    """Stems of many words in one call: indexing stems a whole vocabulary at once."""
    return [str(s) for s in _STEMMER.stemWords(words)]
