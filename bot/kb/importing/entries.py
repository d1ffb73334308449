"""Deck entries made from notes: stable ids, topics, duplicates left out, one quiz card each.

Scores and review history refer to entry ids, so an id must come out the same every time the
same file is imported. It is the slug of the question (at most ``MAX_ID`` characters, cut at a
word); when two different questions give the same slug, the later one gets a suffix hashed from
its own text, so it does not depend on which other notes are in the file.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from bot.kb.importing.cards import (
    ChoicePool,
    NoCard,
    as_choice,
    card_from_choices,
    fold,
    generated_card,
    one_line,
    shorten,
)
from bot.kb.importing.notes import Note, Skip
from bot.kb.loader import MAX_ID, MAX_LENGTH

DEFAULT_TOPIC = ("general", "General")
_SUFFIX = 6  # hex digits of the hash that tells apart questions with the same slug


@dataclass
class BuiltEntries:
    """YAML-ready entries (in note order), their topics, and what was left out."""

    topics: dict[str, str] = field(default_factory=dict)
    entries: list[dict[str, object]] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    generated: int = 0  # cards made from other entries' answers (rule 2 in cards.py)
    short: int = 0  # of those, cards with fewer than four choices


def slugify(text: str, limit: int = MAX_ID) -> str:
    """Lowercase ASCII words joined by ``-``, at most ``limit`` characters, cut between words."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) <= limit:
        return slug
    cut = slug[: limit + 1]
    cut = cut[: cut.rindex("-")] if "-" in cut[limit // 2:] else slug[:limit]
    return cut.strip("-")


def build_entries(notes: list[Note]) -> BuiltEntries:
    """Entries for ``notes``: duplicates and notes that cannot make a card are skipped with a reason."""
    built = BuiltEntries()
    kept = _drop_duplicates(notes, built.skipped)
    ids = _entry_ids([note.question for note in kept])
    by_name: dict[str, str] = {}  # folded display name -> slug: one topic per name, however it is cased
    topics = [_topic(note.topic, built.topics, by_name) for note in kept]
    entries: dict[int, dict[str, object]] = {}
    pending: list[int] = []
    for i, note in enumerate(kept):
        unusable = _unusable(note)
        if unusable:
            built.skipped.append(Skip(note.where, unusable))
            continue
        try:
            card, answer = card_from_choices(note, _prompt(note)) if note.choices else ({}, note.answer)
        except NoCard as reason:
            built.skipped.append(Skip(note.where, str(reason)))
            continue
        entries[i] = _entry(ids[i], topics[i], one_line(note.question), answer, note.keywords, card)
        if not card:
            pending.append(i)
    answers = ChoicePool([(str(e["id"]), str(e["topic"]), text) for i, e in entries.items()
                          if (text := as_choice(kept[i].short_answer or str(e["answer"])))])
    questions = ChoicePool([(str(e["id"]), str(e["topic"]), text) for e in entries.values()
                            if (text := as_choice(str(e["question"])))])
    for i in pending:
        entry = entries[i]
        try:
            card = generated_card(ids[i], topics[i], _prompt(kept[i]), kept[i].question, str(entry["answer"]),
                                  answers, questions, kept[i].short_answer)
        except NoCard as reason:
            built.skipped.append(Skip(kept[i].where, str(reason)))
            del entries[i]
            continue
        entry["quiz"] = [card]
        built.generated += 1
        choices = card["choices"]
        built.short += isinstance(choices, list) and len(choices) < 4
    built.entries = [entries[i] for i in sorted(entries)]
    used = {str(e["topic"]) for e in built.entries}
    built.topics = {slug: name for slug, name in built.topics.items() if slug in used}
    return built


def _unusable(note: Note) -> str:
    """Why the note's question or answer cannot be an entry's (empty on one line, over the loader's limits), or ""."""
    if not one_line(note.question):
        return "the question has no words outside its code fences"
    for text, key in ((one_line(note.question), "question"), (note.answer, "answer")):
        if len(text) > MAX_LENGTH[key]:
            return f"the {key} is {len(text):,} characters long; a deck allows {MAX_LENGTH[key]:,} (shorten it)"
    return ""


def _prompt(note: Note) -> str:
    """The card's prompt: the question as written when it has several lines (code, lists), else one line."""
    return note.question if "\n" in note.question else one_line(note.question)


def _entry(entry_id: str, topic: str, question: str, answer: str, keywords: tuple[str, ...],
           card: dict[str, object]) -> dict[str, object]:
    entry: dict[str, object] = {"id": entry_id, "topic": topic, "question": question}
    unique_keywords = list(dict.fromkeys(k for k in keywords if k.strip() and len(k) <= MAX_LENGTH["keywords"]))
    if unique_keywords:
        entry["keywords"] = unique_keywords
    entry["answer"] = answer
    entry["quiz"] = [card] if card else []
    return entry


def _drop_duplicates(notes: list[Note], skipped: list[Skip]) -> list[Note]:
    """The first note of each question; later ones are reported (a deck answers a question once)."""
    first: dict[str, Note] = {}
    kept = []
    for note in notes:
        key = fold(one_line(note.question))
        if key in first:
            original = first[key]
            same = fold(original.answer) == fold(note.answer)
            detail = "" if same else " but a different answer; merge them in the file if both matter"
            skipped.append(Skip(note.where, f"same question as {original.where}{detail} (kept the first)"))
            continue
        first[key] = note
        kept.append(note)
    return kept


def _entry_ids(questions: list[str]) -> list[str]:
    used: set[str] = set()
    ids = []
    for question in questions:
        text = one_line(question)
        digest = hashlib.sha1(fold(text).encode()).hexdigest()
        candidate = slugify(text) or f"entry-{digest[:8]}"
        if candidate in used:
            candidate = f"{slugify(text, MAX_ID - _SUFFIX - 1) or 'entry'}-{digest[:_SUFFIX]}"
        number = 2
        while candidate in used:  # a hash clash as well: practically never
            candidate = f"{slugify(text, MAX_ID - _SUFFIX - 4) or 'entry'}-{digest[:_SUFFIX]}-{number}"
            number += 1
        used.add(candidate)
        ids.append(candidate)
    return ids


def _topic(name: str, topics: dict[str, str], by_name: dict[str, str]) -> str:
    """The slug for topic ``name`` (registering it), the default topic when it has none."""
    name = shorten(one_line(name), MAX_LENGTH["topics"]) or DEFAULT_TOPIC[1]
    key = fold(name)
    if key in by_name:
        return by_name[key]
    digest = hashlib.sha1(key.encode()).hexdigest()[:_SUFFIX]
    slug = DEFAULT_TOPIC[0] if name == DEFAULT_TOPIC[1] else slugify(name) or f"topic-{digest}"
    if slug in topics:
        slug = f"{slugify(name, MAX_ID - _SUFFIX - 1) or 'topic'}-{digest}"
    topics[slug] = name
    by_name[key] = slug
    return slug
