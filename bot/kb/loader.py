"""Loads deck folders and validates them, collecting every problem instead of stopping at one.

Deck authors fix a broken deck in one pass only if they see all of its problems at once, each
with the file, line and field, so validation never raises on the first error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.kb.answer_match import answer_problems
from bot.kb.folders import DECK_FILE, QUERIES_FILE
from bot.kb.markdown import join_soft_breaks
from bot.kb.model import Choice, Deck, Entry, QuizCard

# Chat buttons carry "practice:<deck>/<entry>", and Discord allows 100 characters per button id.
MAX_ID = 40
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DIFFICULTIES = ("easy", "medium", "hard")
DECK_KEYS = {"name", "title", "description", "topics", "synonyms"}
ENTRY_KEYS = {"id", "topic", "question", "aliases", "keywords", "related", "answer", "quiz"}
CARD_KEYS = {"id", "prompt", "choices", "explanation", "difficulty", "answers"}
CHOICE_KEYS = {"text", "correct"}
# Typed answers are a few words a player types in a chat text field, not sentences (see MAX_LENGTH).
MAX_ANSWERS = 8
# The longest text each field may hold (characters), by key. Generous for any real deck, and
# what chat can show: a quiz question (prompt and choices) stays one Discord embed, so closing it
# can edit it in place; a reveal (right choice and explanation) too; an answer fits the five
# messages a reply may take; a typed answer is a few words. knowledge/README.md lists them.
MAX_LENGTH = {
    "question": 500, "aliases": 500, "keywords": 100, "answer": 20_000,
    "prompt": 1_000, "text": 300, "explanation": 3_000, "answers": 60,
    "title": 200, "description": 2_000, "topics": 100, "synonyms": 100,
}

try:  # libyaml is much faster; the pure-Python loader gives the same nodes.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a deck, located for the person who will fix it."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}"


class DeckError(Exception):
    """Raised when decks fail validation; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class _Node:
    """A parsed YAML value with the line it came from (1-based)."""

    __slots__ = ("value", "line")

    def __init__(self, value: Any, line: int) -> None:
        self.value = value
        self.line = line


def _to_nodes(node: yaml.Node, constructor: Any, duplicates: list[tuple[int, str]]) -> _Node:
    """Converts a YAML node tree to values that keep their line numbers."""
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        mapping: dict[Any, tuple[_Node, _Node]] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node)
            key_line = key_node.start_mark.line + 1
            if key in mapping:
                duplicates.append((key_line, str(key)))
            mapping[key] = (_Node(key, key_line), _to_nodes(value_node, constructor, duplicates))
        return _Node(mapping, line)
    if isinstance(node, yaml.SequenceNode):
        return _Node([_to_nodes(item, constructor, duplicates) for item in node.value], line)
    return _Node(constructor.construct_object(node), line)


class _FileChecker:
    """Reads one YAML file and records problems against it."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems

    def problem(self, line: int | None, field: str, message: str) -> None:
        self.problems.append(Problem(str(self.path), line, field, message))

    def parse(self) -> _Node | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.problem(None, "file", f"cannot read: {exc}")
            return None
        try:
            loader = _Loader(text)
            try:
                root = loader.get_single_node()
                if root is None:
                    self.problem(None, "file", "is empty")
                    return None
                duplicates: list[tuple[int, str]] = []
                tree = _to_nodes(root, loader, duplicates)
            finally:
                loader.dispose()
            for line, key in duplicates:
                self.problem(line, str(key), "key appears twice in the same mapping")
            return tree
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            reason = getattr(exc, "problem", None) or str(exc)
            self.problem(mark.line + 1 if mark else None, "yaml", f"not valid YAML: {reason}")
            return None

    def mapping(self, node: _Node, field: str, allowed: set[str]) -> dict[str, _Node] | None:
        """The mapping's values by key, after reporting keys that are not allowed."""
        if not isinstance(node.value, dict):
            self.problem(node.line, field, "expected a mapping of keys to values")
            return None
        values: dict[str, _Node] = {}
        for key, (key_node, value) in node.value.items():
            if key not in allowed:
                self.problem(key_node.line, f"{field}.{key}" if field else str(key),
                             f"unknown key (allowed: {', '.join(sorted(allowed))})")
            else:
                values[str(key)] = value
        return values

    def text(self, values: dict[str, _Node], key: str, field: str, line: int,
             required: bool = True) -> str:
        node = values.get(key)
        if node is None or node.value is None:
            if required:
                self.problem(line, f"{field}.{key}", "missing")
            return ""
        if not isinstance(node.value, str):
            self.problem(node.line, f"{field}.{key}", f"expected text, got {_kind(node.value)} "
                         f"(quote it if it is meant as text)")
            return ""
        if required and not node.value.strip():
            self.problem(node.line, f"{field}.{key}", "must not be empty")
        self.length(node.value.strip(), key, node.line, f"{field}.{key}" if field else key)
        return node.value.strip()

    def length(self, value: str, key: str, line: int, field: str) -> None:
        """Reports ``value`` if it is longer than ``MAX_LENGTH`` allows for ``key``."""
        limit = MAX_LENGTH.get(key)
        if limit is not None and len(value) > limit:
            self.problem(line, field, f"is {len(value):,} characters long; the limit is {limit:,}")

    def text_list(self, values: dict[str, _Node], key: str, field: str) -> tuple[str, ...]:
        node = values.get(key)
        if node is None or node.value is None:
            return ()
        if not isinstance(node.value, list):
            self.problem(node.line, f"{field}.{key}", "expected a list of text")
            return ()
        items = []
        for i, item in enumerate(node.value):
            if not isinstance(item.value, str) or not item.value.strip():
                self.problem(item.line, f"{field}.{key}[{i}]", "expected non-empty text")
            else:
                self.length(item.value.strip(), key, item.line, f"{field}.{key}[{i}]")
                items.append(item.value.strip())
        return tuple(items)


def _kind(value: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)


def _check_id(checker: _FileChecker, value: str, line: int, field: str) -> None:
    if value and not ID_PATTERN.match(value):
        checker.problem(line, field, f"id {value!r} must be lowercase letters, digits and '-'")
    elif len(value) > MAX_ID:
        checker.problem(line, field, f"id {value!r} is {len(value)} characters long; the limit is {MAX_ID}")


def load_deck(folder: Path) -> Deck:
    """Loads and validates one deck folder.

    Raises:
        DeckError: with every problem found in any of the folder's files.
    """
    problems: list[Problem] = []
    deck = _read_deck(Path(folder), problems)
    if problems or deck is None:
        raise DeckError(problems or [Problem(str(folder), None, "deck", "could not be read")])
    return deck


def load_decks(folders: list[Path]) -> list[Deck]:
    """Loads several deck folders, reporting the problems of all of them together."""
    if not folders:
        raise DeckError([Problem("[decks]", None, "decks", "no decks to load: in the config's [decks] set "
                                 "builtin = true, or list deck folders (or folders of decks) in paths")])
    problems: list[Problem] = []
    decks: list[Deck] = []
    seen: dict[str, Path] = {}
    for folder in map(Path, folders):
        deck = _read_deck(folder, problems)
        if deck is None:
            continue
        if deck.name in seen:
            problems.append(Problem(str(folder / DECK_FILE), None, "name",
                                    f"deck name {deck.name!r} is also used by {seen[deck.name]}"))
        seen[deck.name] = folder
        decks.append(deck)
    if problems:
        raise DeckError(problems)
    return decks


def _read_deck(folder: Path, problems: list[Problem]) -> Deck | None:
    before = len(problems)
    if not (folder / DECK_FILE).is_file():
        problems.append(Problem(str(folder), None, "deck",
                                f"no {DECK_FILE} here and no deck folders in it; a deck is a folder with "
                                f"{DECK_FILE} and entry files, and a folder of decks holds such folders"))
        return None
    meta = _read_meta(_FileChecker(folder / DECK_FILE, problems))
    if meta is None:
        return None
    name, title, description, topics, synonyms = meta
    entry_files = sorted(p for p in folder.glob("*.yaml") if p.name not in (DECK_FILE, QUERIES_FILE))
    if not entry_files:
        problems.append(Problem(str(folder), None, "entries", "no entry files (*.yaml) in the deck folder"))
    entries: list[Entry] = []
    lines: dict[str, tuple[_FileChecker, int]] = {}
    related_refs: list[tuple[_FileChecker, int, str, str]] = []
    for path in entry_files:
        checker = _FileChecker(path, problems)
        for entry, line, refs in _read_entries(checker, name, topics):
            if entry.id in lines:
                other, other_line = lines[entry.id]
                checker.problem(line, "id", f"duplicate id {entry.id!r} (first at {other.path}:{other_line})")
                continue
            lines[entry.id] = (checker, line)
            entries.append(entry)
            related_refs.extend((checker, ref_line, entry.id, ref) for ref_line, ref in refs)
    for checker, line, entry_id, ref in related_refs:
        if ref not in lines:
            checker.problem(line, f"{entry_id}.related", f"no entry with id {ref!r} in deck {name!r}")
    if len(problems) > before:
        return None
    return Deck(name=name, title=title, description=description, topics=topics,
                entries=tuple(entries), synonyms=synonyms)


def _read_meta(checker: _FileChecker) -> tuple[str, str, str, dict[str, str], dict[str, str]] | None:
    root = checker.parse()
    if root is None:
        return None
    values = checker.mapping(root, "", DECK_KEYS)
    if values is None:
        return None
    name = checker.text(values, "name", "deck", root.line)
    _check_id(checker, name, values["name"].line if "name" in values else root.line, "name")
    title = checker.text(values, "title", "deck", root.line, required=False) or name
    description = checker.text(values, "description", "deck", root.line, required=False)
    topics = _text_mapping(checker, values.get("topics"), "topics", root.line, required=True)
    for slug, line in _mapping_lines(values.get("topics")):
        _check_id(checker, slug, line, f"topics.{slug}")
    synonyms = _text_mapping(checker, values.get("synonyms"), "synonyms", root.line, required=False)
    for term, line in _mapping_lines(values.get("synonyms")):
        if len(term.split()) != 1:
            checker.problem(line, f"synonyms.{term}", "the left side must be one word")
    return name, title, description, topics, {k.lower(): v.lower() for k, v in synonyms.items()}


def _mapping_lines(node: _Node | None) -> list[tuple[str, int]]:
    if node is None or not isinstance(node.value, dict):
        return []
    return [(str(key), key_node.line) for key, (key_node, _) in node.value.items()]


def _text_mapping(checker: _FileChecker, node: _Node | None, field: str, line: int,
                  required: bool) -> dict[str, str]:
    if node is None or node.value is None:
        if required:
            checker.problem(line, field, "missing (a mapping of slug: display name)")
        return {}
    if not isinstance(node.value, dict):
        checker.problem(node.line, field, "expected a mapping of text to text")
        return {}
    result = {}
    for key, (_, value) in node.value.items():
        if not isinstance(value.value, str) or not value.value.strip():
            checker.problem(value.line, f"{field}.{key}", "expected non-empty text")
        else:
            checker.length(value.value.strip(), field, value.line, f"{field}.{key}")
            result[str(key)] = value.value.strip()
    if required and not result and not node.value:
        checker.problem(node.line, field, "must not be empty")
    return result


def _read_entries(checker: _FileChecker, deck: str, topics: dict[str, str]
                  ) -> list[tuple[Entry, int, list[tuple[int, str]]]]:
    root = checker.parse()
    if root is None:
        return []
    values = checker.mapping(root, "", {"entries"})
    if values is None:
        return []
    node = values.get("entries")
    if node is None or not isinstance(node.value, list) or not node.value:
        checker.problem(node.line if node else root.line, "entries", "expected a non-empty list of entries")
        return []
    return [result for item in node.value if (result := _read_entry(checker, item, deck, topics))]


def _read_entry(checker: _FileChecker, node: _Node, deck: str, topics: dict[str, str]
                ) -> tuple[Entry, int, list[tuple[int, str]]] | None:
    id_value = node.value.get("id", (None, _Node(None, 0)))[1].value if isinstance(node.value, dict) else None
    field = id_value if isinstance(id_value, str) and id_value else f"entry at line {node.line}"
    values = checker.mapping(node, field, ENTRY_KEYS)
    if values is None:
        return None
    entry_id = checker.text(values, "id", field, node.line)
    _check_id(checker, entry_id, node.line, f"{field}.id")
    topic = checker.text(values, "topic", field, node.line)
    if topic and topic not in topics:
        checker.problem(values["topic"].line, f"{field}.topic",
                        f"unknown topic {topic!r} (deck.yaml declares: {', '.join(topics) or 'none'})")
    related_node = values.get("related")
    related = checker.text_list(values, "related", field)
    related_lines = [(item.line, item.value) for item in related_node.value] if related_node and isinstance(
        related_node.value, list) else []
    entry = Entry(
        id=entry_id, deck=deck, topic=topic,
        question=checker.text(values, "question", field, node.line),
        answer=join_soft_breaks(checker.text(values, "answer", field, node.line)),
        aliases=checker.text_list(values, "aliases", field),
        keywords=checker.text_list(values, "keywords", field),
        related=related,
        quiz=_read_cards(checker, values.get("quiz"), field, node.line, deck, entry_id, topic),
    )
    return entry, node.line, [(line, ref) for line, ref in related_lines if ref in related]


def _read_cards(checker: _FileChecker, node: _Node | None, field: str, line: int, deck: str,
                entry_id: str, topic: str) -> tuple[QuizCard, ...]:
    if node is None or node.value is None:
        checker.problem(line, f"{field}.quiz", "missing: every entry needs at least one quiz card")
        return ()
    if not isinstance(node.value, list) or not node.value:
        checker.problem(node.line, f"{field}.quiz", "expected a non-empty list of quiz cards")
        return ()
    cards: list[QuizCard] = []
    seen: set[str] = set()
    for i, card_node in enumerate(node.value):
        card = _read_card(checker, card_node, f"{field}.quiz[{i}]", deck, entry_id, topic)
        if card is None:
            continue
        if card.id in seen:
            checker.problem(card_node.line, f"{field}.quiz[{i}].id", f"duplicate card id {card.id!r}")
        seen.add(card.id)
        cards.append(card)
    return tuple(cards)


def _read_card(checker: _FileChecker, node: _Node, field: str, deck: str, entry_id: str,
               topic: str) -> QuizCard | None:
    values = checker.mapping(node, field, CARD_KEYS)
    if values is None:
        return None
    card_id = checker.text(values, "id", field, node.line)
    _check_id(checker, card_id, node.line, f"{field}.id")
    difficulty = checker.text(values, "difficulty", field, node.line, required=False) or None
    if difficulty and difficulty not in DIFFICULTIES:
        checker.problem(values["difficulty"].line, f"{field}.difficulty",
                        f"{difficulty!r} is not one of {', '.join(DIFFICULTIES)}")
    card = QuizCard(
        id=f"{deck}/{entry_id}/{card_id}", entry_id=entry_id, deck=deck, topic=topic,
        prompt=checker.text(values, "prompt", field, node.line),
        choices=_read_choices(checker, values.get("choices"), field, node.line),
        explanation=join_soft_breaks(checker.text(values, "explanation", field, node.line)),
        difficulty=difficulty,
        answers=_read_answers(checker, values, field),
    )
    # The matcher needs exactly one right choice; without it the choices' problem is reported already.
    if card.answers and sum(choice.correct for choice in card.choices) == 1:
        for message in answer_problems(card):
            checker.problem(values["answers"].line, f"{field}.answers", message)
    return card


def _read_answers(checker: _FileChecker, values: dict[str, _Node], field: str) -> tuple[str, ...]:
    """The card's typed answers, each short enough to type in a chat text field."""
    answers = checker.text_list(values, "answers", field)
    node = values.get("answers")
    if node is None:
        return answers
    if isinstance(node.value, list) and not node.value:
        checker.problem(node.line, f"{field}.answers", "is empty; leave the key out for a buttons-only card")
    if len(answers) > MAX_ANSWERS:
        checker.problem(node.line, f"{field}.answers",
                        f"has {len(answers)} answers; the limit is {MAX_ANSWERS} (list the forms people really type)")
    return answers


def _read_choices(checker: _FileChecker, node: _Node | None, field: str, line: int) -> tuple[Choice, ...]:
    if node is None or not isinstance(node.value, list):
        checker.problem(node.line if node else line, f"{field}.choices", "expected a list of 2 to 5 choices")
        return ()
    if not 2 <= len(node.value) <= 5:
        checker.problem(node.line, f"{field}.choices", f"has {len(node.value)} choices; a card needs 2 to 5")
    choices: list[Choice] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(node.value):
        values = checker.mapping(item, f"{field}.choices[{i}]", CHOICE_KEYS)
        if values is None:
            continue
        text = checker.text(values, "text", f"{field}.choices[{i}]", item.line)
        correct_node = values.get("correct")
        correct = False
        if correct_node is not None and not isinstance(correct_node.value, bool):
            checker.problem(correct_node.line, f"{field}.choices[{i}].correct", "expected true or false")
        elif correct_node is not None:
            correct = correct_node.value
        folded = " ".join(text.casefold().split())
        if text and folded in seen:
            checker.problem(item.line, f"{field}.choices[{i}]",
                            f"same text as choice {seen[folded]} ({text!r})")
        seen.setdefault(folded, i)
        choices.append(Choice(text=text, correct=correct))
    correct_count = sum(c.correct for c in choices)
    if choices and correct_count != 1:
        checker.problem(node.line, f"{field}.choices",
                        f"has {correct_count} correct choices; mark exactly one with 'correct: true'")
    return tuple(choices)
