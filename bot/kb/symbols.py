"""Operators and other symbols a deck names ("2>&1", "$?", "//", "N+1"): what word lookup cannot see.

Why: lookup reads words, so a question that is only a symbol has no words at all, yet in a
technical deck it names one entry exactly: "what is $?" is an alias of the entry on exit codes.
A symbol here is a whitespace-separated token with a character that is neither a letter, a digit
nor an underscore, as an entry's question, aliases and keywords write it, or as its answer
writes it in backticks (`` `//` ``). Quotes, backticks and brackets around a token are not part of it,
nor are the brackets of a call (":where()" is ":where").

The table is built the first time a question made only of symbols is asked, so decks whose
questions never are pay nothing, at build or at query time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.kb.model import Entry
from bot.kb.text import CODE_SPAN, fold

_WRAPPING = "`'\"()[]{},"
_SENTENCE_END = ".!?:"
_WORDLIKE = re.compile(r"[\w'\u2019]")  # letters, digits, "_" and apostrophes ("what's") make words
_PUNCTUATION = ".!?:;,-"  # at a token's end these end or join sentences: no symbol
_LEADING = _PUNCTUATION.replace(":", "")  # ... and at its start (or start flags); a colon there starts code: ":where"


def symbol_tokens(text: str) -> set[str]:
    """The tokens of ``text`` that hold a symbol, folded; "what is $?" gives {"$?", "$"}.

    A token ending in sentence punctuation ("2>&1?") is also taken without it, since a
    question mark may end the sentence or be the symbol ("$?"). A word with its sentence's
    punctuation ("that?", "what's") is no symbol, nor is punctuation alone ("?", "-"): chat
    such as "how do I do that?" must not find an entry by them.
    """
    found: set[str] = set()
    for raw in fold(text).split():
        token = raw.strip(_WRAPPING)
        bare = token.rstrip(_SENTENCE_END).strip(_WRAPPING)  # ":where()?" is ":where", as typed alone
        if not _is_symbol(bare):
            continue
        found.add(token)
        if bare != token:
            found.add(bare)
    return found


def _is_symbol(token: str) -> bool:
    """Whether ``token``, without sentence punctuation or dashes at its ends, holds a character
    that is not part of a word: "a.b", "2>&1", "$", CSS's ":has" and "::before", but not "that?",
    "what's", "-" or "--force"."""
    return bool(_WORDLIKE.sub("", token.lstrip(_LEADING).rstrip(_PUNCTUATION)))


class Symbols:
    """Which entries name each symbol: in their question, aliases or keywords, or in their answer's code."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.in_head: dict[str, list[int]] = {}
        self.in_code: dict[str, list[int]] = {}
        for at, entry in enumerate(entries):
            head = "\n".join((entry.question, *entry.aliases, *entry.keywords))
            for token in symbol_tokens(head):
                self.in_head.setdefault(token, []).append(at)
            if "`" in entry.answer:
                for token in symbol_tokens("\n".join(CODE_SPAN.findall(entry.answer))):
                    self.in_code.setdefault(token, []).append(at)

    def entries_naming(self, tokens: set[str]) -> tuple[list[int], list[int]]:
        """Entries naming any of ``tokens`` in their head, and (the others) in their answer's code."""
        head = sorted({at for token in tokens for at in self.in_head.get(token, ())})
        code = sorted({at for token in tokens for at in self.in_code.get(token, ())} - set(head))
        return head, code
