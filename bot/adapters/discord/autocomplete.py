"""Suggestions while a user types an option: questions from the decks, topics, time zones.

Discord shows at most 25 choices, each name and value at most 100 characters, and gives an
autocomplete request 3 seconds with no way to defer, so these only read memory.
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache
from weakref import WeakKeyDictionary

from discord import app_commands

from bot.core.replies import fit
from bot.kb.library import Library
from bot.kb.model import Entry
from bot.kb.text import STOPWORDS, fold, words

CHOICES_LIMIT = 25
CHOICE_LIMIT = 100

_FOLDED: WeakKeyDictionary[Library, list[tuple[Entry, str]]] = WeakKeyDictionary()


def question_choices(library: Library, current: str) -> list[app_commands.Choice[str]]:
    """Deck questions for what has been typed so far.

    Questions containing every typed word (the last one possibly half-typed, so matched as
    a prefix of a longer word) come first, in search rank; then the search engine's other
    matches, which forgive typos and paraphrase. A picked choice's value is the question
    itself, which the search then answers with certainty.
    """
    text = current.strip()
    if not text:
        return []
    typed = [w for w in words(text) if w not in STOPWORDS] or words(text)
    ranked = [match.entry for match in library.search(text, top=CHOICES_LIMIT).matches]
    containing = [entry for entry, question in _folded_questions(library) if all(w in question for w in typed)]
    contained = {id(entry) for entry in containing}
    ordered = ([e for e in ranked if id(e) in contained] + [e for e in containing if e not in ranked]
               + [e for e in ranked if id(e) not in contained])
    choices: list[app_commands.Choice[str]] = []
    seen: set[str] = set()
    for entry in ordered:
        value = fit(entry.question, CHOICE_LIMIT)
        if value not in seen:
            seen.add(value)
            choices.append(app_commands.Choice(name=value, value=value))
        if len(choices) == CHOICES_LIMIT:
            break
    return choices


def _folded_questions(library: Library) -> list[tuple[Entry, str]]:
    """Every entry with its folded question, computed once per library (large decks hold 100,000)."""
    folded = _FOLDED.get(library)
    if folded is None:
        folded = [(entry, fold(entry.question)) for deck in library.decks for entry in deck.entries]
        _FOLDED[library] = folded
    return folded


def topic_choices(library: Library, current: str) -> list[app_commands.Choice[str]]:
    """Topics whose slug or name contains what has been typed; the value is the slug the core knows."""
    wanted = fold(current.strip())
    choices: dict[str, app_commands.Choice[str]] = {}
    for deck in library.decks:
        for slug, name in deck.topics.items():
            if slug not in choices and (wanted in slug or wanted in fold(name)):
                choices[slug] = app_commands.Choice(name=fit(f"{name} ({slug})", CHOICE_LIMIT), value=slug)
    return list(choices.values())[:CHOICES_LIMIT]


@lru_cache(maxsize=1)
def _zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def timezone_choices(current: str) -> list[app_commands.Choice[str]]:
    """IANA zones containing what has been typed, those starting with it first ("berl" -> Europe/Berlin)."""
    wanted = current.strip().casefold().replace(" ", "_")
    if not wanted:
        names = ["UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"]
    else:
        hits = [z for z in _zones() if wanted in z.casefold()]
        names = sorted(hits, key=lambda z: (not z.casefold().split("/")[-1].startswith(wanted), len(z), z))
    return [app_commands.Choice(name=z, value=z) for z in names[:CHOICES_LIMIT]]
