"""Values offered while someone types an option: deck questions, topics and decks, time zones.

Option declarations name their source (``Option.suggest``); a platform that can show
suggestions (Discord's autocomplete) asks :func:`suggest` and only fits the results to its
limits, so every platform ranks the same way the core matches. Only memory is read: Discord
gives an autocomplete request 3 seconds and no way to defer.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from functools import lru_cache
from weakref import WeakKeyDictionary

from bot.core.names import resolve_scopes, scope_label, scope_of
from bot.kb.library import Library
from bot.kb.model import Entry
from bot.kb.text import STOPWORDS, fold, words

_FOLDED: WeakKeyDictionary[Library, list[tuple[Entry, str]]] = WeakKeyDictionary()
COMMON_ZONES = ("UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo")


@dataclass(frozen=True)
class Suggestion:
    """A value to offer: ``label`` is shown, ``value`` is what the option receives."""

    label: str
    value: str


SOURCES = ("questions", "topics", "timezones")  # what an Option's ``suggest`` may name


def suggest(source: str, typed: str, library: Library, limit: int = 25) -> list[Suggestion]:
    """Up to ``limit`` values from ``source`` (one of :data:`SOURCES`) for ``typed``."""
    if source == "questions":
        return question_suggestions(library, typed, limit)
    if source == "topics":
        return topic_suggestions(library, typed, limit)
    if source == "timezones":
        return timezone_suggestions(typed, limit)
    raise ValueError(f"no suggestion source {source!r}; sources: {', '.join(SOURCES)}")


def question_suggestions(library: Library, typed: str, limit: int) -> list[Suggestion]:
    """Deck questions for what has been typed so far.

    Questions containing every typed word (the last one possibly half-typed, so matched as
    a prefix of a longer word) come first, in search rank; then the search engine's other
    matches, which forgive typos and paraphrase. A picked value is the question itself,
    which the search then answers with certainty.
    """
    text = typed.strip()
    if not text:
        return []
    wanted = [w for w in words(text) if w not in STOPWORDS] or words(text)
    ranked = [match.entry for match in library.search(text, top=limit).matches]
    containing = [entry for entry, question in _folded_questions(library) if all(w in question for w in wanted)]
    contained = {id(entry) for entry in containing}
    ordered = ([e for e in ranked if id(e) in contained] + [e for e in containing if e not in ranked]
               + [e for e in ranked if id(e) not in contained])
    seen: dict[str, Suggestion] = {}
    for entry in ordered:
        seen.setdefault(entry.question, Suggestion(entry.question, entry.question))
        if len(seen) == limit:
            break
    return list(seen.values())


def _folded_questions(library: Library) -> list[tuple[Entry, str]]:
    """Every entry with its folded question, computed once per library (large decks hold 100,000)."""
    folded = _FOLDED.get(library)
    if folded is None:
        folded = [(entry, fold(entry.question)) for deck in library.decks for entry in deck.entries]
        _FOLDED[library] = folded
    return folded


def topic_suggestions(library: Library, typed: str, limit: int) -> list[Suggestion]:
    """Decks and topics: what the core would match first (exact, then prefixes), then names containing it."""
    wanted = fold(typed.strip())
    found = resolve_scopes(library, typed) if wanted else []
    for deck in library.decks:
        if not wanted or wanted in fold(deck.name) or wanted in fold(deck.title):
            found.append(scope_of(library, deck.name, None))
        for slug, name in deck.topics.items():
            if not wanted or wanted in slug or wanted in fold(name):
                found.append(scope_of(library, deck.name, slug))
    return [Suggestion(f"{scope_label(library, s)} ({s})", s) for s in dict.fromkeys(found)][:limit]


@lru_cache(maxsize=1)
def _zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def timezone_suggestions(typed: str, limit: int) -> list[Suggestion]:
    """IANA zones containing what has been typed, those whose city starts with it first ("berl")."""
    wanted = typed.strip().casefold().replace(" ", "_")
    if not wanted:
        names: list[str] = list(COMMON_ZONES)
    else:
        hits = [z for z in _zones() if wanted in z.casefold()]
        names = sorted(hits, key=lambda z: (not z.casefold().split("/")[-1].startswith(wanted), len(z), z))
    return [Suggestion(z, z) for z in names[:limit]]
