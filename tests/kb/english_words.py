"""Writes ``bot/kb/english_words.txt``, the English word counts the lookup reads, from pyspellchecker's list.

    python -m tests.kb.english_words          # rewrite the shipped file from the installed pyspellchecker

Why a derived copy ships instead of the package: reading pyspellchecker's gzipped JSON cost a
one-shot ``studybot ask`` ~20 ms (finding the resource, then decompressing 2.7 MB), more than
its lookup. Only what the lookup can tell apart is kept: ASCII words (questions are folded to
ASCII before a word is counted) seen more than ``english._FLOOR`` times (a count at or under it
reads as "unseen" either way), one ``word count`` line each, sorted for bisecting. The test
``test_the_shipped_english_list_is_pyspellchecker_s`` checks the file against this function.
"""

from __future__ import annotations

import gzip
import json
from importlib import resources

from bot.kb import english


def derived() -> bytes:
    """The file's text, from the installed pyspellchecker's English list."""
    data = gzip.decompress((resources.files("spellchecker") / "resources" / "en.json.gz").read_bytes())
    counts: dict[str, int] = json.loads(data)
    kept = sorted((word.encode() + b" ", count) for word, count in counts.items()
                  if word.isascii() and count > english._FLOOR)
    return b"".join(key + str(count).encode() + b"\n" for key, count in kept)


if __name__ == "__main__":
    english.WORDS.write_bytes(derived())
    print(f"wrote {english.WORDS}")
