"""Deck loading: the shipped deck is valid, and broken decks are reported completely and precisely."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.kb.folders import builtin_decks_root
from bot.kb.library import load_library
from bot.kb.loader import DeckError, Problem, load_deck, load_decks

DECK_YAML = """\
name: demo
title: Demo deck
topics:
  basics: Basics
synonyms:
  tf: tensorflow
"""

GOOD_ENTRY = """\
  - id: first
    topic: basics
    question: What is the first thing?
    answer: The first thing is first.
    related: [second]
    quiz:
      - id: q1
        prompt: Which one is first?
        choices:
          - text: The first
            correct: true
          - text: The second
        explanation: First comes first.
  - id: second
    topic: basics
    question: What is the second thing?
    answer: It comes after the first.
    quiz:
      - id: q1
        prompt: Which one is second?
        choices:
          - text: The first
          - text: The second
            correct: true
        explanation: Second comes second.
"""


def write_deck(root: Path, entries: str, deck_yaml: str = DECK_YAML) -> Path:
    folder = root / "demo"
    folder.mkdir()
    (folder / "deck.yaml").write_text(deck_yaml)
    (folder / "entries.yaml").write_text("entries:\n" + entries)
    return folder


def problems_of(folder: Path) -> list[Problem]:
    with pytest.raises(DeckError) as caught:
        load_deck(folder)
    return caught.value.problems


def test_shipped_tensorflow_deck_is_valid_and_complete() -> None:
    deck = load_deck(builtin_decks_root() / "tensorflow")
    assert len(deck.entries) == 40
    assert set(deck.topics) == {e.topic for e in deck.entries}
    assert len(deck.topics) == 7
    assert all(len(e.quiz) >= 2 for e in deck.entries)
    assert len(deck.cards) >= 80
    assert all(sum(c.correct for c in card.choices) == 1 for card in deck.cards)


def test_valid_deck_loads_with_global_card_ids(tmp_path: Path) -> None:
    deck = load_deck(write_deck(tmp_path, GOOD_ENTRY))
    assert [e.id for e in deck.entries] == ["first", "second"]
    assert deck.entries[0].quiz[0].id == "demo/first/q1"
    assert deck.entries[1].quiz[0].correct_index == 1
    assert deck.synonyms == {"tf": "tensorflow"}


def test_every_problem_is_reported_at_once_with_file_line_and_field(tmp_path: Path) -> None:
    broken = GOOD_ENTRY.replace("question: What is the second thing?", "qestion: What is the second thing?")
    broken = broken.replace("          - text: The second\n        explanation: First",
                            "          - text: The first\n        explanation: First")
    broken = broken.replace("related: [second]", "related: [second, third]")
    broken = broken.replace("  - id: second", "  - id: first")
    problems = problems_of(write_deck(tmp_path, broken))
    text = [str(p) for p in problems]
    entries_file = str(tmp_path / "demo" / "entries.yaml")
    assert all(p.file == entries_file and p.line for p in problems), text
    fields = {p.field: p for p in problems}
    assert "first.qestion" in fields and "unknown key" in fields["first.qestion"].message
    assert fields["first.qestion"].line == 17
    assert "first.question" in fields and fields["first.question"].message == "missing"
    assert "first.related" in fields and "'third'" in fields["first.related"].message
    assert any(p.field == "id" and "duplicate id 'first'" in p.message for p in problems)
    assert any(p.field == "first.quiz[0].choices[1]" and "same text" in p.message for p in problems)


def test_ids_too_long_for_chat_buttons_are_refused(tmp_path: Path) -> None:
    long_id = "a-very-long-entry-id-that-no-chat-button-could-carry"
    entries = GOOD_ENTRY.replace("  - id: second", f"  - id: {long_id}").replace("related: [second]", "related: []")
    [problem] = problems_of(write_deck(tmp_path, entries))
    assert problem.field == f"{long_id}.id" and "the limit is 40" in problem.message


def test_card_without_exactly_one_correct_choice_is_refused(tmp_path: Path) -> None:
    entries = GOOD_ENTRY.replace("          - text: The second\n            correct: true\n",
                                 "          - text: The second\n")
    problems = problems_of(write_deck(tmp_path, entries))
    assert [(p.field, p.line) for p in problems] == [("second.quiz[0].choices", 23)]
    assert "has 0 correct choices" in problems[0].message


def test_too_many_choices_empty_text_and_bad_difficulty(tmp_path: Path) -> None:
    entries = GOOD_ENTRY.replace(
        "        explanation: Second comes second.",
        "          - text: c\n          - text: d\n          - text: e\n          - text: ''\n"
        "        explanation: Second comes second.\n        difficulty: extreme")
    problems = problems_of(write_deck(tmp_path, entries))
    messages = {p.field: p.message for p in problems}
    assert "has 6 choices" in messages["second.quiz[0].choices"]
    assert messages["second.quiz[0].choices[5].text"] == "must not be empty"
    assert "'extreme' is not one of easy, medium, hard" in messages["second.quiz[0].difficulty"]


def test_non_text_values_and_unknown_topic(tmp_path: Path) -> None:
    entries = GOOD_ENTRY.replace("answer: It comes after the first.", "answer: yes").replace(
        "  - id: second\n    topic: basics", "  - id: second\n    topic: advanced")
    messages = {p.field: p.message for p in problems_of(write_deck(tmp_path, entries))}
    assert "expected text, got true/false" in messages["second.answer"]
    assert "unknown topic 'advanced'" in messages["second.topic"]


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    problems = problems_of(write_deck(tmp_path, "  - id: x\n    question: [unclosed\n"))
    assert problems[0].field == "yaml" and problems[0].line is not None
    assert problems[0].file.endswith("entries.yaml")


def test_deck_metadata_problems(tmp_path: Path) -> None:
    deck_yaml = textwrap.dedent("""\
        name: Demo Deck
        titel: typo
        topics: {}
        synonyms:
          learning rate: lr
        """)
    problems = problems_of(write_deck(tmp_path, GOOD_ENTRY, deck_yaml))
    fields = {p.field for p in problems}
    assert {"name", "titel", "topics", "synonyms.learning rate"} <= fields
    assert all(p.file.endswith("deck.yaml") for p in problems if p.field in {"name", "titel"})


def test_a_folder_without_any_deck_is_an_error_naming_it(tmp_path: Path) -> None:
    empty = tmp_path / "decks"
    empty.mkdir()
    with pytest.raises(DeckError) as caught:
        load_library([empty], include_builtin=True)
    [problem] = caught.value.problems
    assert problem.file == str(empty) and "no deck.yaml here and no deck folders in it" in problem.message


def test_no_decks_at_all_is_an_error() -> None:
    with pytest.raises(DeckError) as caught:
        load_library([], include_builtin=False)
    [problem] = caught.value.problems
    assert "no decks to load" in problem.message and "[decks]" in problem.message


def test_overlong_fields_are_reported_with_their_limits(tmp_path: Path) -> None:
    entries = (GOOD_ENTRY.replace("answer: The first thing is first.", "answer: " + "a" * 5_000_000)
               .replace("question: What is the second thing?", "question: " + "Why " * 130 + "?")
               .replace("prompt: Which one is first?", "prompt: " + "p" * 1_001)
               .replace("- text: The first\n            correct: true",
                        "- text: " + "c" * 301 + "\n            correct: true", 1)
               .replace("explanation: First comes first.", "explanation: " + "e" * 3_001)
               .replace("related: [second]", "related: [second]\n    aliases: [" + "b" * 501 + "]"))
    problems = problems_of(write_deck(tmp_path, entries))
    messages = {p.field: p.message for p in problems}
    assert messages == {
        "first.answer": "is 5,000,000 characters long; the limit is 20,000",
        "second.question": "is 521 characters long; the limit is 500",
        "first.quiz[0].prompt": "is 1,001 characters long; the limit is 1,000",
        "first.quiz[0].choices[0].text": "is 301 characters long; the limit is 300",
        "first.quiz[0].explanation": "is 3,001 characters long; the limit is 3,000",
        "first.aliases[0]": "is 501 characters long; the limit is 500",
    }
    assert all(p.line for p in problems)


def test_typed_answers_load_with_the_card(tmp_path: Path) -> None:
    entries = GOOD_ENTRY.replace("        prompt: Which one is first?\n",
                                 "        prompt: Which one is first?\n        answers: [\"the first\", first one]\n")
    deck = load_deck(write_deck(tmp_path, entries))
    assert deck.entries[0].quiz[0].answers == ("the first", "first one")
    assert deck.entries[1].quiz[0].answers == ()


@pytest.mark.parametrize(("answers", "message"), [
    ("first", "expected a list of text"),
    ("[]", "is empty; leave the key out"),
    ("[first, '']", "expected non-empty text"),
    ("[first, 3]", "expected non-empty text"),
    ("[" + ", ".join(f"first {i}" for i in range(9)) + "]", "has 9 answers; the limit is 8"),
    ("['" + "first " * 12 + "']", "the limit is 60"),
    ("[first, The First!]", "same answer as 'first'"),
    ("[first, second]", "'second' would be taken for a wrong choice"),
    ("['!!']", "no letters or digits"),
])
def test_bad_typed_answers_are_reported_on_the_answers_line(tmp_path: Path, answers: str, message: str) -> None:
    entries = GOOD_ENTRY.replace("        prompt: Which one is first?\n",
                                 f"        prompt: Which one is first?\n        answers: {answers}\n")
    problems = problems_of(write_deck(tmp_path, entries))
    assert any(p.field.startswith("first.quiz[0].answers") and message in p.message and p.line == 10
               for p in problems), [str(p) for p in problems]


def test_shipped_deck_has_typed_answers_on_at_least_forty_cards() -> None:
    deck = load_deck(builtin_decks_root() / "tensorflow")
    assert sum(bool(card.answers) for card in deck.cards) >= 40


def test_a_decks_query_set_beside_its_entries_is_not_read_as_entries(tmp_path: Path) -> None:
    """The README asks authors to keep ``queries.yaml`` in the deck folder; the bot must still load it."""
    deck = write_deck(tmp_path, GOOD_ENTRY)
    (deck / "queries.yaml").write_text('- {q: "what comes first", id: first, kind: paraphrase}\n')
    [loaded] = load_decks([deck])
    assert [e.id for e in loaded.entries] == ["first", "second"]
